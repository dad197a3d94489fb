#!/usr/bin/env bash
# Installs the official Feishu/Lark SDKs used as conformance peers by
# tests/tests/official_sdks.rs: lark-oapi (PyPI) in a venv and
# @larksuiteoapi/node-sdk (npm), both at exact versions.
#
# Idempotent: a second run with everything in place only checks versions.
# Target: $AVIARY_PEERS_DIR, default $CARGO_TARGET_DIR/peers (<repo>/target/peers without it);
# tests/support/peers.rs looks in the same place.
# Needs: python3 (with venv + pip), node and npm; network access to PyPI and npm.
set -euo pipefail

PY_SDK_VERSION="1.7.5"
NODE_SDK_VERSION="1.74.0"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO_ROOT/$TARGET_DIR" ;; esac
PEERS_DIR="${AVIARY_PEERS_DIR:-$TARGET_DIR/peers}"
VENV="$PEERS_DIR/venv"
NODE_PREFIX="$PEERS_DIR/node"

mkdir -p "$PEERS_DIR"

# --- Python: lark-oapi in a venv ---------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    echo "install-peers: creating venv at $VENV"
    if ! python3 -m venv "$VENV"; then
        # Debian's python3 without python3-venv has no ensurepip: make the venv without pip and
        # let the system pip (>= 22.3) install into it.
        echo "install-peers: venv with pip failed; retrying without pip"
        rm -rf "$VENV"
        python3 -m venv --without-pip "$VENV"
        PIP_INTO_VENV=1
    fi
fi
pip_install() {
    if [ "${PIP_INTO_VENV:-0}" = 1 ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        python3 -m pip --python "$VENV/bin/python" install --disable-pip-version-check --quiet "$@"
    else
        "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "$@"
    fi
}
installed_py="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("lark-oapi"))' 2>/dev/null || true)"
if [ "$installed_py" != "$PY_SDK_VERSION" ]; then
    echo "install-peers: installing lark-oapi==$PY_SDK_VERSION"
    pip_install "lark-oapi==$PY_SDK_VERSION"
else
    echo "install-peers: lark-oapi $PY_SDK_VERSION already installed"
fi

# --- Node: @larksuiteoapi/node-sdk -------------------------------------------------------------
pkg_json="$NODE_PREFIX/node_modules/@larksuiteoapi/node-sdk/package.json"
installed_node="$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' "$pkg_json" 2>/dev/null || true)"
if [ "$installed_node" != "$NODE_SDK_VERSION" ]; then
    echo "install-peers: installing @larksuiteoapi/node-sdk@$NODE_SDK_VERSION"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --no-package-lock --save-exact \
        "@larksuiteoapi/node-sdk@$NODE_SDK_VERSION"
else
    echo "install-peers: @larksuiteoapi/node-sdk $NODE_SDK_VERSION already installed"
fi

echo "install-peers: peers ready in $PEERS_DIR"

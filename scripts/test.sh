#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine
# (scripts/setup-tests.sh), then runs every test of the project — the cargo workspace (runtime,
# emulator, end-to-end and guest-language tests), the Rust guest SDK and example, and the Go,
# JavaScript and Python SDKs' own tests. Stops at the first suite that fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup-tests.sh
cargo test --workspace --no-fail-fast
cargo test --manifest-path guest-sdk/rust/Cargo.toml
cargo test --manifest-path examples/Cargo.toml
go="${AVIARY_GO:-${CARGO_TARGET_DIR:-$root/target}/go-toolchain/venv/bin/go}"
(cd guest-sdk/go && "$go" test -v ./...) | awk '/^--- PASS/ {p++} /^--- FAIL/ {f++} {print}
    END {printf "go: %d passed, %d failed\n", p, f}'
(cd guest-sdk/js && npm test)
(cd guest-sdk/python && python3 -m unittest discover -s tests -v)

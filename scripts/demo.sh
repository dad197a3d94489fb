#!/usr/bin/env bash
# The demo: `aviary emulator` plays Feishu on 127.0.0.1 and forces a disconnect every 2 s
# (close 1000, close 1001, abrupt reset, drop without close frame, in turn); `aviary run`
# connects with examples/aviary.toml (its domain pointed at the emulator) and runs the four
# example handlers as sandboxed WebAssembly components, built by `aviary build`: Rust
# (examples/rust-handler), Go (examples/go-audit), JavaScript (examples/js-card) and Python
# (examples/py-greeter). The
# script pushes the sample events of examples/events/ in several rounds through the emulator's
# control API; the same events in later rounds are redeliveries, which Aviary answers from its
# dedupe window. Once every push is acked it stops Aviary and prints what happened: pushes,
# acks, redeliveries, disconnects, each handler's calls and outcomes, and the bot's replies as
# the emulator recorded them (scripts/demo-report.py).
#
# Installs only what it needs (scripts/install-guest-toolchains.sh: the wasm32-wasip2 target,
# Go, the JavaScript and Python toolchains). Builds and logs go to files under $work
# ($DEMO_WORK, default <target>/demo; <target> is $CARGO_TARGET_DIR or target/).
# It ends with the command that opens the same handlers in the dev console (`aviary dev`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"
work="${DEMO_WORK:-$target/demo}" # DEMO_WORK: a private dir when several checkouts share a target dir
mkdir -p "$work"
started=$SECONDS

# step LABEL LOG COMMAND…: runs a build step with its output in LOG; on failure shows the tail.
step() {
  local label=$1 log=$2
  shift 2
  local t=$SECONDS
  printf '  %-58s' "$label"
  if "$@" >"$log" 2>&1; then
    printf '%4ss\n' $((SECONDS - t))
  else
    printf 'FAILED\n'
    tail -n 30 "$log" >&2
    echo "demo: $label failed; the whole output is in $log" >&2
    exit 1
  fi
}

echo "== building (logs in $work/build-*.log)"
# The guest toolchains install in the background while cargo builds Aviary.
bash scripts/install-guest-toolchains.sh >"$work/build-toolchains.log" 2>&1 &
toolchains=$!
step "aviary (cargo build -p aviary)" "$work/build-aviary.log" nice cargo build -p aviary
step "toolchains (scripts/install-guest-toolchains.sh)" "$work/build-toolchains.log" wait "$toolchains"
bin="$target/debug/aviary"
if [ -z "${AVIARY_GO:-}" ] && ! command -v go >/dev/null; then
  AVIARY_GO=$(bash scripts/install-go.sh 2>/dev/null)
  export AVIARY_GO
fi
export AVIARY_PY="${AVIARY_PY:-$target/guest-py/venv/bin/aviary-py}"
echo "== aviary build -m examples/aviary.toml (each handler from the source its [handler.build] names)"
if ! "$bin" build -m examples/aviary.toml 2>"$work/build-handlers.log" | sed 's/^/  /'; then
  cat "$work/build-handlers.log" >&2
  exit 1
fi

# A fresh durable queue (its dedupe window would otherwise take this run's events for
# redeliveries of the last run's).
rm -rf "$work/.aviary"
events=(examples/events/*.json)
rounds=${DEMO_ROUNDS:-6}
pushed=$((${#events[@]} * rounds))

export FEISHU_APP_SECRET=demo-secret
emulator_log="$work/emulator.log"
aviary_log="$work/aviary.log"
"$bin" emulator --port 0 --app-secret "$FEISHU_APP_SECRET" --ping-interval 5 --reconnect-interval 0 \
  --reconnect-nonce 1 --disconnect-every 2 --samples examples/events >"$work/emulator.out" 2>"$emulator_log" &
emu=$!
aviary_pid=""
cleanup() {
  [ -n "$aviary_pid" ] && kill "$aviary_pid" 2>/dev/null
  kill "$emu" 2>/dev/null
  return 0
}
trap cleanup EXIT

for _ in $(seq 100); do grep -q 'listening on' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
domain=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/emulator.out" | head -1)
[ -n "$domain" ] || { echo "emulator did not start; see $emulator_log" >&2; exit 1; }
sed -e "s#^domain = .*#domain = \"$domain\"#" -e "s#^component = \"#component = \"$root/examples/#" \
  examples/aviary.toml >"$work/aviary.toml"

echo "== aviary check -m $work/aviary.toml"
"$bin" check --manifest "$work/aviary.toml" | sed 's/^/  /'
echo "== emulator at $domain, forcing a disconnect every 2 s; aviary run"
RUST_LOG=info,aviary::runs=debug "$bin" run --manifest "$work/aviary.toml" 2>"$aviary_log" &
aviary_pid=$!

for round in $(seq "$rounds"); do
  for e in "${events[@]}"; do
    curl -sf -X POST -H 'content-type: application/json' --data-binary "@$e" "$domain/_console/api/push" >/dev/null
  done
  echo "  round $round: pushed ${#events[@]} sample events"
  sleep 1
done

status=0
python3 scripts/demo-report.py wait "$domain" "$pushed" 60 || status=$?
kill -TERM "$aviary_pid" && wait "$aviary_pid" || true
aviary_pid=""
python3 scripts/demo-report.py report "$domain" "$pushed" "$aviary_log"
echo
echo "  logs: aviary   $aviary_log"
echo "        emulator $emulator_log"
echo "        builds   $work/build-*.log"
echo
echo "  the dev console (push events, chat, click cards, force disconnects; type \"card\" in a chat):"
echo "    ${AVIARY_GO:+AVIARY_GO=$AVIARY_GO }AVIARY_PY=$AVIARY_PY $bin dev -m examples/aviary.toml"
if [ "$status" -ne 0 ]; then
  echo "== demo FAILED: not every push was acked (see the logs)" >&2
  exit "$status"
fi
echo "== demo passed in $((SECONDS - started)) s: all $pushed pushes acked with code 200 across forced disconnects"


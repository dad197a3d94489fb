#!/usr/bin/env python3
"""The end of scripts/demo.sh: waits until every push was acked, then prints what happened.

    demo-report.py wait   EMULATOR_URL PUSHED [TIMEOUT_SECS]
    demo-report.py report EMULATOR_URL PUSHED AVIARY_LOG

`wait` polls the emulator's control API (`GET /_emulator/deliveries`) until PUSHED pushes exist
and every one is acked with code 200; exit 1 (with the stuck pushes named) after the timeout.
`report` prints a short table from the emulator's records (`/_emulator/state`,
`/_emulator/deliveries`, `/_emulator/messages`, see docs/emulator.md) and from Aviary's log:
one line per handler run (target `aviary::runs`, at debug level) and the duplicate deliveries it
answered from its dedupe window. Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request


def get(url: str, path: str):
    with urllib.request.urlopen(f"{url}/_emulator/{path}", timeout=10) as r:
        return json.load(r)


def wait(url: str, pushed: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        deliveries = get(url, "deliveries")
        acked = [d for d in deliveries if d["acked"]]
        if len(deliveries) >= pushed and len(acked) == len(deliveries):
            return 0
        if time.monotonic() > deadline:
            stuck = [f"{d['id']} ({d['event_id']}: {d['status']})" for d in deliveries if not d["acked"]]
            print(f"demo: {len(acked)} of {pushed} pushes acked after {timeout:.0f} s; "
                  f"not acked: {', '.join(stuck[:10])}", file=sys.stderr)
            return 1
        time.sleep(0.2)


RUN = re.compile(r'aviary::runs: handler run handler="([^"]+)".*? outcome=(\S+)')
OUTCOMES = ("done", "respond", "retry", "reject", "failed")


def handler_counters(log: str) -> dict[str, dict[str, int]]:
    """Calls per handler and outcome, from Aviary's `aviary::runs` lines (one per finished run,
    card callbacks and queued runs alike; the demo turns them on with RUST_LOG)."""
    out: dict[str, dict[str, int]] = {}
    for m in RUN.finditer(log):
        c = out.setdefault(m.group(1), dict.fromkeys(OUTCOMES, 0))
        outcome = m.group(2)
        c["failed" if outcome.startswith("failed") else outcome] += 1
    return out


def message_text(m: dict) -> str:
    content = m.get("content") or ""
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if m.get("msg_type") == "text" and isinstance(body, dict) and "text" in body:
        text = str(body["text"])
    else:
        text = f"[{m.get('msg_type')}] {content}"
    return text if len(text) <= 70 else text[:67] + "..."


def report(url: str, pushed: int, log_path: str) -> int:
    state = get(url, "state")
    deliveries = get(url, "deliveries")
    messages = get(url, "messages")
    with open(log_path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    acked = sum(1 for d in deliveries if d["acked"])
    attempts = sum(len(d["attempts"]) for d in deliveries)
    dedupe = log.count("duplicate delivery")
    disconnects = max(state["connections_total"] - 1, 0)

    rows = [
        ("events pushed", pushed, "through the emulator's control API"),
        ("acked with code 200", acked,
         f"{attempts} frames sent, {attempts - len(deliveries)} of them resent (lost ack or socket)"),
        ("redeliveries answered from dedupe", dedupe, "acked again, handlers not run again"),
        ("disconnects survived", disconnects, f"{state['connections_total']} connections in all"),
    ]
    print("\n== what happened")
    for label, n, note in rows:
        print(f"  {label:<36}{n:>6}   {note}")

    counters = handler_counters(log)
    print("\n  handler            calls   done  respond  retry  reject  failed")
    if not counters:
        print("  (no `aviary::runs` lines in the log: was RUST_LOG=info,aviary::runs=debug set?)")
    for name, c in counters.items():
        row = "".join(f"{c[o]:>{w}}" for o, w in zip(OUTCOMES, (7, 9, 7, 8, 8)))
        print(f"  {name:<18}{sum(c.values()):>6}{row}")

    sent = messages["messages"]
    suppressed = messages["duplicates_suppressed"]
    print(f"\n  the bot's replies, as the emulator recorded them: {len(sent)}"
          f" (repeats suppressed by uuid: {suppressed})")
    for m in sent:
        to = f"reply to {m['reply_to']}" if m.get("reply_to") else f"to {m.get('receive_id')}"
        print(f"    {to}: {message_text(m)}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "wait":
        return wait(argv[1], int(argv[2]), float(argv[3]) if len(argv) > 3 else 60.0)
    if len(argv) == 4 and argv[0] == "report":
        return report(argv[1], int(argv[2]), argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

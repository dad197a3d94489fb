"""Test guest for the Python SDK (tests/tests/guest_languages.rs): well-behaved on card
callbacks and plain events, hostile on demand. The event type picks the behaviour."""

import time

from aviary_guest import config, done, log, respond

count = 0  # survives between events only when the instance is reused


def handle(event):
    global count
    t = event.event_type
    if t == "loop":
        while True:
            pass
    if t == "sleep":
        time.sleep(60)
        return done()
    if t == "bomb":
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))
    if t == "throw":
        raise RuntimeError("handler exploded on raise")
    if t == "count":
        count += 1
        return respond(str(count))
    if t == "card.action.trigger":
        log.info(f"handling {event.event_id}")
        return respond({"greeting": config.get("greeting", "none"), "event_id": event.event_id})
    return done()

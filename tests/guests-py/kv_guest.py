"""The key-value test guest in Python (tests/tests/kv_guests.rs; the same steps as the Rust, Go
and JavaScript ones): adds 1 to `visits`, sets `last` to the event id and reads it back, sets
and deletes `tmp`, lists every key, tries to add to the text in `last`, and answers what it saw
as JSON — or {"error": …} when the first call fails (no grant). Event type `kv.retry` asks for a
retry after the same calls."""

from aviary_guest import kv, respond, retry


def handle(event):
    try:
        visits = kv.increment("visits", 1)
        kv.set("last", event.event_id)
    except kv.KvError as e:
        return respond({"error": str(e)})
    last = kv.get("last")
    kv.set("tmp", "x", ttl_secs=60)
    kv.delete("tmp")
    tmp = kv.get("tmp")
    keys = kv.list("", "", 0)
    bad = ""
    try:
        kv.increment("last", 1)
    except kv.KvError as e:
        bad = str(e)
    if event.event_type == "kv.retry":
        return retry("asked to retry")
    return respond({"visits": visits, "last": last, "tmp": tmp, "keys": keys, "bad": bad})

"""The outbound HTTP test guest (tests/tests/outbound_http.rs), the same protocol as the Rust
guest tests/guests/http-client: the requests ``request_<i>`` ("METHOD URL") of its config, with
optional ``header_<i>`` (``name: value`` lines joined by ``|``) and ``body_<i>``, sent with
``aviary_guest.http``; each result is ``http <i> ok <status> <body>`` or ``http <i> err
<error>``, answered to a card callback as {"results": [...]} and logged otherwise."""

from aviary_guest import Event, config, done, http, log, respond


def handle(event: Event):
    results = []
    i = 0
    while True:
        line = config.get(f"request_{i}")
        if line is None:
            break
        method, _, url = line.partition(" ")
        headers = {}
        for h in (config.get(f"header_{i}") or "").split("|"):
            if h:
                name, _, value = h.partition(":")
                headers[name.strip()] = value.strip()
        try:
            r = http.request(method, url, headers=headers, data=config.get(f"body_{i}"))
            results.append(f"http {i} ok {r.status_code} {r.text[:4000]}")
        except http.RequestException as e:
            results.append(f"http {i} err {e}")
        i += 1
    for r in results:
        log.info(r)
    return respond({"results": results}) if event.kind == "callback" else done()

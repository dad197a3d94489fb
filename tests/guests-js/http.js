// The outbound HTTP test guest (tests/tests/outbound_http.rs), the same protocol as the Rust
// guest tests/guests/http-client: the requests `request_<i>` ("METHOD URL") of its config, with
// optional `header_<i>` (`name: value` lines joined by `|`) and `body_<i>`, sent with the SDK's
// `fetch`; each result is `http <i> ok <status> <body>` or `http <i> err <error>`, answered to a
// card callback as {"results": [...]} and logged otherwise.
import { config, done, fetch, log, respond } from 'aviary-js';

export function handle(event) {
  const results = [];
  for (let i = 0; ; i++) {
    const line = config.get(`request_${i}`);
    if (line === undefined) break;
    const at = line.indexOf(' ');
    const [method, url] = at < 0 ? ['GET', line] : [line.slice(0, at), line.slice(at + 1)];
    const headers = [];
    for (const h of (config.get(`header_${i}`) ?? '').split('|').filter((x) => x)) {
      const c = h.indexOf(':');
      headers.push([h.slice(0, c).trim(), h.slice(c + 1).trim()]);
    }
    try {
      const r = fetch(url, { method, headers, body: config.get(`body_${i}`) });
      results.push(`http ${i} ok ${r.status} ${r.text().slice(0, 4000)}`);
    } catch (e) {
      results.push(`http ${i} err ${e.message}`);
    }
  }
  for (const r of results) log.info(r);
  return event.isCallback() ? respond({ results }) : done();
}

// The key-value test guest in JavaScript (tests/tests/kv_guests.rs; the same steps as the Rust,
// Go and Python ones): adds 1 to `visits`, sets `last` to the event id and reads it back, sets
// and deletes `tmp`, lists every key, tries to add to the text in `last`, and answers what it
// saw as JSON — or {error} when the first call fails (no grant). Event type `kv.retry` asks for
// a retry after the same calls.
import { kv, respond, retry } from 'aviary-js';

export function handle(event) {
  let visits;
  try {
    visits = kv.increment('visits', 1);
    kv.set('last', event.eventId);
  } catch (e) {
    return respond({ error: e.message });
  }
  const last = kv.get('last') ?? null;
  kv.set('tmp', 'x', 60);
  kv.delete('tmp');
  const tmp = kv.get('tmp') ?? null;
  const keys = kv.list('', '', 0);
  let bad = '';
  try {
    kv.increment('last', 1);
  } catch (e) {
    bad = e.message;
  }
  if (event.eventType === 'kv.retry') return retry('asked to retry');
  return respond({ visits, last, tmp, keys, bad });
}

// Test guest for the JavaScript SDK (tests/tests/guest_languages.rs): well-behaved on card
// callbacks and plain events, hostile on demand. The event type picks the behaviour.
import { config, done, log, respond } from 'aviary-js';

let count = 0; // survives between events only when the instance is reused

export function handle(event) {
  switch (event.eventType) {
    case 'loop':
      for (;;) {}
    case 'sleep': {
      // JS has no blocking sleep: wait on the clock past any timeout.
      const until = Date.now() + 60_000;
      while (Date.now() < until) {}
      return done();
    }
    case 'bomb': {
      const hoard = [];
      for (;;) hoard.push(new Array(1 << 16).fill(hoard.length));
    }
    case 'throw':
      throw new Error('handler exploded on throw');
    case 'count':
      count += 1;
      return respond(String(count));
    case 'card.action.trigger':
      log.info(`handling ${event.eventId}`);
      return respond({ greeting: config.getOr('greeting', 'none'), event_id: event.eventId });
    default:
      return done();
  }
}

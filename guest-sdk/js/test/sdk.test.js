// Host-side tests of the SDK (node --test): helpers, outcomes, typed events on the samples,
// and the export glue, with a recording stand-in for the host functions.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import * as sdk from '../index.js';

const logs = [];
globalThis.__aviaryHost = {
  log: (level, message) => logs.push([level, message]),
  configGet: (key) => (key === 'greeting' ? 'hi' : undefined),
};
const samples = new URL('../../../examples/events/', import.meta.url);

test('every typed sample parses and typed() names its type', () => {
  const files = readdirSync(samples).filter((f) => f.endsWith('.json') && !f.startsWith('legacy'));
  assert.equal(files.length, sdk.EVENT_TYPES.length + 0, files.join(','));
  for (const f of files) {
    const ev = sdk.Event.fromEnvelope(readFileSync(new URL(f, samples), 'utf8'));
    assert.equal(ev.typed().type, f.replace(/\.json$/, ''));
    assert.ok(Object.keys(ev.body()).length > 0, f);
  }
});

test('outcomes and helpers', () => {
  assert.deepEqual(sdk.done(), { tag: 'done' });
  assert.deepEqual(sdk.respond({ a: 1 }), { tag: 'respond', val: '{"a":1}' });
  assert.equal(sdk.respond('not json').tag, 'reject');
  assert.deepEqual(sdk.toastInfo('x'), { tag: 'respond', val: '{"toast":{"type":"info","content":"x"}}' });
  assert.deepEqual(sdk.retry('later'), { tag: 'retry', val: 'later' });
  const card = sdk.Event.fromEnvelope(readFileSync(new URL('card.action.trigger.json', samples), 'utf8'));
  assert.equal(card.kind, 'callback');
  assert.equal(sdk.cardValue(card.typed().body, 'choice'), 'approve');
  const msg = sdk.Event.fromEnvelope(readFileSync(new URL('im.message.receive_v1.json', samples), 'utf8'));
  assert.equal(sdk.textWithoutMentions(msg.typed().body), 'hello, Aviary');
  assert.equal(sdk.config.get('greeting'), 'hi');
  assert.equal(sdk.config.getOr('missing', 'd'), 'd');
});

test('the glue maps returns and logs throws', () => {
  const ev = { eventType: 'x', kind: 'event', envelope: '{}' };
  assert.deepEqual(sdk.__aviaryRun(() => undefined, ev), { tag: 'done' });
  assert.equal(sdk.__aviaryRun(() => 42, ev).tag, 'reject');
  assert.equal(sdk.__aviaryRun(() => Promise.resolve(), ev).tag, 'reject');
  assert.throws(() => sdk.__aviaryRun(() => { throw new Error('boom'); }, ev), /boom/);
  assert.ok(logs.some(([l, m]) => l === 'error' && m.includes('handler threw: Error: boom')));
});

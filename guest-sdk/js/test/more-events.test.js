// Every file of examples/events/expected/events.json (shared by every SDK) types to the listed
// body values; the card callback's form values and context.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as sdk from '../index.js';

const samples = new URL('../../../examples/events/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected/events.json', samples), 'utf8'));
const sample = (file) => sdk.Event.fromEnvelope(readFileSync(new URL(file, samples), 'utf8'));

function assertSubset(path, want, got) {
  if (want && typeof want === 'object' && !Array.isArray(want)) {
    assert.ok(got && typeof got === 'object', path);
    for (const [k, w] of Object.entries(want)) {
      assert.ok(Object.prototype.hasOwnProperty.call(got, k), `${path}.${k} missing`);
      assertSubset(`${path}.${k}`, w, got[k]);
    }
  } else {
    assert.deepEqual(got, want, path);
  }
}

test('samples type to the shared expectations', () => {
  const entries = Object.entries(expected.samples);
  assert.ok(entries.length >= 9);
  for (const [file, want] of entries) {
    const t = sample(file).typed();
    assert.equal(t.type, want.event_type, file);
    assertSubset(file, want.body, JSON.parse(JSON.stringify(t.body)));
  }
});

test('card action form values and context', () => {
  const card = sample('card.action.trigger.json').typed().body;
  assert.equal(card.formValueStr('reason'), 'ship it');
  assert.equal(card.formValueStr('env'), undefined);
  assert.equal(card.openChatId(), 'oc_e4d2605ca917e695f54f11aaf56edb21');
  assert.equal(card.openMessageId(), 'om_574d639e4a44e4dd646eaf628e2f2d26');
  const menu = sdk.EVENT_MODELS['application.bot.menu_v6'].load({ operator: null, timestamp: 'x' });
  assert.deepEqual([menu.event_key, menu.timestamp, menu.operator.operator_id.open_id], ['', 0, '']);
});

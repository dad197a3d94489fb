// examples/events/aviary.message.merged_v1.json (a merged turn) reads to
// examples/events/merged/expected.json, the file every SDK's tests check against.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as sdk from '../index.js';

const events = new URL('../../../examples/events/', import.meta.url);
const exp = JSON.parse(readFileSync(new URL('merged/expected.json', events), 'utf8'));

test('the merged sample reads to the shared expectations', () => {
  const ev = sdk.Event.fromEnvelope(readFileSync(new URL(exp.sample, events), 'utf8'));
  const typed = ev.typed();
  assert.equal(typed.type, sdk.MERGED_EVENT_TYPE);
  const m = typed.body;
  assert.ok(m instanceof sdk.MergedMessages);
  assert.equal(m.chat_id, exp.chat_id);
  assert.equal(m.count, exp.count);
  assert.deepEqual(m.messageIds(), exp.message_ids);
  assert.deepEqual(m.messages().map((x) => x.message.message_type), exp.message_types);
  assert.ok(m.messages().every((x) => x instanceof sdk.MessageReceive));
  assert.equal(m.sender().sender_id.open_id, exp.sender_open_id);
  assert.equal(m.text(), exp.text);
  assert.equal(m.textWithNames(), exp.text_with_names);
  assert.equal(m.mentionsBot(exp.bot_open_id), exp.mentions_bot);
  assert.equal(m.mentionsBot(''), false);
  const empty = sdk.EVENT_MODELS[sdk.MERGED_EVENT_TYPE].load({ events: null });
  assert.equal(empty.text(), '');
  assert.deepEqual(empty.messageIds(), []);
  assert.equal(empty.sender(), undefined);
});

// Every sample in examples/events/messages/ parses to the values in its expected.json, the file
// every Aviary SDK's tests check against; and the runtime models are lenient like the others.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import * as sdk from '../index.js';

const dir = new URL('../../../examples/events/messages/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));
const message = (file) => sdk.Event.fromEnvelope(readFileSync(new URL(file, dir), 'utf8')).typed().body.message;

/** Every key of `want` is in `got` with the same value (arrays item by item). */
function assertSubset(path, want, got) {
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), path);
    assert.equal(got.length, want.length, path);
    want.forEach((w, i) => assertSubset(`${path}[${i}]`, w, got[i]));
  } else if (want && typeof want === 'object') {
    assert.ok(got && typeof got === 'object', path);
    for (const [k, w] of Object.entries(want)) {
      assert.ok(Object.prototype.hasOwnProperty.call(got, k), `${path}.${k} missing`);
      assertSubset(`${path}.${k}`, w, got[k]);
    }
  } else {
    assert.deepEqual(got, want, path);
  }
}

test('every message sample has expectations', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'expected.json').sort();
  assert.deepEqual(files, Object.keys(expected.samples).sort());
  assert.ok(files.length >= 15);
});

test('every message sample parses to the shared expectations', () => {
  const bot = expected.bot_open_id;
  for (const [file, want] of Object.entries(expected.samples)) {
    const m = message(file);
    assert.ok(m instanceof sdk.Message, file);
    const c = m.parseContent();
    assert.ok(c instanceof sdk.MessageContent, file);
    assert.equal(c.kind, want.kind, `${file}: kind`);
    assert.equal(m.plainText(), want.plain_text, `${file}: plain_text`);
    assert.equal(m.textWithNames(), want.text_with_names, `${file}: text_with_names`);
    assert.equal(m.textWithoutMentions(), want.text_without_mentions, `${file}: text_without_mentions`);
    assert.equal(m.mentionsBot(bot), want.mentions_bot, `${file}: mentions_bot`);
    assert.equal(m.mentionsAll(), want.mentions_all, `${file}: mentions_all`);
    // The free functions give the same on the raw body.
    const raw = JSON.parse(readFileSync(new URL(file, dir), 'utf8')).event;
    assert.equal(sdk.textWithNames(raw), want.text_with_names, file);
    assert.equal(sdk.mentionsBot(raw, bot), want.mentions_bot, file);
    assertSubset(file, want.content, JSON.parse(JSON.stringify(c)));
  }
});

test('content variants and edge cases', () => {
  const f = message('file.json').parseContent();
  assert.equal(f.kind, 'file');
  assert.equal(f.file_key, 'file_v3_0001');
  const u = message('unknown.json').parseContent();
  assert.equal(u.kind, 'unknown');
  assert.equal(u.raw.summary, 'Planning');
  const post = sdk.parseContent('post', '{"en_us":{"title":"T","content":[[{"tag":"text","text":"hi"}]]}}');
  assert.equal(post.plainText(), 'T\nhi');
  const bad = message('text.json');
  bad.content = 'not json';
  assert.throws(() => bad.parseContent(), SyntaxError);
  assert.equal(bad.textWithoutMentions(), undefined);
  assert.equal(bad.mentionsBot(''), false);
  const long = message('text.json');
  long.content = '{"text":"@_user_10 and @_user_1"}';
  long.mentions[0].key = '@_user_10';
  long.mentions[1].key = '@_user_1';
  assert.equal(long.textWithNames(), '@Aviary bot and @Alice');
});

test('runtime models are lenient and carry the helpers', () => {
  const m = sdk.EVENT_MODELS['im.message.receive_v1'].load({ message: null, sender: { sender_id: null } });
  assert.equal(m.message.chat_id, '');
  assert.deepEqual(m.message.mentions, []);
  assert.equal(m.sender.sender_id.open_id, '');
  assert.equal(m.fromApp(), false);
  const u = sdk.EVENT_MODELS['contact.user.created_v3'].load({ object: { name: 7, gender: 'x', department_ids: null } });
  assert.equal(u.object.name, '7');
  assert.equal(u.object.gender, undefined);
  assert.deepEqual(u.object.department_ids, []);
  assert.deepEqual(Object.keys(sdk.EVENT_MODELS).sort(), [...sdk.EVENT_TYPES].sort());
  const samples = new URL('../../../examples/events/', import.meta.url);
  const card = sdk.Event.fromEnvelope(readFileSync(new URL('card.action.trigger.json', samples), 'utf8')).typed().body;
  assert.ok(card instanceof sdk.CardAction);
  assert.equal(card.valueStr('choice'), 'approve');
  assert.equal(card.context.open_chat_id, 'oc_e4d2605ca917e695f54f11aaf56edb21');
});

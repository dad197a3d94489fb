// The feishu wrappers build the requests the OpenAPI expects and turn the engines' error
// shapes into FeishuError (checked with a recording stand-in for the host functions).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { feishu, FeishuError } from '../index.js';

const calls = [];
const answers = [];
const DEFAULT = '{"code":0,"msg":"success","data":{"message_id":"om_test","image_key":"img_test","file_key":"file_test"}}';
function answer(call) {
  calls.push(call);
  const a = answers.shift();
  if (a && 'throw' in a) throw a.throw;
  return a ? a.ok : DEFAULT;
}
globalThis.__aviaryHost = {
  log: () => {},
  configGet: () => undefined,
  feishuRequest: (method, path, body) => answer({ method, path, body }),
  feishuUpload: (path, form, field, name, bytes) => answer({ method: 'UPLOAD', path, body: form, field, name, bytes }),
};

test('reply and send build the documented requests and leave the uuid to the host', () => {
  calls.length = 0;
  assert.equal(feishu.replyText('om_1', 'hi "you"'), 'om_test');
  assert.equal(feishu.send('chat_id', 'oc_9', 'post', { zh_cn: { title: 't' } }), 'om_test');
  assert.equal(calls[0].method, 'POST');
  assert.equal(calls[0].path, '/open-apis/im/v1/messages/om_1/reply');
  const body = JSON.parse(calls[0].body);
  assert.equal(body.msg_type, 'text');
  assert.deepEqual(JSON.parse(body.content), { text: 'hi "you"' });
  assert.equal(body.uuid, undefined);
  assert.equal(calls[1].path, '/open-apis/im/v1/messages?receive_id_type=chat_id');
  assert.equal(JSON.parse(calls[1].body).receive_id, 'oc_9');
  assert.deepEqual(feishu.requestJson('GET', '/open-apis/im/v1/chats'), JSON.parse(DEFAULT));
  assert.equal(calls[2].body, '');
});

test('both engines\' error shapes become a FeishuError with the host message', () => {
  answers.push({ throw: 'rate limited: Feishu allows 5 messages per 1s' }); // QuickJS
  assert.throws(() => feishu.replyText('om_1', 'x'), (e) => e instanceof FeishuError && /rate limited/.test(e.message));
  const sm = new Error('unexpected');
  sm.payload = 'denied: handler `x` has no OpenAPI grant'; // StarlingMonkey
  answers.push({ throw: sm });
  assert.throws(() => feishu.request('GET', '/open-apis/x'), /no OpenAPI grant/);
  answers.push({ ok: '{"code":0,"data":{}}' });
  assert.throws(() => feishu.sendText('open_id', 'ou_1', 'x'), /no data.message_id/);
  calls.length = 0;
  assert.throws(() => feishu.replyText('om_1/../x', 'x'), /only letters/);
  assert.throws(() => feishu.sendText('phone', '1', 'x'), /receive_id_type/);
  assert.equal(calls.length, 0, 'bad ids never reach the host');
});

test('uploads send the form and the bytes and return the key', () => {
  calls.length = 0;
  assert.equal(feishu.uploadImage(new Uint8Array([0x89, 0x50])), 'img_test');
  assert.equal(feishu.uploadFile([37, 80], 'pdf', 'report.pdf'), 'file_test');
  assert.equal(calls[0].path, '/open-apis/im/v1/images');
  assert.equal(calls[0].body, '{"image_type":"message"}');
  assert.equal(calls[0].field, 'image');
  assert.deepEqual([...calls[0].bytes], [0x89, 0x50]);
  assert.ok(calls[1].bytes instanceof Uint8Array);
  assert.deepEqual(JSON.parse(calls[1].body), { file_type: 'pdf', file_name: 'report.pdf' });
  assert.equal(calls[1].name, 'report.pdf');
});

test('card and preview answers have Feishu\'s shape; a deferred update posts token and card', async () => {
  const sdk = await import('../index.js');
  assert.deepEqual(sdk.cardOutcome(sdk.rawCard({ schema: '2.0' }), { type: 'success', content: 'saved' }), {
    tag: 'respond',
    val: '{"toast":{"type":"success","content":"saved"},"card":{"type":"raw","data":{"schema":"2.0"}}}',
  });
  assert.equal(
    sdk.cardOutcome(sdk.templateCard('AAq1', { n: 1 }, '1.0.0')).val,
    '{"card":{"type":"template","data":{"template_id":"AAq1","template_version_name":"1.0.0","template_variable":{"n":1}}}}',
  );
  assert.equal(sdk.urlPreview('T-1042').val, '{"inline":{"title":"T-1042"}}');
  assert.equal(sdk.urlPreview('t', { imageKey: 'img_1' }).val, '{"inline":{"title":"t","image_key":"img_1"}}');
  calls.length = 0;
  feishu.updateCard('c-1', { elements: [] });
  assert.equal(calls[0].path, '/open-apis/interactive/v1/card/update');
  assert.deepEqual(JSON.parse(calls[0].body), { token: 'c-1', card: { elements: [] } });
  assert.throws(() => feishu.updateCard('', {}), /token is empty/);
  const { readFileSync } = await import('node:fs');
  const env = readFileSync(new URL('../../../examples/events/url.preview.get.json', import.meta.url), 'utf8');
  const ev = sdk.Event.fromEnvelope(env);
  assert.equal(ev.kind, 'callback');
  const t = ev.typed();
  assert.equal(t.type, 'url.preview.get');
  assert.equal(t.body.url(), 'https://tickets.example.com/T-1042');
  assert.ok(t.body.previewToken().startsWith('p-'));
});

test('a card stream creates, replies, streams and closes', async () => {
  const { CardStream, STREAM_ELEMENT } = await import('../index.js');
  const streamed = [];
  globalThis.__aviaryHost.cardStreamSet = (card, element, text) => streamed.push([card, element, text]);
  globalThis.__aviaryHost.cardStreamFlush = () => streamed.length;
  answers.push({ ok: '{"code":0,"data":{"card_id":"7001"}}' });
  calls.length = 0;
  const s = CardStream.reply('om_1');
  s.push('Hel');
  s.push('lo');
  assert.equal(s.finish(), 'Hello');
  const card = JSON.parse(JSON.parse(calls[0].body).data);
  assert.equal(card.config.streaming_mode, true);
  assert.equal(card.body.elements[0].element_id, STREAM_ELEMENT);
  assert.equal(JSON.parse(calls[1].body).content, '{"type":"card","data":{"card_id":"7001"}}');
  assert.deepEqual(streamed.map((x) => x[2]), ['Hel', 'Hello', 'Hello']);
  assert.equal(calls[2].method, 'PATCH');
  assert.equal(calls[2].path, '/open-apis/cardkit/v1/cards/7001/settings');
  assert.deepEqual(JSON.parse(calls[2].body), { settings: '{"config":{"streaming_mode":false}}', sequence: 4 });
  globalThis.__aviaryHost.cardStreamSet = () => { throw 'streaming the card failed: HTTP 400'; };
  assert.throws(() => s.push('x'), /streaming the card failed/);
});

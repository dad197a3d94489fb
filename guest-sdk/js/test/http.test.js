// fetch over a fake http-send: what the host import receives and what the handler gets back.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fetch, Headers } from '../index.js';
import { utf8Decode, utf8Encode } from '../http.js';

function fakeHost(answer) {
  const calls = [];
  globalThis.__aviaryHttpSend = (method, url, headers, body) => {
    calls.push({ method, url, headers, body });
    if (answer instanceof Error || typeof answer === 'string') throw answer;
    return answer;
  };
  return calls;
}

test('fetch sends the flat request and returns a synchronous Response', () => {
  const calls = fakeHost([201, 'content-type: application/json\nx-a: 1\nx-a: 2\n', utf8Encode('{"ok":true,"s":"é"}')]);
  const r = fetch('https://api.example.com/v1', {
    method: 'post',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer k' },
    body: JSON.stringify({ q: 'ü' }),
  });
  assert.equal(r.status, 201);
  assert.equal(r.ok, true);
  assert.equal(r.headers.get('X-A'), '1, 2');
  assert.deepEqual(r.json(), { ok: true, s: 'é' });
  assert.equal(r.text(), '{"ok":true,"s":"é"}');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].method, 'POST');
  assert.equal(calls[0].url, 'https://api.example.com/v1');
  assert.equal(calls[0].headers, 'content-type: application/json\nauthorization: Bearer k\n');
  assert.equal(utf8Decode(calls[0].body), '{"q":"ü"}');
});

test('a host error is a TypeError with its message, whichever engine shape it has', () => {
  fakeHost('denied: handler `h` may not send GET https://evil.example/');
  assert.throws(() => fetch('https://evil.example/'), { name: 'TypeError', message: /denied: handler `h`/ });
  const componentError = Object.assign(new Error('component error'), { payload: 'GET x: no answer within 1s' });
  fakeHost(componentError);
  assert.throws(() => fetch('https://api.example.com/'), { name: 'TypeError', message: 'GET x: no answer within 1s' });
});

test('headers refuse line breaks; bodies must be bytes or text', () => {
  assert.throws(() => new Headers({ 'X-A': 'a\nHost: evil' }), /no line breaks/);
  fakeHost([200, '', new Uint8Array()]);
  assert.throws(() => fetch('https://h/', { method: 'POST', body: { a: 1 } }), /JSON.stringify/);
  const h = new Headers([['B', '2'], ['a', '1']]);
  assert.deepEqual([...h], [['a', '1'], ['b', '2']]);
});

test('utf8 round-trips every plane and replaces broken sequences', () => {
  const s = 'a é € 𝄞 中';
  assert.equal(utf8Decode(utf8Encode(s)), s);
  assert.deepEqual([...utf8Encode('€')], [0xe2, 0x82, 0xac]);
  assert.equal(utf8Decode(Uint8Array.from([0x61, 0xff, 0xc3])), 'a\ufffd\ufffd');
});

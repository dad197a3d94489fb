// Host-side tests of the kv wrappers (node --test) against a stand-in for the host imports that
// behaves like QuickJS (errors thrown as strings) or StarlingMonkey (errors with a payload).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kv, KvError } from '../index.js';

function install(throwsPayload) {
  const data = new Map();
  const refuse = (message) => {
    if (throwsPayload) {
      const e = new Error('component error');
      e.payload = message;
      throw e;
    }
    throw message;
  };
  globalThis.__aviaryHost = {
    log: () => {},
    configGet: () => undefined,
    kvGet: (k) => (data.has(k) ? data.get(k) : throwsPayload ? undefined : null),
    kvSet: (k, v) => void data.set(k, v),
    kvDelete: (k) => void data.delete(k),
    kvIncrement: (k, d) => {
      const v = data.has(k) ? data.get(k) : '0';
      if (String(Number.parseInt(v, 10)) !== v) refuse(`kv-increment: the value of \`${k}\` is not an integer`);
      data.set(k, String(Number.parseInt(v, 10) + d));
      return data.get(k);
    },
    kvList: (p, a, l) => [...data.keys()].filter((k) => k.startsWith(p) && k > a).sort().slice(0, l || 1000),
  };
  return data;
}

for (const throwsPayload of [false, true]) {
  test(`kv operations (${throwsPayload ? 'StarlingMonkey' : 'QuickJS'} errors)`, () => {
    const data = install(throwsPayload);
    assert.equal(kv.get('a'), undefined);
    kv.set('a', 1);
    assert.equal(kv.increment('a', 4), 5);
    assert.equal(kv.increment('n'), 1);
    kv.set('b/1', 'x', 60);
    kv.set('b/2', 'y');
    assert.throws(() => kv.increment('b/1'), (e) => e instanceof KvError && /not an integer/.test(e.message));
    assert.deepEqual(kv.list('b/'), ['b/1', 'b/2']);
    assert.deepEqual(kv.list('b/', 'b/1'), ['b/2']);
    assert.deepEqual(kv.list('', '', 2), ['a', 'b/1']);
    kv.delete('a');
    assert.equal(kv.get('a'), undefined);
    kv.setJson('j', { turns: ['hi'] });
    assert.deepEqual(kv.getJson('j'), { turns: ['hi'] });
    assert.deepEqual(kv.getJson('missing', []), []);
    assert.throws(() => kv.getJson('b/2'), KvError);
    assert.equal(data.size, 4);
  });
}

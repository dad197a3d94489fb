// Key-value state whose writes are exactly-once with the event (the kv-* host imports).
//
// The handler must be granted a namespace in the manifest (denied by default): `kv = true`
// (its own) or `kv = "name"` (shared by the handlers naming it). A run reads the committed
// state plus its own writes; its writes take effect only when it returns done or respond, in
// the same transaction that records the outcome, so a run that throws, times out, returns
// retry or is cut off by a crash leaves nothing behind and its re-run starts from the same
// state. `increment` is added at commit time, so concurrent runs never lose one. A refused
// call (a denial, a quota, a bad argument, the store) throws a KvError.
import { callHost, hostFunctions } from './host.js';

/** A key-value call the host refused; the message says why. */
export class KvError extends Error {
  constructor(message) {
    super(message);
    this.name = 'KvError';
  }
}

function call(name, ...args) {
  return callHost(KvError, () => hostFunctions('kvGet', 'key-value host functions')[name](...args));
}

/** The handler's key-value state. */
export const kv = Object.freeze({
  /** The value of `key` as this run sees it, or `undefined` (absent or expired). */
  get(key) {
    const v = call('kvGet', String(key));
    return v === null || v === undefined ? undefined : v;
  },
  /** Sets `key` to `value`, expiring `ttlSecs` seconds after the run's commit (0: never). */
  set(key, value, ttlSecs = 0) {
    call('kvSet', String(key), String(value), ttlSecs >>> 0);
  },
  /** Deletes `key` (absent: nothing to do). */
  delete(key) {
    call('kvDelete', String(key));
  },
  /**
   * Adds `delta` (a 32-bit integer) to the integer at `key` (absent: 0) and returns the value
   * this run now sees (a number; exact up to 2^53). At commit the delta is added to whatever is
   * committed then.
   */
  increment(key, delta = 1) {
    return Number(call('kvIncrement', String(key), delta | 0));
  },
  /**
   * Up to `limit` keys (0: the most one call returns, 1,000) that start with `prefix` and sort
   * after `after` (byte order; '' for the first page: pass the last key to continue).
   */
  list(prefix = '', after = '', limit = 0) {
    return Array.from(call('kvList', String(prefix), String(after), limit >>> 0));
  },
  /** The value of `key` parsed as JSON, or `fallback` when absent. */
  getJson(key, fallback = undefined) {
    const text = kv.get(key);
    if (text === undefined) return fallback;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new KvError(`kv: the value of \`${key}\` is not JSON: ${e.message}`);
    }
  },
  /** Sets `key` to `value` encoded as JSON. */
  setJson(key, value, ttlSecs = 0) {
    kv.set(key, JSON.stringify(value), ttlSecs);
  },
});

// Outbound HTTP for aviary-js handlers: `fetch` over the host import `http-send`.
//
// The Fetch API's arguments, `Headers` and `Response`, but **synchronous**: handlers are
// synchronous (neither engine runs promise jobs inside a synchronous export; QuickJS fails to
// lower a returned Promise), so `fetch` returns the Response itself and `text()`, `json()`,
// `arrayBuffer()` and `bytes()` return values, not Promises. Write `const r = fetch(url)`, not
// `await fetch(url)`.
//
// The host allows only what the manifest key `allowed_outbound_hosts` lists, follows and checks
// redirects, applies `[handler.http]` limits and adds no credential. A denial, timeout, oversized
// answer or connection failure throws a `TypeError` (as `fetch` rejects with one) whose message
// is the host's reason; an answer with any status is a Response (check `ok`).
import { callHost } from './host.js';

function sendFn() {
  const send = globalThis.__aviaryHttpSend;
  if (typeof send !== 'function') {
    throw new Error('aviary-js: no host functions; build the handler with `aviary-js build`');
  }
  return send;
}

/** UTF-8 bytes of a string (QuickJS has no TextEncoder). */
export function utf8Encode(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** A string from UTF-8 bytes (invalid sequences become U+FFFD). */
export function utf8Decode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let c = 0xfffd;
    let n = 1;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && cont(bytes, i, 1)) [c, n] = [((b & 31) << 6) | (bytes[i + 1] & 63), 2];
    else if (b >= 0xe0 && b < 0xf0 && cont(bytes, i, 2)) {
      const v = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
      if (v >= 0x800 && (v < 0xd800 || v > 0xdfff)) [c, n] = [v, 3];
    } else if (b >= 0xf0 && b < 0xf5 && cont(bytes, i, 3)) {
      const v = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) | (bytes[i + 3] & 63);
      if (v >= 0x10000 && v <= 0x10ffff) [c, n] = [v, 4];
    }
    s += String.fromCodePoint(c);
    i += n;
  }
  return s;
}

function cont(bytes, i, k) {
  for (let j = 1; j <= k; j++) if (i + j >= bytes.length || (bytes[i + j] & 0xc0) !== 0x80) return false;
  return true;
}

/** Header names and values, names compared in lowercase (the Fetch API's `Headers`). */
export class Headers {
  constructor(init) {
    this._list = [];
    if (init === undefined || init === null) return;
    if (typeof init.forEach === 'function' && !Array.isArray(init)) {
      init.forEach((v, k) => this.append(k, v));
    } else if (Array.isArray(init)) {
      for (const [k, v] of init) this.append(k, v);
    } else {
      for (const k of Object.keys(init)) this.append(k, init[k]);
    }
  }
  append(name, value) {
    const n = String(name).toLowerCase();
    const v = String(value);
    if (/[\r\n:]/.test(n) || /[\r\n]/.test(v)) {
      throw new TypeError(`invalid header ${JSON.stringify(name)}: no line breaks (and no ':' in names)`);
    }
    this._list.push([n, v]);
  }
  set(name, value) {
    this.delete(name);
    this.append(name, value);
  }
  delete(name) {
    const n = String(name).toLowerCase();
    this._list = this._list.filter(([k]) => k !== n);
  }
  get(name) {
    const n = String(name).toLowerCase();
    const vs = this._list.filter(([k]) => k === n).map(([, v]) => v);
    return vs.length ? vs.join(', ') : null;
  }
  has(name) {
    return this.get(name) !== null;
  }
  forEach(fn) {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
  *entries() {
    const names = [...new Set(this._list.map(([k]) => k))].sort();
    for (const n of names) yield [n, this.get(n)];
  }
  *keys() {
    for (const [k] of this.entries()) yield k;
  }
  *values() {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  /** Every line in order, repeated names kept: the block the host import takes. */
  toBlock() {
    return this._list.map(([k, v]) => `${k}: ${v}\n`).join('');
  }
  static fromBlock(block) {
    const h = new Headers();
    for (const line of block.split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) h._list.push([line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()]);
    }
    return h;
  }
}

/** An answer (the Fetch API's `Response`, with synchronous body methods). */
export class Response {
  constructor(status, headers, body, url) {
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.statusText = '';
    this.headers = headers;
    this.url = url;
    this._body = body;
    this.bodyUsed = false;
  }
  /** The body as bytes. */
  bytes() {
    return this._body;
  }
  arrayBuffer() {
    return this._body.buffer.slice(this._body.byteOffset, this._body.byteOffset + this._body.byteLength);
  }
  text() {
    return utf8Decode(this._body);
  }
  /** The body parsed as JSON (throws a SyntaxError when it is not). */
  json() {
    return JSON.parse(this.text());
  }
}

function bodyBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return utf8Encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof URLSearchParamsLike) return utf8Encode(body.toString());
  throw new TypeError('fetch: the body is a string, Uint8Array or ArrayBuffer (JSON.stringify objects)');
}

// A marker so bodyBytes accepts objects with a toString() form body (URLSearchParams exists only
// in StarlingMonkey).
const URLSearchParamsLike = typeof URLSearchParams === 'function' ? URLSearchParams : class {};


/**
 * Sends a request through the host and returns its Response (synchronously). `init`: `method`
 * (default GET), `headers` (object, array of pairs or Headers), `body` (string, Uint8Array or
 * ArrayBuffer). Throws a TypeError with the host's reason when there is no answer.
 */
export function fetch(input, init = {}) {
  const url = typeof input === 'string' ? input : String(input?.url ?? input);
  const method = String(init.method ?? 'GET').toUpperCase();
  const headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  const body = bodyBytes(init.body);
  const answer = callHost(TypeError, () => sendFn()(method, url, headers.toBlock(), body));
  const [status, block, bytes] = answer;
  const data = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes ?? []);
  return new Response(status, Headers.fromBlock(block), data, url);
}

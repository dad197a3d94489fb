// aviary-js: the JavaScript SDK for Aviary handlers (world aviary:handler@0.1.0,
// wit/handler.wit). Handlers import from 'aviary-js' and export `handle(event)`; the build
// command (`aviary-js build`) bundles them with this file and an engine-specific entry that
// installs the host functions in `globalThis.__aviaryHost`, so the same source builds for
// QuickJS (host imports are globals) and StarlingMonkey (host imports are ES modules).
import { hostFunctions } from './host.js';
import { MERGED_EVENT_TYPE, mergedModel } from './merged.js';
import { EVENT_MODELS as FEISHU_MODELS, toMessage } from './models.js';

export { AT_ALL, MESSAGE_TYPES, MessageContent, PostElement, parseContent } from './content.js';
export { MERGED_EVENT_TYPE, MergedMessages } from './merged.js';
export { CardAction, Message, MessageReceive, UrlPreview } from './models.js';
export { feishu, FeishuError } from './feishu.js';
export { CardStream, STREAM_ELEMENT, streamingCard } from './stream.js';
export { fetch, Headers, Response } from './http.js';
export { kv, KvError } from './kv.js';

/** event type -> model: Feishu's events and the runtime's merged turn. */
export const EVENT_MODELS = Object.freeze({ ...FEISHU_MODELS, [MERGED_EVENT_TYPE]: mergedModel });

/** The event types with a typed model (the same list as the Rust SDK's `TypedEvent`). */
export const EVENT_TYPES = Object.freeze([
  'im.message.receive_v1',
  'im.message.message_read_v1',
  'im.chat.member.user_added_v1',
  'im.chat.member.user_deleted_v1',
  'im.chat.updated_v1',
  'im.chat.member.bot.added_v1',
  'im.chat.member.bot.deleted_v1',
  'im.message.reaction.created_v1',
  'im.message.reaction.deleted_v1',
  'im.message.recalled_v1',
  'im.chat.disbanded_v1',
  'im.chat.access_event.bot_p2p_chat_entered_v1',
  'application.bot.menu_v6',
  'contact.user.created_v3',
  'contact.user.updated_v3',
  'contact.user.deleted_v3',
  'contact.department.created_v3',
  'contact.department.updated_v3',
  'contact.department.deleted_v3',
  'approval.approval.approved_v1',
  'approval.approval.rejected_v1',
  'calendar.calendar.event.changed_v4',
  'vc.meeting.meeting_started_v1',
  'vc.meeting.meeting_ended_v1',
  'card.action.trigger',
  MERGED_EVENT_TYPE,
  'url.preview.get',
]);
const KNOWN = new Set(EVENT_TYPES);

const host = () => hostFunctions();

// ---- outcomes ------------------------------------------------------------------------------

/** Handled. */
export function done() {
  return { tag: 'done' };
}

/**
 * Handled; `body` is the callback's answer. An object is serialized with JSON.stringify; a
 * string must already be JSON (it is checked: a string that is not JSON gives `reject`).
 */
export function respond(body) {
  let json;
  if (typeof body === 'string') {
    try {
      JSON.parse(body);
    } catch (e) {
      return reject(`respond: the body string is not JSON: ${e.message}`);
    }
    json = body;
  } else {
    try {
      json = JSON.stringify(body);
    } catch (e) {
      return reject(`respond: the body cannot be serialized: ${e.message}`);
    }
    if (json === undefined) return reject('respond: the body cannot be serialized');
  }
  return { tag: 'respond', val: json };
}

/** Failed for now: the runtime acks 500 and Feishu redelivers; the reason is logged. */
export function retry(reason) {
  return { tag: 'retry', val: String(reason ?? '') };
}

/** Will never succeed: not redelivered; the reason is logged. */
export function reject(reason) {
  return { tag: 'reject', val: String(reason ?? '') };
}

/** A card callback answer with a toast: `toast('success', 'Saved')`, optional i18n texts. */
export function toast(type, content, i18n) {
  const t = { type, content: String(content) };
  if (i18n) t.i18n = i18n;
  return respond({ toast: t });
}
export const toastInfo = (content, i18n) => toast('info', content, i18n);
export const toastSuccess = (content, i18n) => toast('success', content, i18n);
export const toastWarning = (content, i18n) => toast('warning', content, i18n);
export const toastError = (content, i18n) => toast('error', content, i18n);

/** A card update that replaces the card with this card JSON (for `cardOutcome`). */
export function rawCard(card) {
  return { type: 'raw', data: card };
}

/** A card update that replaces the card with a template (`version` optional). */
export function templateCard(templateId, variables, version) {
  const data = { template_id: templateId };
  if (version) data.template_version_name = version;
  if (variables !== undefined && variables !== null) data.template_variable = variables;
  return { type: 'template', data };
}

/**
 * Answers a card callback by replacing the card (`rawCard(json)` or `templateCard(…)`), with a
 * toast when `toastObj` ({type, content}) is given. For work longer than the 3 s a callback
 * may take, answer (or let the runtime ack at dispatch.callback_deadline_ms) and update the
 * card later with `feishu.updateCard(token, card)`.
 */
export function cardOutcome(card, toastObj) {
  const body = {};
  if (toastObj) body.toast = toastObj;
  body.card = card;
  return respond(body);
}

/** Answers `url.preview.get` with an inline preview: `title`, and optionally `imageKey`, `i18nTitle` ({zh_cn: …}) and `card` (rawCard/templateCard). */
export function urlPreview(title, { imageKey, i18nTitle, card } = {}) {
  const inline = { title: String(title) };
  if (i18nTitle) inline.i18n_title = i18nTitle;
  if (imageKey) inline.image_key = imageKey;
  const body = { inline };
  if (card) body.card = card;
  return respond(body);
}

// ---- logs and config -----------------------------------------------------------------------

function format(args) {
  return args
    .map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return a.stack ? `${a}\n${a.stack}` : String(a);
      try {
        const s = JSON.stringify(a);
        return s === undefined ? String(a) : s;
      } catch {
        return String(a);
      }
    })
    .join(' ');
}

function write(level, args) {
  host().log(level, format(args));
}

/** Lines for the runtime's log, tagged with handler, event and trace id. */
export const log = Object.freeze({
  trace: (...args) => write('trace', args),
  debug: (...args) => write('debug', args),
  info: (...args) => write('info', args),
  warn: (...args) => write('warn', args),
  error: (...args) => write('error', args),
});

/** This handler's `[handler.config]` settings from the manifest. */
export const config = Object.freeze({
  /** The setting, or `undefined`. */
  get(key) {
    const v = host().configGet(String(key));
    return v === null || v === undefined ? undefined : v;
  },
  /** The setting, or `fallback`. */
  getOr(key, fallback) {
    const v = config.get(key);
    return v === undefined ? fallback : v;
  },
});

// ---- events --------------------------------------------------------------------------------

/** One Feishu event: the routing fields the runtime extracted plus the raw envelope. */
export class Event {
  constructor(fields) {
    this.dedupeId = fields.dedupeId;
    this.eventId = fields.eventId;
    this.eventType = fields.eventType;
    this.kind = fields.kind;
    this.appId = fields.appId;
    this.tenantKey = fields.tenantKey;
    this.createTime = fields.createTime;
    this.attempt = fields.attempt;
    this.envelope = fields.envelope;
    Object.defineProperty(this, '_json', { value: undefined, writable: true });
  }

  /** Builds an event from an envelope JSON string (for tests), like the runtime does. */
  static fromEnvelope(envelope, attempt = 1) {
    const v = JSON.parse(envelope);
    const h = v.header;
    const isV2 = h && typeof h === 'object';
    const eventType = isV2 ? h.event_type : v.event?.type ?? '';
    const eventId = isV2 ? h.event_id : v.uuid ?? '';
    const messageId = v.event?.message?.message_id;
    return new Event({
      dedupeId: eventType.startsWith('im.message.') && messageId ? messageId : eventId,
      eventId,
      eventType,
      kind: eventType === 'card.action.trigger' || eventType === 'url.preview.get' ? 'callback' : 'event',
      appId: (isV2 ? h.app_id : v.event?.app_id) ?? '',
      tenantKey: (isV2 ? h.tenant_key : v.event?.tenant_key) ?? '',
      createTime: String((isV2 ? h.create_time : v.ts) ?? ''),
      attempt,
      envelope,
    });
  }

  /** Whether the answer of this event travels back in the ack (card callbacks). */
  isCallback() {
    return this.kind === 'callback';
  }

  /** The whole envelope, parsed (once). Throws a SyntaxError for invalid JSON. */
  json() {
    if (this._json === undefined) this._json = JSON.parse(this.envelope);
    return this._json;
  }

  /** The envelope's `event` object (v2 and v1), `{}` when absent. */
  body() {
    const e = this.json().event;
    return e && typeof e === 'object' ? e : {};
  }

  /**
   * `{type, body}` for the typed event types (see EVENT_TYPES; `type` narrows `body` in
   * TypeScript), with `body` a runtime model (every field present, defaults for missing or
   * null ones, unknown fields dropped; `Message`, `MessageReceive` and `CardAction` have
   * methods); `{type: 'other', eventType, body}` with the raw body for the others.
   */
  typed() {
    if (KNOWN.has(this.eventType)) return { type: this.eventType, body: EVENT_MODELS[this.eventType].load(this.body()) };
    return { type: 'other', eventType: this.eventType, body: this.body() };
  }
}

// ---- helpers on models ---------------------------------------------------------------------

// Each takes an `im.message.receive_v1` body or its `message`, raw or typed.

/** The text of a `text` message (mention keys like `@_user_1` included), else undefined. */
export function messageText(message) {
  return toMessage(message).text();
}

/** The content of any message type as text, mention placeholders kept; undefined for bad JSON. */
export function plainText(message) {
  return toMessage(message).plainText();
}

/** `plainText` with each `@_user_N` replaced by `@name` and `@_all` by `@all`. */
export function textWithNames(message) {
  return toMessage(message).textWithNames();
}

/** `plainText` without the mention keys (and `@_all`), spaces collapsed per line: what was typed after @bot. */
export function textWithoutMentions(message) {
  return toMessage(message).textWithoutMentions();
}

/** Whether the bot with this open_id is @-mentioned. */
export function mentionsBot(message, botOpenId) {
  return toMessage(message).mentionsBot(botOpenId);
}

/** Whether the message @-mentions everyone. */
export function mentionsAll(message) {
  return toMessage(message).mentionsAll();
}

/** Whether another app (bot) sent this `im.message.receive_v1` body. */
export function fromApp(receive) {
  return receive?.sender?.sender_type === 'app';
}

/** `action.value[key]` of a `card.action.trigger` body when it is a string, else undefined. */
export function cardValue(action, key) {
  const v = action?.action?.value?.[key];
  return typeof v === 'string' ? v : undefined;
}

// ---- the export glue (used by the generated entry; not part of the API) ---------------------

const TAGS = new Set(['done', 'respond', 'retry', 'reject']);

function toWitOutcome(out) {
  if (out === undefined || out === null) return done();
  if (typeof out === 'object' && TAGS.has(out.tag)) {
    if (out.tag === 'done') return { tag: 'done' };
    if (typeof out.val !== 'string') {
      return reject(`handler returned ${out.tag} without a string value`);
    }
    return { tag: out.tag, val: out.val };
  }
  if (typeof out?.then === 'function') {
    return reject('handler returned a Promise: handlers are synchronous (no I/O is available)');
  }
  return reject(`handler returned ${describe(out)}, not an outcome (use done(), respond(), retry() or reject())`);
}

function describe(v) {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Runs the user's handler on one WIT event. A throw is logged at error level (the runtime
 * reports it as the panic message) and rethrown, so the instance traps and is discarded, like
 * a Rust panic.
 */
export function __aviaryRun(userHandle, witEvent) {
  const ev = new Event(witEvent);
  let out;
  try {
    out = userHandle(ev);
  } catch (e) {
    const where = e && e.stack ? `\n${e.stack}` : '';
    try {
      host().log('error', `handler threw: ${e}${where}`);
    } catch {
      // Nothing more to do: the trap below still fails the call.
    }
    throw e;
  }
  return toWitOutcome(out);
}

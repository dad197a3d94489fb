// Types of aviary-js, the JavaScript SDK for Aviary handlers (world aviary:handler@0.1.0).
// `event.typed()` bodies are runtime models (every field set, defaults for missing ones); the
// interfaces mark fields optional so they also describe raw bodies (`event.body()`).

/** What handling came to (the WIT variant `outcome`). */
export type Outcome =
  | { tag: 'done' }
  | { tag: 'respond'; val: string }
  | { tag: 'retry'; val: string }
  | { tag: 'reject'; val: string };

/** A handler: return an Outcome (or nothing, which means done). Throwing fails the event. */
export type Handler = (event: Event) => Outcome | void;

export function done(): Outcome;
/** An object is JSON.stringify'd; a string must already be JSON (else: reject). */
export function respond(body: unknown): Outcome;
export function retry(reason: string): Outcome;
export function reject(reason: string): Outcome;

export type ToastType = 'info' | 'success' | 'warning' | 'error';
export function toast(type: ToastType, content: string, i18n?: Record<string, string>): Outcome;
export function toastInfo(content: string, i18n?: Record<string, string>): Outcome;
export function toastSuccess(content: string, i18n?: Record<string, string>): Outcome;
export function toastWarning(content: string, i18n?: Record<string, string>): Outcome;
export function toastError(content: string, i18n?: Record<string, string>): Outcome;

export interface CardUpdate { type: 'raw' | 'template'; data: unknown }
export function rawCard(card: unknown): CardUpdate;
export function templateCard(templateId: string, variables?: unknown, version?: string): CardUpdate;
/** Answers a card callback by replacing the card, with an optional toast. */
export function cardOutcome(card: CardUpdate, toast?: { type: ToastType; content: string; i18n?: Record<string, string> }): Outcome;
/** Answers url.preview.get with an inline preview. */
export function urlPreview(title: string, options?: { imageKey?: string; i18nTitle?: Record<string, string>; card?: CardUpdate }): Outcome;

export const log: {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};

export const config: {
  /** This handler's `[handler.config]` setting, or undefined. */
  get(key: string): string | undefined;
  getOr(key: string, fallback: string): string;
};

/** A key-value call the host refused (a denial, a quota, a bad argument, the store). */
export class KvError extends Error {}

/**
 * The handler's key-value state (manifest `kv = true` or `kv = "name"`): reads see committed
 * state plus this run's writes; the writes commit with a done/respond outcome, exactly once.
 */
export const kv: {
  get(key: string): string | undefined;
  set(key: string, value: string, ttlSecs?: number): void;
  delete(key: string): void;
  /** Adds delta (32-bit) and returns the value this run now sees; added at commit. */
  increment(key: string, delta?: number): number;
  /** Up to `limit` keys (0: 1,000) starting with `prefix`, after `after`. */
  list(prefix?: string, after?: string, limit?: number): string[];
  getJson<T = unknown>(key: string, fallback?: T): T | undefined;
  setJson(key: string, value: unknown, ttlSecs?: number): void;
};

export type EventKind = 'event' | 'callback';

export class Event {
  /** Idempotency key: message_id for im.message.*, else event_id. */
  readonly dedupeId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly kind: EventKind;
  readonly appId: string;
  readonly tenantKey: string;
  /** Epoch milliseconds as a string, as Feishu sent it. */
  readonly createTime: string;
  /** 1 for the first delivery, 2 for the first retry, … */
  readonly attempt: number;
  /** The whole JSON envelope, as received. */
  readonly envelope: string;
  static fromEnvelope(envelope: string, attempt?: number): Event;
  isCallback(): boolean;
  json(): any;
  body(): Record<string, any>;
  typed(): TypedEvent;
}

export const EVENT_TYPES: readonly string[];
/** event type -> runtime model; `load(body)` builds the typed body. */
export const EVENT_MODELS: Readonly<Record<string, { load(body: unknown): any }>>;

/** An `im.message.receive_v1` body or its `message`, raw or typed. */
export type MessageLike = MessageReceive | Message | RawMessageReceive | RawMessage;
export function messageText(message: MessageLike): string | undefined;
/** The content of any message type as text, `@_user_N` placeholders kept; undefined for bad JSON. */
export function plainText(message: MessageLike): string | undefined;
/** plainText() with `@_user_N` replaced by `@name` and `@_all` by `@all`. */
export function textWithNames(message: MessageLike): string | undefined;
/** plainText() without the placeholders (and `@_all`), spaces collapsed per line, trimmed. */
export function textWithoutMentions(message: MessageLike): string | undefined;
export function mentionsBot(message: MessageLike, botOpenId: string): boolean;
export function mentionsAll(message: MessageLike): boolean;
export function fromApp(receive: MessageReceive): boolean;
export function cardValue(action: CardAction | Record<string, any>, key: string): string | undefined;

// ---- models -------------------------------------------------------------------------------

export interface UserId { open_id?: string; union_id?: string; user_id?: string }

export interface Sender { sender_id?: UserId; sender_type?: string; tenant_key?: string }
export interface Mention { key?: string; id?: UserId; name?: string; tenant_key?: string }
export interface RawMessage {
  message_id?: string; root_id?: string; parent_id?: string; create_time?: string; update_time?: string;
  chat_id?: string; thread_id?: string; chat_type?: 'p2p' | 'group' | string;
  message_type?: string;
  /** The content as a JSON string, e.g. '{"text":"hello"}': see parseContent(). */
  content?: string; mentions?: Mention[]; user_agent?: string;
}
export interface RawMessageReceive { sender?: Sender; message?: RawMessage }

/** A received message (runtime model). */
export class Message {
  message_id: string; root_id: string; parent_id: string; create_time: string; update_time: string;
  chat_id: string; thread_id: string; chat_type: 'p2p' | 'group' | string; message_type: string;
  /** The content as a JSON string; see parseContent(). */
  content: string;
  mentions: Required<Mention>[]; user_agent: string;
  /** The content as the model for its message_type. Throws a SyntaxError for bad JSON. */
  parseContent(): TypedContent;
  text(): string | undefined;
  plainText(): string | undefined;
  textWithNames(): string | undefined;
  textWithoutMentions(): string | undefined;
  mentionsBot(botOpenId: string): boolean;
  mentionsAll(): boolean;
}
/** im.message.receive_v1 (runtime model). */
export class MessageReceive {
  sender: Required<Sender>; message: Message;
  text(): string | undefined;
  parseContent(): TypedContent;
  mentionsBot(botOpenId: string): boolean;
  fromApp(): boolean;
}

// ---- message content (parseContent) --------------------------------------------------------

export const AT_ALL: '@_all';
/** The message types with a content model. */
export const MESSAGE_TYPES: readonly string[];
export type ContentKind =
  | 'text' | 'post' | 'image' | 'file' | 'audio' | 'media' | 'sticker' | 'interactive'
  | 'share_chat' | 'share_user' | 'merge_forward' | 'location' | 'todo' | 'system' | 'unknown';
/** Base of every content model: switch on `kind` (a TypedContent). */
export abstract class MessageContent {
  readonly kind: ContentKind;
  /** Text as is; post/todo/interactive as title + one line per paragraph; others a tag like `[image]`; unknown ''. */
  plainText(): string;
}
export class PostElement {
  /** text, a, at, img, media, emotion, code_block, hr, md */
  tag: string; text: string; href: string; user_id: string; user_name: string; image_key: string;
  file_key: string; emoji_type: string; language: string; style: string[]; width: number; height: number;
  plainText(): string;
}
export interface TextContent extends MessageContent { readonly kind: 'text'; text: string }
export interface PostContent extends MessageContent { readonly kind: 'post'; title: string; content: PostElement[][] }
export interface ImageContent extends MessageContent { readonly kind: 'image'; image_key: string }
export interface FileContent extends MessageContent { readonly kind: 'file'; file_key: string; file_name: string }
export interface AudioContent extends MessageContent { readonly kind: 'audio'; file_key: string; duration: number }
export interface MediaContent extends MessageContent {
  readonly kind: 'media'; file_key: string; image_key: string; file_name: string; duration: number;
}
export interface StickerContent extends MessageContent { readonly kind: 'sticker'; file_key: string }
export interface InteractiveContent extends MessageContent { readonly kind: 'interactive'; title: string; elements: PostElement[][] }
export interface ShareChatContent extends MessageContent { readonly kind: 'share_chat'; chat_id: string }
export interface ShareUserContent extends MessageContent { readonly kind: 'share_user'; user_id: string }
export interface MergeForwardContent extends MessageContent { readonly kind: 'merge_forward'; content: string }
export interface LocationContent extends MessageContent { readonly kind: 'location'; name: string; longitude: string; latitude: string }
export interface TodoContent extends MessageContent {
  readonly kind: 'todo'; task_id: string; summary: { title: string; content: PostElement[][] }; due_time: string;
}
export interface SystemContent extends MessageContent {
  readonly kind: 'system'; template: string; from_user: string[]; to_chatters: string[];
  divider_text: { text: string; i18n_text?: Record<string, string> };
}
export interface UnknownContent extends MessageContent { readonly kind: 'unknown'; message_type: string; raw: unknown }
export type TypedContent =
  | TextContent | PostContent | ImageContent | FileContent | AudioContent | MediaContent | StickerContent
  | InteractiveContent | ShareChatContent | ShareUserContent | MergeForwardContent | LocationContent
  | TodoContent | SystemContent | UnknownContent;
/** `content` (a JSON string) as the model for `messageType`. Throws a SyntaxError for bad JSON. */
export function parseContent(messageType: string, content: string): TypedContent;

export interface MessageRead { reader?: { reader_id?: UserId; read_time?: string; tenant_key?: string }; message_id_list?: string[] }
export interface ChatMember { name?: string; tenant_key?: string; user_id?: UserId }
export interface ChatMembersChanged {
  chat_id?: string; operator_id?: UserId; external?: boolean; operator_tenant_key?: string;
  users?: ChatMember[]; name?: string; i18n_names?: Record<string, string>;
}
export type ChatMemberUserAdded = ChatMembersChanged;
export type ChatMemberUserDeleted = ChatMembersChanged;
export interface ChatChange {
  avatar?: string; name?: string; description?: string; i18n_names?: Record<string, string>;
  add_member_permission?: string; share_card_permission?: string; at_all_permission?: string;
  edit_permission?: string; membership_approval?: string; join_message_visibility?: string;
  leave_message_visibility?: string; moderation_permission?: string; owner_id?: UserId;
  restricted_mode_setting?: unknown;
}
export interface Moderator { tenant_key?: string; user_id?: UserId }
export interface ChatUpdated {
  chat_id?: string; operator_id?: UserId; external?: boolean; operator_tenant_key?: string;
  after_change?: ChatChange; before_change?: ChatChange;
  moderator_list?: { added_member_list?: Moderator[]; removed_member_list?: Moderator[] };
}

export interface ChatEvent {
  chat_id?: string; operator_id?: UserId; external?: boolean; operator_tenant_key?: string;
  name?: string; i18n_names?: Record<string, string>;
}
export type ChatMemberBotAdded = ChatEvent;
export type ChatMemberBotDeleted = ChatEvent;
export type ChatDisbanded = ChatEvent;
export interface Reaction {
  message_id?: string; reaction_type?: { emoji_type?: string };
  /** 'user' (user_id set) or 'app' (app_id set). */
  operator_type?: string; user_id?: UserId; app_id?: string; action_time?: string;
}
export type ReactionCreated = Reaction;
export type ReactionDeleted = Reaction;
export interface MessageRecalled { message_id?: string; chat_id?: string; recall_time?: string; recall_type?: string }
export interface BotP2pChatEntered {
  chat_id?: string; operator_id?: UserId; last_message_id?: string; last_message_create_time?: string;
}
export interface BotMenu {
  operator?: { operator_name?: string; operator_id?: UserId };
  /** The menu item's event_key. */
  event_key?: string;
  /** Epoch seconds. */
  timestamp?: number;
}

export interface User {
  open_id?: string; union_id?: string; user_id?: string; name?: string; en_name?: string; nickname?: string;
  email?: string; enterprise_email?: string; job_title?: string; mobile?: string; gender?: number;
  avatar?: { avatar_72?: string; avatar_240?: string; avatar_640?: string; avatar_origin?: string };
  status?: { is_frozen?: boolean; is_resigned?: boolean; is_activated?: boolean; is_exited?: boolean; is_unjoin?: boolean };
  department_ids?: string[]; leader_user_id?: string; city?: string; country?: string; work_station?: string;
  join_time?: number; is_tenant_manager?: boolean; employee_no?: string; employee_type?: number;
  custom_attrs?: unknown[]; job_level_id?: string; job_family_id?: string;
}
export interface UserCreated { object?: User }
export interface UserUpdated { object?: User; old_object?: User }
export type UserDeleted = UserUpdated;
export interface Department {
  name?: string; i18n_name?: Record<string, string>; parent_department_id?: string; department_id?: string;
  open_department_id?: string; leader_user_id?: string; chat_id?: string; order?: string; unit_ids?: string[];
  status?: { is_deleted?: boolean }; leaders?: { leaderType?: number; leaderID?: string }[];
}
export interface DepartmentCreated { object?: Department }
export interface DepartmentUpdated { object?: Department; old_object?: Department }
export type DepartmentDeleted = DepartmentUpdated;

export interface ApprovalChange {
  app_id?: string; tenant_key?: string; approval_code?: string; instance_code?: string; status?: string;
  operate_time?: string; user_id?: string; open_id?: string; uuid?: string;
}
export type ApprovalApproved = ApprovalChange;
export type ApprovalRejected = ApprovalChange;
export interface CalendarEventChanged {
  calendar_id?: string; user_id_list?: UserId[]; calendar_event_id?: string; change_type?: string; rsvp_infos?: unknown[];
}
export interface MeetingUser { id?: UserId; user_role?: number; user_type?: number }
export interface Meeting {
  id?: string; topic?: string; meeting_no?: string; meeting_source?: number; start_time?: string; end_time?: string;
  host_user?: MeetingUser; owner?: MeetingUser; calendar_event_id?: string;
}
export interface MeetingChange { meeting?: Meeting; operator?: MeetingUser }
export type MeetingStarted = MeetingChange;
export type MeetingEnded = MeetingChange;

/** card.action.trigger (runtime model). */
export class CardAction {
  operator?: { tenant_key?: string; user_id?: string; open_id?: string; union_id?: string };
  /** Token for delayed card updates (30 minutes, two updates). */
  token?: string;
  action?: {
    /** The component's `value` as configured in the card (usually an object). */
    value?: any; tag?: string; option?: string; options?: string[]; timezone?: string; name?: string;
    form_value?: Record<string, unknown>; input_value?: string; checked?: boolean;
  };
  host?: string; delivery_type?: string;
  context?: { url?: string; preview_token?: string; open_message_id?: string; open_chat_id?: string };
  /** `action.value[key]` when it is a string. */
  valueStr(key: string): string | undefined;
  /** `action.form_value[name]` (a form submission) when it is a string. */
  formValueStr(name: string): string | undefined;
  openChatId(): string;
  openMessageId(): string;
}

/** url.preview.get (runtime model): a link of the app's domains was sent; answer with `urlPreview(title)`. */
export class UrlPreview {
  operator?: { tenant_key?: string; user_id?: string; open_id?: string; union_id?: string };
  host?: string;
  context?: { url?: string; preview_token?: string; open_message_id?: string; open_chat_id?: string };
  url(): string;
  previewToken(): string;
}

/** `event.typed()`: switch on `type` to narrow `body`. */
export type TypedEvent =
  | { type: 'im.message.receive_v1'; body: MessageReceive }
  | { type: 'im.message.message_read_v1'; body: MessageRead }
  | { type: 'im.chat.member.user_added_v1'; body: ChatMemberUserAdded }
  | { type: 'im.chat.member.user_deleted_v1'; body: ChatMemberUserDeleted }
  | { type: 'im.chat.updated_v1'; body: ChatUpdated }
  | { type: 'im.chat.member.bot.added_v1'; body: ChatMemberBotAdded }
  | { type: 'im.chat.member.bot.deleted_v1'; body: ChatMemberBotDeleted }
  | { type: 'im.message.reaction.created_v1'; body: ReactionCreated }
  | { type: 'im.message.reaction.deleted_v1'; body: ReactionDeleted }
  | { type: 'im.message.recalled_v1'; body: MessageRecalled }
  | { type: 'im.chat.disbanded_v1'; body: ChatDisbanded }
  | { type: 'im.chat.access_event.bot_p2p_chat_entered_v1'; body: BotP2pChatEntered }
  | { type: 'application.bot.menu_v6'; body: BotMenu }
  | { type: 'contact.user.created_v3'; body: UserCreated }
  | { type: 'contact.user.updated_v3'; body: UserUpdated }
  | { type: 'contact.user.deleted_v3'; body: UserDeleted }
  | { type: 'contact.department.created_v3'; body: DepartmentCreated }
  | { type: 'contact.department.updated_v3'; body: DepartmentUpdated }
  | { type: 'contact.department.deleted_v3'; body: DepartmentDeleted }
  | { type: 'approval.approval.approved_v1'; body: ApprovalApproved }
  | { type: 'approval.approval.rejected_v1'; body: ApprovalRejected }
  | { type: 'calendar.calendar.event.changed_v4'; body: CalendarEventChanged }
  | { type: 'vc.meeting.meeting_started_v1'; body: MeetingStarted }
  | { type: 'vc.meeting.meeting_ended_v1'; body: MeetingEnded }
  | { type: 'card.action.trigger'; body: CardAction }
  | { type: 'aviary.message.merged_v1'; body: MergedMessages }
  | { type: 'url.preview.get'; body: UrlPreview }
  | { type: 'other'; eventType: string; body: Record<string, any> };

/** The event type of a merged turn. */
export const MERGED_EVENT_TYPE: 'aviary.message.merged_v1';
/**
 * aviary.message.merged_v1 (runtime model): one turn, the im.message.receive_v1 messages of one
 * chat that arrived within the handler's merge window (`merge` in the manifest), in order. The
 * event's dedupeId is the first message's; the outcome applies to every message of the turn.
 */
export class MergedMessages {
  chat_id: string; count: number;
  events: {
    schema: string;
    header: { event_id: string; event_type: string; create_time: string; token: string; app_id: string; tenant_key: string };
    event: MessageReceive;
  }[];
  messages(): MessageReceive[];
  messageIds(): string[];
  sender(): Required<Sender> | undefined;
  /** Each message's textWithoutMentions(), the non-empty ones joined with '\n'. */
  text(): string;
  /** Each message's textWithNames(), joined like text(). */
  textWithNames(): string;
  mentionsBot(botOpenId: string): boolean;
}

/** A card message whose text grows as the handler produces it (paced by the host). */
export class CardStream {
  readonly cardId: string;
  readonly messageId: string;
  readonly text: string;
  static reply(messageId: string): CardStream;
  static send(receiveIdType: string, receiveId: string): CardStream;
  push(chunk: string): void;
  set(text: string): void;
  finish(): string;
}
export const STREAM_ELEMENT: 'aviary_stream';
export function streamingCard(): Record<string, unknown>;

/** @internal used by the generated entry. */
// ---- the Feishu OpenAPI (feishu-request, feishu-upload) ----

/** A refused or failed OpenAPI call; `message` says which call and why. */
export class FeishuError extends Error {}

/** The OpenAPI as the app (granted per handler by the manifest key `openapi`). Each throws a FeishuError on failure. */
export const feishu: {
  request(method: string, path: string, body?: string): string;
  requestJson(method: string, path: string, body?: unknown): any;
  reply(messageId: string, msgType: string, content: unknown): string;
  replyText(messageId: string, text: string): string;
  send(receiveIdType: 'open_id' | 'union_id' | 'user_id' | 'email' | 'chat_id', receiveId: string, msgType: string, content: unknown): string;
  sendText(receiveIdType: 'open_id' | 'union_id' | 'user_id' | 'email' | 'chat_id', receiveId: string, text: string): string;
  upload(path: string, form: Record<string, string>, fileField: string, fileName: string, bytes: Uint8Array | number[]): string;
  uploadImage(bytes: Uint8Array | number[], imageType?: 'message' | 'avatar'): string;
  uploadFile(bytes: Uint8Array | number[], fileType: string, fileName: string): string;
  /** Deferred card update with the callback's token. */
  updateCard(token: string, card: unknown): void;
};

export function __aviaryRun(handle: Handler, event: unknown): Outcome;

// ---- outbound HTTP (http.js) ----------------------------------------------------------------

/** Header names and values; names are compared in lowercase (the Fetch API's `Headers`). */
export class Headers implements Iterable<[string, string]> {
  constructor(init?: Record<string, string> | [string, string][] | Headers);
  append(name: string, value: string): void;
  set(name: string, value: string): void;
  delete(name: string): void;
  /** The values of `name` joined by `, `, or null. */
  get(name: string): string | null;
  has(name: string): boolean;
  forEach(fn: (value: string, name: string, headers: Headers) => void): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

/** An answer: the Fetch API's `Response`, but its body methods are synchronous. */
export class Response {
  readonly status: number;
  /** Whether the status is 2xx. */
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: Headers;
  /** The URL asked for (redirects are followed by the host). */
  readonly url: string;
  bytes(): Uint8Array;
  arrayBuffer(): ArrayBuffer;
  text(): string;
  json(): any;
}

export interface RequestInit {
  /** GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS. */
  method?: string;
  headers?: Record<string, string> | [string, string][] | Headers;
  body?: string | Uint8Array | ArrayBuffer | null;
}

/**
 * Sends a request through the host (only to the hosts `allowed_outbound_hosts` lists) and
 * returns the Response **synchronously**: handlers are synchronous, so write `fetch(url)`, not
 * `await fetch(url)`. Throws a TypeError with the host's reason when there is no answer
 * (denied, timed out, too large, connection failed).
 */
export function fetch(input: string | { url: string }, init?: RequestInit): Response;

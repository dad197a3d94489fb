// Types of aviary-js, the JavaScript SDK for Aviary handlers (world aviary:handler@0.1.0).
// Models describe Feishu's JSON as received: every field may be missing, so all are optional.

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

export function messageText(message: MessageReceive | Message): string | undefined;
export function textWithoutMentions(message: MessageReceive | Message): string | undefined;
export function fromApp(receive: MessageReceive): boolean;
export function cardValue(action: CardAction, key: string): string | undefined;

// ---- models -------------------------------------------------------------------------------

export interface UserId { open_id?: string; union_id?: string; user_id?: string }

export interface Sender { sender_id?: UserId; sender_type?: string; tenant_key?: string }
export interface Mention { key?: string; id?: UserId; name?: string; tenant_key?: string }
export interface Message {
  message_id?: string; root_id?: string; parent_id?: string; create_time?: string; update_time?: string;
  chat_id?: string; thread_id?: string; chat_type?: 'p2p' | 'group' | string;
  message_type?: string;
  /** The content as a JSON string, e.g. '{"text":"hello"}': see messageText(). */
  content?: string; mentions?: Mention[]; user_agent?: string;
}
export interface MessageReceive { sender?: Sender; message?: Message }
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

export interface CardAction {
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
}

/** `event.typed()`: switch on `type` to narrow `body`. */
export type TypedEvent =
  | { type: 'im.message.receive_v1'; body: MessageReceive }
  | { type: 'im.message.message_read_v1'; body: MessageRead }
  | { type: 'im.chat.member.user_added_v1'; body: ChatMemberUserAdded }
  | { type: 'im.chat.member.user_deleted_v1'; body: ChatMemberUserDeleted }
  | { type: 'im.chat.updated_v1'; body: ChatUpdated }
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
  | { type: 'other'; eventType: string; body: Record<string, any> };

/** @internal used by the generated entry. */
export function __aviaryRun(handle: Handler, event: unknown): Outcome;

// Runtime models of the typed Feishu event bodies (the same list and fields as the Rust,
// Go and Python SDKs), built by the lenient loader of model.js. `event.typed().body` is one of
// these; `Message`, `MessageReceive` and `CardAction` carry the helper methods.

import { AT_ALL, parseContent } from './content.js';
import { any, bool, int, list, model, optBool, optInt, str, strMap } from './model.js';

const userId = model({ union_id: str, user_id: str, open_id: str });

/** A received message; `content` is a JSON string whose shape depends on `message_type`. */
export class Message {
  /** The content as the model for its message_type (see content.js). Throws on bad JSON. */
  parseContent() {
    return parseContent(this.message_type, this.content);
  }

  /** The text of a `text` message (placeholders included), else undefined. */
  text() {
    if (this.message_type !== 'text') return undefined;
    try {
      return this.parseContent().text;
    } catch {
      return undefined;
    }
  }

  /** The content of any message type as text, placeholders kept; undefined for bad JSON. */
  plainText() {
    try {
      return this.parseContent().plainText();
    } catch {
      return undefined;
    }
  }

  /** plainText() with each @_user_N replaced by @name and @_all by @all. */
  textWithNames() {
    let text = this.plainText();
    if (text === undefined) return undefined;
    for (const m of this.mentionsLongestFirst()) text = text.split(m.key).join(m.name ? `@${m.name}` : '');
    return text.split(AT_ALL).join('@all');
  }

  /** plainText() without the placeholders (and @_all), spaces collapsed per line, trimmed. */
  textWithoutMentions() {
    let text = this.plainText();
    if (text === undefined) return undefined;
    for (const m of this.mentionsLongestFirst()) text = text.split(m.key).join('');
    const lines = text.split(AT_ALL).join('').split('\n');
    return lines.map((l) => l.split(/\s+/).filter(Boolean).join(' ')).join('\n').trim();
  }

  /** Whether the bot with this open_id (config, or im.chat.member.bot.added_v1) is @-mentioned. */
  mentionsBot(botOpenId) {
    return Boolean(botOpenId) && this.mentions.some((m) => m.id.open_id === botOpenId);
  }

  /** Whether the message @-mentions everyone. */
  mentionsAll() {
    return this.mentions.some((m) => m.key === AT_ALL) || (this.plainText() ?? '').includes(AT_ALL);
  }

  /** Mentions with a key, longest first (so @_user_1 never eats the start of @_user_10). */
  mentionsLongestFirst() {
    return this.mentions
      .filter((m) => m.key)
      .map((m, i) => [m, i])
      .sort((a, b) => b[0].key.length - a[0].key.length || a[1] - b[1])
      .map(([m]) => m);
  }
}

export const messageModel = model(
  {
    message_id: str, root_id: str, parent_id: str, create_time: str, update_time: str, chat_id: str,
    thread_id: str, chat_type: str, message_type: str, content: str,
    mentions: list(model({ key: str, id: userId, name: str, tenant_key: str })), user_agent: str,
  },
  Message,
);

/** im.message.receive_v1 */
export class MessageReceive {
  text() {
    return this.message.text();
  }
  parseContent() {
    return this.message.parseContent();
  }
  mentionsBot(botOpenId) {
    return this.message.mentionsBot(botOpenId);
  }
  /** Whether another app (bot) sent it: most bots ignore those. */
  fromApp() {
    return this.sender.sender_type === 'app';
  }
}

export const messageReceiveModel = model(
  { sender: model({ sender_id: userId, sender_type: str, tenant_key: str }), message: messageModel },
  MessageReceive,
);

/** card.action.trigger */
export class CardAction {
  /** `action.value[key]` when it is a string. */
  valueStr(key) {
    const v = this.action.value?.[key];
    return typeof v === 'string' ? v : undefined;
  }

  /** `action.form_value[name]` (a form submission) when it is a string. */
  formValueStr(name) {
    const v = this.action.form_value?.[name];
    return typeof v === 'string' ? v : undefined;
  }

  /** The chat of the card's message (`context.open_chat_id`). */
  openChatId() {
    return this.context.open_chat_id;
  }

  /** The card's message (`context.open_message_id`), for updating it. */
  openMessageId() {
    return this.context.open_message_id;
  }
}

const cardAction = model(
  {
    operator: model({ tenant_key: str, user_id: str, open_id: str, union_id: str }),
    token: str,
    action: model({
      value: any, tag: str, option: str, options: list(str), timezone: str, name: str,
      form_value: any, input_value: str, checked: optBool,
    }),
    host: str,
    delivery_type: str,
    context: model({ url: str, preview_token: str, open_message_id: str, open_chat_id: str }),
  },
  CardAction,
);

/** url.preview.get */
export class UrlPreview {
  /** The link to preview (`context.url`). */
  url() {
    return this.context.url;
  }

  /** The preview's token (`context.preview_token`). */
  previewToken() {
    return this.context.preview_token;
  }
}

const urlPreview = model(
  {
    operator: model({ tenant_key: str, user_id: str, open_id: str, union_id: str }),
    host: str,
    context: model({ url: str, preview_token: str, open_message_id: str, open_chat_id: str }),
  },
  UrlPreview,
);

const chatMembers = model({
  chat_id: str, operator_id: userId, external: bool, operator_tenant_key: str,
  users: list(model({ name: str, tenant_key: str, user_id: userId })), name: str, i18n_names: strMap,
});
const chatChange = model({
  avatar: str, name: str, description: str, i18n_names: strMap, add_member_permission: str,
  share_card_permission: str, at_all_permission: str, edit_permission: str, membership_approval: str,
  join_message_visibility: str, leave_message_visibility: str, moderation_permission: str,
  owner_id: userId, restricted_mode_setting: any,
});
const moderator = model({ tenant_key: str, user_id: userId });
const user = model({
  open_id: str, union_id: str, user_id: str, name: str, en_name: str, nickname: str, email: str,
  enterprise_email: str, job_title: str, mobile: str, gender: optInt,
  avatar: model({ avatar_72: str, avatar_240: str, avatar_640: str, avatar_origin: str }),
  status: model({ is_frozen: bool, is_resigned: bool, is_activated: bool, is_exited: bool, is_unjoin: bool }),
  department_ids: list(str), leader_user_id: str, city: str, country: str, work_station: str,
  join_time: optInt, is_tenant_manager: bool, employee_no: str, employee_type: optInt,
  custom_attrs: list(any), job_level_id: str, job_family_id: str,
});
const department = model({
  name: str, i18n_name: strMap, parent_department_id: str, department_id: str, open_department_id: str,
  leader_user_id: str, chat_id: str, order: str, unit_ids: list(str), status: model({ is_deleted: bool }),
  leaders: list(model({ leaderType: optInt, leaderID: str })),
});
const approval = model({
  app_id: str, tenant_key: str, approval_code: str, instance_code: str, status: str, operate_time: str,
  user_id: str, open_id: str, uuid: str,
});
const meetingUser = model({ id: userId, user_role: optInt, user_type: optInt });
const meetingChange = model({
  meeting: model({
    id: str, topic: str, meeting_no: str, meeting_source: optInt, start_time: str, end_time: str,
    host_user: meetingUser, owner: meetingUser, calendar_event_id: str,
  }),
  operator: meetingUser,
});

const chatEvent = model({
  chat_id: str, operator_id: userId, external: bool, operator_tenant_key: str, name: str, i18n_names: strMap,
});
const reaction = model({
  message_id: str, reaction_type: model({ emoji_type: str }), operator_type: str, user_id: userId,
  app_id: str, action_time: str,
});

/** event type -> model (its `load(body)` builds the typed body). */
export const EVENT_MODELS = Object.freeze({
  'im.message.receive_v1': messageReceiveModel,
  'im.message.message_read_v1': model({
    reader: model({ reader_id: userId, read_time: str, tenant_key: str }),
    message_id_list: list(str),
  }),
  'im.chat.member.user_added_v1': chatMembers,
  'im.chat.member.user_deleted_v1': chatMembers,
  'im.chat.updated_v1': model({
    chat_id: str, operator_id: userId, external: bool, operator_tenant_key: str,
    after_change: chatChange, before_change: chatChange,
    moderator_list: model({ added_member_list: list(moderator), removed_member_list: list(moderator) }),
  }),
  'im.chat.member.bot.added_v1': chatEvent,
  'im.chat.member.bot.deleted_v1': chatEvent,
  'im.message.reaction.created_v1': reaction,
  'im.message.reaction.deleted_v1': reaction,
  'im.message.recalled_v1': model({ message_id: str, chat_id: str, recall_time: str, recall_type: str }),
  'im.chat.disbanded_v1': chatEvent,
  'im.chat.access_event.bot_p2p_chat_entered_v1': model({
    chat_id: str, operator_id: userId, last_message_id: str, last_message_create_time: str,
  }),
  'application.bot.menu_v6': model({
    operator: model({ operator_name: str, operator_id: userId }), event_key: str, timestamp: int,
  }),
  'contact.user.created_v3': model({ object: user }),
  'contact.user.updated_v3': model({ object: user, old_object: user }),
  'contact.user.deleted_v3': model({ object: user, old_object: user }),
  'contact.department.created_v3': model({ object: department }),
  'contact.department.updated_v3': model({ object: department, old_object: department }),
  'contact.department.deleted_v3': model({ object: department, old_object: department }),
  'approval.approval.approved_v1': approval,
  'approval.approval.rejected_v1': approval,
  'calendar.calendar.event.changed_v4': model({
    calendar_id: str, user_id_list: list(userId), calendar_event_id: str, change_type: str, rsvp_infos: list(any),
  }),
  'vc.meeting.meeting_started_v1': meetingChange,
  'vc.meeting.meeting_ended_v1': meetingChange,
  'card.action.trigger': cardAction,
  'url.preview.get': urlPreview,
});

/** A Message model from a raw or typed `im.message.receive_v1` body or message. */
export function toMessage(m) {
  if (m instanceof Message) return m;
  if (m instanceof MessageReceive) return m.message;
  return messageModel.load(m?.message ?? m);
}

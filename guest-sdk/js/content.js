// Typed message content: the `content` JSON string of `im.message.receive_v1`, one model per
// `message_type`, and its plain-text rendering, the same in every Aviary SDK (checked against
// examples/events/messages/expected.json): `text` as is; `post`, `todo` and `interactive` as
// their title and one line per paragraph; other types as a tag such as `[image]` or
// `[file: report.pdf]`; unknown types as ''. `@_user_N` placeholders are kept.

import { any, int, list, model, str } from './model.js';

/** The placeholder Feishu puts in the text for an @all. */
export const AT_ALL = '@_all';

/** One element of a rich-text paragraph; fields depend on `tag`. */
export class PostElement {
  /** `at` as its placeholder (or @name), `img` [image], `media` [video], `emotion` [SMILE], `hr` ---. */
  plainText() {
    switch (this.tag) {
      case 'a':
        return this.text || this.href;
      case 'at':
        if (this.user_id === 'all') return AT_ALL;
        if (this.user_id.startsWith('@_')) return this.user_id;
        return `@${this.user_name || this.user_id}`;
      case 'img':
        return '[image]';
      case 'media':
        return '[video]';
      case 'emotion':
        return `[${this.emoji_type}]`;
      case 'hr':
        return '---';
      default:
        return this.text;
    }
  }
}

const element = model(
  {
    tag: str, text: str, href: str, user_id: str, user_name: str, image_key: str, file_key: str,
    emoji_type: str, language: str, style: list(str), width: int, height: int,
  },
  PostElement,
);
const paragraphs = list(list(element));
const post = model({ title: str, content: paragraphs });

function paragraphsText(title, ps) {
  const lines = title ? [title] : [];
  for (const p of ps) lines.push(p.map((e) => e.plainText()).join(''));
  return lines.join('\n');
}

/** Field types and rendering per message_type. */
const KINDS = {
  text: [{ text: str }, (c) => c.text],
  post: [{ title: str, content: paragraphs }, (c) => paragraphsText(c.title, c.content)],
  image: [{ image_key: str }, () => '[image]'],
  file: [{ file_key: str, file_name: str }, (c) => `[file: ${c.file_name}]`],
  audio: [{ file_key: str, duration: int }, () => '[audio]'],
  media: [{ file_key: str, image_key: str, file_name: str, duration: int }, (c) => `[video: ${c.file_name}]`],
  sticker: [{ file_key: str }, () => '[sticker]'],
  interactive: [{ title: str, elements: paragraphs }, (c) => paragraphsText(c.title, c.elements)],
  share_chat: [{ chat_id: str }, (c) => `[chat: ${c.chat_id}]`],
  share_user: [{ user_id: str }, (c) => `[user: ${c.user_id}]`],
  merge_forward: [{ content: str }, () => '[merged messages]'],
  location: [{ name: str, longitude: str, latitude: str }, (c) => `[location: ${c.name}]`],
  todo: [{ task_id: str, summary: post, due_time: str }, (c) => paragraphsText(c.summary.title, c.summary.content)],
  system: [
    {
      template: str, from_user: list(str), to_chatters: list(str),
      divider_text: model({ text: str, i18n_text: any }),
    },
    (c) =>
      c.template
        ? c.template.split('{from_user}').join(c.from_user.join(', ')).split('{to_chatters}').join(c.to_chatters.join(', '))
        : c.divider_text.text,
  ],
  unknown: [{ message_type: str, raw: any }, () => ''],
};

/** The message types with a content model. */
export const MESSAGE_TYPES = Object.freeze(Object.keys(KINDS).filter((k) => k !== 'unknown'));

/**
 * A message's content: the fields of its type (Feishu's JSON names) plus `kind` (the
 * message_type, or 'unknown' with `message_type` and `raw`) and `plainText()`.
 */
export class MessageContent {
  get kind() {
    return this._kind;
  }

  /** The content as text (see the module comment), mention placeholders kept. */
  plainText() {
    return KINDS[this._kind][1](this);
  }
}

const loaders = Object.fromEntries(
  Object.entries(KINDS).map(([k, [fields]]) => [
    k,
    model(fields, class extends MessageContent {
      constructor() {
        super();
        Object.defineProperty(this, '_kind', { value: k });
      }
    }),
  ]),
);

/** A post sent with locales ({zh_cn: {...}}) becomes its first locale (zh_cn, en_us, ja_jp, then the first in key order). */
function unwrapLocale(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v) || 'content' in v || 'title' in v) return v;
  for (const k of ['zh_cn', 'en_us', 'ja_jp', ...Object.keys(v).sort()]) {
    const inner = v[k];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) return inner;
  }
  return v;
}

/** `content` (a JSON string) as the model for `messageType`. Throws a SyntaxError for bad JSON. */
export function parseContent(messageType, content) {
  const v = JSON.parse(content);
  if (!Object.prototype.hasOwnProperty.call(KINDS, messageType) || messageType === 'unknown') {
    return loaders.unknown.load({ message_type: messageType, raw: v });
  }
  return loaders[messageType].load(messageType === 'post' ? unwrapLocale(v) : v);
}

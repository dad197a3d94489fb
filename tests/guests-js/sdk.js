// The OpenAPI script of tests/tests/sdk_openapi.rs in JavaScript: the text of a message names
// what to do (reply, send, post, upload, raw, denied); every language's guest does the same.
import { done, feishu, messageText, reject, retry } from 'aviary-js';

const LANG = 'js';

function imageBytes() {
  const b = new Uint8Array(600);
  for (let i = 0; i < b.length; i++) b[i] = i % 251;
  return b;
}

function attempt(f) {
  try {
    f();
    return done();
  } catch (e) {
    return retry(String(e.message ?? e));
  }
}

export function handle(event) {
  const t = event.typed();
  if (t.type !== 'im.message.receive_v1') return done();
  const id = t.body.message.message_id;
  const chat = t.body.message.chat_id;
  switch (messageText(t.body)) {
    case 'reply':
      return attempt(() => feishu.replyText(id, `${LANG} reply`));
    case 'send':
      return attempt(() => feishu.sendText('chat_id', chat, `${LANG} send`));
    case 'post':
      return attempt(() =>
        feishu.reply(id, 'post', { zh_cn: { title: LANG, content: [[{ tag: 'text', text: 'post' }]] } }),
      );
    case 'upload':
      return attempt(() => {
        const image = feishu.uploadImage(imageBytes(), 'message');
        const file = feishu.uploadFile(new TextEncoderLite().encode(`${LANG} file`), 'stream', 'notes.txt');
        feishu.reply(id, 'image', { image_key: image });
        feishu.reply(id, 'file', { file_key: file });
      });
    case 'raw':
      return attempt(() =>
        feishu.requestJson('POST', `/open-apis/im/v1/messages/${id}/reply`, {
          msg_type: 'text',
          content: JSON.stringify({ text: `${LANG} raw` }),
        }),
      );
    case 'denied':
      try {
        feishu.request('GET', '/open-apis/contact/v3/users/ou_1');
        return reject('the call was not denied');
      } catch (e) {
        return attempt(() => feishu.replyText(id, `${LANG} error: ${e.message}`));
      }
    default:
      return done();
  }
}

// QuickJS has no TextEncoder; the text is ASCII.
class TextEncoderLite {
  encode(s) {
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }
}

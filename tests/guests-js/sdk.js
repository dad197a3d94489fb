// The OpenAPI script of tests/tests/sdk_openapi.rs in JavaScript: the text of a message names
// what to do (reply, send, post, upload, raw, denied); every language's guest does the same.
import { CardStream, cardOutcome, done, feishu, messageText, rawCard, reject, retry, toastInfo, urlPreview } from 'aviary-js';

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
  if (t.type === 'url.preview.get') return urlPreview(`${LANG}: ${t.body.url()}`);
  if (t.type === 'card.action.trigger') return cardAction(t.body);
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
    case 'stream':
      return attempt(() => {
        const answer = CardStream.reply(id);
        for (let i = 0; i < CHUNKS; i++) {
          answer.push(`chunk ${String(i).padStart(3, '0')} `);
          const end = Date.now() + CHUNK_MS;
          while (Date.now() < end) {}
        }
        answer.finish();
      });
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

// The stream: this many chunks, one every CHUNK_MS.
const CHUNKS = 200;
const CHUNK_MS = 5;

// How long `slow` works: past the runtime's 2.5 s callback deadline and Feishu's 3 s.
const SLOW_MS = 3200;

function card(text) {
  return { schema: '2.0', body: { elements: [{ tag: 'markdown', content: text }] } };
}

// The callback script: toast, update (the card in the answer), slow (past the callback
// deadline, then a deferred update with the callback's token).
function cardAction(a) {
  switch (a.valueStr('choice')) {
    case 'toast':
      return toastInfo(`${LANG} toast`);
    case 'update':
      return cardOutcome(rawCard(card(`${LANG} updated`)), { type: 'success', content: `${LANG} saved` });
    case 'slow': {
      // No timers in a synchronous handler: wait on the clock.
      const end = Date.now() + SLOW_MS;
      while (Date.now() < end) {}
      return attempt(() => feishu.updateCard(a.token, card(`${LANG} done later`)));
    }
    default:
      return done();
  }
}

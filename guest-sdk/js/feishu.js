// The Feishu/Lark OpenAPI as the app, through the host's `feishu-request` and
// `feishu-upload` imports. The handler must be granted the paths in the manifest
// (`openapi = ["/open-apis/im/v1/messages"]`); the host adds the token, paces sends under
// Feishu's rate limits, and gives send and reply an idempotency `uuid` derived from the app,
// the handler, the event and the index of the call in the run, so a re-run of the same event
// sends nothing twice (keep the calls of a run in a deterministic order).
import { callHost, hostFunctions } from './host.js';

/** A refused or failed OpenAPI call: `message` names the call and why (a denial, Feishu's code, `rate limited`, a timeout, …). */
export class FeishuError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FeishuError';
  }
}

const host = () => hostFunctions('feishuRequest');

const call = (fn) => callHost(FeishuError, fn);

const RECEIVE_ID_TYPES = ['open_id', 'union_id', 'user_id', 'email', 'chat_id'];

function checkId(what, id) {
  if (typeof id !== 'string' || id === '') throw new FeishuError(`the ${what} is empty`);
  const bad = id.match(/[^A-Za-z0-9_-]/);
  if (bad) {
    throw new FeishuError(`the ${what} ${JSON.stringify(id)} holds ${JSON.stringify(bad[0])}: only letters, digits, '_' and '-' are taken`);
  }
}

function contentString(content) {
  return typeof content === 'string' ? content : JSON.stringify(content);
}

function dataString(answer, key) {
  const v = answer?.data?.[key];
  if (typeof v === 'string' && v !== '') return v;
  throw new FeishuError(`the answer has no data.${key}: ${JSON.stringify(answer)}`);
}

function parse(method, path, text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FeishuError(`${method} ${path}: the answer is not JSON: ${e.message}`);
  }
}

/** The OpenAPI calls. Each throws a `FeishuError` when the call is refused or fails. */
export const feishu = Object.freeze({
  /** `method path` (query included; starts with /open-apis/) with `body` (JSON text, '' for none): the answer's body (JSON text) of a 2xx answer with code 0. */
  request(method, path, body = '') {
    return call(() => host().feishuRequest(String(method), String(path), String(body)));
  },

  /** `request` with a JSON body (an object, or undefined for none), answering the parsed JSON. */
  requestJson(method, path, body) {
    const text = body === undefined ? '' : JSON.stringify(body);
    return parse(method, path, feishu.request(method, path, text));
  },

  /** Replies to `messageId` with `msgType` and `content` (the content object, e.g. {text: 'hi'}); returns the new message's id. */
  reply(messageId, msgType, content) {
    checkId('message id', messageId);
    const path = `/open-apis/im/v1/messages/${messageId}/reply`;
    return dataString(feishu.requestJson('POST', path, { msg_type: msgType, content: contentString(content) }), 'message_id');
  },

  /** Replies to `messageId` with plain text; returns the new message's id. */
  replyText(messageId, text) {
    return feishu.reply(messageId, 'text', { text: String(text) });
  },

  /** Sends to `receiveId` of type `receiveIdType` (open_id, union_id, user_id, email, chat_id); returns the new message's id. */
  send(receiveIdType, receiveId, msgType, content) {
    if (!RECEIVE_ID_TYPES.includes(receiveIdType)) {
      throw new FeishuError(`receive_id_type ${JSON.stringify(receiveIdType)} is not one of ${RECEIVE_ID_TYPES.join(', ')}`);
    }
    const path = `/open-apis/im/v1/messages?receive_id_type=${receiveIdType}`;
    const body = { receive_id: String(receiveId), msg_type: msgType, content: contentString(content) };
    return dataString(feishu.requestJson('POST', path, body), 'message_id');
  },

  /** Sends plain text (see `send`); returns the new message's id. */
  sendText(receiveIdType, receiveId, text) {
    return feishu.send(receiveIdType, receiveId, 'text', { text: String(text) });
  },

  /** Updates a card after its callback was answered (deferred update, POST /open-apis/interactive/v1/card/update): `token` is the callback's (valid 30 minutes, two updates), `card` the whole new card JSON. */
  updateCard(token, card) {
    if (typeof token !== 'string' || token === '') throw new FeishuError('the callback token is empty');
    feishu.requestJson('POST', '/open-apis/interactive/v1/card/update', { token, card });
  },

  /** A multipart POST to `path`: the text fields of `form` and one file part `fileField` holding `bytes` (Uint8Array) as `fileName`; the answer's body (JSON text). At most 30 MiB. */
  upload(path, form, fileField, fileName, bytes) {
    const fields = JSON.stringify(form ?? {});
    const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    return call(() => host().feishuUpload(String(path), fields, String(fileField), String(fileName), data));
  },

  /** Uploads an image (at most 10 MB) for messages ('message') or avatars ('avatar'); returns its image_key. Granted by `POST /open-apis/im/v1/images`. */
  uploadImage(bytes, imageType = 'message') {
    const path = '/open-apis/im/v1/images';
    return dataString(parse('POST', path, feishu.upload(path, { image_type: imageType }, 'image', 'image', bytes)), 'image_key');
  },

  /** Uploads a file (at most 30 MB) of `fileType` (opus, mp4, pdf, doc, xls, ppt, stream) named `fileName`; returns its file_key. Granted by `POST /open-apis/im/v1/files`. */
  uploadFile(bytes, fileType, fileName) {
    const path = '/open-apis/im/v1/files';
    const form = { file_type: fileType, file_name: fileName };
    return dataString(parse('POST', path, feishu.upload(path, form, 'file', fileName, bytes)), 'file_key');
  },
});

// Streamed answers: a card message whose text grows as the handler produces it, through the
// host imports `card-stream-set` and `card-stream-flush`. `CardStream.reply(messageId)`
// creates a CardKit card in streaming mode and replies with it; `push(chunk)` appends text and
// returns at once: the host sends the whole text so far, paced within Feishu's 10 updates per
// second per card, coalescing what arrives in between; `finish()` waits until the final text
// has landed and turns streaming mode off. Grants:
// openapi = ["POST /open-apis/im/v1/messages", "/open-apis/cardkit/v1/cards"].
import { feishu, FeishuError } from './feishu.js';
import { callHost, hostFunctions } from './host.js';

/** The element_id of a stream's text. */
export const STREAM_ELEMENT = 'aviary_stream';

const host = () => hostFunctions('cardStreamSet');

const hostCall = (fn) => callHost(FeishuError, fn);

/** The card JSON 2.0 a stream starts with: streaming mode on, one empty markdown element. */
export function streamingCard() {
  return {
    schema: '2.0',
    config: { streaming_mode: true, summary: { content: '' } },
    body: { elements: [{ tag: 'markdown', content: '', element_id: STREAM_ELEMENT }] },
  };
}

function createCard() {
  const answer = feishu.requestJson('POST', '/open-apis/cardkit/v1/cards', {
    type: 'card_json',
    data: JSON.stringify(streamingCard()),
  });
  const id = answer?.data?.card_id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new FeishuError(`the answer has no usable data.card_id: ${JSON.stringify(answer)}`);
  }
  return id;
}

const content = (cardId) => ({ type: 'card', data: { card_id: cardId } });

/** A streamed card message. */
export class CardStream {
  constructor(cardId, messageId) {
    this.cardId = cardId;
    this.messageId = messageId;
    this.text = '';
  }

  /** Creates the card and replies with it to `messageId`. */
  static reply(messageId) {
    const id = createCard();
    return new CardStream(id, feishu.reply(messageId, 'interactive', content(id)));
  }

  /** Creates the card and sends it to `receiveId`. */
  static send(receiveIdType, receiveId) {
    const id = createCard();
    return new CardStream(id, feishu.send(receiveIdType, receiveId, 'interactive', content(id)));
  }

  /** Appends `chunk`; returns at once (the host sends it, paced). */
  push(chunk) {
    this.text += String(chunk);
    hostCall(() => host().cardStreamSet(this.cardId, STREAM_ELEMENT, this.text));
  }

  /** Replaces the whole text. */
  set(text) {
    this.text = String(text);
    hostCall(() => host().cardStreamSet(this.cardId, STREAM_ELEMENT, this.text));
  }

  /** Waits until the final text has landed, then turns streaming mode off; returns the text. */
  finish() {
    hostCall(() => host().cardStreamSet(this.cardId, STREAM_ELEMENT, this.text));
    const sequence = hostCall(() => host().cardStreamFlush(this.cardId));
    feishu.requestJson('PATCH', `/open-apis/cardkit/v1/cards/${this.cardId}/settings`, {
      settings: JSON.stringify({ config: { streaming_mode: false } }),
      sequence: sequence + 1,
    });
    return this.text;
  }
}

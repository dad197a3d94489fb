// aviary.message.merged_v1: one turn of messages the runtime merged (burst merge per chat, the
// handler's `merge = { window_ms, max_events }` in the manifest). The same model and helpers
// as the Rust, Go and Python SDKs.

import { messageReceiveModel } from './models.js';
import { list, int, model, str } from './model.js';

/** The event type of a merged turn. */
export const MERGED_EVENT_TYPE = 'aviary.message.merged_v1';

/**
 * One turn: the im.message.receive_v1 messages of one chat that arrived within the handler's
 * merge window, in order. The event's dedupeId is the first message's; the handler's outcome
 * applies to every message of the turn.
 */
export class MergedMessages {
  /** The messages (MessageReceive models), in order. */
  messages() {
    return this.events.map((e) => e.event);
  }

  /** Their message ids, in order. */
  messageIds() {
    return this.messages().map((m) => m.message.message_id);
  }

  /** The first message's sender (undefined for an empty turn). */
  sender() {
    return this.messages()[0]?.sender;
  }

  /** Each message's textWithoutMentions() (any type), the non-empty ones joined with '\n'. */
  text() {
    return this.join((m) => m.textWithoutMentions());
  }

  /** Each message's textWithNames(), joined like text(). */
  textWithNames() {
    return this.join((m) => m.textWithNames());
  }

  /** Whether some message @-mentions the bot with this open_id. */
  mentionsBot(botOpenId) {
    return this.messages().some((m) => m.mentionsBot(botOpenId));
  }

  join(text) {
    return this.messages()
      .map((m) => text(m.message) ?? '')
      .filter((t) => t !== '')
      .join('\n');
  }
}

const header = model({
  event_id: str, event_type: str, create_time: str, token: str, app_id: str, tenant_key: str,
});

export const mergedModel = model(
  {
    chat_id: str,
    count: int,
    events: list(model({ schema: str, header, event: messageReceiveModel })),
  },
  MergedMessages,
);

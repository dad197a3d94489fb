// Example Aviary handler in JavaScript (guest-sdk/js): answers card callbacks
// (`card.action.trigger`) with a toast that depends on the clicked button's `value.choice`,
// logs text messages and, when `reply` is set in [handler.config], replies "<reply>: <text>"
// through the Feishu OpenAPI (the manifest grants openapi = ["POST /open-apis/im/v1/messages"];
// the host's uuid makes a re-run reply once), and returns `done` for everything else.
//
// Build: node ../../guest-sdk/js/bin/aviary-js.js build handler.js -o js_card.wasm
import {
  cardValue,
  config,
  done,
  feishu,
  fromApp,
  log,
  messageText,
  retry,
  textWithoutMentions,
  toastError,
  toastInfo,
  toastSuccess,
  toastWarning,
} from 'aviary-js';

/** @param {import('aviary-js').Event} event */
export function handle(event) {
  const t = event.typed();
  switch (t.type) {
    case 'card.action.trigger': {
      const choice = cardValue(t.body, 'choice');
      switch (choice) {
        case 'approve':
          return toastSuccess(config.getOr('approve_toast', 'Approved, thank you'));
        case 'reject':
          return toastWarning('Rejected');
        case undefined:
          log.warn(`card action from ${t.body.operator?.open_id} without value.choice`);
          return toastError('Unknown action');
        default:
          return toastInfo(`You chose ${choice}`);
      }
    }
    case 'im.message.receive_v1': {
      const text = messageText(t.body);
      log.info(`message in ${t.body.message?.chat_id}: ${text ?? `(${t.body.message?.message_type})`}`);
      const reply = config.get('reply');
      if (reply === undefined || fromApp(t.body)) return done();
      try {
        const id = feishu.replyText(t.body.message.message_id, `${reply}: ${textWithoutMentions(t.body)}`);
        log.info(`replied with ${id}`);
        return done();
      } catch (e) {
        // A retry sends the same uuid: the user still gets one reply.
        return retry(`reply failed: ${e.message}`);
      }
    }
    default:
      return done();
  }
}

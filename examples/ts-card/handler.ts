// The JavaScript example (examples/js-card) in TypeScript: answers card callbacks
// (`card.action.trigger`) with a toast chosen by the clicked button's `value.choice`, logs text
// messages, and returns `done` for everything else. The types come from aviary-js's
// index.d.ts; `npm run typecheck` in guest-sdk/js runs `tsc --noEmit` on this file, and
// `aviary-js build handler.ts -o ts_card.wasm` builds it (the bundler strips the types).
import { config, done, log, messageText, toastError, toastInfo, toastSuccess, toastWarning } from 'aviary-js';
import type { Event, Outcome } from 'aviary-js';

export function handle(event: Event): Outcome {
  const t = event.typed();
  switch (t.type) {
    case 'card.action.trigger': {
      const choice: string | undefined = t.body.valueStr('choice');
      switch (choice) {
        case 'approve':
          return toastSuccess(config.getOr('approve_toast', 'Approved, thank you'));
        case 'reject':
          return toastWarning('Rejected');
        case undefined:
          log.warn(`card action from ${t.body.operator?.open_id ?? 'someone'} without value.choice`);
          return toastError('Unknown action');
        default:
          return toastInfo(`You chose ${choice}`);
      }
    }
    case 'im.message.receive_v1': {
      const text = messageText(t.body);
      log.info(`message in ${t.body.message.chat_id}: ${text ?? `(${t.body.message.message_type})`}`);
      return done();
    }
    default:
      return done();
  }
}

// Conformance peer: the official, unmodified Feishu Node SDK (@larksuiteoapi/node-sdk) pointed
// at the Aviary emulator. Used by tests/tests/official_sdks.rs.
//
// Usage: node node_peer.js DOMAIN   (or AVIARY_EMULATOR_DOMAIN); the SDK is found through
// NODE_PATH (the test points it at <peers>/node/node_modules). App id / secret from
// AVIARY_APP_ID / AVIARY_APP_SECRET (defaults match the emulator's; Node requires the app id to
// match ^cli_[0-9a-fA-F]{16}$).
//
// Stdout carries one JSON line per handled event or callback, nothing else: the SDK's logger is
// routed to stderr. Runs until killed (SIGTERM/SIGINT close the client first).
'use strict';

const lark = require('@larksuiteoapi/node-sdk');

const domain = process.argv[2] || process.env.AVIARY_EMULATOR_DOMAIN;
if (!domain) {
  console.error('usage: node node_peer.js DOMAIN');
  process.exit(2);
}
const appId = process.env.AVIARY_APP_ID || 'cli_0123456789abcdef';
const appSecret = process.env.AVIARY_APP_SECRET || 'emulator-secret';

// Benchmarks set AVIARY_PEER_QUIET=1: a trivial handler that prints nothing, SDK logs at error.
const quiet = Boolean(process.env.AVIARY_PEER_QUIET);
const level = quiet ? lark.LoggerLevel.error : lark.LoggerLevel.debug;

function emit(record) {
  if (quiet) return;
  process.stdout.write(JSON.stringify({ peer: 'node', ...record }) + '\n');
}

const toStderr = (level) => (...args) => console.error(`[${level}]`, ...args);
const logger = {
  error: toStderr('error'),
  warn: toStderr('warn'),
  info: toStderr('info'),
  debug: toStderr('debug'),
  trace: toStderr('trace'),
};

const eventDispatcher = new lark.EventDispatcher({ logger, loggerLevel: level }).register({
  'im.message.receive_v1': async (data) => {
    emit({
      event_type: 'im.message.receive_v1',
      event_id: data.event_id,
      message_id: data.message && data.message.message_id,
      text: data.message && data.message.content,
    });
  },
  'card.action.trigger': async (data) => {
    emit({ event_type: 'card.action.trigger', event_id: data.event_id });
    return { toast: { type: 'info', content: 'ok' } };
  },
});

const client = new lark.WSClient({
  appId,
  appSecret,
  domain,
  logger,
  loggerLevel: level,
});
client.start({ eventDispatcher });

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    try {
      client.close({ force: true });
    } finally {
      process.exit(0);
    }
  });
}

// `aviary-js build`: bundles a handler with the SDK (rolldown), turns the bundle into a
// component of world aviary:handler@0.1.0 with the chosen engine, and marks the component with
// an `aviary:guest` custom section naming language and engine (the runtime picks its default
// instance-reuse policy from it).

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SDK_ENTRY = resolve(here, '..', 'index.js');
const PKG = JSON.parse(readFileSync(resolve(here, '..', 'package.json'), 'utf8'));

/** The engines, fastest to build and smallest first. `quickjs` is the default (see README). */
export const ENGINES = Object.freeze(['quickjs', 'starlingmonkey']);
export const DEFAULT_ENGINE = 'quickjs';

const ENTRY_ID = '\0aviary-entry.js';

/** A build error with a message meant for the user (no stack needed). */
export class BuildError extends Error {}

/**
 * The WIT directory: `--wit`, else $AVIARY_WIT, else the package's own `wit/` (an installed
 * package: `npm pack` copies the repository's in), else the repository's `wit/` next to the SDK.
 */
export function findWit(explicit) {
  const candidates = explicit
    ? [explicit]
    : process.env.AVIARY_WIT
      ? [process.env.AVIARY_WIT]
      : [resolve(here, '..', 'wit'), resolve(here, '..', '..', '..', 'wit')];
  for (const c of candidates) {
    const file = statSafe(c)?.isDirectory() ? join(c, 'handler.wit') : c;
    if (existsSync(file)) return c;
  }
  throw new BuildError(
    `cannot find wit/handler.wit (looked in ${candidates.join(', ')}); pass --wit <dir> or set AVIARY_WIT`,
  );
}

function statSafe(p) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

// The key-value imports (kv.js): [the name in __aviaryHost (QuickJS's global), the WIT import].
const KV_IMPORTS = [
  ['kvGet', 'kv-get'],
  ['kvSet', 'kv-set'],
  ['kvDelete', 'kv-delete'],
  ['kvIncrement', 'kv-increment'],
  ['kvList', 'kv-list'],
];

function entrySource(engine, userPath) {
  const user = JSON.stringify(userPath);
  const hostSetup =
    engine === 'starlingmonkey'
      ? // StarlingMonkey: world-level imports are ES modules named after the import.
        `import log from 'log';\nimport configGet from 'config-get';\n` +
        KV_IMPORTS.map(([fn, wit]) => `import ${fn} from '${wit}';\n`).join('') +
        `globalThis.__aviaryHost = { log, configGet, ${KV_IMPORTS.map(([fn]) => fn).join(', ')} };\n` +
        // The OpenAPI imports (sdk).
        `import feishuRequest from 'feishu-request';\nimport feishuUpload from 'feishu-upload';\n` +
        `import cardStreamSet from 'card-stream-set';\nimport cardStreamFlush from 'card-stream-flush';\n` +
        `Object.assign(globalThis.__aviaryHost, { feishuRequest, feishuUpload, cardStreamSet, cardStreamFlush });\n` +
        // Outbound HTTP (http.js).
        `import httpSend from 'http-send';\nglobalThis.__aviaryHttpSend = httpSend;\n`
      : // QuickJS (componentize-qjs): world-level imports are globals, and there is no console.
        `globalThis.__aviaryHost = {\n` +
        `  log: (level, message) => globalThis.log(level, message),\n` +
        `  configGet: (key) => globalThis.configGet(key),\n` +
        KV_IMPORTS.map(([fn]) => `  ${fn}: (...a) => globalThis.${fn}(...a),\n`).join('') +
        `};\n` +
        // The OpenAPI imports (sdk).
        `Object.assign(globalThis.__aviaryHost, {\n` +
        `  feishuRequest: (m, p, b) => globalThis.feishuRequest(m, p, b),\n` +
        `  feishuUpload: (p, f, ff, fn, b) => globalThis.feishuUpload(p, f, ff, fn, b),\n` +
        `  cardStreamSet: (c, e, t) => globalThis.cardStreamSet(c, e, t),\n` +
        `  cardStreamFlush: (c) => globalThis.cardStreamFlush(c),\n});\n` +
        // Outbound HTTP (http.js).
        `globalThis.__aviaryHttpSend = (m, u, h, b) => globalThis.httpSend(m, u, h, b);\n` +
        `if (typeof globalThis.console === 'undefined') {\n` +
        `  const line = (level) => (...a) => globalThis.__aviaryHost.log(level, a.map((x) => typeof x === 'string' ? x : JSON.stringify(x)).join(' '));\n` +
        `  globalThis.console = { log: line('info'), info: line('info'), debug: line('debug'), trace: line('trace'), warn: line('warn'), error: line('error') };\n` +
        `}\n`;
  return (
    hostSetup +
    `import * as user from ${user};\n` +
    `import { __aviaryRun } from 'aviary-js';\n` +
    `const userHandle = typeof user.handle === 'function' ? user.handle : user.default;\n` +
    `if (typeof userHandle !== 'function') {\n` +
    `  throw new Error(${JSON.stringify(`${userPath} must export a function \`handle(event)\` (or a default function)`)});\n` +
    `}\n` +
    `export function handle(event) {\n  return __aviaryRun(userHandle, event);\n}\n`
  );
}

/** Bundles the handler, the SDK and the entry into one ES module (source text). */
export async function bundle(userPath, engine) {
  const { rolldown } = await import('rolldown');
  const problems = [];
  const external =
    engine === 'starlingmonkey'
      ? new Set([
          'log',
          'config-get',
          'feishu-request',
          'feishu-upload',
          'card-stream-set',
          'card-stream-flush',
          'http-send',
          ...KV_IMPORTS.map(([, wit]) => wit),
        ])
      : new Set();
  const build = await rolldown({
    input: ENTRY_ID,
    platform: 'neutral',
    treeshake: true,
    onLog(level, log) {
      if (level === 'warn' && log.code === 'UNRESOLVED_IMPORT') problems.push(log.message);
    },
    plugins: [
      {
        name: 'aviary',
        resolveId(id) {
          if (id === ENTRY_ID) return ENTRY_ID;
          if (id === 'aviary-js') return SDK_ENTRY;
          if (external.has(id)) return { id, external: true };
          return null;
        },
        load(id) {
          if (id === ENTRY_ID) return entrySource(engine, userPath);
          return null;
        },
      },
    ],
  }).catch((e) => {
    throw new BuildError(`bundling ${userPath} failed:\n${e.message ?? e}`);
  });
  let output;
  try {
    ({ output } = await build.generate({ format: 'esm' }));
  } catch (e) {
    throw new BuildError(`bundling ${userPath} failed:\n${e.message ?? e}`);
  } finally {
    await build.close();
  }
  if (problems.length) {
    throw new BuildError(
      `${userPath}: imports that cannot be bundled (only relative files, npm packages and 'aviary-js' are available; no Node built-ins):\n  ${problems.join('\n  ')}`,
    );
  }
  const chunks = output.filter((o) => o.type === 'chunk');
  if (chunks.length !== 1) {
    throw new BuildError(`${userPath}: dynamic import() is not supported (got ${chunks.length} chunks)`);
  }
  return chunks[0].code;
}

async function componentize(engine, code, wit) {
  try {
    if (engine === 'quickjs') {
      const qjs = await import('componentize-qjs');
      const { component } = await qjs.componentize({
        witPath: wit,
        jsSource: code,
        world: 'handler',
        sync: true,
      });
      return Buffer.from(component);
    }
    const { componentize } = await import('@bytecodealliance/componentize-js');
    const { component } = await componentize(code, {
      witPath: wit,
      worldName: 'handler',
      disableFeatures: ['http', 'fetch-event'],
    });
    return Buffer.from(component);
  } catch (e) {
    throw new BuildError(`${engine}: turning the bundle into a component failed:\n${e.message ?? e}`);
  }
}

function leb128(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

/** A component-level custom section (id 0). */
export function customSection(name, payload) {
  const nameBytes = Buffer.from(name, 'utf8');
  const body = Buffer.concat([leb128(nameBytes.length), nameBytes, Buffer.from(payload, 'utf8')]);
  return Buffer.concat([Buffer.from([0]), leb128(body.length), body]);
}

/** The `aviary:guest` marker of a component built by this SDK. */
export function guestMarker(engine) {
  return JSON.stringify({ language: 'javascript', engine, sdk: `aviary-js ${PKG.version}` });
}

/**
 * Builds `input` (a .js/.mjs/.ts handler) into the component `output`. Returns
 * `{ output, bytes, engine, ms }`.
 */
export async function build({ input, output, engine = DEFAULT_ENGINE, wit }) {
  const started = Date.now();
  if (!ENGINES.includes(engine)) {
    throw new BuildError(`unknown engine \`${engine}\` (engines: ${ENGINES.join(', ')})`);
  }
  const userPath = resolve(input);
  if (!statSafe(userPath)?.isFile()) throw new BuildError(`${input}: no such file`);
  const witDir = findWit(wit);
  const code = await bundle(userPath, engine);
  const component = await componentize(engine, code, witDir);
  const bytes = Buffer.concat([component, customSection('aviary:guest', guestMarker(engine))]);
  writeFileSync(output, bytes);
  return { output, bytes: bytes.length, engine, ms: Date.now() - started };
}

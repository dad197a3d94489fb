// The dev console: plain DOM and fetch, polling the emulator's control API (/_emulator/), the
// console's own (/_console/api/) and the app's (/_console/api/app/, when `aviary dev` attached
// one) once a second. No framework, nothing loaded from elsewhere.
'use strict';

const $ = (id) => document.getElementById(id);
const api = async (path, body) => {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) };
  const r = await fetch(path, init);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `${path}: HTTP ${r.status}`);
  return data;
};
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};
const status = (text) => { $('composer-status').textContent = text; };

// --- connection -------------------------------------------------------------------------
const seen = new Map(); // connection id -> when this page first saw it
async function refreshConnection() {
  const s = await api('/_emulator/state');
  const box = $('connection');
  const reconnects = Math.max(s.connections_total - 1, 0);
  if (s.connections.length > 0) {
    const c = s.connections[s.connections.length - 1];
    if (!seen.has(c.id)) seen.set(c.id, new Date());
    box.className = 'conn conn-up';
    box.dataset.state = 'connected';
    box.dataset.connection = String(c.id);
    $('conn-state').textContent = 'connected';
    $('conn-detail').textContent = `connection #${c.id} since ${seen.get(c.id).toLocaleTimeString()}; reconnects ${reconnects}`;
  } else {
    box.className = 'conn conn-down';
    box.dataset.state = 'disconnected';
    box.dataset.connection = '';
    $('conn-state').textContent = 'disconnected';
    $('conn-detail').textContent = `reconnects ${reconnects}`;
  }
  box.dataset.reconnects = String(reconnects);
}
for (const b of document.querySelectorAll('[data-fault]')) {
  b.addEventListener('click', async () => {
    const r = await api('/_emulator/fault', b.dataset.fault);
    status(`${b.textContent}: ${r.connections} connection(s) faulted`);
    refreshConnection();
  });
}

// --- composer -----------------------------------------------------------------------------
let samples = [];
async function loadSamples() {
  samples = await api('/_console/api/samples');
  const sel = $('sample-select');
  for (const s of samples) sel.append(el('option', { value: s.name }, s.name));
}
$('sample-select').addEventListener('change', (e) => {
  const s = samples.find((x) => x.name === e.target.value);
  $('sample-json').value = s ? JSON.stringify(JSON.parse(s.envelope), null, 2) : '';
});
$('sample-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    JSON.parse($('sample-json').value);
    const r = await api('/_console/api/push', $('sample-json').value);
    status(`pushed delivery #${r.delivery}`);
  } catch (err) { status(`not pushed: ${err.message}`); }
  refresh();
});
$('chat-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('chat-text').value;
  if (!text) return;
  try {
    const r = await api('/_console/api/chat', { chat_id: $('chat-id').value, user: $('chat-user').value, text });
    status(`sent ${r.message_id} (event ${r.event_id}, delivery #${r.delivery})`);
    $('composer-status').dataset.eventId = r.event_id;
    $('chat-text').value = '';
  } catch (err) { status(`not sent: ${err.message}`); }
  refresh();
});

// --- deliveries ---------------------------------------------------------------------------
async function refreshDeliveries() {
  const [deliveries, acks] = await Promise.all([api('/_emulator/deliveries'), api('/_emulator/acks')]);
  const code = new Map(acks.filter((a) => a.delivery !== null).map((a) => [a.delivery, a.code]));
  const body = $('deliveries').tBodies[0];
  body.replaceChildren(...deliveries.slice(-15).reverse().map((d) => el('tr', {},
    el('td', {}, String(d.id)), el('td', {}, d.event_id || ''), el('td', {}, d.status),
    el('td', {}, String(d.attempts.length)), el('td', {}, code.has(d.id) ? String(code.get(d.id)) : ''))));
}

// --- chats and cards ----------------------------------------------------------------------
const text = (t) => (t && typeof t === 'object' ? t.content ?? t.text ?? '' : t ?? '');
function renderElements(elements, ctx, out) {
  for (const e of elements || []) {
    if (!e || typeof e !== 'object') continue;
    switch (e.tag) {
      case 'button':
        out.push(el('button', {
          class: `card-button ${e.type || ''}`,
          onclick: () => clickButton(ctx, e.value ?? e.behaviors?.[0]?.value ?? {}),
        }, text(e.text) || 'button'));
        break;
      case 'action': renderElements(e.actions, ctx, out); break;
      case 'column_set': for (const c of e.columns || []) renderElements(c.elements, ctx, out); break;
      case 'hr': out.push(el('hr')); break;
      case 'img': case 'image': out.push(el('p', {}, '[image]')); break;
      case 'note': renderElements(e.elements, ctx, out); break;
      default: {
        const t = text(e.text) || e.content || '';
        if (t) out.push(el('p', {}, t));
        if (e.fields) for (const f of e.fields) out.push(el('p', {}, text(f.text)));
        if (e.elements) renderElements(e.elements, ctx, out);
      }
    }
  }
}
function renderCard(content, ctx) {
  let card;
  try { card = JSON.parse(content); } catch { return el('div', { class: 'bubble' }, content); }
  if (card.type === 'template') return el('div', { class: 'bubble' }, `[template card ${card.data?.template_id ?? ''}]`);
  const body = [];
  renderElements(card.elements ?? card.body?.elements ?? card.i18n_elements?.zh_cn, ctx, body);
  const title = text(card.header?.title);
  return el('div', { class: 'card' }, title ? el('div', { class: 'card-header' }, title) : null, el('div', { class: 'card-body' }, ...body));
}
function renderPost(content) {
  let post;
  try { post = JSON.parse(content); } catch { return content; }
  const lang = post.title !== undefined ? post : (post.zh_cn || post.en_us || Object.values(post)[0] || {});
  const lines = (lang.content || []).map((p) => p.map((x) => x.text ?? (x.tag === 'at' ? `@${x.user_name ?? x.user_id}` : x.tag === 'img' ? '[image]' : '')).join(''));
  return [lang.title, ...lines].filter(Boolean).join('\n');
}
function renderMessage(m, chatId) {
  let body;
  if (m.msg_type === 'interactive') body = renderCard(m.content, { message_id: m.message_id, chat_id: chatId });
  else if (m.msg_type === 'post') body = el('div', { class: 'bubble' }, renderPost(m.content));
  else body = el('div', { class: 'bubble' }, m.text || `[${m.msg_type}] ${m.content}`);
  return el('div', { class: `msg ${m.from}`, 'data-message-id': m.message_id },
    el('div', { class: 'who' }, m.from === 'bot' ? 'bot' : 'user'), body);
}
let lastChats = '';
async function refreshChats() {
  const { chats } = await api('/_console/api/chats');
  const key = JSON.stringify(chats);
  if (key === lastChats) return; // keep focus and scroll when nothing changed
  lastChats = key;
  if (chats.length === 0) return;
  $('chats').replaceChildren(...chats.map((c) => el('div', { class: 'chat', 'data-chat-id': c.chat_id },
    el('h3', {}, c.chat_id), ...c.messages.map((m) => renderMessage(m, c.chat_id)))));
}

// A click sends card.action.trigger; the handler's answer comes back in that delivery's ack.
async function clickButton(ctx, value) {
  const r = await api('/_console/api/card-action', { message_id: ctx.message_id, chat_id: ctx.chat_id, value });
  status(`card action sent (delivery #${r.delivery})`);
  for (let i = 0; i < 50; i++) {
    const acks = await api('/_emulator/acks');
    const ack = acks.find((a) => a.delivery === r.delivery && a.code === 200);
    if (ack) {
      let answer = {};
      try { answer = JSON.parse(ack.data || '{}'); } catch { /* not JSON */ }
      const t = answer.toast;
      showToast(t ? (t.content ?? '') : 'acked (no toast)', t?.type ?? 'info');
      return;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  showToast('no answer within 5 s', 'error');
}
let toastTimer;
function showToast(content, type) {
  const t = $('toast');
  t.textContent = content;
  t.className = `toast ${type}`;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

// --- the app aviary dev runs: handlers, dead letters, timeline ------------------------------
// Under /_console/api/app/ (forwarded to the app: its /status, its run journal, its dead
// letters). Without an app (plain `aviary emulator`) they answer 503 and the section says so.
const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10000 ? 0 : 1)} s` : `${ms} ms`);
const fmtBytes = (b) => (b >= 1048576 ? `${(b / 1048576).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(0)} KiB` : `${b} B`);
const fmtCount = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
const appStatus = (t) => { $('app-status').textContent = t; };
const OUTCOMES = ['done', 'respond', 'retry', 'reject', 'failed'];

async function refreshHandlers() {
  let s;
  try { s = await api('/_console/api/app/status'); } catch (err) {
    $('app').dataset.attached = 'no';
    appStatus(err.message);
    return false;
  }
  $('app').dataset.attached = 'yes';
  const app = (s.apps || [])[0];
  if (!app) { appStatus('the app reports no status'); return true; }
  $('app').dataset.connection = app.connection.state;
  $('app').dataset.started = String(app.started_at_ms);
  // The configuration in force: 0 at the start, one more at each hot reload.
  $('app').dataset.generation = String(app.generation ?? 0);
  // Readiness (503 while a handler compiles): its failing checks say why.
  const ready = await fetch('/_console/api/app/ready').then(async (r) => ({ ok: r.ok, body: await r.json().catch(() => ({})) })).catch(() => ({ ok: false, body: {} }));
  $('app').dataset.ready = ready.ok ? 'yes' : 'no';
  const notReady = (ready.body.checks || []).filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`).join('; ');
  appStatus(`app ${app.app_id}${app.generation ? ` (generation ${app.generation})` : ''}: ${app.connection.state}${app.connection.conn_id ? ` (conn ${app.connection.conn_id})` : ''}, ${app.connection.events_received} event(s) received${ready.ok ? ', ready' : notReady ? `; not ready: ${notReady}` : ''}`);
  const body = $('handlers').tBodies[0];
  body.replaceChildren(...app.handlers.map((h) => {
    const lim = h.limits;
    const limits = [`timeout ${fmtMs(lim.timeout_ms)}`, lim.memory_mb ? `memory ${lim.memory_mb} MiB` : null, lim.fuel ? `fuel ${fmtCount(lim.fuel)}` : null].filter(Boolean).join(', ');
    const failed = Object.entries(h.failures_by_kind || {}).map(([k, n]) => `${k} ${n}`).join(', ');
    return el('tr', { 'data-handler': h.name },
      el('td', { title: `${h.kind}${h.component ? ` ${h.component}` : ''}; events ${h.events.join(', ')}` }, h.name),
      el('td', { class: 'calls' }, String(h.calls)),
      ...OUTCOMES.map((o) => el('td', { class: `count-${o}`, title: o === 'failed' ? failed : '' }, String((h.outcomes || {})[o] ?? ''))),
      el('td', { class: 'limits' }, limits));
  }));
  const q = app.queue;
  $('queue').textContent = q ? `queue ${q.backend}: depth ${q.depth}, in flight ${q.in_flight}, dead letters ${q.dead_letters ?? '?'}` : 'no queue (events are handled before the ack)';
  return true;
}

let lastDeadLetters = '';
async function refreshDeadLetters() {
  let r;
  try { r = await api('/_console/api/app/dead-letters'); } catch (err) {
    $('dead-letters').tBodies[0].replaceChildren();
    $('dead-letters-status').textContent = err.message;
    lastDeadLetters = '';
    return;
  }
  const key = JSON.stringify(r.dead_letters);
  if (key === lastDeadLetters) return; // keep the buttons under the pointer
  lastDeadLetters = key;
  $('dead-letters-status').textContent = r.dead_letters.length ? '' : 'none';
  $('dead-letters').tBodies[0].replaceChildren(...r.dead_letters.map((d) => el('tr', { 'data-id': String(d.id), 'data-event-id': d.event_id },
    el('td', {}, String(d.id)),
    el('td', { title: d.event_id }, d.event_type),
    el('td', {}, d.handlers.filter((h) => h.status === 'dead').map((h) => `${h.name}: ${h.last_error ?? ''}`).join('; ')),
    el('td', {}, el('button', { class: 'replay', onclick: () => replay(d.id) }, 'Replay')))));
}

async function replay(id) {
  try {
    const r = await api('/_console/api/app/replay', { id });
    status(`dead letter #${id} replayed${r.live ? '; its handlers run now' : ''}`);
  } catch (err) { status(`not replayed: ${err.message}`); }
  refreshApp();
}

// The run journal, fetched incrementally (`since` the last change seen). A restarted app has a
// new journal: what this page saw of the old one stays, and an event the new one records again
// (a replayed dead letter) continues the same timeline after a "restarted" line.
const journal = { id: null, latest: 0 };
const traces = new Map(); // event_id -> { node, journal, steps (of the current journal), before (steps of earlier ones) }
function stepLine(s, t0) {
  const at = `+${fmtMs(Math.max(0, s.at_ms - t0))}`;
  const li = (cls, ...children) => el('li', { class: `step step-${s.step}`, 'data-step': s.step, ...cls }, el('span', { class: 'at' }, at), ' ', ...children);
  switch (s.step) {
    case 'received': return li({}, 'received', el('span', { class: 'muted' }, ` (delivery ${s.delivery})`));
    case 'persisted': return li({ 'data-job': String(s.job) }, `persisted as job ${s.job}`);
    case 'forwarded': return li({}, `persisted as job ${s.job}, for the instance holding its chat`);
    case 'duplicate': return li({}, 'duplicate delivery: already queued or handled, nothing runs');
    case 'acked': return li({ 'data-code': String(s.code) }, el('b', {}, `acked ${s.code}`), s.detail ? el('span', { class: 'muted' }, ` ${s.detail}`) : null);
    case 'not_acked': return li({}, el('b', {}, 'not acked'), ` (${s.reason}): Feishu redelivers it`);
    case 'merged': return li({ 'data-handler': s.handler, 'data-into': s.into }, `${s.handler} ran on it in a merged turn of ${s.messages} message(s): see event ${s.into}`);
    case 'filtered': return li({ 'data-handler': s.handler }, `${s.handler} skipped it: filtered (${s.reason}: ${s.detail})`);
    case 'retry': return li({ 'data-handler': s.handler }, `${s.handler} will retry in ${fmtMs(s.retry_in_ms)} (attempt ${s.attempt}: ${s.reason})`);
    case 'gave_up': return li({ 'data-handler': s.handler }, el('b', {}, `${s.handler} gave up`), ` after ${s.attempts} attempt(s): ${s.reason}`);
    case 'dead_lettered': return li({ 'data-job': String(s.job) }, el('b', {}, `dead letter #${s.job}`), ' (replay it from the dead letters)');
    case 'replayed': return li({ 'data-job': String(s.job) }, `replayed (job ${s.job}): the handlers that gave up run again`);
    case 'run': {
      const lim = s.limits || {};
      const res = [`${fmtMs(s.wall_ms)} of ${fmtMs(lim.timeout_ms)}`];
      if (s.fuel_used != null) res.push(`fuel ${fmtCount(s.fuel_used)}${lim.fuel ? ` of ${fmtCount(lim.fuel)}` : ''}`);
      if (lim.memory_bytes) res.push(`memory ${fmtBytes(s.peak_memory_bytes)} of ${fmtBytes(lim.memory_bytes)}`);
      const logs = s.logs.map((l) => el('li', { class: `log log-${l.level}` }, el('span', { class: 'level' }, l.stream === 'log' ? l.level : l.stream), ' ', l.message));
      if (s.logs_dropped) logs.push(el('li', { class: 'log muted' }, `… ${s.logs_dropped} more line(s)`));
      const calls = s.calls.map((c) => el('li', { class: `call ${c.ok ? 'ok' : 'err'}` }, `${c.import} ${c.method} ${c.target} → ${c.answer} (${fmtMs(c.duration_ms)})`));
      return li({ 'data-handler': s.handler, 'data-outcome': s.outcome, 'data-attempt': String(s.attempt) },
        el('b', {}, s.handler), ` attempt ${s.attempt}: `,
        el('span', { class: `outcome outcome-${s.outcome}` }, s.failure ? `failed (${s.failure})` : s.outcome),
        el('span', { class: 'muted' }, ` · ${res.join(' · ')}`),
        s.detail ? el('div', { class: 'detail' }, s.detail) : null,
        logs.length ? el('ul', { class: 'logs' }, ...logs) : null,
        calls.length ? el('ul', { class: 'calls' }, ...calls) : null);
    }
    case 'restarted': return li({}, el('i', {}, 'the app restarted (a new journal)'));
    default: return li({}, s.step);
  }
}
function renderTrace(t, before) {
  const all = before.length ? [...before, { step: 'restarted', at_ms: t.steps.length ? t.steps[0].at_ms : t.first_at_ms }, ...t.steps] : t.steps;
  const t0 = before.length ? before[0].at_ms : t.first_at_ms;
  const acks = all.filter((s) => s.step === 'acked' || s.step === 'not_acked');
  const runs = all.filter((s) => s.step === 'run');
  const badges = [];
  if (acks.length) { const a = acks[acks.length - 1]; badges.push(el('span', { class: `badge ack-${a.code ?? 'none'}` }, a.code ? `ack ${a.code}` : 'not acked')); }
  for (const r of runs.slice(-3)) badges.push(el('span', { class: `badge outcome-${r.outcome}` }, `${r.handler}: ${r.outcome}`));
  const last = [...all].reverse().find((s) => s.step === 'dead_lettered' || s.step === 'replayed');
  if (last && last.step === 'dead_lettered') badges.push(el('span', { class: 'badge dead' }, 'dead letter'));
  const steps = all.map((s) => stepLine(s, t0));
  if (t.steps_dropped) steps.push(el('li', { class: 'step muted' }, `… ${t.steps_dropped} more step(s)`));
  return el('div', { class: 'event', 'data-event-id': t.event_id, 'data-event-type': t.event_type },
    el('div', { class: 'event-head' }, el('b', {}, t.event_type || '(type unknown)'), ' ', el('code', {}, t.event_id), ' ',
      el('span', { class: 'muted' }, new Date(t0).toLocaleTimeString()), ' ', ...badges),
    el('ol', { class: 'steps' }, ...steps));
}
async function refreshTimeline() {
  let r;
  try { r = await api(`/_console/api/app/runs?since=${journal.latest}`); } catch { return; }
  let snap = (r.apps || [])[0];
  if (!snap) return;
  if (snap.journal !== journal.id) {
    // A new journal (the app restarted): read it from its beginning.
    if (journal.latest !== 0) {
      const again = await api('/_console/api/app/runs?since=0');
      snap = (again.apps || [])[0] || snap;
    }
    journal.id = snap.journal;
  }
  journal.latest = snap.latest;
  $('app').dataset.journal = snap.journal;
  const box = $('timeline');
  if (snap.events.length && box.querySelector('.empty')) box.replaceChildren();
  for (const t of snap.events) {
    const seenBefore = traces.get(t.event_id);
    let before = [];
    if (seenBefore) before = seenBefore.journal === snap.journal ? seenBefore.before : [...seenBefore.before, ...seenBefore.steps];
    if (!t.event_type && seenBefore) t.event_type = seenBefore.type;
    const node = renderTrace(t, before);
    if (seenBefore) seenBefore.node.remove();
    box.prepend(node);
    traces.set(t.event_id, { node, journal: snap.journal, steps: t.steps, before, type: t.event_type });
  }
  // The page keeps the last 100 events.
  while (box.children.length > 100) {
    const last = box.lastElementChild;
    for (const [k, v] of traces) if (v.node === last) traces.delete(k);
    last.remove();
  }
}

async function refreshApp() {
  if (await refreshHandlers()) await Promise.all([refreshTimeline(), refreshDeadLetters()]);
}

async function refresh() {
  try { await Promise.all([refreshConnection(), refreshChats(), refreshDeliveries(), refreshApp()]); } catch (err) { status(err.message); }
}
loadSamples().catch((err) => status(err.message));
refresh();
setInterval(refresh, 1000);

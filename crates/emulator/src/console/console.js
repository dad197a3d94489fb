// The dev console: plain DOM and fetch, polling the emulator's control API (/_emulator/) and the
// console's own (/_console/api/) once a second. No framework, nothing loaded from elsewhere.
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
    status(`sent ${r.message_id} (delivery #${r.delivery})`);
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

async function refresh() {
  try { await Promise.all([refreshConnection(), refreshChats(), refreshDeliveries()]); } catch (err) { status(err.message); }
}
loadSamples().catch((err) => status(err.message));
refresh();
setInterval(refresh, 1000);

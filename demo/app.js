// The demo page's script: it turns what a person does into what Slack
// would send the app (block_actions, view_submission, slash commands) by
// asking the page's server, which sends the Socket Mode envelopes, and
// reloads when the workspace changes.
'use strict';

const body = document.body;
const as = body.dataset.as;
const ws = body.dataset.ws;

async function post(path, data) {
  const r = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(data)});
  let out = {};
  try { out = await r.json(); } catch (e) { /* empty answer */ }
  if (!r.ok) throw new Error(out.error || r.statusText);
  return out;
}

// surface is this page's address without open=1: where reload goes, so
// that only going to the Home tab, not each reload, tells the app it was
// opened.
function surface() {
  const u = new URL(location.href);
  u.searchParams.delete('open');
  return u;
}

// reload shows the workspace's new state.
function reload() {
  location.replace(surface().toString());
}

function option(el) {
  const o = el.selectedOptions ? el.selectedOptions[0] : el;
  return {value: o.value, text: {type: 'plain_text', text: o.dataset.label || o.textContent.trim()}};
}

// valueOf is an element's state the way Slack reports it in block_actions
// and view.state.values.
function valueOf(el) {
  const t = el.dataset.type;
  switch (t) {
    case 'static_select': case 'overflow':
      return el.value ? {selected_option: option(el)} : {selected_option: null};
    case 'multi_static_select':
      return {selected_options: Array.from(el.selectedOptions).map(option)};
    case 'radio_buttons': {
      const c = el.querySelector('input:checked');
      return {selected_option: c ? option(c) : null};
    }
    case 'checkboxes':
      return {selected_options: Array.from(el.querySelectorAll('input:checked')).map(option)};
    case 'timepicker': return {selected_time: el.value || null};
    case 'datepicker': return {selected_date: el.value || null};
    case 'plain_text_input': return {value: el.value};
    case 'conversations_select': return {selected_conversation: el.value || null};
    case 'multi_conversations_select': return {selected_conversations: Array.from(el.selectedOptions).map(o => o.value)};
    case 'channels_select': return {selected_channel: el.value || null};
    case 'multi_channels_select': return {selected_channels: Array.from(el.selectedOptions).map(o => o.value)};
    case 'users_select': return {selected_user: el.value || null};
    case 'multi_users_select': return {selected_users: Array.from(el.selectedOptions).map(o => o.value)};
  }
  return {};
}

function surfaceOf(el) {
  const s = el.closest('.surface');
  return {surface: s.dataset.surface, view: s.dataset.view || '', channel: s.dataset.channel || '', ts: s.dataset.ts || ''};
}

let busy = false;
async function act(el, extra) {
  busy = true;
  try {
    await post('/api/action', Object.assign({ws, as, action_id: el.dataset.actionId}, surfaceOf(el), extra));
    reload();
  } catch (e) {
    busy = false;
    alert(e.message);
  }
}

document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action-id]');
  if (!b || !b.dataset.live) return;
  if (b.dataset.url) window.open(b.dataset.url, '_blank', 'noopener');
  act(b, {button: b.dataset.value});
});

document.addEventListener('change', (ev) => {
  const el = ev.target.closest('[data-action-id]');
  if (!el || !el.dataset.live) return;
  act(el, {value: valueOf(el)});
});

// Modals: submit collects every input block's value.
const modal = document.getElementById('modal');
if (modal) {
  const firstError = modal.querySelector('.bk-error');
  if (firstError) firstError.scrollIntoView({block: 'center'});
  modal.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = {};
    modal.querySelectorAll('.bk-input [data-action-id]').forEach((el) => {
      const bid = el.dataset.blockId;
      values[bid] = values[bid] || {};
      values[bid][el.dataset.actionId] = Object.assign({type: el.dataset.type}, valueOf(el));
    });
    busy = true;
    try {
      await post('/api/submit', {ws, as, view: modal.dataset.view, values});
    } catch (e) {
      alert(e.message);
    }
    reload();
  });
  const close = async () => { await post('/api/close', {ws, as}); reload(); };
  document.getElementById('modal-close').onclick = close;
  document.getElementById('modal-cancel').onclick = close;
}

// Slash commands and messages typed in a channel (or, with a thread
// open beside it, replies in the thread).
const composer = document.getElementById('composer');
if (composer) {
  composer.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = document.getElementById('command');
    const err = document.getElementById('command-error');
    busy = true;
    try {
      await post('/api/command', {ws, as, channel: composer.dataset.channel, thread: composer.dataset.thread || '', text: input.value});
      reload();
    } catch (e) {
      busy = false;
      err.textContent = e.message;
      err.hidden = false;
    }
  });
}

// A message's menu: the app's Send to Paligo shortcut.
document.querySelectorAll('[data-shortcut]').forEach((b) => {
  b.addEventListener('click', async () => {
    busy = true;
    try {
      await post('/api/shortcut', {ws, as, channel: b.dataset.channel, ts: b.dataset.ts});
      reload();
    } catch (e) {
      busy = false;
      alert(e.message);
    }
  });
});

// Which workspace, who you are, and the clock.
document.getElementById('ws').addEventListener('change', (ev) => {
  const u = new URL(location.href);
  u.searchParams.set('ws', ev.target.value);
  u.searchParams.delete('as');
  u.searchParams.delete('thread');
  u.searchParams.set('at', 'home');
  u.searchParams.set('open', '1');
  location.href = u.toString();
});
document.getElementById('as').addEventListener('change', (ev) => {
  const u = new URL(location.href);
  u.searchParams.set('as', ev.target.value);
  u.searchParams.set('open', '1');
  location.href = u.toString();
});
document.querySelectorAll('[data-advance]').forEach((b) => {
  b.addEventListener('click', async () => {
    busy = true;
    try { await post('/api/clock', {ws, advance: b.dataset.advance}); } catch (e) { alert(e.message); }
    reload();
  });
});

// Sample events through the real ingest API.
const samples = JSON.parse(document.getElementById('samples').textContent);
const senders = JSON.parse(document.getElementById('senders').textContent);
const kind = document.getElementById('kind');
const json = document.getElementById('event-json');
const fill = () => { json.value = samples[kind.value]; };
// The sample chosen stays chosen when the page reloads itself (a message
// arrived) on this surface.
const kindKey = 'kind ' + surface().search;
kind.addEventListener('change', () => { sessionStorage.setItem(kindKey, kind.value); fill(); });
const chosen = sessionStorage.getItem(kindKey);
if (chosen && samples[chosen]) kind.value = chosen;
fill();
document.getElementById('send-event').addEventListener('click', async () => {
  const answer = document.getElementById('event-answer');
  let text = json.value;
  try {
    const ev = JSON.parse(text);
    if (typeof ev.id === 'string' && ev.id.endsWith('_NEW')) ev.id = ev.id.slice(0, -4) + '_' + Date.now().toString(36);
    text = JSON.stringify(ev);
  } catch (e) { /* sent as typed: the API names what is wrong */ }
  busy = true;
  try {
    // A sender's sample goes as the sender sends it (the page adds its
    // credentials); an event kind through the signed ingest API.
    const sender = senders[kind.value];
    let to = '/api/event?ws=' + encodeURIComponent(ws);
    if (sender) {
      to += '&source=' + encodeURIComponent(sender);
      text = json.value;
    }
    const out = await fetch(to, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: text}).then(r => r.json());
    answer.textContent = out.status + ' ' + JSON.stringify(out.answer);
    answer.hidden = false;
    answer.dataset.status = out.status;
    sessionStorage.setItem('answer', answer.textContent);
  } catch (e) {
    answer.textContent = e.message;
    answer.hidden = false;
  }
  busy = false;
  bumped();
});
const last = sessionStorage.getItem('answer');
if (last) {
  const answer = document.getElementById('event-answer');
  answer.textContent = last;
  answer.hidden = false;
  sessionStorage.removeItem('answer');
}

// Reload when the workspace changed (a message arrived, the Home tab was
// redrawn), unless the person is in the middle of something.
let rev = body.dataset.rev;
async function bumped() {
  if (busy || document.getElementById('modal')) return;
  const a = document.activeElement;
  if (a && (a.id === 'command' || a.id === 'event-json') && a.value) return;
  try {
    const v = await fetch('/version?ws=' + encodeURIComponent(ws)).then(r => r.json());
    if (String(v.rev) !== rev) {
      if (document.getElementById('event-answer').hidden === false) {
        sessionStorage.setItem('answer', document.getElementById('event-answer').textContent);
      }
      reload();
    }
  } catch (e) { /* the demo stopped */ }
}
setInterval(bumped, 1000);

// Everything above is wired: what a person (or a test) does from here on
// is heard. Until then the page's controls are drawn but deaf.
body.dataset.ready = 'true';

// mediax web console: plain JavaScript, no build step. Talks to the admin API on the same origin
// with the API key kept in sessionStorage (this tab only). No inline script: the page's CSP forbids it.
'use strict';

const KEY_STORAGE = 'mediax.apiKey';
const POLL_MS = 5000;

const $ = (sel, root = document) => root.querySelector(sel);

let apps = [];                 // [{app, grants, error}]
let pollTimer = null;

function apiKey() { return sessionStorage.getItem(KEY_STORAGE) || ''; }

class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

// One API call; resolves to the parsed JSON, rejects with ApiError carrying the API's {error, message}.
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  } else if (method === 'POST') {
    init.body = '';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'Cannot reach mediaxd (is it running?)');
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) {
    const code = (json && json.error) || `http_${res.status}`;
    let message = (json && json.message) || `HTTP ${res.status}`;
    if (res.status === 401) message = 'The daemon refused the API key. Sign in again with a valid key.';
    if (json && json.platform_code) message += ` (platform code ${json.platform_code}${json.class ? `, ${json.class}` : ''})`;
    throw new ApiError(res.status, code, message, json);
  }
  return json;
}

function showMessage(text, kind = 'error') {
  const box = $('#message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
}

function clearMessage() { $('#message').hidden = true; }

function showError(e, what) {
  const detail = e instanceof ApiError ? `${e.message}${e.code && e.status ? ` [${e.code}]` : ''}` : String(e);
  showMessage(what ? `${what}: ${detail}` : detail, 'error');
  if (e instanceof ApiError && e.status === 401) signOut(false);
}

// ---- time ----------------------------------------------------------------------------------

function parseTime(s) {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? null : t;
}

function formatDuration(secs) {
  const s = Math.abs(Math.round(secs));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function relative(t) {
  const secs = (t - Date.now()) / 1000;
  return secs >= 0 ? `in ${formatDuration(secs)}` : `${formatDuration(secs)} ago`;
}

function updateCountdowns() {
  for (const el of document.querySelectorAll('.countdown[data-at]')) {
    const t = Number(el.dataset.at);
    const secs = (t - Date.now()) / 1000;
    el.textContent = secs > 0 ? `in ${formatDuration(secs)}` : `expired ${formatDuration(secs)} ago`;
    el.classList.toggle('expired', secs <= 0);
    el.classList.toggle('soon', secs > 0 && secs < 60);
  }
  for (const el of document.querySelectorAll('.ago[data-at]')) el.textContent = relative(Number(el.dataset.at));
}

// ---- rendering -----------------------------------------------------------------------------

function cell(tr, text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  if (text instanceof Node) td.append(text);
  else td.textContent = text == null || text === '' ? '—' : String(text);
  tr.append(td);
  return td;
}

function timeCell(tr, iso, kind, cls) {
  const t = parseTime(iso);
  if (t === null) return cell(tr, '—', cls);
  const wrap = document.createDocumentFragment();
  const span = document.createElement('span');
  span.className = kind;
  span.dataset.at = String(t);
  const small = document.createElement('small');
  small.textContent = iso;
  small.className = 'iso';
  wrap.append(span, small);
  return cell(tr, wrap, cls);
}

function button(label, cls, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await onClick(); } finally { b.disabled = false; }
  });
  return b;
}

function renderApps() {
  const root = $('#apps');
  root.replaceChildren();
  if (apps.length === 0) {
    const p = document.createElement('p');
    p.className = 'card empty-state';
    p.textContent = 'No apps yet. Register one below.';
    root.append(p);
    return;
  }
  const tpl = $('#app-template');
  for (const { app, grants, error } of apps) {
    const node = tpl.content.firstElementChild.cloneNode(true);
    node.dataset.app = app.name;
    $('.app-name', node).textContent = app.name;
    const scopes = (app.scopes || []).join(' ') || 'no scopes';
    $('.meta', node).textContent =
      `${app.platform} · client ${app.client_id} · ${scopes}${app.client_credentials ? ' · app token' : ''}` +
      ` · webhook ${app.webhook && app.webhook.url ? app.webhook.url : 'none'}`;
    if (app.renew_not_permitted_at) {
      // Douyin 10004: the platform refuses to renew this app's refresh tokens; grants end at their reauth date.
      const warn = document.createElement('span');
      warn.className = 'error renew-not-permitted';
      warn.textContent = ` · may not renew refresh tokens (since ${app.renew_not_permitted_at}): ` +
        'grant the app the renew permission at the platform';
      $('.meta', node).append(warn);
    }
    if (app.platform === 'wechat_component') {
      // WeChat third-party platform: the component token needs a component_verify_ticket, which only
      // WeChat's push (every 10 min) brings; until the first one nothing can be connected.
      const ticket = document.createElement('span');
      ticket.className = app.waiting_for_ticket ? 'error ticket waiting' : 'ticket';
      ticket.textContent = app.waiting_for_ticket
        ? ' · waiting for ticket: WeChat has not pushed a component_verify_ticket yet (check the 授权事件接收URL)'
        : (app.component_ticket_at ? ` · last ticket at ${app.component_ticket_at}` : '');
      $('.meta', node).append(ticket);
      // The PC page shows a QR code to scan; the mobile link is opened inside WeChat on the admin's
      // phone, so it is shown to copy rather than opened here.
      const mobile = button('Mobile link', 'secondary connect-mobile', () => mobileLink(app.name));
      mobile.title = 'The authorization link to open inside WeChat on the account admin\'s phone';
      $('.actions', node).prepend(mobile);
    }
    for (const el of node.querySelectorAll('.component-only')) el.hidden = app.platform !== 'wechat_component';
    $('.secrets-form', node).addEventListener('submit', (ev) => changeSecrets(ev, app.name));
    $('.connect', node).addEventListener('click', () => connect(app.name, undefined, app.platform === 'wechat_component'));
    $('.add-code', node).addEventListener('click', () => addWithCode(app.name));
    const tbody = $('tbody', node);
    if (error) {
      const tr = document.createElement('tr');
      const td = cell(tr, `Cannot list grants: ${error}`, 'error');
      td.colSpan = 7;
      tbody.append(tr);
    } else if (grants.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(tr, 'No connected accounts. Use “Connect account”.', 'empty');
      td.colSpan = 7;
      tbody.append(tr);
    }
    for (const g of grants) {
      const tr = document.createElement('tr');
      tr.dataset.grant = String(g.id);
      cell(tr, `#${g.id}`);
      cell(tr, g.account_id);
      const state = document.createElement('span');
      state.className = `state ${g.status}`;
      state.textContent = g.status;
      if (g.status_reason) state.title = g.status_reason;
      const stateCell = cell(tr, state, 'state-cell');
      if (g.reauth_due_at && g.status === 'active') {
        // No renewal left or allowed: the account must be connected again before this date.
        const due = document.createElement('small');
        due.className = 'reauth-due';
        due.textContent = ` reconnect by ${g.reauth_due_at}`;
        state.title = `the refresh token ends at ${g.reauth_due_at}: connect the account again before`;
        stateCell.append(due);
      }
      const missing = g.missing_scopes || [];
      if (missing.length > 0) {
        // Granular consent: the user did not grant these; the grant works for the others.
        const note = document.createElement('div');
        note.className = 'missing-scopes';
        note.textContent = `without: ${missing.join(', ')}`;
        stateCell.append(note);
      }
      timeCell(tr, g.token_expires_at, 'countdown', 'expires');
      timeCell(tr, g.last_refresh_at || g.updated_at, 'ago', 'refreshed');
      cell(tr, g.last_error ? `${g.last_error}${g.failure_count ? ` (${g.failure_count} failures)` : ''}` : '', g.last_error ? 'error' : '');
      const actions = cell(tr, '', 'row-actions');
      actions.textContent = '';
      if (g.status === 'active' || g.status === 'needs_reauth') {
        actions.append(button('Refresh', 'secondary refresh', () => refreshGrant(g.id)));
        if (missing.length > 0) {
          actions.append(button('Ask again', 'secondary ask-again', () => connect(app.name, { grant_id: g.id })));
        }
        actions.append(button('Revoke', 'danger revoke', () => revokeGrant(g.id, g.account_id)));
      }
      if (app.platform === 'wechat_component' && g.status !== 'revoked' && (g.status === 'needs_reauth' || g.last_error)) {
        // A lost or refused authorizer refresh token (61023): WeChat hands it out again.
        actions.append(button('Recover', 'secondary recover', () => recoverGrant(g.id)));
      }
      tbody.append(tr);
    }
    root.append(node);
  }
  updateCountdowns();
}

// ---- data ----------------------------------------------------------------------------------

async function loadStatus() {
  const el = $('#daemon-status');
  let ready = false;
  try {
    const res = await fetch('/readyz', { cache: 'no-store' });
    ready = res.ok;
  } catch { ready = false; }
  const dot = document.createElement('span');
  dot.className = `dot ${ready ? 'ok' : 'bad'}`;
  el.replaceChildren(dot, document.createTextNode(ready ? 'mediaxd ready' : 'mediaxd not ready'));
}

async function loadApps() {
  const list = await api('GET', '/v1/apps');
  const result = [];
  for (const app of list.apps || []) {
    try {
      const g = await api('GET', `/v1/apps/${encodeURIComponent(app.name)}/grants`);
      result.push({ app, grants: g.grants || [], error: null });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      result.push({ app, grants: [], error: e.message });
    }
  }
  apps = result;
  renderApps();
}

async function reload() {
  try {
    await Promise.all([loadStatus(), loadApps()]);
  } catch (e) {
    showError(e, 'Loading the apps failed');
  }
}

// ---- actions -------------------------------------------------------------------------------

async function connect(name, choices, sendOrigin) {
  clearMessage();
  try {
    // The key cannot ride along a plain navigation to /v1/apps/{name}/connect, so ask for a
    // one-time connect link with it and navigate the whole tab there: mediaxd sets this browser's
    // connect cookie and sends it on to the platform, which sends it back to the app's callback,
    // whose page links back here. Only this browser can finish the flow. choices: {grant_id} asks
    // that grant's account again for the scopes it lacks.
    const a = await api('POST', `/v1/apps/${encodeURIComponent(name)}/authorize`, choices);
    if (sendOrigin) {
      // WeChat's third-party platform page checks that it is opened from its 授权发起页域名 (the
      // Referer): this page sends none (meta referrer no-referrer), so this one link sends our origin.
      const link = document.createElement('a');
      link.href = a.connect_url;
      link.referrerPolicy = 'origin';
      link.rel = 'noopener';
      document.body.append(link);
      link.click();
      link.remove();
      return;
    }
    window.location.assign(a.connect_url);
  } catch (e) {
    showError(e, `Connecting an account to ${name} failed`);
  }
}

// WeChat third-party platform: a one-time connect link to the mobile (H5) authorization page, shown
// to be sent to the admin of the account, who opens it inside WeChat: that browser gets the cookie
// and is the only one that can finish. Single use, valid for minutes.
async function mobileLink(name) {
  clearMessage();
  try {
    const a = await api('POST', `/v1/apps/${encodeURIComponent(name)}/authorize`, { mobile: true });
    showMessage(`Open this link inside WeChat on the account admin's phone (single use, until ${a.expires_at}): ${a.connect_url}`, 'info');
  } catch (e) {
    showError(e, `Getting a mobile link for ${name} failed`);
  }
}

async function recoverGrant(id) {
  clearMessage();
  try {
    const g = await api('POST', `/v1/grants/${id}/recover`);
    showMessage(`Grant #${id} (${g.account_id}) recovered: its refresh token was read again from the platform.`, 'info');
  } catch (e) {
    showError(e, `Recovering grant #${id} failed`);
  }
  await reload();
}

// A code the creator's own app obtained (Douyin's mobile/H5 SDK, WeChat's app login): mediaxd
// exchanges it and stores the grant as the callback would (POST /v1/apps/{name}/grants).
async function addWithCode(name) {
  const code = (window.prompt(`Authorization code for ${name} (from the creator's app; single use, valid for minutes):`) || '').trim();
  if (!code) return;
  clearMessage();
  try {
    const g = await api('POST', `/v1/apps/${encodeURIComponent(name)}/grants`, { code });
    showMessage(`Account ${g.account_id} connected as grant #${g.id}.`, 'info');
  } catch (e) {
    showError(e, `Adding an account to ${name} with a code failed`);
  }
  await reload();
}

async function refreshGrant(id) {
  clearMessage();
  try {
    const t = await api('POST', `/v1/grants/${id}/refresh`);
    showMessage(`Grant #${id} refreshed; the new token expires ${t.expires_at}.`, 'info');
  } catch (e) {
    showError(e, `Refreshing grant #${id} failed`);
  }
  await reload();
}

async function revokeGrant(id, account) {
  if (!window.confirm(`Revoke grant #${id}${account ? ` (${account})` : ''}? Its token stops working.`)) return;
  clearMessage();
  try {
    const r = await api('DELETE', `/v1/grants/${id}`);
    showMessage(`Grant #${id} revoked (revocation at the platform: ${r.platform_revocation}).`, 'info');
  } catch (e) {
    showError(e, `Revoking grant #${id} failed`);
  }
  await reload();
}

// PUT /v1/apps/{name}/secrets with what was filled in; the values never reach the page again.
async function changeSecrets(ev, name) {
  ev.preventDefault();
  clearMessage();
  const f = new FormData(ev.target);
  const body = {};
  const options = {};
  if (f.get('client_secret')) body.client_secret = String(f.get('client_secret'));
  for (const k of ['message_token', 'encoding_aes_key']) if (f.get(k)) options[k] = String(f.get(k));
  if (f.get('drop_previous')) options.previous_encoding_aes_key = null;
  if (Object.keys(options).length) body.options = options;
  if (Object.keys(body).length === 0) {
    showMessage('Nothing to change: fill in a new secret.', 'error');
    return;
  }
  try {
    await api('PUT', `/v1/apps/${encodeURIComponent(name)}/secrets`, body);
    ev.target.reset();
    showMessage(`Changed the secrets of ${name}.`, 'info');
  } catch (e) {
    showError(e, 'Changing the secrets failed');
  }
  await reload();
}

async function registerApp(ev) {
  ev.preventDefault();
  clearMessage();
  const f = new FormData(ev.target);
  const text = (k) => String(f.get(k) || '').trim();
  const body = {
    name: text('name'),
    platform: text('platform'),
    client_id: text('client_id'),
    client_secret: String(f.get('client_secret') || ''),
    scopes: text('scopes').split(/[\s,]+/).filter(Boolean),
    token_auth_method: text('token_auth_method'),
  };
  if (f.get('client_credentials')) body.client_credentials = true;
  if (text('issuer')) body.issuer = text('issuer');
  const endpoints = {};
  for (const k of ['authorize_url', 'token_url', 'revocation_url']) if (text(k)) endpoints[k] = text(k);
  if (Object.keys(endpoints).length) body.endpoints = endpoints;
  try {
    const app = await api('POST', '/v1/apps', body);
    ev.target.reset();
    $('#register').open = false;
    showMessage(`Registered ${app.name}. Register ${app.redirect_uri} as the redirect URI at the platform.`, 'info');
  } catch (e) {
    showError(e, 'Registering the app failed');
  }
  await reload();
}

// ---- sign in -------------------------------------------------------------------------------

function showSignedIn(signedIn) {
  $('#sign-in').hidden = signedIn;
  $('#console').hidden = !signedIn;
  $('#sign-out').hidden = !signedIn;
  if (pollTimer) clearInterval(pollTimer);
  // Not while a "Change secrets" form is open: re-rendering would drop what is being typed.
  pollTimer = signedIn ? setInterval(() => { if (!$('.change-secrets[open]')) reload(); }, POLL_MS) : null;
}

function signOut(clear = true) {
  sessionStorage.removeItem(KEY_STORAGE);
  apps = [];
  $('#apps').replaceChildren();
  showSignedIn(false);
  if (clear) clearMessage();
  $('#api-key').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  clearMessage();
  const key = $('#api-key').value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  try {
    await api('GET', '/v1/apps');
  } catch (e) {
    showError(e, 'Signing in failed');
    if (!(e instanceof ApiError && e.status === 401)) sessionStorage.removeItem(KEY_STORAGE);
    return;
  }
  $('#api-key').value = '';
  showSignedIn(true);
  await reload();
}

document.addEventListener('DOMContentLoaded', () => {
  $('#sign-in-form').addEventListener('submit', signIn);
  $('#sign-out').addEventListener('click', () => signOut(true));
  $('#register-form').addEventListener('submit', registerApp);
  $('#reload').addEventListener('click', () => { clearMessage(); reload(); });
  setInterval(updateCountdowns, 1000);
  loadStatus();
  if (apiKey()) {
    showSignedIn(true);
    reload();
  } else {
    showSignedIn(false);
  }
});

// Plays the user's browser through oidc-provider's development login and consent pages:
// follows an authorization URL with fetch, a cookie jar and manual redirects, and prints the final
// redirect URL that leaves the provider (the client's callback with code and state, or an error).
//
//   node drive-login.mjs AUTHORIZE_URL [--login ACCOUNT] [--deny] [--keep-prompt]
//
// The URL gets prompt=consent (needed for offline_access) unless --keep-prompt is given.
// Exit status 0 when a redirect out of the provider was found, 1 otherwise.
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    login: { type: 'string', default: 'alice' },
    deny: { type: 'boolean', default: false },
    'keep-prompt': { type: 'boolean', default: false },
  },
});

if (positionals.length !== 1) {
  console.error('usage: node drive-login.mjs AUTHORIZE_URL [--login ACCOUNT] [--deny] [--keep-prompt]');
  process.exit(2);
}

const start = new URL(positionals[0]);
if (!opts['keep-prompt']) start.searchParams.set('prompt', 'consent');
const providerOrigin = start.origin;

// name -> { value, path }
const jar = new Map();

function remember(res) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = value === '';
    for (const attr of attrs) {
      const [k, v = ''] = attr.split('=');
      const key = k.toLowerCase();
      if (key === 'path') path = v || '/';
      if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      if (key === 'max-age' && Number(v) <= 0) expired = true;
    }
    const id = `${name};${path}`;
    if (expired) jar.delete(id);
    else jar.set(id, { name, value, path });
  }
}

function cookieHeader(url) {
  const parts = [];
  for (const { name, value, path } of jar.values()) {
    if (url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`)) {
      parts.push(`${name}=${value}`);
    }
  }
  return parts.join('; ');
}

async function request(url, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  remember(res);
  return res;
}

function fail(message) {
  console.error(`drive-login: ${message}`);
  process.exit(1);
}

let url = start;
let init = {};
for (let step = 0; step < 25; step += 1) {
  const res = await request(url, init);
  init = {};
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get('location');
    if (!location) fail(`redirect without Location at ${url.pathname}`);
    const next = new URL(location, url);
    await res.arrayBuffer();
    if (next.origin !== providerOrigin) {
      process.stdout.write(`${next.href}\n`);
      process.exit(0);
    }
    url = next;
    continue;
  }
  const body = await res.text();
  if (res.status !== 200) fail(`HTTP ${res.status} at ${url.pathname}: ${body.slice(0, 300)}`);
  const action = body.match(/<form[^>]*action="([^"]+)"/);
  const prompt = body.match(/name="prompt" value="([a-z]+)"/);
  if (!action || !prompt) fail(`no interaction form at ${url.pathname}`);
  const target = new URL(action[1].replaceAll('&amp;', '&'), url);
  const form = new URLSearchParams({ prompt: prompt[1] });
  if (prompt[1] === 'login') {
    form.set('login', opts.login);
    form.set('password', 'any');
  } else if (prompt[1] === 'consent' && opts.deny) {
    url = new URL(`${target.pathname.replace(/\/$/, '')}/abort`, url);
    continue;
  }
  url = target;
  init = {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  };
}
fail('too many steps without leaving the provider');

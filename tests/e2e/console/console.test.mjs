// Drives the web console in headless Chromium (playwright-core, Debian's /usr/bin/chromium) against a
// running mediaxd and the oidc-provider harness: sign in with an API key, register an app, connect an
// account through the provider's login and consent pages, come back, see the grant, force a refresh
// and see the expiry move, see the API's error message, change the app's secret (grant kept), revoke. Screenshots go to SCREENSHOT_DIR.
//
// Environment: MEDIAX_URL (the daemon), OIDC_ISSUER, OIDC_WEB_SECRET (client mediax-web's secret),
// MEDIAX_API_KEY (may be empty while the daemon enforces no key), SCREENSHOT_DIR, CHROMIUM (default
// /usr/bin/chromium). Exit status 0 when every step passed; otherwise 1 with the failing step.
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = must('MEDIAX_URL');
const issuer = must('OIDC_ISSUER');
const webSecret = must('OIDC_WEB_SECRET');
const apiKey = process.env.MEDIAX_API_KEY || 'no-key-enforced-yet';
const shots = must('SCREENSHOT_DIR');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const account = 'olivia';

function must(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`console.test: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

let step = 'start';
function log(msg) { console.log(`console.test: ${msg}`); }
function check(cond, msg) { if (!cond) throw new Error(msg); }

mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'mediax-console-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1200, height: 760 },
});
const problems = [];
let exitCode = 0;
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => d.accept());

  step = 'open the console';
  const res = await page.goto(`${base}/console/`);
  check(res.status() === 200, `GET /console/ answered ${res.status()}`);
  check(/script-src 'self'/.test(res.headers()['content-security-policy'] ?? ''), 'no strict CSP on the console');
  await page.locator('#sign-in').waitFor({ state: 'visible' });
  await page.screenshot({ path: join(shots, 'sign-in.png') });

  step = 'a wrong key is refused with a clear message';
  if (process.env.MEDIAX_API_KEY) {
    await page.fill('#api-key', 'not-the-key');
    await page.click('#sign-in-form button[type=submit]');
    await page.locator('#message.error').waitFor();
    const refused = await page.locator('#message').textContent();
    check(/refused the API key/.test(refused), `unexpected message for a wrong key: ${refused}`);
    check(await page.locator('#console').isHidden(), 'signed in with a wrong key');
  }

  step = 'sign in';
  await page.fill('#api-key', apiKey);
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#console').waitFor({ state: 'visible' });
  check(await page.evaluate(() => sessionStorage.getItem('mediax.apiKey')) === apiKey, 'the key is not in sessionStorage');
  await page.locator('#daemon-status .dot.ok').waitFor();

  step = 'register an app';
  await page.click('#register summary');
  const form = page.locator('#register-form');
  await form.locator('[name=name]').fill('web');
  await form.locator('[name=client_id]').fill('mediax-web');
  await form.locator('[name=client_secret]').fill(webSecret);
  await form.locator('[name=scopes]').fill('openid offline_access');
  await form.locator('[name=token_auth_method]').selectOption('client_secret_basic');
  await form.locator('[name=issuer]').fill(issuer);
  await page.screenshot({ path: join(shots, 'register.png') });
  await form.locator('button[type=submit]').click();
  const app = page.locator('article[data-app="web"]');
  await app.waitFor();
  check((await page.locator('#message').textContent()).includes('Registered web'), 'no confirmation after registering');

  step = 'an API error is shown with its message';
  await page.click('#register summary');
  await form.locator('[name=name]').fill('web');
  await form.locator('[name=client_id]').fill('mediax-web');
  await form.locator('[name=client_secret]').fill(webSecret);
  await form.locator('[name=issuer]').fill(issuer);
  await form.locator('button[type=submit]').click();
  await page.locator('#message.error').waitFor();
  const errorText = await page.locator('#message').textContent();
  check(/Registering the app failed: .+\[[a-z_]+\]/.test(errorText), `unexpected error message: ${errorText}`);
  check(!errorText.includes(webSecret), 'the error message shows the client secret');
  log(`error shown: ${errorText}`);
  await page.click('#register summary');

  step = 'connect an account through the provider';
  await app.locator('button.connect').click();
  await page.waitForURL((u) => u.href.startsWith(issuer), { timeout: 15000 });
  await page.locator('input[name=login]').waitFor();
  await page.screenshot({ path: join(shots, 'provider-login.png') });
  await page.fill('input[name=login]', account);
  await page.fill('input[name=password]', 'any');
  await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').click()]);
  step = 'consent at the provider';
  if (page.url().startsWith(issuer)) {
    const prompt = await page.locator('input[name=prompt]').getAttribute('value');
    check(prompt === 'consent', `expected the consent page, got prompt ${prompt} at ${page.url()}`);
    await page.screenshot({ path: join(shots, 'provider-consent.png') });
    await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').first().click()]);
  }
  step = 'back at the daemon';
  await page.waitForURL((u) => u.href.startsWith(`${base}/oauth/callback`));
  check((await page.textContent('h1')).includes('Connected'), `the callback page says: ${await page.textContent('body')}`);
  await page.screenshot({ path: join(shots, 'callback.png') });
  await page.click('text=Back to the console');

  step = 'see the grant';
  await page.waitForURL(`${base}/console/`);
  await page.locator('#console').waitFor({ state: 'visible' });
  const row = page.locator('article[data-app="web"] tr[data-grant]');
  await row.first().waitFor();
  check(await row.count() === 1, `expected one grant, saw ${await row.count()}`);
  check((await row.locator('td').nth(1).textContent()) === account, 'the grant is not olivia\'s');
  check((await row.locator('.state').textContent()) === 'active', 'the grant is not active');
  const expiresBefore = await row.locator('td.expires .iso').textContent();
  const countdown = await row.locator('td.expires .countdown').textContent();
  check(/^in \d/.test(countdown), `no countdown: ${countdown}`);
  await page.waitForTimeout(1200);  // whole-second expiry: make sure a new token expires later
  await page.screenshot({ path: join(shots, 'console.png') });

  step = 'force a refresh and see the expiry move';
  await row.locator('button.refresh').click();
  await page.locator('#message.info').waitFor();
  check((await page.locator('#message').textContent()).includes('refreshed'), 'no refresh confirmation');
  // Poll from here: the page's CSP forbids the eval that page.waitForFunction would need.
  const isoCell = row.locator('td.expires .iso');
  for (let i = 0; i < 150 && (await isoCell.textContent()) === expiresBefore; i++) await page.waitForTimeout(100);
  const expiresAfter = await row.locator('td.expires .iso').textContent();
  check(Date.parse(expiresAfter) > Date.parse(expiresBefore), `expiry did not move forward: ${expiresBefore} -> ${expiresAfter}`);
  log(`expiry ${expiresBefore} -> ${expiresAfter}`);
  await page.screenshot({ path: join(shots, 'refreshed.png') });

  step = 'change the app secret in its card';
  await app.locator('.change-secrets summary').click();
  check(await app.locator('.secrets-form [name=encoding_aes_key]').isHidden(), 'WeChat key fields shown for an oauth2 app');
  check((await app.locator('.secrets-form [name=client_secret]').getAttribute('type')) === 'password', 'secret input not a password');
  await app.locator('.secrets-form [name=client_secret]').fill(webSecret);  // the provider knows only this one
  await app.locator('.secrets-form button[type=submit]').click();
  await page.locator('#message.info', { hasText: 'Changed the secrets of web' }).waitFor();
  check(!(await page.content()).includes(webSecret), 'the page shows the client secret');
  await row.locator('.state.active').waitFor();  // the grant is kept

  step = 'revoke';
  await row.locator('button.revoke').click();
  await row.locator('.state.revoked').waitFor();
  check((await page.locator('#message').textContent()).includes('revoked'), 'no revocation confirmation');

  step = 'sign out';
  await page.click('#sign-out');
  await page.locator('#sign-in').waitFor({ state: 'visible' });
  check(await page.evaluate(() => sessionStorage.getItem('mediax.apiKey')) === null, 'the key stayed after signing out');

  check(problems.length === 0, problems.join('\n'));
  log('all steps passed');
} catch (e) {
  console.error(`console.test: FAILED at "${step}": ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
  try {
    const p = context.pages()[0];
    if (p) {
      console.error(`console.test: page URL ${p.url()}`);
      const where = join(process.env.FAILURE_DIR || tmpdir(), 'console-failure.png');
      await p.screenshot({ path: where }).catch(() => {});
      console.error(`console.test: screenshot of the failure: ${where}`);
    }
  } catch { /* the browser is gone */ }
  exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);

/**
 * Real-browser driver for the seal → checkout → licence letter journey (playwright-core + Chromium).
 *
 *   node tests/browser/seal_checkout.mjs <third_party_page_url> <out_dir>
 *
 * Opens a third-party page that embeds seal.js, opens the seal panel, follows "Get licence" to the
 * checkout, buys the first paid offer through the sandbox payment page, waits for the licence, and
 * downloads the licence letter (JWS and PDF). Prints one JSON line on success and exits 0; on any
 * failure prints the error and a screenshot path to stderr and exits 1.
 *
 * Environment: SEAL_NODE_MODULES (where playwright-core is installed: a node_modules folder or its
 * parent), CHROMIUM (browser binary, default /usr/bin/chromium).
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const OVERALL_MS = 60_000;

/** playwright-core from $SEAL_NODE_MODULES if set, else ordinary resolution. */
function loadPlaywright() {
  const dir = process.env.SEAL_NODE_MODULES;
  if (dir) {
    for (const p of [path.join(dir, 'playwright-core'), path.join(dir, 'node_modules', 'playwright-core')]) {
      if (existsSync(p)) return createRequire(path.join(path.dirname(p), 'noop.js'))(p);
    }
    try {
      return createRequire(path.join(path.resolve(dir), 'noop.js'))('playwright-core');
    } catch {
      /* fall through to ordinary resolution */
    }
  }
  return createRequire(import.meta.url)('playwright-core');
}

const [pageUrl, outArg] = process.argv.slice(2);
if (!pageUrl || !outArg) {
  process.stderr.write('usage: node seal_checkout.mjs <third_party_page_url> <out_dir>\n');
  process.exit(2);
}
const outDir = path.resolve(outArg);
mkdirSync(outDir, { recursive: true });
const out = (name) => path.join(outDir, name);

let browser;
let current; // the page a failure screenshot should show

async function run() {
  const { chromium } = loadPlaywright();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // chromium.launch() gives each run a fresh temporary profile (--user-data-dir) and removes it on close.
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, locale: 'zh-CN' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  current = page;
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  // 1. The third-party page and its seal (CSS selectors pierce the open shadow root).
  await page.goto(pageUrl, { waitUntil: 'domcontentloaded' });
  const badge = page.locator('copyright-seal #badge').first();
  await badge.waitFor({ state: 'visible' });

  // 2. Open the panel; read the terms and the statement; screenshot.
  await badge.click();
  const panel = page.locator('copyright-seal #panel').first();
  await panel.waitFor({ state: 'visible' });
  if ((await badge.getAttribute('aria-expanded')) !== 'true') throw new Error('badge aria-expanded is not true');
  const rules = (await panel.locator('#rules').innerText()).trim();
  const statement = (await panel.locator('#statement').innerText()).trim();
  if (!rules) throw new Error('the seal panel shows no licence rules');
  if (!statement) throw new Error('the seal panel shows no statement');
  const screenshot = out('seal-panel.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  if (pageErrors.length) throw new Error(`page errors on the third-party page: ${pageErrors.join('; ')}`);

  // 3. Get licence → checkout in a new tab.
  const [checkout] = await Promise.all([
    context.waitForEvent('page'),
    panel.locator('#get-licence').click(),
  ]);
  current = checkout;
  await checkout.waitForLoadState('domcontentloaded');
  // The browser asks for Chinese (the context's locale); the checkout answers in it.
  const checkoutLang = await checkout.evaluate(() => document.documentElement.lang);
  const continueLabel = ((await checkout.locator('button#continue').textContent()) || '').trim();
  const paid = checkout.locator('input[name="offer"][data-free="false"]').first();
  await paid.waitFor({ state: 'attached' });
  await paid.check();
  await checkout.fill('input[name="email"]', 'buyer@example.test');
  await checkout.fill('input[name="name"]', '测试买家 Test Buyer');
  await checkout.fill('input[name="use_url"]', 'https://reuse.example.test/news/1');
  await Promise.all([
    checkout.waitForURL((u) => u.pathname.includes('/pay/'), { waitUntil: 'domcontentloaded' }),
    checkout.click('button#continue'),
  ]);

  // 4. Sandbox hosted payment page.
  const payUrl = checkout.url();
  await checkout.locator('button#pay').waitFor({ state: 'visible' });
  await Promise.all([
    checkout.waitForURL((u) => u.href !== payUrl, { waitUntil: 'domcontentloaded' }),
    checkout.click('button#pay'),
  ]);

  // 5. Status page: wait for `licensed`, reloading if the page does not refresh itself. The status is
  // shown in the page's language; `data-status` keeps its stored name.
  const deadline = Date.now() + 20_000;
  let status = '';
  for (;;) {
    try {
      await checkout.waitForFunction(
        () => document.querySelector('#status')?.getAttribute('data-status') === 'licensed',
        null,
        { timeout: 3_000, polling: 250 },
      );
      status = 'licensed';
      break;
    } catch {
      // The page may be reloading itself (context destroyed) or just pending.
      status =
        (await checkout.locator('#status').first().getAttribute('data-status', { timeout: 2_000 }).catch(() => '')) || '';
      status = status.trim();
      if (['failed', 'declined'].includes(status)) throw new Error(`checkout ended as ${status}`);
      if (Date.now() > deadline) throw new Error(`checkout status is "${status}" after 20 s, not licensed`);
      await checkout.reload({ waitUntil: 'domcontentloaded' }).catch(() => {});
    }
  }

  // 6. The letter, as JWS and PDF, with the page's cookies.
  const licenceId = ((await checkout.locator('#licence-id').first().textContent()) || '').trim();
  const letter = out('letter.jws');
  const pdf = out('letter.pdf');
  for (const [sel, file] of [['a#letter-jws', letter], ['a#letter-pdf', pdf]]) {
    const href = await checkout.locator(sel).first().getAttribute('href');
    if (!href) throw new Error(`${sel} has no href`);
    const res = await checkout.request.get(new URL(href, checkout.url()).href);
    if (!res.ok()) throw new Error(`GET ${href}: HTTP ${res.status()}`);
    writeFileSync(file, await res.body());
  }

  // 7. Report.
  process.stdout.write(
    JSON.stringify({
      rules, statement, letter, pdf, screenshot, licence_id: licenceId,
      checkout_lang: checkoutLang, continue_label: continueLabel,
    }) + '\n',
  );
}

async function failureShot() {
  const file = out('failure.png');
  try {
    if (current && !current.isClosed()) {
      await current.screenshot({ path: file, fullPage: true, timeout: 5_000 });
      return file;
    }
  } catch {
    /* no screenshot */
  }
  return `${file} (not taken)`;
}

async function cleanup() {
  try {
    if (browser) await browser.close();
  } catch {
    /* already gone */
  }
}

let timer;
const overall = new Promise((_, reject) => {
  timer = setTimeout(() => reject(new Error(`timed out after ${OVERALL_MS / 1000} s`)), OVERALL_MS);
});

let code = 0;
try {
  await Promise.race([run(), overall]);
} catch (e) {
  code = 1;
  const shot = await failureShot();
  process.stderr.write(`seal_checkout failed: ${e && e.stack ? e.stack : e}\n`);
  if (current) process.stderr.write(`at: ${current.isClosed() ? '(closed page)' : current.url()}\n`);
  process.stderr.write(`screenshot: ${shot}\n`);
} finally {
  clearTimeout(timer);
  await cleanup();
}
process.exit(code);

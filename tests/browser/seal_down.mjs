/**
 * Real-browser check that the seal never breaks its host page: the page embeds seal.js, and the seal
 * API answers with errors (or not at all, or fails once and then answers). Prints one JSON line:
 * {"page_errors": [...], "badge_visible": bool, "host_ok": bool, "defined": bool, "mounted": bool,
 *  "api_requests": n} and exits 0; the Rust test judges it. `defined`, `mounted` and `api_requests`
 * prove the seal really ran and met the failing API: without them a seal.js that never loaded would
 * pass as "shows nothing".
 *
 *   node tests/browser/seal_down.mjs <third_party_page_url>
 *
 * Environment: SEAL_NODE_MODULES and CHROMIUM, as for seal_checkout.mjs.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';

function loadPlaywright() {
  const dir = process.env.SEAL_NODE_MODULES;
  for (const p of dir ? [path.join(dir, 'node_modules', 'playwright-core'), path.join(dir, 'playwright-core')] : []) {
    if (existsSync(p)) return createRequire(path.join(path.dirname(p), 'noop.js'))(p);
  }
  return createRequire(import.meta.url)('playwright-core');
}

const [pageUrl] = process.argv.slice(2);
const { chromium } = loadPlaywright();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  let apiRequests = 0;
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests += 1; });
  await page.goto(pageUrl, { waitUntil: 'load' });
  // seal.js tries its API again 1.5 s and 5.5 s after a first 503 (each try gives up after 5 s); a
  // seal that recovers has shown by now, and one that cannot has given up.
  await page.waitForTimeout(6500);
  const badgeVisible = await page.locator('copyright-seal #badge').first().isVisible().catch(() => false);
  const hostOk = await page.evaluate(() => window.hostScriptRan === true && !!document.querySelector('h1'));
  const defined = await page.evaluate(() => !!customElements.get('copyright-seal'));
  const mounted = await page.evaluate(() => {
    const el = document.querySelector('copyright-seal');
    return !!(el && el.shadowRoot);
  });
  process.stdout.write(JSON.stringify({
    page_errors: pageErrors, badge_visible: badgeVisible, host_ok: hostOk, defined, mounted, api_requests: apiRequests,
  }) + '\n');
} finally {
  await browser.close();
}

/**
 * Real-browser walk of the main pages in both languages, on a desktop and on a phone (390×844).
 *
 *   node tests/browser/phones.mjs <base_url> <out_dir>
 *
 * Signs in as the demo rights holder, opens each page in zh-CN and in English at both sizes, takes a
 * full-page screenshot of each into <out_dir>, and checks what a user would: the page is in the chosen
 * language (`<html lang>`), nothing makes the page scroll sideways (tables scroll inside their own box),
 * and on a phone the seal page shows its licence button without scrolling. Prints one JSON line and
 * exits 0 when every check holds; prints the failures and exits 1 otherwise.
 *
 * Environment: SEAL_NODE_MODULES (where playwright-core is installed), CHROMIUM (default /usr/bin/chromium).
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

function loadPlaywright() {
  const dir = process.env.SEAL_NODE_MODULES;
  if (dir) {
    for (const p of [path.join(dir, 'playwright-core'), path.join(dir, 'node_modules', 'playwright-core')]) {
      if (existsSync(p)) return createRequire(path.join(path.dirname(p), 'noop.js'))(p);
    }
  }
  return createRequire(import.meta.url)('playwright-core');
}

const [base, outArg] = process.argv.slice(2);
if (!base || !outArg) {
  process.stderr.write('usage: node phones.mjs <base_url> <out_dir>\n');
  process.exit(2);
}
const outDir = path.resolve(outArg);
mkdirSync(outDir, { recursive: true });

const SIGNED_IN = ['/dashboard', '/dashboard/works', '/dashboard/licences', '/dashboard/earnings', '/dashboard/channels/rh-a-site',
  '/dashboard/hits', '/dashboard/search', '/dashboard/reports', '/dashboard/cases', '/dashboard/team', '/dashboard/notifications', '/dashboard/allowlist', '/dashboard/invoices'];
const PUBLIC = ['/', '/sign-in', '/w/rh-a-w0', '/checkout?work=rh-a-w0', '/verify'];
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

const { chromium } = loadPlaywright();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const failures = [];
let shots = 0;
try {
  for (const [sizeName, viewport] of Object.entries(SIZES)) {
    for (const lang of ['zh-CN', 'en']) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1, isMobile: sizeName === 'phone', hasTouch: sizeName === 'phone' });
      await context.addCookies([{ name: 'seal_lang', value: lang, url: base }]);
      const page = await context.newPage();
      const visit = async (p) => {
        const resp = await page.goto(base + p, { waitUntil: 'load' });
        const status = resp ? resp.status() : 0;
        if (status >= 400) failures.push(`${sizeName} ${lang} ${p}: HTTP ${status}`);
        const facts = await page.evaluate(() => ({
          lang: document.documentElement.lang,
          scroll: document.documentElement.scrollWidth,
          width: window.innerWidth,
        }));
        if (facts.lang !== lang) failures.push(`${sizeName} ${lang} ${p}: page language ${facts.lang}`);
        if (facts.scroll > facts.width + 1) failures.push(`${sizeName} ${lang} ${p}: scrolls sideways (${facts.scroll}px in ${facts.width}px)`);
        const name = `${sizeName}-${lang}-${p.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home'}.png`;
        await page.screenshot({ path: path.join(outDir, name), fullPage: true });
        shots += 1;
      };
      for (const p of PUBLIC) await visit(p);
      if (sizeName === 'phone') {
        await page.goto(`${base}/w/rh-a-w0`);
        // By id, not by its words: the words change with the language and with copy edits.
        const button = page.locator('#get-licence');
        const box = (await button.count()) === 1 ? await button.boundingBox() : null;
        if (!box || box.y + box.height > viewport.height) failures.push(`phone ${lang}: the seal page's licence button is below the fold (${JSON.stringify(box)})`);
      }
      await page.goto(`${base}/sign-in`);
      await page.fill('input[name=email]', 'holder-a@demo.test');
      await page.fill('input[name=password]', 'demo-password');
      await Promise.all([page.waitForNavigation(), page.locator('form[action="/sign-in"] button').first().click()]);
      for (const p of SIGNED_IN) await visit(p);
      await context.close();
    }
  }
} finally {
  await browser.close();
}
if (failures.length) {
  process.stderr.write(failures.join('\n') + '\n');
  process.exit(1);
}
process.stdout.write(JSON.stringify({ ok: true, screenshots: shots }) + '\n');

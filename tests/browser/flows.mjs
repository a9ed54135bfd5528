/**
 * Real-browser walk of the product's main flows in both languages, on a desktop and on a phone.
 *
 *   node tests/browser/flows.mjs <base_url> <out_dir> <admin_email> <admin_password>
 *
 * For each of (zh-CN, en) × (desktop 1280×800, phone 390×844), with fresh accounts named after the run:
 * a rights holder signs up, adds a website channel and proves it with the meta tag on a site this
 * script serves (node:http on 127.0.0.1:0, so the server must allow fetches to loopback), adds, edits
 * and withdraws offers (a bad price is refused beside the form with the typed value kept), copies the
 * embed code onto an article of that site; adds a WeChat channel, submits it for review and an
 * administrator approves it; a guest opens the article, opens the seal, buys a licence through the
 * sandbox and downloads the letter PDF; a licensee signs up, buys, and requests a refund (the licence
 * is then frozen). Then, once: the demo holder's works list (3,000 bulk works) is paged to its end on a
 * desktop in Chinese, and its first page is looked at on a phone in English.
 *
 * Every step takes a full-page screenshot into <out_dir> and checks what a user would: the page is in
 * the chosen language (`<html lang>` and the words expected there), nothing scrolls sideways
 * (scrollWidth <= innerWidth + 1), and the step's outcome. Prints one JSON line (the report) and exits
 * 0 when every check holds; prints the failures to stderr and exits 1 otherwise.
 *
 * Environment: SEAL_NODE_MODULES (where playwright-core is installed), CHROMIUM (default
 * /usr/bin/chromium), FLOWS_SITE_PORTS (four free ports, one per combo, that the server's
 * SEAL_FETCH_PORTS lets it fetch; without them the site gets any port and cannot be verified), FLOWS_ONLY (optional: a comma-separated subset of combos such as `zh-CN-phone`,
 * or `paging`, for working on one of them).
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

function loadPlaywright() {
  const dir = process.env.SEAL_NODE_MODULES;
  for (const p of dir ? [path.join(dir, 'node_modules', 'playwright-core'), path.join(dir, 'playwright-core')] : []) {
    if (existsSync(p)) return createRequire(path.join(path.dirname(p), 'noop.js'))(p);
  }
  return createRequire(import.meta.url)('playwright-core');
}

const [base, outArg, adminEmail, adminPassword] = process.argv.slice(2);
if (!base || !outArg || !adminEmail || !adminPassword) {
  process.stderr.write('usage: node flows.mjs <base_url> <out_dir> <admin_email> <admin_password>\n');
  process.exit(2);
}
const outDir = path.resolve(outArg);
mkdirSync(outDir, { recursive: true });

const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const LANGS = ['zh-CN', 'en'];
const PASSWORD = 'flow-password-1';
// The server fetches only ports it allows (SEAL_FETCH_PORTS), so the test names the sites' ports.
const sitePorts = (process.env.FLOWS_SITE_PORTS || '').split(',').filter(Boolean).map(Number);
const only = (process.env.FLOWS_ONLY || '').split(',').filter(Boolean);
const wanted = (name) => only.length === 0 || only.includes(name);

/** The words a user reads, per language (from api/locales). */
const WORDS = {
  'zh-CN': {
    signUp: '注册', createAccount: '创建账号', addChannel: '添加渠道', step1: '第一步', step2: '第二步', step3: '第三步',
    verified: '已验证', notVerified: '待验证', underReview: '审核中', reviewSubmit: '提交审核', offerEdit: '修改价格',
    offerWithdraw: '撤回方案', withdrawn: '撤回', channelReviews: '渠道审核', coTitle: '获取授权', continue: '继续',
    pay: '支付', licensed: '已授权', letterPdf: '下载授权书', refundRequest: '申请退款', frozen: '异议处理中',
    badPrice: '不是有效的价格',
    myLicences: '我的授权', works: '作品', next: '下一页',
  },
  en: {
    signUp: 'Sign up', createAccount: 'Create account', addChannel: 'Add channel', step1: 'Step 1', step2: 'Step 2',
    step3: 'Step 3', verified: 'Verified', notVerified: 'Not verified yet', underReview: 'Under review',
    reviewSubmit: 'Submit for review', offerEdit: 'Change the price', offerWithdraw: 'Withdraw the offer',
    withdrawn: 'withdrawn', channelReviews: 'Channel reviews', coTitle: 'Get licence', continue: 'Continue', pay: 'Pay',
    licensed: 'Licensed', letterPdf: 'Download the licence letter', refundRequest: 'Request a refund',
    frozen: 'Objection open', badPrice: 'is not a price', myLicences: 'licences', works: 'Works', next: 'Next page',
  },
};

// Words that may rightly appear in both languages' pages (demo works are titled "示例作品").
const SHARED = new Set(['works']);

const failures = [];
const report = { screenshots: 0, combos: {}, paging: null };
let shotNo = 0;

/** A failed expectation: recorded, and the flow goes on (a thrown Error stops only its combo). */
function expect(ok, what) {
  if (!ok) failures.push(what);
  return ok;
}

/**
 * One step's evidence: a full-page screenshot, the page's language, no sideways scroll, and the words
 * the user should read there (keys of WORDS: present in `lang`, absent in the other language).
 */
async function step(page, combo, name, lang, keys = []) {
  await page.waitForLoadState('load');
  shotNo += 1;
  const file = path.join(outDir, `${combo}-${String(shotNo).padStart(3, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  report.screenshots += 1;
  const facts = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
    text: document.body ? document.body.innerText : '',
  }));
  const where = `${combo} ${name} (${page.url()})`;
  if (lang) expect(facts.lang === lang, `${where}: page language is ${facts.lang}, not ${lang}`);
  expect(facts.scroll <= facts.width + 1, `${where}: scrolls sideways (${facts.scroll}px in ${facts.width}px)`);
  for (const key of keys) {
    const want = WORDS[lang][key];
    expect(facts.text.includes(want), `${where}: does not show "${want}"`);
    // The same words in the other language would mean a string that missed the catalogue.
    const other = WORDS[lang === 'en' ? 'zh-CN' : 'en'][key];
    if (!SHARED.has(key)) expect(!facts.text.includes(other), `${where}: shows "${other}" on a ${lang} page`);
  }
  return facts.text;
}

/** Submits the form a button belongs to and waits for the page it leads to. */
async function submit(page, button) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
}

/**
 * The holder's website on `port` (one the server's SEAL_FETCH_PORTS allows): `/` carries the verification meta tag once the token is known, and
 * `/news/1.html` is an article with the embed code once it is known. Loopback, port chosen by the OS.
 */
async function holderSite(combo, port) {
  const site = { token: '', embed: '' };
  const article = () =>
    `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${combo} 原创文章</title>` +
    '<style>body{font-family:serif;max-width:640px;margin:1rem auto;padding:0 1rem}</style></head><body>' +
    `<h1>春江夜话 ${combo}</h1>` +
    `<p>这是为浏览器测试 ${combo} 写的一篇原创文章。江水在月光下缓缓流过，渡口的灯一盏一盏亮起来，` +
    '老船夫把缆绳系好，说起三十年前那场大水。那一年镇上的石桥冲断了，人们用木船把粮食运到对岸，' +
    '一趟又一趟，直到天亮。后来桥修好了，船却一直留在渡口，成了孩子们夏天跳水的地方。</p>' +
    `<p>An original article written for browser run ${combo}. The river runs slowly under the moon, the ` +
    'ferry lamps come on one by one, and the old boatman ties up his rope and talks about the flood of ' +
    'thirty years ago, when the stone bridge was washed away and grain crossed by boat until dawn.</p>' +
    `${site.embed}</body></html>`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let body;
    if (url.pathname === '/') {
      body = `<!doctype html><html><head><meta charset="utf-8"><title>${combo}</title>` +
        (site.token ? `<meta name="copyright-seal-verification" content="${site.token}">` : '') +
        `</head><body><h1>${combo}</h1><a href="/news/1.html">news</a></body></html>`;
    } else if (url.pathname === '/news/1.html') {
      body = article();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(body);
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  site.origin = `http://127.0.0.1:${server.address().port}`;
  site.close = () => new Promise((ok) => server.close(ok));
  return site;
}

async function newContext(browser, lang, size) {
  const context = await browser.newContext({
    viewport: SIZES[size],
    deviceScaleFactor: 1,
    isMobile: size === 'phone',
    hasTouch: size === 'phone',
    locale: lang,
    acceptDownloads: true,
  });
  await context.addCookies([{ name: 'seal_lang', value: lang, url: base }]);
  context.setDefaultTimeout(20_000);
  return context;
}

async function signUp(page, combo, lang, who, role, email, name) {
  const w = WORDS[lang];
  await page.goto(`${base}/sign-up`);
  await step(page, combo, `${who}-sign-up`, lang, ['signUp', 'createAccount']);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=name]', name);
  await page.check(`input[name=role][value=${role}]`);
  await page.fill('input[name=password]', PASSWORD);
  await submit(page, page.locator('button#submit'));
  if (!new URL(page.url()).pathname.startsWith('/dashboard')) {
    throw new Error(`${who} sign-up did not reach the dashboard: ${page.url()}`);
  }
}

/** Adds a channel from the holder dashboard; returns its id (the channel page's URL names it). */
async function addChannel(page, kind, handle) {
  await page.goto(`${base}/dashboard`);
  const form = page.locator('form[action="/dashboard/channels"]');
  await form.locator('select[name=kind]').selectOption(kind);
  await form.locator('input[name=handle]').fill(handle);
  await submit(page, form.locator('button'));
  const m = new URL(page.url()).pathname.match(/^\/dashboard\/channels\/([^/]+)$/);
  if (!m) throw new Error(`adding the ${kind} channel ${handle} did not open its page: ${page.url()}`);
  return m[1];
}

/** Completes the checkout form and the sandbox payment, and waits for the licence. */
async function buy(page, combo, lang, who, guest) {
  const w = WORDS[lang];
  await step(page, combo, `${who}-checkout`, lang, ['coTitle', 'continue']);
  const paid = page.locator('input[name="offer"][data-free="false"]').first();
  await paid.check();
  if (guest) {
    await page.fill('input[name="email"]', guest.email);
    await page.fill('input[name="name"]', guest.name);
  }
  await page.check('input[name="place"][value="web"]');
  await page.fill('input[name="use_url"]', `https://reuse-${combo}.example.test/${who}/1`);
  await page.fill('input[name="place_name"]', `${who} ${combo}`);
  await submit(page, page.locator('button#continue'));
  if (!new URL(page.url()).pathname.includes('/pay/')) throw new Error(`${who}: checkout did not lead to payment: ${page.url()}`);
  await step(page, combo, `${who}-pay`, lang, ['pay']);
  await submit(page, page.locator('button#pay'));
  // The status page refreshes itself while the payment's webhook is on its way.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await page.locator('#status').getAttribute('data-status', { timeout: 3_000 }).catch(() => '');
    if (status === 'licensed') break;
    if (['failed', 'declined'].includes(status)) throw new Error(`${who}: checkout ended as ${status}`);
    if (Date.now() > deadline) throw new Error(`${who}: checkout is "${status}" after 30 s, not licensed`);
    await page.waitForTimeout(500);
  }
  await page.waitForLoadState('load');
  const text = await step(page, combo, `${who}-licensed`, lang, ['licensed']);
  expect(((await page.locator('#status').textContent()) || '').trim() === w.licensed, `${combo} ${who}: status shown is not "${w.licensed}"`);
  return text;
}

async function flow(browser, lang, size, port) {
  const combo = `${lang}-${size}`;
  const w = WORDS[lang];
  const tag = `${combo.toLowerCase()}-${Date.now().toString(36)}`;
  const result = { steps: [] };
  report.combos[combo] = result;
  const done = (s) => result.steps.push(s);
  const site = await holderSite(combo, port);
  const contexts = [];
  const open = async () => {
    const c = await newContext(browser, lang, size);
    contexts.push(c);
    return c.newPage();
  };
  let current;
  try {
    // 1. Sign up as a rights holder.
    const holder = await open();
    current = holder;
    await signUp(holder, combo, lang, 'holder', 'holder', `holder-${tag}@flows.test`, `权利人 Holder ${combo}`);
    await step(holder, combo, 'holder-dashboard', lang, ['addChannel']);
    done('sign-up');

    // 2. Add a website channel and prove it with the meta tag on the site's home page.
    const site_id = await addChannel(holder, 'website', site.origin);
    await step(holder, combo, 'website-channel', lang, ['step1', 'step2', 'step3']);
    site.token = ((await holder.locator('#token').textContent()) || '').trim();
    expect(site.token.length > 8, `${combo}: no claim token on the channel page`);
    expect(((await holder.locator('#meta-tag').textContent()) || '').includes(site.token), `${combo}: meta tag does not carry the token`);
    await submit(holder, holder.locator('button#verify'));
    await step(holder, combo, 'website-verified', lang, ['verified']);
    expect(await holder.locator('#step-1 .ok').isVisible(), `${combo}: the website is not shown as verified`);
    done('add-channel');
    done('verify-website');

    // 3. Offers: a bad price is refused beside the form, the typed value kept; then add, edit, withdraw.
    const addForm = () => holder.locator(`form[action="/dashboard/channels/${site_id}/offers"]`);
    await addForm().locator('select[name=preset]').selectOption('standard_reprint');
    await addForm().locator('input[name=price]').fill('12,x5');
    await submit(holder, addForm().locator('button'));
    await step(holder, combo, 'offer-bad-price', lang, ['badPrice']);
    expect(await holder.locator('#offer-error').isVisible(), `${combo}: a bad price shows no #offer-error`);
    expect((await addForm().locator('input[name=price]').inputValue()) === '12,x5', `${combo}: the bad price typed was not kept`);
    await addForm().locator('select[name=preset]').selectOption('standard_reprint');
    await addForm().locator('input[name=price]').fill('12.50');
    await submit(holder, addForm().locator('button'));
    await addForm().locator('select[name=preset]').selectOption('commercial');
    await addForm().locator('input[name=price]').fill('99');
    await submit(holder, addForm().locator('button'));
    let offers = holder.locator('#step-2 ul.offers > li:not(.withdrawn)');
    expect((await offers.count()) === 2, `${combo}: ${await offers.count()} live offers after adding two`);
    await step(holder, combo, 'offers-added', lang, ['offerEdit', 'offerWithdraw']);
    // Change the standard offer's price (a change is a new version; the old one shows as withdrawn).
    // Offers are found by price: the list's order is not the order they were added in.
    const standard = offers.filter({ hasText: '12.50' }).first();
    await standard.locator('details').first().locator('summary').click();
    await standard.locator('form[action$="/edit"] input[name=price]').fill('15.00');
    await step(holder, combo, 'offer-edit-open', lang, []);
    await submit(holder, standard.locator('form[action$="/edit"] button'));
    await step(holder, combo, 'offer-edited', lang, ['withdrawn']);
    offers = holder.locator('#step-2 ul.offers > li:not(.withdrawn)');
    expect((await offers.filter({ hasText: '15.00' }).count()) === 1, `${combo}: the edited price 15.00 is not a live offer`);
    expect((await offers.filter({ hasText: '12.50' }).count()) === 0, `${combo}: the old price 12.50 is still live`);
    // Withdraw the commercial offer (the one priced 99).
    const commercial = offers.filter({ hasText: '99' }).first();
    await commercial.locator('details').nth(1).locator('summary').click();
    await submit(holder, commercial.locator('form[action$="/withdraw"] button'));
    await step(holder, combo, 'offer-withdrawn', lang, ['withdrawn']);
    expect((await holder.locator('#step-2 li.withdrawn').count()) === 2, `${combo}: not two withdrawn offers shown`);
    expect((await holder.locator('#step-2 ul.offers > li:not(.withdrawn)').count()) === 1, `${combo}: not one live offer left`);
    done('offers');

    // 4. The embed code goes onto an article of the site.
    site.embed = ((await holder.locator('pre#embed').textContent()) || '').trim();
    expect(site.embed.includes('/seal.js') && site.embed.includes(`data-seal="${site_id}"`), `${combo}: embed code is ${site.embed}`);
    await holder.locator('#step-3').scrollIntoViewIfNeeded();
    await step(holder, combo, 'embed-code', lang, ['step3']);

    // 5. A WeChat channel goes to review; an administrator approves it.
    const wx = await addChannel(holder, 'wechat_official_account', `wx_${tag.replace(/[^a-z0-9]/g, '_')}`);
    await step(holder, combo, 'wechat-channel', lang, ['notVerified', 'reviewSubmit']);
    await submit(holder, holder.locator('button#verify'));
    await step(holder, combo, 'wechat-under-review', lang, ['underReview']);
    expect(((await holder.locator('#status').textContent()) || '').trim() === w.underReview, `${combo}: #status is not "${w.underReview}"`);
    const admin = await open();
    current = admin;
    await admin.goto(`${base}/sign-in`);
    await admin.fill('input[name=email]', adminEmail);
    await admin.fill('input[name=password]', adminPassword);
    await submit(admin, admin.locator('button#submit'));
    if (new URL(admin.url()).pathname !== '/admin') throw new Error(`admin sign-in led to ${admin.url()}`);
    const approve = admin.locator(`form[action="/admin/claims/${wx}/approve"]`);
    const row = admin.locator('tr', { has: approve });
    await row.locator('summary').click();
    await approve.locator('input[name=reason]').fill(`browser run ${combo}: token seen in the profile`);
    await step(admin, combo, 'admin-review', lang, ['channelReviews']);
    await submit(admin, approve.locator('button'));
    await step(admin, combo, 'admin-approved', lang, ['channelReviews']);
    expect((await approve.count()) === 0, `${combo}: the approved channel is still waiting for review`);
    current = holder;
    await holder.goto(`${base}/dashboard/channels/${wx}`);
    await step(holder, combo, 'wechat-verified', lang, ['verified']);
    expect(await holder.locator('#step-1 .ok').isVisible(), `${combo}: the WeChat channel is not verified after approval`);
    done('wechat-review');

    // 6. A guest reads the article; the seal opens (the platform registers the page on first view).
    const reader = await open();
    current = reader;
    const pageErrors = [];
    reader.on('pageerror', (e) => pageErrors.push(String(e)));
    await reader.goto(`${site.origin}/news/1.html`);
    const badge = reader.locator('copyright-seal #badge').first();
    await badge.waitFor({ state: 'visible' });
    await badge.click();
    const panel = reader.locator('copyright-seal #panel').first();
    await panel.waitFor({ state: 'visible' });
    const getLicence = panel.locator('#get-licence');
    await getLicence.waitFor({ state: 'visible' });
    await step(reader, combo, 'seal-panel', null, []);
    const rules = (await panel.locator('#rules').innerText()).trim();
    expect(rules.includes('15.00'), `${combo}: the seal shows rules without the edited price: ${rules}`);
    expect(!rules.includes('99'), `${combo}: the seal still shows the withdrawn offer: ${rules}`);
    expect(pageErrors.length === 0, `${combo}: page errors on the article: ${pageErrors.join('; ')}`);
    done('embed');

    // 7. Guest purchase from the seal, then the letter PDF.
    const [checkout] = await Promise.all([reader.context().waitForEvent('page'), getLicence.click()]);
    current = checkout;
    await checkout.waitForLoadState('load');
    const workId = new URL(checkout.url()).searchParams.get('work');
    expect(!!workId, `${combo}: the licence link names no work: ${checkout.url()}`);
    await buy(checkout, combo, lang, 'guest', { email: `guest-${tag}@flows.test`, name: `访客 Guest ${combo}` });
    const pdfLink = checkout.locator('a[href$="letter.pdf"]').first();
    expect(await pdfLink.isVisible(), `${combo}: no visible letter PDF link on the status page`);
    const href = await pdfLink.getAttribute('href');
    const res = await checkout.request.get(new URL(href, checkout.url()).href);
    const pdf = await res.body();
    const pdfFile = path.join(outDir, `${combo}-letter.pdf`);
    writeFileSync(pdfFile, pdf);
    expect(res.ok() && pdf.subarray(0, 4).toString('latin1') === '%PDF', `${combo}: ${href} is not a PDF (HTTP ${res.status()})`);
    result.pdf = pdfFile;
    result.work = workId;
    done('guest-purchase');
    done('letter-pdf');

    // 8. A licensee signs up, buys, and asks for a refund: the licence is frozen.
    const licensee = await open();
    current = licensee;
    await signUp(licensee, combo, lang, 'licensee', 'licensee', `licensee-${tag}@flows.test`, `被许可人 Licensee ${combo}`);
    await licensee.goto(`${base}/checkout?work=${encodeURIComponent(workId)}`);
    await buy(licensee, combo, lang, 'licensee', null);
    await licensee.goto(`${base}/dashboard`);
    const mine = licensee.locator('#licences tbody tr').filter({ has: licensee.locator('form[action$="/object"]') }).first();
    await step(licensee, combo, 'licensee-dashboard', lang, ['refundRequest']);
    await mine.locator('summary').click();
    await mine.locator('textarea[name=reason]').fill(`browser run ${combo}: bought the wrong work`);
    await step(licensee, combo, 'refund-form', lang, []);
    await submit(licensee, mine.locator('form[action$="/object"] button'));
    await step(licensee, combo, 'refund-requested', lang, ['frozen']);
    const statuses = await licensee.locator('#licences tbody tr td[data-label]:nth-child(5)').allInnerTexts();
    result.licence_statuses = statuses;
    expect(statuses.some((s) => s.includes(w.frozen)), `${combo}: no licence shows "${w.frozen}" after the refund request: ${statuses}`);
    done('refund');
  } catch (e) {
    failures.push(`${combo}: ${e && e.stack ? e.stack : e}${current ? ` (at ${current.isClosed() ? 'closed page' : current.url()})` : ''}`);
    if (current && !current.isClosed()) {
      await current.screenshot({ path: path.join(outDir, `${combo}-failure.png`), fullPage: true }).catch(() => {});
    }
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
    await site.close();
  }
}

/** The demo holder's works (3,000 bulk works and the demo's own) paged to the end by "next page". */
async function paging(browser) {
  const lang = 'zh-CN';
  const combo = 'paging-zh-CN-desktop';
  const context = await newContext(browser, lang, 'desktop');
  const page = await context.newPage();
  const result = { pages: 0, first: '', last: '', total: 0, distinct: 0 };
  const seen = new Set(); // each work's link: keyset paging must neither repeat nor skip one
  report.paging = result;
  try {
    await page.goto(`${base}/sign-in`);
    await page.fill('input[name=email]', 'holder-a@demo.test');
    await page.fill('input[name=password]', 'demo-password');
    await submit(page, page.locator('button#submit'));
    await step(page, combo, 'dashboard', lang, ['works']);
    const count = ((await page.locator('#works h2 .small').textContent()) || '').match(/([\d,]+)/);
    result.dashboard_count = count ? Number(count[1].replace(/,/g, '')) : 0;
    await page.goto(`${base}/dashboard/works`);
    const parse = (s) => {
      const m = s.match(/第 ([\d,]+)–([\d,]+) 条，共 ([\d,]+) 条/);
      return m ? m.slice(1).map((n) => Number(n.replace(/,/g, ''))) : null;
    };
    let prevTo = 0;
    for (;;) {
      const showing = ((await page.locator('#showing').textContent()) || '').trim();
      const nums = parse(showing);
      result.pages += 1;
      if (!expect(!!nums, `${combo}: page ${result.pages} shows "${showing}"`)) break;
      const [from, to, total] = nums;
      expect(from === prevTo + 1, `${combo}: page ${result.pages} starts at ${from}, after ${prevTo}`);
      expect(to - from + 1 === 50 || to === total, `${combo}: page ${result.pages} lists ${from}–${to}`);
      const rows = await page.locator('table.list tbody tr').count();
      expect(rows === to - from + 1, `${combo}: page ${result.pages} has ${rows} rows for ${from}–${to}`);
      const links = await page.locator('table.list tbody tr td:first-child a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      for (const href of links) {
        expect(!seen.has(href), `${combo}: ${href} listed twice (again on page ${result.pages})`);
        seen.add(href);
      }
      if (result.pages === 1) {
        result.first = showing;
        await step(page, combo, 'works-first', lang, ['next']);
      }
      prevTo = to;
      result.total = total;
      const next = page.locator('a#next');
      if ((await next.count()) === 0) {
        result.last = showing;
        await step(page, combo, 'works-last', lang, []);
        break;
      }
      if (result.pages > 200) throw new Error('more than 200 pages: the pager does not end');
      await submit(page, next);
    }
    result.last_to = prevTo;
    result.distinct = seen.size;
    expect(result.total >= 3000 && prevTo === result.total, `${combo}: paging ended at ${prevTo} of ${result.total}`);
    await context.close();

    // The same list on a phone, in English.
    const phone = await newContext(browser, 'en', 'phone');
    const p2 = await phone.newPage();
    await p2.goto(`${base}/sign-in`);
    await p2.fill('input[name=email]', 'holder-a@demo.test');
    await p2.fill('input[name=password]', 'demo-password');
    await submit(p2, p2.locator('button#submit'));
    await step(p2, 'paging-en-phone', 'dashboard', 'en', ['works']);
    await p2.goto(`${base}/dashboard/works`);
    await step(p2, 'paging-en-phone', 'works-first', 'en', ['works', 'next']);
    result.phone_first = ((await p2.locator('#showing').textContent()) || '').trim();
    expect(/^1–50 of [\d,]+$/.test(result.phone_first), `paging-en-phone: first page shows "${result.phone_first}"`);
    await phone.close();
  } catch (e) {
    failures.push(`${combo}: ${e && e.stack ? e.stack : e} (at ${page.isClosed() ? 'closed page' : page.url()})`);
    if (!page.isClosed()) await page.screenshot({ path: path.join(outDir, `${combo}-failure.png`), fullPage: true }).catch(() => {});
  }
}

const { chromium } = loadPlaywright();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  for (const size of Object.keys(SIZES)) {
    for (const lang of LANGS) {
      const port = sitePorts.shift() ?? 0;
      if (wanted(`${lang}-${size}`)) await flow(browser, lang, size, port);
    }
  }
  if (wanted('paging')) await paging(browser);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify({ ok: failures.length === 0, failures, ...report }) + '\n');
if (failures.length) {
  process.stderr.write(failures.join('\n') + '\n');
  process.exit(1);
}

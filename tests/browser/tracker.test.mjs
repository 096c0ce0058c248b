// The tracker in a real browser (headless Debian Chromium) against the
// local stack: each test drives a page of the demo site and asserts on the
// rows that landed in the AE stand-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CHROME_UA, ENV, launch, rowsFor, startSite } from './harness.mjs';

const RUN = '/b' + randomUUID().slice(0, 8);
let browser, site, origin, context;

before(async () => {
  site = await startSite();
  origin = `http://site.demo.localhost:${site.address().port}`;
  browser = await launch();
  context = await browser.newContext({ userAgent: CHROME_UA });
});

after(async () => {
  await browser?.close();
  site?.close();
});

const names = (rows) => rows.map((r) => `${r.blob1} ${r.blob2}`);
const props = (row) => (row.blob20 ? JSON.parse(row.blob20) : {});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function open(path, opts = {}, ctx = context) {
  const page = await ctx.newPage();
  await page.goto(origin + path, { waitUntil: 'load', ...opts });
  return page;
}

test('first pageview carries page, referrer and client fields', async () => {
  const p = `${RUN}/first`;
  const page = await open(p, { referer: 'https://www.google.com/search?q=beacon' });
  const rows = await rowsFor(p, 1);
  await page.close();
  assert.deepEqual(names(rows), [`pageview ${p}`]);
  const r = rows[0];
  assert.equal(r.blob3, 'site.demo.localhost');
  assert.equal(r.blob5, 'google.com/search');
  assert.equal(r.blob6, 'Google');
  assert.equal(r.blob7, 'Organic Search');
  assert.equal(r.blob16, 'Chrome');
  assert.equal(r.blob17, '156.0');
  assert.equal(r.blob18, 'GNU/Linux');
  assert.equal(r.double3, 1); // Desktop
});

test('SPA navigation: pushState, replaceState without duplicates, popstate', async () => {
  const p = `${RUN}/spa`;
  const page = await open(`${p}/start`);
  await rowsFor(p, 1);
  await page.evaluate((p) => history.pushState({}, '', `${p}/two`), p);
  await rowsFor(p, 2);
  await page.evaluate((p) => history.pushState({}, '', `${p}/three`), p);
  await rowsFor(p, 3);
  await page.evaluate(() => history.replaceState({ same: 1 }, '', location.href));
  await page.evaluate(() => history.back());
  await rowsFor(p, 7);
  await page.close();
  // Each navigation first closes the previous page's engagement, on that
  // page; closing the tab sends the last one.
  const rows = await rowsFor(p, 8);
  assert.deepEqual(names(rows.filter((r) => r.blob1 === 'pageview')), [
    `pageview ${p}/start`, `pageview ${p}/two`, `pageview ${p}/three`, `pageview ${p}/two`,
  ]);
  assert.deepEqual(names(rows.filter((r) => r.blob1 === 'engagement')), [
    `engagement ${p}/start`, `engagement ${p}/two`, `engagement ${p}/three`, `engagement ${p}/two`,
  ]);
});

test('hash mode counts fragment routes as pages', async () => {
  const p = `${RUN}/hash`;
  const page = await open(`${p}?a=hash#/home`);
  await rowsFor(p, 1);
  await page.evaluate(() => { location.hash = '#/settings'; });
  const rows = await rowsFor(p, 3);
  await page.close();
  assert.deepEqual(names(rows.filter((r) => r.blob1 === 'pageview')), [`pageview ${p}#/home`, `pageview ${p}#/settings`]);
  assert.deepEqual(names(rows.filter((r) => r.blob1 === 'engagement')), [`engagement ${p}#/home`]);
});

test('without hash mode, fragment changes are not pageviews', async () => {
  const p = `${RUN}/nohash`;
  const page = await open(`${p}#a`);
  await rowsFor(p, 1);
  await page.evaluate(() => { location.hash = '#b'; });
  await page.evaluate(() => beacon('Marker'));
  const rows = await rowsFor(p, 2);
  await page.close();
  assert.deepEqual(names(rows), [`pageview ${p}`, `Marker ${p}`]);
});

test('custom event with props, revenue and callback', async () => {
  const p = `${RUN}/custom`;
  const page = await open(p);
  const called = await page.evaluate(() => new Promise((resolve) =>
    beacon('Purchase', { props: { plan: 'pro', seats: 3 }, revenue: { amount: 9.99, currency: 'EUR' }, callback: () => resolve(true) })));
  assert.equal(called, true);
  await page.evaluate(() => plausible('Alias Event', { props: { via: 'plausible' } }));
  const rows = await rowsFor(p, 3);
  await page.close();
  const purchase = rows.find((r) => r.blob1 === 'Purchase');
  assert.deepEqual(props(purchase), { plan: 'pro', seats: '3' });
  assert.equal(purchase.double6, 9.99);
  assert.ok(purchase.double7 > 0);
  assert.deepEqual(props(rows.find((r) => r.blob1 === 'Alias Event')), { via: 'plausible' });
});

test('calls queued before the script loads are replayed after the pageview', async () => {
  const p = `${RUN}/queue`;
  const page = await open(`${p}?body=queue`);
  const rows = await rowsFor(p, 3);
  await page.close();
  assert.deepEqual(names(rows).sort(), [`Queued ${p}`, `Queued Plausible ${p}`, `pageview ${p}`].sort());
  assert.deepEqual(props(rows.find((r) => r.blob1 === 'Queued')), { early: 'yes' });
});

test('an outbound click is recorded and still navigates', async () => {
  const p = `${RUN}/outbound`;
  const page = await open(`${p}?body=links`);
  await rowsFor(p, 1);
  await Promise.all([page.waitForURL(/elsewhere\.localhost.*\/landing/), page.click('#out')]);
  assert.match(await page.textContent('h1'), /Landed/);
  const rows = await rowsFor(p, 2);
  await page.close();
  const out = rows.find((r) => r.blob1 === 'Outbound Link: Click');
  assert.ok(out, names(rows).join(', '));
  assert.match(props(out).url, /^http:\/\/elsewhere\.localhost:\d+\/landing$/);
});

test('a middle click on an outbound link counts; an inner link does not', async () => {
  const p = `${RUN}/middle`;
  const page = await open(`${p}?body=links`);
  await rowsFor(p, 1);
  await page.click('#out', { button: 'middle' });
  await rowsFor(p, 2);
  await page.evaluate(() => document.getElementById('inner').addEventListener('click', (e) => e.preventDefault()));
  await page.click('#inner');
  await page.evaluate(() => beacon('Marker'));
  const rows = await rowsFor(p, 3);
  await page.close();
  assert.deepEqual(names(rows).map((n) => n.split(' /')[0]), ['pageview', 'Outbound Link: Click', 'Marker']);
});

test('a file download is recorded', async () => {
  const p = `${RUN}/download`;
  const page = await open(`${p}?body=links`);
  await rowsFor(p, 1);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#file')]);
  assert.equal(download.suggestedFilename(), 'report.pdf');
  const rows = await rowsFor(p, 2);
  await page.close();
  const file = rows.find((r) => r.blob1 === 'File Download');
  assert.ok(file, names(rows).join(', '));
  assert.match(props(file).url, /\/files\/report\.pdf$/);
});

test('tagged elements send their event and props (Beacon and Plausible classes)', async () => {
  const p = `${RUN}/tagged`;
  const page = await open(`${p}?body=links`);
  await rowsFor(p, 1);
  await page.click('#signup');
  await page.click('#nested');
  const rows = await rowsFor(p, 3);
  await page.close();
  assert.deepEqual(props(rows.find((r) => r.blob1 === 'Signup')), { plan: 'pro' });
  assert.deepEqual(props(rows.find((r) => r.blob1 === 'Newsletter Signup')), { list: 'weekly' });
});

test('a 404 page reports a 404 event', async () => {
  const p = `${RUN}/missing-page`;
  const page = await open(`${p}?body=notfound`);
  const rows = await rowsFor(p, 2);
  await page.close();
  const nf = rows.find((r) => r.blob1 === '404');
  assert.ok(nf, names(rows).join(', '));
  assert.deepEqual(props(nf), { path: p });
});

test('engagement (time on page, scroll depth) is sent when the tab closes', async () => {
  const p = `${RUN}/engage`;
  const page = await open(`${p}?body=tall`);
  await rowsFor(p, 1);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await sleep(1200);
  await page.close({ runBeforeUnload: true });
  const rows = await rowsFor(p, 2);
  await sleep(500); // a duplicate engagement would land by now
  const engagements = (await rowsFor(p, 2)).filter((r) => r.blob1 === 'engagement');
  assert.equal(engagements.length, 1, names(rows).join(', '));
  const e = engagements[0];
  assert.ok(e.double9 >= 1000, `engagement time ${e.double9}`);
  assert.ok(e.double10 >= 90, `scroll depth ${e.double10}`);
  assert.equal(rows.filter((r) => r.blob1 === 'pageview').length, 1);
});

// Exclusion rules: visit the excluded page, then a control page; once the
// control's row is in, the excluded page's absence is meaningful.
async function excluded(path, opts = {}, ctx = context) {
  const page = await open(path, opts, ctx);
  await sleep(300);
  await page.close();
  const control = `${RUN}/control-${randomUUID().slice(0, 6)}`;
  const c = await open(control);
  assert.equal((await rowsFor(control, 1)).length, 1);
  await c.close();
  return rowsFor(path.split('?')[0], 0, 0);
}

test('exclusion: localhost pages unless data-local', async () => {
  const port = site.address().port;
  const p = `${RUN}/local`;
  const page = await context.newPage();
  await page.goto(`http://localhost:${port}${p}`);
  await sleep(300);
  await page.goto(`http://localhost:${port}${p}-allowed?a=local`);
  const rows = await rowsFor(p, 1);
  await page.close();
  assert.deepEqual(names(rows), [`pageview ${p}-allowed`]);
});

test('exclusion: automated browsers (navigator.webdriver)', async () => {
  const ctx = await browser.newContext({ userAgent: CHROME_UA });
  await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => true }));
  assert.deepEqual(await excluded(`${RUN}/webdriver`, {}, ctx), []);
  await ctx.close();
});

test('exclusion: the owner opt-out localStorage.beacon_ignore', async () => {
  const ctx = await browser.newContext({ userAgent: CHROME_UA });
  await ctx.addInitScript(() => localStorage.setItem('beacon_ignore', 'true'));
  assert.deepEqual(await excluded(`${RUN}/ignored`, {}, ctx), []);
  await ctx.close();
});

test('exclusion: data-exclude and data-include globs', async () => {
  assert.deepEqual(await excluded(`${RUN}/admin/users?exclude=${RUN}/admin/**`), []);
  assert.deepEqual(await excluded(`${RUN}/blog/x?include=${RUN}/docs/*`), []);
  const p = `${RUN}/docs/intro`;
  const page = await open(`${p}?include=${RUN}/docs/*&exclude=${RUN}/admin/**`);
  const rows = await rowsFor(p, 1);
  await page.close();
  assert.deepEqual(names(rows), [`pageview ${p}`]);
});

test('the official @plausible-analytics/tracker npm package works against Beacon', async () => {
  const p = `${RUN}/plausible-npm`;
  const page = await open(p);
  const rows = await rowsFor(p, 2);
  await page.close();
  assert.deepEqual(names(rows).sort(), [`Signup ${p}`, `pageview ${p}`]);
  const signup = rows.find((r) => r.blob1 === 'Signup');
  assert.deepEqual(props(signup), { plan: 'pro' });
  assert.equal(signup.double6, 12.5);
});

test('no cookies or storage writes on the visitor', async () => {
  const ctx = await browser.newContext({ userAgent: CHROME_UA });
  const p = `${RUN}/privacy`;
  const page = await open(`${p}?body=links`, {}, ctx);
  await page.click('#signup');
  await rowsFor(p, 2);
  assert.deepEqual(await ctx.cookies(), []);
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
  await ctx.close();
});

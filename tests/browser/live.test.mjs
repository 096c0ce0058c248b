// The live view from a real browser (headless Debian Chromium): a page
// that cannot set headers on a WebSocket offers its API key as a
// subprotocol. (What the views hold is tests/e2e/test_live.py's: there
// the test sets the clock its events carry.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CHROME_UA, ENV, launch } from './harness.mjs';

let browser, context;

before(async () => {
  browser = await launch();
  context = await browser.newContext({ userAgent: CHROME_UA });
});

after(async () => {
  await browser?.close();
});

const LIVE = `${ENV.QUERY_URL.replace(/^http/, 'ws')}/api/live?site_id=${encodeURIComponent(ENV.DEMO_SITE_ID)}`;

// Opens the live view in the page with `protocols`; resolves with the
// protocol the handshake picked and the first view, or with `failed` when
// the browser refused or lost the socket.
function watch(page, protocols) {
  return page.evaluate(({ url, protocols }) => new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    const done = (result) => { clearTimeout(timer); ws.close(); resolve(result); };
    const timer = setTimeout(() => done({ failed: 'no view' }), 15000);
    ws.onmessage = (m) => done({ protocol: ws.protocol, view: JSON.parse(m.data) });
    ws.onclose = (e) => done({ failed: `closed ${e.code}` });
  }), { url: LIVE, protocols });
}

test('a page watches the live view with its key as a subprotocol', async () => {
  const page = await context.newPage();
  // A page without the tracker: a visit of this test's would join the
  // tracker tests' visitor (same address and browser).
  await page.goto(`${ENV.QUERY_URL}/healthz`, { waitUntil: 'load' });
  const seen = await watch(page, ['beacon.live', `beacon.key.${ENV.DEMO_API_KEY}`]);
  assert.equal(seen.failed, undefined, seen.failed);
  assert.equal(seen.protocol, 'beacon.live');
  assert.equal(seen.view.pageviews_per_minute.length, 30, JSON.stringify(seen.view));

  // Another tenant's key: refused (a browser sees only the failed handshake).
  const other = await watch(page, ['beacon.live', `beacon.key.${ENV.OTHER_API_KEY}`]);
  assert.match(other.failed ?? '', /closed 1006/);
  // Without `beacon.live` the 101 names no protocol, which a browser that
  // offered one refuses: why clients offer both.
  const keyOnly = await watch(page, [`beacon.key.${ENV.DEMO_API_KEY}`]);
  assert.match(keyOnly.failed ?? '', /closed 1006/);
  await page.close();
});

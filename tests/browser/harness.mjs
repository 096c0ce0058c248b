// Browser-test harness: the stack's URLs (dev.env contract), a demo site
// on its own *.localhost origin, headless Debian Chromium via
// playwright-core, and reads of the AE stand-in.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');

export function loadEnv() {
  const file = process.env.BEACON_ENV_FILE || path.join(ROOT, '.beacon/dev.env');
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return env;
}

export const ENV = loadEnv();
const ingest = new URL(ENV.INGEST_URL);
export const SCRIPT_ORIGIN = `http://${ENV.DEMO_HOST}:${ingest.port}`;
export const CHROME_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

// The Plausible npm tracker, bundled for the browser once.
let plausibleBundle;
function plausibleNpm() {
  plausibleBundle ??= execFileSync(path.join(ROOT, 'node_modules/.bin/esbuild'), [
    path.join(ROOT, 'node_modules/@plausible-analytics/tracker/plausible.js'),
    '--bundle', '--format=iife', '--global-name=PlausibleNpm', '--log-level=warning',
  ]).toString();
  return plausibleBundle;
}

// Pages of the demo site. Query: a=attr1,attr2 adds data-* flags to the
// script tag; exclude=/include= set globs; body= picks a fixture.
const FIXTURES = {
  plain: '<h1>Demo</h1>',
  links: `<a id="out" href="http://elsewhere.localhost:PORT/landing">out</a>
    <a id="file" href="/files/report.pdf">report</a>
    <a id="inner" href="/inner">inner</a>
    <button id="signup" class="beacon-event-name=Signup beacon-event-plan=pro">Sign up</button>
    <span class="plausible-event-name=Newsletter+Signup plausible-event-list=weekly"><b id="nested">join</b></span>`,
  queue: `<script>window.beacon=window.plausible=window.beacon||function(){(window.beacon.q=window.beacon.q||[]).push(arguments)}</script>
    <script>beacon('Queued', {props: {early: 'yes'}}); plausible('Queued Plausible')</script>`,
  notfound: `<script>window.beacon=window.plausible=window.beacon||function(){(window.beacon.q=window.beacon.q||[]).push(arguments)}</script>
    <script>beacon('404', {props: {path: location.pathname}})</script><h1>Not found</h1>`,
  tall: '<div style="height:5000px">tall</div><p id="end">end</p>',
};

export function startSite() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const port = server.address().port;
    if (url.pathname === '/files/report.pdf') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename=report.pdf' });
      return res.end('%PDF-1.4 fake');
    }
    if (url.pathname === '/landing') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<h1>Landed</h1>');
    }
    if (url.pathname.endsWith('/plausible-npm')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<!doctype html><title>npm</title><script>${plausibleNpm()}</script>
        <script>PlausibleNpm.init({domain: '${ENV.DEMO_DOMAIN}', endpoint: '${SCRIPT_ORIGIN}/api/event', outboundLinks: true});
        PlausibleNpm.track('Signup', {props: {plan: 'pro'}, revenue: {amount: 12.5, currency: 'USD'}});</script>`);
    }
    const attrs = (url.searchParams.get('a') || '').split(',').filter(Boolean).map((a) => ` data-${a}`).join('');
    const globs = ['exclude', 'include'].filter((k) => url.searchParams.has(k))
      .map((k) => ` data-${k}="${url.searchParams.get(k)}"`).join('');
    const body = (FIXTURES[url.searchParams.get('body') || 'plain'] || '').replaceAll('PORT', String(port));
    res.writeHead(url.pathname.includes('missing') ? 404 : 200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html><head><title>Demo</title></head><body>${body}
      <script defer src="${SCRIPT_ORIGIN}/js/script.js"${attrs}${globs}></script></body></html>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      // playwright gives each launch a fresh temporary profile (user data dir).
      '--disable-component-update', '--disable-sync',
      // A real visitor's browser has navigator.webdriver false; the
      // tracker's automation rule gets its own test with it forced on.
      '--disable-blink-features=AutomationControlled',
    ],
  });
}

export async function sql(query) {
  const r = await fetch(ENV.AE_SQL_URL, {
    method: 'POST', body: `${query} FORMAT JSON`, headers: { authorization: `Bearer ${ENV.AE_SQL_TOKEN}` },
  });
  if (!r.ok) throw new Error(`AE SQL ${r.status}: ${await r.text()}`);
  return (await r.json()).data;
}

// Event rows (not session rows) of the demo site whose pathname starts with `prefix`, once at least
// `count` are there (or after the timeout).
export async function rowsFor(prefix, count, timeoutMs = 15000) {
  const q = `SELECT * FROM EVENTS WHERE index1 = '${ENV.DEMO_SITE_ID}' AND double1 = 1 AND startsWith(blob2, '${prefix}') ORDER BY double11, blob1`;
  const until = Date.now() + timeoutMs;
  let rows = await sql(q);
  while (rows.length < count && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    rows = await sql(q);
  }
  return rows;
}

// Beacon's tracker: Plausible-compatible events, no cookies, no storage
// writes. Built (minified) by workers/ingest/build.rs with esbuild; budget
// 1,200 bytes gzipped (scripts/bench tracker, tests/e2e/test_tracker.py).
((w, d, l, nav) => {
  const s = d.currentScript;
  const attr = (k) => s.getAttribute('data-' + k);
  const api = attr('api') || new URL('/api/event', s.src);
  // The site comes from the hostname the script is served on; data-domain
  // is sent only when set (the server checks it against that site).
  const domain = attr('domain');
  const hashMode = attr('hash') != null;
  const files = RegExp('\\.(' + (attr('file-types') ||
    'pdf,xlsx?,docx?,txt,rtf,csv,exe,key,pp[st]x?,7z,pkg,rar,gz,zip,avi,mov,mp4,mpe?g,wmv,midi?,mp3,wav,wma,dmg,iso,msi').replace(/,/g, '|') + ')$', 'i');
  let lastUrl, shown, visible = 0, depth = 0;

  // data-include / data-exclude: comma-separated path globs; * within a
  // path segment, ** across segments.
  const globs = (list) => list && list.split(',').some((g) =>
    RegExp('^' + g.trim().replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '.*') + '$').test(l.pathname));

  const ignored = () => {
    try { if (localStorage.beacon_ignore == 'true') return 1; } catch (e) {}
    return nav.webdriver ||
      // file: URLs have an empty hostname, caught by the `$` alternative.
      (attr('local') == null && /^(localhost|127\.|\[::1\]|$)/.test(l.hostname)) ||
      (attr('include') && !globs(attr('include'))) || globs(attr('exclude'));
  };

  // send(name, {props, revenue, callback, interactive}, extra fields).
  // sendBeacon survives navigation, so the callback runs once the event is
  // queued. A string body goes as text/plain: a simple request, no CORS
  // preflight.
  const send = (name, o = {}, extra) => {
    if (!ignored()) {
      const body = JSON.stringify({
        n: name, u: l.href, d: domain, r: d.referrer, h: hashMode,
        p: o.props, $: o.revenue, i: o.interactive, ...extra,
      });
      nav.sendBeacon(api, body);
    }
    o.callback && o.callback();
  };

  // Engagement: visible time and deepest scroll, sent when the page is
  // hidden or left; it extends the visit without counting as a pageview.
  // visibilitychange fires on closing and leaving too (pagehide would add a
  // second, near-empty engagement event right after it).
  const scroll = () => {
    // Overscroll can pass 100; the server clamps.
    depth = Math.max(depth, (w.scrollY + w.innerHeight) / d.documentElement.scrollHeight * 100 | 0);
  };
  const flush = () => {
    if (shown) visible += Date.now() - shown;
    shown = d.visibilityState == 'visible' && Date.now();
    // Sent for the page being left: after pushState, location is already the next one.
    if (lastUrl && visible) send('engagement', {}, { u: lastUrl, e: visible, sd: depth });
    visible = 0;
  };

  const page = () => {
    const url = hashMode ? l.href : l.href.split('#')[0];
    if (url != lastUrl) {
      flush();
      lastUrl = url;
      depth = 0;
      scroll();
      send('pageview');
    }
  };

  for (const m of ['pushState', 'replaceState']) {
    const orig = history[m];
    history[m] = function () { orig.apply(this, arguments); page(); };
  }
  const on = (target, type, fn) => target.addEventListener(type, fn);
  // popstate also fires on fragment navigation, which hash mode counts.
  on(w, 'popstate', page);
  on(w, 'scroll', scroll);
  on(d, 'visibilitychange', flush);

  // Tagged elements (class "beacon-event-name=Signup beacon-event-plan=pro",
  // or Plausible's "plausible-event-…"), outbound links and file downloads.
  // sendBeacon outlives navigation, so clicks are never held back.
  const click = (e) => {
    // auxclick: only the middle button (a right click opens a menu).
    if (e.button > 1) return;
    let name, props = {}, el = e.target;
    for (; el && el.classList && !name; el = el.parentNode) {
      for (const c of el.classList) {
        const m = c.match(/^(?:beacon|plausible)-event-(.+?)=(.+)/);
        const v = m && m[2].replace(/\+/g, ' ');
        if (m) m[1] == 'name' ? name = v : props[m[1]] = v;
      }
    }
    const a = e.target.closest?.('a[href]');
    const file = a && files.test(a.pathname);
    if (a && !name && (file || a.host != l.host)) {
      name = file ? 'File Download' : 'Outbound Link: Click';
      props = { url: a.href };
    }
    if (name) send(name, { props });
  };
  on(d, 'click', click);
  on(d, 'auxclick', click);
  on(d, 'submit', click);

  // The snippet queues calls made before load in .q; they are replayed
  // after the first pageview. window.plausible is an alias.
  // Beacon's snippet points both names at one stub; Plausible's sets only
  // window.plausible.
  const queue = (w.beacon || w.plausible)?.q || [];
  w.beacon = w.plausible = send;
  page();
  for (const args of queue) send(...args);
})(window, document, location, navigator);

//! Sessions, with Plausible's semantics, as a pure state machine.
//!
//! A session continues while the visitor's last event is at most 30 minutes
//! old. It is a bounce while it has fewer than two pageviews and no
//! interactive custom event (not `engagement`, not `i: false`), as
//! Plausible's session store has it since v3.1. Duration is last event −
//! first event,
//! engagement aside: as in Plausible, an engagement event keeps the
//! session open for another 30 minutes but changes none of its figures
//! (no duration, no pageview or event, no rows but its own), and one with
//! no visit to keep open is dropped. Entry page =
//! first pageview's path, exit page = last, each with its hostname.
//! Visit attributes (source, UTMs, geo, device…) are fixed at the start and
//! stamped on every event row of the session.
//!
//! Analytics Engine rows are immutable, so each change writes a `-1` row
//! cancelling the session's previous state and a `+1` row with the new one
//! (see `beacon_types::slots`). The caller (the site object) keeps the
//! [`Session`] values in storage and writes the rows [`track`] returns.

pub mod live;

use beacon_types::slots::{encode_event, encode_session, id_from_digest, Entry};
use beacon_types::{DataPoint, Event, SessionRow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Inactivity after which the next event starts a new session, ms.
pub const TIMEOUT_MS: u64 = 30 * 60 * 1000;

/// An open session, as the site object stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The state its latest `+1` row holds.
    pub row: SessionRow,
    /// The first event (props cleared): the visit attributes.
    pub visit: Event,
    /// Latest event time, engagement included, Unix ms: the session lives
    /// 30 minutes past it.
    pub last_ms: u64,
    /// Latest time of an event other than engagement, Unix ms: duration is
    /// measured to it. (0 in sessions stored before it was kept: their
    /// duration is measured to their next event.)
    #[serde(default)]
    pub end_ms: u64,
    /// Time of the latest pageview, so a late, out-of-order pageview does
    /// not become the exit page.
    pub exit_ms: u64,
    /// (time, name, path) of the latest events, to ignore exact repeats.
    pub recent: Vec<(u64, String, String)>,
}

impl Session {
    /// Where the session entered, for its event rows. Sessions stored before
    /// the entry hostname was kept have the visit's.
    pub fn entry(&self) -> Entry<'_> {
        Entry { page: &self.row.entry_page, hostname: self.row.entry_hostname_or(&self.visit.hostname), session_id: self.row.id }
    }

    /// Whether an event at `at_ms` still belongs to this session.
    pub fn is_live_at(&self, at_ms: u64) -> bool {
        at_ms <= self.last_ms.saturating_add(TIMEOUT_MS) && at_ms.saturating_add(TIMEOUT_MS) >= self.row.start_ms
    }
}

/// What one event does: the session to store (if any) and the rows to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    /// The visitor's session after the event (the one it had, if the event
    /// changed none); `None` when it has none.
    pub session: Option<Session>,
    /// Rows to write, in order: cancel, new state, event.
    pub rows: Vec<DataPoint>,
}

/// Session id: a hash of visitor and start, 52 bits like every id in AE.
pub fn session_id(visitor_id: u64, start_ms: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(visitor_id.to_be_bytes());
    h.update(start_ms.to_be_bytes());
    id_from_digest(&h.finalize())
}

/// Applies `event` to the visitor's `current` session (if any). The event
/// gets the session's visit attributes; the rows include its event row.
pub fn track(current: Option<Session>, mut event: Event) -> Update {
    let at = event.timestamp_ms;
    let mut session = match current {
        Some(s) if s.is_live_at(at) => s,
        // Late by more than a visit's timeout (a delayed or retried
        // delivery): it belongs to an earlier visit, whose state is gone.
        // Starting a visit for it would count one that never happened (the
        // same one twice, if it was that visit's first event) and end the
        // current one; it is written as ingest writes an event with no site
        // object, and the current visit is kept. Engagement needs a visit.
        Some(s) if at.saturating_add(TIMEOUT_MS) < s.row.start_ms => {
            let rows = if event.is_engagement() { Vec::new() } else { vec![encode_event(&event, Entry::default())] };
            return Update { session: Some(s), rows };
        }
        // Engagement alone opens no visit, and Plausible drops it
        // (`no_session_for_engagement`): its figures are per visit, and rows
        // without one would pool on session id 0 as one made-up visit in
        // scroll depth and time on page. The ended visit stays stored, so a
        // late repeat of its events is still known as one.
        ended if event.is_engagement() => return Update { session: ended, rows: Vec::new() },
        _ => return start(event),
    };

    let fingerprint = (at, event.name.clone(), event.pathname.clone());
    adopt_visit(&mut event, &session.visit);
    let repeat = session.recent.contains(&fingerprint);
    if !repeat {
        session.last_ms = session.last_ms.max(at);
        remember(&mut session.recent, fingerprint);
    }
    if repeat || event.is_engagement() {
        // An exact repeat (a retried beacon) is recorded but changes nothing;
        // Plausible's engagement only keeps the visit open. Either way the
        // state, and so its sign rows, stay as they were.
        let row = encode_event(&event, session.entry());
        return Update { session: Some(session), rows: vec![row] };
    }

    let before = session.row.clone();
    let row = &mut session.row;
    // Out of order: an earlier event arrived late and starts the visit.
    let earliest = at < row.start_ms;
    if earliest {
        row.start_ms = at;
    }
    // The entry is the first pageview: one that arrived late, or the first
    // of a visit that began with a custom event (Plausible's entry_page "").
    if event.is_pageview() && (earliest || row.entry_page.is_empty()) {
        row.entry_page = event.pathname.clone();
        row.entry_hostname = event.hostname.clone();
    }
    session.end_ms = session.end_ms.max(at);
    if event.is_pageview() {
        row.pageviews = row.pageviews.saturating_add(1);
        if at >= session.exit_ms {
            session.exit_ms = at;
            row.exit_page = event.pathname.clone();
            row.exit_hostname = event.hostname.clone();
        }
    }
    row.events = row.events.saturating_add(1);
    // Plausible's rule: a second pageview, or an interactive custom event,
    // and the visit is no bounce (a lone pageview's flag does not count).
    if row.pageviews >= 2 || interactive_custom(&event) {
        row.is_bounce = false;
    }
    row.duration_s = session.end_ms.saturating_sub(row.start_ms) / 1000;

    let mut rows = Vec::with_capacity(3);
    if session.row != before {
        rows.push(encode_session(&session.visit, &before, -1.0, at));
        rows.push(encode_session(&session.visit, &session.row, 1.0, at));
    }
    rows.push(encode_event(&event, session.entry()));
    Update { session: Some(session), rows }
}

/// A custom event the visitor did (not a pageview, nor one sent with
/// `i: false`): it makes a visit no bounce. Engagement never reaches here.
fn interactive_custom(event: &Event) -> bool {
    event.interactive && !event.is_pageview()
}

fn start(event: Event) -> Update {
    let at = event.timestamp_ms;
    let pageview = event.is_pageview();
    // Pages come from pageviews only: a visit that begins with a custom
    // event has no entry or exit page until its first pageview, as in
    // Plausible (whose page breakdowns leave such visits out).
    let (page, host) = if pageview { (event.pathname.clone(), event.hostname.clone()) } else { (String::new(), String::new()) };
    let row = SessionRow {
        id: session_id(event.visitor_id, at),
        start_ms: at,
        entry_page: page.clone(),
        exit_page: page,
        entry_hostname: host.clone(),
        exit_hostname: host,
        is_bounce: !interactive_custom(&event),
        duration_s: 0,
        pageviews: u32::from(pageview),
        events: 1,
    };
    let mut visit = event.clone();
    visit.props.clear();
    visit.revenue = None;
    let session = Session {
        row,
        visit,
        last_ms: at,
        end_ms: at,
        exit_ms: if pageview { at } else { 0 },
        recent: vec![(at, event.name.clone(), event.pathname.clone())],
    };
    let rows = vec![encode_session(&session.visit, &session.row, 1.0, at), encode_event(&event, session.entry())];
    Update { session: Some(session), rows }
}

/// How many recent events a session remembers to spot repeats.
const RECENT: usize = 8;

fn remember(recent: &mut Vec<(u64, String, String)>, fingerprint: (u64, String, String)) {
    if recent.len() >= RECENT {
        recent.remove(0);
    }
    recent.push(fingerprint);
}

/// Stamps the session's visitor and visit attributes on a later event of
/// it (the visitor id too: after midnight the same visitor hashes anew).
fn adopt_visit(event: &mut Event, visit: &Event) {
    event.visitor_id = visit.visitor_id;
    event.referrer = visit.referrer.clone();
    event.source = visit.source.clone();
    event.channel = visit.channel.clone();
    event.utm = visit.utm.clone();
    event.geo = visit.geo.clone();
    event.device = visit.device;
    event.browser = visit.browser.clone();
    event.browser_version = visit.browser_version.clone();
    event.os = visit.os.clone();
    event.os_version = visit.os_version.clone();
}

#[cfg(test)]
mod tests;

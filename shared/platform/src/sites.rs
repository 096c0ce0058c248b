//! Hostname → site, the hot path of every ingest request.
//!
//! Three layers: an in-isolate map (no I/O at all), KV (fast at the edge,
//! short TTL), D1 (the truth). Unknown hostnames are cached too, briefly,
//! so a flood of junk Host headers does not reach D1.
//!
//! Also the Stats API's lookup: the site a caller names, among the sites
//! its principal may read, in one D1 read.

use std::cell::RefCell;
use std::collections::HashMap;

use beacon_types::{Site, SiteId, SiteStatus};
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::Env;

use crate::{d1, PlatformError, CACHE};

/// How long a lookup is trusted in memory, ms.
const MEMORY_TTL_MS: u64 = 30_000;
/// How long a lookup is kept in KV, s (KV's minimum is 60).
const KV_TTL_S: u64 = 60;
/// Bound on the in-memory map; it is cleared when full.
const MEMORY_MAX: usize = 10_000;

#[derive(Serialize, Deserialize)]
struct Cached {
    site: Option<Site>,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    domain: String,
    timezone: String,
    status: String,
}

thread_local! {
    static MEMORY: RefCell<Memo> = RefCell::new(Memo::default());
}

/// Lookups this isolate made, each trusted for [`MEMORY_TTL_MS`]; at most
/// [`MEMORY_MAX`], all forgotten at once when full.
#[derive(Default)]
struct Memo(HashMap<String, (Option<Site>, u64)>);

impl Memo {
    /// What `host` was found to be, if looked up less than the TTL ago.
    fn get(&self, host: &str, now_ms: u64) -> Option<Option<Site>> {
        self.0.get(host).filter(|(_, expires)| *expires > now_ms).map(|(site, _)| site.clone())
    }

    fn put(&mut self, host: &str, site: Option<Site>, now_ms: u64) {
        if self.0.len() >= MEMORY_MAX {
            self.0.clear();
        }
        self.0.insert(host.to_owned(), (site, now_ms.saturating_add(MEMORY_TTL_MS)));
    }
}

/// Lower-cases a Host header value and drops the port. `None` if it cannot
/// be a hostname.
pub fn normalize_host(raw: &str) -> Option<String> {
    let host = raw.trim();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty() && host.len() <= 253 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then_some(host)
}

/// The active site behind `host` (already normalized), if any.
pub async fn site_for_host(env: &Env, host: &str, now_ms: u64) -> Result<Option<Site>, PlatformError> {
    let hit = MEMORY.with(|m| m.borrow().get(host, now_ms));
    if let Some(site) = hit {
        return Ok(site);
    }
    let key = format!("host:{host}");
    let kv = env.kv(CACHE).map_err(|e| PlatformError::binding("kv binding", e))?;
    // A KV hiccup only costs a D1 read.
    let cached = kv.get(&key).json::<Cached>().await.unwrap_or_default();
    let site = match cached {
        Some(c) => c.site,
        None => {
            let site = site_from_d1(env, host).await?;
            if let Ok(put) = kv.put(&key, Cached { site: site.clone() }) {
                let _ = put.expiration_ttl(KV_TTL_S).execute().await;
            }
            site
        }
    };
    MEMORY.with(|m| m.borrow_mut().put(host, site.clone(), now_ms));
    Ok(site)
}

/// The sites a caller may read.
#[derive(Clone, Copy, Debug)]
pub enum Readable<'a> {
    /// Every site of a team (an API key's).
    Team(&'a str),
    /// The sites a dashboard session lists.
    Listed(&'a [SiteId]),
}

/// The site `named` names among those `readable` covers, active or not,
/// straight from D1, in one read. `named` is an id, else a domain (without
/// `www.`, any case); an id wins over another site's domain.
pub async fn visible_site(env: &Env, readable: Readable<'_>, named: &str) -> Result<Option<Site>, PlatformError> {
    let (sql, args) = visible_query(readable, named);
    let args = args.map(JsValue::from);
    let row: Option<Row> = d1::first(env, "d1 site lookup", sql, &args).await?;
    Ok(row.and_then(site_of_row))
}

/// The statement and arguments of [`visible_site`]: the scope (a team id, or
/// the listed ids as one JSON array, so any number of them is one argument),
/// the name as an id, and the name as a domain.
fn visible_query(readable: Readable<'_>, named: &str) -> (&'static str, [String; 3]) {
    // One match rule for every scope: the id, else the domain; an id first.
    macro_rules! named_within {
        ($scope:literal) => {
            concat!(
                "SELECT id, domain, timezone, status FROM sites WHERE ",
                $scope,
                " AND (id = ?2 OR domain = ?3) ORDER BY id = ?2 DESC LIMIT 1"
            )
        };
    }
    let (sql, scope) = match readable {
        Readable::Team(team) => (named_within!("team_id = ?1"), team.to_owned()),
        Readable::Listed(ids) => (
            named_within!("id IN (SELECT value FROM json_each(?1))"),
            // A list of strings always serializes.
            serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned()),
        ),
    };
    (sql, [scope, named.to_owned(), beacon_types::site::normalize_domain(named)])
}

fn site_of_row(r: Row) -> Option<Site> {
    Some(Site { id: SiteId::parse(&r.id).ok()?, domain: r.domain, timezone: r.timezone, status: SiteStatus::parse(&r.status).ok()? })
}

async fn site_from_d1(env: &Env, host: &str) -> Result<Option<Site>, PlatformError> {
    let sql = "SELECT s.id, s.domain, s.timezone, s.status FROM hostnames h JOIN sites s ON s.id = h.site_id \
               WHERE h.hostname = ?1 AND h.status = 'active'";
    let row: Option<Row> = d1::first(env, "d1 hostname lookup", sql, &[host.into()]).await?;
    Ok(row.and_then(site_of_row).filter(|site| site.status == SiteStatus::Active))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("T.Demo.Localhost:8787").as_deref(), Some("t.demo.localhost"));
        assert_eq!(normalize_host("example.com.").as_deref(), Some("example.com"));
        assert_eq!(normalize_host("").as_deref(), None);
        assert_eq!(normalize_host("a b").as_deref(), None);
        assert_eq!(normalize_host("x';--").as_deref(), None);
        assert_eq!(normalize_host(&"a".repeat(300)).as_deref(), None);
        // Only a port of digits is dropped.
        assert_eq!(normalize_host("a.example:80x").as_deref(), None);
    }

    #[test]
    fn a_named_site_is_looked_up_only_among_the_readable_ones() {
        let (sql, args) = visible_query(Readable::Team("team_a"), " WWW.Demo.Example ");
        assert!(sql.contains("WHERE team_id = ?1 AND (id = ?2 OR domain = ?3)"), "{sql}");
        assert_eq!(args, ["team_a", " WWW.Demo.Example ", "demo.example"].map(String::from));
        let ids = ["demo", "other"].map(|i| SiteId::parse(i).unwrap());
        let (sql, args) = visible_query(Readable::Listed(&ids), "demo");
        assert!(sql.contains("WHERE id IN (SELECT value FROM json_each(?1)) AND (id = ?2 OR domain = ?3)"), "{sql}");
        assert_eq!(args, [r#"["demo","other"]"#, "demo", "demo"].map(String::from));
        let (_, args) = visible_query(Readable::Listed(&[]), "demo");
        assert_eq!(args[0], "[]");
        // Both prefer a site whose id is the name over one whose domain is.
        for readable in [Readable::Team("t"), Readable::Listed(&ids)] {
            assert!(visible_query(readable, "x").0.ends_with("ORDER BY id = ?2 DESC LIMIT 1"));
        }
    }

    #[test]
    fn a_lookup_is_remembered_for_its_ttl_and_the_memory_is_bounded() {
        let site =
            Site { id: SiteId::parse("demo").unwrap(), domain: "demo.example".into(), timezone: "UTC".into(), status: SiteStatus::Active };
        let mut memo = Memo::default();
        memo.put("t.demo.example", Some(site.clone()), 1_000);
        memo.put("junk.example", None, 1_000);
        assert_eq!(memo.get("t.demo.example", 1_000 + MEMORY_TTL_MS - 1), Some(Some(site.clone())));
        // An unknown host is remembered as unknown.
        assert_eq!(memo.get("junk.example", 1_000), Some(None));
        assert_eq!(memo.get("t.demo.example", 1_000 + MEMORY_TTL_MS), None);
        assert_eq!(memo.get("other.example", 1_000), None);
        for i in 2..MEMORY_MAX {
            memo.put(&format!("h{i}.example"), None, 1_000);
        }
        assert_eq!(memo.0.len(), MEMORY_MAX);
        memo.put("new.example", Some(site.clone()), 1_000);
        assert_eq!((memo.0.len(), memo.get("new.example", 1_000)), (1, Some(Some(site))));
    }
}

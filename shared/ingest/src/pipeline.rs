//! The ordered list of steps from a request body to an event.

use beacon_types::{Event, Geo, Site};

use crate::{bot, geo, payload, source, user_agent, Rejection};

/// What the worker knows about the request besides its body.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The site the Host header resolved to.
    pub site: &'a Site,
    /// The `User-Agent` header ("" when absent).
    pub user_agent: &'a str,
    /// Geo data from `request.cf()` (or the dev override).
    pub geo: Geo,
    /// Now, Unix milliseconds.
    pub now_ms: u64,
}

/// An event on its way through the steps, with what later steps still need.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The event as enriched so far.
    pub event: Event,
    /// The page URL's decoded query pairs (UTM tags, click ids).
    pub query: Vec<(String, String)>,
    /// The raw referrer, as the client sent it.
    pub referrer: Option<String>,
}

/// One enrichment step.
pub type Step = fn(Draft, &Context) -> Result<Draft, Rejection>;

/// The steps after parsing and validation, in order, with their names.
pub const STEPS: &[(&str, Step)] = &[("bot", bot::step), ("user_agent", user_agent::step), ("source", source::step), ("geo", geo::step)];

/// Runs the whole pipeline on `body`: parse, validate, then [`STEPS`].
/// The result lacks only the visitor id (see [`crate::visitor`]).
pub fn run(body: &[u8], ctx: &Context) -> Result<Event, Rejection> {
    let payload = payload::parse(body)?;
    let mut draft = payload::validate(payload, ctx)?;
    for (_, step) in STEPS {
        draft = step(draft, ctx)?;
    }
    Ok(draft.event)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{DropReason, IngestError};
    use beacon_types::{Device, SiteId, SiteStatus};
    use std::sync::OnceLock;

    pub(crate) const CHROME: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36";

    pub(crate) fn site() -> &'static Site {
        static SITE: OnceLock<Site> = OnceLock::new();
        SITE.get_or_init(|| Site {
            id: SiteId::parse("demo").unwrap(),
            domain: "demo.example".into(),
            timezone: "UTC".into(),
            status: SiteStatus::Active,
        })
    }

    pub(crate) fn ctx() -> Context<'static> {
        Context {
            site: site(),
            user_agent: CHROME,
            geo: Geo { country: "DE".into(), region: "DE-BE".into(), city: "Berlin".into() },
            now_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_pageview_is_fully_enriched() {
        let body = br#"{"n":"pageview","u":"https://demo.example/blog?utm_source=newsletter&utm_medium=email&utm_campaign=launch","d":"demo.example","r":"https://www.google.com/search?q=x"}"#;
        let e = run(body, &ctx()).unwrap();
        assert_eq!(e.site_id.as_ref().map(SiteId::as_str), Some("demo"));
        assert_eq!(e.timestamp_ms, 1_700_000_000_000);
        assert_eq!(e.name, "pageview");
        assert_eq!(e.hostname, "demo.example");
        assert_eq!(e.pathname, "/blog");
        assert_eq!(e.referrer, "google.com/search");
        assert_eq!(e.source, "newsletter");
        assert_eq!(e.channel, "Email");
        assert_eq!(e.utm.medium, "email");
        assert_eq!(e.utm.campaign, "launch");
        assert_eq!(e.browser, "Chrome");
        assert_eq!(e.browser_version, "120.0");
        assert_eq!(e.os, "Windows");
        assert_eq!(e.device, Device::Desktop);
        assert_eq!(e.geo.city, "Berlin");
        assert_eq!(e.visitor_id, 0, "the visitor id is added after the pipeline");
    }

    #[test]
    fn steps_run_in_the_documented_order() {
        let names: Vec<_> = STEPS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["bot", "user_agent", "source", "geo"]);
    }

    #[test]
    fn bots_are_dropped_after_validation() {
        let mut c = ctx();
        c.user_agent = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        let body = br#"{"n":"pageview","u":"https://demo.example/"}"#;
        assert_eq!(run(body, &c), Err(Rejection::Dropped(DropReason::Bot)));
        // Invalid input is reported even from a bot: validation comes first.
        assert!(matches!(run(b"{}", &c), Err(Rejection::Invalid(IngestError::Field { field: "name", .. }))));
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = run(&body, &ctx());
        }

        #[test]
        fn any_user_agent_never_panics(
            ua in proptest::prop_oneof![
                "\\PC{0,300}",
                // Browser and OS tokens with any versions, huge ones too.
                "Mozilla/5\\.0 \\((Windows NT|Macintosh; Intel Mac OS X|Linux; Android|iPhone; CPU iPhone OS) [0-9_.]{0,30}[;)]{0,2} (AppleWebKit/[0-9.]{0,20} )?(Chrome|Firefox|Version|Edg|OPR|CriOS|SamsungBrowser)/[0-9.]{0,40}( Mobile)?( Safari/[0-9.]{0,10})?",
                // Linux distributions and in-app tokens, with any text around them.
                "Mozilla/5\\.0 \\(X11; \\PC{0,5}(Ubuntu|Kubuntu|Fedora|openSUSE|SUSE|Mint Browser|Mint|Red Hat)[ /\\-]?[0-9.]{0,12}\\PC{0,10}\\) (FBAV/|GSA/|Line/|Instagram )?\\PC{0,10}",
            ],
        ) {
            let mut c = ctx();
            c.user_agent = &ua;
            let _ = run(br#"{"n":"pageview","u":"https://demo.example/"}"#, &c);
        }

        #[test]
        fn arbitrary_strings_in_fields_never_panic(n in "\\PC{0,200}", u in "\\PC{0,300}", r in "\\PC{0,300}", k in "\\PC{0,20}", v in "\\PC{0,50}") {
            let body = serde_json::json!({"n": n, "u": format!("https://demo.example/{u}"), "r": r, "p": {k: v}});
            let _ = run(body.to_string().as_bytes(), &ctx());
            let body = serde_json::json!({"n": n, "u": u, "r": format!("https://{r}")});
            let _ = run(body.to_string().as_bytes(), &ctx());
        }
    }
}

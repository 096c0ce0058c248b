//! Steps 1 and 2: parse a Plausible Events API body, then validate it.
//!
//! Accepts Plausible's short and long field names (`n|name`, `u|url`,
//! `d|domain`, `r|referrer`, `p|props|m|meta`, `$|revenue`, `i|interactive`,
//! `h`, and `e`/`sd` on engagement events) so existing trackers and
//! server-side senders work unchanged.

use beacon_types::{site::normalize_domain, Engagement, Event, Props, Revenue};
use serde_json::{Map, Value};

use crate::pipeline::{Context, Draft};
use crate::IngestError;

/// Largest body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest event name, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// Longest page URL or referrer, in bytes.
pub const MAX_URL_BYTES: usize = 2000;
/// Most custom properties per event.
pub const MAX_PROPS: usize = 30;
/// Longest property key, in bytes.
pub const MAX_PROP_KEY: usize = 300;
/// Longest property value, in bytes.
pub const MAX_PROP_VALUE: usize = 2000;

/// The fields of an Events API body, typed but not yet checked against limits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// `n|name`
    pub name: String,
    /// `u|url`
    pub url: String,
    /// `d|domain`
    pub domain: Option<String>,
    /// `r|referrer`
    pub referrer: Option<String>,
    /// `p|props|m|meta`, scalar values only.
    pub props: Props,
    /// `$|revenue`
    pub revenue: Option<Revenue>,
    /// `i|interactive`, default true.
    pub interactive: bool,
    /// `h`: keep the URL fragment in the pathname.
    pub hash_mode: bool,
    /// `e` and `sd`, on engagement events.
    pub engagement: Option<Engagement>,
}

/// Step 1: bytes to [`Payload`]. Wrong types and missing required fields are
/// errors naming the field; unknown fields are ignored, as Plausible does.
pub fn parse(body: &[u8]) -> Result<Payload, IngestError> {
    if body.len() > MAX_BODY {
        return Err(IngestError::TooLarge(MAX_BODY));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| IngestError::NotJson)?;
    let Value::Object(obj) = value else { return Err(IngestError::NotJson) };

    let name = match pick(&obj, &["n", "name"]) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(IngestError::field("name", "is required")),
        Some(_) => return Err(IngestError::field("name", "must be a string")),
    };
    let url = match pick(&obj, &["u", "url"]) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(IngestError::field("url", "is required")),
        Some(_) => return Err(IngestError::field("url", "must be a string")),
    };
    let domain = optional_string(&obj, &["d", "domain"], "domain")?;
    let referrer = optional_string(&obj, &["r", "referrer"], "referrer")?;
    let props = match pick(&obj, &["p", "props", "m", "meta"]) {
        None | Some(Value::Null) => Props::new(),
        Some(v) => parse_props(v)?,
    };
    let revenue = match pick(&obj, &["$", "revenue"]) {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_revenue(v)?),
    };
    let interactive = match pick(&obj, &["i", "interactive"]) {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(IngestError::field("interactive", "must be a boolean")),
    };
    let hash_mode = match pick(&obj, &["h", "hashMode"]) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() == Some(1.0),
        Some(_) => return Err(IngestError::field("h", "must be 0, 1 or a boolean")),
    };
    let engagement = if name == "engagement" {
        let time_ms = non_negative(&obj, "e")?.unwrap_or(0.0);
        let depth = non_negative(&obj, "sd")?.unwrap_or(0.0);
        Some(Engagement {
            // Saturating casts: f64 -> int clamps, never panics.
            time_ms: time_ms.min(86_400_000.0) as u64,
            scroll_depth: depth.min(100.0) as u8,
        })
    } else {
        None
    };
    Ok(Payload { name, url, domain, referrer, props, revenue, interactive, hash_mode, engagement })
}

/// Step 2: bounds, URL scheme, and the `d` field against the Host's site.
/// Produces the draft with the page's hostname, pathname and query.
pub fn validate(p: Payload, ctx: &Context) -> Result<Draft, IngestError> {
    let name = p.name.trim();
    if name.is_empty() {
        return Err(IngestError::field("name", "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(IngestError::field("name", format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(IngestError::field("name", "must not contain control characters"));
    }
    if p.url.len() > MAX_URL_BYTES {
        return Err(IngestError::field("url", format!("must be at most {MAX_URL_BYTES} bytes")));
    }
    let page = crate::location::parse(p.url.trim()).map_err(|_| IngestError::field("url", "is not a valid URL"))?;
    if matches!(page.scheme(), "data" | "javascript" | "blob") {
        return Err(IngestError::field("url", "scheme is not allowed"));
    }
    if let Some(referrer) = &p.referrer {
        if referrer.len() > MAX_URL_BYTES {
            return Err(IngestError::field("referrer", format!("must be at most {MAX_URL_BYTES} bytes")));
        }
    }
    if let Some(domain) = &p.domain {
        if !ctx.site.matches_domain_field(domain) {
            return Err(IngestError::field("domain", "does not match the site of this hostname"));
        }
    }

    // `url` gives no host for an empty one; `www.` alone normalizes to "".
    let hostname = page.host_str().map(normalize_domain).filter(|h| !h.is_empty()).unwrap_or_else(|| "(none)".to_owned());
    let mut pathname = decode(page.path()).trim_end().to_owned();
    if pathname.is_empty() {
        pathname.push('/');
    }
    if p.hash_mode {
        if let Some(fragment) = page.fragment() {
            pathname.push('#');
            pathname.push_str(&decode(fragment));
        }
    }
    let query = page.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();

    let event = Event {
        site_id: Some(ctx.site.id.clone()),
        timestamp_ms: ctx.now_ms,
        name: name.to_owned(),
        hostname,
        pathname,
        props: p.props,
        revenue: p.revenue,
        interactive: p.interactive,
        engagement: p.engagement,
        ..Event::default()
    };
    Ok(Draft { event, query, referrer: p.referrer })
}

fn pick<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| obj.get(*k).filter(|v| !v.is_null()))
}

fn optional_string(obj: &Map<String, Value>, keys: &[&str], field: &'static str) -> Result<Option<String>, IngestError> {
    match pick(obj, keys) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(IngestError::field(field, "must be a string")),
    }
}

fn non_negative(obj: &Map<String, Value>, key: &'static str) -> Result<Option<f64>, IngestError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x >= 0.0 && x.is_finite() => Ok(Some(x)),
            _ => Err(IngestError::field(key, "must be a non-negative number")),
        },
        Some(_) => Err(IngestError::field(key, "must be a non-negative number")),
    }
}

/// Props: an object, or a string holding one. Scalars become strings;
/// nested values, null and empty strings are dropped (as Plausible does).
fn parse_props(v: &Value) -> Result<Props, IngestError> {
    let obj = object_or_json_string(v, "props", "must be an object")?;
    let mut props = Props::new();
    for (key, value) in &obj {
        let text = match value {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        if key.is_empty() || key.len() > MAX_PROP_KEY {
            return Err(IngestError::field("props", format!("keys must be 1 to {MAX_PROP_KEY} bytes")));
        }
        if text.len() > MAX_PROP_VALUE {
            return Err(IngestError::field("props", format!("values must be at most {MAX_PROP_VALUE} bytes")));
        }
        props.insert(key.clone(), text);
    }
    if props.len() > MAX_PROPS {
        return Err(IngestError::field("props", format!("at most {MAX_PROPS} properties")));
    }
    Ok(props)
}

/// Revenue: `{amount, currency}` (or a string holding it); amount a number
/// or a decimal string, currency an ISO 4217 code.
fn parse_revenue(v: &Value) -> Result<Revenue, IngestError> {
    let obj = object_or_json_string(v, "revenue", "must be an object with amount and currency")?;
    let amount = match obj.get("amount") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|a| a.is_finite() && a.abs() < 1e15)
    .ok_or_else(|| IngestError::field("revenue", "amount must be a number"))?;
    let currency = match obj.get("currency") {
        Some(Value::String(s)) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) => s.to_ascii_uppercase(),
        _ => return Err(IngestError::field("revenue", "currency must be a three-letter ISO 4217 code")),
    };
    Ok(Revenue { amount, currency })
}

/// An object, or a string holding one (Plausible accepts both for props
/// and revenue); anything else is `field: reason`.
fn object_or_json_string(v: &Value, field: &'static str, reason: &str) -> Result<Map<String, Value>, IngestError> {
    match v {
        Value::Object(o) => Ok(o.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => Ok(o),
            _ => Err(IngestError::field(field, reason)),
        },
        _ => Err(IngestError::field(field, reason)),
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tests::ctx;

    fn field_err(body: &str) -> &'static str {
        match parse(body.as_bytes()).and_then(|p| validate(p, &ctx()).map(|_| ())) {
            Err(IngestError::Field { field, .. }) => field,
            other => panic!("expected a field error for {body}, got {other:?}"),
        }
    }

    #[test]
    fn short_and_long_names_both_work() {
        let a = parse(br#"{"n":"pageview","u":"https://demo.example/a","d":"demo.example","r":"https://x.test/"}"#).unwrap();
        let b =
            parse(br#"{"name":"pageview","url":"https://demo.example/a","domain":"demo.example","referrer":"https://x.test/"}"#).unwrap();
        assert_eq!(a, b);
        assert!(a.interactive);
    }

    #[test]
    fn malformed_bodies_are_not_json() {
        for body in [&b""[..], b"null", b"[]", b"42", b"{", b"\xff\xfe{}", b"{\"n\":\"a\",}"] {
            assert_eq!(parse(body), Err(IngestError::NotJson), "{body:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(body.as_bytes()).is_err());
        let body = format!(r#"{{"n":"a","u":"https://demo.example/","p":{}1{}}}"#, "[".repeat(5000), "]".repeat(5000));
        assert!(parse(body.as_bytes()).is_err());
    }

    #[test]
    fn oversize_body_is_rejected() {
        let body = vec![b' '; MAX_BODY + 1];
        assert_eq!(parse(&body), Err(IngestError::TooLarge(MAX_BODY)));
    }

    #[test]
    fn wrong_types_name_the_field() {
        assert_eq!(field_err(r#"{"u":"https://demo.example/"}"#), "name");
        assert_eq!(field_err(r#"{"n":5,"u":"https://demo.example/"}"#), "name");
        assert_eq!(field_err(r#"{"n":"a"}"#), "url");
        assert_eq!(field_err(r#"{"n":"a","u":["x"]}"#), "url");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","d":1}"#), "domain");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","r":{}}"#), "referrer");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","p":[1]}"#), "props");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","p":"[1]"}"#), "props");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","i":"yes"}"#), "interactive");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","$":5}"#), "revenue");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","$":{"amount":"x","currency":"EUR"}}"#), "revenue");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","$":{"amount":1,"currency":"EURO"}}"#), "revenue");
        assert_eq!(field_err(r#"{"n":"engagement","u":"https://demo.example/","e":-1}"#), "e");
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(field_err(r#"{"n":"  ","u":"https://demo.example/"}"#), "name");
        let long = "x".repeat(121);
        assert_eq!(field_err(&format!(r#"{{"n":"{long}","u":"https://demo.example/"}}"#)), "name");
        assert_eq!(field_err(r#"{"n":"a\u0007b","u":"https://demo.example/"}"#), "name");
        assert_eq!(field_err(r#"{"n":"a","u":"not a url"}"#), "url");
        assert_eq!(field_err(r#"{"n":"a","u":"data:text/html,hi"}"#), "url");
        let long_url = format!("https://demo.example/{}", "a".repeat(10_000));
        assert_eq!(field_err(&format!(r#"{{"n":"a","u":"{long_url}"}}"#)), "url");
        assert_eq!(field_err(&format!(r#"{{"n":"a","u":"https://demo.example/","r":"{long_url}"}}"#)), "referrer");
        assert_eq!(field_err(r#"{"n":"a","u":"https://demo.example/","d":"other.example"}"#), "domain");
    }

    #[test]
    fn a_120_char_emoji_name_is_fine() {
        let name = "🎉".repeat(120);
        let body = format!(r#"{{"n":"{name}","u":"https://demo.example/"}}"#);
        let d = validate(parse(body.as_bytes()).unwrap(), &ctx()).unwrap();
        assert_eq!(d.event.name, name);
    }

    #[test]
    fn props_are_flattened_like_plausible() {
        let p = parse(
            r#"{"n":"a","u":"https://demo.example/","p":{"s":"x","n":3,"b":true,"nul":null,"e":"","o":{"a":1},"l":[1],"🎉":"ünï"}}"#
                .as_bytes(),
        )
        .unwrap();
        let keys: Vec<_> = p.props.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b", "n", "s", "🎉"]);
        assert_eq!(p.props["n"], "3");
        assert_eq!(p.props["b"], "true");
        assert_eq!(p.props["🎉"], "ünï");
        let p = parse(br#"{"n":"a","u":"https://demo.example/","meta":"{\"k\":\"v\"}"}"#).unwrap();
        assert_eq!(p.props["k"], "v");
    }

    #[test]
    fn props_limits() {
        let many: Vec<String> = (0..31).map(|i| format!(r#""k{i}":"v""#)).collect();
        assert_eq!(field_err(&format!(r#"{{"n":"a","u":"https://demo.example/","p":{{{}}}}}"#, many.join(","))), "props");
        let thirty: Vec<String> = (0..30).map(|i| format!(r#""k{i}":"v""#)).collect();
        assert!(parse(format!(r#"{{"n":"a","u":"https://demo.example/","p":{{{}}}}}"#, thirty.join(",")).as_bytes()).is_ok());
        let key = "k".repeat(301);
        assert_eq!(field_err(&format!(r#"{{"n":"a","u":"https://demo.example/","p":{{"{key}":"v"}}}}"#)), "props");
        let val = "v".repeat(2001);
        assert_eq!(field_err(&format!(r#"{{"n":"a","u":"https://demo.example/","p":{{"k":"{val}"}}}}"#)), "props");
    }

    #[test]
    fn revenue_forms() {
        let p = parse(br#"{"n":"Purchase","u":"https://demo.example/","$":{"amount":"12.50","currency":"eur"}}"#).unwrap();
        assert_eq!(p.revenue, Some(Revenue { amount: 12.5, currency: "EUR".into() }));
        let p = parse(br#"{"n":"Purchase","u":"https://demo.example/","revenue":"{\"amount\":3,\"currency\":\"USD\"}"}"#).unwrap();
        assert_eq!(p.revenue, Some(Revenue { amount: 3.0, currency: "USD".into() }));
    }

    #[test]
    fn pathname_is_decoded_and_hash_kept_in_hash_mode() {
        let d = validate(parse(br#"{"n":"pageview","u":"https://www.Demo.example/caf%C3%A9%20x?utm_source=a#/route"}"#).unwrap(), &ctx())
            .unwrap();
        assert_eq!(d.event.hostname, "demo.example");
        assert_eq!(d.event.pathname, "/caf\u{e9} x");
        assert_eq!(d.query, vec![("utm_source".to_owned(), "a".to_owned())]);
        let d = validate(parse(br#"{"n":"pageview","u":"https://demo.example/app#/settings","h":1}"#).unwrap(), &ctx()).unwrap();
        assert_eq!(d.event.pathname, "/app#/settings");
        let d = validate(parse(br#"{"n":"pageview","u":"file:///tmp/a.html"}"#).unwrap(), &ctx()).unwrap();
        assert_eq!(d.event.hostname, "(none)");
        let d = validate(parse(br#"{"n":"pageview","u":"app:///settings"}"#).unwrap(), &ctx()).unwrap();
        assert_eq!((d.event.hostname.as_str(), d.event.pathname.as_str()), ("(none)", "/settings"));
        // A host that is nothing but `www.` leaves no name.
        let d = validate(parse(br#"{"n":"pageview","u":"http://WWW./x"}"#).unwrap(), &ctx()).unwrap();
        assert_eq!(d.event.hostname, "(none)");
        // Invalid UTF-8 in percent escapes decodes lossily instead of failing.
        let d = validate(parse(br#"{"n":"pageview","u":"https://demo.example/%FF%FE"}"#).unwrap(), &ctx()).unwrap();
        assert_eq!(d.event.pathname, "/\u{fffd}\u{fffd}");
    }

    #[test]
    fn a_unicode_host_is_kept_punycoded_as_browsers_send_it() {
        let d = validate(parse("{\"n\":\"pageview\",\"u\":\"https://www.B\u{fc}cher.de/\u{e4}\"}".as_bytes()).unwrap(), &ctx()).unwrap();
        assert_eq!(d.event.hostname, "xn--bcher-kva.de");
        assert_eq!(d.event.pathname, "/\u{e4}");
    }

    #[test]
    fn every_limit_admits_its_own_size() {
        let ok = |body: String| validate(parse(body.as_bytes()).unwrap(), &ctx()).map(|_| ()).unwrap();
        let url = format!("https://demo.example/{}", "a".repeat(MAX_URL_BYTES - "https://demo.example/".len()));
        ok(format!(r#"{{"n":"a","u":"{url}","r":"{url}"}}"#));
        ok(format!(r#"{{"n":"{}","u":"https://demo.example/"}}"#, "x".repeat(MAX_NAME_CHARS)));
        let (key, value) = ("k".repeat(MAX_PROP_KEY), "v".repeat(MAX_PROP_VALUE));
        ok(format!(r#"{{"n":"a","u":"https://demo.example/","p":{{"{key}":"{value}"}}}}"#));
        let mut body = br#"{"n":"a","u":"https://demo.example/"}"#.to_vec();
        body.resize(MAX_BODY, b' ');
        assert!(parse(&body).is_ok());
        // Revenue amounts stay below 10^15, either sign.
        for (amount, fine) in [("999999999999999", true), ("-999999999999999", true), ("1e15", false), ("-1e15", false)] {
            let body = format!(r#"{{"n":"a","u":"https://demo.example/","$":{{"amount":{amount},"currency":"EUR"}}}}"#);
            assert_eq!(parse(body.as_bytes()).is_ok(), fine, "{amount}");
        }
    }

    #[test]
    fn validation_carries_props_revenue_interactivity_and_engagement_to_the_event() {
        let body = br#"{"n":"engagement","u":"https://demo.example/","p":{"plan":"pro"},"$":{"amount":2,"currency":"USD"},"i":false,"e":900,"sd":40}"#;
        let e = validate(parse(body).unwrap(), &ctx()).unwrap().event;
        assert_eq!(e.props.get("plan").map(String::as_str), Some("pro"));
        assert_eq!(e.revenue, Some(Revenue { amount: 2.0, currency: "USD".into() }));
        assert!(!e.interactive);
        assert_eq!(e.engagement, Some(Engagement { time_ms: 900, scroll_depth: 40 }));
        // Without `i`, an event is interactive (an event's default is not).
        let e = validate(parse(br#"{"n":"pageview","u":"https://demo.example/"}"#).unwrap(), &ctx()).unwrap().event;
        assert!(e.interactive);
    }

    #[test]
    fn engagement_fields() {
        let p = parse(br#"{"n":"engagement","u":"https://demo.example/","e":1500,"sd":250}"#).unwrap();
        assert_eq!(p.engagement, Some(Engagement { time_ms: 1500, scroll_depth: 100 }));
        let p = parse(br#"{"n":"pageview","u":"https://demo.example/","e":1500}"#).unwrap();
        assert_eq!(p.engagement, None);
    }
}

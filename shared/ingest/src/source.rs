//! Step: referrer, source, UTM tags and channel.
//!
//! Plausible's rules: a tagged source (`utm_source`, then `source`, then
//! `ref` in the page URL) wins over the Referer; a known referrer host maps
//! to its name (`google.co.uk` → `Google`); an unknown one is shown as its
//! host without `www.`; self-referrals and `localhost` are direct traffic.
//! Names given as tags are matched without case to the known names and a
//! few common shorthands (`ig` → `Instagram`).

use beacon_types::Utm;

use crate::channel::{self, Category};
use crate::pipeline::{Context, Draft};
use crate::Rejection;

/// A known traffic source.
struct Known {
    name: &'static str,
    category: Category,
    /// Hosts (without `www.`); a host also matches its subdomains. A
    /// trailing `.*` matches any public suffix (`google.*`: google.de,
    /// google.co.uk).
    hosts: &'static [&'static str],
    /// Lower-case tag shorthands besides the name itself.
    aliases: &'static [&'static str],
}

use Category::*;

/// Known sources; the more specific hosts come first (Gmail before Google).
#[rustfmt::skip] // a table, laid out by hand to be read
const KNOWN: &[Known] = &[
    Known { name: "Gmail", category: Email, hosts: &["mail.google.com"], aliases: &[] },
    Known { name: "Google Gemini", category: AiAssistant, hosts: &["gemini.google.com", "bard.google.com"], aliases: &["gemini"] },
    Known { name: "Google", category: Search, hosts: &["google.*", "googleadservices.com"], aliases: &["adwords", "google_ads", "google-ads", "googleads"] },
    Known { name: "Bing", category: Search, hosts: &["bing.com", "cn.bing.com"], aliases: &["bing_ads", "bingads", "microsoft_ads"] },
    Known { name: "DuckDuckGo", category: Search, hosts: &["duckduckgo.com", "ddg.gg"], aliases: &["ddg"] },
    Known { name: "Yahoo!", category: Search, hosts: &["search.yahoo.com", "yahoo.*"], aliases: &["yahoo"] },
    Known { name: "Yandex", category: Search, hosts: &["yandex.*", "ya.ru"], aliases: &[] },
    Known { name: "Baidu", category: Search, hosts: &["baidu.com"], aliases: &[] },
    Known { name: "Ecosia", category: Search, hosts: &["ecosia.org"], aliases: &[] },
    Known { name: "Brave", category: Search, hosts: &["search.brave.com"], aliases: &[] },
    Known { name: "Startpage", category: Search, hosts: &["startpage.com"], aliases: &[] },
    Known { name: "Qwant", category: Search, hosts: &["qwant.com"], aliases: &[] },
    Known { name: "Kagi", category: Search, hosts: &["kagi.com"], aliases: &[] },
    Known { name: "Naver", category: Search, hosts: &["naver.com"], aliases: &[] },
    Known { name: "Seznam", category: Search, hosts: &["seznam.cz"], aliases: &[] },
    Known { name: "Sogou", category: Search, hosts: &["sogou.com"], aliases: &[] },
    Known { name: "Facebook", category: Social, hosts: &["facebook.com", "fb.com", "fb.me", "messenger.com"], aliases: &["fb", "fb_ad", "fb_ads", "facebook_ad", "facebook_ads", "facebook-ads"] },
    Known { name: "Instagram", category: Social, hosts: &["instagram.com"], aliases: &["ig", "ig_ads", "instagram_ads"] },
    Known { name: "Twitter", category: Social, hosts: &["twitter.com", "t.co", "x.com"], aliases: &["tw", "x", "x (twitter)", "twitter_ads"] },
    Known { name: "LinkedIn", category: Social, hosts: &["linkedin.com", "lnkd.in"], aliases: &["li", "linkedin_ads"] },
    Known { name: "Reddit", category: Social, hosts: &["reddit.com", "redd.it"], aliases: &["reddit_ads"] },
    Known { name: "Pinterest", category: Social, hosts: &["pinterest.*", "pin.it"], aliases: &["pinterest_ads"] },
    Known { name: "Hacker News", category: Social, hosts: &["news.ycombinator.com"], aliases: &["hn", "hackernews"] },
    Known { name: "Bluesky", category: Social, hosts: &["bsky.app"], aliases: &["bsky"] },
    Known { name: "Threads", category: Social, hosts: &["threads.net", "threads.com"], aliases: &[] },
    Known { name: "Mastodon", category: Social, hosts: &["mastodon.social", "mastodon.online"], aliases: &[] },
    Known { name: "Telegram", category: Social, hosts: &["t.me", "web.telegram.org"], aliases: &[] },
    Known { name: "Discord", category: Social, hosts: &["discord.com", "discordapp.com"], aliases: &[] },
    Known { name: "Slack", category: Social, hosts: &["slack.com", "app.slack.com"], aliases: &[] },
    Known { name: "GitHub", category: Social, hosts: &["github.com"], aliases: &[] },
    Known { name: "Product Hunt", category: Social, hosts: &["producthunt.com"], aliases: &["producthunt"] },
    Known { name: "VKontakte", category: Social, hosts: &["vk.com"], aliases: &["vk"] },
    Known { name: "Quora", category: Social, hosts: &["quora.com"], aliases: &[] },
    Known { name: "TikTok", category: Social, hosts: &["tiktok.com"], aliases: &["tiktok_ads"] },
    Known { name: "YouTube", category: Video, hosts: &["youtube.com", "youtu.be"], aliases: &["yt", "yt-ads", "youtube_ads"] },
    Known { name: "Vimeo", category: Video, hosts: &["vimeo.com"], aliases: &[] },
    Known { name: "Twitch", category: Video, hosts: &["twitch.tv"], aliases: &[] },
    Known { name: "Outlook.com", category: Email, hosts: &["outlook.live.com", "outlook.office.com", "outlook.office365.com"], aliases: &["outlook"] },
    Known { name: "Yahoo! Mail", category: Email, hosts: &["mail.yahoo.com"], aliases: &[] },
    Known { name: "Proton Mail", category: Email, hosts: &["mail.proton.me"], aliases: &[] },
    Known { name: "Amazon", category: Shopping, hosts: &["amazon.*"], aliases: &[] },
    Known { name: "eBay", category: Shopping, hosts: &["ebay.*"], aliases: &[] },
    Known { name: "Etsy", category: Shopping, hosts: &["etsy.com"], aliases: &[] },
    Known { name: "ChatGPT", category: AiAssistant, hosts: &["chatgpt.com", "chat.openai.com"], aliases: &["chatgpt.com"] },
    Known { name: "Perplexity", category: AiAssistant, hosts: &["perplexity.ai"], aliases: &[] },
    Known { name: "Claude", category: AiAssistant, hosts: &["claude.ai"], aliases: &[] },
    Known { name: "Copilot", category: AiAssistant, hosts: &["copilot.microsoft.com"], aliases: &[] },
    Known { name: "DeepSeek", category: AiAssistant, hosts: &["chat.deepseek.com"], aliases: &[] },
    Known { name: "Wikipedia", category: Other, hosts: &["wikipedia.org"], aliases: &[] },
];

/// The category of a resolved source name (any case), `Other` if unknown.
pub fn category(source: &str) -> Category {
    find_by_name(source).map(|k| k.category).unwrap_or(Other)
}

fn find_by_name(tag: &str) -> Option<&'static Known> {
    let lower = tag.trim().to_lowercase();
    KNOWN.iter().find(|k| k.name.to_lowercase() == lower || k.aliases.contains(&lower.as_str()))
}

fn find_by_host(host: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.hosts.iter().any(|pattern| host_matches(host, pattern)))
}

/// Whether `host` (lower case, no `www.`) matches a [`Known`] host pattern.
fn host_matches(host: &str, pattern: &str) -> bool {
    if let Some(label) = pattern.strip_suffix(".*") {
        // `label.<suffix>` where the suffix is one or two short labels
        // (com, de, co.uk, com.au), possibly below a subdomain.
        let labels: Vec<&str> = host.split('.').collect();
        return labels.iter().enumerate().any(|(i, l)| {
            *l == label && {
                let rest = labels.get(i + 1..).unwrap_or(&[]);
                (1..=2).contains(&rest.len()) && rest.iter().all(|r| !r.is_empty() && r.len() <= 3)
            }
        });
    }
    host == pattern || host.strip_suffix(pattern).is_some_and(|sub| sub.ends_with('.'))
}

/// Lower case, surrounding space and a leading `www.` removed.
fn clean_host(host: &str) -> String {
    let h = host.trim().trim_end_matches('.').to_lowercase();
    match h.strip_prefix("www.") {
        Some(rest) => rest.to_owned(),
        None => h,
    }
}

/// A referrer worth keeping: http(s) or android-app with a host.
fn parse_referrer(raw: &str) -> Option<url::Url> {
    let u = crate::location::parse(raw.trim()).ok()?;
    let ok = matches!(u.scheme(), "http" | "https" | "android-app") && u.host_str().is_some_and(|h| !h.is_empty());
    ok.then_some(u)
}

/// How the referrer host is shown (`android-app://` kept for apps).
fn display_host(u: &url::Url) -> String {
    let host = clean_host(u.host_str().unwrap_or(""));
    if u.scheme() == "android-app" {
        format!("android-app://{host}")
    } else {
        host
    }
}

/// The pipeline step.
pub fn step(mut draft: Draft, _ctx: &Context) -> Result<Draft, Rejection> {
    let query = |key: &str| draft.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty());
    let utm = Utm {
        medium: query("utm_medium").unwrap_or_default(),
        source: query("utm_source").unwrap_or_default(),
        campaign: query("utm_campaign").unwrap_or_default(),
        content: query("utm_content").unwrap_or_default(),
        term: query("utm_term").unwrap_or_default(),
    };
    let tagged = query("utm_source").or_else(|| query("source")).or_else(|| query("ref"));
    let click_id = if query("gclid").is_some() {
        Some("gclid")
    } else if query("msclkid").is_some() {
        Some("msclkid")
    } else {
        None
    };

    // External referral: a valid referrer from another host than the page's.
    let referral = draft.referrer.as_deref().and_then(parse_referrer).filter(|r| {
        let host = clean_host(r.host_str().unwrap_or(""));
        host != draft.event.hostname && host != "localhost"
    });
    let referrer_display = referral.as_ref().map(|r| {
        let path = r.path().trim_end_matches('/');
        format!("{}{}", display_host(r), path)
    });

    let source = match (&tagged, &referral) {
        (Some(tag), _) => find_by_name(tag).map(|k| k.name.to_owned()).unwrap_or_else(|| tag.clone()),
        (None, Some(r)) => {
            let host = clean_host(r.host_str().unwrap_or(""));
            find_by_host(&host).map(|k| k.name.to_owned()).unwrap_or_else(|| display_host(r))
        }
        (None, None) => String::new(),
    };
    let paid_tag = tagged.as_deref().is_some_and(is_paid_tag);

    draft.event.channel =
        channel::channel(&source, category(&source), &utm.medium, &utm.campaign, &utm.source, paid_tag, click_id).to_owned();
    draft.event.source = source;
    draft.event.referrer = referrer_display.unwrap_or_default();
    draft.event.utm = utm;
    Ok(draft)
}

/// Tags that name a paid placement of a known source (`fb_ad`, `adwords`).
fn is_paid_tag(tag: &str) -> bool {
    let lower = tag.trim().to_lowercase();
    lower == "adwords" || ((lower.ends_with("ads") || lower.ends_with("ad")) && find_by_name(&lower).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tests::ctx;
    use crate::{payload, pipeline::Draft};

    fn resolve(url: &str, referrer: Option<&str>) -> (String, String, String) {
        let body = serde_json::json!({"n": "pageview", "u": url, "r": referrer});
        let d: Draft = payload::validate(payload::parse(body.to_string().as_bytes()).unwrap(), &ctx()).unwrap();
        let d = step(d, &ctx()).unwrap();
        (d.event.source, d.event.channel, d.event.referrer)
    }

    fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn known_referrers() {
        assert_eq!(resolve("https://demo.example/", Some("https://www.google.co.uk/")), s("Google", "Organic Search", "google.co.uk"));
        assert_eq!(
            resolve("https://demo.example/", Some("https://mail.google.com/mail/u/0/")),
            s("Gmail", "Email", "mail.google.com/mail/u/0")
        );
        assert_eq!(
            resolve("https://demo.example/", Some("https://news.ycombinator.com/item?id=1")),
            s("Hacker News", "Organic Social", "news.ycombinator.com/item")
        );
        assert_eq!(resolve("https://demo.example/", Some("https://t.co/abc")), s("Twitter", "Organic Social", "t.co/abc"));
        assert_eq!(
            resolve("https://demo.example/", Some("https://m.youtube.com/watch?v=1")),
            s("YouTube", "Organic Video", "m.youtube.com/watch")
        );
        assert_eq!(resolve("https://demo.example/", Some("https://chatgpt.com/")), s("ChatGPT", "AI Assistants", "chatgpt.com"));
        assert_eq!(
            resolve("https://demo.example/", Some("https://en.wikipedia.org/wiki/X")),
            s("Wikipedia", "Referral", "en.wikipedia.org/wiki/X")
        );
    }

    #[test]
    fn unknown_and_odd_referrers() {
        assert_eq!(
            resolve("https://demo.example/", Some("https://www.markosaric.com/post/")),
            s("markosaric.com", "Referral", "markosaric.com/post")
        );
        assert_eq!(
            resolve("https://demo.example/", Some("android-app://com.slack/")),
            s("android-app://com.slack", "Referral", "android-app://com.slack")
        );
        // self-referral, localhost, junk and non-http schemes are direct
        for r in [
            "https://demo.example/other",
            "https://www.demo.example/",
            "http://localhost:3000/",
            "not a url",
            "javascript:alert(1)",
            "ftp://x.test/",
            "",
            "https://",
            "🎉://x",
        ] {
            assert_eq!(resolve("https://demo.example/", Some(r)), s("", "Direct", ""), "{r}");
        }
        assert_eq!(resolve("https://demo.example/", None), s("", "Direct", ""));
        // google-lookalikes are not Google
        assert_eq!(resolve("https://demo.example/", Some("https://google.evil.example.org/")).0, "google.evil.example.org");
    }

    #[test]
    fn tags_win_over_referrer() {
        assert_eq!(resolve("https://demo.example/?utm_source=GOOGLE", Some("https://bing.com/")).0, "Google");
        assert_eq!(resolve("https://demo.example/?ref=producthunt", None), s("Product Hunt", "Organic Social", ""));
        assert_eq!(resolve("https://demo.example/?source=ig", None).0, "Instagram");
        assert_eq!(resolve("https://demo.example/?utm_source=my+newsletter", None).0, "my newsletter");
    }

    #[test]
    fn channels() {
        assert_eq!(resolve("https://demo.example/?gclid=abc", Some("https://www.google.com/")).1, "Paid Search");
        assert_eq!(resolve("https://demo.example/?msclkid=abc", Some("https://www.bing.com/")).1, "Paid Search");
        assert_eq!(resolve("https://demo.example/?utm_source=google&utm_medium=cpc", None).1, "Paid Search");
        assert_eq!(resolve("https://demo.example/?utm_source=fb_ad", None), s("Facebook", "Paid Social", ""));
        assert_eq!(resolve("https://demo.example/?utm_source=foo&utm_medium=display", None).1, "Display");
        assert_eq!(resolve("https://demo.example/?utm_campaign=cross-network", None).1, "Cross-network");
        assert_eq!(resolve("https://demo.example/?utm_source=amazon&utm_medium=ppc", None).1, "Paid Shopping");
        assert_eq!(resolve("https://demo.example/?utm_source=foo&utm_medium=paid", None).1, "Paid Other");
        assert_eq!(resolve("https://demo.example/?utm_source=etsy", None).1, "Organic Shopping");
        assert_eq!(resolve("https://demo.example/?utm_source=foo&utm_medium=social", None).1, "Organic Social");
        assert_eq!(resolve("https://demo.example/?utm_source=news&utm_medium=newsletter", None).1, "Email");
        assert_eq!(resolve("https://demo.example/?utm_source=foo&utm_medium=affiliate", None).1, "Affiliates");
        assert_eq!(resolve("https://demo.example/?utm_source=foo&utm_medium=audio", None).1, "Audio");
        assert_eq!(resolve("https://demo.example/?utm_source=sms", None).1, "SMS");
        assert_eq!(resolve("https://demo.example/?utm_medium=push", None).1, "Mobile Push Notifications");
        for medium_or_source in ["utm_medium=mobile", "utm_medium=app-notification", "utm_source=firebase"] {
            assert_eq!(resolve(&format!("https://demo.example/?{medium_or_source}"), None).1, "Mobile Push Notifications");
        }
        // A click id is paid only from its own engine; a paid medium alone makes a video site paid.
        assert_eq!(resolve("https://demo.example/", Some("https://www.bing.com/")).1, "Organic Search");
        assert_eq!(resolve("https://demo.example/?msclkid=abc", Some("https://www.google.com/")).1, "Organic Search");
        assert_eq!(resolve("https://demo.example/?utm_source=youtube&utm_medium=cpc", None).1, "Paid Video");
        assert_eq!(resolve("https://demo.example/?utm_medium=referral", None).1, "Referral");
        assert_eq!(resolve("https://demo.example/?utm_medium=somethingelse", None).1, "Direct");
    }

    #[test]
    fn utm_tags_are_decoded() {
        let body = serde_json::json!({"n": "pageview", "u": "https://demo.example/?utm_medium=e%2Dmail&utm_source=a+b&utm_campaign=%F0%9F%8E%89&utm_content=c&utm_term=t&utm_term=second"});
        let d = payload::validate(payload::parse(body.to_string().as_bytes()).unwrap(), &ctx()).unwrap();
        let d = step(d, &ctx()).unwrap();
        assert_eq!(
            d.event.utm,
            Utm { medium: "e-mail".into(), source: "a b".into(), campaign: "🎉".into(), content: "c".into(), term: "t".into() }
        );
    }

    #[test]
    fn host_patterns() {
        assert!(host_matches("google.com", "google.*"));
        assert!(host_matches("google.co.uk", "google.*"));
        assert!(host_matches("images.google.de", "google.*"));
        assert!(!host_matches("google.example.org.uk", "google.*"));
        // One or two short labels after the name, none empty.
        assert!(!host_matches("google.a.b.c", "google.*"));
        assert!(!host_matches("google.example", "google.*"));
        assert!(!host_matches("google..de", "google.*"));
        assert!(!host_matches("notgoogle.com", "google.*"));
        assert!(host_matches("old.reddit.com", "reddit.com"));
        assert!(!host_matches("notreddit.com", "reddit.com"));
    }
}

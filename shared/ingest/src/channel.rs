//! Acquisition channels, with Plausible's names and precedence (which
//! follow GA4's default channel grouping).

/// What kind of site a known source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Search engine.
    Search,
    /// Social network or community.
    Social,
    /// Video platform.
    Video,
    /// Web mail.
    Email,
    /// Marketplace.
    Shopping,
    /// AI assistant.
    AiAssistant,
    /// Anything else.
    Other,
}

/// The channel for a visit. `source` is the resolved source name,
/// `category` its category; the `utm_*` values are as tagged; `paid_tag`
/// says the tag named a paid placement (`fb_ad`); `click_id` is `gclid` or
/// `msclkid` when the URL carried one.
pub fn channel(
    source: &str,
    category: Category,
    utm_medium: &str,
    utm_campaign: &str,
    utm_source: &str,
    paid_tag: bool,
    click_id: Option<&str>,
) -> &'static str {
    let source = source.to_lowercase();
    let medium = utm_medium.to_lowercase();
    let campaign = utm_campaign.to_lowercase();
    let tag = utm_source.to_lowercase();
    let paid_medium = is_paid_medium(&medium);
    let shopping_campaign = is_shopping_campaign(&campaign);
    let shopping = category == Category::Shopping || shopping_campaign;
    let email_tag = |s: &str| ["email", "e-mail", "e_mail", "e mail", "newsletter"].iter().any(|t| s.contains(t));

    if campaign.contains("cross-network") {
        "Cross-network"
    } else if shopping && paid_medium {
        "Paid Shopping"
    } else if (category == Category::Search && (paid_medium || paid_tag))
        || (source == "google" && click_id == Some("gclid"))
        || (source == "bing" && click_id == Some("msclkid"))
    {
        "Paid Search"
    } else if category == Category::Social && (paid_medium || paid_tag) {
        "Paid Social"
    } else if category == Category::Video && (paid_medium || paid_tag) {
        "Paid Video"
    } else if ["display", "banner", "expandable", "interstitial", "cpm"].contains(&medium.as_str()) {
        "Display"
    } else if paid_medium {
        "Paid Other"
    } else if shopping {
        "Organic Shopping"
    } else if category == Category::Social
        || ["social", "social-network", "social-media", "sm", "social network", "social media"].contains(&medium.as_str())
    {
        "Organic Social"
    } else if category == Category::Video || medium.contains("video") {
        "Organic Video"
    } else if category == Category::AiAssistant {
        "AI Assistants"
    } else if category == Category::Search {
        "Organic Search"
    } else if category == Category::Email || email_tag(&tag) || email_tag(&medium) {
        "Email"
    } else if medium == "affiliate" {
        "Affiliates"
    } else if medium == "audio" {
        "Audio"
    } else if tag == "sms" || medium == "sms" {
        "SMS"
    } else if medium.ends_with("push") || medium.contains("mobile") || medium.contains("notification") || source == "firebase" {
        "Mobile Push Notifications"
    } else if ["referral", "app", "link"].contains(&medium.as_str()) || !source.is_empty() {
        "Referral"
    } else {
        "Direct"
    }
}

/// `cp…` anywhere (cpc, cpm, cpa), `ppc`, `retargeting`, `paid…`.
fn is_paid_medium(medium: &str) -> bool {
    medium.contains("cp") || medium == "ppc" || medium == "retargeting" || medium.starts_with("paid")
}

/// A campaign containing `shopping`, or `shop` not preceded by a letter
/// a–d or f–z (so `eshop` and `shop` count, `workshop` does not).
fn is_shopping_campaign(campaign: &str) -> bool {
    if campaign.contains("shopping") {
        return true;
    }
    let bytes = campaign.as_bytes();
    campaign.match_indices("shop").any(|(i, _)| i == 0 || bytes.get(i - 1).is_some_and(|b| !(b.is_ascii_lowercase() && *b != b'e')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shopping_campaigns() {
        assert!(is_shopping_campaign("shop"));
        assert!(is_shopping_campaign("summer-shop"));
        assert!(is_shopping_campaign("eshop"));
        assert!(is_shopping_campaign("xmas shopping"));
        assert!(!is_shopping_campaign("workshop"));
        assert!(!is_shopping_campaign("ashop"));
        assert!(!is_shopping_campaign(""));
    }

    #[test]
    fn paid_media() {
        for m in ["cpc", "cpm", "ppc", "paid", "paidsocial", "retargeting", "xcpx"] {
            assert!(is_paid_medium(m), "{m}");
        }
        for m in ["", "email", "organic", "social"] {
            assert!(!is_paid_medium(m), "{m}");
        }
    }

    #[test]
    fn direct_without_anything() {
        assert_eq!(channel("", Category::Other, "", "", "", false, None), "Direct");
        assert_eq!(channel("example.com", Category::Other, "", "", "", false, None), "Referral");
    }
}

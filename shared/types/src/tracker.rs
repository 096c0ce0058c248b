//! The snippet customers paste: the script tag plus the queue stub that
//! keeps calls made before the script loads. The one place it is written;
//! the dashboard shows it from here.

/// The snippet for a site whose tracking hostname is `host`
/// (e.g. `t.example.com`). The stub serves both `beacon()` and Plausible's
/// `plausible()` so sites migrating from Plausible change only the tag.
pub fn snippet(host: &str) -> String {
    format!(
        "<script defer src=\"https://{host}/js/script.js\"></script>\n\
         <script>window.beacon=window.plausible=window.beacon||function(){{(window.beacon.q=window.beacon.q||[]).push(arguments)}}</script>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_points_at_the_host_and_queues() {
        let s = snippet("t.example.com");
        assert!(s.contains("src=\"https://t.example.com/js/script.js\""));
        assert!(s.contains("window.beacon.q"));
        assert!(s.contains("window.plausible"));
    }
}

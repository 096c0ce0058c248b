use super::*;

fn site(s: &str) -> SiteId {
    SiteId::parse(s).unwrap()
}

/// An independent decoder of ClickHouse single-quoted literals (the subset
/// `quote` emits): returns the value and the rest of the text after the
/// closing quote.
fn unquote(sql: &str) -> Option<(String, &str)> {
    let rest = sql.strip_prefix('\'')?;
    let mut out = Vec::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => return Some((String::from_utf8(out).ok()?, &rest[i + 1..])),
            b'\\' => {
                let next = *bytes.get(i + 1)?;
                i += 2;
                match next {
                    b'\\' => out.push(b'\\'),
                    b'\'' => out.push(b'\''),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'0' => out.push(0),
                    b'x' => {
                        let hex = std::str::from_utf8(bytes.get(i..i + 2)?).ok()?;
                        out.push(u8::from_str_radix(hex, 16).ok()?);
                        i += 2;
                    }
                    _ => return None,
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn quote_cases() {
    assert_eq!(quote("plain"), "'plain'");
    assert_eq!(quote("it's"), r"'it\'s'");
    assert_eq!(quote(r"back\slash"), r"'back\\slash'");
    assert_eq!(quote("a\nb\0c"), r"'a\nb\0c'");
    assert_eq!(quote("\u{7}"), r"'\x07'");
    assert_eq!(quote("\u{85}"), r"'\xC2\x85'");
    assert_eq!(quote("🎉 ünï"), "'🎉 ünï'");
    assert_eq!(quote(""), "''");
    for hostile in ["' OR 1=1 --", "\\' OR '1'='1", "'; DROP TABLE EVENTS; --", "\\", "'''", "\\\\'"] {
        let q = quote(hostile);
        assert_eq!(unquote(&q), Some((hostile.to_owned(), "")), "{hostile:?} -> {q}");
    }
}

#[cfg(not(target_arch = "wasm32"))]
proptest::proptest! {
    #[test]
    fn quote_round_trips_and_never_ends_early(s in "\\PC*|[\\x00-\\x7f]{0,64}|.{0,64}") {
        let q = quote(&s);
        proptest::prop_assert_eq!(unquote(&q), Some((s.clone(), "")));
    }

    #[test]

    fn any_filter_value_stays_inside_its_literal(v in ".{0,80}") {
        let mut q = Select::events(site("demo"), 0, 10);
        q.filter(Cond::In(Column::Blob(Blob::Pathname), vec![v.clone()], true));
        let sql = q.render();
        let literal_start = sql.find(" IN (").unwrap() + 5;
        let (value, rest) = unquote(&sql[literal_start..]).unwrap();
        proptest::prop_assert_eq!(value, v);
        proptest::prop_assert_eq!(rest, ")");
    }

    #[test]

    fn any_prop_key_stays_inside_its_literals(k in ".{0,40}") {
        let mut q = Select::events(site("demo"), 0, 10);
        q.column(Expr::Col(Column::Prop(k)));
        let sql = q.render();
        // Outside literals, only the builder's own words remain.
        let mut code = String::new();
        let mut rest = sql.as_str();
        while let Some(i) = rest.find('\'') {
            code.push_str(&rest[..i]);
            let (_, after) = unquote(&rest[i..]).unwrap();
            rest = after;
        }
        code.push_str(rest);
        proptest::prop_assert!(code.starts_with("SELECT if(position( IN blob20) > 0, substring(substring(blob20, position( IN blob20) + "), "{}", code);
        proptest::prop_assert!(code.ends_with(" FROM EVENTS WHERE index1 =  AND double1 = 1 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(10)"), "{}", code);
    }
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn the_site_filter_is_always_there_and_first() {
    let q = Select::events(site("demo"), 100, 200);
    assert_eq!(
        q.render(),
        "SELECT sum(_sample_interval) AS c0 FROM EVENTS WHERE index1 = 'demo' AND double1 = 1 AND timestamp >= toDateTime(100) AND timestamp < toDateTime(200)"
    );
    let mut q = Select::sessions(site("other"), 0, 1);
    q.filter(Cond::Or(vec![
        Cond::In(Column::Blob(Blob::Country), vec!["DE".into()], true),
        Cond::NumberIn(Column::Double(Double::Device), vec![1.0]),
    ]));
    let sql = q.render();
    assert!(sql.contains(" WHERE index1 = 'other' AND double1 = 2 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(86401) AND double11 < 1000 AND double11 + double13 * 1000 >= 0 AND "), "{sql}");
    assert!(sql.ends_with("AND (blob13 IN ('DE') OR double3 IN (1))"), "{sql}");
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn a_breakdown_renders_in_aes_subset() {
    let mut q = Select::events(site("demo"), 0, 86_400);
    let page = q.column(Expr::Col(Column::Blob(Blob::Pathname)));
    let visitors = q.column(Expr::Distinct(Double::VisitorId));
    let _pageviews = q.column(Expr::Sum(vec![], Some(Cond::In(Column::Blob(Blob::Name), vec!["pageview".into()], true))));
    let _bounces = q.column(Expr::Sum(vec![Double::Sign, Double::IsBounce], None));
    let day = q.column(Expr::Bucket(Unit::Day, "Europe/Berlin".into()));
    q.filter(Cond::Contains(Column::Blob(Blob::Source), vec!["Goo".into()], false))
        .filter(Cond::Not(Box::new(Cond::In(Column::Blob(Blob::Country), vec![], true))))
        .filter(Cond::In(Column::Prop("plan".into()), vec!["pro \"x\"".into()], false))
        .group_by(page)
        .group_by(day)
        .order_by(visitors, true)
        .order_by(page, false)
        .limit(10);
    let sql = q.render();
    assert_eq!(
        sql,
        "SELECT blob2 AS c0, count(DISTINCT double4) AS c1, sumIf(_sample_interval, blob1 IN ('pageview')) AS c2, \
         sum(_sample_interval * double2 * double12) AS c3, \
         toUnixTimestamp(toStartOfInterval(timestamp, INTERVAL '1' DAY, 'Europe/Berlin')) AS c4 \
         FROM EVENTS WHERE index1 = 'demo' AND double1 = 1 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(86400) \
         AND (position('goo' IN lowerUTF8(blob6)) > 0) AND NOT (1 = 0) \
         AND lowerUTF8(if(position('\"plan\":\"' IN blob20) > 0, substring(substring(blob20, position('\"plan\":\"' IN blob20) + 8), 1, \
         position('\"' IN substring(blob20, position('\"plan\":\"' IN blob20) + 8)) - 1), '(none)')) IN ('pro \\\\u0022x\\\\u0022') \
         GROUP BY c0, c4 ORDER BY c1 DESC, c0 ASC LIMIT 10"
    );
    let upper = sql.to_uppercase();
    for banned in [" JOIN ", " UNION ", "WITH ", " OVER (", "MATCH("] {
        assert!(!upper.contains(banned), "{banned}");
    }
    assert_eq!(upper.matches("SELECT").count(), 1);
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn out_of_range_positions_and_odd_numbers_are_harmless() {
    let mut q = Select::events(site("demo"), 0, 1);
    q.group_by(7).order_by(9, true);
    q.filter(Cond::NumberIn(Column::Double(Double::Sign), vec![f64::NAN]))
        .filter(Cond::And(vec![]))
        .filter(Cond::Or(vec![]))
        .filter(Cond::Matches(Column::Blob(Blob::Pathname), vec!["x".into()], true))
        .filter(Cond::Between(Column::Double(Double::ScrollDepth), 55.0, f64::INFINITY));
    let sql = q.render();
    assert!(!sql.contains("GROUP BY") && !sql.contains("ORDER BY"), "{sql}");
    assert!(sql.ends_with("AND double2 IN (0) AND 1 = 1 AND 1 = 0 AND 1 = 0 AND (double10 >= 55 AND double10 <= 0)"), "{sql}");
    // The first position past the columns is out of range too, in a
    // plain select and as a key of a nested one.
    let mut q = Select::events(site("demo"), 0, 1);
    let page = q.column(Expr::Col(Column::Blob(Blob::Pathname)));
    q.group_by(page).group_by(page + 1).order_by(page + 1, true);
    let sql = q.render();
    assert!(sql.ends_with(" GROUP BY c0"), "{sql}");
    assert!(!sql.contains("c1") && !sql.contains("ORDER BY"), "{sql}");
    let nested = q.render_per_visitor(&[(Expr::Sum(vec![], None), true)], 5);
    assert!(nested.starts_with("SELECT c0, countIf("), "{nested}");
    assert!(nested.ends_with(" GROUP BY c0 LIMIT 5"), "{nested}");
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn surviving_visitors_nest_one_site_scoped_select_and_net_out_signs() {
    let mut q = Select::sessions(site("demo"), 0, 86_400);
    // Session rows keep the exit page in the pathname slot.
    let exit = q.column(Expr::Col(Column::Blob(Blob::Pathname)));
    q.group_by(exit).order_by(exit, false).limit(5);
    assert_eq!(
        q.render_surviving(Double::VisitorId, 100),
        "SELECT c0, count() AS surviving FROM (SELECT blob2 AS c0, double4 AS c1, sum(_sample_interval * double2) AS c2 \
             FROM EVENTS WHERE index1 = 'demo' AND double1 = 2 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(172800) \
             AND double11 < 86400000 AND double11 + double13 * 1000 >= 0 GROUP BY c0, c1) WHERE c2 > 0 GROUP BY c0 ORDER BY surviving DESC LIMIT 100"
    );
    // No group keys: one total.
    let total = Select::sessions(site("demo"), 0, 1).render_surviving(Double::VisitorId, 1);
    assert!(total.starts_with("SELECT count() AS surviving FROM (SELECT double4 AS c0, sum(_sample_interval * double2) AS c1 FROM EVENTS WHERE index1 = 'demo'"), "{total}");
    assert!(total.ends_with(" GROUP BY c0) WHERE c1 > 0 LIMIT 1"), "{total}");
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn per_visit_figures_nest_one_site_scoped_select_by_session() {
    let mut q = Select::events(site("demo"), 0, 86_400);
    let page = q.column(Expr::Col(Column::Blob(Blob::Pathname)));
    q.group_by(page).order_by(page, false).limit(5);
    assert_eq!(
        q.render_per_visit(100),
        "SELECT c0, sum(c2 * c3) AS visit_scroll, sum(c4) AS visit_engaged_ms, sum(c3) AS engaged_visits FROM (SELECT blob2 AS c0, \
             double5 AS c1, max(double10) AS c2, max(_sample_interval) AS c3, sum(_sample_interval * double9) AS c4 FROM EVENTS \
             WHERE index1 = 'demo' AND double1 = 1 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(86400) GROUP BY c0, c1) \
             GROUP BY c0 LIMIT 100"
    );
    let total = Select::events(site("demo"), 0, 1).render_per_visit(1);
    assert!(
        total.starts_with(
            "SELECT sum(c1 * c2) AS visit_scroll, sum(c3) AS visit_engaged_ms, sum(c2) AS engaged_visits FROM (SELECT double5 AS c0,"
        ),
        "{total}"
    );
    assert!(total.ends_with(" GROUP BY c0) LIMIT 1"), "{total}");
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn having_keeps_groups_whose_signs_add_up_positive() {
    let mut q = Select::sessions(site("demo"), 0, 1);
    let id = q.column(Expr::Col(Column::Double(Double::SessionId)));
    q.group_by(id).having_positive(Expr::Sum(vec![Double::Sign], None)).limit(3);
    assert!(q.render().ends_with(" GROUP BY c0 HAVING sum(_sample_interval * double2) > 0 LIMIT 3"), "{}", q.render());
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn touched_sessions_take_keys_and_sums_from_sign_rows_and_matches_from_event_rows() {
    let mut events = Select::events(site("demo"), 0, 86_400);
    events.filter(Cond::In(Column::Blob(Blob::Name), vec!["Signup".into()], true));
    let mut s = Select::sessions(site("demo"), 0, 86_400);
    let day = s.column(Expr::Bucket(Unit::Day, "UTC".into()));
    let device = s.column(Expr::Col(Column::Double(Double::Device)));
    let _visits = s.column(Expr::Sum(vec![Double::Sign], None));
    s.group_by(day).group_by(device);
    assert_eq!(
        s.render_touched(&events, 50),
        "SELECT k0 AS c0, k1 AS c1, sum(k2) AS c2 FROM (SELECT double5 AS s, \
         max(if(double1 IN (2), toUnixTimestamp(toStartOfInterval(toDateTime(if(double11 + double13 * 1000 < 86399000, double11 + double13 * 1000, 86399000) / 1000), INTERVAL '1' DAY, 'UTC')), 0)) AS k0, \
         max(if(double1 IN (2), double3, 0)) AS k1, sumIf(_sample_interval * double2, double1 IN (2)) AS k2, \
         sumIf(_sample_interval, double1 IN (1)) AS hit FROM EVENTS WHERE index1 = 'demo' AND \
         ((double1 = 1 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(86400) AND blob1 IN ('Signup')) OR \
         (double1 = 2 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(172800) AND double11 < 86400000 AND double11 + double13 * 1000 >= 0)) \
         GROUP BY s) WHERE hit > 0 GROUP BY c0, c1 LIMIT 50"
    );
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn patterns_like_can_say_become_like_patterns_and_others_stay_regexes() {
    for (pattern, like) in [
        ("^/blog/", Some(&["/blog/%"][..])),
        ("/blog", Some(&["%/blog%"][..])),
        // `$`: the end, or a line break that ends the text.
        ("post-1$", Some(&["%post-1", "%post-1\n"][..])),
        ("^/exact$", Some(&["/exact", "/exact\n"][..])),
        ("^/blog/.*-1$", Some(&["/blog/%-1", "/blog/%-1\n"][..])),
        ("^/p.st$", Some(&["/p_st", "/p_st\n"][..])),
        (r"^/a\.b\-c\#$", Some(&["/a.b-c#", "/a.b-c#\n"][..])),
        ("^$", Some(&["", "\n"][..])),
        ("^/blog/.*$", Some(&["/blog/%"][..])),
        ("^/café/ü", Some(&["/café/ü%"][..])),
        ("it's", Some(&["%it's%"][..])),
        ("^/(a|b)$", None),
        ("^/[a-z]+$", None),
        ("^/a+", None),
        (r"^/\d", None),
        ("/100%", None),
        ("/a_b", None),
        (r"/a\_b", None),
        (r"/a\\b", None),
        ("a$b", None),
        ("(?i)abc", None),
        ("x{2}", None),
    ] {
        assert_eq!(like_pattern(pattern), like.map(|l| l.iter().map(|s| s.to_string()).collect::<Vec<_>>()), "{pattern}");
    }
    let mut q = Select::events(site("demo"), 0, 10);
    q.filter(Cond::Like(Column::Blob(Blob::Pathname), vec!["/it's/%".into(), "%x".into()]));
    q.filter(Cond::Not(Box::new(Cond::Like(Column::Blob(Blob::Name), vec![]))));
    assert!(q.render().ends_with(" AND (blob2 LIKE '/it\\'s/%' OR blob2 LIKE '%x') AND NOT (1 = 0)"), "{}", q.render());
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn regex_columns_lists_each_column_once_wherever_it_sits() {
    // Each listed column costs one read of its values: a column matched
    // twice, under `and`, `or` and `not`, is still read once.
    let path = Column::Blob(Blob::Pathname);
    let prop = Column::Prop("plan".into());
    let matches = |c: &Column, p: &str| Cond::Matches(c.clone(), vec![p.into()], true);
    let cond = Cond::And(vec![
        matches(&path, "^/a"),
        Cond::Or(vec![matches(&prop, "x+"), Cond::Not(Box::new(matches(&path, "b$")))]),
        Cond::Like(Column::Blob(Blob::Name), vec!["%".into()]),
        Cond::Not(Box::new(matches(&prop, "y+"))),
    ]);
    let mut columns = Vec::new();
    cond.regex_columns(&mut columns);
    assert_eq!(columns, vec![path, prop]);
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn sessions_are_those_active_in_the_range_bucketed_by_their_last_event() {
    // A day from 86,400 s: sessions started before its end whose last event
    // (start + whole-second duration) is not before its start.
    let mut s = Select::sessions(site("demo"), 86_400, 172_800);
    s.column(Expr::Bucket(Unit::Hour, "UTC".into()));
    let sql = s.render();
    assert!(
        sql.contains(
            "timestamp >= toDateTime(86400) AND timestamp < toDateTime(259200) \
             AND double11 < 172800000 AND double11 + double13 * 1000 >= 86400000"
        ),
        "{sql}"
    );
    // The bucket is the last event's, capped at the range's last second.
    assert!(
        sql.starts_with(
            "SELECT formatDateTime(toStartOfInterval(toDateTime(if(double11 + double13 * 1000 < 172799000, \
             double11 + double13 * 1000, 172799000) / 1000), INTERVAL '1' HOUR, 'UTC'), '%Y-%m-%d %H:00:00', 'UTC') AS c0"
        ),
        "{sql}"
    );
    // Where a visit's time in the range starts: its start, or the range's.
    s.column(Expr::StartBucket(Unit::Hour, "UTC".into()));
    assert!(
        s.render().contains(
            "formatDateTime(toStartOfInterval(toDateTime(if(double11 > 86400000, double11, 86400000) / 1000), \
             INTERVAL '1' HOUR, 'UTC'), '%Y-%m-%d %H:00:00', 'UTC') AS c1"
        ),
        "{}",
        s.render()
    );
    // Event rows keep their own time; a day is the Unix second it starts.
    let mut e = Select::events(site("demo"), 86_400, 172_800);
    e.column(Expr::Bucket(Unit::Day, "UTC".into()));
    e.column(Expr::StartBucket(Unit::Day, "UTC".into()));
    assert_eq!(e.render().matches("toUnixTimestamp(toStartOfInterval(timestamp, INTERVAL '1' DAY, 'UTC'))").count(), 2, "{}", e.render());
    // Weeks and months are dates, as text.
    let mut e = Select::events(site("demo"), 86_400, 172_800);
    e.column(Expr::Bucket(Unit::Week, "UTC".into()));
    e.column(Expr::Bucket(Unit::Month, "UTC".into()));
    for unit in ["WEEK", "MONTH"] {
        let text = format!("formatDateTime(toStartOfInterval(timestamp, INTERVAL '1' {unit}, 'UTC'), '%Y-%m-%d', 'UTC')");
        assert!(e.render().contains(&text), "{}", e.render());
    }
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn a_period_condition_selects_what_a_select_of_that_range_does() {
    // Inside a statement over two periods, each period's rows are named by
    // the very conditions a select of its own range filters with.
    for kind in [RowKind::Event, RowKind::Session] {
        let own = Select::of(kind, site("demo"), 86_400, 172_800).render();
        let cond = Cond::Period(kind, 86_400, 172_800).sql();
        let inner = cond.strip_prefix('(').and_then(|c| c.strip_suffix(')')).unwrap();
        assert!(own.ends_with(&format!("double1 = {} AND {inner}", kind as u8)), "{own} / {cond}");
    }
    let mut s = Select::events(site("demo"), 0, 200);
    let flag = s.column(Expr::Flag(Cond::Period(RowKind::Event, 100, 200)));
    s.group_by(flag);
    assert_eq!(
        s.render(),
        "SELECT if((timestamp >= toDateTime(100) AND timestamp < toDateTime(200)), 1, 0) AS c0 FROM EVENTS \
         WHERE index1 = 'demo' AND double1 = 1 AND timestamp >= toDateTime(0) AND timestamp < toDateTime(200) GROUP BY c0"
    );
}

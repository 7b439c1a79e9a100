//! Conformance with the reference implementation: the test suite of opening_hours.js (exported to
//! `../shared/data/opening-hours/opening_hours_js_cases.json`, LGPL-3.0, read in place and not copied).
//!
//! Every case without a location (no sun or regional-holiday data) is evaluated over its time range in
//! Europe/Berlin wall-clock time and compared interval by interval; every `should_fail` value must be
//! refused. The gate is hard: a case may only differ if it is listed in [`DIFFERENCES`] with the
//! reason, the same list as `docs/opening-hours.md`, and a listed case that starts to agree fails too,
//! so the list stays true.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDateTime;
use relais_hours::{OpeningHours, Place};

/// Values relais deliberately reads differently from opening_hours.js, with the reason (a key of the
/// table in docs/opening-hours.md).
const DIFFERENCES: &[(&str, &str)] = &[
    ("10:00-12:00,", "tolerant-syntax"),
    ("10:00-12:00;", "tolerant-syntax"),
    ("always closed", "tolerant-syntax"),
    ("24/7: closed \"always closed\"", "tolerant-syntax"),
    ("24/7: closed: \"always closed\"", "tolerant-syntax"),
    ("Montags 07:00-18:00", "tolerant-syntax"),
    ("Mo 12:00ー14:00", "tolerant-syntax"),
    ("Mo 12:00 à 14:00", "tolerant-syntax"),
    ("Mo 12:00 às 14:00", "tolerant-syntax"),
    ("Mo 12:00 until 14:00", "tolerant-syntax"),
    ("Mo 12:00 through 14:00", "tolerant-syntax"),
    ("Mo 12:00~14:00", "tolerant-syntax"),
    ("Mo 00:³°-14:09; 00:01-00:02 closed \"warning at correct position?\"", "tolerant-syntax"),
    ("Mo ⁰⁰:³⁰-¹⁴:⁰⁹; 00:01-00:02 closed \"warning at correct position?\"", "tolerant-syntax"),
    ("Mo ₀₀₃₀-₁₄⁰⁹; 00:01-00:02 closed \"warning at correct position?\"", "tolerant-syntax"),
    ("(dawn+00:00)-dusk", "sun-without-place"),
    ("Mo,Th,weekend 10:00-12:00", "tolerant-syntax"),
    ("Mo&We", "tolerant-syntax"),
    ("Mo and We", "tolerant-syntax"),
    ("Mo,We 24/7", "tolerant-syntax"),
    ("Mo,We: open", "tolerant-syntax"),
    ("Jan 01,Dec 24,25; Nov Th[4]", "js-extension"),
    ("Jan 01,Dec 11,Dec 15-17,Dec 19-23/2,Dec 24-25", "js-extension"),
    ("Dec 24.,Jan 02: 18:00-22:00", "tolerant-syntax"),
    ("2013/10 Dec 31; 2014/10 Jan 05", "js-extension"),
    ("Jan Su[1] -5 days-Jan 10", "reference-not-implemented"),
    (
        "Jan 31,Mar 31,Apr 30,May 31,Jun 30,Jul 31,Aug 31,Sep 30,Oct 31,Nov 30,Dec 31 open \"last day in month\"; Feb 29 open \"last day in month (Feb, leap year)\"; 2009/4,2010/4,2011/4 Feb 28 open \"last day in month (Feb, not leap year)\"",
        "js-extension",
    ),
    ("Jan 01-31/8: 00:00-24:00", "js-extension"),
    ("2012 Jan 01-31/8", "js-extension"),
    ("2012 Jan 01-31/8; 2010 Dec 01-31/8", "js-extension"),
    ("2012 Jan 01-31/8; 2025 Dec 01-31/8", "js-extension"),
    ("2012 Jan 01-31/8: 00:00-24:00", "js-extension"),
    ("Jan 10-31/7", "js-extension"),
    ("2013,2015,2050-2053,2055/2,2020-2029/3,2060+ Jan 01 Mo-Su", "js-extension"),
    ("Jan-Feb Jan 09-Jan 15", "js-extension"),
    ("Jan-Feb Jan 09-15", "js-extension"),
    ("00:00-24:00 Mo-Su week 05 Feb", "js-extension"),
    ("00:00-24:00 2012 week 05 Feb", "js-extension"),
    ("week 05 Feb 2012-2014", "js-extension"),
    ("Mo-Fr 08:00-12:00 open \"Sans rendez-vous\", Mo-Fr 13:00-17:00 open sur_rendez_vous", "tolerant-syntax"),
    ("Mo geschl., Tu 14:00-18:00, We-Sa 10:00-18:00", "tolerant-syntax"),
    ("Mo: geschlossen, Di: 14-18Uhr, Mi-Sa: 10-18Uhr", "tolerant-syntax"),
    ("Apr 08:00", "time-points"),
    ("Apr: 08:00", "time-points"),
    ("Mo-Fr 10:00-16:00/90; Sa off \"testing at end for parser\"", "time-points"),
    ("Mo-Fr 22:00-03:00/01:00", "time-points"),
    ("Sa 08:00,09:00,10:00,11:00,12:00,13:00,14:00, Mo-Fr 15:00,16:00,17:00,18:00,19:00,20:00", "time-points"),
    ("   monday,    Tu, wE,   TH    12:00 - 20:00  ; Off 14:00-16:00\t", "tolerant-syntax"),
    ("ორშაბათი-პარასკევი 09:00-17:00", "tolerant-syntax"),
    ("วันจันทร์-วันศุกร์ 09:00-17:00", "tolerant-syntax"),
    ("月曜日-金曜日 09:00-17:00", "tolerant-syntax"),
    ("الاثنين-الجمعة 09:00-17:00", "tolerant-syntax"),
    ("enero 10:00-18:00", "tolerant-syntax"),
    ("gennaio 10:00-18:00", "tolerant-syntax"),
    ("jun. 10:00-18:00", "tolerant-syntax"),
    ("juin 10:00-18:00", "tolerant-syntax"),
    ("lundi,vendredi 10:00-18:00", "tolerant-syntax"),
    ("lunes,viernes 10:00-18:00", "tolerant-syntax"),
    ("понедельник-пятница 09:00-17:00", "tolerant-syntax"),
    ("Mo 12:00-14:00 16:00-18:00 20:00-22:00", "tolerant-syntax"),
    ("Mo-Fr 08:00-16:00", "not-a-value"),
    ("Tu 23:59-48:00+; 00:23-00:42 unknown \"warning at correct position?\"", "open-end"),
    ("2012, Jan; 00:23-00:42 unknown \"warning at correct position?\"", "additional-rule-grammar"),
    ("Jun 30-24; 00:23-00:42 unknown \"warning at correct position?\"", "day-range-wraps"),
    ("We, Aug Mo; 00:23-00:42 unknown \"warning at correct position?\"", "additional-rule-grammar"),
    ("2014, Aug Mo; 00:23-00:42 unknown \"warning at correct position?\"", "additional-rule-grammar"),
];

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn cases() -> Option<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/opening-hours/opening_hours_js_cases.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(e) => {
            assert!(
                std::env::var_os("RELAIS_REQUIRE_SHARED_DATA").is_none(),
                "{} is required (RELAIS_REQUIRE_SHARED_DATA is set): {e}",
                path.display()
            );
            eprintln!("SKIPPED: opening_hours.js cases not found at {} ({e})", path.display());
            None
        }
    }
}

type Span = (NaiveDateTime, NaiveDateTime, bool);

fn evaluate(value: &str, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<Span>, String> {
    let hours = OpeningHours::read(value).map_err(|e| e.to_string())?.hours;
    let schedule = hours.at(&Place::new("Europe/Berlin", None).unwrap()).map_err(|e| e.to_string())?;
    Ok(schedule.intervals(from, to).into_iter().map(|i| (i.from, i.to, i.unknown)).collect())
}

#[test]
fn opening_hours_js_test_suite() {
    let Some(doc) = cases() else { return };
    let differences: std::collections::HashMap<&str, &str> = DIFFERENCES.iter().copied().collect();
    let (mut agree, mut listed, mut unexpected, mut stale) = (0, 0, Vec::new(), Vec::new());
    for case in doc["tests"].as_array().unwrap().iter().filter(|c| c["location"].is_null()) {
        let value = case["value"].as_str().unwrap();
        let from = local(case["from_local"].as_str().unwrap());
        let to = local(case["to_local"].as_str().unwrap());
        let expected: Vec<Span> = case["expected_intervals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    local(i["from_local"].as_str().unwrap()),
                    local(i["to_local"].as_str().unwrap()),
                    i["unknown"].as_bool().unwrap(),
                )
            })
            .collect();
        let got = evaluate(value, from, to);
        let same = got.as_ref().is_ok_and(|g| *g == expected);
        match (same, differences.get(value)) {
            (true, None) => agree += 1,
            (false, Some(_)) => listed += 1,
            (true, Some(_)) => stale.push(value.to_owned()),
            (false, None) => unexpected.push(format!(
                "{value:?} ({}): got {:?}, expected {:?}",
                case["name"].as_str().unwrap_or(""),
                got.map(|g| g.into_iter().take(6).collect::<Vec<_>>()),
                expected.into_iter().take(6).collect::<Vec<_>>()
            )),
        }
    }
    let (mut refused, mut accepted, mut not_values) = (0, Vec::new(), 0);
    for case in doc["should_fail"].as_array().unwrap() {
        // Tests of the JS constructor's other arguments pass a value that is not a string at all.
        let Some(value) = case["value"].as_str() else {
            not_values += 1;
            continue;
        };
        let refused_here = OpeningHours::read(value)
            .and_then(|r| r.hours.at(&Place::new("Europe/Berlin", None).unwrap()).map(drop))
            .is_err();
        match (refused_here, differences.get(value)) {
            (true, _) => refused += 1,
            (false, Some(_)) => listed += 1,
            (false, None) => accepted.push(format!("{value:?} ({})", case["name"].as_str().unwrap_or(""))),
        }
    }
    println!(
        "opening_hours.js cases: {agree} agree, {listed} listed differences, {} unexpected differences; should_fail: {refused} refused, {} accepted, {not_values} not strings",
        unexpected.len(),
        accepted.len()
    );
    assert!(unexpected.is_empty(), "unlisted differences:\n{}", unexpected.join("\n"));
    assert!(accepted.is_empty(), "should_fail values accepted:\n{}", accepted.join("\n"));
    assert!(stale.is_empty(), "listed as different but now agree (remove them from the list):\n{}", stale.join("\n"));
}

/// Every reason in the table is explained in docs/opening-hours.md.
#[test]
fn every_listed_reason_is_documented() {
    let docs =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/opening-hours.md"))
            .unwrap();
    for (value, reason) in DIFFERENCES {
        assert!(
            docs.contains(&format!("| `{reason}` |")),
            "reason {reason} (for {value:?}) is not in docs/opening-hours.md"
        );
    }
}

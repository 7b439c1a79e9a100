//! `relais hours eval`: the opening-hours evaluator on the command line, for operators checking a
//! value before an import and for scripts. Prints the open intervals as JSON Lines in local time.

use chrono::{NaiveDate, NaiveDateTime};
use relais_hours::{OpeningHours, Place};

/// Longest range evaluated at once, in days: ten years of daily intervals is already 3,650 lines.
const RANGE_DAYS_MAX: i64 = 3_660;

/// The JSON Lines for `value` between two local wall-clock times at a place, or a message for a person.
pub fn eval_lines(value: &str, from: &str, to: &str, tz: &str, country: Option<&str>) -> Result<Vec<String>, String> {
    let hours = OpeningHours::parse(value).map_err(|e| e.to_string())?;
    let place = Place::new(tz, country).map_err(|e| e.to_string())?;
    let schedule = hours.at(&place).map_err(|e| e.to_string())?;
    let (from, to) = (local_datetime("--from", from)?, local_datetime("--to", to)?);
    if to <= from {
        return Err("--to must be after --from".into());
    }
    if (to - from).num_days() > RANGE_DAYS_MAX {
        return Err(format!("the range is longer than {RANGE_DAYS_MAX} days: evaluate it in parts"));
    }
    Ok(schedule
        .intervals(from, to)
        .into_iter()
        .map(|i| {
            format!(
                "{{\"from\": \"{}\", \"to\": \"{}\", \"unknown\": {}}}",
                i.from.format("%Y-%m-%d %H:%M"),
                i.to.format("%Y-%m-%d %H:%M"),
                i.unknown
            )
        })
        .collect())
}

/// `YYYY-MM-DD HH:MM`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DD` (midnight).
fn local_datetime(flag: &str, text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .ok_or_else(|| format!("{flag} {text:?} is not a local date and time (YYYY-MM-DD HH:MM)"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prints_local_intervals_as_json_lines() {
        let lines = eval_lines(
            "Mo-Fr 09:00-12:00; PH off; Sa 10:00-11:00 unknown",
            "2026-07-13 00:00",
            "2026-07-19",
            "Europe/Paris",
            Some("fr"),
        )
        .unwrap();
        assert_eq!(
            lines,
            vec![
                r#"{"from": "2026-07-13 09:00", "to": "2026-07-13 12:00", "unknown": false}"#,
                r#"{"from": "2026-07-15 09:00", "to": "2026-07-15 12:00", "unknown": false}"#,
                r#"{"from": "2026-07-16 09:00", "to": "2026-07-16 12:00", "unknown": false}"#,
                r#"{"from": "2026-07-17 09:00", "to": "2026-07-17 12:00", "unknown": false}"#,
                r#"{"from": "2026-07-18 10:00", "to": "2026-07-18 11:00", "unknown": true}"#,
            ]
        );
    }

    #[test]
    fn bad_input_gets_a_message() {
        let cases = [
            ("Mo-Fr 09:00-", "2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", None, "not valid"),
            ("PH off", "2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", None, "no country"),
            ("24/7", "2026-07-13 00:00", "2026-07-14 00:00", "Mars/Olympus", None, "unknown IANA timezone"),
            ("24/7", "2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", Some("ZZ"), "unknown country"),
            ("24/7", "13/07/2026", "2026-07-14 00:00", "Europe/Paris", None, "--from"),
            ("24/7", "2026-07-14 00:00", "2026-07-13 00:00", "Europe/Paris", None, "after --from"),
            ("24/7", "2000-01-01 00:00", "2026-07-13 00:00", "Europe/Paris", None, "in parts"),
        ];
        for (value, from, to, tz, country, message) in cases {
            let error = eval_lines(value, from, to, tz, country).unwrap_err();
            assert!(error.contains(message), "{value:?}: {error}");
        }
    }
}

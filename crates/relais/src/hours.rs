//! `relais hours eval`: the opening-hours evaluator on the command line, for operators checking a
//! value before an import and for scripts. Prints the open intervals as JSON Lines in local time; a
//! value read with tolerance says so on standard error, with the value it is stored as. With
//! `--values FILE`, every line of the file is a value, and each gets one JSON line of its own (the
//! value, what it is stored as, its warnings, its intervals or its error): what
//! `scripts/opening-hours-agreement.mjs` compares with the reference implementation.

use chrono::{NaiveDate, NaiveDateTime};
use relais_hours::{Interval, OpeningHours, Place};
use serde_json::json;

/// Longest range evaluated at once, in days: ten years of daily intervals is already 3,650 lines. A
/// value that is the same at every moment (`24/7`, `closed`) has at most one interval: any range.
const RANGE_DAYS_MAX: i64 = 3_660;

/// Where and when to evaluate.
#[derive(Debug, Clone)]
pub struct Window {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub place: Place,
}

impl Window {
    pub fn new(
        from: &str,
        to: &str,
        tz: &str,
        country: Option<&str>,
        position: Option<(f64, f64)>,
    ) -> Result<Window, String> {
        let mut place = Place::new(tz, country).map_err(|e| e.to_string())?;
        if let Some((latitude, longitude)) = position {
            place = place.with_position(latitude, longitude).map_err(|e| e.to_string())?;
        }
        let (from, to) = (local_datetime("--from", from)?, local_datetime("--to", to)?);
        if to <= from {
            return Err("--to must be after --from".into());
        }
        Ok(Window { from, to, place })
    }
}

/// What a value says over the window.
pub struct Evaluation {
    pub stored: String,
    pub warnings: Vec<String>,
    pub intervals: Vec<Interval>,
}

/// Reads `value` with tolerance and evaluates it over the window, or says why not.
pub fn evaluate(value: &str, window: &Window) -> Result<Evaluation, String> {
    let reading = OpeningHours::read(value).map_err(|e| e.to_string())?;
    if !reading.hours.is_constant() && (window.to - window.from).num_days() > RANGE_DAYS_MAX {
        return Err(format!("the range is longer than {RANGE_DAYS_MAX} days: evaluate it in parts"));
    }
    let schedule = reading.hours.at(&window.place).map_err(|e| e.to_string())?;
    Ok(Evaluation {
        stored: reading.hours.as_str().to_owned(),
        warnings: reading.warnings,
        intervals: schedule.intervals(window.from, window.to),
    })
}

/// One JSON line per interval.
pub fn interval_lines(intervals: &[Interval]) -> Vec<String> {
    intervals
        .iter()
        .map(|i| {
            format!(
                "{{\"from\": \"{}\", \"to\": \"{}\", \"unknown\": {}}}",
                i.from.format("%Y-%m-%d %H:%M"),
                i.to.format("%Y-%m-%d %H:%M"),
                i.unknown
            )
        })
        .collect()
}

/// One JSON line per value of a file (one value per line; blank lines skipped).
pub fn file_lines(text: &str, window: &Window) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|value| {
            let line = match evaluate(value, window) {
                Ok(evaluation) => json!({
                    "value": value,
                    "stored": evaluation.stored,
                    "warnings": evaluation.warnings,
                    "intervals": evaluation.intervals.iter().map(|i| json!({
                        "from": i.from.format("%Y-%m-%d %H:%M").to_string(),
                        "to": i.to.format("%Y-%m-%d %H:%M").to_string(),
                        "unknown": i.unknown,
                    })).collect::<Vec<_>>(),
                }),
                Err(error) => json!({"value": value, "error": error}),
            };
            line.to_string()
        })
        .collect()
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

    fn window(from: &str, to: &str, country: Option<&str>) -> Window {
        Window::new(from, to, "Europe/Paris", country, None).unwrap()
    }

    fn lines(value: &str, window: &Window) -> Result<Vec<String>, String> {
        evaluate(value, window).map(|e| interval_lines(&e.intervals))
    }

    #[test]
    fn prints_local_intervals_as_json_lines() {
        let w = window("2026-07-13 00:00", "2026-07-19", Some("fr"));
        assert_eq!(
            lines("Mo-Fr 09:00-12:00; PH off; Sa 10:00-11:00 unknown", &w).unwrap(),
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
    fn tolerated_values_say_what_they_became() {
        let w = window("2026-07-13 00:00", "2026-07-14", None);
        let evaluation = evaluate("Mo 10-12", &w).unwrap();
        assert_eq!(evaluation.stored, "Mo 10:00-12:00");
        assert!(evaluation.warnings.iter().any(|w| w.contains("`10` read as `10:00`")), "{:?}", evaluation.warnings);
        assert!(evaluation.warnings.iter().any(|w| w.contains("stored as \"Mo 10:00-12:00\"")));
        let file = file_lines("Mo 10-12\n\nMo 10:00-12:00\nMo-Fr 09:00-", &w);
        assert_eq!(file.len(), 3);
        let first: serde_json::Value = serde_json::from_str(&file[0]).unwrap();
        assert_eq!(first["intervals"][0]["from"], "2026-07-13 10:00");
        let last: serde_json::Value = serde_json::from_str(&file[2]).unwrap();
        assert!(last["error"].as_str().unwrap().contains("line:column"), "{last}");
    }

    #[test]
    fn sun_events_follow_the_position_and_constants_any_range() {
        // Lyon in July: sunset about 21:30 local, not the 19:00 used without a position.
        let lyon = Window::new("2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", None, Some((45.76, 4.84)));
        let sunset = evaluate("sunrise-sunset", &lyon.unwrap()).unwrap().intervals;
        assert!(sunset[0].to.format("%H").to_string() == "21", "{sunset:?}");
        let nowhere = evaluate("sunrise-sunset", &window("2026-07-13 00:00", "2026-07-14 00:00", None)).unwrap();
        assert_eq!(nowhere.intervals[0].to.format("%H:%M").to_string(), "19:00");
        let long = window("1990-01-01 00:00", "2030-01-01 00:00", None);
        assert_eq!(lines("24/7", &long).unwrap().len(), 1);
        assert!(lines("closed", &long).unwrap().is_empty());
        assert!(lines("Mo 10:00-12:00", &long).unwrap_err().contains("in parts"));
    }

    #[test]
    fn bad_input_gets_a_message() {
        let cases = [
            ("Mo-Fr 09:00-", "2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", None, "not valid"),
            ("PH off", "2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", None, "no country"),
        ];
        for (value, from, to, tz, country, message) in cases {
            let window = Window::new(from, to, tz, country, None).unwrap();
            let error = evaluate(value, &window).err().unwrap();
            assert!(error.contains(message), "{value:?}: {error}");
        }
        let windows = [
            ("2026-07-13 00:00", "2026-07-14 00:00", "Mars/Olympus", None, None, "unknown IANA timezone"),
            ("2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", Some("ZZ"), None, "unknown country"),
            ("13/07/2026", "2026-07-14 00:00", "Europe/Paris", None, None, "--from"),
            ("2026-07-14 00:00", "2026-07-13 00:00", "Europe/Paris", None, None, "after --from"),
            ("2026-07-13 00:00", "2026-07-14 00:00", "Europe/Paris", None, Some((95.0, 0.0)), "not a position"),
        ];
        for (from, to, tz, country, position, message) in windows {
            let error = Window::new(from, to, tz, country, position).unwrap_err();
            assert!(error.contains(message), "{error}");
        }
    }
}

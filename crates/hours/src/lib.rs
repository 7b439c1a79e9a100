//! Opening hours of pickup points, in the OpenStreetMap `opening_hours` syntax.
//!
//! Every operator encodes hours its own way (four `HHMM` slots a day, free text, per-day strings); the
//! import adapters turn them into one `opening_hours` value ([`weekly`] helps), which this crate parses,
//! normalises and evaluates. Evaluation happens in the point's **local wall-clock time**: a shop that
//! opens at 09:00 opens at 09:00 local on both sides of a DST change. Instants (UTC) are converted with
//! the point's IANA timezone at the edges. Public holidays (`PH`) come from the embedded calendar of
//! the point's country; a point's **closures** (holidays of the shop, works) are date ranges applied on
//! top of the value: closed whatever the value says.
//!
//! The parser and evaluator of the syntax are the `opening-hours` crate; the differences with the
//! reference implementation (opening_hours.js), measured on its test suite, are in
//! `docs/opening-hours.md`.

pub mod freetext;
pub mod weekly;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use opening_hours::localization::{Country, NoLocation};
use opening_hours::{Context, RuleKind};

/// Longest value accepted, in bytes (the longest real value seen in OpenStreetMap is under 1,000).
pub const VALUE_BYTES_MAX: usize = 2_000;

/// Why a value, a timezone or a country was refused. The message is for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoursError {
    Empty,
    TooLong {
        bytes: usize,
    },
    Syntax {
        message: String,
    },
    /// The value uses `PH` or `SH` and the point has no country to take holidays from.
    NeedsCountry,
    UnknownTimezone(String),
    UnknownCountry(String),
}

impl fmt::Display for HoursError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoursError::Empty => f.write_str("opening hours are empty"),
            HoursError::TooLong { bytes } => {
                write!(f, "opening hours are {bytes} bytes long, at most {VALUE_BYTES_MAX} are accepted")
            }
            HoursError::Syntax { message } => write!(f, "opening hours are not valid: {message}"),
            HoursError::NeedsCountry => {
                f.write_str("opening hours use public or school holidays (PH, SH) but no country is known")
            }
            HoursError::UnknownTimezone(tz) => write!(f, "unknown IANA timezone {tz:?} (example: Europe/Paris)"),
            HoursError::UnknownCountry(cc) => write!(f, "unknown country code {cc:?} (ISO 3166 alpha-2, example: FR)"),
        }
    }
}

impl std::error::Error for HoursError {}

/// A valid `opening_hours` value, kept in canonical form. Cheap to clone. A value read back from storage
/// ([`OpeningHours::from_stored`]) is parsed again only when first evaluated: reading a point (every
/// parcel command does) costs no parse.
#[derive(Clone)]
pub struct OpeningHours(std::sync::Arc<Parsed>);

/// Shared by every clone: the points of a network that have the same hours share one parse.
struct Parsed {
    canonical: String,
    expression: OnceLock<opening_hours::OpeningHours>,
}

impl fmt::Debug for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OpeningHours").field(&self.0.canonical).finish()
    }
}

impl PartialEq for OpeningHours {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0.canonical == other.0.canonical
    }
}

impl OpeningHours {
    pub fn parse(value: &str) -> Result<OpeningHours, HoursError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(HoursError::Empty);
        }
        if trimmed.len() > VALUE_BYTES_MAX {
            return Err(HoursError::TooLong { bytes: trimmed.len() });
        }
        let expression = parse_expression(trimmed)?;
        Ok(OpeningHours(std::sync::Arc::new(Parsed {
            canonical: expression.to_string(),
            expression: OnceLock::from(expression),
        })))
    }

    /// A canonical value this crate produced earlier and that was stored; its syntax is checked when it
    /// is first evaluated ([`OpeningHours::at`]).
    pub fn from_stored(canonical: String) -> OpeningHours {
        OpeningHours(std::sync::Arc::new(Parsed { canonical, expression: OnceLock::new() }))
    }

    fn expression(&self) -> Result<&opening_hours::OpeningHours, HoursError> {
        if let Some(expression) = self.0.expression.get() {
            return Ok(expression);
        }
        let parsed = parse_expression(&self.0.canonical)?;
        Ok(self.0.expression.get_or_init(|| parsed))
    }

    /// The value as the parser understood it, written in the canonical form of the syntax.
    pub fn as_str(&self) -> &str {
        &self.0.canonical
    }

    /// Whether the value needs a country's holiday calendar (`PH`, `SH`).
    pub fn uses_holidays(&self) -> bool {
        mentions_holidays(&self.0.canonical)
    }

    /// The value bound to where it is read: ready to evaluate.
    pub fn at(&self, place: &Place) -> Result<Schedule, HoursError> {
        let context = match place.country {
            Some(country) => Context::default().with_holidays(country.holidays()),
            None if self.uses_holidays() => return Err(HoursError::NeedsCountry),
            None => Context::<NoLocation>::default(),
        };
        Ok(Schedule {
            expression: self.expression()?.clone().with_context(context),
            timezone: place.timezone,
            closures: place.closures.clone(),
        })
    }
}

fn parse_expression(value: &str) -> Result<opening_hours::OpeningHours, HoursError> {
    let expression = opening_hours::OpeningHours::from_str(value)
        .map_err(|e| HoursError::Syntax { message: syntax_message(&e.to_string()) })?;
    impossible_dates(&expression.get_expression()).map_err(|message| HoursError::Syntax { message })?;
    Ok(expression)
}

/// Dates the grammar lets through but no calendar has (`Nov 31`, `Feb 30`): refused, as
/// opening_hours.js does, instead of silently meaning something else.
fn impossible_dates(expression: &opening_hours_syntax::rules::OpeningHoursExpression) -> Result<(), String> {
    use opening_hours_syntax::rules::day::{Date, MonthdayRange};
    let days_max = |month: u8| match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    for rule in &expression.rules {
        for range in &rule.day_selector.monthday {
            let MonthdayRange::Date { start: (start, _), end: (end, _) } = range else { continue };
            for date in [start, end] {
                if let Date::Fixed { month, day, .. } = date
                    && *day > days_max(*month as u8)
                {
                    return Err(format!("{month:?} {day} does not exist"));
                }
            }
        }
    }
    Ok(())
}

/// `PH` or `SH` used as a selector (comments, in double quotes, do not count).
fn mentions_holidays(canonical: &str) -> bool {
    let mut in_comment = false;
    let mut word = String::new();
    for c in canonical.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            in_comment = !in_comment;
            word.clear();
        } else if !in_comment && c.is_ascii_alphabetic() {
            word.push(c);
        } else {
            if word == "PH" || word == "SH" {
                return true;
            }
            word.clear();
        }
    }
    false
}

/// The parser's message names the line and column of the problem and what was expected there; keep
/// those lines and drop the ASCII-art pointer.
fn syntax_message(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('|')).collect();
    let position = lines.iter().find_map(|l| l.strip_prefix("-->").map(str::trim));
    let expected = lines.iter().find(|l| l.starts_with('=')).map(|l| l.trim_start_matches('=').trim());
    match (position, expected) {
        (Some(at), Some(what)) => format!("at line:column {at}: {what}"),
        (Some(at), None) => format!("at line:column {at}"),
        _ => lines.join(" "),
    }
}

/// A closure of a point: closed on every day from `first` to `last`, both included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// Where hours are read: the point's timezone, its country (for public holidays) and its closures.
#[derive(Debug, Clone)]
pub struct Place {
    pub timezone: Tz,
    pub country: Option<Country>,
    pub closures: Vec<Closure>,
}

impl Place {
    /// From an IANA zone name and an optional ISO 3166 alpha-2 country code.
    pub fn new(timezone: &str, country: Option<&str>) -> Result<Place, HoursError> {
        let timezone = parse_timezone(timezone)?;
        let country = country.map(parse_country).transpose()?;
        Ok(Place { timezone, country, closures: Vec::new() })
    }

    pub fn with_closures(self, closures: Vec<Closure>) -> Place {
        Place { closures, ..self }
    }
}

pub fn parse_timezone(name: &str) -> Result<Tz, HoursError> {
    Tz::from_str(name.trim()).map_err(|_| HoursError::UnknownTimezone(name.to_owned()))
}

/// An ISO 3166 alpha-2 code with a holiday calendar (FR, DE, BE, ...).
pub fn parse_country(code: &str) -> Result<Country, HoursError> {
    let code = code.trim().to_ascii_uppercase();
    Country::from_str(&code).map_err(|_| HoursError::UnknownCountry(code))
}

/// What the hours say at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    Closed,
    /// Maybe open: the value says `unknown` or only carries a comment ("on appointment").
    Unknown,
}

/// A stretch of local wall-clock time with one state (open or unknown) and the value's comment for
/// it ("sur rendez-vous"); closed time is the gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub unknown: bool,
    pub comment: Option<String>,
}

/// Hours bound to a place: the evaluation functions.
#[derive(Clone)]
pub struct Schedule {
    expression: opening_hours::OpeningHours,
    timezone: Tz,
    closures: Vec<Closure>,
}

impl Schedule {
    /// Open (or maybe open) intervals between two local wall-clock times, closures removed, touching
    /// intervals of the same state and comment merged.
    pub fn intervals(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<Interval> {
        let mut out: Vec<Interval> = Vec::new();
        if from >= to {
            return out;
        }
        for range in self.expression.iter_range(from, to) {
            let unknown = match range.kind {
                RuleKind::Open => false,
                RuleKind::Unknown => true,
                RuleKind::Closed => continue,
            };
            let comment = (!range.comment.is_empty()).then(|| range.comment.to_string());
            for (from, to) in self.without_closures(range.range.start, range.range.end) {
                match out.last_mut() {
                    Some(last) if last.to == from && last.unknown == unknown && last.comment == comment => last.to = to,
                    _ => out.push(Interval { from, to, unknown, comment: comment.clone() }),
                }
            }
        }
        out
    }

    /// The state at an instant.
    pub fn state_at(&self, at: DateTime<Utc>) -> State {
        let local = self.local(at);
        if self.closed_on(local.date()) {
            return State::Closed;
        }
        match self.expression.state(local).0 {
            RuleKind::Open => State::Open,
            RuleKind::Closed => State::Closed,
            RuleKind::Unknown => State::Unknown,
        }
    }

    /// The next instant the state changes after `at`, looking at most `horizon` ahead.
    pub fn next_change(&self, at: DateTime<Utc>, horizon: Duration) -> Option<DateTime<Utc>> {
        let from = self.local(at);
        let now = self.state_at(at);
        let intervals = self.intervals(from, from + horizon);
        let first = intervals.first()?;
        let local_change = match now {
            State::Closed => first.from,
            // Pieces that only differ by their comment are one stretch of the same state.
            State::Open | State::Unknown => {
                let mut end = first.to;
                for next in &intervals[1..] {
                    if next.from != end || next.unknown != first.unknown {
                        break;
                    }
                    end = next.to;
                }
                end
            }
        };
        // An interval reaching the horizon has no known end within it.
        (local_change < from + horizon).then(|| self.instant(local_change))
    }

    /// The local wall-clock time of an instant at the point.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.timezone).naive_local()
    }

    /// The instant of a local wall-clock time: in a DST gap the first instant after it, in a DST fold
    /// the earlier of the two.
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let mut probe = local;
        for _ in 0..4 {
            if let Some(t) = self.timezone.from_local_datetime(&probe).earliest() {
                return t.with_timezone(&Utc);
            }
            probe += Duration::minutes(30);
        }
        Utc.from_utc_datetime(&local)
    }

    /// Whether the point is open (or maybe open) at some time of a local day.
    pub fn open_on(&self, day: NaiveDate) -> bool {
        let start = day.and_time(NaiveTime::MIN);
        !self.intervals(start, start + Duration::days(1)).is_empty()
    }

    fn closed_on(&self, day: NaiveDate) -> bool {
        self.closures.iter().any(|c| c.first <= day && day <= c.last)
    }

    /// `[from, to)` minus the closure days, as pieces.
    fn without_closures(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<(NaiveDateTime, NaiveDateTime)> {
        let mut pieces = vec![(from, to)];
        for closure in &self.closures {
            let closed_from = closure.first.and_time(NaiveTime::MIN);
            let closed_to = closure.last.and_time(NaiveTime::MIN) + Duration::days(1);
            pieces = pieces
                .into_iter()
                .flat_map(|(a, b)| {
                    if b <= closed_from || a >= closed_to {
                        vec![(a, b)]
                    } else {
                        [(a, closed_from.max(a).min(b)), (closed_to.min(b).max(a), b)]
                            .into_iter()
                            .filter(|(x, y)| x < y)
                            .collect()
                    }
                })
                .collect();
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn paris() -> Place {
        Place::new("Europe/Paris", Some("FR")).unwrap()
    }

    fn spans(schedule: &Schedule, from: &str, to: &str) -> Vec<(String, String, bool)> {
        schedule
            .intervals(local(from), local(to))
            .into_iter()
            .map(|i| (i.from.format("%m-%d %H:%M").to_string(), i.to.format("%m-%d %H:%M").to_string(), i.unknown))
            .collect()
    }

    #[test]
    fn weekdays_with_a_lunch_break_and_public_holidays_closed() {
        let hours = OpeningHours::parse("Mo-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00; PH off").unwrap();
        let s = hours.at(&paris()).unwrap();
        // 2026-07-14 (Tuesday) is Bastille Day.
        assert_eq!(
            spans(&s, "2026-07-13 00:00", "2026-07-16 00:00"),
            vec![
                ("07-13 09:00".into(), "07-13 12:00".into(), false),
                ("07-13 14:00".into(), "07-13 18:00".into(), false),
                ("07-15 09:00".into(), "07-15 12:00".into(), false),
                ("07-15 14:00".into(), "07-15 18:00".into(), false),
            ]
        );
    }

    #[test]
    fn closures_close_whole_days_whatever_the_value_says() {
        let hours = OpeningHours::parse("24/7").unwrap();
        let closure = Closure {
            first: NaiveDate::from_ymd_opt(2026, 8, 3).unwrap(),
            last: NaiveDate::from_ymd_opt(2026, 8, 4).unwrap(),
        };
        let s = hours.at(&paris().with_closures(vec![closure])).unwrap();
        assert_eq!(
            spans(&s, "2026-08-02 12:00", "2026-08-06 00:00"),
            vec![
                ("08-02 12:00".into(), "08-03 00:00".into(), false),
                ("08-05 00:00".into(), "08-06 00:00".into(), false),
            ]
        );
        assert!(!s.open_on(NaiveDate::from_ymd_opt(2026, 8, 3).unwrap()));
        assert!(s.open_on(NaiveDate::from_ymd_opt(2026, 8, 5).unwrap()));
        let noon_on_the_4th = Utc.with_ymd_and_hms(2026, 8, 4, 10, 0, 0).unwrap();
        assert_eq!(s.state_at(noon_on_the_4th), State::Closed);
        // Reopens at local midnight of the 5th, which is 22:00 UTC on the 4th in summer.
        assert_eq!(
            s.next_change(noon_on_the_4th, Duration::days(7)),
            Some(Utc.with_ymd_and_hms(2026, 8, 4, 22, 0, 0).unwrap())
        );
    }

    #[test]
    fn state_and_next_change_use_the_points_timezone() {
        let hours = OpeningHours::parse("Mo-Sa 08:00-20:00").unwrap();
        let s = hours.at(&paris()).unwrap();
        // 2026-11-27 (Friday) 06:30 UTC is 07:30 in Paris: closed, opens at 08:00 local = 07:00 UTC.
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 6, 30, 0).unwrap();
        assert_eq!(s.state_at(at), State::Closed);
        assert_eq!(s.next_change(at, Duration::days(7)), Some(Utc.with_ymd_and_hms(2026, 11, 27, 7, 0, 0).unwrap()));
        let evening = Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap();
        assert_eq!(s.state_at(evening), State::Open);
        assert_eq!(
            s.next_change(evening, Duration::days(7)),
            Some(Utc.with_ymd_and_hms(2026, 11, 27, 19, 0, 0).unwrap())
        );
        // Two open pieces with different comments are one open stretch: the change is at their end.
        let commented =
            OpeningHours::parse("Mo-Sa 08:00-12:00 open \"walk in\", Mo-Sa 12:00-20:00 open \"by appointment\"")
                .unwrap()
                .at(&paris())
                .unwrap();
        assert_eq!(
            commented.next_change(Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(), Duration::days(7)),
            Some(Utc.with_ymd_and_hms(2026, 11, 27, 19, 0, 0).unwrap())
        );
        // Always open: no change within the horizon.
        let always = OpeningHours::parse("24/7").unwrap().at(&paris()).unwrap();
        assert_eq!(always.next_change(evening, Duration::days(7)), None);
    }

    #[test]
    fn local_times_across_a_dst_change() {
        // 2026-03-29 02:00 does not exist in Paris; 2026-10-25 02:30 exists twice.
        let s = OpeningHours::parse("24/7").unwrap().at(&paris()).unwrap();
        assert_eq!(s.instant(local("2026-03-29 02:30")), Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
        assert_eq!(s.instant(local("2026-10-25 02:30")), Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap());
    }

    #[test]
    fn holidays_need_a_country() {
        let hours = OpeningHours::parse("Mo-Fr 09:00-18:00; PH off").unwrap();
        assert!(hours.uses_holidays());
        assert_eq!(hours.at(&Place::new("Europe/Paris", None).unwrap()).err(), Some(HoursError::NeedsCountry));
        let comment_only = OpeningHours::parse("Mo-Fr 09:00-18:00 \"closed PH\"").unwrap();
        assert!(!comment_only.uses_holidays());
    }

    #[test]
    fn bad_values_are_refused_with_a_message_naming_the_place() {
        for bad in ["", "   ", "Mo-Fr 25:99-30:00 bla", "lundi 9h-12h", "Mo-Fr 09:00-", "Nov 31", "Feb 30-Mar 02"] {
            assert!(OpeningHours::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let error = OpeningHours::parse("Mo-Fr 09:00-").unwrap_err().to_string();
        assert!(error.contains("line:column 1:"), "{error}");
        assert!(matches!(OpeningHours::parse(&"Mo ".repeat(1000)), Err(HoursError::TooLong { .. })));
        assert!(matches!(Place::new("Europe/Lyon", None), Err(HoursError::UnknownTimezone(_))));
        assert!(matches!(Place::new("Europe/Paris", Some("XX")), Err(HoursError::UnknownCountry(_))));
    }

    #[test]
    fn canonical_form() {
        assert_eq!(
            OpeningHours::parse("Mo-Fr 09:00-12:00 ; Sa 10:00-12:00").unwrap().as_str(),
            "Mo-Fr 09:00-12:00; Sa 10:00-12:00"
        );
    }

    #[test]
    fn a_stored_value_evaluates_like_the_parsed_one() {
        let parsed = OpeningHours::parse("Mo-Fr 09:00-12:00; PH off").unwrap();
        let stored = OpeningHours::from_stored(parsed.as_str().to_owned());
        assert_eq!(stored, parsed);
        assert!(stored.uses_holidays());
        let (from, to) = (local("2026-07-13 00:00"), local("2026-07-16 00:00"));
        assert_eq!(stored.at(&paris()).unwrap().intervals(from, to), parsed.at(&paris()).unwrap().intervals(from, to));
        let corrupt = OpeningHours::from_stored("Mo-Fr 09:00-".into());
        assert!(matches!(corrupt.at(&paris()), Err(HoursError::Syntax { .. })));
    }
}

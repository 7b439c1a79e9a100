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
mod tolerant;
pub mod weekly;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use opening_hours::localization::{Coordinates, Country, Localize, NoLocation};
use opening_hours::{Context, RuleKind};
use opening_hours_syntax::rules::time::TimeEvent;
use opening_hours_syntax::rules::{OpeningHoursExpression, RuleOperator};

/// Longest value accepted, in bytes (the longest real value seen in OpenStreetMap is under 1,000).
pub const VALUE_BYTES_MAX: usize = 2_000;

/// Why a value, a timezone or a country was refused. The message is for the person who typed it.
#[derive(Debug, Clone, PartialEq)]
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
    BadPosition {
        latitude: f64,
        longitude: f64,
    },
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
            HoursError::BadPosition { latitude, longitude } => {
                write!(f, "{latitude}, {longitude} is not a position (latitude -90 to 90, longitude -180 to 180)")
            }
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
    /// What is evaluated: the value with the specification's meaning made explicit (see
    /// [`evaluation_form`]), split at its fallback rules, parsed on first use.
    evaluated: OnceLock<Vec<Segment>>,
}

/// Rules up to a fallback (`||`). A fallback rule says what the time the rules before it leave closed
/// is, as the reference reads it.
#[derive(Clone)]
struct Segment<L: Localize = NoLocation> {
    states: opening_hours::OpeningHours<L>,
    /// The time open ends' guesses cover: unknown where `states` says open.
    guessed: Option<opening_hours::OpeningHours<L>>,
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

/// A value read with the reference's tolerance: what was typed, the canonical value it became, and
/// each liberty taken (for the person who typed it).
#[derive(Debug, Clone)]
pub struct Reading {
    pub hours: OpeningHours,
    /// Empty when the value was valid as typed.
    pub warnings: Vec<String>,
}

impl OpeningHours {
    /// A value in the specification's syntax, as typed; anything else is refused.
    pub fn parse(value: &str) -> Result<OpeningHours, HoursError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(HoursError::Empty);
        }
        if trimmed.len() > VALUE_BYTES_MAX {
            return Err(HoursError::TooLong { bytes: trimmed.len() });
        }
        let expression = parse_expression(trimmed)?;
        let expression = comment_only_rules_unknown(trimmed, expression);
        let canonical = canonical(&expression);
        Ok(OpeningHours(std::sync::Arc::new(Parsed { canonical, evaluated: OnceLock::new() })))
    }

    /// A value as people write it: what the reference implementation's tolerant reading accepts without
    /// ambiguity (`10-12`, `10.00`, `10am`, `Fr11:00`, `Mon - Fri`, an en dash, a missing `;` between
    /// day rules) is read, and each such liberty is a warning; the stored value is the canonical one.
    /// What is still not valid is refused with the line and column of what was typed.
    pub fn read(value: &str) -> Result<Reading, HoursError> {
        match OpeningHours::parse(value) {
            Ok(hours) => Ok(Reading { hours, warnings: Vec::new() }),
            Err(HoursError::Syntax { message }) => {
                let (rewritten, mut warnings) = tolerant::rewrite(value.trim());
                if warnings.is_empty() {
                    return Err(HoursError::Syntax { message });
                }
                let hours = OpeningHours::parse(&rewritten).map_err(|_| HoursError::Syntax { message })?;
                warnings.push(format!("stored as {:?}", hours.as_str()));
                Ok(Reading { hours, warnings })
            }
            Err(other) => Err(other),
        }
    }

    /// A canonical value this crate produced earlier and that was stored; its syntax is checked when it
    /// is first evaluated ([`OpeningHours::at`]).
    pub fn from_stored(canonical: String) -> OpeningHours {
        OpeningHours(std::sync::Arc::new(Parsed { canonical, evaluated: OnceLock::new() }))
    }

    fn evaluated(&self) -> Result<&[Segment], HoursError> {
        if let Some(segments) = self.0.evaluated.get() {
            return Ok(segments);
        }
        let stored = parse_expression(&self.0.canonical)?;
        let segments = segments(spills_apart(evaluation_form(&stored.get_expression())))?;
        Ok(self.0.evaluated.get_or_init(|| segments))
    }

    /// The value as the parser understood it, written in the canonical form of the syntax.
    pub fn as_str(&self) -> &str {
        &self.0.canonical
    }

    /// Whether the value needs a country's holiday calendar (`PH`, `SH`).
    pub fn uses_holidays(&self) -> bool {
        mentions_holidays(&self.0.canonical)
    }

    /// Whether the value says the same at every moment (`24/7`, `closed`, `off`, `unknown`).
    pub fn is_constant(&self) -> bool {
        self.evaluated().is_ok_and(|s| s.len() == 1 && s[0].states.get_expression().is_constant())
            || matches!(self.0.canonical.as_str(), "closed" | "off")
    }

    /// The value bound to where it is read: ready to evaluate.
    pub fn at(&self, place: &Place) -> Result<Schedule, HoursError> {
        let local = Local { timezone: place.timezone, coordinates: place.coordinates };
        let context = match place.country {
            Some(country) => Context::default().with_holidays(country.holidays()),
            None if self.uses_holidays() => return Err(HoursError::NeedsCountry),
            None => Context::default(),
        };
        let context = context.with_locale(local);
        let segments = self
            .evaluated()?
            .iter()
            .map(|segment| Segment {
                states: segment.states.clone().with_context(context.clone()),
                guessed: segment.guessed.clone().map(|g| g.with_context(context.clone())),
            })
            .collect();
        Ok(Schedule { segments, timezone: place.timezone, closures: place.closures.clone() })
    }
}

/// Where the syntax's wall-clock times are read: the point's local time, with its coordinates for sun
/// events (`sunrise`, `dusk`...). Without coordinates, sun events take the syntax crate's fixed times.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Local {
    timezone: Tz,
    coordinates: Option<Coordinates>,
}

impl Localize for Local {
    type DateTime = NaiveDateTime;

    fn naive(&self, dt: NaiveDateTime) -> NaiveDateTime {
        dt
    }

    fn datetime(&self, naive: NaiveDateTime) -> NaiveDateTime {
        naive
    }

    fn event_time(&self, date: NaiveDate, event: TimeEvent) -> Option<NaiveTime> {
        match self.coordinates {
            Some(coordinates) => {
                let at = coordinates.event_time(date, event)?;
                Some(at.with_timezone(&self.timezone).naive_local().time())
            }
            None => NoLocation.event_time(date, event),
        }
    }
}

/// The canonical text of an expression. The syntax crate writes a rule's state only when it is not
/// `open`; here an `open` followed by a comment is written too, since a rule with a comment and no
/// state means *unknown* ([`comment_only_rules_unknown`]).
fn canonical(expression: &OpeningHoursExpression) -> String {
    let mut out = String::new();
    for (n, rule) in expression.rules.iter().enumerate() {
        if n > 0 {
            out.push_str(match rule.operator {
                RuleOperator::Normal => "; ",
                RuleOperator::Additional => ", ",
                RuleOperator::Fallback => " || ",
            });
        }
        let text = rule.to_string();
        if rule.kind == RuleKind::Open && !rule.comment.is_empty() {
            let comment = format!("\"{}\"", rule.comment);
            let head = text.strip_suffix(&comment).unwrap_or(&text).trim_end();
            if head.is_empty() {
                out.push_str(&format!("open {comment}"));
            } else {
                out.push_str(&format!("{head} open {comment}"));
            }
        } else {
            out.push_str(&text);
        }
    }
    if expression.rules.is_empty() { "closed".into() } else { out }
}

/// The specification: a rule with a comment and no state (`Sa 10:00-12:00 "maybe"`, a fallback
/// `|| "on appointment"`) is *unknown*, not open. The syntax crate reads it as open; the rules whose
/// comment was typed without a state before it are set to unknown here. (A comment written before a
/// colon belongs to a selector, not to the rule's state.)
fn comment_only_rules_unknown(text: &str, expression: opening_hours::OpeningHours) -> OpeningHoursExpression {
    let mut expression = expression.get_expression().as_ref().clone();
    let bare = bare_comments(text);
    let mut comments = bare.into_iter();
    for rule in expression.rules.iter_mut().filter(|r| !r.comment.is_empty()) {
        match comments.next() {
            Some(true) if rule.kind == RuleKind::Open => rule.kind = RuleKind::Unknown,
            Some(_) => {}
            None => break,
        }
    }
    expression
}

/// For each comment of the value that states a rule (not a selector's, which a colon follows), in
/// order: whether it was written without a state before it.
fn bare_comments(text: &str) -> Vec<bool> {
    let mut found = Vec::new();
    let mut word = String::new();
    let mut last_word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            let mut comment = String::new();
            for inner in chars.by_ref() {
                if inner == '"' {
                    break;
                }
                comment.push(inner);
            }
            let rest: String = chars.clone().take_while(|c| c.is_whitespace() || *c == ':').collect();
            if !rest.contains(':') {
                let stated = ["open", "closed", "off", "unknown"].contains(&last_word.to_ascii_lowercase().as_str());
                found.push(!stated);
            }
            last_word.clear();
            word.clear();
            continue;
        }
        if c.is_alphanumeric() || c == '/' || c == ':' {
            word.push(c);
        } else if !word.is_empty() {
            last_word = std::mem::take(&mut word);
        }
    }
    found
}

/// How long an open end (`12:00+`) is taken to last, as opening_hours.js guesses it: from a start at
/// 22:00 or later, 8 hours; from 17:00, 10 hours; earlier, until midnight. The guess is *unknown*.
fn open_end_guess(start_minutes: u16) -> u16 {
    match start_minutes {
        m if m >= 22 * 60 => m + 8 * 60,
        m if m >= 17 * 60 => m + 10 * 60,
        _ => 24 * 60,
    }
}

/// The rules split at each fallback (`A || B`): the syntax crate lets a fallback rule take a whole day
/// when the rules before it leave part of it closed; the reference applies it to the time the rules
/// before it leave closed. Rules after a fallback (`A || "call"; PH off`) still override whole days:
/// each segment ends with them. Each segment is evaluated alone and the schedule pieces them
/// together ([`Schedule::intervals`]).
fn segments(rules: Vec<Evaluated>) -> Result<Vec<Segment>, HoursError> {
    // The rules before the first fallback, each fallback with the additional rules that follow it,
    // and the rules after them (from the next `;` on), which override whole days of everything before.
    let mut groups: Vec<Vec<Evaluated>> = vec![Vec::new()];
    let mut tail: Vec<Evaluated> = Vec::new();
    for mut evaluated in rules {
        let in_fallback = groups.len() > 1;
        match evaluated.rule.operator {
            RuleOperator::Fallback if tail.is_empty() => {
                evaluated.rule.operator = RuleOperator::Normal;
                groups.push(vec![evaluated]);
            }
            RuleOperator::Normal if in_fallback || !tail.is_empty() => tail.push(evaluated),
            _ if !tail.is_empty() => tail.push(evaluated),
            _ => {
                if let Some(group) = groups.last_mut() {
                    group.push(evaluated);
                }
            }
        }
    }
    if !tail.is_empty() {
        for group in &mut groups {
            group.extend(tail.iter().map(|e| Evaluated { rule: e.rule.clone(), guessed: e.guessed.clone() }));
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let guesses: Vec<_> = group
                .iter()
                .filter_map(|e| e.guessed.clone())
                .enumerate()
                .map(|(n, mut guess)| {
                    guess.operator = if n == 0 { RuleOperator::Normal } else { RuleOperator::Additional };
                    guess
                })
                .collect();
            let rules = group.into_iter().map(|e| e.rule).collect();
            let states = parse_expression(&canonical(&OpeningHoursExpression { rules }))?;
            let guessed = if guesses.is_empty() {
                None
            } else {
                Some(parse_expression(&canonical(&OpeningHoursExpression { rules: guesses }))?)
            };
            Ok(Segment { states, guessed })
        })
        .collect()
}

/// A rule as evaluated, and the part of its time that is an open end's guess (*unknown*).
struct Evaluated {
    rule: opening_hours_syntax::rules::RuleSequence,
    guessed: Option<opening_hours_syntax::rules::RuleSequence>,
}

/// The rules evaluated for a stored value: an open end (`12:00+`, `10:00-20:00+`) is open over its
/// fixed part and *unknown* after it, until the rule's next time range starts or, without one, for as
/// long as [`open_end_guess`] says, as the specification and the reference read it. Where a rule's
/// ranges overlap, the one written later says what that time is (`13:00-02:00,17:00+`: unknown from
/// 17:00). The syntax crate cannot mix states within one day's additional rules, so each rule is
/// evaluated open over all its ranges, and the guessed part is a rule apart that the schedule marks
/// unknown ([`Schedule::intervals`]).
fn evaluation_form(expression: &OpeningHoursExpression) -> Vec<Evaluated> {
    use opening_hours_syntax::ExtendedTime;
    use opening_hours_syntax::rules::time::{Time, TimeSpan};
    let minutes = |time: &Time| match time {
        Time::Fixed(t) => Some(t.mins_from_midnight()),
        Time::Variable(_) => None,
    };
    let span = |a: u16, b: u16| {
        Some(TimeSpan::fixed_range(
            ExtendedTime::from_mins_from_midnight(a)?,
            ExtendedTime::from_mins_from_midnight(b)?,
        ))
    };
    let mut evaluated = Vec::new();
    for rule in &expression.rules {
        let spans = &rule.time_selector.spans;
        if !spans.iter().any(|span| span.open_end) || rule.kind != RuleKind::Open {
            // A closed rule with an open end (`17:00+ off`) is closed from its start: nothing to guess.
            evaluated.push(Evaluated { rule: rule.clone(), guessed: None });
            continue;
        }
        let starts: Vec<u16> = spans.iter().filter_map(|span| minutes(&span.range.start)).collect();
        // Each range in minutes with whether it is guessed; a later range cuts what it covers out of the
        // earlier ones.
        let mut pieces: Vec<(u16, u16, bool)> = Vec::new();
        let mut variable: Vec<TimeSpan> = Vec::new();
        for written in spans {
            let (Some(start), Some(end)) = (minutes(&written.range.start), minutes(&written.range.end)) else {
                // A sun event: open over the range it names.
                variable.push(TimeSpan { open_end: false, ..written.clone() });
                continue;
            };
            let end = if end <= start { end + 24 * 60 } else { end };
            let mut add = |a: u16, b: u16, guessed: bool| {
                pieces = std::mem::take(&mut pieces)
                    .into_iter()
                    .flat_map(|(x, y, g)| [(x, y.min(a), g), (x.max(b), y, g)])
                    .filter(|(x, y, _)| x < y)
                    .collect();
                pieces.push((a, b, guessed));
            };
            if !written.open_end {
                add(start, end, false);
                continue;
            }
            let pure = written.range.end == Time::Fixed(ExtendedTime::MIDNIGHT_24);
            let from = if pure { start } else { end };
            if !pure {
                add(start, end, false);
            }
            let next = starts.iter().copied().filter(|s| *s > from).min();
            let until = next.unwrap_or_else(|| open_end_guess(from)).min(48 * 60);
            if until > from {
                add(from, until, true);
            }
        }
        // A range can only start before midnight: one that starts after it (the guess after
        // `22:00-04:00+`) is written on the next day, when the rule's days can be moved by one.
        let (today, tomorrow): (Vec<_>, Vec<_>) = pieces.into_iter().partition(|(a, _, _)| *a < 24 * 60);
        let tomorrow: Vec<(u16, u16, bool)> =
            tomorrow.into_iter().map(|(a, b, g)| (a - 24 * 60, b - 24 * 60, g)).collect();
        let first = evaluated.len();
        for (pieces, day_rule) in [(today, Some(rule.clone())), (tomorrow, next_day(rule))] {
            let Some(day_rule) = day_rule.filter(|_| !pieces.is_empty()) else { continue };
            let mut open = day_rule.clone();
            open.time_selector.spans = pieces.iter().filter_map(|(a, b, _)| span(*a, *b)).collect();
            open.time_selector.spans.append(&mut variable);
            if evaluated.len() > first {
                open.operator = RuleOperator::Additional;
            }
            let guessed: Vec<TimeSpan> = pieces.iter().filter(|p| p.2).filter_map(|(a, b, _)| span(*a, *b)).collect();
            let guessed = (!guessed.is_empty()).then(|| {
                let mut guess = day_rule.clone();
                guess.time_selector.spans = guessed;
                guess.comment = "".into();
                guess
            });
            evaluated.push(Evaluated { rule: open, guessed });
        }
    }
    evaluated
}

/// A rule's time past midnight (`Sa 11:00-02:00`) is the rule's, and like the rest of it overrides the
/// rules written before it (`Su 11:00-01:00; Sa 11:00-02:00`: open until 02:00 on Sunday) and is
/// overridden by those after it (`22:00-26:00; We 12:00-14:00`: Wednesday is the later rule's). The
/// syntax crate lets the next day's earlier rule drop it; where the rule's days move to the next day
/// simply ([`next_day`]), its time past midnight becomes a rule of the next day added right after it.
fn spills_apart(rules: Vec<Evaluated>) -> Vec<Evaluated> {
    use opening_hours_syntax::ExtendedTime;
    use opening_hours_syntax::rules::time::{Time, TimeSpan};
    let day = 24 * 60;
    let mut out = Vec::with_capacity(rules.len());
    for evaluated in rules {
        let rule = &evaluated.rule;
        let crossing = |span: &TimeSpan| match (&span.range.start, &span.range.end) {
            (Time::Fixed(start), Time::Fixed(end)) if !span.open_end && span.repeats.is_none() => {
                let (start, end) = (start.mins_from_midnight(), end.mins_from_midnight());
                let end = if end <= start { end + day } else { end };
                (end > day).then_some((start, end))
            }
            _ => None,
        };
        let next = next_day(rule).filter(|_| {
            evaluated.guessed.is_none()
                && rule.kind != RuleKind::Closed
                && rule.time_selector.spans.iter().any(|s| crossing(s).is_some())
        });
        let Some(next) = next else {
            out.push(evaluated);
            continue;
        };
        let mut own = rule.clone();
        let mut after = Vec::new();
        own.time_selector.spans = rule
            .time_selector
            .spans
            .iter()
            .map(|span| match crossing(span) {
                Some((start, end)) => {
                    after.extend(
                        ExtendedTime::from_mins_from_midnight(end - day)
                            .map(|to| TimeSpan::fixed_range(ExtendedTime::MIDNIGHT_00, to)),
                    );
                    ExtendedTime::from_mins_from_midnight(start)
                        .map(|from| TimeSpan::fixed_range(from, ExtendedTime::MIDNIGHT_24))
                        .unwrap_or_else(|| span.clone())
                }
                None => span.clone(),
            })
            .collect();
        let mut spill = next;
        spill.time_selector.spans = after;
        spill.operator = RuleOperator::Additional;
        out.push(Evaluated { rule: own, guessed: None });
        out.push(Evaluated { rule: spill, guessed: None });
    }
    out
}

/// The rule on the day after each day it selects, when its days are plain weekdays (or every day);
/// `None` for dates, weeks, holidays and nth weekdays, which do not move that simply.
fn next_day(rule: &opening_hours_syntax::rules::RuleSequence) -> Option<opening_hours_syntax::rules::RuleSequence> {
    use opening_hours_syntax::rules::day::WeekDayRange;
    let days = &rule.day_selector;
    if !days.year.is_empty() || !days.monthday.is_empty() || !days.week.is_empty() {
        return None;
    }
    let mut moved = rule.clone();
    for range in &mut moved.day_selector.weekday {
        match range {
            WeekDayRange::Fixed { range, offset: 0, nth_from_start, nth_from_end }
                if nth_from_start.iter().all(|n| *n) && nth_from_end.iter().all(|n| *n) =>
            {
                *range = range.start().succ()..=range.end().succ();
            }
            _ => return None,
        }
    }
    Some(moved)
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

/// Where hours are read: the point's timezone, its country (for public holidays), its position (for
/// sun events) and its closures.
#[derive(Debug, Clone)]
pub struct Place {
    pub timezone: Tz,
    pub country: Option<Country>,
    coordinates: Option<Coordinates>,
    pub closures: Vec<Closure>,
}

impl Place {
    /// From an IANA zone name and an optional ISO 3166 alpha-2 country code.
    pub fn new(timezone: &str, country: Option<&str>) -> Result<Place, HoursError> {
        let timezone = parse_timezone(timezone)?;
        let country = country.map(parse_country).transpose()?;
        Ok(Place { timezone, country, coordinates: None, closures: Vec::new() })
    }

    /// Sun events (`sunrise`, `sunset`, `dawn`, `dusk`) at this latitude and longitude, in degrees.
    pub fn with_position(self, latitude: f64, longitude: f64) -> Result<Place, HoursError> {
        let coordinates =
            Coordinates::new(latitude, longitude).ok_or(HoursError::BadPosition { latitude, longitude })?;
        Ok(Place { coordinates: Some(coordinates), ..self })
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

/// A country's public holidays: the calendar `PH` reads in opening hours, for counting working days.
#[derive(Debug, Clone)]
pub struct PublicHolidays {
    country: Country,
    calendar: opening_hours::ContextHolidays,
}

impl PublicHolidays {
    /// The public holidays of a country (ISO 3166 alpha-2: FR, DE, BE...).
    pub fn of(country: &str) -> Result<PublicHolidays, HoursError> {
        let country = parse_country(country)?;
        Ok(PublicHolidays { country, calendar: country.holidays() })
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.calendar.get_public().contains(date)
    }

    pub fn country(&self) -> Country {
        self.country
    }
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

/// What an open end's guessed time says.
const OPEN_END_COMMENT: &str = "open end: closing time guessed";

/// Days looked back for rules running past midnight: extended times reach 48:00.
const SPILL_DAYS: i64 = 2;

/// A point's page at an instant (`Schedule::day_view`).
#[derive(Debug, Clone, PartialEq)]
pub struct DayView {
    /// The open (or maybe open) intervals of the local day.
    pub today: Vec<Interval>,
    pub state: State,
    /// The next change within the horizon asked.
    pub next_change: Option<DateTime<Utc>>,
}

/// The state at `local` that `intervals` (covering it) show.
fn state_in(intervals: &[Interval], local: NaiveDateTime) -> State {
    match intervals.iter().find(|i| i.to > local) {
        Some(interval) if interval.from <= local && interval.unknown => State::Unknown,
        Some(interval) if interval.from <= local => State::Open,
        _ => State::Closed,
    }
}

/// `intervals` cut to `[from, to)`, as `Schedule::intervals(from, to)` gives them.
fn clipped(intervals: &[Interval], from: NaiveDateTime, to: NaiveDateTime) -> Vec<Interval> {
    intervals
        .iter()
        .filter(|i| i.to > from && i.from < to)
        .map(|i| Interval { from: i.from.max(from), to: i.to.min(to), ..i.clone() })
        .collect()
}

/// `[from, to)` minus the ranges `taken` (sorted), as pieces.
fn subtract(
    from: NaiveDateTime,
    to: NaiveDateTime,
    taken: &[(NaiveDateTime, NaiveDateTime)],
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut pieces = Vec::new();
    let mut cursor = from;
    for (a, b) in taken {
        if *b <= cursor {
            continue;
        }
        if *a >= to {
            break;
        }
        if *a > cursor {
            pieces.push((cursor, (*a).min(to)));
        }
        cursor = cursor.max(*b);
        if cursor >= to {
            break;
        }
    }
    if cursor < to {
        pieces.push((cursor, to));
    }
    pieces
}

/// Hours bound to a place: the evaluation functions.
#[derive(Clone)]
pub struct Schedule {
    segments: Vec<Segment<Local>>,
    timezone: Tz,
    closures: Vec<Closure>,
}

impl Schedule {
    /// Open (or maybe open) intervals between two local wall-clock times, closures removed, touching
    /// intervals of the same state and comment merged. A rule of the day before (or two before, with
    /// times up to 48:00) that runs past midnight is seen.
    pub fn intervals(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<Interval> {
        if from >= to {
            return Vec::new();
        }
        let start = from - Duration::days(SPILL_DAYS);
        let mut pieces: Vec<Interval> = Vec::new();
        // Time the segments so far say is open or unknown: a fallback fills only the rest.
        let mut taken: Vec<(NaiveDateTime, NaiveDateTime)> = Vec::new();
        for segment in &self.segments {
            let guessed: Vec<(NaiveDateTime, NaiveDateTime)> = segment
                .guessed
                .iter()
                .flat_map(|g| g.iter_range(start, to))
                .filter(|r| r.kind == RuleKind::Open)
                .map(|r| (r.range.start, r.range.end))
                .collect();
            let mut said = Vec::new();
            for range in segment.states.iter_range(start, to) {
                let unknown = match range.kind {
                    RuleKind::Open => false,
                    RuleKind::Unknown => true,
                    RuleKind::Closed => continue,
                };
                let comment = (!range.comment.is_empty()).then(|| range.comment.to_string());
                for (a, b) in subtract(range.range.start, range.range.end, &taken) {
                    said.push((a, b));
                    // Open time an open end only guessed is unknown.
                    let known = subtract(a, b, &guessed);
                    for (x, y) in &known {
                        pieces.push(Interval { from: *x, to: *y, unknown, comment: comment.clone() });
                    }
                    for (x, y) in subtract(a, b, &known) {
                        let comment = comment.clone().or_else(|| Some(OPEN_END_COMMENT.to_owned()));
                        pieces.push(Interval { from: x, to: y, unknown: true, comment });
                    }
                }
            }
            taken.extend(said);
            taken.sort();
        }
        pieces.sort_by_key(|piece| piece.from);
        let mut out: Vec<Interval> = Vec::new();
        for piece in pieces {
            let (a, b) = (piece.from.max(from), piece.to.min(to));
            if a >= b {
                continue;
            }
            for (a, b) in self.without_closures(a, b) {
                match out.last_mut() {
                    Some(last) if last.to == a && last.unknown == piece.unknown && last.comment == piece.comment => {
                        last.to = b
                    }
                    _ => out.push(Interval { from: a, to: b, unknown: piece.unknown, comment: piece.comment.clone() }),
                }
            }
        }
        out
    }

    /// The state at an instant.
    pub fn state_at(&self, at: DateTime<Utc>) -> State {
        let local = self.local(at);
        state_in(&self.intervals(local, local + Duration::minutes(1)), local)
    }

    /// The next instant the state changes after `at`, looking at most `horizon` ahead.
    pub fn next_change(&self, at: DateTime<Utc>, horizon: Duration) -> Option<DateTime<Utc>> {
        let from = self.local(at);
        self.change_in(&self.intervals(from, from + horizon), from, from + horizon)
    }

    /// What a point's page says at an instant, from one evaluation where `intervals`, `state_at` and
    /// `next_change` would make three (each looks back two days for rules past midnight): the local
    /// day's intervals, the state, and the next change within `horizon`.
    pub fn day_view(&self, at: DateTime<Utc>, horizon: Duration) -> DayView {
        let local = self.local(at);
        let day = local.date().and_time(NaiveTime::MIN);
        let (day_end, ahead) = (day + Duration::days(1), local + horizon);
        let intervals = self.intervals(day, day_end.max(ahead));
        DayView {
            today: clipped(&intervals, day, day_end),
            state: state_in(&intervals, local),
            next_change: self.change_in(&intervals, local, ahead),
        }
    }

    /// The first change after `from` that `intervals` (covering at least `[from, to)`) show before `to`.
    fn change_in(&self, intervals: &[Interval], from: NaiveDateTime, to: NaiveDateTime) -> Option<DateTime<Utc>> {
        let ahead: Vec<Interval> = clipped(intervals, from, to);
        let first = ahead.first()?;
        let local_change = match state_in(&ahead, from) {
            State::Closed => first.from,
            // Pieces that only differ by their comment are one stretch of the same state.
            State::Open | State::Unknown => {
                let mut end = first.to;
                for next in &ahead[1..] {
                    if next.from != end || next.unknown != first.unknown {
                        break;
                    }
                    end = next.to;
                }
                end
            }
        };
        // An interval reaching the horizon has no known end within it.
        (local_change < to).then(|| self.instant(local_change))
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

    /// The page's one evaluation says what the three separate calls say, on values with every kind of
    /// piece (past midnight, a lunch break, maybe open, an open end, a fallback, closures), at every
    /// hour of four days.
    #[test]
    fn a_day_view_says_what_intervals_state_and_next_change_say() {
        let closure = Closure {
            first: NaiveDate::from_ymd_opt(2026, 8, 4).unwrap(),
            last: NaiveDate::from_ymd_opt(2026, 8, 4).unwrap(),
        };
        let values = [
            "Mo-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00; PH off",
            "Su 15:00-03:00; Mo-Sa 18:00-02:00",
            "Mo-Fr 08:00-20:00; Sa 10:00+; Su unknown \"call first\"",
            "Mo-Fr 10:00-19:00 || \"by appointment\"",
            "24/7",
            "off",
        ];
        for value in values {
            let hours = OpeningHours::parse(value).unwrap();
            let s = hours.at(&paris().with_closures(vec![closure.clone()])).unwrap();
            for hour in 0..96 {
                let at = Utc.with_ymd_and_hms(2026, 8, 2, 0, 17, 0).unwrap() + Duration::hours(hour);
                let view = s.day_view(at, Duration::days(8));
                let day = s.local(at).date().and_time(NaiveTime::MIN);
                assert_eq!(view.today, s.intervals(day, day + Duration::days(1)), "{value} at {at}");
                assert_eq!(view.state, s.state_at(at), "{value} at {at}");
                assert_eq!(view.next_change, s.next_change(at, Duration::days(8)), "{value} at {at}");
            }
        }
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

    /// What the specification and opening_hours.js say, each a case the syntax crate alone got wrong:
    /// (value, from, to, expected intervals as (from, to, unknown)).
    #[test]
    fn meanings_the_specification_gives() {
        type Case = (&'static str, &'static str, &'static str, Vec<(&'static str, &'static str, bool)>);
        let cases: Vec<Case> = vec![
            // A bar open Sunday 15:00-03:00 is open on Monday 00:00-03:00, seen from Monday.
            ("Su 15:00-03:00", "2026-11-30 00:00", "2026-11-30 06:00", vec![("11-30 00:00", "11-30 03:00", false)]),
            // A fallback with a comment is unknown where the rules before it say nothing, not open.
            (
                "Mo-Fr 08:00-16:00 || \"on appointment\"",
                "2026-11-29 00:00",
                "2026-12-01 00:00",
                vec![
                    ("11-29 00:00", "11-30 08:00", true),
                    ("11-30 08:00", "11-30 16:00", false),
                    ("11-30 16:00", "12-01 00:00", true),
                ],
            ),
            // A rule with a comment and no state is unknown; `open` with a comment is open.
            (
                "Sa 10:00-12:00 \"maybe\"",
                "2026-11-28 00:00",
                "2026-11-29 00:00",
                vec![("11-28 10:00", "11-28 12:00", true)],
            ),
            (
                "Sa 10:00-12:00 open \"sure\"",
                "2026-11-28 00:00",
                "2026-11-29 00:00",
                vec![("11-28 10:00", "11-28 12:00", false)],
            ),
            // An open end is unknown after its fixed part: until midnight, or 10 hours from 17:00.
            ("Mo 12:00+", "2026-11-30 00:00", "2026-12-01 06:00", vec![("11-30 12:00", "12-01 00:00", true)]),
            (
                "Mo 10:00-20:00+",
                "2026-11-30 00:00",
                "2026-12-01 12:00",
                vec![("11-30 10:00", "11-30 20:00", false), ("11-30 20:00", "12-01 06:00", true)],
            ),
            (
                "Mo 22:00-04:00+",
                "2026-11-30 00:00",
                "2026-12-01 18:00",
                vec![("11-30 22:00", "12-01 04:00", false), ("12-01 04:00", "12-01 12:00", true)],
            ),
            ("Mo 17:00+ off", "2026-11-30 00:00", "2026-12-01 12:00", vec![]),
            // Constants over a long range.
            ("24/7", "2020-01-01 00:00", "2030-01-01 00:00", vec![("01-01 00:00", "01-01 00:00", false)]),
            ("closed", "2020-01-01 00:00", "2030-01-01 00:00", vec![]),
        ];
        for (value, from, to, expected) in cases {
            let schedule = OpeningHours::parse(value).unwrap().at(&paris()).unwrap();
            let got = spans(&schedule, from, to);
            let expected: Vec<(String, String, bool)> =
                expected.into_iter().map(|(a, b, u)| (a.to_owned(), b.to_owned(), u)).collect();
            assert_eq!(got, expected, "{value}");
        }
        // The stored value keeps what was written, `open` before a comment included.
        assert_eq!(
            OpeningHours::parse("Sa 10:00-12:00 open \"sure\"").unwrap().as_str(),
            "Sa 10:00-12:00 open \"sure\""
        );
        assert_eq!(
            OpeningHours::parse("Sa 10:00-12:00 \"maybe\"").unwrap().as_str(),
            "Sa 10:00-12:00 unknown \"maybe\""
        );
        assert_eq!(OpeningHours::parse("Mo 12:00+").unwrap().as_str(), "Mo 12:00+");
        // The state at an instant sees the spill from the day before too.
        let bar = OpeningHours::parse("Su 15:00-03:00").unwrap().at(&paris()).unwrap();
        assert_eq!(bar.state_at(Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap()), State::Open);
        assert_eq!(bar.state_at(Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0).unwrap()), State::Closed);
    }

    #[test]
    fn tolerant_reading_warns_and_ambiguity_is_refused() {
        let reading = OpeningHours::read("Mon - Fri 9-18").unwrap();
        assert_eq!(reading.hours.as_str(), "Mo-Fr 09:00-18:00");
        assert!(reading.warnings.last().unwrap().contains("stored as \"Mo-Fr 09:00-18:00\""), "{:?}", reading.warnings);
        assert!(OpeningHours::read("Mo-Fr 09:00-18:00").unwrap().warnings.is_empty());
        // Two time ranges with nothing between them: a comma or two rules? Refused, where it was typed.
        let error = OpeningHours::read("Mo 10:00-12:00 14:00-18:00").unwrap_err().to_string();
        assert!(error.contains("line:column 1:"), "{error}");
    }

    #[test]
    fn sun_events_at_a_position() {
        let hours = OpeningHours::parse("sunrise-sunset").unwrap();
        let lyon = paris().with_position(45.76, 4.84).unwrap();
        let day = spans(&hours.at(&lyon).unwrap(), "2026-06-21 00:00", "2026-06-22 00:00");
        assert_eq!((&day[0].0[6..8], &day[0].1[6..8]), ("05", "21"), "{day:?}");
        assert!(paris().with_position(91.0, 0.0).is_err());
    }
}

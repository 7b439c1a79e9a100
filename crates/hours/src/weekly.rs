//! Weekly hours as operators send them (per weekday, a few opening slots) written as an
//! `opening_hours` value: consecutive days with the same slots share one rule (`Mo-Fr 09:00-12:00,14:00-19:00`).
//! The import adapters read their format's fields into a [`Weekly`], then call [`Weekly::to_value`].

/// Weekday index, Monday first, as in `opening_hours` (`Mo`..`Su`).
pub const DAY_NAMES: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

/// Minutes in a day; a slot may end at 24:00.
const DAY_MINUTES: u16 = 24 * 60;

/// One opening slot, in minutes after local midnight. `to < from` runs past midnight (22:00-02:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub from: u16,
    pub to: u16,
}

/// Why a slot was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    /// A time that is not a clock time (`25:00`, `9h75`, `abc`).
    BadTime(String),
    /// Opening and closing at the same minute.
    Empty(String),
}

impl std::fmt::Display for SlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotError::BadTime(t) => write!(f, "{t:?} is not a time of day (HH:MM, HHMM or 9h30)"),
            SlotError::Empty(t) => write!(f, "slot {t:?} opens and closes at the same time"),
        }
    }
}

impl std::error::Error for SlotError {}

/// Opening slots per weekday, Monday first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Weekly {
    days: [Vec<Slot>; 7],
}

impl Weekly {
    pub fn new() -> Weekly {
        Weekly::default()
    }

    /// Adds a slot on a weekday (0 = Monday) from two clock times; `from == to` is refused.
    pub fn add(&mut self, weekday: usize, from: &str, to: &str) -> Result<(), SlotError> {
        let (start, end) = (clock_minutes(from)?, clock_minutes(to)?);
        if start == end {
            return Err(SlotError::Empty(format!("{from}-{to}")));
        }
        self.add_slot(weekday, Slot { from: start, to: end });
        Ok(())
    }

    pub fn add_slot(&mut self, weekday: usize, slot: Slot) {
        if let Some(day) = self.days.get_mut(weekday) {
            day.push(slot);
            day.sort_unstable();
            day.dedup();
        }
    }

    pub fn is_closed_all_week(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// The `opening_hours` value: runs of days with the same slots, `off` for a week with none.
    pub fn to_value(&self) -> String {
        if self.is_closed_all_week() {
            return "off".into();
        }
        let mut rules = Vec::new();
        let mut day = 0;
        while day < 7 {
            if self.days[day].is_empty() {
                day += 1;
                continue;
            }
            let mut last = day;
            while last + 1 < 7 && self.days[last + 1] == self.days[day] {
                last += 1;
            }
            let days = match last - day {
                0 => DAY_NAMES[day].to_owned(),
                1 => format!("{},{}", DAY_NAMES[day], DAY_NAMES[last]),
                _ => format!("{}-{}", DAY_NAMES[day], DAY_NAMES[last]),
            };
            let slots: Vec<String> =
                self.days[day].iter().map(|s| format!("{}-{}", hhmm(s.from), hhmm(s.to))).collect();
            rules.push(format!("{days} {}", slots.join(",")));
            day = last + 1;
        }
        rules.join("; ")
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Minutes after midnight of a clock time written `HH:MM`, `H:MM`, `HHMM`, `9h`, `9h30` or `09.30`;
/// `24:00` is the end of the day.
pub fn clock_minutes(text: &str) -> Result<u16, SlotError> {
    let bad = || SlotError::BadTime(text.to_owned());
    let t = text.trim().to_ascii_lowercase();
    let (hours, minutes) = if let Some((h, m)) = t.split_once([':', 'h', '.']) {
        (h, if m.is_empty() { "0" } else { m })
    } else if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
        t.split_at(2)
    } else {
        return Err(bad());
    };
    if hours.is_empty() || hours.len() > 2 || minutes.len() > 2 {
        return Err(bad());
    }
    let h: u16 = hours.parse().map_err(|_| bad())?;
    let m: u16 = minutes.parse().map_err(|_| bad())?;
    let total = h * 60 + m;
    if m > 59 || total > DAY_MINUTES {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::OpeningHours;

    #[test]
    fn clock_times_in_operator_spellings() {
        let table = [
            ("09:30", 570),
            ("9:30", 570),
            ("0930", 570),
            ("9h30", 570),
            ("9h", 540),
            ("09.30", 570),
            ("2400", 1440),
            ("0000", 0),
        ];
        for (text, minutes) in table {
            assert_eq!(clock_minutes(text), Ok(minutes), "{text}");
        }
        for bad in ["", "25:00", "24:30", "9h75", "930", "abc", "12:3x", "123:00"] {
            assert!(clock_minutes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn days_with_the_same_slots_share_a_rule() {
        let mut week = Weekly::new();
        for day in 0..5 {
            week.add(day, "0900", "1200").unwrap();
            week.add(day, "1400", "1900").unwrap();
        }
        week.add(5, "09:00", "12:00").unwrap();
        let value = week.to_value();
        assert_eq!(value, "Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00");
        assert!(OpeningHours::parse(&value).is_ok());
    }

    #[test]
    fn two_day_runs_single_days_overnight_and_closed_weeks() {
        let mut week = Weekly::new();
        week.add(0, "10:00", "18:00").unwrap();
        week.add(1, "10:00", "18:00").unwrap();
        week.add(3, "22:00", "02:00").unwrap();
        week.add(6, "08:00", "24:00").unwrap();
        let value = week.to_value();
        assert_eq!(value, "Mo,Tu 10:00-18:00; Th 22:00-02:00; Su 08:00-24:00");
        assert!(OpeningHours::parse(&value).is_ok());
        assert_eq!(Weekly::new().to_value(), "off");
        assert!(matches!(week.add(2, "10:00", "10:00"), Err(SlotError::Empty(_))));
    }
}

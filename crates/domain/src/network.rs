//! A network (one operator's set of pickup points) and the rules it applies to every parcel: how long a
//! parcel is held, whether and when it may be extended, when reminders go out, how long an announce
//! reservation holds a compartment.

use chrono::Duration;

use crate::Timestamp;
use crate::ids::NetworkId;
use crate::value::{ParseError, parse_text};

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: NetworkId,
    pub name: String,
    pub rules: NetworkRules,
    pub created_at: Timestamp,
}

impl Network {
    pub const NAME_LENGTH_MAX: usize = 120;

    pub fn new(id: NetworkId, name: &str, rules: NetworkRules, now: Timestamp) -> Result<Self, ParseError> {
        Ok(Network { id, name: parse_text("name", name, Self::NAME_LENGTH_MAX)?, rules, created_at: now })
    }
}

/// The per-network rules. Defaults follow the InPost locker rules of domain.md section 3: 72 hours, one
/// extension of 48 hours allowed from 36 hours after deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    pub hold_window_hours: u32,
    pub extension_count_max: u32,
    pub extension_hours: u32,
    /// An extension may be asked only this long after deposit (InPost: 36 h), so a parcel is not
    /// extended before the recipient had a fair chance to come.
    pub extension_earliest_after_deposit_hours: u32,
    /// Reminders go out this many hours before the pickup deadline, largest first.
    pub reminder_offsets_hours: Vec<u32>,
    /// How long an announce holds a compartment for a parcel that has not arrived yet. 0: the network
    /// does not reserve at announce (capacity is only decided at deposit, as at Mondial Relay points).
    pub reservation_hours: u32,
    /// How its parcels' labels are arranged (docs/labels.md).
    pub label_layout: LabelLayout,
}

/// How a network's labels are arranged, so its couriers and counters find things where they expect
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelLayout {
    /// The pickup point first (code, name, address), then recipient and sender, the barcode below:
    /// what a counter clerk reads.
    #[default]
    Standard,
    /// The point's code in a black band across the top and the barcode right under it: what a depot
    /// sorts by, read from a distance on a moving belt.
    Sorting,
}

impl LabelLayout {
    pub const ALL: [LabelLayout; 2] = [LabelLayout::Standard, LabelLayout::Sorting];

    pub fn as_str(self) -> &'static str {
        match self {
            LabelLayout::Standard => "standard",
            LabelLayout::Sorting => "sorting",
        }
    }

    pub fn parse(text: &str) -> Result<LabelLayout, ParseError> {
        LabelLayout::ALL
            .into_iter()
            .find(|l| l.as_str() == text)
            .ok_or_else(|| ParseError::new("label_layout", "must be standard or sorting"))
    }
}

impl Default for NetworkRules {
    fn default() -> Self {
        NetworkRules {
            hold_window_hours: 72,
            extension_count_max: 1,
            extension_hours: 48,
            extension_earliest_after_deposit_hours: 36,
            reminder_offsets_hours: vec![24],
            reservation_hours: 72,
            label_layout: LabelLayout::Standard,
        }
    }
}

impl NetworkRules {
    /// Longest hold window any network sets (Amazon counters: 14 days); a month bounds typing errors.
    pub const HOURS_MAX: u32 = 24 * 31;
    pub const EXTENSION_COUNT_MAX: u32 = 5;
    pub const REMINDERS_MAX: usize = 5;

    /// Checks the rules as a whole; each number has a bound so a typo cannot hold a compartment for years.
    pub fn validate(self) -> Result<Self, ParseError> {
        let hours = [
            ("hold_window_hours", self.hold_window_hours, 1),
            ("extension_hours", self.extension_hours, 0),
            ("extension_earliest_after_deposit_hours", self.extension_earliest_after_deposit_hours, 0),
            ("reservation_hours", self.reservation_hours, 0),
        ];
        for (field, value, min) in hours {
            if value < min || value > Self::HOURS_MAX {
                return Err(ParseError::new(field, format!("must be between {min} and {} hours", Self::HOURS_MAX)));
            }
        }
        if self.extension_count_max > Self::EXTENSION_COUNT_MAX {
            return Err(ParseError::new("extension_count_max", "must be at most 5"));
        }
        if self.reminder_offsets_hours.len() > Self::REMINDERS_MAX {
            return Err(ParseError::new("reminder_offsets_hours", "must list at most 5 offsets"));
        }
        if self.reminder_offsets_hours.iter().any(|h| *h == 0 || *h >= self.hold_window_hours) {
            return Err(ParseError::new(
                "reminder_offsets_hours",
                "each offset must be more than 0 and less than hold_window_hours",
            ));
        }
        Ok(self)
    }

    pub fn hold_window(&self) -> Duration {
        Duration::hours(i64::from(self.hold_window_hours))
    }
    /// The hold window in whole days, rounded up: the days a point must be open for a parcel to wait.
    pub fn hold_days(&self) -> u32 {
        self.hold_window_hours.div_ceil(24)
    }
    pub fn extension(&self) -> Duration {
        Duration::hours(i64::from(self.extension_hours))
    }
    pub fn extension_earliest_after_deposit(&self) -> Duration {
        Duration::hours(i64::from(self.extension_earliest_after_deposit_hours))
    }
    /// How long an announce reservation holds, or `None` when the network does not reserve.
    pub fn reservation(&self) -> Option<Duration> {
        (self.reservation_hours > 0).then(|| Duration::hours(i64::from(self.reservation_hours)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_are_valid() {
        assert!(NetworkRules::default().validate().is_ok());
    }

    #[test]
    fn rules_out_of_bounds_are_refused_with_the_field() {
        let cases: Vec<(NetworkRules, &str)> = vec![
            (NetworkRules { hold_window_hours: 0, ..Default::default() }, "hold_window_hours"),
            (NetworkRules { hold_window_hours: 10_000, ..Default::default() }, "hold_window_hours"),
            (NetworkRules { reservation_hours: 10_000, ..Default::default() }, "reservation_hours"),
            (NetworkRules { extension_count_max: 6, ..Default::default() }, "extension_count_max"),
            (NetworkRules { reminder_offsets_hours: vec![72], ..Default::default() }, "reminder_offsets_hours"),
            (NetworkRules { reminder_offsets_hours: vec![1; 6], ..Default::default() }, "reminder_offsets_hours"),
        ];
        for (rules, field) in cases {
            assert_eq!(rules.validate().unwrap_err().field, field);
        }
    }
}

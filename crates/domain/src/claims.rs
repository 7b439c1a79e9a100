//! Claims against carriers (docs/claims.md): late-delivery compensation on the carrier's scale, and
//! lost or damaged parcels, each a small state machine beside the parcel's: to file, filed, then
//! accepted with an amount or refused with a reason. Amounts are integer cents.

use std::fmt;

use chrono::Duration;

use crate::Timestamp;
use crate::value::ParseError;

/// A carrier's compensation scale for late delivery: from so many working days late, so many percent
/// of the shipping price. The default is the one merchants are used to on a 48-hour promise (J+2): 25 %
/// at J+3, 75 % at J+4, 100 % at J+5, 125 % beyond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompensationScale {
    /// (working days late at least, percent), by increasing days.
    steps: Vec<(u32, u32)>,
}

impl Default for CompensationScale {
    fn default() -> Self {
        CompensationScale { steps: vec![(1, 25), (2, 75), (3, 100), (4, 125)] }
    }
}

impl CompensationScale {
    /// `1:25,2:75,3:100,4:125`: working days late, a colon, the percent; increasing days, percents
    /// that do not go down, at most 1,000 %.
    pub fn parse(text: &str) -> Result<CompensationScale, ParseError> {
        let bad = |problem: &str| ParseError::new("scale", format!("{problem} (example: 1:25,2:75,3:100,4:125)"));
        let mut steps: Vec<(u32, u32)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (days, percent) = part.split_once(':').ok_or_else(|| bad("each step is days:percent"))?;
            let days: u32 = days.trim().parse().map_err(|_| bad("days are a whole number"))?;
            let percent: u32 =
                percent.trim().trim_end_matches('%').parse().map_err(|_| bad("percents are whole numbers"))?;
            if days == 0 || percent > 1000 {
                return Err(bad("days from 1, percents up to 1000"));
            }
            if steps.last().is_some_and(|&(d, p)| days <= d || percent < p) {
                return Err(bad("days increase and percents do not go down"));
            }
            steps.push((days, percent));
        }
        if steps.is_empty() {
            return Err(bad("at least one step"));
        }
        Ok(CompensationScale { steps })
    }

    /// The percent of the shipping price due for a parcel `late` working days late.
    pub fn percent(&self, late: u32) -> u32 {
        self.steps.iter().rev().find(|(days, _)| late >= *days).map_or(0, |(_, percent)| *percent)
    }

    /// The compensation due in cents: the percent of the price, rounded half up to the cent.
    pub fn amount_cents(&self, late: u32, price_cents: i64) -> i64 {
        let percent = i64::from(self.percent(late));
        (price_cents.max(0) * percent + 50) / 100
    }
}

impl fmt::Display for CompensationScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> = self.steps.iter().map(|(d, p)| format!("{d}:{p}")).collect();
        f.write_str(&steps.join(","))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    Late,
    Lost,
    Damaged,
}

impl ClaimKind {
    pub const ALL: [ClaimKind; 3] = [ClaimKind::Late, ClaimKind::Lost, ClaimKind::Damaged];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Late => "late",
            ClaimKind::Lost => "lost",
            ClaimKind::Damaged => "damaged",
        }
    }

    pub fn parse(text: &str) -> Option<ClaimKind> {
        ClaimKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// Computed or opened, not sent to the carrier yet.
    ToFile,
    /// Sent to the carrier, waiting for its answer.
    Filed,
    Accepted,
    Refused,
}

impl ClaimState {
    pub const ALL: [ClaimState; 4] = [ClaimState::ToFile, ClaimState::Filed, ClaimState::Accepted, ClaimState::Refused];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::ToFile => "to_file",
            ClaimState::Filed => "filed",
            ClaimState::Accepted => "accepted",
            ClaimState::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<ClaimState> {
        ClaimState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What the carrier's claim process allows, per carrier (docs/claims.md has the defaults and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRules {
    pub scale: CompensationScale,
    /// Days after the delivery within which a late claim must be filed.
    pub late_filing_days: u32,
    /// Days without any movement after which a parcel in the carrier's hands is presumed lost.
    pub lost_after_days: u32,
    /// Days after the parcel is presumed lost within which its claim must be filed.
    pub lost_filing_days: u32,
    /// Days after the delivery within which damage must be claimed (reserves).
    pub damaged_filing_days: u32,
    /// Reminders before a deadline, in days before it, largest first.
    pub reminder_days: Vec<u32>,
}

impl Default for ClaimRules {
    fn default() -> Self {
        ClaimRules {
            scale: CompensationScale::default(),
            late_filing_days: 30,
            lost_after_days: 21,
            lost_filing_days: 60,
            damaged_filing_days: 3,
            reminder_days: vec![7, 1],
        }
    }
}

impl ClaimRules {
    /// The claim's deadline, counted from `from` (the delivery, or the day the parcel was presumed lost).
    pub fn deadline(&self, kind: ClaimKind, from: Timestamp) -> Timestamp {
        let days = match kind {
            ClaimKind::Late => self.late_filing_days,
            ClaimKind::Lost => self.lost_filing_days,
            ClaimKind::Damaged => self.damaged_filing_days,
        };
        from + Duration::days(i64::from(days))
    }

    /// The next reminder of a claim with this deadline after `after`: the earliest `deadline - n days`
    /// later than `after`; none when they are all past (or the claim was filed).
    pub fn next_reminder(&self, deadline: Timestamp, after: Timestamp) -> Option<Timestamp> {
        self.reminder_days.iter().map(|days| deadline - Duration::days(i64::from(*days))).filter(|at| *at > after).min()
    }
}

/// A claim against a carrier for one parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: crate::ids::ClaimId,
    pub parcel_id: crate::ids::ParcelId,
    pub merchant_id: crate::ids::MerchantId,
    /// The carrier's name (`relais_tracking`'s).
    pub carrier: String,
    pub kind: ClaimKind,
    pub state: ClaimState,
    /// Late claims: working days late.
    pub late_days: u32,
    /// What relais claims: the scale's amount (late), the declared value (lost, damaged).
    pub amount_claimed_cents: i64,
    pub currency: String,
    /// What the carrier accepted to pay.
    pub amount_accepted_cents: Option<i64>,
    /// Why the carrier refused, or the description of the damage.
    pub reason: Option<String>,
    /// The delivery (late, damaged), or when the parcel was presumed lost.
    pub occurred_at: Timestamp,
    /// The last day to file it.
    pub deadline_at: Timestamp,
    /// When the next reminder of the deadline is due (while it is to file).
    pub next_reminder_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// Why a claim cannot move so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a claim that is {from} cannot be {to}")]
pub struct ClaimTransitionError {
    pub from: &'static str,
    pub to: &'static str,
}

/// Longest reason a person types for a refusal or a damage.
pub const REASON_LENGTH_MAX: usize = 1000;

impl Claim {
    /// Sent to the carrier: no more reminders.
    pub fn file(&self, now: Timestamp) -> Result<Claim, ClaimTransitionError> {
        self.moved(ClaimState::ToFile, ClaimState::Filed, now).map(|c| Claim { next_reminder_at: None, ..c })
    }

    /// The carrier pays `amount_cents` (it may be less than claimed).
    pub fn accept(&self, amount_cents: i64, now: Timestamp) -> Result<Claim, ClaimTransitionError> {
        self.moved(ClaimState::Filed, ClaimState::Accepted, now)
            .map(|c| Claim { amount_accepted_cents: Some(amount_cents.max(0)), ..c })
    }

    pub fn refuse(&self, reason: String, now: Timestamp) -> Result<Claim, ClaimTransitionError> {
        self.moved(ClaimState::Filed, ClaimState::Refused, now).map(|c| Claim { reason: Some(reason), ..c })
    }

    fn moved(&self, from: ClaimState, to: ClaimState, now: Timestamp) -> Result<Claim, ClaimTransitionError> {
        if self.state != from {
            return Err(ClaimTransitionError { from: self.state.as_str(), to: to.as_str() });
        }
        Ok(Claim { state: to, updated_at: now, ..self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_default_scale_is_the_seeds_and_amounts_are_whole_cents() {
        let scale = CompensationScale::default();
        assert_eq!(scale.to_string(), "1:25,2:75,3:100,4:125");
        let cases = [(0, 0, 0), (1, 25, 123), (2, 75, 368), (3, 100, 490), (4, 125, 613), (9, 125, 613)];
        for (late, percent, cents) in cases {
            assert_eq!(scale.percent(late), percent, "{late} days late");
            // 4.90 EUR: 25 % is 1.225, rounded half up to 1.23; 75 % 3.675 -> 3.68; 125 % 6.125 -> 6.13.
            assert_eq!(scale.amount_cents(late, 490), cents, "{late} days late");
        }
        assert_eq!(scale.amount_cents(2, 0), 0);
        assert_eq!(scale.amount_cents(2, -5), 0);
    }

    #[test]
    fn scales_are_read_from_text_and_bad_ones_refused() {
        let express = CompensationScale::parse("1:50, 2:100%").unwrap();
        assert_eq!((express.percent(1), express.percent(5)), (50, 100));
        for bad in ["", "1:25,1:75", "2:75,1:25", "1:75,2:25", "0:10", "1:2000", "a:b", "1-25"] {
            assert!(CompensationScale::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn claims_move_to_filed_then_accepted_or_refused_only() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap();
        let rules = ClaimRules::default();
        let deadline = rules.deadline(ClaimKind::Late, now);
        assert_eq!(deadline, now + Duration::days(30));
        assert_eq!(rules.next_reminder(deadline, now), Some(deadline - Duration::days(7)));
        assert_eq!(rules.next_reminder(deadline, deadline - Duration::days(7)), Some(deadline - Duration::days(1)));
        assert_eq!(rules.next_reminder(deadline, deadline - Duration::hours(1)), None);
        let claim = Claim {
            id: crate::ids::Id::from_parts(1, [1; 10]),
            parcel_id: crate::ids::Id::from_parts(1, [2; 10]),
            merchant_id: crate::ids::Id::from_parts(1, [3; 10]),
            carrier: "colissimo".into(),
            kind: ClaimKind::Late,
            state: ClaimState::ToFile,
            late_days: 2,
            amount_claimed_cents: 368,
            currency: "EUR".into(),
            amount_accepted_cents: None,
            reason: None,
            occurred_at: now,
            deadline_at: deadline,
            next_reminder_at: rules.next_reminder(deadline, now),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        assert!(claim.accept(368, now).is_err(), "not filed yet");
        let filed = claim.file(now).unwrap();
        assert_eq!((filed.state, filed.next_reminder_at), (ClaimState::Filed, None));
        assert_eq!(filed.file(now).unwrap_err().to_string(), "a claim that is filed cannot be filed");
        assert_eq!(filed.accept(300, now).unwrap().amount_accepted_cents, Some(300));
        let refused = filed.refuse("delivered on time per our scan".into(), now).unwrap();
        assert_eq!(refused.state, ClaimState::Refused);
        assert!(refused.accept(1, now).is_err());
    }
}

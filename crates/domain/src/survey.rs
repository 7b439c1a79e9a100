//! The satisfaction survey sent with the collected receipt: one question, "how likely are you to
//! recommend...", a score from 0 to 10 and an optional comment, answered once per parcel (a second
//! answer replaces the first). The Net Promoter Score of a set of answers is the share of promoters
//! (9 and 10) minus the share of detractors (0 to 6), from -100 to 100.

use chrono::Duration;

use crate::Timestamp;
use crate::ids::{CarrierId, MerchantId, NetworkId, ParcelId, PointId};
use crate::parcel::{Parcel, ParcelState};
use crate::value::ParseError;

/// How long after the collection the survey stays open.
pub const SURVEY_OPEN_DAYS: i64 = 30;
/// The longest comment kept, in characters.
pub const COMMENT_CHARS_MAX: usize = 1000;

/// One answer, with what it is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyAnswer {
    pub parcel_id: ParcelId,
    pub merchant_id: MerchantId,
    pub network_id: NetworkId,
    pub point_id: PointId,
    pub carrier_id: Option<CarrierId>,
    /// 0 to 10.
    pub score: u8,
    pub comment: Option<String>,
    /// The recipient agreed that the merchant shows the comment on its reviews page.
    pub publish: bool,
    pub answered_at: Timestamp,
}

/// Why a survey answer is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveyRefusal {
    /// The parcel has not been collected (yet): there is nothing to rate.
    NotCollected,
    /// Collected more than [`SURVEY_OPEN_DAYS`] ago.
    Closed,
}

impl SurveyAnswer {
    /// The recipient's answer about a parcel, checked: collected, within the survey's window, a score
    /// from 0 to 10, a comment of at most [`COMMENT_CHARS_MAX`] characters (blank is none).
    /// `collected_at`: when the parcel was collected.
    pub fn new(
        parcel: &Parcel,
        collected_at: Option<Timestamp>,
        score: i64,
        comment: Option<&str>,
        publish: bool,
        now: Timestamp,
    ) -> Result<Result<SurveyAnswer, SurveyRefusal>, ParseError> {
        let score = u8::try_from(score)
            .ok()
            .filter(|s| *s <= 10)
            .ok_or_else(|| ParseError::new("score", "a score is a whole number from 0 to 10"))?;
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if comment.is_some_and(|c| c.chars().count() > COMMENT_CHARS_MAX) {
            return Err(ParseError::new("comment", format!("a comment has at most {COMMENT_CHARS_MAX} characters")));
        }
        let Some(collected_at) = collected_at.filter(|_| parcel.state == ParcelState::Collected) else {
            return Ok(Err(SurveyRefusal::NotCollected));
        };
        if now > collected_at + Duration::days(SURVEY_OPEN_DAYS) {
            return Ok(Err(SurveyRefusal::Closed));
        }
        Ok(Ok(SurveyAnswer {
            parcel_id: parcel.id,
            merchant_id: parcel.merchant_id,
            network_id: parcel.network_id,
            point_id: parcel.point_id,
            carrier_id: parcel.carrier_id,
            score,
            comment: comment.map(str::to_owned),
            publish: publish && comment.is_some(),
            answered_at: now,
        }))
    }
}

/// Answers counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nps {
    /// 9 and 10.
    pub promoters: u64,
    /// 7 and 8.
    pub passives: u64,
    /// 0 to 6.
    pub detractors: u64,
}

impl Nps {
    pub fn of(scores: impl IntoIterator<Item = u8>) -> Nps {
        let mut nps = Nps::default();
        for score in scores {
            nps.add(score);
        }
        nps
    }

    /// From how many answers gave each score, 0 to 10.
    pub fn of_counts(counts: &[u64; 11]) -> Nps {
        let mut nps = Nps::default();
        for (score, count) in (0u8..).zip(counts) {
            nps.add_many(score, *count);
        }
        nps
    }

    pub fn add(&mut self, score: u8) {
        self.add_many(score, 1);
    }

    fn add_many(&mut self, score: u8, count: u64) {
        match score {
            9.. => self.promoters += count,
            7 | 8 => self.passives += count,
            _ => self.detractors += count,
        }
    }

    pub fn answers(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    /// From -100 to 100, or `None` without answers.
    pub fn score(&self) -> Option<f64> {
        let answers = self.answers();
        (answers > 0).then(|| (self.promoters as f64 - self.detractors as f64) * 100.0 / answers as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id;
    use crate::parcel::{Actor, NewParcel, PickupSecretDigests, Recipient};
    use crate::value::{Dimensions, Language, ParcelNumber, Weight};
    use chrono::{TimeZone, Utc};

    fn t(days: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap() + Duration::days(days)
    }

    fn parcel(state: ParcelState) -> Parcel {
        let new = NewParcel {
            id: Id::from_parts(1, [1; 10]),
            number: ParcelNumber::parse("EW112720413FR").unwrap(),
            merchant_id: Id::from_parts(1, [2; 10]),
            carrier_id: Some(Id::from_parts(1, [5; 10])),
            network_id: Id::from_parts(1, [3; 10]),
            point_id: Id::from_parts(1, [4; 10]),
            recipient: Recipient { name: "Ana".into(), phone: None, email: None, language: Language::Fr },
            dimensions: Dimensions::from_mm(300, 200, 100).unwrap(),
            weight: Weight::from_grams(900).unwrap(),
            secrets: PickupSecretDigests { code: [0; 32], qr: [0; 32] },
        };
        Parcel { state, ..Parcel::announce(new, Actor::system(), t(-3)).parcel }
    }

    #[test]
    fn an_answer_is_about_a_collected_parcel_within_the_window() {
        let collected = parcel(ParcelState::Collected);
        let answer = SurveyAnswer::new(&collected, Some(t(0)), 9, Some("  Rapide  "), true, t(1)).unwrap().unwrap();
        assert_eq!((answer.score, answer.comment.as_deref(), answer.publish), (9, Some("Rapide"), true));
        assert_eq!(
            (answer.merchant_id, answer.point_id, answer.carrier_id),
            (collected.merchant_id, collected.point_id, collected.carrier_id)
        );
        // Nothing to publish without a comment.
        let bare = SurveyAnswer::new(&collected, Some(t(0)), 3, Some("   "), true, t(1)).unwrap().unwrap();
        assert_eq!((bare.comment, bare.publish), (None, false));
        // The window's last instant, and after it.
        assert!(SurveyAnswer::new(&collected, Some(t(0)), 10, None, false, t(SURVEY_OPEN_DAYS)).unwrap().is_ok());
        assert_eq!(
            SurveyAnswer::new(&collected, Some(t(0)), 10, None, false, t(SURVEY_OPEN_DAYS + 1)).unwrap(),
            Err(SurveyRefusal::Closed)
        );
        for state in [ParcelState::ReadyForPickup, ParcelState::Expired, ParcelState::Returning] {
            assert_eq!(
                SurveyAnswer::new(&parcel(state), Some(t(0)), 10, None, false, t(1)).unwrap(),
                Err(SurveyRefusal::NotCollected),
                "{state:?}"
            );
        }
        assert_eq!(
            SurveyAnswer::new(&collected, None, 10, None, false, t(1)).unwrap(),
            Err(SurveyRefusal::NotCollected)
        );
        // Bad input is a parse error, whatever the parcel.
        for score in [-1, 11, 1000] {
            assert_eq!(SurveyAnswer::new(&collected, Some(t(0)), score, None, false, t(1)).unwrap_err().field, "score");
        }
        let long = "é".repeat(COMMENT_CHARS_MAX + 1);
        assert_eq!(
            SurveyAnswer::new(&collected, Some(t(0)), 5, Some(&long), false, t(1)).unwrap_err().field,
            "comment"
        );
    }

    #[test]
    fn the_nps_is_promoters_minus_detractors_in_percent() {
        let cases: [(&[u8], Option<f64>); 6] = [
            (&[], None),
            (&[10], Some(100.0)),
            (&[0], Some(-100.0)),
            (&[7, 8], Some(0.0)),
            // 2 promoters, 1 passive, 1 detractor: 50 % - 25 %.
            (&[9, 10, 8, 6], Some(25.0)),
            // The bounds of each kind.
            (&[6, 7, 8, 9], Some(0.0)),
        ];
        for (scores, expected) in cases {
            assert_eq!(Nps::of(scores.iter().copied()).score(), expected, "{scores:?}");
        }
        assert_eq!(Nps::of([0, 6, 7, 8, 9, 10]), Nps { promoters: 2, passives: 2, detractors: 2 });
        // From counts per score: 3 zeros, 1 seven, 4 tens.
        let counts = [3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 4];
        assert_eq!(Nps::of_counts(&counts), Nps { promoters: 4, passives: 1, detractors: 3 });
        assert_eq!(Nps::of_counts(&counts).score(), Some(12.5));
    }
}

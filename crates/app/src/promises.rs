//! Promises kept or missed (docs/claims.md). A job (`App::review_promises`, run by `relais serve` after
//! each tracking round) looks at each followed parcel in turn: when its carrier took it (the promise
//! starts: J) and when it is due (J+n working days of the country it goes to), whether the timeline
//! shows it will be late (the carrier says so, a delivery failed, no movement for too long, the
//! promised day over) so that the recipient and the merchant are told once, before they ask; once it
//! is delivered (available at its point), how many working days late it was and the compensation due
//! on the carrier's scale, recorded as a claim to file; and whether it has gone so long without moving
//! that it is presumed lost, opening that claim. Everything a review decides is one commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use relais_domain::Timestamp;
use relais_domain::claims::{Claim, ClaimKind, ClaimRules, ClaimState};
use relais_domain::delivery::Notice;
use relais_domain::parcel::EventKind;
use relais_domain::promise::{self, InHands, Promise, WorkingDays};
use relais_tracking::TrackingStatus;

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{ClaimWrite, ParcelTracking, StoredCarrierEvent, StoredEvent, TrackingWrite, Write};

/// How promises are kept and claimed, for this instance (`[promise]` and `[claims]` in the
/// configuration).
#[derive(Debug, Clone)]
pub struct PromiseSettings {
    /// Working days of each merchant service level (`standard` = 2 means J+2).
    pub service_levels: BTreeMap<String, u32>,
    /// No movement at the carrier for this long: the recipient is told of a delay.
    pub quiet_limit: Duration,
    /// Claim rules by carrier name (`colissimo`), or carrier and service level (`chronopost:express`),
    /// the default for the others.
    pub carriers: BTreeMap<String, ClaimRules>,
    pub default_rules: ClaimRules,
    /// How often an open promise is looked at.
    pub review_every: Duration,
}

impl Default for PromiseSettings {
    fn default() -> Self {
        PromiseSettings {
            service_levels: BTreeMap::from([
                ("express".to_owned(), 1),
                ("standard".to_owned(), 2),
                ("economy".to_owned(), 4),
            ]),
            quiet_limit: Duration::hours(48),
            carriers: BTreeMap::new(),
            default_rules: ClaimRules::default(),
            review_every: Duration::hours(1),
        }
    }
}

impl PromiseSettings {
    /// The claim rules of a carrier for a service level: the carrier's for that service, else the
    /// carrier's, else the default.
    pub fn rules(&self, carrier: &str, service_level: Option<&str>) -> &ClaimRules {
        service_level
            .and_then(|level| self.carriers.get(&format!("{carrier}:{level}")))
            .or_else(|| self.carriers.get(carrier))
            .unwrap_or(&self.default_rules)
    }
}

/// The service level of a followed parcel, if known.
pub(crate) fn service_of(tracking: Option<&ParcelTracking>) -> Option<&str> {
    tracking.and_then(|t| t.promise.as_ref()).and_then(|p| p.service_level.as_deref())
}

/// What a review round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewReport {
    pub reviewed: u32,
    /// Recipients told of a delay.
    pub delays_told: u32,
    /// Late claims recorded (compensation due).
    pub late_claims: u32,
    /// Parcels presumed lost, their claims opened.
    pub lost_claims: u32,
    /// Promises settled: looked at no more.
    pub settled: u32,
}

/// The carrier statuses that say it has the parcel (the promise starts with the first of them).
fn carrier_has_it(status: TrackingStatus) -> bool {
    !matches!(status, TrackingStatus::Pending | TrackingStatus::Unknown)
}

/// When the parcel was delivered: available at its point by the carrier's word or relais' own deposit,
/// whichever came first.
fn delivered_at(carrier: &[StoredCarrierEvent], own: &[StoredEvent]) -> Option<Timestamp> {
    let by_carrier = carrier
        .iter()
        .filter(|e| matches!(e.event.status, TrackingStatus::ReadyForPickup | TrackingStatus::Delivered))
        .map(|e| e.event.at.to_utc())
        .min();
    let by_relais = own.iter().filter(|e| e.event.kind == EventKind::Deposited).map(|e| e.event.at).min();
    by_carrier.into_iter().chain(by_relais).min()
}

impl App {
    /// How promises are kept and claimed here.
    pub fn with_promise_settings(self, settings: PromiseSettings) -> Self {
        App { promise_settings: Arc::new(settings), ..self }
    }

    pub fn promise_settings(&self) -> &PromiseSettings {
        &self.promise_settings
    }

    /// One round: the followed parcels whose promise is due for a look.
    pub async fn review_promises(&self, caller: &Caller, limit: u32) -> Result<ReviewReport, AppError> {
        caller.require(Permission::RunJobs)?;
        let mut report = ReviewReport::default();
        for tracking in self.store.trackings_to_review(self.now(), limit).await? {
            let outcome = self.review(tracking).await?;
            report.reviewed += 1;
            report.delays_told += u32::from(outcome.delay_told);
            report.late_claims += u32::from(outcome.late_claim);
            report.lost_claims += u32::from(outcome.lost_claim);
            report.settled += u32::from(outcome.settled);
        }
        Ok(report)
    }

    async fn review(&self, tracking: ParcelTracking) -> Result<Reviewed, AppError> {
        let parcel = self.load_parcel(tracking.parcel_id).await?;
        let point = self.load_point(parcel.point_id).await?;
        let calendar = WorkingDays::new(relais_hours::PublicHolidays::of(&point.address.country).ok());
        // A point's timezone was checked when it was stored.
        let zone = relais_hours::parse_timezone(&point.timezone)
            .map_err(|e| relais_domain::value::ParseError::new("timezone", e.to_string()))?;
        let carrier_events = self.store.carrier_events(tracking.parcel_id).await?;
        let own = self.store.events(tracking.parcel_id).await?;
        let claims = self.store.claims_of(tracking.parcel_id).await?;
        let rules = self.promise_settings.rules(&tracking.carrier, service_of(Some(&tracking))).clone();
        let now = self.now();
        let today = now.with_timezone(&zone).date_naive();
        let local_date = |at: Timestamp| at.with_timezone(&zone).date_naive();

        let mut next = tracking.clone();
        let mut outcome = Reviewed::default();
        let mut writes = Vec::new();
        let mut messages: Vec<(&'static str, serde_json::Value)> = Vec::new();

        // J: the day (at the carrier's place) it first had the parcel.
        next.shipped_on =
            carrier_events.iter().find(|e| carrier_has_it(e.event.status)).map(|e| e.event.at.date_naive());
        let promise: Option<Promise> = match (&next.promise, next.shipped_on) {
            (Some(terms), Some(shipped_on)) => Some(Promise::new(shipped_on, terms.service_days, &calendar)),
            _ => None,
        };
        next.due_on = promise.map(|p| p.due_on);
        next.delivered_at = delivered_at(&carrier_events, &own);
        let delivered = next.delivered_at.is_some();

        // Told once, and only once the carrier has it (before, silence is the merchant's, not a delay).
        if next.delay_told_at.is_none() && next.shipped_on.is_some() {
            let last_movement_at = tracking.last_event_at.unwrap_or(tracking.created_at);
            let hands = InHands { status: tracking.status.as_deref(), last_movement_at, delivered };
            if let Some(reason) = promise::delay(hands, promise.as_ref(), now, today, self.promise_settings.quiet_limit)
            {
                next.delay_told_at = Some(now);
                next.delay_reason = Some(reason.as_str().to_owned());
                messages.push(("parcel.delayed", self.delay_payload(&parcel, &tracking, promise.as_ref(), reason)));
                outcome.delay_told = true;
            }
        }

        let has = |kind: ClaimKind| claims.iter().any(|c| c.kind == kind);
        // Delivered: how late, and what the carrier owes on its scale.
        if let (Some(at), Some(promise), Some(terms)) = (next.delivered_at, promise, &next.promise)
            && !has(ClaimKind::Late)
        {
            let late = calendar.late(promise.due_on, local_date(at));
            let amount = rules.scale.amount_cents(late, terms.shipping_price_cents);
            if late > 0 && amount > 0 {
                let claim = self.new_claim(&tracking, ClaimKind::Late, late, amount, &terms.currency, at, &rules, None);
                messages.push(("claim.opened", claim_payload(&claim, &parcel)));
                writes.push(Write::Claims(ClaimWrite::Insert(claim)));
                outcome.late_claim = true;
            }
        }
        // Not delivered and not moving for weeks: presumed lost.
        let last_movement_at = tracking.last_event_at.unwrap_or(tracking.created_at);
        let lost_at = last_movement_at + Duration::days(i64::from(rules.lost_after_days));
        if !delivered
            && next.shipped_on.is_some()
            && now >= lost_at
            && !has(ClaimKind::Lost)
            && !parcel.state.is_terminal()
        {
            let terms = next.promise.clone();
            let value = terms.as_ref().map_or(0, |t| t.declared_value_cents.unwrap_or(0) + t.shipping_price_cents);
            let currency = terms.as_ref().map_or("EUR".to_owned(), |t| t.currency.clone());
            let claim = self.new_claim(&tracking, ClaimKind::Lost, 0, value, &currency, lost_at, &rules, None);
            messages.push(("claim.opened", claim_payload(&claim, &parcel)));
            writes.push(Write::Claims(ClaimWrite::Insert(claim)));
            outcome.lost_claim = true;
        }

        // Settled once delivered (its lateness is known), or when relais' part of the parcel's life is
        // over; otherwise looked at again.
        let settled = delivered || parcel.state.is_terminal();
        next.next_review_at = if settled { None } else { Some(now + self.promise_settings.review_every) };
        outcome.settled = settled;
        next.updated_at = now;
        self.run(|| async {
            let mut tx = self.tx();
            for (topic, payload) in &messages {
                tx.message(topic, Some(tracking.parcel_id), payload.clone());
            }
            tx.write_all(writes.iter().cloned());
            tx.write(Write::Tracking(TrackingWrite::Put(Box::new(next.clone()))));
            Ok(tx.done(()))
        })
        .await?;
        Ok(outcome)
    }

    /// A claim of this kind for the parcel, to file before the carrier's deadline.
    #[allow(clippy::too_many_arguments)] // The claim's fields, each decided by the caller.
    pub(crate) fn new_claim(
        &self,
        tracking: &ParcelTracking,
        kind: ClaimKind,
        late_days: u32,
        amount_cents: i64,
        currency: &str,
        occurred_at: Timestamp,
        rules: &ClaimRules,
        reason: Option<String>,
    ) -> Claim {
        let now = self.now();
        let deadline_at = rules.deadline(kind, occurred_at);
        Claim {
            id: self.new_id(),
            parcel_id: tracking.parcel_id,
            merchant_id: tracking.merchant_id,
            carrier: tracking.carrier.clone(),
            kind,
            state: ClaimState::ToFile,
            late_days,
            amount_claimed_cents: amount_cents,
            currency: currency.to_owned(),
            amount_accepted_cents: None,
            reason,
            occurred_at,
            deadline_at,
            next_reminder_at: rules.next_reminder(deadline_at, now),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The delay message: the recipient's `delayed` notice and the merchant's webhook alike.
    fn delay_payload(
        &self,
        parcel: &relais_domain::parcel::Parcel,
        tracking: &ParcelTracking,
        promise: Option<&Promise>,
        reason: promise::DelayReason,
    ) -> serde_json::Value {
        serde_json::json!({
            "parcel_id": parcel.id.to_string(),
            "parcel_number": parcel.number.as_str(),
            "merchant_id": parcel.merchant_id.to_string(),
            "point_id": parcel.point_id.to_string(),
            "event": "delayed",
            "state": parcel.state.as_str(),
            "reason": reason.as_str(),
            "carrier": tracking.carrier,
            "tracking_number": tracking.tracking_number,
            "carrier_status": tracking.status,
            "due_on": promise.map(|p| p.due_on.to_string()),
            "at": self.now().to_rfc3339(),
            "notice": Notice::Delayed.as_str(),
        })
    }
}

/// What the merchant's webhooks get when a claim is opened.
pub(crate) fn claim_payload(claim: &Claim, parcel: &relais_domain::parcel::Parcel) -> serde_json::Value {
    serde_json::json!({
        "claim_id": claim.id.to_string(),
        "parcel_id": parcel.id.to_string(),
        "parcel_number": parcel.number.as_str(),
        "merchant_id": claim.merchant_id.to_string(),
        "carrier": claim.carrier,
        "kind": claim.kind.as_str(),
        "state": claim.state.as_str(),
        "late_days": claim.late_days,
        "amount_claimed_cents": claim.amount_claimed_cents,
        "currency": claim.currency,
        "deadline_at": claim.deadline_at.to_rfc3339(),
    })
}

#[derive(Debug, Default)]
struct Reviewed {
    delay_told: bool,
    late_claim: bool,
    lost_claim: bool,
    settled: bool,
}

/// A local date's first instant in UTC, for filters by day.
pub fn day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

    use chrono::{DateTime, TimeZone};
    use relais_domain::ids::Id;
    use relais_domain::parcel::{Actor, ParcelEvent, ParcelState};
    use relais_tracking::TrackingEvent;

    use super::*;

    fn carrier_event(at: &str, status: TrackingStatus) -> StoredCarrierEvent {
        StoredCarrierEvent {
            parcel_id: Id::from_parts(1, [1; 10]),
            carrier: "gls".into(),
            event: TrackingEvent {
                at: DateTime::parse_from_rfc3339(at).unwrap(),
                code: status.as_str().into(),
                description: String::new(),
                status,
                place: None,
            },
            received_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        }
    }

    fn deposited(at: Timestamp) -> StoredEvent {
        StoredEvent {
            seq: 1,
            event: ParcelEvent {
                parcel_id: Id::from_parts(1, [1; 10]),
                kind: EventKind::Deposited,
                from: Some(ParcelState::InTransit),
                to: ParcelState::ReadyForPickup,
                actor: Actor::system(),
                reason: None,
                compartment_id: None,
                at,
            },
        }
    }

    /// For a pickup point, delivered means available there: the carrier's word or relais' deposit,
    /// whichever came first; neither out for delivery nor a failed attempt counts.
    #[test]
    fn delivered_is_the_first_moment_the_parcel_was_available_at_its_point() {
        let out = carrier_event("2026-12-04T08:00:00+01:00", TrackingStatus::OutForDelivery);
        let failed = carrier_event("2026-12-04T12:00:00+01:00", TrackingStatus::DeliveryFailed);
        let ready = carrier_event("2026-12-05T10:00:00+01:00", TrackingStatus::ReadyForPickup);
        assert_eq!(delivered_at(&[out.clone(), failed.clone()], &[]), None);
        let at_ready = Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap();
        assert_eq!(delivered_at(&[out.clone(), ready.clone()], &[]), Some(at_ready));
        // relais' courier deposited it before the carrier's scan reached us: the deposit counts.
        let earlier = Utc.with_ymd_and_hms(2026, 12, 5, 8, 30, 0).unwrap();
        assert_eq!(delivered_at(&[out.clone(), ready.clone()], &[deposited(earlier)]), Some(earlier));
        let later = Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap();
        assert_eq!(delivered_at(&[out, ready], &[deposited(later)]), Some(at_ready));
        assert_eq!(delivered_at(&[failed], &[deposited(later)]), Some(later));
    }
}

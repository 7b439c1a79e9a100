//! The use cases of relais, and the ports they need.
//!
//! A use case is one method on [`App`]: it checks the caller's permission, loads what it needs through
//! the [`Store`] port, asks the pure domain for the transition, and commits the new state, its events
//! and its outbox messages in one transaction. The HTTP API, the CLI and the background jobs all call
//! these methods; no rule is written twice.
//!
//! Concurrency is optimistic: a commit carries the versions it read, and a use case that loses a race
//! reloads and decides again, up to `commit_attempts_max` times (then `AppError::Busy`).

pub mod auth;
pub mod counters;
pub mod error;
pub mod jobs;
pub mod kpis;
pub mod lockers;
pub mod messages;
pub mod occupancy;
pub mod parcels;
pub mod pdf;
pub mod points;
pub mod ports;
pub mod recipients;
pub mod secrets;
pub mod setup;
pub mod signed;

use std::future::Future;
use std::sync::Arc;

use relais_domain::Timestamp;
use relais_domain::attempts::AttemptLimits;
use relais_domain::ids::Id;
use relais_domain::parcel::{Parcel, ParcelEvent};

pub use crate::auth::{ApiKey, Caller, Permission, Role};
pub use crate::error::AppError;
pub use crate::ports::OutboxMessage;
pub use crate::ports::{Clock, CommitError, OsRandom, RandomSource, Store, StoreError, SystemClock, Write};
pub use crate::secrets::Secrets;

/// Limits of the use-case layer, each with its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppLimits {
    /// Wrong pickup codes at one point before it locks (a keypad under brute force).
    pub point_attempts: AttemptLimits,
    /// Wrong pickup codes for one parcel before it locks (a counter hand-over).
    pub parcel_attempts: AttemptLimits,
    /// How many times a command reloads and retries after losing a race.
    pub commit_attempts_max: u32,
    /// Largest page a list returns.
    pub page_size_max: u32,
    /// Occupancy (occupied compartments / compartments) above which a point's alert is raised.
    pub occupancy_alert_threshold: f64,
}

impl Default for AppLimits {
    fn default() -> Self {
        AppLimits {
            point_attempts: AttemptLimits { failures_max: 20, window_seconds: 600, lockout_seconds: 600 },
            parcel_attempts: AttemptLimits { failures_max: 5, window_seconds: 900, lockout_seconds: 900 },
            commit_attempts_max: 64,
            page_size_max: 500,
            occupancy_alert_threshold: 0.85,
        }
    }
}

/// The application: ports plus limits. Cheap to clone (everything is behind `Arc`).
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
    pub secrets: Secrets,
    pub limits: AppLimits,
    /// The pickup-point search index, shared by every clone of the app.
    pub registry: Arc<points::PointRegistry>,
    /// Where recipients reach this instance (links in their messages), without a trailing slash.
    pub public_url: String,
    /// Makes ids strictly increase in this process.
    ids: Arc<IdSequence>,
}

/// Outcome of one try of a command.
pub(crate) enum Retry {
    /// Lost a race: reload and try again.
    Conflict,
    Fail(AppError),
}

impl<E: Into<AppError>> From<E> for Retry {
    fn from(error: E) -> Self {
        Retry::Fail(error.into())
    }
}

pub(crate) fn committed(result: Result<(), CommitError>) -> Result<(), Retry> {
    match result {
        Ok(()) => Ok(()),
        Err(CommitError::Conflict) => Err(Retry::Conflict),
        Err(other) => Err(Retry::Fail(other.into())),
    }
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, random: Arc<dyn RandomSource>, secrets: Secrets) -> Self {
        App {
            store,
            clock,
            random,
            secrets,
            limits: AppLimits::default(),
            registry: Arc::default(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            ids: Arc::default(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A new time-ordered id (UUID v7) from the clock and the random source; ids made by one process
    /// strictly increase (see [`IdSequence`]).
    pub fn new_id<T>(&self) -> Id<T> {
        let mut random = [0u8; 10];
        self.random.fill(&mut random);
        let now_ms = u64::try_from(self.now().timestamp_millis()).unwrap_or(0);
        let (unix_ms, random) = self.ids.next(now_ms, random);
        Id::from_parts(unix_ms, random)
    }

    /// Runs one try of a command until it commits, fails, or has lost `commit_attempts_max` races.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, AppError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Retry>>,
    {
        for round in 0..self.limits.commit_attempts_max {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(Retry::Fail(error)) => return Err(error),
                Err(Retry::Conflict) => {
                    // Let the winner finish before reloading; after a few rounds back off a little.
                    if round >= 4 {
                        tokio::time::sleep(std::time::Duration::from_micros(50 << round.min(8))).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                }
            }
        }
        Err(AppError::Busy)
    }

    /// The outbox message that tells the outside world about a parcel event (`parcel.<event>`).
    pub fn outbox_for(&self, parcel: &Parcel, event: &ParcelEvent) -> OutboxMessage {
        let payload = serde_json::json!({
            "parcel_id": parcel.id.to_string(),
            "parcel_number": parcel.number.as_str(),
            "merchant_id": parcel.merchant_id.to_string(),
            "point_id": parcel.point_id.to_string(),
            "event": event.kind.as_str(),
            "from": event.from.map(|s| s.as_str()),
            "state": event.to.as_str(),
            "incident": event.to.incident_kind().map(|k| k.as_str()),
            "reason": event.reason,
            "actor": event.actor.kind.as_str(),
            "pickup_deadline": parcel.pickup_deadline.map(|t| t.to_rfc3339()),
            "at": event.at.to_rfc3339(),
        });
        OutboxMessage {
            id: self.new_id(),
            topic: format!("parcel.{}", event.kind.as_str()),
            parcel_id: Some(parcel.id),
            payload,
            created_at: event.at,
        }
    }

    /// The link to a parcel's page for its recipient (status, extension): `{public_url}/r/{token}`.
    pub fn recipient_link(&self, parcel_id: relais_domain::ids::ParcelId) -> String {
        format!("{}/r/{}", self.public_url, self.secrets.recipient_link_token(parcel_id))
    }

    /// The outbox message of a parcel event as a command writes it: `outbox_for`, with what the recipient
    /// must hear (see `tell_recipient`).
    pub async fn outbox_with_message(&self, parcel: &Parcel, event: &ParcelEvent) -> Result<OutboxMessage, StoreError> {
        let mut message = self.outbox_for(parcel, event);
        self.tell_recipient(&mut message, parcel, event.kind).await?;
        Ok(message)
    }

    /// Adds what the recipient must hear (French and English) and the link to their parcel page to the
    /// outbox message of a deposit, a reminder or an extension.
    pub(crate) async fn tell_recipient(
        &self,
        message: &mut OutboxMessage,
        parcel: &Parcel,
        kind: relais_domain::parcel::EventKind,
    ) -> Result<(), StoreError> {
        use relais_domain::parcel::EventKind;
        let Some(deadline) = parcel.pickup_deadline else { return Ok(()) };
        if !matches!(kind, EventKind::Deposited | EventKind::Reminded | EventKind::Extended) {
            return Ok(());
        }
        // The index has every point in memory; one created since its last rebuild is read.
        let point = match self.registry.index().point(parcel.point_id) {
            Some(point) => point,
            None => match self.store.point(parcel.point_id).await? {
                Some(point) => Arc::new(point),
                None => return Ok(()),
            },
        };
        let link = self.recipient_link(parcel.id);
        let text = match kind {
            EventKind::Reminded => messages::reminder(parcel, &point, deadline, &link),
            EventKind::Extended => messages::extended(parcel, &point, deadline),
            _ => messages::ready(parcel, &point, deadline, &link),
        };
        message.payload["recipient_link"] = link.into();
        message.payload["message"] = text.to_json();
        Ok(())
    }

    /// Clamps a requested page size to `1..=page_size_max` (default 50).
    pub fn page_limit(&self, requested: Option<u32>) -> u32 {
        requested.unwrap_or(50).clamp(1, self.limits.page_size_max)
    }
}

/// The millisecond and sequence of the last id (`ms << 12 | seq`). UUID v7 has 12 bits (`rand_a`) that
/// RFC 9562 lets a generator use as a counter: ids made within one millisecond then still sort in
/// creation order ("newest first" lists, cursors), and past 4,096 ids in a millisecond the next
/// millisecond is borrowed.
#[derive(Debug, Default)]
pub struct IdSequence(std::sync::atomic::AtomicU64);

impl IdSequence {
    /// The millisecond and random bytes (sequence in the first 12 bits) of the next id.
    pub fn next(&self, now_ms: u64, mut random: [u8; 10]) -> (u64, [u8; 10]) {
        use std::sync::atomic::Ordering;
        let mut last = self.0.load(Ordering::Relaxed);
        let next = loop {
            let (ms, seq) = (last >> 12, last & 0xFFF);
            let next = if now_ms > ms {
                now_ms << 12
            } else if seq < 0xFFF {
                last + 1
            } else {
                (ms + 1) << 12
            };
            match self.0.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break next,
                Err(actual) => last = actual,
            }
        };
        let seq = next & 0xFFF;
        random[0] = (seq >> 8) as u8;
        random[1] = (seq & 0xFF) as u8;
        (next >> 12, random)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use relais_domain::ids::ParcelId;

    #[test]
    fn ids_strictly_increase_within_and_across_milliseconds() {
        let sequence = IdSequence::default();
        let id = |ms| {
            let (ms, random) = sequence.next(ms, [0xFF; 10]);
            Id::<Parcel>::from_parts(ms, random)
        };
        // 5,000 ids in one millisecond overflow the 4,096 sequence numbers: the next millisecond is borrowed.
        let mut ids: Vec<ParcelId> = (0..5_000).map(|_| id(1_800_000_000_000)).collect();
        ids.extend((0..10).map(|_| id(1_800_000_000_003)));
        // A clock that steps back does not make ids go back.
        ids.push(id(1_799_999_999_000));
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].uuid().get_timestamp().unwrap().to_unix().0, 1_800_000_000);
        assert!(ids.iter().all(|i| i.uuid().get_version_num() == 7));
    }
}

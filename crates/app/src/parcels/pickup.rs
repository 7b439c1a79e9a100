//! Pickups: a recipient's code or QR token at a locker's keypad or a counter's terminal, the counter
//! hand-over with its identity check, and the collection itself (the parcel `collected`, its compartment
//! or shelf slot free, the recipient's other parcels behind a shared door collected with it).
//!
//! Wrong codes are counted per scope (the point, the parcel) and lock it for a while past the limit:
//! that is what makes an 8-digit code safe to type on a public keypad.

use relais_domain::Timestamp;
use std::sync::Arc;

use relais_domain::attempts::{Admission, AttemptCounter, AttemptLimits};
use relais_domain::compartment::Compartment;
use relais_domain::dropoff::DoorCommand;
use relais_domain::ids::{ParcelId, PointId};
use relais_domain::parcel::{Action, Parcel, ParcelState, TransitionError};
use relais_domain::value::{ParseError, PickupCode};

use crate::auth::{Caller, Permission, Role};
use crate::counters::IdentityCheck;
use crate::error::{AppError, Throttled};
use crate::ports::{AttemptScope, AuditAction, AuditEntry, Write};
use crate::secrets::digests_equal;
use crate::{App, signed};

/// What the recipient presents.
#[derive(Debug, Clone)]
pub enum PickupSecret {
    Code(String),
    QrToken(String),
}

/// A collection: the parcel and, at a locker, the compartment whose door opens.
#[derive(Debug, Clone)]
pub struct Collected {
    pub parcel: Parcel,
    pub compartment: Option<Compartment>,
    /// The recipient's other parcels that shared the compartment: the door opened on them too, so they
    /// are collected with it.
    pub shared: Vec<Parcel>,
}

/// How long a code that just collected a parcel is remembered at its point: the same code sent again
/// meanwhile (a double tap, a request retried) is answered as already used, not counted as a wrong code.
const RECENT_CODE_SECONDS: i64 = 120;
/// Most codes remembered per point.
const RECENT_CODES_MAX: usize = 32;
/// Points whose gate is kept before the idle gates are dropped.
const GATES_MAX: usize = 10_000;

/// One gate per point, in this process: the codes tried at a point go through the wrong-code check one at
/// a time, so no more wrong codes are checked than the limit allows however many arrive at once, and
/// each gate remembers the codes that just collected a parcel there.
#[derive(Default)]
pub(crate) struct Gates {
    points: std::sync::Mutex<std::collections::HashMap<PointId, Arc<tokio::sync::Mutex<RecentCodes>>>>,
}

impl Gates {
    pub(crate) fn of(&self, point_id: PointId) -> Arc<tokio::sync::Mutex<RecentCodes>> {
        let mut points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        if points.len() >= GATES_MAX {
            // Gates nobody holds: they only forget which codes were used in the last two minutes.
            points.retain(|_, gate| Arc::strong_count(gate) > 1);
        }
        Arc::clone(points.entry(point_id).or_default())
    }
}

/// The digests of the codes that collected a parcel at a point, with when.
#[derive(Default)]
pub(crate) struct RecentCodes(std::collections::VecDeque<([u8; 32], Timestamp)>);

impl RecentCodes {
    fn used(&self, digest: &[u8; 32], now: Timestamp) -> bool {
        let since = now - chrono::Duration::seconds(RECENT_CODE_SECONDS);
        self.0.iter().any(|(d, at)| *at >= since && digests_equal(d, digest))
    }

    fn remember(&mut self, digest: [u8; 32], now: Timestamp) {
        if self.0.len() >= RECENT_CODES_MAX {
            self.0.pop_front();
        }
        self.0.push_back((digest, now));
    }
}

impl App {
    /// A recipient presents a code or QR token at a point (the locker keypad, the counter terminal).
    /// Wrong codes count against the point; past the limit the point checks one code per probe period
    /// until the lockout ends. A signed QR token cannot be guessed, so a locked keypad still takes one. A
    /// code works once: the parcel is then `collected`, and the same code again is `invalid_transition`.
    /// At a staffed point (no compartments) the hand-over goes through the counter with its identity
    /// check (`counter_hand_over`), never on the code alone.
    pub async fn pickup_at_point(
        &self,
        caller: &Caller,
        point_id: PointId,
        secret: PickupSecret,
    ) -> Result<Collected, AppError> {
        caller.require(Permission::PickupAt(point_id))?;
        let lookup = match &secret {
            PickupSecret::Code(code) => Lookup::Code(self.secrets.code_digest(&PickupCode::parse(code)?)),
            PickupSecret::QrToken(token) => Lookup::Qr(parse_qr_token(token)?),
        };
        let point = self.indexed_point(point_id).await?;
        if !point.kind.has_compartments() {
            return Err(ParseError::new(
                "point_id",
                "is a staffed point: the parcel is handed over at its counter, with an identity check \
                 (POST /v1/points/{id}/hand-overs)",
            )
            .into());
        }
        let gate = self.gates.of(point_id);
        let mut recent = gate.lock().await;
        let point_scope = AttemptScope::Point(point_id);
        let limits = self.limits.point_attempts;
        // The locker opens the door itself on this answer; it will report the door closed.
        let door_command = caller.role == Role::LockerDevice;
        if let Lookup::Qr(token) = &lookup
            && let Some(parcel) =
                self.parcel_of_qr(token, point_id).await?.filter(|p| p.state == ParcelState::ReadyForPickup)
        {
            return self.collect_at(caller, parcel, self.now(), door_command, None).await;
        }
        let admission = self.check_attempts(point_scope, limits, Throttled::PickupCodes).await?;
        let digest = match &lookup {
            Lookup::Code(digest) => Some(*digest),
            Lookup::Qr(_) => None,
        };
        let found = match digest {
            Some(digest) => self.store.parcel_by_code(point_id, &digest).await?,
            // A QR token that is forged, foreign or used: a wrong try.
            None => None,
        }
        .filter(|p| p.state == ParcelState::ReadyForPickup);
        let now = self.now();
        let Some(parcel) = found else {
            if digest.is_some_and(|d| recent.used(&d, now)) {
                // The same code again, just after it collected its parcel: already used, not a guess.
                if admission == Admission::Probe {
                    self.record_probe(point_scope).await?;
                }
                let from = ParcelState::Collected;
                return Err(TransitionError::Invalid { action: Action::Collect, from }.into());
            }
            self.record_failure(point_scope, limits).await?;
            return Err(AppError::InvalidPickupCode);
        };
        self.check_attempts(AttemptScope::Parcel(parcel.id), self.limits.parcel_attempts, Throttled::PickupCodes)
            .await?;
        let collected = self.collect_at(caller, parcel, now, door_command, None).await?;
        if admission == Admission::Probe {
            self.record_probe(point_scope).await?;
        }
        if let Some(digest) = digest {
            recent.remember(digest, now);
        }
        Ok(collected)
    }

    /// Counter hand-over: the staff scanned the parcel and the recipient tells the code. Wrong codes count
    /// against the parcel and the point.
    /// At a staffed point (no compartments) an identity check is required and recorded on the
    /// collection event; a name that does not match refuses the hand-over, audited.
    pub async fn pickup_parcel(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        code: &str,
        identity: Option<&IdentityCheck>,
    ) -> Result<Collected, AppError> {
        let code = PickupCode::parse(code)?;
        let identity = identity.map(IdentityCheck::validated).transpose()?;
        let parcel = self.load_visible_parcel(caller, parcel_id).await?;
        caller.require(Permission::PickupAt(parcel.point_id))?;
        let point = self.load_point(parcel.point_id).await?;
        if identity.is_none() && !point.kind.has_compartments() {
            return Err(ParseError::new("identity", "is required for a hand-over at a staffed point").into());
        }
        let (point_scope, parcel_scope) = (AttemptScope::Point(parcel.point_id), AttemptScope::Parcel(parcel.id));
        let gate = self.gates.of(parcel.point_id);
        let _one_at_a_time = gate.lock().await;
        let (point_limits, parcel_limits) = (self.limits.point_attempts, self.limits.parcel_attempts);
        let admission = self.check_attempts(point_scope, point_limits, Throttled::PickupCodes).await?;
        self.check_attempts(parcel_scope, parcel_limits, Throttled::PickupCodes).await?;
        if !digests_equal(&self.secrets.code_digest(&code), &parcel.secrets.code) {
            self.record_failure(parcel_scope, parcel_limits).await?;
            self.record_failure(point_scope, point_limits).await?;
            return Err(AppError::InvalidPickupCode);
        }
        if admission == Admission::Probe {
            self.record_probe(point_scope).await?;
        }
        let now = self.now();
        if let Some(identity) = identity.as_ref().filter(|i| !i.name_matches) {
            // Nothing happens to the parcel; the refusal is audited.
            let entry = AuditEntry {
                seq: 0,
                at: now,
                actor: caller.actor(),
                action: AuditAction::HandOverRefused,
                point_id: Some(parcel.point_id),
                compartment_id: None,
                parcel_id: Some(parcel.id),
                reason: Some(format!("{}:name_does_not_match", identity.note())),
            };
            self.run(|| async {
                let mut tx = self.tx();
                tx.audit(entry.clone());
                Ok(tx.done(()))
            })
            .await?;
            return Err(AppError::IdentityMismatch);
        }
        // The check is written on the collection event itself (actor, time, document).
        self.collect_at(caller, parcel, now, false, identity.map(|i| i.note())).await
    }

    /// Collects a parcel just looked up, at `at`: the first attempt uses that copy, a retry after a lost
    /// race reads it again. The recipient's other waiting parcels behind a shared door are collected
    /// with it. With `door_command`, the opening of its door is recorded as a pending command, so the
    /// locker's report of the door closing has something to close.
    pub(crate) async fn collect_at(
        &self,
        caller: &Caller,
        found: Parcel,
        at: Timestamp,
        door_command: bool,
        note: Option<String>,
    ) -> Result<Collected, AppError> {
        let parcel_id = found.id;
        let mut first = Some(found);
        self.run(|| {
            let known = first.take();
            let note = note.clone();
            async move {
                let mut tx = self.tx();
                let parcel = match known {
                    Some(parcel) => parcel,
                    None => self.load_parcel(parcel_id).await?,
                };
                let mut collected = parcel.collect(caller.actor(), at)?;
                collected.event.reason = note;
                let mut shared = Vec::new();
                let compartment = match parcel.compartment_id {
                    Some(compartment_id) => {
                        // The parcel's compartment not holding it means another command moved it: read again.
                        let mut left = self.load_compartment(compartment_id).await?.release(parcel.id)?;
                        let mut others = Vec::new();
                        for sharer in left.holders() {
                            let Some(other) = self.store.parcel(sharer).await? else { continue };
                            // One still on its way in (its door not closed yet) stays.
                            if other.state != ParcelState::ReadyForPickup {
                                continue;
                            }
                            let mut with_it = other.collect(caller.actor(), at)?;
                            with_it.event.reason = Some("shared_compartment".to_owned());
                            left = left.release(other.id)?;
                            others.push(with_it);
                        }
                        tx.compartment(left.clone());
                        for with_it in others {
                            shared.push(tx.transition(with_it).await?);
                        }
                        if door_command {
                            let pending = self.store.pending_door_command(left.id).await?;
                            if let Some(opening) =
                                DoorCommand::pickup_opening(self.new_id(), pending.as_ref(), &left, parcel.id, at)?
                            {
                                tx.write_all(opening.called_off.map(Write::UpdateDoorCommand));
                                tx.write(Write::InsertDoorCommand(opening.opened));
                            }
                        }
                        Some(left)
                    }
                    None => {
                        self.give_back(&mut tx, &parcel, &collected).await?;
                        None
                    }
                };
                let parcel = tx.transition(collected).await?;
                Ok(tx.done(Collected { parcel, compartment, shared }))
            }
        })
        .await
    }

    /// Whether a try may be made in `scope` now (a probe of a locked scope or an open one), or
    /// `rate_limited` saying what was tried too often and until when.
    pub(crate) async fn check_attempts(
        &self,
        scope: AttemptScope,
        limits: AttemptLimits,
        what: Throttled,
    ) -> Result<Admission, AppError> {
        let stored = self.store.attempt_counter(scope).await?;
        let now = self.now();
        AttemptCounter::check(stored.as_ref().map(|s| &s.counter), limits, now).map_err(|locked| {
            let retry_after_seconds = u64::try_from((locked.until - now).num_seconds()).unwrap_or(0).max(1);
            AppError::RateLimited { what, until: locked.until, retry_after_seconds }
        })
    }

    pub(crate) async fn record_failure(&self, scope: AttemptScope, limits: AttemptLimits) -> Result<(), AppError> {
        self.run(|| async {
            let mut tx = self.tx();
            // Another failure was recorded first (the first row for this scope): count on top of it.
            tx.retry_on_duplicate("attempt_counter");
            let stored = self.store.attempt_counter(scope).await?;
            let counter = AttemptCounter::record_failure(stored.as_ref().map(|s| &s.counter), limits, tx.now);
            tx.write(Write::PutAttemptCounter { scope, counter, expected_version: stored.map(|s| s.version) });
            Ok(tx.done(()))
        })
        .await
    }

    /// A try let through during a lockout went right: the next one waits for the next probe.
    pub(crate) async fn record_probe(&self, scope: AttemptScope) -> Result<(), AppError> {
        self.run(|| async {
            let mut tx = self.tx();
            let Some(stored) = self.store.attempt_counter(scope).await? else { return Ok(tx.done(())) };
            let counter = stored.counter.probed(tx.now);
            tx.write(Write::PutAttemptCounter { scope, counter, expected_version: Some(stored.version) });
            Ok(tx.done(()))
        })
        .await
    }

    /// The parcel a QR token names, if its signature is good, it names this point, and it is the token
    /// issued for that parcel. A forged or foreign token finds nothing (and counts as a wrong code).
    pub(crate) async fn parcel_of_qr(&self, token: &str, point_id: PointId) -> Result<Option<Parcel>, AppError> {
        let Ok(claims) = signed::verify_qr(&self.secrets.verifying_key(), token) else {
            return Ok(None);
        };
        if claims.point_id != point_id {
            return Ok(None);
        }
        let parcel = self.store.parcel(claims.parcel_id).await?;
        let digest = self.secrets.qr_digest(token);
        Ok(parcel.filter(|p| p.point_id == point_id && digests_equal(&p.secrets.qr, &digest)))
    }
}

enum Lookup {
    Code([u8; 32]),
    Qr(String),
}

/// A QR token as sent: trimmed, of a sane length (its signature is checked by the use case).
pub(crate) fn parse_qr_token(token: &str) -> Result<String, AppError> {
    let token = token.trim();
    if token.is_empty() || token.len() > signed::QR_TOKEN_LENGTH_MAX {
        let message = format!("must be 1 to {} characters", signed::QR_TOKEN_LENGTH_MAX);
        return Err(ParseError::new("qr_token", message).into());
    }
    Ok(token.to_owned())
}

//! Background work as use cases: the expiry sweep, reminders, silent lockers, and the tidying of lapsed
//! reservations. The job runner (in the binary) calls these on a timer; tests call them directly with a
//! manual clock. Each is idempotent: running it twice, or on two processes at once, expires each parcel
//! once.

use relais_domain::ids::ParcelId;
use relais_domain::network::NetworkRules;
use relais_domain::parcel::{Parcel, Transition, TransitionError};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;

/// What one pass of the jobs did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: u32,
    pub reminded: u32,
    pub devices_offline: u32,
    pub reservations_released: u32,
}

impl App {
    /// Expires up to `limit` parcels whose pickup deadline has passed.
    pub async fn expire_due(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let due = self.store.parcels_due_for_expiry(self.now(), limit).await?;
        self.sweep(caller, due, |parcel, _, now| parcel.expire(caller.actor(), now)).await
    }

    /// Sends the reminders that are due (up to `limit`): each is an event on the parcel and a
    /// `parcel.reminded` outbox message with the recipient's text in French and English.
    pub async fn remind_due(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let due = self.store.parcels_due_for_reminder(self.now(), limit).await?;
        self.sweep(caller, due, |parcel, rules, now| parcel.remind(rules, caller.actor(), now)).await
    }

    /// Applies a transition to each parcel a sweep found due; one that moved on meanwhile (collected,
    /// extended, handled by another process) is left alone. Returns how many moved.
    async fn sweep(
        &self,
        caller: &Caller,
        due: Vec<Parcel>,
        decide: impl Fn(&Parcel, &NetworkRules, relais_domain::Timestamp) -> Result<Transition, TransitionError>,
    ) -> Result<u32, AppError> {
        let mut moved = 0;
        for candidate in due {
            let id: ParcelId = candidate.id;
            match self.transition_parcel(caller, id, &decide).await {
                Ok(_) => moved += 1,
                Err(AppError::InvalidTransition(_) | AppError::NotFound { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(moved)
    }

    /// Frees compartments whose soft reservation has lapsed. Not needed for correctness (a lapsed
    /// reservation already counts as free, for a deposit as for the search) but it keeps occupancy
    /// figures and the console honest.
    pub async fn release_lapsed_reservations(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let lapsed = self.store.compartments_with_lapsed_reservation(self.now(), limit).await?;
        let mut released = 0;
        for compartment in lapsed {
            let freed = self
                .run(|| async {
                    let mut tx = self.tx();
                    // Taken or renewed meanwhile: nothing to release.
                    let current = self.load_compartment(compartment.id).await?;
                    let Ok(freed) = current.release_lapsed(tx.now) else { return Ok(tx.done(false)) };
                    tx.compartment(freed);
                    Ok(tx.done(true))
                })
                .await?;
            released += u32::from(freed);
        }
        Ok(released)
    }

    /// One pass of every sweep, each taking at most `sweep_batch_max` items.
    pub async fn run_sweeps(&self, caller: &Caller) -> Result<SweepReport, AppError> {
        let batch_max = self.limits.sweep_batch_max;
        Ok(SweepReport {
            expired: self.expire_due(caller, batch_max).await?,
            reminded: self.remind_due(caller, batch_max).await?,
            devices_offline: self.flag_silent_devices(caller, batch_max).await?,
            reservations_released: self.release_lapsed_reservations(caller, batch_max).await?,
        })
    }
}

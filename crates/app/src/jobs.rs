//! Background work as use cases: the expiry sweep, reminders, and the tidying of lapsed reservations. The job
//! runner (in the binary) calls these on a timer; tests call them directly with a manual clock.
//! Each is idempotent: running it twice, or on two processes at once, expires each parcel once.

use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::Write;
use crate::{App, Retry, committed};

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
        let mut expired = 0;
        for candidate in due {
            let result = self
                .retrying(|| async {
                    let Some(parcel) = self.store.parcel(candidate.id).await? else { return Ok(false) };
                    // Collected or extended meanwhile: nothing to do.
                    let Ok(transition) = parcel.expire(caller.actor(), self.now()) else { return Ok(false) };
                    self.commit_transition(&parcel, transition, Vec::new()).await?;
                    Ok(true)
                })
                .await?;
            expired += u32::from(result);
        }
        Ok(expired)
    }

    /// Sends the reminders that are due (up to `limit`): each is an event on the parcel and a
    /// `parcel.reminded` outbox message with the recipient's text in French and English.
    pub async fn remind_due(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let due = self.store.parcels_due_for_reminder(self.now(), limit).await?;
        let mut reminded = 0;
        for candidate in due {
            let result = self
                .retrying(|| async {
                    let Some(parcel) = self.store.parcel(candidate.id).await? else { return Ok(false) };
                    let rules = self.rules_of_network(parcel.network_id).await?;
                    // Collected, extended or reminded by another process meanwhile: nothing to do.
                    let Ok(transition) = parcel.remind(&rules, caller.actor(), self.now()) else { return Ok(false) };
                    self.commit_transition(&parcel, transition, Vec::new()).await?;
                    Ok(true)
                })
                .await?;
            reminded += u32::from(result);
        }
        Ok(reminded)
    }

    /// Frees compartments whose soft reservation has lapsed. Not needed for correctness (a lapsed
    /// reservation already counts as free) but it keeps occupancy figures and the console honest.
    pub async fn release_lapsed_reservations(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let lapsed = self.store.compartments_with_lapsed_reservation(self.now(), limit).await?;
        let mut released = 0;
        for compartment in lapsed {
            let freed = relais_domain::compartment::Compartment {
                state: relais_domain::compartment::CompartmentState::Available,
                ..compartment
            };
            // Lost a race (the compartment was just taken): fine, skip it.
            match committed(self.commit(vec![Write::UpdateCompartment(freed)]).await) {
                Ok(()) => released += 1,
                Err(Retry::Conflict) => {}
                Err(Retry::Fail(error)) => return Err(error),
            }
        }
        Ok(released)
    }

    /// One pass of every sweep.
    pub async fn run_sweeps(&self, caller: &Caller, limit: u32) -> Result<SweepReport, AppError> {
        Ok(SweepReport {
            expired: self.expire_due(caller, limit).await?,
            reminded: self.remind_due(caller, limit).await?,
            devices_offline: self.flag_silent_devices(caller, limit).await?,
            reservations_released: self.release_lapsed_reservations(caller, limit).await?,
        })
    }
}

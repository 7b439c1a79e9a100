//! What an operator does by hand, each with a required reason kept on the event and in the audit log:
//! force a waiting parcel's expiry, move a parcel to another door, open a door remotely, declare a door
//! repaired; and the audit log itself.

use relais_domain::compartment::{NoFit, any_compartment_fits};
use relais_domain::dropoff::{CommandPurpose, DoorCommand};
use relais_domain::ids::{ParcelId, PointId};
use relais_domain::parcel::{Parcel, ParcelEvent};
use relais_domain::value::{ParseError, parse_text};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{AuditAction, AuditEntry, Write};

impl App {
    /// An operator expires a waiting parcel now, whatever its deadline; the reason is required and kept.
    pub async fn force_expire(&self, caller: &Caller, parcel_id: ParcelId, reason: &str) -> Result<Parcel, AppError> {
        caller.require(Permission::OperateParcel)?;
        let reason = parse_text("reason", reason, ParcelEvent::REASON_LENGTH_MAX)?;
        self.transition_parcel(caller, parcel_id, |parcel, _, now| parcel.force_expire(&reason, caller.actor(), now))
            .await
    }

    /// An operator moves a parcel to another free compartment of its locker (it was behind a failing
    /// door, the locker is being rearranged); the parcel keeps its code and deadline. The reason is
    /// required, on the parcel's event and in the audit log.
    pub async fn move_parcel(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        door: &str,
        reason: &str,
    ) -> Result<Parcel, AppError> {
        caller.require(Permission::OperateLocker)?;
        let reason = parse_text("reason", reason, ParcelEvent::REASON_LENGTH_MAX)?;
        self.run(|| async {
            let mut tx = self.tx();
            let parcel = self.load_parcel(parcel_id).await?;
            let compartments = self.store.compartments(parcel.point_id).await?;
            let target =
                compartments.iter().find(|c| c.label == door).ok_or_else(|| AppError::not_found("door", door))?;
            // Refuses a parcel that is not in a compartment (not deposited, collected...).
            let moved = parcel.move_to(target.id, &reason, caller.actor(), tx.now)?;
            // The parcel's compartment not holding it means another command moved it: read again.
            let current = compartments.iter().find(|c| c.holds(parcel.id)).ok_or(crate::command::Halt::Conflict)?;
            if current.id == target.id {
                return Err(ParseError::new("door", "is the parcel's compartment already").into());
            }
            any_compartment_fits(std::slice::from_ref(target), parcel.dimensions, parcel.weight)
                .map_err(|_| AppError::NoFittingCompartment(NoFit::TooLarge))?;
            let occupied =
                target.occupy(parcel.id, tx.now).map_err(|_| AppError::NoFittingCompartment(NoFit::AllFittingBusy))?;
            tx.compartment(current.release(parcel.id)?);
            tx.compartment(occupied);
            let action = AuditAction::ParcelMoved;
            tx.audit(AuditEntry::of_door(tx.now, caller.actor(), action, target, Some(parcel.id), Some(&reason)));
            let parcel = tx.transition(moved).await?;
            Ok(tx.done(parcel))
        })
        .await
    }

    /// An operator opens a door remotely (a stuck parcel, an inspection); the reason is required and
    /// audited. A door already ordered open answers that order.
    pub async fn open_door_remotely(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        reason: &str,
    ) -> Result<DoorCommand, AppError> {
        caller.require(Permission::OperateLocker)?;
        let reason = parse_text("reason", reason, ParcelEvent::REASON_LENGTH_MAX)?;
        self.run(|| async {
            let mut tx = self.tx();
            tx.retry_on_duplicate("door_command");
            let compartment = self.load_door(point_id, label).await?;
            if let Some(pending) = self.store.pending_door_command(compartment.id).await? {
                return Ok(tx.done(pending));
            }
            let command = DoorCommand::new(self.new_id(), &compartment, CommandPurpose::Operator, None, None, tx.now);
            let command = DoorCommand { reason: Some(reason.clone()), ..command };
            let action = AuditAction::RemoteDoorOpening;
            tx.audit(AuditEntry::of_door(tx.now, caller.actor(), action, &compartment, None, Some(&reason)));
            tx.write(Write::InsertDoorCommand(command.clone()));
            Ok(tx.done(command))
        })
        .await
    }

    /// An operator takes a door out of service (broken, under maintenance): recorded as a `broken`
    /// fault with the reason, audited and told like a locker's own fault report; parcels behind it
    /// are flagged. A door already out of service stays as it is.
    pub async fn take_door_out_of_service(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        reason: &str,
    ) -> Result<relais_domain::compartment::Compartment, AppError> {
        caller.require(Permission::OperateLocker)?;
        let reason = parse_text("reason", reason, ParcelEvent::REASON_LENGTH_MAX)?;
        self.run(|| async {
            let mut tx = self.tx();
            let compartment = self.load_door(point_id, label).await?;
            if compartment.fault.is_some() {
                return Ok(tx.done(compartment));
            }
            let actor = caller.actor();
            let broken = relais_domain::compartment::DoorFault::Broken;
            let (after, _) = self.fault_door(&mut tx, &compartment, broken, &actor, None, Some(&reason)).await?;
            Ok(tx.done(relais_domain::compartment::Compartment { version: after.version + 1, ..after }))
        })
        .await
    }

    /// An operator declares a door repaired: the fault is cleared and an empty compartment is
    /// available again.
    pub async fn repair_door(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        reason: &str,
    ) -> Result<relais_domain::compartment::Compartment, AppError> {
        caller.require(Permission::OperateLocker)?;
        let reason = parse_text("reason", reason, ParcelEvent::REASON_LENGTH_MAX)?;
        self.run(|| async {
            let mut tx = self.tx();
            let compartment = self.load_door(point_id, label).await?;
            let repaired = compartment.repair();
            let action = AuditAction::DoorRepaired;
            tx.audit(AuditEntry::of_door(tx.now, caller.actor(), action, &compartment, None, Some(&reason)));
            tx.compartment(repaired.clone());
            Ok(tx.done(relais_domain::compartment::Compartment { version: repaired.version + 1, ..repaired }))
        })
        .await
    }

    /// The audit log of a point or a parcel (operators).
    pub async fn audit_log(
        &self,
        caller: &Caller,
        point_id: Option<PointId>,
        parcel_id: Option<ParcelId>,
        after: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEntry>, AppError> {
        caller.require(Permission::OperateLocker)?;
        Ok(self.store.audit(point_id, parcel_id, after, self.page_limit(limit)?).await?)
    }
}

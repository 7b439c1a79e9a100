//! What a locker reports about its doors: closed after an opening relais ordered (a deposit or a return
//! collection is recorded then), jammed or forced open (the compartment goes out of service, the parcels
//! behind it are flagged, a parcel on its way in gets another door).

use relais_domain::compartment::{Compartment, DoorFault};
use relais_domain::dropoff::{CommandPurpose, DoorCommand, DoorReport, DropOffItem, ItemState};
use relais_domain::ids::{DropOffSessionId, ParcelId, PointId};
use relais_domain::parcel::{Actor, Parcel};

use super::carrier_actor;
use super::sessions::{Placement, SessionScan};
use crate::App;
use crate::auth::{Caller, Permission};
use crate::command::{Halt, Tx};
use crate::error::AppError;
use crate::ports::{AuditAction, AuditEntry, Write};

/// What a door report did.
#[derive(Debug, Clone)]
pub struct DoorOutcome {
    pub compartment: Compartment,
    /// The command the report closed or called off.
    pub command: Option<DoorCommand>,
    /// The parcel now deposited behind that door.
    pub deposited: Option<Parcel>,
    /// The parcels behind a failing door, flagged.
    pub flagged: Vec<ParcelId>,
    /// A parcel that was waiting for the failing door, given another one (or failed).
    pub reassigned: Option<SessionScan>,
}

impl App {
    /// The locker reports a door: closed after an opening relais ordered (a deposit is recorded then),
    /// jammed or forced open (the compartment goes out of service, the parcel inside is flagged, and a
    /// parcel waiting for that door gets another).
    pub async fn report_door(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        report: DoorReport,
    ) -> Result<DoorOutcome, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        self.run(|| async {
            let mut tx = self.tx();
            tx.retry_on_duplicate("door_command");
            let mut compartments = self.store.compartments(point_id).await?;
            let Some(index) = compartments.iter().position(|c| c.label == label) else {
                return Err(AppError::not_found("door", label).into());
            };
            let compartment = compartments[index].clone();
            let command = self.store.pending_door_command(compartment.id).await?;
            let Some(fault) = report.fault() else {
                let Some(command) = command else {
                    return Err(AppError::DoorNotOpen { label: label.to_owned() }.into());
                };
                let done = command.done(tx.now)?;
                tx.write(Write::UpdateDoorCommand(done.clone()));
                let deposited = match (command.purpose, command.parcel_id, command.session_id) {
                    (CommandPurpose::Deposit, Some(parcel_id), Some(session_id)) => {
                        Some(self.deposit_behind(&mut tx, &compartment, parcel_id, session_id).await?)
                    }
                    (CommandPurpose::ReturnCollection, Some(_), Some(session_id)) => {
                        self.take_back_behind(&mut tx, &compartment, session_id).await?;
                        None
                    }
                    _ => None,
                };
                let compartment = compartments.swap_remove(index);
                return Ok(tx.done(DoorOutcome {
                    compartment,
                    command: Some(done),
                    deposited,
                    flagged: Vec::new(),
                    reassigned: None,
                }));
            };
            // A parcel on its way in through that door is not behind it: it gets another door below.
            let arriving = command.as_ref().filter(|c| c.purpose == CommandPurpose::Deposit).and_then(|c| c.parcel_id);
            let (faulted, flagged) =
                self.fault_door(&mut tx, &compartment, fault, &caller.actor(), arriving, None).await?;
            compartments[index] = faulted.clone();
            let mut cancelled = None;
            let mut reassigned = None;
            if let Some(command) = command {
                let off = command.cancel(tx.now)?;
                tx.write(Write::UpdateDoorCommand(off.clone()));
                if let (CommandPurpose::Deposit, Some(parcel_id), Some(session_id)) =
                    (command.purpose, command.parcel_id, command.session_id)
                {
                    let session = self.load_session(session_id).await?;
                    let item =
                        self.store.drop_off_items(session_id).await?.into_iter().find(|i| i.parcel_id == parcel_id);
                    let parcel = self.store.parcel(parcel_id).await?;
                    if let (Some(item), Some(parcel)) = (item, parcel) {
                        let item = DropOffItem { reason: Some(fault.as_str().to_owned()), ..item };
                        let failing = faulted.id;
                        let placed = Placement { session: &session, parcel: &parcel, item, new: false };
                        reassigned =
                            Some(self.place_in_session(&mut tx, placed, &compartments, |c| c.id != failing).await?);
                    }
                }
                cancelled = Some(off);
            }
            Ok(tx.done(DoorOutcome { compartment: faulted, command: cancelled, deposited: None, flagged, reassigned }))
        })
        .await
    }

    /// Records a deposit behind a door that closed: the compartment held for the parcel is occupied and
    /// the parcel is `ready_for_pickup`, on behalf of the session's carrier.
    async fn deposit_behind(
        &self,
        tx: &mut Tx<'_>,
        compartment: &Compartment,
        parcel_id: ParcelId,
        session_id: DropOffSessionId,
    ) -> Result<Parcel, Halt> {
        let parcel = self.load_parcel(parcel_id).await?;
        let session = self.load_session(session_id).await?;
        let item = self.session_item(session_id, parcel_id).await?;
        let rules = self.load_rules(parcel.network_id).await?;
        let occupied = compartment.occupy(parcel.id, tx.now)?;
        let deposited = parcel.deposit(Some(compartment.id), &rules, carrier_actor(&session), tx.now)?;
        tx.compartment(occupied);
        tx.write(Write::UpdateDropOffItem(item.deposited(tx.now)));
        Ok(tx.transition(deposited).await?)
    }

    /// Records a return collection behind a door that closed: each expired parcel of the session behind
    /// it (several when they shared the compartment) is `returning` (actor: the session's carrier) and
    /// leaves the compartment.
    async fn take_back_behind(
        &self,
        tx: &mut Tx<'_>,
        compartment: &Compartment,
        session_id: DropOffSessionId,
    ) -> Result<(), Halt> {
        let session = self.load_session(session_id).await?;
        let mut left = compartment.clone();
        let items = self.store.drop_off_items(session_id).await?;
        let behind = |i: &DropOffItem| i.state == ItemState::Assigned && i.compartment_id == Some(compartment.id);
        for item in items.into_iter().filter(behind) {
            let parcel = self.load_parcel(item.parcel_id).await?;
            let taken_back = parcel.collect_return(carrier_actor(&session), tx.now)?;
            left = left.release(parcel.id)?;
            tx.write(Write::UpdateDropOffItem(item.taken_back(tx.now)));
            tx.transition(taken_back).await?;
        }
        tx.compartment(left);
        Ok(())
    }

    /// Records a fault of a door: the compartment goes out of use (written), the parcels behind it are
    /// flagged, the fault is audited and told (`point.door_fault`), and `arriving` (a parcel on its way
    /// in, not inside yet) leaves the compartment. Returns the compartment as it will be stored and the
    /// flagged parcels.
    pub(crate) async fn fault_door(
        &self,
        tx: &mut Tx<'_>,
        compartment: &Compartment,
        fault: DoorFault,
        actor: &Actor,
        arriving: Option<ParcelId>,
        reason: Option<&str>,
    ) -> Result<(Compartment, Vec<ParcelId>), Halt> {
        let faulted = compartment.report_fault(fault);
        let (mut after, mut inside) = (faulted.compartment, faulted.parcels_inside);
        if let Some(arriving) = arriving.filter(|p| inside.contains(p)) {
            after = after.release(arriving)?;
            inside.retain(|p| *p != arriving);
        }
        let parcel_inside = inside.first().copied();
        tx.audit(AuditEntry::of_door(
            tx.now,
            actor.clone(),
            AuditAction::door_fault(fault),
            &after,
            parcel_inside,
            reason,
        ));
        let payload = serde_json::json!({
            "point_id": after.point_id.to_string(),
            "compartment_id": after.id.to_string(),
            "door": after.label,
            "fault": fault.as_str(),
            "parcel_id": parcel_inside.map(|p| p.to_string()),
            "actor": actor.kind.as_str(),
            "at": tx.now.to_rfc3339(),
        });
        tx.message("point.door_fault", parcel_inside, payload);
        for parcel_id in &inside {
            let parcel = self.load_parcel(*parcel_id).await?;
            let flagged = parcel.flag_fault(fault.as_str(), actor.clone(), tx.now)?;
            tx.transition(flagged).await?;
        }
        tx.compartment(after.clone());
        Ok((after, inside))
    }
}

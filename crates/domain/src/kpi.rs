//! KPIs of the automated pickup point (domain.md section 9) computed from the event log. A parcel
//! counts in the cohort of its point and the UTC day of its deposit; its later events (collection,
//! return collection, loss) are followed whenever they happen.
//!
//! - pickup rate in the window: parcels collected by their pickup deadline (extensions included) over
//!   parcels deposited;
//! - pickup rate within 7 days: collected at most 7 days after deposit, over deposited;
//! - mean compartment occupancy: days from deposit to removal (collection, return collection, loss),
//!   over the parcels removed;
//! - deposit error rate: parcels lost after deposit over deposits; deposit failures (no room) are
//!   counted beside it;
//! - hardware incidents per 1000 deposits: door faults (jammed, forced open, broken, blocked) at the
//!   point that day, per 1000 parcels deposited there that day;
//! - mean deposit handling time: from the courier's scan to the door reported closed, for the parcels
//!   deposited through a drop-off session.
//!
//! A cohort still in its hold window is not closed: its rates rise as parcels are collected.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};

use crate::Timestamp;
use crate::ids::{ParcelId, PointId};
use crate::parcel::{EventKind, IncidentKind};
use crate::point::PointKind;

/// One event of the log with what the KPIs need of its parcel.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiEvent {
    pub parcel_id: ParcelId,
    pub point_id: PointId,
    /// The parcel's pickup deadline now (extensions included).
    pub pickup_deadline: Option<Timestamp>,
    pub kind: EventKind,
    pub incident: Option<IncidentKind>,
    pub at: Timestamp,
}

/// A fact from outside the parcel log that a KPI counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KpiFact {
    /// A door fault at a point (from the audit log).
    HardwareIncident { point_id: PointId, at: Timestamp },
    /// A parcel deposited through a drop-off session: scanned, then its door reported closed.
    DepositHandled { point_id: PointId, scanned_at: Timestamp, closed_at: Timestamp },
}

/// Counts of one cohort (a point and a day, or a total) and the rates derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KpiFigures {
    pub deposited: u32,
    pub deposit_failed: u32,
    pub collected_in_window: u32,
    pub collected_within_7_days: u32,
    pub removed: u32,
    /// Sum over removed parcels of their days in the compartment.
    pub occupancy_days_sum: f64,
    pub lost: u32,
    pub hardware_incidents: u32,
    /// Deposits whose handling time is known (through a drop-off session).
    pub handled: u32,
    pub handling_seconds_sum: f64,
    /// Parcels of the cohort taken back from the point as returns.
    pub returned: u32,
    /// Seconds parcels spent in the point's compartments or on its shelf that day ([`occupied_seconds`]).
    pub occupied_seconds: f64,
    /// The point's places times the seconds of the day counted (a day still running counts to now).
    pub capacity_seconds: f64,
    /// What the day cost under the cost model ([`CostModel`]), in cents.
    pub cost_cents: u64,
}

impl KpiFigures {
    pub fn pickup_rate_window(&self) -> Option<f64> {
        rate(self.collected_in_window, self.deposited)
    }
    pub fn pickup_rate_7_days(&self) -> Option<f64> {
        rate(self.collected_within_7_days, self.deposited)
    }
    pub fn mean_occupancy_days(&self) -> Option<f64> {
        (self.removed > 0).then(|| self.occupancy_days_sum / f64::from(self.removed))
    }
    pub fn deposit_error_rate(&self) -> Option<f64> {
        rate(self.lost, self.deposited)
    }
    pub fn hardware_incidents_per_1000_deposits(&self) -> Option<f64> {
        rate(self.hardware_incidents, self.deposited).map(|r| r * 1000.0)
    }
    pub fn mean_deposit_handling_seconds(&self) -> Option<f64> {
        (self.handled > 0).then(|| self.handling_seconds_sum / f64::from(self.handled))
    }

    /// Time-weighted occupancy: parcel-seconds over place-seconds (0 to 1, more when a shelf overflows).
    pub fn occupancy(&self) -> Option<f64> {
        (self.capacity_seconds > 0.0).then(|| self.occupied_seconds / self.capacity_seconds)
    }
    /// Cost per parcel deposited, in cents (fixed and variable costs over deposits).
    pub fn cost_per_parcel_cents(&self) -> Option<f64> {
        (self.deposited > 0).then(|| self.cost_cents as f64 / f64::from(self.deposited))
    }

    pub fn add(&mut self, other: &KpiFigures) {
        self.deposited += other.deposited;
        self.deposit_failed += other.deposit_failed;
        self.collected_in_window += other.collected_in_window;
        self.collected_within_7_days += other.collected_within_7_days;
        self.removed += other.removed;
        self.occupancy_days_sum += other.occupancy_days_sum;
        self.lost += other.lost;
        self.hardware_incidents += other.hardware_incidents;
        self.handled += other.handled;
        self.handling_seconds_sum += other.handling_seconds_sum;
        self.returned += other.returned;
        self.occupied_seconds += other.occupied_seconds;
        self.capacity_seconds += other.capacity_seconds;
        self.cost_cents += other.cost_cents;
    }
}

fn rate(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// The KPIs per (point, UTC day of deposit) and in total, for deposits in `[from, to)`. `events` are
/// grouped by parcel, in log order within a parcel; `facts` (incidents by day of occurrence, handling
/// by day of the door closing) are counted when they fall in the period.
pub fn compute(
    events: &[KpiEvent],
    facts: &[KpiFact],
    from: Timestamp,
    to: Timestamp,
) -> (BTreeMap<(PointId, NaiveDate), KpiFigures>, KpiFigures) {
    let mut cohorts: BTreeMap<(PointId, NaiveDate), KpiFigures> = BTreeMap::new();
    for fact in facts {
        match *fact {
            KpiFact::HardwareIncident { point_id, at } if (from..to).contains(&at) => {
                cohorts.entry((point_id, at.date_naive())).or_default().hardware_incidents += 1;
            }
            KpiFact::DepositHandled { point_id, scanned_at, closed_at } if (from..to).contains(&closed_at) => {
                let figures = cohorts.entry((point_id, closed_at.date_naive())).or_default();
                figures.handled += 1;
                figures.handling_seconds_sum += (closed_at - scanned_at).num_milliseconds().max(0) as f64 / 1000.0;
            }
            KpiFact::HardwareIncident { .. } | KpiFact::DepositHandled { .. } => {}
        }
    }
    for parcel in events.chunk_by(|a, b| a.parcel_id == b.parcel_id) {
        let mut deposited: Option<&KpiEvent> = None;
        let mut removed = false;
        for event in parcel {
            match event.kind {
                EventKind::DepositFailed if (from..to).contains(&event.at) => {
                    cohorts.entry((event.point_id, event.at.date_naive())).or_default().deposit_failed += 1;
                }
                EventKind::Deposited if deposited.is_none() && (from..to).contains(&event.at) => {
                    deposited = Some(event);
                    cohorts.entry((event.point_id, event.at.date_naive())).or_default().deposited += 1;
                }
                EventKind::Collected | EventKind::ReturnCollected | EventKind::IncidentReported
                    if !removed && deposited.is_some() =>
                {
                    let Some(deposit) = deposited else { continue };
                    let lost = event.kind == EventKind::IncidentReported && event.incident == Some(IncidentKind::Lost);
                    if event.kind == EventKind::IncidentReported && !lost {
                        continue; // A damaged or refused parcel stays in its compartment until removed.
                    }
                    removed = true;
                    let figures = cohorts.entry((deposit.point_id, deposit.at.date_naive())).or_default();
                    figures.removed += 1;
                    figures.occupancy_days_sum += (event.at - deposit.at).num_seconds() as f64 / 86_400.0;
                    if lost {
                        figures.lost += 1;
                    }
                    if event.kind == EventKind::ReturnCollected {
                        figures.returned += 1;
                    }
                    if event.kind == EventKind::Collected {
                        if deposit.pickup_deadline.is_none_or(|deadline| event.at <= deadline) {
                            figures.collected_in_window += 1;
                        }
                        if event.at - deposit.at <= Duration::days(7) {
                            figures.collected_within_7_days += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut total = KpiFigures::default();
    for figures in cohorts.values() {
        total.add(figures);
    }
    (cohorts, total)
}

/// Seconds each point held parcels, per UTC day, from `from` to `until`: a parcel is in its point
/// from its first deposit to its removal (collected, taken back as a return, reported lost), or still
/// at `until`. `events` are grouped by parcel in log order, and must include parcels deposited before
/// `from` that may still be there (a hold window plus its extensions).
pub fn occupied_seconds(events: &[KpiEvent], from: Timestamp, until: Timestamp) -> BTreeMap<(PointId, NaiveDate), f64> {
    let mut occupied: BTreeMap<(PointId, NaiveDate), f64> = BTreeMap::new();
    for parcel in events.chunk_by(|a, b| a.parcel_id == b.parcel_id) {
        let Some(deposit) = parcel.iter().find(|e| e.kind == EventKind::Deposited) else { continue };
        let removal = parcel
            .iter()
            .filter(|e| e.at >= deposit.at)
            .find(|e| match e.kind {
                EventKind::Collected | EventKind::ReturnCollected => true,
                EventKind::IncidentReported => e.incident == Some(IncidentKind::Lost),
                _ => false,
            })
            .map_or(until, |e| e.at);
        let (mut start, end) = (deposit.at.max(from), removal.min(until));
        while start < end {
            let day = start.date_naive();
            let next_day = (day + Duration::days(1)).and_time(chrono::NaiveTime::MIN).and_utc();
            let stop = end.min(next_day);
            *occupied.entry((deposit.point_id, day)).or_default() += (stop - start).num_milliseconds() as f64 / 1000.0;
            start = stop;
        }
    }
    occupied
}

/// What running the network costs, for the cost per parcel (integer cents): a fixed cost per point
/// and day by kind (rent, the locker's lease, power and connectivity, a partner shop's fee), and
/// variable costs per parcel deposited (handling, messages), per return taken back and per hardware
/// incident (a technician's visit). Configured in `[kpi.cost]`; all zero by default, so a network that
/// set nothing sees no cost rather than an invented one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CostModel {
    /// Per day, indexed like `PointKind::ALL` (locker, counter, hub, store, post office).
    pub point_day_cents: [u32; 5],
    pub deposit_cents: u32,
    pub return_cents: u32,
    pub incident_cents: u32,
}

impl CostModel {
    pub fn point_day_cents(&self, kind: PointKind) -> u64 {
        let at = PointKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        u64::from(self.point_day_cents[at])
    }

    /// The variable part of a cohort's cost.
    pub fn variable_cents(&self, figures: &KpiFigures) -> u64 {
        u64::from(figures.deposited) * u64::from(self.deposit_cents)
            + u64::from(figures.returned) * u64::from(self.return_cents)
            + u64::from(figures.hardware_incidents) * u64::from(self.incident_cents)
    }

    pub fn is_set(&self) -> bool {
        *self != CostModel::default()
    }
}

/// The targets drawn on the KPI charts. The defaults are the ones seed
/// `automated-pickup-point-in-30-days` quotes (85 % collected within 7 days, fewer than 1 % hardware
/// incidents, i.e. 10 per 1,000 deposits) and the occupancy alert's threshold; the others have none
/// until an operator sets them in `[kpi.targets]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KpiTargets {
    pub pickup_rate_7_days: Option<f64>,
    pub mean_occupancy_days: Option<f64>,
    pub occupancy: Option<f64>,
    pub deposit_error_rate: Option<f64>,
    pub hardware_incidents_per_1000_deposits: Option<f64>,
    pub nps: Option<f64>,
    pub cost_per_parcel_cents: Option<f64>,
}

impl Default for KpiTargets {
    fn default() -> Self {
        KpiTargets {
            pickup_rate_7_days: Some(0.85),
            mean_occupancy_days: None,
            occupancy: Some(0.85),
            deposit_error_rate: None,
            hardware_incidents_per_1000_deposits: Some(10.0),
            nps: None,
            cost_per_parcel_cents: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
    }

    fn event(parcel: u8, kind: EventKind, day: u32, hour: u32, deadline_day: u32) -> KpiEvent {
        KpiEvent {
            parcel_id: Id::from_parts(1, [parcel; 10]),
            point_id: Id::from_parts(2, [9; 10]),
            pickup_deadline: Some(at(deadline_day, 12)),
            kind,
            incident: None,
            at: at(day, hour),
        }
    }

    #[test]
    fn a_small_cohort_computed_by_hand() {
        use EventKind::*;
        let mut lost = event(4, IncidentReported, 3, 12, 4);
        lost.incident = Some(IncidentKind::Lost);
        let events = vec![
            // 1: collected the next day, in the window.
            event(1, Deposited, 1, 12, 4),
            event(1, Collected, 2, 12, 4),
            // 2: extended, collected on day 6 (deadline 6 noon): in the window.
            event(2, Deposited, 1, 12, 6),
            event(2, Extended, 3, 9, 6),
            event(2, Collected, 6, 10, 6),
            // 3: expired, taken back on day 5: removed, not collected.
            event(3, Deposited, 1, 12, 4),
            event(3, Expired, 4, 12, 4),
            event(3, ReturnCollected, 5, 12, 4),
            // 4: lost on day 3.
            event(4, Deposited, 1, 12, 4),
            lost,
            // 5: no room.
            event(5, DepositFailed, 1, 13, 4),
            // 6: deposited before the period: not counted.
            event(6, Deposited, 1, 0, 4),
        ];
        let point = Id::from_parts(2, [9; 10]);
        let facts = vec![
            KpiFact::HardwareIncident { point_id: point, at: at(1, 15) },
            // Outside the period: not counted.
            KpiFact::HardwareIncident { point_id: point, at: at(9, 15) },
            KpiFact::DepositHandled {
                point_id: point,
                scanned_at: at(1, 12) - Duration::seconds(40),
                closed_at: at(1, 12),
            },
            KpiFact::DepositHandled {
                point_id: point,
                scanned_at: at(1, 12) - Duration::seconds(20),
                closed_at: at(1, 12),
            },
        ];
        let (cohorts, total) = compute(&events, &facts, at(1, 1), at(8, 0));
        assert_eq!(cohorts.len(), 1);
        assert_eq!((total.deposited, total.deposit_failed, total.collected_in_window), (4, 1, 2));
        assert_eq!((total.collected_within_7_days, total.removed, total.lost), (2, 4, 1));
        assert_eq!(total.pickup_rate_window(), Some(0.5));
        // Days in the compartment: 1 + 4.9166... + 4 + 2 = 11.9166..., over 4 removed.
        let mean = total.mean_occupancy_days().unwrap();
        assert!((mean - (1.0 + 4.0 + 22.0 / 24.0 + 4.0 + 2.0) / 4.0).abs() < 1e-9, "{mean}");
        assert_eq!(total.deposit_error_rate(), Some(0.25));
        // One door fault for 4 deposits: 250 per 1000; two deposits handled in 40 s and 20 s.
        assert_eq!(total.hardware_incidents_per_1000_deposits(), Some(250.0));
        assert_eq!(total.mean_deposit_handling_seconds(), Some(30.0));
        assert_eq!(KpiFigures::default().pickup_rate_window(), None);
        assert_eq!(total.returned, 1);
    }

    #[test]
    fn occupancy_follows_each_parcel_from_deposit_to_removal_day_by_day() {
        use EventKind::*;
        let mut lost = event(4, IncidentReported, 3, 6, 9);
        lost.incident = Some(IncidentKind::Lost);
        let mut damaged = event(5, IncidentReported, 2, 0, 9);
        damaged.incident = Some(IncidentKind::Damaged);
        let events = vec![
            // 1: deposited before the period (day 1, 18:00), collected day 2 at 06:00: 6 h on day 2.
            event(1, Deposited, 1, 18, 9),
            event(1, Collected, 2, 6, 9),
            // 2: deposited day 2 at 12:00, still there at the end (day 3, 12:00): 12 h + 12 h.
            event(2, Deposited, 2, 12, 9),
            // 3: announced, never deposited: nothing.
            event(3, Announced, 2, 8, 9),
            // 4: deposited day 2 at 18:00, lost day 3 at 06:00: 6 h + 6 h.
            event(4, Deposited, 2, 18, 9),
            lost,
            // 5: damaged (still in its compartment) then taken back day 2 at 03:00: 3 h on day 2.
            event(5, Deposited, 1, 20, 9),
            damaged,
            event(5, ReturnCollected, 2, 3, 9),
        ];
        let point = Id::from_parts(2, [9; 10]);
        let occupied = occupied_seconds(&events, at(2, 0), at(3, 12));
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(occupied.get(&(point, day(2))), Some(&((6.0 + 12.0 + 6.0 + 3.0) * 3600.0)));
        assert_eq!(occupied.get(&(point, day(3))), Some(&((12.0 + 6.0) * 3600.0)));
        assert_eq!(occupied.len(), 2);
        let figures =
            KpiFigures { occupied_seconds: 43_200.0, capacity_seconds: 4.0 * 86_400.0, ..KpiFigures::default() };
        assert_eq!(figures.occupancy(), Some(0.125));
    }

    #[test]
    fn cost_per_parcel_is_fixed_and_variable_costs_over_deposits() {
        let model = CostModel {
            point_day_cents: [1_000, 300, 0, 0, 0],
            deposit_cents: 40,
            return_cents: 250,
            incident_cents: 5_000,
        };
        let figures = KpiFigures { deposited: 50, returned: 2, hardware_incidents: 1, ..KpiFigures::default() };
        // 50 x 0.40 + 2 x 2.50 + 1 x 50.00 = 75.00
        assert_eq!(model.variable_cents(&figures), 7_500);
        // Two lockers for a day: 20.00 more; 95.00 over 50 parcels is 1.90 a parcel.
        let day = KpiFigures {
            cost_cents: model.variable_cents(&figures) + 2 * model.point_day_cents(PointKind::Locker),
            ..figures
        };
        assert_eq!(day.cost_per_parcel_cents(), Some(190.0));
        assert_eq!(model.point_day_cents(PointKind::Counter), 300);
        assert_eq!(KpiFigures::default().cost_per_parcel_cents(), None);
        assert!(!CostModel::default().is_set());
    }
}

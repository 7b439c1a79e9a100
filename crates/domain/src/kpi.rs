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

    fn add(&mut self, other: &KpiFigures) {
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
    }
}

//! Occupancy of a locker or hub: occupied compartments over compartments (domain.md section 9), per size
//! class and overall, and the alert rule: raised when the rate goes above the threshold (85 % by
//! default), cleared only when it falls 5 points below it, so a locker hovering at the threshold does
//! not raise an alert at every deposit.

use crate::value::SizeClass;

/// How far below the threshold the rate must fall before a raised alert clears.
pub const ALERT_HYSTERESIS: f64 = 0.05;

/// Compartments of one point counted per size class (A, B, C, D) and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Occupancy {
    pub total: [u32; 4],
    pub occupied: [u32; 4],
    pub reserved: [u32; 4],
    pub available: [u32; 4],
}

impl Occupancy {
    /// Occupied compartments over all compartments; 0 for a point without compartments.
    pub fn rate(&self) -> f64 {
        ratio(self.occupied.iter().sum(), self.total.iter().sum())
    }

    pub fn class_rate(&self, class: SizeClass) -> f64 {
        ratio(self.occupied[class as usize], self.total[class as usize])
    }
}

fn ratio(part: u32, whole: u32) -> f64 {
    if whole == 0 { 0.0 } else { f64::from(part) / f64::from(whole) }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    Raise,
    Clear,
}

/// What to do with a point's occupancy alert, given its rate and whether the alert is raised.
pub fn alert_change(rate: f64, raised: bool, threshold: f64) -> Option<AlertChange> {
    if !raised && rate > threshold {
        Some(AlertChange::Raise)
    } else if raised && rate <= threshold - ALERT_HYSTERESIS + 1e-9 {
        // (The 1e-9 absorbs float rounding: 0.85 - 0.05 is 0.7999999999999999.)
        Some(AlertChange::Clear)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        let o = Occupancy { total: [20, 16, 10, 4], occupied: [20, 8, 0, 4], ..Occupancy::default() };
        assert_eq!(o.rate(), 32.0 / 50.0);
        assert_eq!(o.class_rate(SizeClass::A), 1.0);
        assert_eq!(o.class_rate(SizeClass::C), 0.0);
        assert_eq!(Occupancy::default().rate(), 0.0);
    }

    #[test]
    fn the_alert_rises_above_the_threshold_and_clears_below_the_hysteresis() {
        let table = [
            (0.85, false, None),
            (0.86, false, Some(AlertChange::Raise)),
            (0.86, true, None),
            (0.81, true, None),
            (0.80, true, Some(AlertChange::Clear)),
            (0.10, false, None),
            (1.00, true, None),
        ];
        for (rate, raised, expected) in table {
            assert_eq!(alert_change(rate, raised, 0.85), expected, "{rate} {raised}");
        }
    }
}

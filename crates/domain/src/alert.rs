//! Alerts an operator must see (issue 19): a point above its occupancy threshold, a door reporting a
//! fault, a locker controller gone silent, an import refused, a message that could not be sent, a
//! claim whose filing deadline is near. An alert is not stored: it is read from the state that raises
//! it (the occupancy alert, the door, the device, the import, the delivery, the claim) and named by a
//! key that changes when that state is raised again, so an acknowledgement (who, when, why) covers
//! one occurrence and a new one shows again.

use crate::Timestamp;
use crate::ids::{ClaimId, CompartmentId, PointId};
use crate::value::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    Occupancy,
    DoorFault,
    DeviceSilent,
    ImportRefused,
    MessageFailing,
    ClaimDeadline,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        AlertKind::Occupancy,
        AlertKind::DoorFault,
        AlertKind::DeviceSilent,
        AlertKind::ImportRefused,
        AlertKind::MessageFailing,
        AlertKind::ClaimDeadline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Occupancy => "occupancy",
            AlertKind::DoorFault => "door_fault",
            AlertKind::DeviceSilent => "device_silent",
            AlertKind::ImportRefused => "import_refused",
            AlertKind::MessageFailing => "message_failing",
            AlertKind::ClaimDeadline => "claim_deadline",
        }
    }
}

/// What an alert is about, for its link and its text.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertSubject {
    Point(PointId),
    Door { point_id: PointId, compartment_id: CompartmentId, label: String },
    Import { network_id: crate::ids::NetworkId, import_id: crate::ids::ImportId },
    Message { parcel_id: Option<crate::ids::ParcelId>, channel: String },
    Claim { claim_id: ClaimId, parcel_id: crate::ids::ParcelId },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Stable while the occurrence lasts: `kind:subject:since`.
    pub key: String,
    pub kind: AlertKind,
    pub subject: AlertSubject,
    /// When the occurrence began (raised, reported, fell silent, refused, died, or the deadline for a
    /// claim).
    pub since: Timestamp,
    /// The figure or reason to show (a rate, a fault, an error), never a secret or a contact.
    pub detail: String,
}

impl Alert {
    pub fn new(kind: AlertKind, subject: AlertSubject, subject_key: String, since: Timestamp, detail: String) -> Alert {
        let key = format!("{}:{subject_key}:{}", kind.as_str(), since.timestamp_micros());
        Alert { key, kind, subject, since, detail }
    }
}

/// Someone saw an alert and said what is being done.
#[derive(Debug, Clone, PartialEq)]
pub struct Acknowledgement {
    pub key: String,
    /// The console account's name.
    pub by: String,
    pub comment: String,
    pub at: Timestamp,
}

/// The longest comment an acknowledgement keeps.
pub const COMMENT_MAX: usize = 500;

/// A comment says what is being done: required, at most [`COMMENT_MAX`] characters.
pub fn comment(text: &str) -> Result<String, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseError::new("comment", "say what is being done about it"));
    }
    if text.chars().count() > COMMENT_MAX {
        return Err(ParseError::new("comment", format!("at most {COMMENT_MAX} characters")));
    }
    Ok(text.to_owned())
}

/// A key as alerts are named: `kind:subject:micros`, of printable ASCII, at most 200 bytes.
pub fn key(text: &str) -> Result<String, ParseError> {
    let known = AlertKind::ALL.iter().any(|k| text.starts_with(&format!("{}:", k.as_str())));
    if !known || text.len() > 200 || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ParseError::new("key", "not an alert's key"));
    }
    Ok(text.to_owned())
}

/// The open alerts (not acknowledged), the latest first, then the acknowledged ones with theirs.
pub fn split(mut alerts: Vec<Alert>, acks: &[Acknowledgement]) -> (Vec<Alert>, Vec<(Alert, Acknowledgement)>) {
    alerts.sort_by(|a, b| b.since.cmp(&a.since).then_with(|| a.key.cmp(&b.key)));
    let mut open = Vec::new();
    let mut seen = Vec::new();
    for alert in alerts {
        match acks.iter().find(|a| a.key == alert.key) {
            Some(ack) => seen.push((alert, ack.clone())),
            None => open.push(alert),
        }
    }
    (open, seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id;
    use chrono::TimeZone;

    fn at(hour: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 7, hour, 0, 0).unwrap()
    }

    #[test]
    fn an_acknowledgement_covers_one_occurrence() {
        let point: PointId = Id::from_parts(2, [1; 10]);
        let first =
            Alert::new(AlertKind::Occupancy, AlertSubject::Point(point), point.to_string(), at(8), "91 %".into());
        let again =
            Alert::new(AlertKind::Occupancy, AlertSubject::Point(point), point.to_string(), at(15), "88 %".into());
        assert_ne!(first.key, again.key, "raised again: a new key");
        assert!(first.key.starts_with("occupancy:"));
        let ack = Acknowledgement {
            key: first.key.clone(),
            by: "Léa".into(),
            comment: "rotation at 14:00".into(),
            at: at(9),
        };
        let (open, seen) = split(vec![first.clone()], std::slice::from_ref(&ack));
        assert!(open.is_empty());
        assert_eq!(seen, vec![(first.clone(), ack.clone())]);
        let (open, seen) = split(vec![first, again.clone()], &[ack]);
        assert_eq!(open, vec![again]);
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn comments_and_keys_are_checked() {
        assert!(comment("  ").is_err());
        assert!(comment(&"x".repeat(COMMENT_MAX + 1)).is_err());
        assert_eq!(comment(" technician called ").unwrap(), "technician called");
        assert!(key("occupancy:abc:123").is_ok());
        for bad in ["", "nope:abc:1", "occupancy:a b:1", &format!("occupancy:{}", "x".repeat(200))] {
            assert!(key(bad).is_err(), "{bad:?}");
        }
    }
}

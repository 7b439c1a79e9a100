//! Carriers' tracking answers read as relais tracking events (docs/tracking.md): each event's time in
//! its own offset, the carrier's code and text, a normalised status, and the place when the carrier
//! gives one. Pure: the bytes of an answer in, events or a typed error out; fetching the answers is
//! the binary's business.
//!
//! The normalised statuses are the vocabulary karrio uses, so merchants can compare: `pending`,
//! `picked_up`, `in_transit`, `out_for_delivery`, `ready_for_pickup`, `delivery_failed`, `on_hold`,
//! `delivery_delayed`, `return_to_sender`, `delivered`, `unknown`. Each carrier's mapping of its own
//! codes is in its module and in docs/tracking.md.
//!
//! An answer that is not what the carrier's API sends (an HTML error page, truncated JSON, another
//! shape) is [`TrackingError::BadAnswer`], never a panic and never a guessed status.

mod bpost;
mod chronopost;
mod dhl_express;
mod dhl_parcel_de;
mod dpd;
mod fedex;
mod gls;
mod hermes;
mod laposte;
mod postat;
pub mod schedule;
mod ups;
mod usps;
mod xml;

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde::Serialize;

/// A parcel's state in the normalised vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    Pending,
    PickedUp,
    InTransit,
    OutForDelivery,
    ReadyForPickup,
    DeliveryFailed,
    OnHold,
    DeliveryDelayed,
    ReturnToSender,
    Delivered,
    Unknown,
}

impl TrackingStatus {
    pub const ALL: [TrackingStatus; 11] = [
        TrackingStatus::Pending,
        TrackingStatus::PickedUp,
        TrackingStatus::InTransit,
        TrackingStatus::OutForDelivery,
        TrackingStatus::ReadyForPickup,
        TrackingStatus::DeliveryFailed,
        TrackingStatus::OnHold,
        TrackingStatus::DeliveryDelayed,
        TrackingStatus::ReturnToSender,
        TrackingStatus::Delivered,
        TrackingStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrackingStatus::Pending => "pending",
            TrackingStatus::PickedUp => "picked_up",
            TrackingStatus::InTransit => "in_transit",
            TrackingStatus::OutForDelivery => "out_for_delivery",
            TrackingStatus::ReadyForPickup => "ready_for_pickup",
            TrackingStatus::DeliveryFailed => "delivery_failed",
            TrackingStatus::OnHold => "on_hold",
            TrackingStatus::DeliveryDelayed => "delivery_delayed",
            TrackingStatus::ReturnToSender => "return_to_sender",
            TrackingStatus::Delivered => "delivered",
            TrackingStatus::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<TrackingStatus> {
        TrackingStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One event of a parcel's journey as its carrier reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackingEvent {
    /// When, in the event's local time with its offset, as the carrier gave it.
    pub at: DateTime<FixedOffset>,
    /// The carrier's own code.
    pub code: String,
    /// The carrier's own text.
    pub description: String,
    pub status: TrackingStatus,
    /// Where, when the carrier says (city, postcode, country).
    pub place: Option<String>,
}

/// The carriers whose answers relais reads, by their names in the API and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// La Poste's Suivi API v2 (`/suivi/v2/idships`), which answers for Colissimo too.
    LaPoste,
    Colissimo,
    /// GLS's Track and Trace API (`/tracking/references`).
    Gls,
    /// DHL Parcel Germany's Track and Trace XML (`piece-shipment-list`).
    DhlParcelDe,
    /// bpost's track and trace XML (`itemTracking`).
    Bpost,
    /// Chronopost's tracking web service (SOAP `trackSkybillV2`).
    Chronopost,
    /// DPD's parcel life cycle service (SOAP `getTrackingData`).
    Dpd,
    /// Austrian Post's shipment tracking (GraphQL `einzelsendung`).
    PostAt,
    /// UPS's Track API (JSON `trackResponse`).
    Ups,
    /// FedEx's Track API (JSON `output.completeTrackResults`).
    Fedex,
    /// DHL Express XML Services tracking (`req:TrackingResponse`).
    DhlExpress,
    /// USPS's Tracking API v3 (JSON `trackingEvents`).
    Usps,
    /// Hermes Germany's shipment tracking (JSON `shipmentinfo`).
    Hermes,
}

impl Carrier {
    pub const ALL: [Carrier; 13] = [
        Carrier::LaPoste,
        Carrier::Colissimo,
        Carrier::Gls,
        Carrier::DhlParcelDe,
        Carrier::Bpost,
        Carrier::Chronopost,
        Carrier::Dpd,
        Carrier::PostAt,
        Carrier::Ups,
        Carrier::Fedex,
        Carrier::DhlExpress,
        Carrier::Usps,
        Carrier::Hermes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Carrier::LaPoste => "laposte",
            Carrier::Colissimo => "colissimo",
            Carrier::Gls => "gls",
            Carrier::DhlParcelDe => "dhl_parcel_de",
            Carrier::Bpost => "bpost",
            Carrier::Chronopost => "chronopost",
            Carrier::Dpd => "dpd",
            Carrier::PostAt => "postat",
            Carrier::Ups => "ups",
            Carrier::Fedex => "fedex",
            Carrier::DhlExpress => "dhl_express",
            Carrier::Usps => "usps",
            Carrier::Hermes => "hermes",
        }
    }

    pub fn parse(text: &str) -> Option<Carrier> {
        Carrier::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Why an answer gave no events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingError {
    /// Not what the carrier's API sends: an HTML page, truncated or malformed JSON, another shape.
    #[error("not a {carrier} tracking answer: {reason}")]
    BadAnswer { carrier: &'static str, reason: String },
    /// The carrier does not know the number.
    #[error("{carrier} does not know this tracking number: {message}")]
    UnknownNumber { carrier: &'static str, message: String },
    /// The carrier refused the request (credentials, quota, a malformed number).
    #[error("{carrier} refused the request ({code}): {message}")]
    Refused { carrier: &'static str, code: String, message: String },
}

/// The events of an answer, oldest first.
pub fn parse(carrier: Carrier, answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let mut events = match carrier {
        Carrier::LaPoste | Carrier::Colissimo => laposte::events(carrier.as_str(), answer)?,
        Carrier::Gls => gls::events(answer)?,
        Carrier::DhlParcelDe => dhl_parcel_de::events(answer)?,
        Carrier::Bpost => bpost::events(answer)?,
        Carrier::Chronopost => chronopost::events(answer)?,
        Carrier::Dpd => dpd::events(answer)?,
        Carrier::PostAt => postat::events(answer)?,
        Carrier::Ups => ups::events(answer)?,
        Carrier::Fedex => fedex::events(answer)?,
        Carrier::DhlExpress => dhl_express::events(answer)?,
        Carrier::Usps => usps::events(answer)?,
        Carrier::Hermes => hermes::events(answer)?,
    };
    // Each adapter gives them oldest first; stable, so events of the same instant keep that order.
    events.sort_by_key(|e| e.at);
    Ok(events)
}

/// The time zone of a country that has one, by its ISO 3166 code: the carriers that give local times
/// without an offset (DPD, DHL Express) are placed by the country their location names.
pub(crate) fn zone(country: &str) -> Option<Tz> {
    use chrono_tz::Europe;
    Some(match country {
        "BE" => Europe::Brussels,
        "DE" => Europe::Berlin,
        "FR" => Europe::Paris,
        "NL" => Europe::Amsterdam,
        "LU" => Europe::Luxembourg,
        "AT" => Europe::Vienna,
        "CH" => Europe::Zurich,
        "IT" => Europe::Rome,
        "ES" => Europe::Madrid,
        "PT" => Europe::Lisbon,
        "GB" | "UK" => Europe::London,
        "IE" => Europe::Dublin,
        "PL" => Europe::Warsaw,
        "CZ" => Europe::Prague,
        "SK" => Europe::Bratislava,
        "HU" => Europe::Budapest,
        "SI" => Europe::Ljubljana,
        "HR" => Europe::Zagreb,
        "DK" => Europe::Copenhagen,
        "SE" => Europe::Stockholm,
        "NO" => Europe::Oslo,
        "FI" => Europe::Helsinki,
        "EE" => Europe::Tallinn,
        "LV" => Europe::Riga,
        "LT" => Europe::Vilnius,
        "RO" => Europe::Bucharest,
        "BG" => Europe::Sofia,
        "GR" => Europe::Athens,
        "TR" => Europe::Istanbul,
        "IS" => chrono_tz::Atlantic::Reykjavik,
        "SG" => chrono_tz::Asia::Singapore,
        "HK" => chrono_tz::Asia::Hong_Kong,
        "JP" => chrono_tz::Asia::Tokyo,
        "CN" => chrono_tz::Asia::Shanghai,
        "IN" => chrono_tz::Asia::Kolkata,
        "AE" => chrono_tz::Asia::Dubai,
        "IL" => chrono_tz::Asia::Jerusalem,
        "ZA" => chrono_tz::Africa::Johannesburg,
        "MA" => chrono_tz::Africa::Casablanca,
        "JM" => chrono_tz::America::Jamaica,
        _ => return None,
    })
}

/// `-05:00` or `+0100` as an offset.
pub(crate) fn offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The answer as JSON, or why it is not.
fn json(carrier: &'static str, answer: &[u8]) -> Result<serde_json::Value, TrackingError> {
    let start = answer.iter().find(|b| !b.is_ascii_whitespace());
    if start == Some(&b'<') {
        return Err(TrackingError::BadAnswer { carrier, reason: "an HTML or XML page, not JSON".into() });
    }
    serde_json::from_slice(answer).map_err(|e| TrackingError::BadAnswer { carrier, reason: format!("not JSON ({e})") })
}

/// A time with its offset as carriers write it: RFC 3339 (`+01:00`) or ISO 8601 basic offset (`+0200`).
fn time(carrier: &'static str, text: &str) -> Result<DateTime<FixedOffset>, TrackingError> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map_err(|_| TrackingError::BadAnswer { carrier, reason: format!("{text:?} is not a time with its offset") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_times_keep_their_offset() {
        for status in TrackingStatus::ALL {
            assert_eq!(TrackingStatus::parse(status.as_str()), Some(status));
        }
        for carrier in Carrier::ALL {
            assert_eq!(Carrier::parse(carrier.as_str()), Some(carrier));
        }
        assert_eq!(time("x", "2024-10-07T10:46:14+0200").unwrap().to_rfc3339(), "2024-10-07T10:46:14+02:00");
        assert_eq!(time("x", "2023-03-09T09:38:00+01:00").unwrap().to_rfc3339(), "2023-03-09T09:38:00+01:00");
        assert!(time("x", "2023-03-09 09:38").is_err());
        assert!(matches!(json("x", b"  <html><body>502</body></html>"), Err(TrackingError::BadAnswer { .. })));
        assert!(matches!(json("x", b"{\"parcels\": [{\"requested\""), Err(TrackingError::BadAnswer { .. })));
    }
}

//! What relais tells recipients, in French and English: the texts a notifier (SMS, e-mail, push) sends
//! as they are, carried in the outbox messages of the events that call for them.
//!
//! Times are the point's local wall-clock time, as the recipient reads them on the spot. A message
//! never carries the pickup code: relais keeps only its digest; the merchant's first notice has it.

use chrono::NaiveDateTime;
use relais_domain::Timestamp;
use relais_domain::parcel::Parcel;
use relais_domain::point::PickupPoint;

/// One message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientMessage {
    pub fr: String,
    pub en: String,
}

impl RecipientMessage {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"fr": self.fr, "en": self.en})
    }
}

/// `deadline` in the point's local time (UTC if its timezone is unknown).
pub fn local(point: &PickupPoint, at: Timestamp) -> NaiveDateTime {
    match relais_hours::parse_timezone(&point.timezone) {
        Ok(tz) => at.with_timezone(&tz).naive_local(),
        Err(_) => at.naive_utc(),
    }
}

fn where_fr(point: &PickupPoint) -> String {
    format!("{}, {}, {} {}", point.name, point.address.line1, point.address.postcode, point.address.city)
}

/// A local date and time as a French reader writes it.
pub fn when_fr(at: NaiveDateTime) -> String {
    at.format("%d/%m/%Y à %H:%M").to_string()
}

/// A local date and time as an English reader writes it.
pub fn when_en(at: NaiveDateTime) -> String {
    at.format("%-d %b %Y at %H:%M").to_string()
}

/// The parcel is waiting: where, until when, and the link to its page.
pub fn ready(parcel: &Parcel, point: &PickupPoint, deadline: Timestamp, link: &str) -> RecipientMessage {
    let (place, until) = (where_fr(point), local(point, deadline));
    RecipientMessage {
        fr: format!(
            "Votre colis {} vous attend à {place} jusqu'au {}. Présentez le code reçu du marchand ou le QR code. \
             Suivi et prolongation : {link}",
            parcel.number.as_str(),
            when_fr(until)
        ),
        en: format!(
            "Your parcel {} is waiting at {place} until {}. Show the code you received from the shop or the QR code. \
             Status and extension: {link}",
            parcel.number.as_str(),
            when_en(until)
        ),
    }
}

/// A reminder before the deadline.
pub fn reminder(parcel: &Parcel, point: &PickupPoint, deadline: Timestamp, link: &str) -> RecipientMessage {
    let (place, until) = (where_fr(point), local(point, deadline));
    RecipientMessage {
        fr: format!(
            "Rappel : votre colis {} vous attend à {place} jusqu'au {}. Passé ce délai, il sera renvoyé à \
             l'expéditeur. Besoin de plus de temps ? {link}",
            parcel.number.as_str(),
            when_fr(until)
        ),
        en: format!(
            "Reminder: your parcel {} is waiting at {place} until {}. After that it goes back to the sender. \
             Need more time? {link}",
            parcel.number.as_str(),
            when_en(until)
        ),
    }
}

/// The deadline was extended.
pub fn extended(parcel: &Parcel, point: &PickupPoint, deadline: Timestamp) -> RecipientMessage {
    let (place, until) = (where_fr(point), local(point, deadline));
    RecipientMessage {
        fr: format!(
            "C'est noté : votre colis {} vous attend à {place} jusqu'au {}.",
            parcel.number.as_str(),
            when_fr(until)
        ),
        en: format!("Done: your parcel {} now waits at {place} until {}.", parcel.number.as_str(), when_en(until)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn times_are_the_points_local_time_in_each_language() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap();
        let local = NaiveDateTime::new(at.date_naive(), at.time()) + chrono::Duration::hours(1);
        assert_eq!(when_fr(local), "30/11/2026 à 08:00");
        assert_eq!(when_en(local), "30 Nov 2026 at 08:00");
    }
}

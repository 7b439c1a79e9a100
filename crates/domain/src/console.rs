//! The operator console's accounts: who signs in, with which role, and the rules their passwords and
//! sessions follow. Passwords themselves are hashed by the app (Argon2id); nothing here sees one kept.

use crate::Timestamp;
use crate::ids::{ConsoleAccountId, MerchantId};
use crate::value::ParseError;

/// What an account may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleRole {
    /// Everything, accounts included.
    Admin,
    /// Runs the network: parcels, lockers, alerts.
    Operator,
    /// Sees what operators see, changes nothing.
    ReadOnly,
    /// A merchant's staff: its own parcels only.
    Merchant,
}

impl ConsoleRole {
    pub const ALL: [ConsoleRole; 4] =
        [ConsoleRole::Admin, ConsoleRole::Operator, ConsoleRole::ReadOnly, ConsoleRole::Merchant];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleRole::Admin => "admin",
            ConsoleRole::Operator => "operator",
            ConsoleRole::ReadOnly => "read_only",
            ConsoleRole::Merchant => "merchant",
        }
    }

    pub fn parse(text: &str) -> Option<ConsoleRole> {
        ConsoleRole::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether the role may change anything (act on a parcel, a door, an alert).
    pub fn acts(self) -> bool {
        !matches!(self, ConsoleRole::ReadOnly)
    }
}

/// A console account as stored: its password only as an Argon2id hash (PHC string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleAccount {
    pub id: ConsoleAccountId,
    /// Lower case; the sign-in name.
    pub email: String,
    pub name: String,
    pub role: ConsoleRole,
    /// A merchant account's merchant.
    pub merchant_id: Option<MerchantId>,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// The shortest password an account may have.
pub const PASSWORD_LENGTH_MIN: usize = 12;
/// The longest (hashing a megabyte is a denial of service, not a password).
pub const PASSWORD_LENGTH_MAX: usize = 128;
/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;

/// A new password, if it is long enough and not absurdly long.
pub fn check_password(password: &str) -> Result<(), ParseError> {
    let length = password.chars().count();
    if !(PASSWORD_LENGTH_MIN..=PASSWORD_LENGTH_MAX).contains(&length) {
        return Err(ParseError::new(
            "password",
            format!("{PASSWORD_LENGTH_MIN} to {PASSWORD_LENGTH_MAX} characters (a sentence is easier to remember)"),
        ));
    }
    Ok(())
}

/// An e-mail address as a sign-in name: trimmed, lower case, one `@` with text on both sides.
pub fn sign_in_name(email: &str) -> Result<String, ParseError> {
    let email = email.trim().to_lowercase();
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && domain.contains('.') && email.len() <= 254 && !domain.contains('@') =>
        {
            Ok(email)
        }
        _ => Err(ParseError::new("email", "an e-mail address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_names_are_checked() {
        assert!(check_password("short").is_err());
        assert!(check_password("correct horse battery").is_ok());
        assert!(check_password(&"x".repeat(129)).is_err());
        assert_eq!(sign_in_name("  Lea.Martin@Example.ORG ").unwrap(), "lea.martin@example.org");
        for bad in ["", "lea", "@example.org", "lea@", "lea@localhost", "a@b@c.org"] {
            assert!(sign_in_name(bad).is_err(), "{bad}");
        }
        assert_eq!(ConsoleRole::parse("read_only"), Some(ConsoleRole::ReadOnly));
        assert!(!ConsoleRole::ReadOnly.acts() && ConsoleRole::Operator.acts());
    }
}

/// How long a device's enrolment QR code can be used: long enough to walk to the locker or hand the
/// phone over, short enough that a photo of the screen is soon worthless.
pub const ENROLMENT_MINUTES: i64 = 15;

/// A one-time enrolment of a point's device (a locker's controller, a counter's phone): the console
/// shows its token as a QR code; the device trades it once for its API key. Kept by the keyed digest
/// of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub token_digest: [u8; 32],
    pub point_id: crate::ids::PointId,
    /// The device key's label, e.g. `controller` or `counter phone 2`.
    pub label: String,
    /// The console account that started it.
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

impl Enrolment {
    /// Not used yet, not expired.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod enrolment_tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn an_enrolment_serves_once_and_not_after_its_minutes() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let enrolment = Enrolment {
            token_digest: [1; 32],
            point_id: crate::ids::Id::from_parts(2, [3; 10]),
            label: "controller".into(),
            created_by: "Léa".into(),
            created_at: at,
            expires_at: at + Duration::minutes(ENROLMENT_MINUTES),
            used_at: None,
        };
        assert!(enrolment.usable(at + Duration::minutes(14)));
        assert!(!enrolment.usable(at + Duration::minutes(15)));
        let used = Enrolment { used_at: Some(at + Duration::minutes(1)), ..enrolment };
        assert!(!used.usable(at + Duration::minutes(2)));
    }
}

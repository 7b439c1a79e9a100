//! Signed webhooks, in the Standard Webhooks convention (standardwebhooks.com): each request carries
//! `webhook-id` (the delivery's id, the same at every retry, for the receiver to deduplicate),
//! `webhook-timestamp` (Unix seconds) and `webhook-signature`: `v1,` then the base64 of the
//! HMAC-SHA256 of `{id}.{timestamp}.{body}` under the endpoint's secret. While a secret is being
//! rotated, the request is signed with the old and the new one, space-separated, so that a receiver
//! checking either accepts it. Secrets are `whsec_` then the base64 of the key's bytes.
//!
//! `verify` is what a merchant's receiver does; relais uses it for its own tests and to let a
//! merchant's developer check a captured request from the console.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The prefix of an endpoint's secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a request's timestamp may be from the receiver's clock (replays and stale retries).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a signature does not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// Not `whsec_` and base64.
    BadSecret,
    /// Too far from now, either way.
    Stale,
    /// No signature in the header matches.
    Mismatch,
}

/// An endpoint's secret: the key's bytes, read from `whsec_...`.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    pub fn parse(text: &str) -> Result<WebhookSecret, SignatureError> {
        let encoded = text.trim().strip_prefix(SECRET_PREFIX).ok_or(SignatureError::BadSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| SignatureError::BadSecret)?;
        if key.len() < 16 {
            return Err(SignatureError::BadSecret);
        }
        Ok(WebhookSecret(key))
    }

    /// A secret from fresh random bytes (24 of them, as Svix draws).
    pub fn from_bytes(key: &[u8]) -> WebhookSecret {
        WebhookSecret(key.to_vec())
    }

    /// The secret as the merchant copies it.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC takes a key of any length.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// This secret's signature of a request: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body).finalize().into_bytes()))
    }
}

/// The `webhook-signature` header for a request: one signature per secret (two while rotating).
pub fn signature_header(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Checks a request as a receiver holding `secret` would, at `now` (Unix seconds).
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let matches = header.split_whitespace().filter_map(|s| s.strip_prefix("v1,")).any(|given| {
        let Ok(given) = STANDARD.decode(given) else { return false };
        // `verify_slice` compares in constant time.
        secret.mac(id, timestamp, body).verify_slice(&given).is_ok()
    });
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector published with the Standard Webhooks specification (and Svix's libraries).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specifications_vector_signs_and_verifies() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(verify(&secret, ID, TIMESTAMP, SIGNATURE, BODY, TIMESTAMP + 10), Ok(()));
        assert_eq!(secret.expose(), SECRET);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn a_changed_request_a_stale_one_or_a_wrong_secret_fails() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let other = WebhookSecret::from_bytes(&[7; 24]);
        let check = |header: &str, id: &str, body: &[u8], now: i64| verify(&secret, id, TIMESTAMP, header, body, now);
        assert_eq!(check(SIGNATURE, ID, br#"{"test": 2432232315}"#, TIMESTAMP), Err(SignatureError::Mismatch));
        assert_eq!(check(SIGNATURE, "msg_other", BODY, TIMESTAMP), Err(SignatureError::Mismatch));
        assert_eq!(check(&other.sign(ID, TIMESTAMP, BODY), ID, BODY, TIMESTAMP), Err(SignatureError::Mismatch));
        assert_eq!(check("v1,not base64!", ID, BODY, TIMESTAMP), Err(SignatureError::Mismatch));
        assert_eq!(
            check("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", ID, BODY, TIMESTAMP),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(check(SIGNATURE, ID, BODY, TIMESTAMP + TOLERANCE_SECONDS), Ok(()));
        assert_eq!(check(SIGNATURE, ID, BODY, TIMESTAMP + TOLERANCE_SECONDS + 1), Err(SignatureError::Stale));
        assert_eq!(check(SIGNATURE, ID, BODY, TIMESTAMP - TOLERANCE_SECONDS - 1), Err(SignatureError::Stale));
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_***", "whsec_c2hvcnQ="] {
            assert_eq!(WebhookSecret::parse(bad).unwrap_err(), SignatureError::BadSecret, "{bad}");
        }
    }

    #[test]
    fn while_rotating_both_secrets_sign_and_either_verifies() {
        let old = WebhookSecret::parse(SECRET).unwrap();
        let new = WebhookSecret::from_bytes(&[42; 24]);
        let header = signature_header(&[old.clone(), new.clone()], ID, TIMESTAMP, BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.starts_with(SIGNATURE));
        for receiver in [&old, &new] {
            assert_eq!(verify(receiver, ID, TIMESTAMP, &header, BODY, TIMESTAMP), Ok(()));
        }
        let stranger = WebhookSecret::from_bytes(&[1; 24]);
        assert_eq!(verify(&stranger, ID, TIMESTAMP, &header, BODY, TIMESTAMP), Err(SignatureError::Mismatch));
    }
}

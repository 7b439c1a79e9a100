//! Secrets: pickup codes, QR tokens and API keys are drawn from the random source, shown once, and
//! stored only as keyed digests (HMAC-SHA-256 under the instance's `secret_key`).
//!
//! A pickup code has only 8 digits, so a plain hash would fall to a brute force of 10^8 tries if the
//! database leaked; keyed with a secret that is not in the database, the digests are useless on their
//! own. API keys have 256 bits of entropy, so a fast digest is enough (no password hashing needed).
//!
//! The same instance key also yields the platform's Ed25519 signing key (QR tokens a locker verifies
//! offline, proofs of deposit) and the courier codes of the day: one secret to keep, nothing else to
//! store, and the public key survives restarts.

use hmac::{KeyInit, Mac};
use relais_domain::value::PickupCode;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::Role;
use crate::ports::RandomSource;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Digits of generated pickup codes.
pub const PICKUP_CODE_DIGITS: usize = 8;

#[derive(Clone)]
pub struct Secrets {
    key: [u8; 32],
    signing: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

impl Secrets {
    pub fn new(key: [u8; 32]) -> Self {
        let mut secrets = Secrets { key, signing: ed25519_dalek::SigningKey::from_bytes(&[0; 32]) };
        secrets.signing = ed25519_dalek::SigningKey::from_bytes(&secrets.digest(b"ed25519-signing-key", b""));
        secrets
    }

    /// The platform's signing key (QR tokens, proofs of deposit).
    pub fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.signing
    }

    /// The public half, published at `GET /v1/signing-key`.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.signing.verifying_key()
    }

    /// The courier code of a carrier at a locker on a local day: 8 digits, different for every carrier,
    /// locker and day, so a code seen over a shoulder opens nothing elsewhere or tomorrow.
    pub fn courier_code(
        &self,
        carrier_key_id: relais_domain::ids::ApiKeyId,
        point_id: relais_domain::ids::PointId,
        day: chrono::NaiveDate,
    ) -> String {
        let mut value = Vec::with_capacity(48);
        value.extend_from_slice(carrier_key_id.uuid().as_bytes());
        value.extend_from_slice(point_id.uuid().as_bytes());
        value.extend_from_slice(day.to_string().as_bytes());
        let digest = self.digest(b"courier-code", &value);
        let n = u64::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ]);
        format!("{:08}", n % 100_000_000)
    }

    fn digest(&self, domain: &[u8], value: &[u8]) -> [u8; 32] {
        // `new_from_slice` only fails for key lengths HMAC cannot take; 32 bytes is always fine.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(domain);
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    pub fn code_digest(&self, code: &PickupCode) -> [u8; 32] {
        self.digest(b"pickup-code", code.as_str().as_bytes())
    }

    pub fn qr_digest(&self, token: &str) -> [u8; 32] {
        self.digest(b"qr-token", token.as_bytes())
    }

    pub fn api_key_digest(&self, key: &str) -> [u8; 32] {
        self.digest(b"api-key", key.as_bytes())
    }
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// A fresh pickup code: uniform over 10^8 (rejection sampling keeps it unbiased).
pub fn new_pickup_code(random: &dyn RandomSource) -> PickupCode {
    let bound = 10u64.pow(PICKUP_CODE_DIGITS as u32);
    let zone = u64::MAX - u64::MAX % bound;
    loop {
        let n = random.next_u64();
        if n < zone {
            return PickupCode::from_number(n % bound, PICKUP_CODE_DIGITS);
        }
    }
}

/// A fresh QR token: 128 random bits, 32 lower-case hex characters.
pub fn new_qr_token(random: &dyn RandomSource) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    hex(&bytes)
}

/// A fresh API key, `rk_<role>_` then 256 random bits in hex. The prefix tells a leaked key's role at a
/// glance and lets secret scanners recognise it.
pub fn new_api_key(role: Role, random: &dyn RandomSource) -> String {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    format!("rk_{}_{}", role.as_str(), hex(&bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Parses a 64-hex-character secret key.
pub fn parse_hex_key(input: &str) -> Option<[u8; 32]> {
    let input = input.trim();
    if input.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, chunk) in input.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        key[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SeededRandom;

    #[test]
    fn digests_are_keyed_and_domain_separated() {
        let a = Secrets::new([1; 32]);
        let b = Secrets::new([2; 32]);
        let code = PickupCode::parse("12345678").unwrap();
        assert_ne!(a.code_digest(&code), b.code_digest(&code));
        assert_ne!(a.code_digest(&code), a.qr_digest("12345678"));
        assert!(digests_equal(&a.code_digest(&code), &a.code_digest(&code)));
    }

    #[test]
    fn generated_secrets_have_their_shape() {
        let random = SeededRandom::new(7);
        let code = new_pickup_code(&random);
        assert_eq!(code.as_str().len(), 8);
        assert_ne!(new_pickup_code(&random), code);
        assert_eq!(new_qr_token(&random).len(), 32);
        let key = new_api_key(Role::Merchant, &random);
        assert!(key.starts_with("rk_merchant_") && key.len() == 12 + 64, "{key}");
        assert_eq!(parse_hex_key(&hex(&[0xab; 32])), Some([0xab; 32]));
        assert_eq!(parse_hex_key("zz"), None);
    }
}

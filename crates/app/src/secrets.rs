//! Secrets: pickup codes and API keys are drawn from the random source, shown once, and stored only as
//! keyed digests (HMAC-SHA-256 under the instance's `secret_key`); so is the digest of each parcel's
//! signed QR token, so that only the token issued for it opens its door.
//!
//! A pickup code has only 8 digits, so a plain hash would fall to a brute force of 10^8 tries if the
//! database leaked; keyed with a secret that is not in the database, the digests are useless on their
//! own. API keys have 256 bits of entropy, so a fast digest is enough (no password hashing needed).
//!
//! A recipient's link (`RL2.` + the parcel id and a keyed digest of it) is minted and checked by relais
//! alone, so a keyed digest is all it needs: a quarter of the length of an Ed25519 signature, which
//! matters in a text message, and a few microseconds instead of a signature at every deposit.
//!
//! The recipient must still receive the code and QR token in their messages, days after the announce
//! (ready for pickup, reminders): they are kept sealed (ChaCha20-Poly1305 under a key derived from the
//! instance key, the parcel id as associated data), so that a database leak alone reveals no code, and
//! the seal is erased when the code dies (docs/adr/0014-the-pickup-code-reaches-the-recipient.md).
//!
//! The same instance key also yields the platform's Ed25519 signing key (QR tokens a locker verifies
//! offline, proofs of deposit) and the courier codes of the day: one secret to keep, nothing else to
//! store, and the public key survives restarts.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use relais_domain::ids::{EndpointId, Id, MerchantId, ParcelId};
use relais_domain::parcel::PickupSecretDigests;
use relais_domain::value::PickupCode;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::Role;
use crate::ports::RandomSource;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The prefix of recipient link tokens of the current form.
pub const LINK_PREFIX: &str = "RL2.";
/// Bytes of the keyed digest a link carries: 128 bits, beyond any guessing.
const LINK_TAG_BYTES: usize = 16;

/// The first byte of a pickup seal: the scheme it was sealed with.
const SEAL_VERSION: u8 = 1;

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

    /// A console session as it is kept: the keyed digest of its token.
    pub fn console_session_digest(&self, token: &str) -> [u8; 32] {
        self.digest(b"console-session", token.as_bytes())
    }

    /// A device enrolment's token as it is kept.
    pub fn enrolment_digest(&self, token: &str) -> [u8; 32] {
        self.digest(b"device-enrolment", token.as_bytes())
    }

    /// A console session's CSRF token: derived from its session token and the instance key, so a page
    /// carries it in its forms and nothing more is kept.
    pub fn console_csrf(&self, token: &str) -> String {
        hex(&self.digest(b"console-csrf", token.as_bytes()))
    }

    /// A recipient's phone number or e-mail address as an opt-out is kept: keyed, so that the table of
    /// opt-outs gives no list of contacts (case folded: an address is one whatever its capitals).
    pub fn contact_digest(&self, contact: &str) -> String {
        hex(&self.digest(b"contact", contact.trim().to_lowercase().as_bytes()))
    }

    /// The digests of a recipient's phone number and e-mail address (those given), by which the
    /// console finds their parcels.
    pub fn recipient_digests(&self, recipient: &relais_domain::parcel::Recipient) -> Vec<String> {
        let contacts = [recipient.phone.as_ref().map(|p| p.as_str()), recipient.email.as_ref().map(|e| e.as_str())];
        contacts.into_iter().flatten().map(|c| self.contact_digest(c)).collect()
    }

    /// The token of a recipient's link to their parcel page: `RL2.` then the URL-safe base64 of the
    /// parcel id and the first 128 bits of its keyed digest (43 characters after the prefix).
    pub fn recipient_link_token(&self, parcel_id: ParcelId) -> String {
        let mut bytes = parcel_id.uuid().as_bytes().to_vec();
        bytes.extend_from_slice(&self.link_tag(parcel_id));
        format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The parcel a recipient link names, if the link was issued by this instance. Links of the first
    /// form (`RL1.`, Ed25519-signed) are still in recipients' messages and keep working.
    pub fn parcel_of_link_token(&self, token: &str) -> Option<ParcelId> {
        let token = token.trim();
        let Some(encoded) = token.strip_prefix(LINK_PREFIX) else {
            return crate::signed::verify_link(&self.verifying_key(), token).ok();
        };
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        let (id, tag) = bytes.split_at_checked(16)?;
        let parcel_id = Id::from_uuid(uuid::Uuid::from_slice(id).ok()?);
        // Constant time: a forger learns nothing from how fast a wrong tag is refused.
        bool::from(tag.ct_eq(&self.link_tag(parcel_id))).then_some(parcel_id)
    }

    /// The parcel's pickup code and QR token, sealed for the messages that carry them to the recipient:
    /// `SEAL_VERSION`, a random 96-bit nonce, then the ciphertext and its tag. Bound to the parcel: a
    /// seal copied onto another parcel's row does not open.
    pub fn seal_pickup(
        &self,
        parcel_id: ParcelId,
        code: &PickupCode,
        qr_token: &str,
        random: &dyn RandomSource,
    ) -> Vec<u8> {
        let plain = format!("{}\n{qr_token}", code.as_str());
        self.seal(&parcel_aad(parcel_id), plain.as_bytes(), random)
    }

    /// What a parcel keeps of a new code and QR token: their digests (to check them) and their seal (to
    /// send them to the recipient).
    pub fn keep_pickup(
        &self,
        parcel_id: ParcelId,
        code: &PickupCode,
        qr_token: &str,
        random: &dyn RandomSource,
    ) -> (PickupSecretDigests, Vec<u8>) {
        let digests = PickupSecretDigests { code: self.code_digest(code), qr: self.qr_digest(qr_token) };
        (digests, self.seal_pickup(parcel_id, code, qr_token, random))
    }

    /// The code and QR token of `seal_pickup`, if `sealed` was sealed by this instance for this parcel.
    pub fn open_pickup(&self, parcel_id: ParcelId, sealed: &[u8]) -> Option<(PickupCode, String)> {
        let plain = self.open(&parcel_aad(parcel_id), sealed)?;
        let (code, qr_token) = std::str::from_utf8(&plain).ok()?.split_once('\n')?;
        Some((PickupCode::parse(code).ok()?, qr_token.to_owned()))
    }

    /// A webhook endpoint's signing secret, sealed as the pickup codes are (bound to its endpoint).
    pub fn seal_endpoint_secret(&self, endpoint_id: EndpointId, secret: &str, random: &dyn RandomSource) -> Vec<u8> {
        self.seal(&endpoint_aad(endpoint_id), secret.as_bytes(), random)
    }

    /// The secret of `seal_endpoint_secret`, if sealed by this instance for this endpoint.
    pub fn open_endpoint_secret(&self, endpoint_id: EndpointId, sealed: &[u8]) -> Option<String> {
        String::from_utf8(self.open(&endpoint_aad(endpoint_id), sealed)?).ok()
    }

    /// A shop's webhook secret, sealed as the pickup codes are (bound to its merchant and platform).
    pub fn seal_connector_secret(
        &self,
        merchant_id: MerchantId,
        platform: &str,
        secret: &str,
        random: &dyn RandomSource,
    ) -> Vec<u8> {
        self.seal(&connector_aad(merchant_id, platform), secret.as_bytes(), random)
    }

    /// The secret of `seal_connector_secret`, if sealed by this instance for this merchant and platform.
    pub fn open_connector_secret(&self, merchant_id: MerchantId, platform: &str, sealed: &[u8]) -> Option<String> {
        String::from_utf8(self.open(&connector_aad(merchant_id, platform), sealed)?).ok()
    }

    /// `plain` sealed under the seal key, bound to `aad`: `SEAL_VERSION`, a random 96-bit nonce, then the
    /// ciphertext and its tag.
    fn seal(&self, aad: &[u8], plain: &[u8], random: &dyn RandomSource) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let mut in_out = plain.to_vec();
        self.seal_key()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut in_out)
            // Only fails past ~256 GiB of plaintext.
            .unwrap_or_else(|_| unreachable!());
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        sealed.push(SEAL_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        sealed
    }

    /// What `seal` sealed with this `aad`, if it did.
    fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != SEAL_VERSION {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plain = self.seal_key().open_in_place(nonce, Aad::from(aad), &mut in_out).ok()?;
        Some(plain.to_vec())
    }

    fn seal_key(&self) -> LessSafeKey {
        let key = self.digest(b"pickup-seal", b"chacha20-poly1305 v1");
        // A 32-byte key is what ChaCha20-Poly1305 takes.
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).unwrap_or_else(|_| unreachable!()))
    }

    fn link_tag(&self, parcel_id: ParcelId) -> [u8; LINK_TAG_BYTES] {
        let digest = self.digest(b"recipient-link", parcel_id.uuid().as_bytes());
        let mut tag = [0; LINK_TAG_BYTES];
        tag.copy_from_slice(&digest[..LINK_TAG_BYTES]);
        tag
    }
}

/// The associated data of an endpoint's secret: a label (so it can never pass for a parcel's seal) and
/// its id.
fn endpoint_aad(endpoint_id: EndpointId) -> [u8; 24] {
    let mut aad = [0u8; 24];
    aad[..8].copy_from_slice(b"endpoint");
    aad[8..].copy_from_slice(endpoint_id.uuid().as_bytes());
    aad
}

/// The associated data of a connector's secret: a label, its merchant and its platform.
fn connector_aad(merchant_id: MerchantId, platform: &str) -> Vec<u8> {
    let mut aad = b"connector".to_vec();
    aad.extend_from_slice(merchant_id.uuid().as_bytes());
    aad.extend_from_slice(platform.as_bytes());
    aad
}

/// The associated data of a parcel's seal: its id.
fn parcel_aad(parcel_id: ParcelId) -> [u8; 16] {
    *parcel_id.uuid().as_bytes()
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
    fn a_pickup_seal_opens_for_its_parcel_only_and_never_twice_the_same() {
        use relais_domain::ids::Id;
        let secrets = Secrets::new([1; 32]);
        let random = crate::ports::OsRandom;
        let code = PickupCode::parse("04831276").unwrap();
        let (parcel, other) = (Id::from_parts(1, [1; 10]), Id::from_parts(1, [2; 10]));
        let sealed = secrets.seal_pickup(parcel, &code, "QR1.token", &random);
        assert_eq!(secrets.open_pickup(parcel, &sealed), Some((code.clone(), "QR1.token".to_owned())));
        // Nothing of the code in clear, and a fresh nonce each time.
        assert!(!sealed.windows(8).any(|w| w == b"04831276"));
        assert_ne!(sealed, secrets.seal_pickup(parcel, &code, "QR1.token", &random));
        // Another parcel, another instance, a flipped bit, a cut seal, another version: nothing opens.
        assert_eq!(secrets.open_pickup(other, &sealed), None);
        assert_eq!(Secrets::new([2; 32]).open_pickup(parcel, &sealed), None);
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(secrets.open_pickup(parcel, &tampered), None, "byte {i}");
        }
        for len in 0..sealed.len() {
            assert_eq!(secrets.open_pickup(parcel, &sealed[..len]), None, "{len} bytes");
        }
    }

    #[test]
    fn digests_are_keyed_and_domain_separated() {
        let a = Secrets::new([1; 32]);
        let b = Secrets::new([2; 32]);
        let code = PickupCode::parse("12345678").unwrap();
        assert_ne!(a.code_digest(&code), b.code_digest(&code));
        assert_ne!(a.code_digest(&code), a.qr_digest("12345678"));
        assert!(digests_equal(&a.code_digest(&code), &a.code_digest(&code)));
        // A contact's digest: keyed, one whatever the case, never the contact.
        let contact = a.contact_digest("Ana@Example.org");
        assert_eq!(contact, a.contact_digest(" ana@example.org"));
        assert_ne!(contact, b.contact_digest("ana@example.org"));
        assert_ne!(contact, a.contact_digest("bob@example.org"));
        assert!(!contact.contains("example") && contact.len() == 64);
    }

    #[test]
    fn generated_secrets_have_their_shape() {
        let random = SeededRandom::new(7);
        let code = new_pickup_code(&random);
        assert_eq!(code.as_str().len(), 8);
        assert_ne!(new_pickup_code(&random), code);
        let key = new_api_key(Role::Merchant, &random);
        assert!(key.starts_with("rk_merchant_") && key.len() == 12 + 64, "{key}");
        assert_eq!(parse_hex_key(&hex(&[0xab; 32])), Some([0xab; 32]));
        assert_eq!(parse_hex_key("zz"), None);
    }

    #[test]
    fn a_recipient_link_names_its_parcel_and_only_its_instance_reads_it() {
        let a = Secrets::new([1; 32]);
        let parcel = Id::from_parts(1_800_000_000_000, [7; 10]);
        let token = a.recipient_link_token(parcel);
        // Short enough for a text message: the prefix and 43 characters.
        assert!(token.starts_with(LINK_PREFIX) && token.len() == 47, "{token}");
        assert_eq!(a.parcel_of_link_token(&token), Some(parcel));
        assert_eq!(a.parcel_of_link_token(&format!(" {token}\n")), Some(parcel), "pasted with spaces");
        assert_eq!(Secrets::new([2; 32]).parcel_of_link_token(&token), None, "another instance's key");

        // Another parcel's id with this parcel's tag, a cut tag, junk.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token[LINK_PREFIX.len()..]).unwrap();
        bytes[15] ^= 1;
        let other = format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(a.parcel_of_link_token(&other), None);
        for bad in [&token[..token.len() - 2], "RL2.", "RL2.!!!", "", "RL3.AAAA"] {
            assert_eq!(a.parcel_of_link_token(bad), None, "{bad}");
        }

        // Links of the first form, already in recipients' messages, still open their page.
        let first_form = crate::signed::issue_link(a.signing_key(), parcel);
        assert_eq!(a.parcel_of_link_token(&first_form), Some(parcel));
        assert_eq!(Secrets::new([2; 32]).parcel_of_link_token(&first_form), None);
    }
}

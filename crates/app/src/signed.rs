//! What relais signs with its Ed25519 key, and how anyone checks it without asking relais: QR tokens a
//! locker verifies offline, and documents such as the proof of deposit (`relais receipt verify`).
//!
//! A QR token is `RQ1.` followed by the URL-safe base64 of the parcel id, the point id, for a token
//! re-issued after a lost code a 4-byte nonce, and the signature over them (96 or 100 bytes). It names
//! its parcel, so no lookup table is needed; it cannot be forged without the private key; it is
//! accepted once, because a collection moves the parcel out of `ready_for_pickup` (a replayed token
//! finds it `collected`); and online, only the parcel's latest token is (its digest is stored).
//!
//! A signed document is `{"document": {...}, "signature": {"algorithm", "key_id", "value"}}`, the
//! signature covering the document in canonical JSON (keys sorted, no spaces), so a verifier
//! re-serialises what it parsed and needs no byte-exact copy.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use relais_domain::ids::{Id, ParcelId, PointId};
use serde_json::Value;

/// The prefix of QR tokens of this format.
pub const QR_PREFIX: &str = "RQ1.";
const QR_BYTES: usize = 16 + 16 + 64;
/// A re-issued token: a nonce makes it differ from the one it replaces.
const QR_REISSUED_BYTES: usize = QR_BYTES + 4;
/// Longest token a client may send (a little over the real length, to give a clear error beyond).
pub const QR_TOKEN_LENGTH_MAX: usize = 160;

/// What a valid QR token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrClaims {
    pub parcel_id: ParcelId,
    pub point_id: PointId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("not a token or document of the expected form")]
    Malformed,
    #[error("the signature does not match (forged, altered, or signed by another key)")]
    BadSignature,
}

/// A QR token for a parcel waiting at a point.
pub fn issue_qr(key: &SigningKey, parcel_id: ParcelId, point_id: PointId) -> String {
    sign_qr(key, parcel_id, point_id, None)
}

/// A token replacing a lost one: the nonce makes it another token for the same parcel and point.
pub fn reissue_qr(key: &SigningKey, parcel_id: ParcelId, point_id: PointId, nonce: [u8; 4]) -> String {
    sign_qr(key, parcel_id, point_id, Some(nonce))
}

fn sign_qr(key: &SigningKey, parcel_id: ParcelId, point_id: PointId, nonce: Option<[u8; 4]>) -> String {
    let mut bytes = Vec::with_capacity(QR_REISSUED_BYTES);
    bytes.extend_from_slice(parcel_id.uuid().as_bytes());
    bytes.extend_from_slice(point_id.uuid().as_bytes());
    bytes.extend_from_slice(nonce.as_ref().map_or(&[][..], |n| &n[..]));
    let signature = key.sign(&bytes);
    bytes.extend_from_slice(&signature.to_bytes());
    format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Checks a QR token's signature; what the token names (parcel, point) is then to be checked by the
/// caller against what it knows.
pub fn verify_qr(key: &VerifyingKey, token: &str) -> Result<QrClaims, SignatureError> {
    let encoded = token.trim().strip_prefix(QR_PREFIX).ok_or(SignatureError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SignatureError::Malformed)?;
    if bytes.len() != QR_BYTES && bytes.len() != QR_REISSUED_BYTES {
        return Err(SignatureError::Malformed);
    }
    let (signed, signature) = bytes.split_at(bytes.len() - 64);
    let signature = Signature::from_slice(signature).map_err(|_| SignatureError::Malformed)?;
    key.verify(signed, &signature).map_err(|_| SignatureError::BadSignature)?;
    let id = |range: std::ops::Range<usize>| -> Result<[u8; 16], SignatureError> {
        signed[range].try_into().map_err(|_| SignatureError::Malformed)
    };
    Ok(QrClaims {
        parcel_id: Id::from_uuid(uuid::Uuid::from_bytes(id(0..16)?)),
        point_id: Id::from_uuid(uuid::Uuid::from_bytes(id(16..32)?)),
    })
}

/// The prefix of recipient links of the first form, signed with Ed25519. Links are now keyed digests
/// (`Secrets::recipient_link_token`, ADR 9); these are still checked, as recipients hold them in
/// messages already sent.
pub const LINK_PREFIX: &str = "RL1.";
/// What a link signature covers besides the parcel id: a link's signature can never pass for a QR
/// token's (whose signed bytes are two ids) or the reverse.
const LINK_CONTEXT: &[u8] = b"relais recipient link v1";

/// A recipient link token of the first form (no longer issued; kept to test `verify_link`).
#[cfg(test)]
pub fn issue_link(key: &SigningKey, parcel_id: ParcelId) -> String {
    let signature = key.sign(&link_message(parcel_id));
    let mut bytes = parcel_id.uuid().as_bytes().to_vec();
    bytes.extend_from_slice(&signature.to_bytes());
    format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The parcel a recipient link of the first form names, if its signature is good.
pub fn verify_link(key: &VerifyingKey, token: &str) -> Result<ParcelId, SignatureError> {
    let encoded = token.trim().strip_prefix(LINK_PREFIX).ok_or(SignatureError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SignatureError::Malformed)?;
    if bytes.len() != 16 + 64 {
        return Err(SignatureError::Malformed);
    }
    let id: [u8; 16] = bytes[..16].try_into().map_err(|_| SignatureError::Malformed)?;
    let parcel_id = Id::from_uuid(uuid::Uuid::from_bytes(id));
    let signature = Signature::from_slice(&bytes[16..]).map_err(|_| SignatureError::Malformed)?;
    key.verify(&link_message(parcel_id), &signature).map_err(|_| SignatureError::BadSignature)?;
    Ok(parcel_id)
}

fn link_message(parcel_id: ParcelId) -> Vec<u8> {
    let mut message = LINK_CONTEXT.to_vec();
    message.extend_from_slice(parcel_id.uuid().as_bytes());
    message
}

/// A short, stable name for a public key: the first 16 hex digits of its SHA-256.
/// The name of a public key in signatures: its first 16 hex digits, so a person holding the published
/// key sees at a glance which key signed.
pub fn key_id(key: &VerifyingKey) -> String {
    crate::secrets::hex(&key.as_bytes()[..8])
}

/// The public key as 64 hex digits, as published.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    crate::secrets::hex(key.as_bytes())
}

pub fn parse_public_key(input: &str) -> Option<VerifyingKey> {
    let bytes = crate::secrets::parse_hex_key(input)?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// JSON with object keys sorted and no insignificant spaces: the bytes a document signature covers.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Wraps a document with its signature.
pub fn sign_document(key: &SigningKey, document: Value) -> Value {
    let signature = key.sign(canonical_json(&document).as_bytes());
    serde_json::json!({
        "document": document,
        "signature": {
            "algorithm": "Ed25519",
            "key_id": key_id(&key.verifying_key()),
            "value": STANDARD.encode(signature.to_bytes()),
        },
    })
}

/// Checks a signed document against a public key and returns the document.
pub fn verify_document<'a>(key: &VerifyingKey, signed: &'a Value) -> Result<&'a Value, SignatureError> {
    let document = signed.get("document").ok_or(SignatureError::Malformed)?;
    let signature = signed.pointer("/signature/value").and_then(Value::as_str).ok_or(SignatureError::Malformed)?;
    if signed.pointer("/signature/algorithm").and_then(Value::as_str) != Some("Ed25519") {
        return Err(SignatureError::Malformed);
    }
    let bytes = STANDARD.decode(signature).map_err(|_| SignatureError::Malformed)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| SignatureError::Malformed)?;
    key.verify(canonical_json(document).as_bytes(), &signature).map_err(|_| SignatureError::BadSignature)?;
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn id<T>(n: u8) -> Id<T> {
        Id::from_parts(1, [n; 10])
    }

    #[test]
    fn a_qr_token_verifies_with_its_key_only() {
        let token = issue_qr(&key(1), id(2), id(3));
        assert!(token.starts_with(QR_PREFIX) && token.len() <= QR_TOKEN_LENGTH_MAX, "{token}");
        assert_eq!(verify_qr(&key(1).verifying_key(), &token), Ok(QrClaims { parcel_id: id(2), point_id: id(3) }));
        assert_eq!(verify_qr(&key(9).verifying_key(), &token), Err(SignatureError::BadSignature));

        // Forgeries: another parcel id under the same signature, a flipped signature bit, junk.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token[QR_PREFIX.len()..]).unwrap();
        bytes[0] ^= 1;
        let other_parcel = format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(verify_qr(&key(1).verifying_key(), &other_parcel), Err(SignatureError::BadSignature));
        bytes[0] ^= 1;
        bytes[95] ^= 0x10;
        let bad_signature = format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(verify_qr(&key(1).verifying_key(), &bad_signature), Err(SignatureError::BadSignature));
        for junk in ["", "RQ1.", "RQ1.!!!", "0123456789abcdef0123456789abcdef", "RQ1.AAAA"] {
            assert_eq!(verify_qr(&key(1).verifying_key(), junk), Err(SignatureError::Malformed), "{junk}");
        }

        // A re-issued token names the same parcel and point, and is another token.
        let reissued = reissue_qr(&key(1), id(2), id(3), [1, 2, 3, 4]);
        assert!(reissued != token && reissued.len() <= QR_TOKEN_LENGTH_MAX, "{reissued}");
        assert_eq!(verify_qr(&key(1).verifying_key(), &reissued), Ok(QrClaims { parcel_id: id(2), point_id: id(3) }));
        assert_ne!(reissued, reissue_qr(&key(1), id(2), id(3), [1, 2, 3, 5]));
        let mut bytes = URL_SAFE_NO_PAD.decode(&reissued[QR_PREFIX.len()..]).unwrap();
        bytes[33] ^= 1;
        let other_nonce = format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(verify_qr(&key(1).verifying_key(), &other_nonce), Err(SignatureError::BadSignature));
    }

    #[test]
    fn a_recipient_link_names_its_parcel_and_cannot_be_forged_or_confused_with_a_qr_token() {
        let link = issue_link(&key(1), id(2));
        assert!(link.starts_with(LINK_PREFIX) && link.len() < 120, "{link}");
        assert_eq!(verify_link(&key(1).verifying_key(), &link), Ok(id(2)));
        assert_eq!(verify_link(&key(9).verifying_key(), &link), Err(SignatureError::BadSignature));
        let mut bytes = URL_SAFE_NO_PAD.decode(&link[LINK_PREFIX.len()..]).unwrap();
        bytes[3] ^= 1;
        let other = format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(verify_link(&key(1).verifying_key(), &other), Err(SignatureError::BadSignature));
        // A QR token's signature does not make a link, even with the prefix changed.
        let qr = issue_qr(&key(1), id(2), id(3));
        let renamed = qr.replacen(QR_PREFIX, LINK_PREFIX, 1);
        assert!(verify_link(&key(1).verifying_key(), &renamed).is_err());
    }

    #[test]
    fn a_document_verifies_after_a_round_trip_and_not_once_altered() {
        let document = serde_json::json!({"b": [1, {"z": "é", "a": null}], "a": "x y"});
        assert_eq!(canonical_json(&document), r#"{"a":"x y","b":[1,{"a":null,"z":"é"}]}"#);
        let signed = sign_document(&key(1), document.clone());
        // Pretty-printed and parsed again (as a file on disk would be), it still verifies.
        let reread: Value = serde_json::from_str(&serde_json::to_string_pretty(&signed).unwrap()).unwrap();
        assert_eq!(verify_document(&key(1).verifying_key(), &reread), Ok(&document));
        assert_eq!(verify_document(&key(2).verifying_key(), &reread), Err(SignatureError::BadSignature));
        let mut altered = reread.clone();
        altered["document"]["a"] = Value::String("x z".into());
        assert_eq!(verify_document(&key(1).verifying_key(), &altered), Err(SignatureError::BadSignature));
        assert_eq!(verify_document(&key(1).verifying_key(), &serde_json::json!({})), Err(SignatureError::Malformed));
        assert_eq!(public_key_hex(&key(1).verifying_key()).len(), 64);
        assert_eq!(parse_public_key(&public_key_hex(&key(1).verifying_key())), Some(key(1).verifying_key()));
        assert_eq!(key_id(&key(1).verifying_key()).len(), 16);
        assert!(public_key_hex(&key(1).verifying_key()).starts_with(&key_id(&key(1).verifying_key())));
    }
}

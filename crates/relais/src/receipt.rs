//! `relais receipt verify`: checks a proof of deposit offline, with the platform's published public key
//! (`GET /v1/signing-key`), and says what it proves.

use relais_app::signed;
use serde_json::Value;

/// Verifies the signed receipt in `text` against `public_key` (64 hex digits); on success, a summary
/// of what it proves, one line per parcel.
pub fn verify(text: &str, public_key: &str) -> Result<Vec<String>, String> {
    let key = signed::parse_public_key(public_key)
        .ok_or("--public-key must be the 64 hex digits of an Ed25519 public key (GET /v1/signing-key)")?;
    let signed_document: Value = serde_json::from_str(text).map_err(|e| format!("the receipt is not JSON: {e}"))?;
    let document = signed::verify_document(&key, &signed_document).map_err(|e| format!("NOT VALID: {e}"))?;
    let (what, done_key, other_key, done_word, other_word) = match document["type"].as_str() {
        Some("relais.proof_of_deposit") => {
            ("proof of deposit", "deposited", "not_deposited", "deposited", "not deposited")
        }
        Some("relais.proof_of_return_collection") => {
            ("proof of return collection", "taken_back", "not_taken_back", "taken back", "not taken back")
        }
        _ => return Err("NOT VALID: the signature is good but this is not a receipt of relais".into()),
    };
    let text_of = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let list = |name: &str| document[name].as_array().cloned().unwrap_or_default();
    let (deposited, others) = (list(done_key), list(other_key));
    let mut lines = vec![
        format!("valid: {what} signed by key {}", text_of(&signed_document["signature"]["key_id"])),
        format!(
            "session {} at {} ({}), {}",
            text_of(&document["session_id"]),
            text_of(&document["point"]["name"]),
            text_of(&document["point"]["external_id"]),
            text_of(&document["point"]["address"])
        ),
        format!(
            "opened {}, closed {}; {} {done_word}, {} {other_word}",
            text_of(&document["opened_at"]),
            text_of(&document["closed_at"]),
            deposited.len(),
            others.len()
        ),
    ];
    for item in &deposited {
        lines.push(format!(
            "{done_word}  {}  door {}  {}",
            text_of(&item["parcel_number"]),
            text_of(&item["door"]),
            text_of(&item["at"])
        ));
    }
    for item in &others {
        lines.push(format!(
            "{other_word}  {}  {}  {}",
            text_of(&item["parcel_number"]),
            text_of(&item["state"]),
            text_of(&item["reason"])
        ));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    #[test]
    fn a_receipt_verifies_and_a_tampered_one_does_not() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let public = signed::public_key_hex(&key.verifying_key());
        let document = json!({
            "type": "relais.proof_of_deposit", "version": 1, "session_id": "s1",
            "point": {"name": "Consigne Gare", "external_id": "L1", "address": "1 place, 69002 Lyon, FR"},
            "opened_at": "2026-11-27T07:00:00Z", "closed_at": "2026-11-27T07:09:00Z",
            "deposited": [{"parcel_number": "EW112720413FR", "door": "A01", "at": "2026-11-27T07:03:00Z"}],
            "not_deposited": [],
        });
        let text = serde_json::to_string_pretty(&signed::sign_document(&key, document)).unwrap();
        let lines = verify(&text, &public).unwrap();
        assert!(lines[0].starts_with("valid: proof of deposit"), "{lines:?}");
        assert_eq!(lines[3], "deposited  EW112720413FR  door A01  2026-11-27T07:03:00Z");

        let tampered = text.replace("A01", "A02");
        assert!(verify(&tampered, &public).unwrap_err().starts_with("NOT VALID"));
        let other = signed::public_key_hex(&SigningKey::from_bytes(&[6; 32]).verifying_key());
        assert!(verify(&text, &other).unwrap_err().starts_with("NOT VALID"));
        assert!(verify(&text, "abc").unwrap_err().contains("64 hex digits"));
        assert!(verify("{not json", &public).unwrap_err().contains("not JSON"));
    }
}

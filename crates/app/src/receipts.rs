//! The proof of a courier session (deposit or return collection): what the courier left or took where,
//! and when, as a JSON document signed with the instance's Ed25519 key (anyone checks it offline with
//! the published public key, ADR 7) and as a printable PDF carrying the same signature.

use relais_domain::Timestamp;
use relais_domain::dropoff::{DropOffItem, DropOffSession, ItemState, SessionPurpose};
use relais_domain::ids::DropOffSessionId;
use relais_domain::point::PickupPoint;

use crate::App;
use crate::auth::Caller;
use crate::error::AppError;
use crate::signed;

/// The proof of deposit of a session: what the courier left where, and when.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub session: DropOffSession,
    pub point: PickupPoint,
    pub items: Vec<DropOffItem>,
}

/// A receipt with its signature: the signed JSON document (`{"document", "signature"}`), and the PDF
/// that prints both.
#[derive(Debug, Clone)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    pub signed: serde_json::Value,
    /// The short name of the key that signed it.
    pub key_id: String,
}

impl SignedReceipt {
    /// The printable receipt, in French and English, with the signature to check it against.
    pub fn pdf(&self) -> Vec<u8> {
        let signature = self.signed.pointer("/signature/value").and_then(|v| v.as_str()).unwrap_or_default();
        self.receipt.pdf(signature, &self.key_id)
    }
}

/// The instance's public signing key, as published: what a locker checks QR tokens with and what a
/// receipt is verified against.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub algorithm: &'static str,
    pub key_id: String,
    /// 32 bytes, hex.
    pub public_key: String,
}

impl App {
    /// The proof of deposit of a session (final once the session is closed), signed.
    pub async fn drop_off_receipt(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<SignedReceipt, AppError> {
        let view = self.drop_off_session(caller, session_id).await?;
        let point = self.load_point(view.session.point_id).await?;
        let receipt = Receipt { session: view.session, point, items: view.items };
        let signed = signed::sign_document(self.secrets.signing_key(), receipt.document());
        Ok(SignedReceipt { receipt, signed, key_id: signed::key_id(&self.secrets.verifying_key()) })
    }

    /// The signed proof of a session, for a claim's file (its reader's right to see the parcel was
    /// checked by the claim).
    pub(crate) async fn signed_receipt_of(&self, session_id: DropOffSessionId) -> Result<SignedReceipt, AppError> {
        let session = self
            .store
            .drop_off_session(session_id)
            .await?
            .ok_or_else(|| AppError::not_found("drop_off_session", session_id))?;
        let point = self.load_point(session.point_id).await?;
        let items = self.store.drop_off_items(session_id).await?;
        let receipt = Receipt { session, point, items };
        let signed = signed::sign_document(self.secrets.signing_key(), receipt.document());
        Ok(SignedReceipt { receipt, signed, key_id: signed::key_id(&self.secrets.verifying_key()) })
    }

    /// The public half of the instance's signing key.
    pub fn public_key(&self) -> PublicKey {
        let key = self.secrets.verifying_key();
        PublicKey { algorithm: "Ed25519", key_id: signed::key_id(&key), public_key: signed::public_key_hex(&key) }
    }
}

/// An instant as receipts print it: UTC, to the second.
fn receipt_time(at: Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How a receipt names what it proves, per session purpose.
struct ReceiptWords {
    kind: &'static str,
    done: ItemState,
    done_key: &'static str,
    other_key: &'static str,
    title: &'static str,
    done_label: &'static str,
    other_label: &'static str,
}

impl ReceiptWords {
    const fn of(purpose: SessionPurpose) -> ReceiptWords {
        match purpose {
            SessionPurpose::DropOff => ReceiptWords {
                kind: "relais.proof_of_deposit",
                done: ItemState::Deposited,
                done_key: "deposited",
                other_key: "not_deposited",
                title: "Preuve de dépôt / Proof of deposit",
                done_label: "Déposés / Deposited",
                other_label: "Non déposés / Not deposited",
            },
            SessionPurpose::ReturnCollection => ReceiptWords {
                kind: "relais.proof_of_return_collection",
                done: ItemState::TakenBack,
                done_key: "taken_back",
                other_key: "not_taken_back",
                title: "Preuve de reprise / Proof of return collection",
                done_label: "Repris / Taken back",
                other_label: "Non repris / Not taken back",
            },
        }
    }
}

impl Receipt {
    /// The proof of deposit (or of return collection) as a JSON document, to be signed: see
    /// [`crate::signed::sign_document`].
    pub fn document(&self) -> serde_json::Value {
        let words = ReceiptWords::of(self.session.purpose);
        let address = &self.point.address;
        let done: Vec<serde_json::Value> = self
            .items
            .iter()
            .filter(|i| i.state == words.done)
            .map(|i| {
                serde_json::json!({
                    "parcel_number": i.parcel_number,
                    "parcel_id": i.parcel_id.to_string(),
                    "door": i.label,
                    "at": i.done_at.map(receipt_time),
                })
            })
            .collect();
        let others: Vec<serde_json::Value> = self
            .items
            .iter()
            .filter(|i| i.state != words.done)
            .map(|i| {
                serde_json::json!({
                    "parcel_number": i.parcel_number,
                    "parcel_id": i.parcel_id.to_string(),
                    "state": i.state.as_str(),
                    "reason": i.reason,
                    "relocation_point_id": i.relocation_point_id.map(|p| p.to_string()),
                })
            })
            .collect();
        let mut document = serde_json::json!({
            "type": words.kind,
            "version": 1,
            "session_id": self.session.id.to_string(),
            "point": {
                "id": self.point.id.to_string(),
                "network_id": self.point.network_id.to_string(),
                "external_id": self.point.external_id,
                "name": self.point.name,
                "address": format!("{}, {} {}, {}", address.line1, address.postcode, address.city, address.country),
            },
            "carrier_key_id": self.session.carrier_key_id.to_string(),
            "opened_at": receipt_time(self.session.opened_at),
            "closed_at": self.session.closed_at.map(receipt_time),
        });
        document[words.done_key] = done.into();
        document[words.other_key] = others.into();
        document
    }

    /// The printable receipt, in French and English, with the signature to check it against.
    fn pdf(&self, signature: &str, key_id: &str) -> Vec<u8> {
        use relais_messages::pdf::Line;
        let words = ReceiptWords::of(self.session.purpose);
        let point = &self.point;
        let mut lines = vec![
            Line::title(words.title),
            Line::new(""),
            Line::new(format!("Consigne / Locker: {} ({})", point.name, point.external_id)),
            Line::new(format!(
                "{}, {} {}, {}",
                point.address.line1, point.address.postcode, point.address.city, point.address.country
            )),
            Line::new(format!("Session: {}", self.session.id)),
            Line::new(format!("Transporteur / Carrier key: {}", self.session.carrier_key_id)),
            Line::new(format!("Ouverte / Opened: {}", receipt_time(self.session.opened_at))),
            Line::new(format!(
                "Fermée / Closed: {}",
                self.session.closed_at.map_or_else(|| "ouverte / still open".to_owned(), receipt_time)
            )),
            Line::new(""),
        ];
        let done: Vec<&DropOffItem> = self.items.iter().filter(|i| i.state == words.done).collect();
        lines.push(Line::new(format!("{}: {}", words.done_label, done.len())));
        for item in done {
            lines.push(Line::new(format!(
                "  {}   porte / door {}   {}",
                item.parcel_number,
                item.label.as_deref().unwrap_or("-"),
                item.done_at.map(receipt_time).unwrap_or_default()
            )));
        }
        let others: Vec<&DropOffItem> = self.items.iter().filter(|i| i.state != words.done).collect();
        lines.push(Line::new(""));
        lines.push(Line::new(format!("{}: {}", words.other_label, others.len())));
        for item in others {
            let relocation =
                item.relocation_point_id.map(|p| format!("   relais proposé / proposed point {p}")).unwrap_or_default();
            lines.push(Line::new(format!(
                "  {}   {}   {}{relocation}",
                item.parcel_number,
                item.state.as_str(),
                item.reason.as_deref().unwrap_or("")
            )));
        }
        lines.push(Line::new(""));
        lines.push(Line::new(format!("Signature Ed25519 (clé / key {key_id}):")));
        for chunk in signature.as_bytes().chunks(64) {
            lines.push(Line::new(format!("  {}", String::from_utf8_lossy(chunk))));
        }
        lines.push(Line::new("Vérifier / Verify: relais receipt verify <receipt.json>"));
        relais_messages::pdf::document(words.title, &lines)
    }
}

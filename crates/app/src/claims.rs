//! Claims against carriers (docs/claims.md): the late-delivery compensation the promise review records,
//! the lost and damaged parcels a merchant or an operator (or the review, for a loss) opens, their
//! evidence (photos stored once by their SHA-256, the signed proof of deposit, the last events), the
//! carrier's answers, the reminders before a deadline lapses, and the files merchants send carriers:
//! a CSV of relais' columns and each carrier's claim file.

use chrono::NaiveDate;
use relais_domain::claims::{Claim, ClaimKind, ClaimState, REASON_LENGTH_MAX};
use relais_domain::ids::{ClaimId, ParcelId};
use relais_domain::parcel::Parcel;
use relais_domain::value::ParseError;
use sha2::{Digest, Sha256};

use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::csv_out::{inert, line_with};
use crate::error::AppError;
use crate::ports::{ClaimFilter, ClaimWrite, Evidence, EvidenceEntry, ParcelTracking, Write};
use crate::promises::{claim_payload, day_start, service_of};
use crate::tracking::TimelineEntry;

/// The largest file of evidence (a phone's photo).
pub const EVIDENCE_BYTES_MAX: usize = 8 << 20;
/// Most files one claim gathers.
pub const EVIDENCE_PER_CLAIM_MAX: usize = 20;
/// The most recent events a claim's file shows.
pub const DOSSIER_EVENTS: usize = 20;

/// The types of evidence relais keeps, known by their first bytes: the declared type must be the one
/// the bytes are.
const EVIDENCE_TYPES: [(&str, &[u8]); 4] = [
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/webp", b"RIFF"),
    ("application/pdf", b"%PDF-"),
];

/// The type the bytes are, if relais keeps that type.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    EVIDENCE_TYPES
        .iter()
        .find(|(kind, magic)| {
            bytes.starts_with(magic) && (*kind != "image/webp" || bytes.get(8..12) == Some(b"WEBP".as_slice()))
        })
        .map(|(kind, _)| *kind)
}

/// A claim as merchants list it: with its parcel's number, its tracking, the promise's dates and the
/// scale's percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLine {
    pub claim: Claim,
    pub parcel_number: String,
    pub tracking_number: Option<String>,
    pub shipped_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub service_days: Option<u32>,
    pub shipping_price_cents: Option<i64>,
    /// The scale's percent for a late claim.
    pub percent: Option<u32>,
}

/// Which claims to list.
#[derive(Debug, Clone, Default)]
pub struct ClaimQuery {
    pub carrier: Option<String>,
    pub kind: Option<ClaimKind>,
    pub state: Option<ClaimState>,
    /// Occurred (delivered, presumed lost) on or after this day, UTC.
    pub from: Option<NaiveDate>,
    /// Occurred before the end of this day, UTC.
    pub to: Option<NaiveDate>,
}

/// What the carrier answered, or that the claim was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimDecision {
    Filed,
    Accepted { amount_cents: i64 },
    Refused { reason: String },
}

/// Everything a carrier asks for to settle a claim.
#[derive(Debug, Clone)]
pub struct ClaimDossier {
    pub line: ClaimLine,
    pub parcel: Parcel,
    pub carrier: Option<ParcelTracking>,
    pub declared_value_cents: Option<i64>,
    /// The last events of its timeline, oldest first.
    pub last_events: Vec<TimelineEntry>,
    /// The signed proof of deposit at the point, when a courier's session deposited it.
    pub proof_of_deposit: Option<serde_json::Value>,
    pub evidence: Vec<EvidenceEntry>,
}

impl App {
    /// Claims the caller may see: a merchant its own, an operator all; by when they occurred.
    pub async fn claims(&self, caller: &Caller, query: &ClaimQuery) -> Result<Vec<ClaimLine>, AppError> {
        caller.require(Permission::ManageClaims)?;
        if let (Some(from), Some(to)) = (query.from, query.to)
            && to < from
        {
            return Err(ParseError::new("to", "is not before from").into());
        }
        let filter = ClaimFilter {
            merchant_id: if caller.role == Role::Merchant { caller.merchant_id } else { None },
            carrier: query.carrier.clone(),
            kind: query.kind,
            state: query.state,
            occurred_from: query.from.map(day_start),
            occurred_to: query.to.and_then(|d| d.succ_opt()).map(day_start),
            limit: self.limits.page_size_max * 20,
        };
        let mut lines = Vec::new();
        for claim in self.store.claims(&filter).await? {
            lines.push(self.claim_line(claim).await?);
        }
        Ok(lines)
    }

    async fn claim_line(&self, claim: Claim) -> Result<ClaimLine, AppError> {
        let parcel = self.load_parcel(claim.parcel_id).await?;
        let tracking = self.store.parcel_tracking(claim.parcel_id).await?;
        let terms = tracking.as_ref().and_then(|t| t.promise.clone());
        let percent = (claim.kind == ClaimKind::Late).then(|| {
            self.promise_settings.rules(&claim.carrier, service_of(tracking.as_ref())).scale.percent(claim.late_days)
        });
        Ok(ClaimLine {
            parcel_number: parcel.number.as_str().to_owned(),
            tracking_number: tracking.as_ref().map(|t| t.tracking_number.clone()),
            shipped_on: tracking.as_ref().and_then(|t| t.shipped_on),
            due_on: tracking.as_ref().and_then(|t| t.due_on),
            service_days: terms.as_ref().map(|t| t.service_days),
            shipping_price_cents: terms.as_ref().map(|t| t.shipping_price_cents),
            percent,
            claim,
        })
    }

    /// A claim the caller may see, as lists show it.
    pub async fn claim(&self, caller: &Caller, claim_id: ClaimId) -> Result<ClaimLine, AppError> {
        let claim = self.load_claim(caller, claim_id).await?;
        self.claim_line(claim).await
    }

    /// Records the listed claims that were to file as filed (their file was sent to the carrier); how
    /// many.
    pub async fn file_claims(&self, caller: &Caller, lines: &[ClaimLine]) -> Result<u32, AppError> {
        let mut filed = 0;
        for line in lines.iter().filter(|l| l.claim.state == ClaimState::ToFile) {
            self.decide_claim(caller, line.claim.id, ClaimDecision::Filed).await?;
            filed += 1;
        }
        Ok(filed)
    }

    /// A claim the caller may see.
    async fn load_claim(&self, caller: &Caller, claim_id: ClaimId) -> Result<Claim, AppError> {
        caller.require(Permission::ManageClaims)?;
        match self.store.claim(claim_id).await? {
            Some(claim) if caller.role != Role::Merchant || caller.merchant_id == Some(claim.merchant_id) => Ok(claim),
            _ => Err(AppError::not_found("claim", claim_id)),
        }
    }

    /// The claim's state moved on: sent to the carrier, accepted with what it pays, refused with why.
    pub async fn decide_claim(
        &self,
        caller: &Caller,
        claim_id: ClaimId,
        decision: ClaimDecision,
    ) -> Result<Claim, AppError> {
        if let ClaimDecision::Refused { reason } = &decision
            && (reason.trim().is_empty() || reason.chars().count() > REASON_LENGTH_MAX)
        {
            return Err(ParseError::new("reason", format!("1 to {REASON_LENGTH_MAX} characters")).into());
        }
        if let ClaimDecision::Accepted { amount_cents } = decision
            && amount_cents < 0
        {
            return Err(ParseError::new("amount_cents", "is not negative").into());
        }
        self.run(|| async {
            let mut tx = self.tx();
            let claim = self.load_claim(caller, claim_id).await?;
            let next = match &decision {
                ClaimDecision::Filed => claim.file(tx.now),
                ClaimDecision::Accepted { amount_cents } => claim.accept(*amount_cents, tx.now),
                ClaimDecision::Refused { reason } => claim.refuse(reason.trim().to_owned(), tx.now),
            }
            .map_err(|e| AppError::InvalidClaimTransition { from: e.from, to: e.to })?;
            tx.write(Write::Claims(ClaimWrite::Update(next.clone())));
            Ok(tx.done(Claim { version: next.version + 1, ..next }))
        })
        .await
    }

    /// Opens a lost or damaged claim for a parcel (late claims are the promise review's): the deadline
    /// counted from its delivery (damage) or from now (a loss the merchant reports). `409 claim` when the
    /// parcel has one of that kind.
    pub async fn open_claim(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        kind: ClaimKind,
        declared_value_cents: Option<i64>,
        description: Option<String>,
    ) -> Result<Claim, AppError> {
        caller.require(Permission::ManageClaims)?;
        if kind == ClaimKind::Late {
            return Err(ParseError::new("kind", "lost or damaged: late claims are computed from the promise").into());
        }
        if declared_value_cents.is_some_and(|v| v < 0) {
            return Err(ParseError::new("declared_value_cents", "is not negative").into());
        }
        let description = description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        if description.as_ref().is_some_and(|d| d.chars().count() > REASON_LENGTH_MAX) {
            return Err(ParseError::new("description", format!("at most {REASON_LENGTH_MAX} characters")).into());
        }
        let parcel = self.load_visible_parcel(caller, parcel_id).await?;
        let tracking = self.store.parcel_tracking(parcel_id).await?.ok_or_else(|| {
            AppError::from(ParseError::new(
                "parcel",
                "is not followed at a carrier: follow it first (PUT /v1/parcels/{id}/tracking)",
            ))
        })?;
        let rules = self.promise_settings.rules(&tracking.carrier, service_of(Some(&tracking))).clone();
        let terms = tracking.promise.clone();
        let value = declared_value_cents.or(terms.as_ref().and_then(|t| t.declared_value_cents)).unwrap_or(0)
            + if kind == ClaimKind::Lost { terms.as_ref().map_or(0, |t| t.shipping_price_cents) } else { 0 };
        let currency = terms.as_ref().map_or("EUR".to_owned(), |t| t.currency.clone());
        let occurred_at = match kind {
            ClaimKind::Damaged => tracking.delivered_at.unwrap_or(self.now()),
            _ => self.now(),
        };
        let claim = self.new_claim(&tracking, kind, 0, value, &currency, occurred_at, &rules, description);
        self.run(|| async {
            let mut tx = self.tx();
            tx.message("claim.opened", Some(parcel_id), claim_payload(&claim, &parcel));
            tx.write(Write::Claims(ClaimWrite::Insert(claim.clone())));
            Ok(tx.done(claim.clone()))
        })
        .await
    }

    /// A file of evidence for a claim (a photo of the damage): its type checked against its bytes, its
    /// size bounded, stored once by its SHA-256.
    pub async fn add_evidence(
        &self,
        caller: &Caller,
        claim_id: ClaimId,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<EvidenceEntry, AppError> {
        let claim = self.load_claim(caller, claim_id).await?;
        let added_by = match caller.role {
            Role::Merchant => "merchant",
            _ => "operator",
        };
        self.store_evidence(&claim, content_type, bytes, added_by).await
    }

    pub(crate) async fn store_evidence(
        &self,
        claim: &Claim,
        content_type: &str,
        bytes: Vec<u8>,
        added_by: &str,
    ) -> Result<EvidenceEntry, AppError> {
        let evidence = checked_evidence(content_type, bytes)?;
        self.attach_evidence(claim, evidence, added_by).await
    }

    /// Adds checked evidence to a claim: the same file again is the entry it already has.
    pub(crate) async fn attach_evidence(
        &self,
        claim: &Claim,
        evidence: Evidence,
        added_by: &str,
    ) -> Result<EvidenceEntry, AppError> {
        let existing = self.store.claim_evidence(claim.id).await?;
        if let Some(entry) = existing.iter().find(|e| e.sha256 == evidence.sha256) {
            return Ok(entry.clone());
        }
        if existing.len() >= EVIDENCE_PER_CLAIM_MAX {
            return Err(ParseError::new("file", format!("a claim holds at most {EVIDENCE_PER_CLAIM_MAX} files")).into());
        }
        let now = self.now();
        let entry = EvidenceEntry {
            sha256: evidence.sha256.clone(),
            content_type: evidence.content_type.clone(),
            size_bytes: evidence.bytes.len() as u64,
            added_by: added_by.to_owned(),
            added_at: now,
        };
        self.insert(Write::Claims(ClaimWrite::AddEvidence {
            claim_id: claim.id,
            evidence,
            added_by: added_by.to_owned(),
            at: now,
        }))
        .await?;
        Ok(entry)
    }

    /// A file of a claim's evidence.
    pub async fn evidence_file(&self, caller: &Caller, claim_id: ClaimId, sha256: &str) -> Result<Evidence, AppError> {
        self.load_claim(caller, claim_id).await?;
        self.store.evidence(claim_id, sha256).await?.ok_or_else(|| AppError::not_found("evidence", sha256))
    }

    /// Everything the carrier asks for: the claim, the parcel (number, weight, size), the declared value,
    /// the last events, the signed proof of deposit, the evidence, the deadline.
    pub async fn claim_dossier(&self, caller: &Caller, claim_id: ClaimId) -> Result<ClaimDossier, AppError> {
        let claim = self.load_claim(caller, claim_id).await?;
        let line = self.claim_line(claim).await?;
        let parcel = self.load_parcel(line.claim.parcel_id).await?;
        let timeline = self.parcel_timeline(&Caller::system(), parcel.id).await?;
        let skip = timeline.entries.len().saturating_sub(DOSSIER_EVENTS);
        let proof_of_deposit = match self.store.deposit_session_of(parcel.id).await? {
            Some(session_id) => Some(self.signed_receipt_of(session_id).await?.signed),
            None => None,
        };
        let evidence = self.store.claim_evidence(line.claim.id).await?;
        Ok(ClaimDossier {
            declared_value_cents: timeline
                .tracking
                .as_ref()
                .and_then(|t| t.promise.as_ref())
                .and_then(|t| t.declared_value_cents),
            carrier: timeline.tracking,
            last_events: timeline.entries.into_iter().skip(skip).collect(),
            line,
            parcel,
            proof_of_deposit,
            evidence,
        })
    }

    /// Reminds merchants of claims whose deadline nears (`claim.deadline_near`), each reminder once.
    pub async fn remind_claims(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let mut sent = 0;
        for claim in self.store.claims_to_remind(self.now(), limit).await? {
            let parcel = self.load_parcel(claim.parcel_id).await?;
            let tracking = self.store.parcel_tracking(claim.parcel_id).await?;
            let rules = self.promise_settings.rules(&claim.carrier, service_of(tracking.as_ref())).clone();
            let done = self
                .run(|| async {
                    let mut tx = self.tx();
                    let Some(current) = self.store.claim(claim.id).await? else { return Ok(tx.done(false)) };
                    if current.state != ClaimState::ToFile || current.next_reminder_at.is_none_or(|at| at > tx.now) {
                        return Ok(tx.done(false));
                    }
                    let mut payload = claim_payload(&current, &parcel);
                    payload["days_left"] = serde_json::json!((current.deadline_at - tx.now).num_days());
                    tx.message("claim.deadline_near", Some(current.parcel_id), payload);
                    let next = Claim {
                        next_reminder_at: rules.next_reminder(current.deadline_at, tx.now),
                        updated_at: tx.now,
                        ..current
                    };
                    tx.write(Write::Claims(ClaimWrite::Update(next)));
                    Ok(tx.done(true))
                })
                .await?;
            sent += u32::from(done);
        }
        Ok(sent)
    }
}

/// A file as evidence, if it is one relais keeps: its size bounded, its declared type the one its
/// bytes are, its SHA-256 taken.
pub(crate) fn checked_evidence(content_type: &str, bytes: Vec<u8>) -> Result<Evidence, AppError> {
    if bytes.is_empty() || bytes.len() > EVIDENCE_BYTES_MAX {
        return Err(ParseError::new("file", format!("1 byte to {} MiB", EVIDENCE_BYTES_MAX >> 20)).into());
    }
    let declared = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let kinds: Vec<&str> = EVIDENCE_TYPES.iter().map(|(k, _)| *k).collect();
    // `application/octet-stream` (or nothing) leaves the type to the bytes; a type declared must be theirs.
    let kind = match sniff(&bytes) {
        Some(kind) if kind == declared || declared.is_empty() || declared == "application/octet-stream" => kind,
        Some(kind) => return Err(ParseError::new("content_type", format!("the file is {kind}, not {declared}")).into()),
        None => return Err(ParseError::new("file", format!("one of {}", kinds.join(", "))).into()),
    };
    let sha256 = hex(&Sha256::digest(&bytes));
    Ok(Evidence { sha256, content_type: kind.to_owned(), bytes })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Amounts as a person reads them: `3.68`, or `3,68` where the comma is the decimal mark.
fn amount(cents: i64, decimal_comma: bool) -> String {
    let text = format!("{}.{:02}", cents / 100, (cents % 100).abs());
    if decimal_comma { text.replace('.', ",") } else { text }
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// The claims as CSV, relais' columns (docs/claims.md): one line a claim.
pub fn claims_csv(lines: &[ClaimLine]) -> String {
    let mut out = String::from(
        "claim_id,kind,state,carrier,parcel_number,tracking_number,shipped_on,due_on,occurred_at,late_days,percent,\
         shipping_price_cents,amount_claimed_cents,amount_accepted_cents,currency,deadline_at,reason\n",
    );
    for l in lines {
        let c = &l.claim;
        let fields = [
            c.id.to_string(),
            c.kind.as_str().to_owned(),
            c.state.as_str().to_owned(),
            c.carrier.clone(),
            inert(&l.parcel_number),
            inert(l.tracking_number.as_deref().unwrap_or_default()),
            date(l.shipped_on),
            date(l.due_on),
            c.occurred_at.to_rfc3339(),
            c.late_days.to_string(),
            l.percent.map(|p| p.to_string()).unwrap_or_default(),
            l.shipping_price_cents.map(|p| p.to_string()).unwrap_or_default(),
            c.amount_claimed_cents.to_string(),
            c.amount_accepted_cents.map(|a| a.to_string()).unwrap_or_default(),
            c.currency.clone(),
            c.deadline_at.to_rfc3339(),
            inert(c.reason.as_deref().unwrap_or_default()),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        out.push_str(&line_with(&refs, b','));
        out.push('\n');
    }
    out
}

/// The carriers whose claim file is written the French way: `;` between fields, the decimal comma,
/// French headings (the spreadsheet French carriers' customer services take by e-mail or upload).
const FRENCH_CLAIM_FILES: [&str; 3] = ["laposte", "colissimo", "chronopost"];

/// The claim file for one carrier's late claims (docs/claims.md): its name, type and content.
pub fn claim_file(carrier: &str, lines: &[ClaimLine]) -> (String, String) {
    let french = FRENCH_CLAIM_FILES.contains(&carrier);
    let (delimiter, header) = if french {
        (
            b';',
            [
                "numero_colis",
                "numero_suivi",
                "date_prise_en_charge",
                "date_livraison_prevue",
                "date_livraison",
                "jours_ouvres_retard",
                "prix_transport",
                "taux_indemnisation",
                "montant_reclame",
                "devise",
            ],
        )
    } else {
        (
            b',',
            [
                "parcel_number",
                "tracking_number",
                "shipped_on",
                "promised_on",
                "delivered_on",
                "working_days_late",
                "shipping_price",
                "compensation_rate",
                "amount_claimed",
                "currency",
            ],
        )
    };
    let mut out = line_with(&header, delimiter);
    out.push('\n');
    for l in lines.iter().filter(|l| l.claim.carrier == carrier && l.claim.kind == ClaimKind::Late) {
        let c = &l.claim;
        let fields = [
            inert(&l.parcel_number),
            inert(l.tracking_number.as_deref().unwrap_or_default()),
            date(l.shipped_on),
            date(l.due_on),
            c.occurred_at.date_naive().to_string(),
            c.late_days.to_string(),
            amount(l.shipping_price_cents.unwrap_or(0), french),
            format!("{}%", l.percent.unwrap_or(0)),
            amount(c.amount_claimed_cents, french),
            c.currency.clone(),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        out.push_str(&line_with(&refs, delimiter));
        out.push('\n');
    }
    let filename = format!("{carrier}-late-claims.csv");
    (filename, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_known_by_its_first_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\x00\x10JFIF"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\x00\x00"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\x10\x00\x00\x00WAVEfmt "), None);
        assert_eq!(sniff(b"%PDF-1.4"), Some("application/pdf"));
        assert_eq!(sniff(b"<svg xmlns="), None);
        assert_eq!(amount(368, true), "3,68");
        assert_eq!(amount(1205, false), "12.05");
    }
}

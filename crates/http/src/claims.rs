//! Routes of claims against carriers (docs/claims.md): the claims a merchant (or an operator) has,
//! as JSON, CSV or the carrier's claim file; a claim's file with everything the carrier asks for; the
//! carrier's answers; lost or damaged parcels claimed; evidence uploaded and read back.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use relais_app::claims::{ClaimDecision, ClaimDossier, ClaimLine, ClaimQuery, claim_file, claims_csv};
use relais_app::ports::EvidenceEntry;
use relais_domain::claims::{ClaimKind, ClaimState};
use relais_domain::value::ParseError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, QueryParams, RawBody, path_id};
use crate::tracking::TimelineEntryView;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClaimsQuery {
    /// The carrier's name (`colissimo`, `gls`...): required for `format=claim`.
    pub carrier: Option<String>,
    /// `late`, `lost` or `damaged`.
    pub kind: Option<String>,
    /// `to_file`, `filed`, `accepted` or `refused`.
    pub state: Option<String>,
    /// Delivered (or presumed lost) on or after this day (UTC).
    #[param(example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    /// ... up to the end of this day (UTC).
    #[param(example = "2026-11-30")]
    pub to: Option<NaiveDate>,
    /// `json` (default), `csv` (relais' columns) or `claim` (the carrier's claim file of its late claims).
    pub format: Option<String>,
}

/// A claim against a carrier.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    pub id: Uuid,
    pub parcel_id: Uuid,
    pub parcel_number: String,
    pub carrier: String,
    pub tracking_number: Option<String>,
    /// `late`, `lost` or `damaged`.
    pub kind: String,
    /// `to_file`, `filed`, `accepted` or `refused`.
    pub state: String,
    /// The promise: the day the carrier took the parcel, the working days, the day it was due.
    pub shipped_on: Option<NaiveDate>,
    pub service_days: Option<u32>,
    pub due_on: Option<NaiveDate>,
    /// The delivery (late, damaged) or the day the parcel was presumed lost.
    pub occurred_at: DateTime<Utc>,
    /// Working days late (late claims).
    pub late_days: u32,
    /// The scale's percent of the shipping price (late claims).
    pub percent: Option<u32>,
    pub shipping_price_cents: Option<i64>,
    /// What relais claims, in integer cents.
    #[schema(example = 368)]
    pub amount_claimed_cents: i64,
    /// What the carrier accepted to pay.
    pub amount_accepted_cents: Option<i64>,
    #[schema(example = "EUR")]
    pub currency: String,
    /// Why the carrier refused, or what the damage is.
    pub reason: Option<String>,
    /// The last day to file it with the carrier.
    pub deadline_at: DateTime<Utc>,
    /// When the merchant is next reminded of the deadline (while it is to file).
    pub next_reminder_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ClaimLine> for ClaimView {
    fn from(l: &ClaimLine) -> Self {
        let c = &l.claim;
        ClaimView {
            id: c.id.uuid(),
            parcel_id: c.parcel_id.uuid(),
            parcel_number: l.parcel_number.clone(),
            carrier: c.carrier.clone(),
            tracking_number: l.tracking_number.clone(),
            kind: c.kind.as_str().to_owned(),
            state: c.state.as_str().to_owned(),
            shipped_on: l.shipped_on,
            service_days: l.service_days,
            due_on: l.due_on,
            occurred_at: c.occurred_at,
            late_days: c.late_days,
            percent: l.percent,
            shipping_price_cents: l.shipping_price_cents,
            amount_claimed_cents: c.amount_claimed_cents,
            amount_accepted_cents: c.amount_accepted_cents,
            currency: c.currency.clone(),
            reason: c.reason.clone(),
            deadline_at: c.deadline_at,
            next_reminder_at: c.next_reminder_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn kind_of(text: &str) -> Result<ClaimKind> {
    ClaimKind::parse(text).ok_or_else(|| ParseError::new("kind", "late, lost or damaged").into())
}

#[utoipa::path(get, path = "/v1/claims", tag = "claims", params(ClaimsQuery),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, description = "The claims, by when they occurred: JSON, CSV (relais' columns) or the carrier's claim file (`format=claim`, with `carrier`).",
            content((Vec<ClaimView> = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `kind`, `state`, `format`, dates, or `format=claim` without `carrier`.")))]
/// Claims against carriers: a merchant's own, all for an operator. `kind=late&carrier=colissimo&from=...&to=...`
/// lists the late deliveries of a month with the compensation due; `format=claim` writes them as the
/// carrier's claim file.
pub async fn list_claims(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ClaimsQuery>,
) -> Result<Response> {
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv" | "claim") {
        return Err(ParseError::new("format", "json, csv or claim").into());
    }
    if format == "claim" && q.carrier.is_none() {
        return Err(ParseError::new("carrier", "names the carrier whose claim file to write").into());
    }
    let query = ClaimQuery {
        carrier: q.carrier.clone(),
        kind: q.kind.as_deref().map(kind_of).transpose()?,
        state: q
            .state
            .as_deref()
            .map(|s| {
                ClaimState::parse(s).ok_or_else(|| ParseError::new("state", "to_file, filed, accepted or refused"))
            })
            .transpose()?,
        from: q.from,
        to: q.to,
    };
    let lines = state.app.claims(&caller, &query).await?;
    Ok(match format {
        "csv" => ([(CONTENT_TYPE, "text/csv; charset=utf-8".to_owned())], claims_csv(&lines)).into_response(),
        "claim" => {
            let (filename, body) = claim_file(q.carrier.as_deref().unwrap_or_default(), &lines);
            let disposition = format!("attachment; filename=\"{filename}\"");
            ([(CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, disposition)], body)
                .into_response()
        }
        _ => Json(lines.iter().map(ClaimView::from).collect::<Vec<_>>()).into_response(),
    })
}

/// A claim's file: everything the carrier asks for.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierView {
    pub claim: ClaimView,
    /// The parcel's weight (grams) and size (millimetres).
    pub weight_g: u32,
    pub dimensions_mm: [u32; 3],
    /// The goods' declared value, in the claim's currency.
    pub declared_value_cents: Option<i64>,
    /// The last events of its timeline (the carrier's and relais'), oldest first.
    pub last_events: Vec<TimelineEntryView>,
    /// The signed proof of deposit at the point (`{"document", "signature"}`), when a courier's session
    /// deposited it: anyone checks it with the instance's public key.
    #[schema(value_type = Option<Object>)]
    pub proof_of_deposit: Option<serde_json::Value>,
    pub evidence: Vec<EvidenceView>,
}

/// A file of evidence: read it at `/v1/claims/{id}/evidence/{sha256}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub sha256: String,
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    pub size_bytes: u64,
    /// `merchant`, `operator` or `recipient`.
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

impl From<EvidenceEntry> for EvidenceView {
    fn from(e: EvidenceEntry) -> Self {
        EvidenceView {
            sha256: e.sha256,
            content_type: e.content_type,
            size_bytes: e.size_bytes,
            added_by: e.added_by,
            added_at: e.added_at,
        }
    }
}

impl From<ClaimDossier> for DossierView {
    fn from(d: ClaimDossier) -> Self {
        let dims = d.parcel.dimensions;
        DossierView {
            claim: ClaimView::from(&d.line),
            weight_g: d.parcel.weight.grams(),
            dimensions_mm: [dims.length_mm(), dims.width_mm(), dims.height_mm()],
            declared_value_cents: d.declared_value_cents,
            last_events: d.last_events.into_iter().map(TimelineEntryView::from).collect(),
            proof_of_deposit: d.proof_of_deposit,
            evidence: d.evidence.into_iter().map(EvidenceView::from).collect(),
        }
    }
}

#[utoipa::path(get, path = "/v1/claims/{id}", tag = "claims", params(("id" = Uuid, Path)),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = DossierView, description = "The claim's file."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such claim, or another merchant's.")))]
/// A claim's file: the parcel's number, weight and size, the declared value, the last events, the
/// signed proof of deposit, the evidence, the deadline.
pub async fn claim_dossier(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DossierView>> {
    Ok(Json(state.app.claim_dossier(&caller, path_id("claim", &id)?).await?.into()))
}

/// What the carrier answered, or that the claim was sent to it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `filed` (sent to the carrier), `accepted` (with `amount_cents`) or `refused` (with `reason`).
    #[schema(example = "accepted")]
    pub state: String,
    /// What the carrier pays, in integer cents.
    #[schema(example = 368, minimum = 0)]
    pub amount_cents: Option<i64>,
    /// Why the carrier refused.
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/claims/{id}/decision", tag = "claims", params(("id" = Uuid, Path)),
    request_body = DecisionRequest,
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = ClaimView, description = "The claim in its new state."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such claim, or another merchant's."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: filed twice, or answered before it was filed."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `state`, a missing `amount_cents` or `reason`.")))]
/// Records where a claim stands: filed with the carrier, then accepted with the amount paid or refused
/// with the carrier's reason.
pub async fn decide_claim(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<DecisionRequest>,
) -> Result<Json<ClaimView>> {
    let claim_id = path_id("claim", &id)?;
    let decision = match (request.state.as_str(), request.amount_cents, request.reason) {
        ("filed", _, _) => ClaimDecision::Filed,
        ("accepted", Some(amount_cents), _) => ClaimDecision::Accepted { amount_cents },
        ("accepted", None, _) => return Err(ParseError::new("amount_cents", "what the carrier pays").into()),
        ("refused", _, Some(reason)) => ClaimDecision::Refused { reason },
        ("refused", _, None) => return Err(ParseError::new("reason", "why the carrier refused").into()),
        _ => return Err(ParseError::new("state", "filed, accepted or refused").into()),
    };
    state.app.decide_claim(&caller, claim_id, decision).await?;
    Ok(Json(ClaimView::from(&state.app.claim(&caller, claim_id).await?)))
}

/// A lost or damaged parcel claimed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenClaimRequest {
    /// `lost` or `damaged` (late claims are computed from the promise).
    #[schema(example = "damaged")]
    pub kind: String,
    /// What the goods are worth, in cents: from the tracking's declared value (or the order) if not given.
    #[schema(example = 3990, minimum = 0)]
    pub declared_value_cents: Option<i64>,
    /// What is wrong.
    #[schema(example = "Carton écrasé, lampe cassée", max_length = 1000)]
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/claims", tag = "claims", params(("id" = Uuid, Path)),
    request_body = OpenClaimRequest,
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 201, body = ClaimView, description = "The claim, to file before its deadline."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such parcel, or not the caller's."),
        (status = 409, body = ErrorEnvelope, description = "`already_exists` (`claim`): the parcel has a claim of that kind."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `kind`, a negative value, a long description, or a parcel not followed at a carrier.")))]
/// Claims a lost or damaged parcel from its carrier: its deadline counted from the delivery (damage)
/// or from now (loss), reminders before it lapses.
pub async fn open_claim(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<OpenClaimRequest>,
) -> Result<(StatusCode, Json<ClaimView>)> {
    let parcel_id = path_id("parcel", &id)?;
    let kind = kind_of(&request.kind)?;
    let claim =
        state.app.open_claim(&caller, parcel_id, kind, request.declared_value_cents, request.description).await?;
    Ok((StatusCode::CREATED, Json(ClaimView::from(&state.app.claim(&caller, claim.id).await?))))
}

/// A file of evidence: bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct EvidenceFile(pub Vec<u8>);

#[utoipa::path(post, path = "/v1/claims/{id}/evidence", tag = "claims", params(("id" = Uuid, Path)),
    request_body(content = EvidenceFile, content_type = "application/octet-stream", description = "The file as is: a JPEG, PNG or WebP photo, or a PDF, up to 8 MiB. Sent as `application/octet-stream`, relais reads its type from its bytes; sent as `image/jpeg`, `image/png`, `image/webp` or `application/pdf`, that must be what its bytes are."),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 201, body = EvidenceView, description = "Stored (once by its SHA-256: the same file again is the same entry)."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such claim, or another merchant's."),
        (status = 413, body = ErrorEnvelope, description = "`payload_too_large`: over 8 MiB."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: not a JPEG, PNG, WebP or PDF, a declared type that is not what the bytes are, or 20 files already.")))]
/// Adds a file to a claim's evidence: a photo of the damage, the carrier's letter.
pub async fn add_evidence(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<EvidenceView>)> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let entry = state.app.add_evidence(&caller, path_id("claim", &id)?, content_type, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

#[utoipa::path(get, path = "/v1/claims/{id}/evidence/{sha256}", tag = "claims",
    params(("id" = Uuid, Path), ("sha256" = String, Path, description = "The file's SHA-256, hex.")),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, description = "The file as it was uploaded.", content((String = "image/jpeg"), (String = "image/png"), (String = "image/webp"), (String = "application/pdf"))),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such claim or file, or another merchant's.")))]
/// A file of a claim's evidence.
pub async fn evidence_file(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response> {
    let file = state.app.evidence_file(&caller, path_id("claim", &id)?, &sha256).await?;
    Ok(([(CONTENT_TYPE, file.content_type)], file.bytes).into_response())
}

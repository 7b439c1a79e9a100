//! Routes for running relais: health and readiness, Prometheus metrics, who a key is, the sweep job and
//! the audit log.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use relais_app::ports::AuditEntry;
use relais_domain::ids::Id;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryParams};
use crate::names;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (the process answers) or `ready` (and its database too).
    pub status: &'static str,
    /// `sqlite` or `postgres`, once ready.
    pub backend: Option<&'static str>,
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
/// Liveness: the process answers.
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", backend: None })
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorEnvelope, description = "`unavailable`: the database cannot be reached.")))]
/// Readiness: the database answers too.
pub async fn readyz(State(state): State<HttpState>) -> Result<Json<Health>> {
    state.app.ping().await?;
    Ok(Json(Health { status: "ready", backend: Some(state.app.backend()) }))
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String, description = "Prometheus text format 0.0.4")))]
/// Prometheus metrics: requests and latency per route, the store's commands and transactions, jobs.
pub async fn metrics(State(state): State<HttpState>) -> Response {
    crate::render_metrics(&state)
}

/// Who the API key is: its role and its scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub role: names::Role,
    pub key_id: Option<Uuid>,
    /// A merchant key's merchant.
    pub merchant_id: Option<Uuid>,
    /// A locker device key's point.
    pub point_id: Option<Uuid>,
    /// A carrier key's carrier.
    pub carrier_id: Option<Uuid>,
    /// A carrier key's: the networks its carrier serves.
    pub networks: Vec<Uuid>,
}

#[utoipa::path(get, path = "/v1/me", tag = "operations",
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = MeView)))]
/// The caller behind the API key.
pub async fn me(Auth(caller): Auth) -> Json<MeView> {
    Json(MeView {
        role: caller.role.into(),
        key_id: caller.key_id.map(|k| k.uuid()),
        merchant_id: caller.merchant_id.map(|m| m.uuid()),
        point_id: caller.point_id.map(|p| p.uuid()),
        carrier_id: caller.carrier_id.map(|c| c.uuid()),
        networks: caller.networks.iter().map(|n| n.uuid()).collect(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SweepResponse {
    /// Parcels past their pickup deadline, now `expired`.
    pub expired: u32,
    /// Lapsed compartment reservations given back.
    pub reservations_released: u32,
}

#[utoipa::path(post, path = "/v1/jobs/sweep", tag = "operations", security(("api_key" = ["operator"])),
    responses((status = 200, body = SweepResponse)))]
/// Runs the sweeps now (expiry, lapsed reservations) instead of waiting for the scheduler.
pub async fn sweep(State(state): State<HttpState>, Auth(caller): Auth) -> Result<Json<SweepResponse>> {
    let report = state.app.run_sweeps(&caller).await?;
    Ok(Json(SweepResponse { expired: report.expired, reservations_released: report.reservations_released }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only the entries of this point.
    pub point_id: Option<Uuid>,
    /// Only the entries of this parcel.
    pub parcel_id: Option<Uuid>,
    /// The `next_after` of the previous page.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: names::ActorKind,
    /// The API key that acted.
    pub actor_ref: Option<String>,
    pub action: names::AuditAction,
    pub point_id: Option<Uuid>,
    pub compartment_id: Option<Uuid>,
    pub parcel_id: Option<Uuid>,
    pub reason: Option<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(a: &AuditEntry) -> Self {
        AuditEntryView {
            seq: a.seq,
            at: a.at,
            actor: a.actor.kind.into(),
            actor_ref: a.actor.reference.clone(),
            action: a.action.into(),
            point_id: a.point_id.map(|p| p.uuid()),
            compartment_id: a.compartment_id.map(|c| c.uuid()),
            parcel_id: a.parcel_id.map(|p| p.uuid()),
            reason: a.reason.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "operations", params(AuditQuery), security(("api_key" = ["operator"])),
    responses((status = 200, body = AuditView)))]
/// The audit log: doors opened by hand, repairs, forced and offline openings, identity checks, API keys
/// issued and revoked, oldest first.
pub async fn audit(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<AuditView>> {
    let limit = state.app.page_limit(query.limit)?;
    if query.after.is_some_and(|after| after < 0) {
        return Err(ApiError::validation("after", "must be the seq of an entry (0 or more)"));
    }
    let entries = state
        .app
        .audit_log(
            &caller,
            query.point_id.map(Id::from_uuid),
            query.parcel_id.map(Id::from_uuid),
            query.after,
            Some(limit),
        )
        .await?;
    let next_after = if entries.len() == limit as usize { entries.last().map(|e| e.seq) } else { None };
    Ok(Json(AuditView { entries: entries.iter().map(AuditEntryView::from).collect(), next_after }))
}

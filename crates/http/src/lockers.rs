//! Couriers at a locker: their code of the day, drop-off and return sessions with the proof of deposit
//! (signed JSON or PDF) and the platform's public key it is checked with; operators' door actions (open
//! remotely, repair) and a locker's device status. The locker's own protocol is in `device`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use relais_app::lockers::{SessionScan, SessionView};
use relais_app::ports::DeviceStatus;
use relais_domain::dropoff::{DoorCommand, DoorRefusal, DropOffItem};
use relais_domain::ids::Id;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, QueryParams, path_id};
use crate::names;
use crate::wire::CompartmentView;

type Result<T> = std::result::Result<T, ApiError>;

/// The platform's public key: what a locker verifies QR tokens with, offline, and what a proof of
/// deposit is checked against.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyView {
    pub algorithm: &'static str,
    pub key_id: String,
    /// 32 bytes, hex.
    pub public_key: String,
}

#[utoipa::path(get, path = "/v1/signing-key", tag = "lockers", responses((status = 200, body = SigningKeyView)))]
/// The platform's public signing key (Ed25519): lockers check QR tokens with it offline, anyone checks
/// a proof of deposit.
pub async fn signing_key(State(state): State<HttpState>) -> Json<SigningKeyView> {
    let key = state.app.public_key();
    Json(SigningKeyView { algorithm: key.algorithm, key_id: key.key_id, public_key: key.public_key })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CourierCodeQuery {
    /// The carrier key (operators only, and required; a carrier gets its own).
    pub carrier_key_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourierCodeView {
    pub point_id: Uuid,
    pub carrier_key_id: Uuid,
    /// 8 digits, typed on the locker's screen.
    pub code: String,
    /// The locker's local day the code works on.
    pub day: NaiveDate,
    pub valid_until: DateTime<Utc>,
}

#[utoipa::path(get, path = "/v1/points/{id}/courier-code", tag = "lockers",
    params(("id" = Uuid, Path, description = "The locker."), CourierCodeQuery),
    security(("api_key" = ["operator", "carrier"])),
    responses((status = 200, body = CourierCodeView)))]
/// Today's courier code of a carrier key at a locker (8 digits, the locker's local day): what the
/// courier types on the locker's screen to open a session. A carrier gets codes for the lockers of the
/// networks its carrier serves.
pub async fn courier_code(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<CourierCodeQuery>,
) -> Result<Json<CourierCodeView>> {
    let point_id = path_id("point", &id)?;
    let code = state.app.courier_code(&caller, point_id, query.carrier_key_id.map(Id::from_uuid)).await?;
    Ok(Json(CourierCodeView {
        point_id: code.point_id.uuid(),
        carrier_key_id: code.carrier_key_id.uuid(),
        code: code.code,
        day: code.day,
        valid_until: code.valid_until,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSessionRequest {
    /// The carrier key's code of the day at this locker.
    #[schema(example = "30718264", max_length = 10)]
    pub courier_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoorCommandView {
    pub id: Uuid,
    /// Always `open_door`.
    #[schema(example = "open_door")]
    pub command: &'static str,
    pub door: String,
    pub purpose: names::CommandPurpose,
    pub parcel_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub reason: Option<String>,
    pub state: names::CommandState,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

impl From<&DoorCommand> for DoorCommandView {
    fn from(c: &DoorCommand) -> Self {
        DoorCommandView {
            id: c.id.uuid(),
            command: "open_door",
            door: c.label.clone(),
            purpose: c.purpose.into(),
            parcel_id: c.parcel_id.map(|p| p.uuid()),
            session_id: c.session_id.map(|s| s.uuid()),
            reason: c.reason.clone(),
            state: c.state.into(),
            created_at: c.created_at,
            done_at: c.done_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionItemView {
    pub parcel_id: Uuid,
    pub parcel_number: String,
    /// `assigned`: its door is open, waiting to close.
    pub state: names::ItemState,
    pub door: Option<String>,
    /// Why it failed, or why the last door was refused.
    pub reason: Option<String>,
    /// A point within 2 km with room, when the deposit failed.
    pub relocation_point_id: Option<Uuid>,
    pub scanned_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

impl From<&DropOffItem> for SessionItemView {
    fn from(i: &DropOffItem) -> Self {
        SessionItemView {
            parcel_id: i.parcel_id.uuid(),
            parcel_number: i.parcel_number.clone(),
            state: i.state.into(),
            door: i.label.clone(),
            reason: i.reason.clone(),
            relocation_point_id: i.relocation_point_id.map(|p| p.uuid()),
            scanned_at: i.scanned_at,
            done_at: i.done_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DropOffSessionView {
    pub id: Uuid,
    pub point_id: Uuid,
    pub purpose: names::SessionPurpose,
    pub carrier_key_id: Uuid,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub parcels: Vec<SessionItemView>,
}

fn session_view(view: &SessionView) -> DropOffSessionView {
    DropOffSessionView {
        id: view.session.id.uuid(),
        point_id: view.session.point_id.uuid(),
        purpose: view.session.purpose.into(),
        carrier_key_id: view.session.carrier_key_id.uuid(),
        opened_at: view.session.opened_at,
        closed_at: view.session.closed_at,
        parcels: view.items.iter().map(SessionItemView::from).collect(),
    }
}

#[utoipa::path(post, path = "/v1/points/{id}/drop-off-sessions", tag = "lockers", request_body = OpenSessionRequest,
    params(("id" = Uuid, Path, description = "The locker.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 201, body = DropOffSessionView),
        (status = 403, body = ErrorEnvelope, description = "`invalid_courier_code`: not today's code of a carrier key at this locker (counted)."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many wrong courier codes from this key or at this keypad; `details.retry_after`.")))]
/// A courier opens a drop-off session at a locker with the code of the day: then scans parcels, each
/// given a door, and closes it for the proof of deposit.
pub async fn open_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<OpenSessionRequest>,
) -> Result<(StatusCode, Json<DropOffSessionView>)> {
    let session = state.app.open_drop_off_session(&caller, path_id("point", &id)?, &request.courier_code).await?;
    Ok((StatusCode::CREATED, Json(session_view(&SessionView { session, items: Vec::new() }))))
}

#[utoipa::path(post, path = "/v1/points/{id}/return-sessions", tag = "lockers", request_body = OpenSessionRequest,
    params(("id" = Uuid, Path, description = "The locker.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 201, body = DropOffSessionView, description = "Every expired parcel with its door, ordered open."),
        (status = 403, body = ErrorEnvelope, description = "`invalid_courier_code` (counted)."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many wrong courier codes; `details.retry_after`.")))]
/// A courier opens a return session: every expired parcel the carrier handles at this locker, each
/// door ordered open.
pub async fn open_return_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<OpenSessionRequest>,
) -> Result<(StatusCode, Json<DropOffSessionView>)> {
    let view = state.app.open_return_session(&caller, path_id("point", &id)?, &request.courier_code).await?;
    Ok((StatusCode::CREATED, Json(session_view(&view))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnListLine {
    pub parcel_id: Uuid,
    pub parcel_number: String,
    pub door: Option<String>,
    /// When it expired.
    pub pickup_deadline: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnListView {
    pub point_id: Uuid,
    pub parcels: Vec<ReturnListLine>,
}

#[utoipa::path(get, path = "/v1/points/{id}/return-list", tag = "lockers",
    params(("id" = Uuid, Path, description = "The point.")),
    security(("api_key" = ["operator", "carrier"])),
    responses((status = 200, body = ReturnListView)))]
/// The expired parcels the carrier is to take back from a point, with their doors.
pub async fn return_list(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ReturnListView>> {
    let point_id = path_id("point", &id)?;
    let parcels = state.app.return_list(&caller, point_id).await?;
    Ok(Json(ReturnListView {
        point_id: point_id.uuid(),
        parcels: parcels
            .into_iter()
            .map(|(p, door)| ReturnListLine {
                parcel_id: p.id.uuid(),
                parcel_number: p.number.as_str().to_owned(),
                door,
                pickup_deadline: p.pickup_deadline,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/v1/drop-off-sessions/{id}", tag = "lockers",
    params(("id" = Uuid, Path, description = "The session.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 200, body = DropOffSessionView)))]
/// A session with its parcels: the courier's own, or one at the device's locker.
pub async fn get_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DropOffSessionView>> {
    let view = state.app.drop_off_session(&caller, path_id("drop-off session", &id)?).await?;
    Ok(Json(session_view(&view)))
}

/// One parcel, or a manifest of several (scanned in order).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    #[schema(example = "EW112720413FR", max_length = 35)]
    pub parcel_number: Option<String>,
    /// A manifest: 1 to 200 parcels, scanned in order.
    #[schema(min_items = 1, max_items = 200)]
    pub parcel_numbers: Option<Vec<String>>,
}

/// Most parcels one manifest may list.
pub const MANIFEST_PARCELS_MAX: usize = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanView {
    pub parcel: SessionItemView,
    /// The door the locker opens for it, while assigned.
    pub open_door: Option<DoorCommandView>,
}

pub(crate) fn scan_view(scan: &SessionScan) -> ScanView {
    ScanView { parcel: SessionItemView::from(&scan.item), open_door: scan.command.as_ref().map(DoorCommandView::from) }
}

/// The outcome of one parcel of a manifest: its scan, or the error that stopped it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestLine {
    pub parcel_number: String,
    pub scan: Option<ScanView>,
    pub error: Option<crate::error::ErrorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestView {
    pub results: Vec<ManifestLine>,
}

#[utoipa::path(post, path = "/v1/drop-off-sessions/{id}/scans", tag = "lockers", request_body = ScanRequest,
    params(("id" = Uuid, Path, description = "The session.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 200, body = ScanView, description = "One parcel: its door, or `failed` with a relocation proposal."),
        (status = 207, body = ManifestView, description = "A manifest: one result per parcel."),
        (status = 409, body = ErrorEnvelope, description = "`session_closed`, or `invalid_transition`: the parcel cannot be deposited.")))]
/// The courier scans one parcel (or a manifest of several): each gets a door, ordered open, or fails
/// with a nearby point proposed. Scanning the same parcel again answers the same.
pub async fn scan(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<ScanRequest>,
) -> Result<Response> {
    let session_id = path_id("drop-off session", &id)?;
    match (request.parcel_number, request.parcel_numbers) {
        (Some(number), None) => {
            let scan = state.app.scan_into_session(&caller, session_id, &number).await?;
            Ok(Json(scan_view(&scan)).into_response())
        }
        (None, Some(numbers)) if !numbers.is_empty() && numbers.len() <= MANIFEST_PARCELS_MAX => {
            let mut results = Vec::with_capacity(numbers.len());
            for number in numbers {
                let line = match state.app.scan_into_session(&caller, session_id, &number).await {
                    Ok(scan) => ManifestLine { parcel_number: number, scan: Some(scan_view(&scan)), error: None },
                    Err(error) => {
                        let error = ApiError::from(error);
                        ManifestLine { parcel_number: number, scan: None, error: Some(error.body()) }
                    }
                };
                results.push(line);
            }
            Ok((StatusCode::MULTI_STATUS, Json(ManifestView { results })).into_response())
        }
        (None, Some(_)) => {
            Err(ApiError::validation("parcel_numbers", &format!("must list 1 to {MANIFEST_PARCELS_MAX} parcels")))
        }
        _ => Err(ApiError::validation("parcel_number", "give exactly one of parcel_number and parcel_numbers")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusalRequest {
    pub parcel_id: Uuid,
    #[schema(schema_with = names::DoorRefusal::doc)]
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/drop-off-sessions/{id}/refusals", tag = "lockers", request_body = RefusalRequest,
    params(("id" = Uuid, Path, description = "The session.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 200, body = ScanView, description = "Another door, or `failed` with a relocation proposal."),
        (status = 409, body = ErrorEnvelope, description = "`session_closed`, or `not_assigned`: the parcel has no door in this session.")))]
/// The courier could not use the door opened for a parcel (too small, broken, not empty): another door,
/// or a failure with a nearby point proposed.
pub async fn refuse(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<RefusalRequest>,
) -> Result<Json<ScanView>> {
    let session_id = path_id("drop-off session", &id)?;
    let refusal = DoorRefusal::parse(&request.reason)
        .ok_or_else(|| ApiError::validation("reason", "must be too_large, door_broken or compartment_occupied"))?;
    let scan = state.app.refuse_door(&caller, session_id, Id::from_uuid(request.parcel_id), refusal).await?;
    Ok(Json(scan_view(&scan)))
}

#[utoipa::path(post, path = "/v1/drop-off-sessions/{id}/close", tag = "lockers",
    params(("id" = Uuid, Path, description = "The session.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 200, body = DropOffSessionView),
        (status = 409, body = ErrorEnvelope, description = "`session_closed`: closed already.")))]
/// Closes the session: parcels whose doors were never closed are `not_deposited`; the proof of deposit
/// is final.
pub async fn close_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DropOffSessionView>> {
    let view = state.app.close_drop_off_session(&caller, path_id("drop-off session", &id)?).await?;
    Ok(Json(session_view(&view)))
}

/// How the proof of deposit is wanted (documents the `format` parameter, which the handler reads itself
/// to name the field at fault).
#[derive(Debug, Clone, Copy, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptFormat {
    /// The signed JSON document.
    Json,
    /// A printable PDF of it.
    Pdf,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    /// `json` (default) or `pdf`.
    #[param(value_type = Option<ReceiptFormat>, inline)]
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/v1/drop-off-sessions/{id}/receipt", tag = "lockers",
    params(("id" = Uuid, Path, description = "The session."), ReceiptQuery),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 200, description = "The proof of deposit: a signed JSON document, or a PDF.",
        content((Object = "application/json"), (String = "application/pdf")))))]
/// The proof of deposit of a session, signed with the platform's key: what the courier shows that each
/// parcel went in (final once the session is closed).
pub async fn receipt(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<ReceiptQuery>,
) -> Result<Response> {
    let receipt = state.app.drop_off_receipt(&caller, path_id("drop-off session", &id)?).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(receipt.signed).into_response()),
        Some("pdf") => {
            let pdf = receipt.pdf();
            let disposition = format!("inline; filename=\"proof-of-deposit-{}.pdf\"", receipt.receipt.session.id);
            Ok(([(CONTENT_TYPE, "application/pdf".to_owned()), (CONTENT_DISPOSITION, disposition)], pdf)
                .into_response())
        }
        Some(_) => Err(ApiError::validation("format", "must be json or pdf")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why, for the audit log.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/points/{id}/doors/{door}/open", tag = "lockers", request_body = ReasonRequest,
    params(("id" = Uuid, Path, description = "The locker."), ("door" = String, Path, description = "The door's label.")),
    security(("api_key" = ["operator"])),
    responses((status = 202, body = DoorCommandView, description = "Queued for the locker.")))]
/// Orders a door open remotely (a recipient stuck in front of it, staff on site): queued for the locker's
/// next heartbeat. Audited.
pub async fn open_door(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, door)): Path<(String, String)>,
    Body(request): Body<ReasonRequest>,
) -> Result<(StatusCode, Json<DoorCommandView>)> {
    let command = state.app.open_door_remotely(&caller, path_id("point", &id)?, &door, &request.reason).await?;
    Ok((StatusCode::ACCEPTED, Json(DoorCommandView::from(&command))))
}

#[utoipa::path(post, path = "/v1/points/{id}/doors/{door}/repair", tag = "lockers", request_body = ReasonRequest,
    params(("id" = Uuid, Path, description = "The locker."), ("door" = String, Path, description = "The door's label.")),
    security(("api_key" = ["operator"])),
    responses((status = 200, body = CompartmentView)))]
/// Records a door repaired: its fault cleared, back in service. Audited.
pub async fn repair_door(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, door)): Path<(String, String)>,
    Body(request): Body<ReasonRequest>,
) -> Result<Json<CompartmentView>> {
    let compartment = state.app.repair_door(&caller, path_id("point", &id)?, &door, &request.reason).await?;
    Ok(Json(CompartmentView::from(&compartment)))
}

#[utoipa::path(post, path = "/v1/points/{id}/doors/{door}/out-of-service", tag = "lockers", request_body = ReasonRequest,
    params(("id" = Uuid, Path, description = "The locker."), ("door" = String, Path, description = "The door's label.")),
    security(("api_key" = ["operator"])),
    responses((status = 200, body = CompartmentView, description = "Out of service (a `broken` fault) until repaired; a door already out of service is answered as it is.")))]
/// Takes a door out of service (broken, under maintenance): a `broken` fault with the reason, audited
/// and told like a locker's own report; parcels behind it are flagged.
pub async fn door_out_of_service(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, door)): Path<(String, String)>,
    Body(request): Body<ReasonRequest>,
) -> Result<Json<CompartmentView>> {
    let compartment =
        state.app.take_door_out_of_service(&caller, path_id("point", &id)?, &door, &request.reason).await?;
    Ok(Json(CompartmentView::from(&compartment)))
}

/// A device trades the token of its enrolment QR code for its key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The token the console showed (`re1_...`), from the QR code's link.
    #[schema(min_length = 1, max_length = 100)]
    pub token: String,
}

/// A device's key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolledView {
    pub key_id: Uuid,
    pub point_id: Uuid,
    pub label: String,
    /// `rk_locker_device_...`: keep it on the device; relais keeps only its digest.
    pub secret: String,
}

#[utoipa::path(post, path = "/v1/devices/enrol", tag = "lockers", request_body = EnrolRequest,
    responses((status = 201, body = EnrolledView, description = "The device's key, shown once."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: the code is unknown, used already or expired (15 minutes): start another enrolment from the console."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`.")))]
/// A locker's controller or a counter's phone enrols with the one-time code an operator's console
/// showed as a QR code, and gets its own device key (no key typed by hand). Limited per address.
pub async fn enrol(
    State(state): State<HttpState>,
    client: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Body(request): Body<EnrolRequest>,
) -> Result<(StatusCode, Json<EnrolledView>)> {
    crate::widget::limit_public(&state, client)?;
    let issued = state.app.enrol_device(&request.token).await?;
    let view = EnrolledView {
        key_id: issued.key.id.uuid(),
        point_id: issued.key.point_id.map(|p| p.uuid()).unwrap_or_default(),
        label: issued.key.label.clone(),
        secret: issued.secret,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceStatusView {
    pub point_id: Uuid,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Set when relais noticed the locker had gone silent (5 minutes without a heartbeat).
    pub offline_since: Option<DateTime<Utc>>,
    pub firmware: Option<String>,
    /// Each door and the state the locker last reported.
    pub doors: Vec<DoorStateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoorStateView {
    pub door: String,
    pub state: names::DoorState,
}

#[utoipa::path(get, path = "/v1/points/{id}/device", tag = "lockers",
    params(("id" = Uuid, Path, description = "The locker.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = DeviceStatusView)))]
/// The locker's last heartbeat: when, its firmware, each door's reported state, and since when it has
/// been silent.
pub async fn device_status(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DeviceStatusView>> {
    let point_id = path_id("point", &id)?;
    let status: Option<DeviceStatus> = state.app.device_status(&caller, point_id).await?;
    Ok(Json(DeviceStatusView {
        point_id: point_id.uuid(),
        last_seen_at: status.as_ref().map(|s| s.last_seen_at),
        offline_since: status.as_ref().and_then(|s| s.offline_since),
        firmware: status.as_ref().and_then(|s| s.firmware.clone()),
        doors: status
            .map(|s| s.doors.into_iter().map(|(door, state)| DoorStateView { door, state: state.into() }).collect())
            .unwrap_or_default(),
    }))
}

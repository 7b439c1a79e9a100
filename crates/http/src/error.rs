//! The one error envelope of the API, `{"error": {"code", "message", "details"}}`, and the mapping of
//! every failure (use-case errors, rejected bodies, unknown routes) onto it. Codes are stable and
//! listed in docs/api/errors.md; a 5xx is only ever `unavailable` (the database is unreachable) or
//! `internal` (a bug).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use relais_app::AppError;
use relais_domain::parcel::{ExtensionRefusal, TransitionError};
use relais_registry::gazetteer::GeocodeError;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `invalid_transition`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// Structured context (the field at fault, the state the parcel is in...).
    #[schema(value_type = Object)]
    pub details: Value,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds to wait, sent as `Retry-After` (a `429`).
    pub retry_after: Option<u64>,
}

/// Longest text of the input an error repeats (a value in a message, a string in `details`): enough
/// to recognise it, not a way to make the API echo a 60 KB body.
pub const ECHO_CHARS_MAX: usize = 200;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: json!({}), retry_after: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn not_found_route() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route; see /openapi.json for the API")
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The body of the envelope, for a response that reports several outcomes (a manifest).
    pub fn body(self) -> ErrorBody {
        ErrorBody { code: self.code, message: clip(&self.message), details: clip_strings(self.details) }
    }

    pub fn validation(field: &str, problem: &str) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", format!("{field} {problem}"))
            .with_details(json!({"field": field, "problem": problem}))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let (status, retry_after) = (self.status, self.retry_after);
        let mut response = (status, Json(ErrorEnvelope { error: self.body() })).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<relais_domain::value::ParseError> for ApiError {
    fn from(error: relais_domain::value::ParseError) -> Self {
        AppError::Validation(error).into()
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        let code = error.code();
        let (status, details) = match &error {
            AppError::Validation(e) => {
                (StatusCode::UNPROCESSABLE_ENTITY, json!({"field": e.field, "problem": e.problem}))
            }
            AppError::NotFound { entity, id } => (StatusCode::NOT_FOUND, json!({"entity": entity, "id": id})),
            AppError::InvalidTransition(t) => (StatusCode::CONFLICT, transition_details(t)),
            AppError::InvalidClaimTransition { from, to } => (StatusCode::CONFLICT, json!({"from": from, "to": to})),
            AppError::NoFittingCompartment(reason) => (StatusCode::CONFLICT, json!({"reason": reason.as_str()})),
            AppError::RateLimited { what, until, retry_after_seconds } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({
                    "what": what.code(),
                    "retry_after": until.to_rfc3339(),
                    "retry_after_seconds": retry_after_seconds,
                }),
            ),
            AppError::InvalidPickupCode => (StatusCode::FORBIDDEN, json!({})),
            AppError::InvalidCourierCode => (StatusCode::FORBIDDEN, json!({})),
            AppError::IdentityMismatch => (StatusCode::FORBIDDEN, json!({})),
            AppError::SessionClosed { closed_at } => (StatusCode::CONFLICT, json!({"closed_at": closed_at})),
            AppError::DoorNotOpen { label } => (StatusCode::CONFLICT, json!({"door": label})),
            AppError::NotAssigned { state } => (StatusCode::CONFLICT, json!({"state": state})),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, json!({})),
            AppError::Forbidden { role } => (StatusCode::FORBIDDEN, json!({"role": role.as_str()})),
            AppError::AlreadyExists { what } => (StatusCode::CONFLICT, json!({"what": what})),
            AppError::NotResendable { reason } => (StatusCode::CONFLICT, json!({"reason": reason})),
            AppError::InvalidSignature | AppError::CsrfRejected => (StatusCode::FORBIDDEN, json!({})),
            AppError::TemplateInvalid { part, line, message } => {
                (StatusCode::UNPROCESSABLE_ENTITY, json!({"part": part, "line": line, "problem": message}))
            }
            AppError::SurveyRefused(_) => (StatusCode::CONFLICT, json!({})),
            AppError::NumbersExhausted { series } => (StatusCode::CONFLICT, json!({"series": series})),
            AppError::IdempotencyKeyReused => (StatusCode::UNPROCESSABLE_ENTITY, json!({})),
            AppError::NoNumberSeries { kind, .. } => (StatusCode::CONFLICT, json!({"kind": kind})),
            AppError::NothingToPrint { .. } => (StatusCode::CONFLICT, json!({})),
            AppError::PlaceNotFound(e) => (StatusCode::UNPROCESSABLE_ENTITY, place_details(e)),
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, json!({})),
            AppError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, json!({})),
        };
        // Storage messages can name tables and hosts: keep them in the log, not in the response.
        let message = match &error {
            AppError::Store(_) => "the database is unavailable; retry later".to_owned(),
            _ => message,
        };
        let retry_after = match &error {
            AppError::RateLimited { retry_after_seconds, .. } => Some(*retry_after_seconds),
            _ => None,
        };
        ApiError { status, code, message, details, retry_after }
    }
}

/// `text` cut to [`ECHO_CHARS_MAX`] characters, saying it was cut.
fn clip(text: &str) -> String {
    match text.char_indices().nth(ECHO_CHARS_MAX) {
        Some((end, _)) => format!("{}… (cut)", &text[..end]),
        None => text.to_owned(),
    }
}

/// Every string in `details` clipped like a message.
fn clip_strings(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(clip(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(clip_strings).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, clip_strings(v))).collect()),
        other => other,
    }
}

fn place_details(error: &GeocodeError) -> Value {
    match error {
        GeocodeError::CountryNotCovered(country) => json!({"reason": "country_not_covered", "country": country}),
        GeocodeError::UnknownPostcode(postcode) => json!({"reason": "unknown_postcode", "postcode": postcode}),
        GeocodeError::UnknownCity(city) => json!({"reason": "unknown_city", "city": city}),
    }
}

fn transition_details(error: &TransitionError) -> Value {
    match error {
        TransitionError::Invalid { action, from } => json!({
            "action": action.as_str(),
            "state": from.as_str(),
            "incident": from.incident_kind().map(|k| k.as_str()),
        }),
        TransitionError::ExtensionRefused(ExtensionRefusal::CountReached { count_max }) => {
            json!({"action": "extend", "reason": "extension_count_reached", "extension_count_max": count_max})
        }
        TransitionError::ExtensionRefused(ExtensionRefusal::TooEarly { earliest }) => {
            json!({"action": "extend", "reason": "too_early", "earliest": earliest.to_rfc3339()})
        }
        TransitionError::ExtensionRefused(ExtensionRefusal::DeadlinePassed { deadline }) => {
            json!({"action": "extend", "reason": "deadline_passed", "pickup_deadline": deadline.to_rfc3339()})
        }
        TransitionError::NotYetDue { deadline } => {
            json!({"action": "expire", "reason": "not_yet_due", "pickup_deadline": deadline.to_rfc3339()})
        }
        TransitionError::ReminderNotYetDue { due } => {
            json!({"action": "remind", "reason": "not_yet_due", "due": due.to_rfc3339()})
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let problem = text.split_once(": ").map(|(_, p)| p).unwrap_or(&text).to_owned();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", format!("query string: {problem}"))
            .with_details(json!({"problem": problem}))
    }
}

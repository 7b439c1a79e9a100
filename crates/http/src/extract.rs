//! Request extractors that fail with the API's error envelope: the caller behind the API key, a JSON
//! body, a query string, an id in the path.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Query, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use relais_app::{AppError, Caller};
use relais_domain::ids::Id;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::HttpState;
use crate::error::ApiError;

/// The authenticated caller: `Authorization: Bearer <key>` (or `X-Api-Key: <key>`), whose role the
/// route's document entry lists (else `403 forbidden`, before the body is read).
pub struct Auth(pub Caller);

impl FromRequestParts<HttpState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
        let key = bearer.or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()));
        let Some(key) = key.filter(|k| !k.trim().is_empty() && k.len() <= 256) else {
            return Err(AppError::Unauthorized.into());
        };
        let caller = state.app.authenticate(key).await?;
        if let Some(route) = parts.extensions.get::<MatchedPath>()
            && !state.roles.admits(&parts.method, route.as_str(), caller.role)
        {
            return Err(AppError::Forbidden { role: caller.role }.into());
        }
        Ok(Auth(caller))
    }
}

/// A JSON body. Empty, malformed, mistyped or oversized bodies are refused with the envelope.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = parse_body::<T, S>(request, state).await?;
        value.map(Body).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "the body is empty; send a JSON object")
        })
    }
}

/// A body read as bytes (a signed webhook, a form), an oversized one refused with the envelope.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state).await.map(RawBody).map_err(body_rejection)
    }
}

fn body_rejection(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is larger than request_body_bytes_max",
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", rejection.body_text())
    }
}

/// A JSON body that may be left out entirely (an action with only optional fields).
pub struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = parse_body::<T, S>(request, state).await?;
        Ok(OptionalBody(value.unwrap_or_default()))
    }
}

async fn parse_body<T: DeserializeOwned, S: Send + Sync>(request: Request, state: &S) -> Result<Option<T>, ApiError> {
    let json_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
    let bytes = Bytes::from_request(request, state).await.map_err(body_rejection)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if json_type != Some(true) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    match serde_json::from_slice::<T>(&bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_data() => {
            let problem = e.to_string();
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", problem.clone())
                .with_details(json!({"problem": problem, "line": e.line(), "column": e.column()})))
        }
        Err(e) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"))
                .with_details(json!({"line": e.line(), "column": e.column()})))
        }
    }
}

/// A query string, refused with the envelope when it does not parse.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state).await.map(|Query(q)| QueryParams(q)).map_err(ApiError::from)
    }
}

/// Parses an id from the path; an id that is not even a UUID names nothing, so it is `not_found`.
pub fn path_id<T>(entity: &'static str, raw: &str) -> Result<Id<T>, ApiError> {
    raw.parse().map_err(|_| AppError::not_found(entity, raw).into())
}

/// A field of a form posted as `application/x-www-form-urlencoded`, the first of that name.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

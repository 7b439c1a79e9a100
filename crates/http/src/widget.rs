//! The checkout widget: a point picker a shop embeds with one script tag (`/widget.js`), the picker
//! page itself (`/widget`, in an iframe), its assets, a demo shop page (`/widget/demo`), and the
//! public search it calls (`/widget/points`).
//!
//! The picker runs in customers' browsers, where no secret can be kept: its search is public and
//! read-only (pickup points are public places; operators publish them). Everything is served by relais
//! itself, with no third-party script or font; map tiles only from the tile service an operator
//! configured (`[console] tile_url`), the plain drawing without one.

use axum::Json;
use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use relais_app::Caller;

use crate::HttpState;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::points::{SearchQuery, SearchView, search_as};

const PICKER_HTML: &str = include_str!("../widget/widget.html");
const PICKER_JS: &str = include_str!("../widget/app.js");
const PICKER_CSS: &str = include_str!("../widget/widget.css");
const LOADER_JS: &str = include_str!("../widget/loader.js");
const DEMO_HTML: &str = include_str!("../widget/demo.html");
const DEMO_JS: &str = include_str!("../widget/demo.js");

/// Only relais' own scripts, styles and API; the picker may be framed by any shop.
const PICKER_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors *; base-uri 'none'; form-action 'none'";
const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; frame-src 'self'; base-uri 'none'; form-action 'self'";

pub(crate) fn asset(content_type: &'static str, body: &'static str, csp: Option<&'static str>) -> Response {
    let mut response = ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "public, max-age=300")], body).into_response();
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, axum::http::HeaderValue::from_static("nosniff"));
    if let Some(csp) = csp {
        headers.insert(CONTENT_SECURITY_POLICY, axum::http::HeaderValue::from_static(csp));
    }
    response
}

#[utoipa::path(get, path = "/widget", tag = "pages",
    responses((status = 200, content_type = "text/html", body = String)))]
/// The point picker page a shop frames (`?lat=&lon=` or `?postcode=`, and the parcel's size).
pub async fn picker(State(state): State<HttpState>) -> Response {
    let Some(tiles) = state.app.map_tiles() else {
        return asset("text/html; charset=utf-8", PICKER_HTML, Some(PICKER_CSP));
    };
    // With a tile service: the console's map library draws the points over its tiles, the only other
    // origin the page may load (images).
    let html = PICKER_HTML
        .replace(
            "</head>",
            "<link rel=\"stylesheet\" href=\"/assets/leaflet/leaflet.css\">\
             <script src=\"/assets/leaflet/leaflet.js\"></script></head>",
        )
        .replace(
            "<main class=\"relais-picker\">",
            &format!(
                "<main class=\"relais-picker\" data-tiles=\"{}\" data-attribution=\"{}\">",
                crate::recipients::escape(&tiles.url),
                crate::recipients::escape(&tiles.attribution)
            ),
        );
    let csp = PICKER_CSP.replace("img-src 'self' data:", &format!("img-src 'self' data: {}", tiles.origin()));
    let mut response = asset("text/html; charset=utf-8", "", None);
    *response.body_mut() = axum::body::Body::from(html);
    if let Ok(csp) = axum::http::HeaderValue::from_str(&csp) {
        response.headers_mut().insert(CONTENT_SECURITY_POLICY, csp);
    }
    response
}

#[utoipa::path(get, path = "/widget/app.js", tag = "pages",
    responses((status = 200, content_type = "text/javascript", body = String)))]
/// The picker's script.
pub async fn picker_js() -> Response {
    asset("text/javascript; charset=utf-8", PICKER_JS, None)
}

#[utoipa::path(get, path = "/widget/widget.css", tag = "pages",
    responses((status = 200, content_type = "text/css", body = String)))]
/// The picker's style.
pub async fn picker_css() -> Response {
    asset("text/css; charset=utf-8", PICKER_CSS, None)
}

#[utoipa::path(get, path = "/widget.js", tag = "pages",
    responses((status = 200, content_type = "text/javascript", body = String)))]
/// The script a shop embeds with one tag: it frames the picker and hands the chosen point back to the page.
pub async fn loader_js() -> Response {
    asset("text/javascript; charset=utf-8", LOADER_JS, None)
}

#[utoipa::path(get, path = "/widget/demo", tag = "pages",
    responses((status = 200, content_type = "text/html", body = String)))]
/// A demo shop page with the widget in its checkout.
pub async fn demo() -> Response {
    asset("text/html; charset=utf-8", DEMO_HTML, Some(DEMO_CSP))
}

#[utoipa::path(get, path = "/widget/demo.js", tag = "pages",
    responses((status = 200, content_type = "text/javascript", body = String)))]
/// The demo shop page's script.
pub async fn demo_js() -> Response {
    asset("text/javascript; charset=utf-8", DEMO_JS, None)
}

#[utoipa::path(get, path = "/widget/points", tag = "points", params(SearchQuery),
    responses((status = 200, body = SearchView),
        (status = 422, body = crate::error::ErrorEnvelope, description = "`validation_failed`, or `place_not_found`: an unknown postcode or city."),
        (status = 429, body = crate::error::ErrorEnvelope, description = "`rate_limited`: too many searches from this address; `details.retry_after_seconds`.")))]
/// The search of `/v1/points/search` without a key, for the picker in customers' browsers; limited per
/// client address.
pub async fn points(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<SearchView>, ApiError> {
    limit_public(&state, client)?;
    search_as(&state, &Caller::system(), query)
}

/// The limit of the public routes (widget search, recipient pages): requests per client address.
pub(crate) fn limit_public(
    state: &HttpState,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<(), ApiError> {
    // Without the peer address (a server not started with connect info) all clients share one bucket.
    let address = client.map_or(IpAddr::from([0, 0, 0, 0]), |Extension(ConnectInfo(a))| a.ip());
    match state.public_limiter.allow(address, std::time::Instant::now()) {
        Ok(()) => Ok(()),
        Err(wait) => {
            let seconds = (wait.as_secs_f64().ceil() as u64).max(1);
            Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from this address; retry in {seconds} s"),
            )
            .with_details(serde_json::json!({"what": "requests", "retry_after_seconds": seconds}))
            .with_retry_after(seconds))
        }
    }
}

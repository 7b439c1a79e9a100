//! The relais JSON API: routes, middleware (body limit, request ids, tracing, metrics), the OpenAPI
//! document at `/openapi.json` with browsable docs at `/docs`, and the error envelope.
//! Handlers hold no rules and no SQL: each calls one use case of `relais-app`.

pub mod counter;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod kpis;
pub mod limiter;
pub mod lockers;
pub mod points;
pub mod recipients;
pub mod widget;
pub mod wire;

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use relais_app::App;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    /// Largest request body accepted; larger ones get `413 payload_too_large`.
    pub request_body_bytes_max: usize,
    /// Largest point file `POST /v1/networks/{id}/imports` accepts (a 200,000-point file is ~40 MB).
    pub import_body_bytes_max: usize,
    /// Requests per minute one client address may make to the widget's public search (0: no limit).
    pub widget_requests_per_minute: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_body_bytes_max: 64 * 1024,
            import_body_bytes_max: 256 * 1024 * 1024,
            widget_requests_per_minute: 120,
        }
    }
}

#[derive(Clone)]
pub struct HttpState {
    pub app: App,
    metrics: PrometheusHandle,
    /// Requests per client address on the public routes.
    pub public_limiter: std::sync::Arc<limiter::Limiter>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "relais API", description = "Pickup points, lockers and the parcels that go through them. \
        Authenticate with `Authorization: Bearer <API key>`. Errors are `{\"error\": {\"code\", \"message\", \"details\"}}` \
        with the stable codes of docs/api/errors.md."),
    paths(
        handlers::healthz, handlers::readyz, handlers::me,
        handlers::create_network, handlers::list_networks, handlers::get_network, handlers::create_merchant,
        handlers::create_point, handlers::list_points, handlers::get_point, handlers::create_api_key,
        handlers::announce, handlers::list_parcels, handlers::get_parcel, handlers::parcel_events, handlers::scan,
        handlers::deposit, handlers::pickup_at_point, handlers::pickup_parcel, handlers::extend,
        handlers::collect_return, handlers::return_to_sender, handlers::cancel, handlers::report_incident, handlers::force_expiry,
        handlers::sweep, handlers::counter_scan_in, handlers::counter_hand_over,
        points::search, points::check, points::same_place, points::history, points::import, points::list_imports,
        points::occupancy, widget::points, kpis::kpis,
        lockers::signing_key, lockers::courier_code, lockers::open_session, lockers::get_session, lockers::scan,
        lockers::refuse, lockers::close_session, lockers::receipt, lockers::heartbeat, lockers::door_commands,
        lockers::door_event, lockers::offline_collection, lockers::open_door, lockers::repair_door,
        lockers::device_status, lockers::audit, lockers::open_return_session, lockers::return_list,
        lockers::move_parcel, lockers::relocate,
    ),
    modifiers(&ApiKeyScheme),
)]
pub struct ApiDoc;

struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("rk_<role>_<hex>").build(),
            ),
        );
    }
}

/// The process-wide Prometheus recorder (the `metrics` facade has one global recorder).
fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; metrics then go there instead.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The whole API as an axum router.
pub fn router(app: App, config: HttpConfig) -> Router {
    let public_limiter = std::sync::Arc::new(limiter::Limiter::new(config.widget_requests_per_minute));
    let state = HttpState { app, metrics: prometheus(), public_limiter };
    let api = Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(render_metrics))
        .route("/v1/networks", post(handlers::create_network).get(handlers::list_networks))
        .route("/v1/networks/{id}", get(handlers::get_network))
        .route("/v1/merchants", post(handlers::create_merchant))
        .route("/v1/points", post(handlers::create_point).get(handlers::list_points))
        .route("/v1/points/search", get(points::search))
        .route("/v1/points/{id}", get(handlers::get_point))
        .route("/v1/points/{id}/check", get(points::check))
        .route("/v1/points/{id}/same-place", get(points::same_place))
        .route("/v1/points/{id}/history", get(points::history))
        .route("/v1/points/{id}/occupancy", get(points::occupancy))
        .route(
            "/v1/networks/{id}/imports",
            post(points::import).layer(DefaultBodyLimit::max(config.import_body_bytes_max)).get(points::list_imports),
        )
        .route("/v1/points/{id}/pickups", post(handlers::pickup_at_point))
        .route("/v1/points/{id}/scan-in", post(handlers::counter_scan_in))
        .route("/v1/points/{id}/hand-overs", post(handlers::counter_hand_over))
        .route("/v1/signing-key", get(lockers::signing_key))
        .route("/v1/points/{id}/courier-code", get(lockers::courier_code))
        .route("/v1/points/{id}/drop-off-sessions", post(lockers::open_session))
        .route("/v1/drop-off-sessions/{id}", get(lockers::get_session))
        .route("/v1/points/{id}/return-sessions", post(lockers::open_return_session))
        .route("/v1/points/{id}/return-list", get(lockers::return_list))
        .route("/v1/drop-off-sessions/{id}/scans", post(lockers::scan))
        .route("/v1/drop-off-sessions/{id}/refusals", post(lockers::refuse))
        .route("/v1/drop-off-sessions/{id}/close", post(lockers::close_session))
        .route("/v1/drop-off-sessions/{id}/receipt", get(lockers::receipt))
        .route("/v1/points/{id}/heartbeat", post(lockers::heartbeat))
        .route("/v1/points/{id}/door-commands", get(lockers::door_commands))
        .route("/v1/points/{id}/doors/{door}/events", post(lockers::door_event))
        .route("/v1/points/{id}/doors/{door}/open", post(lockers::open_door))
        .route("/v1/points/{id}/doors/{door}/repair", post(lockers::repair_door))
        .route("/v1/points/{id}/offline-collections", post(lockers::offline_collection))
        .route("/v1/points/{id}/device", get(lockers::device_status))
        .route("/v1/audit", get(lockers::audit))
        .route("/v1/api-keys", post(handlers::create_api_key))
        .route("/v1/parcels", post(handlers::announce).get(handlers::list_parcels))
        .route("/v1/parcels/{id}", get(handlers::get_parcel))
        .route("/v1/parcels/{id}/events", get(handlers::parcel_events))
        .route("/v1/parcels/{id}/scan", post(handlers::scan))
        .route("/v1/parcels/{id}/deposit", post(handlers::deposit))
        .route("/v1/parcels/{id}/pickup", post(handlers::pickup_parcel))
        .route("/v1/parcels/{id}/extend", post(handlers::extend))
        .route("/v1/parcels/{id}/return-collection", post(handlers::collect_return))
        .route("/v1/parcels/{id}/return-to-sender", post(handlers::return_to_sender))
        .route("/v1/parcels/{id}/cancel", post(handlers::cancel))
        .route("/v1/parcels/{id}/incidents", post(handlers::report_incident))
        .route("/v1/parcels/{id}/force-expiry", post(handlers::force_expiry))
        .route("/v1/parcels/{id}/move", post(lockers::move_parcel))
        .route("/v1/parcels/{id}/relocate", post(lockers::relocate))
        .route("/v1/jobs/sweep", post(handlers::sweep))
        .route("/v1/kpis", get(kpis::kpis))
        .route("/r/{token}", get(recipients::page))
        .route("/r/{token}/extend", post(recipients::extend))
        .route("/counter", get(counter::page))
        .route("/counter/app.js", get(counter::script))
        .route("/counter/counter.css", get(counter::style))
        .route("/v1/me", get(handlers::me))
        .route("/widget", get(widget::picker))
        .route("/widget.js", get(widget::loader_js))
        .route("/widget/app.js", get(widget::picker_js))
        .route("/widget/widget.css", get(widget::picker_css))
        .route("/widget/demo", get(widget::demo))
        .route("/widget/demo.js", get(widget::demo_js))
        .route("/widget/points", get(widget::points))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state);
    Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
        .merge(api)
        .layer(DefaultBodyLimit::max(config.request_body_bytes_max))
        .layer(middleware::from_fn(track_metrics))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            let path = logged_path(request.uri().path());
            tracing::info_span!("request", method = %request.method(), path = %path, request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The path as logs show it: a recipient link's token is a capability (it opens that parcel's page), so
/// it is never written to a log.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/r/") {
        Some(rest) => {
            let tail = rest.split_once('/').map(|(_, tail)| format!("/{tail}")).unwrap_or_default();
            std::borrow::Cow::Owned(format!("/r/<token>{tail}"))
        }
        None => std::borrow::Cow::Borrowed(path),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
}

async fn render_metrics(State(state): State<HttpState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Counts requests and their latency per route template (not per concrete path: ids would explode the
/// number of series).
async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("relais_http_requests_total", &labels).increment(1);
    metrics::histogram!("relais_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn recipient_tokens_never_reach_the_logs() {
        assert_eq!(logged_path("/r/RL1.abcdef"), "/r/<token>");
        assert_eq!(logged_path("/r/RL1.abcdef/extend"), "/r/<token>/extend");
        assert_eq!(logged_path("/v1/parcels/x"), "/v1/parcels/x");
    }
}

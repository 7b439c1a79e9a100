//! The relais JSON API: routes gathered with their OpenAPI entries (`doc`), middleware (body limit,
//! request ids, the request log, metrics), the document at `/openapi.json` with browsable docs at
//! `/docs`, and the error envelope. Handlers hold no rules and no SQL: each calls one use case of
//! `relais-app`. The modules follow the capabilities: `operations`, `network`, `parcels`, `counter`,
//! `lockers`, `device`, `points`, `kpis`, `recipients` and `widget`.

pub mod chart;
pub mod claims;
pub mod console;
pub mod console_alerts;
pub mod console_kpis;
pub mod console_points;
pub mod counter;
pub mod device;
pub mod doc;
pub mod error;
pub mod extract;
pub mod kpis;
pub mod labels;
pub mod limiter;
pub mod lockers;
pub mod names;
pub mod network;
pub mod notify;
pub mod numbers;
pub mod operations;
pub mod orders;
pub mod parcels;
pub mod points;
pub mod recipients;
pub mod server;
pub mod templates;
pub mod tracking;
pub mod widget;
pub mod wire;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use relais_app::App;
use serde_json::Value;
use tower_http::request_id::{MakeRequestId, MakeRequestUuid};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::doc::{ApiDoc, RoleGate};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    /// Largest request body accepted; larger ones get `413 payload_too_large`.
    pub request_body_bytes_max: usize,
    /// Largest point file `POST /v1/networks/{id}/imports` accepts (a 200,000-point file is ~40 MB).
    pub import_body_bytes_max: usize,
    /// Requests per minute one client address may make to the public routes (widget search, recipient
    /// pages); 0: no limit.
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
    pub public_limiter: Arc<limiter::Limiter>,
    /// Who may call each keyed route, from the document.
    pub roles: Arc<RoleGate>,
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

/// Every route with its document entry. A route is added here and nowhere else, so the document lists
/// every route the router answers (`/docs` and `/openapi.json` aside).
fn routes(config: &HttpConfig) -> OpenApiRouter<HttpState> {
    let (schemas, paths, import) = routes!(points::import);
    let import = (schemas, paths, import.layer(DefaultBodyLimit::max(config.import_body_bytes_max)));
    let (schemas, paths, evidence) = routes!(claims::add_evidence);
    let evidence_limit = relais_app::claims::EVIDENCE_BYTES_MAX + 1024;
    let evidence = (schemas, paths, evidence.layer(DefaultBodyLimit::max(evidence_limit)));
    let (schemas, paths, damage) = routes!(recipients::report_damage);
    let damage = (schemas, paths, damage.layer(DefaultBodyLimit::max(evidence_limit + 4096)));
    let (schemas, paths, orders_import) = routes!(orders::import_orders);
    let orders_import = (schemas, paths, orders_import.layer(DefaultBodyLimit::max(config.import_body_bytes_max)));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(operations::healthz))
        .routes(routes!(operations::readyz))
        .routes(routes!(operations::metrics))
        .routes(routes!(operations::me))
        .routes(routes!(operations::sweep))
        .routes(routes!(operations::audit))
        .routes(routes!(kpis::kpis))
        .routes(routes!(kpis::reviews))
        .routes(routes!(kpis::nps))
        .routes(routes!(network::create_network, network::list_networks))
        .routes(routes!(network::get_network))
        .routes(routes!(network::create_merchant))
        .routes(routes!(network::create_carrier, network::list_carriers))
        .routes(routes!(network::get_carrier))
        .routes(routes!(network::set_carrier_networks))
        .routes(routes!(network::create_point, network::list_points))
        .routes(routes!(network::get_point))
        .routes(routes!(network::create_api_key, network::list_api_keys))
        .routes(routes!(network::revoke_api_key))
        .routes(routes!(network::rotate_api_key))
        .routes(routes!(parcels::announce, parcels::list_parcels))
        .routes(routes!(parcels::get_parcel))
        .routes(routes!(parcels::parcel_events))
        .routes(routes!(parcels::scan))
        .routes(routes!(parcels::deposit))
        .routes(routes!(parcels::pickup_parcel))
        .routes(routes!(parcels::pickup_at_point))
        .routes(routes!(parcels::extend))
        .routes(routes!(parcels::reissue_code))
        .routes(routes!(parcels::collect_return))
        .routes(routes!(parcels::return_to_sender))
        .routes(routes!(parcels::cancel))
        .routes(routes!(parcels::report_incident))
        .routes(routes!(parcels::force_expiry))
        .routes(routes!(parcels::move_parcel))
        .routes(routes!(parcels::relocate))
        .routes(routes!(notify::parcel_messages))
        .routes(routes!(notify::create_endpoint, notify::list_endpoints))
        .routes(routes!(notify::get_endpoint))
        .routes(routes!(notify::rotate_secret))
        .routes(routes!(notify::disable_endpoint))
        .routes(routes!(notify::enable_endpoint))
        .routes(routes!(notify::endpoint_deliveries))
        .routes(routes!(notify::resend))
        .routes(routes!(notify::twilio_status))
        .routes(routes!(notify::set_branding))
        .routes(routes!(templates::list_templates))
        .routes(routes!(templates::get_template, templates::save_template, templates::reset_template))
        .routes(routes!(templates::preview))
        .routes(routes!(numbers::set_sscc, numbers::get_sscc))
        .routes(routes!(numbers::set_s10, numbers::get_s10))
        .routes(routes!(numbers::issue))
        .routes(routes!(orders::create_order, orders::find_order))
        .routes(orders_import)
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::export_parcels))
        .routes(routes!(orders::last_point))
        .routes(routes!(orders::add_shipment))
        .routes(routes!(orders::set_connector))
        .routes(routes!(orders::shopify_order))
        .routes(routes!(orders::woocommerce_order))
        .routes(routes!(orders::magento_order))
        .routes(routes!(labels::parcel_label))
        .routes(routes!(labels::order_labels))
        .routes(routes!(labels::packing_request))
        .routes(routes!(labels::invoice_data))
        .routes(routes!(tracking::track_parcel, tracking::parcel_tracking))
        .routes(routes!(tracking::carrier_push))
        .routes(routes!(tracking::order_tracking))
        .routes(routes!(claims::list_claims))
        .routes(routes!(claims::claim_dossier))
        .routes(routes!(claims::decide_claim))
        .routes(routes!(claims::open_claim))
        .routes(evidence)
        .routes(routes!(claims::evidence_file))
        .routes(routes!(counter::scan_in))
        .routes(routes!(counter::hand_over))
        .routes(routes!(counter::page))
        .routes(routes!(counter::script))
        .routes(routes!(counter::style))
        .routes(routes!(lockers::signing_key))
        .routes(routes!(lockers::courier_code))
        .routes(routes!(lockers::open_session))
        .routes(routes!(lockers::get_session))
        .routes(routes!(lockers::scan))
        .routes(routes!(lockers::refuse))
        .routes(routes!(lockers::close_session))
        .routes(routes!(lockers::receipt))
        .routes(routes!(lockers::open_return_session))
        .routes(routes!(lockers::return_list))
        .routes(routes!(lockers::open_door))
        .routes(routes!(lockers::repair_door))
        .routes(routes!(lockers::door_out_of_service))
        .routes(routes!(lockers::enrol))
        .routes(routes!(lockers::device_status))
        .routes(routes!(device::heartbeat))
        .routes(routes!(device::door_commands))
        .routes(routes!(device::door_event))
        .routes(routes!(device::offline_collection))
        .routes(routes!(points::search))
        .routes(routes!(points::check))
        .routes(routes!(points::same_place))
        .routes(routes!(points::history))
        .routes(routes!(points::occupancy))
        .routes(import)
        .routes(routes!(points::list_imports))
        .routes(routes!(recipients::page))
        .routes(routes!(recipients::extend))
        .routes(routes!(console::login_page, console::login))
        .routes(routes!(console::home))
        .routes(routes!(console::logout))
        .routes(routes!(console::search))
        .routes(routes!(console::parcel))
        .routes(routes!(console::act))
        .routes(routes!(console_kpis::dashboard))
        .routes(routes!(console_kpis::csv))
        .routes(routes!(console_alerts::page))
        .routes(routes!(console_alerts::acknowledge))
        .routes(routes!(console_alerts::stream))
        .routes(routes!(console_alerts::script))
        .routes(routes!(console_points::list))
        .routes(routes!(console_points::map))
        .routes(routes!(console_points::imports))
        .routes(routes!(console_points::import))
        .routes(routes!(console_points::map_points))
        .routes(routes!(console_points::leaflet))
        .routes(routes!(console_points::map_script))
        .routes(routes!(console_points::page))
        .routes(routes!(console_points::door_act))
        .routes(routes!(console_points::enrol))
        .routes(routes!(console_points::revoke))
        .routes(damage)
        .routes(routes!(recipients::stop_page, recipients::stop))
        .routes(routes!(recipients::survey_page, recipients::answer_survey))
        .routes(routes!(widget::picker))
        .routes(routes!(widget::loader_js))
        .routes(routes!(widget::picker_js))
        .routes(routes!(widget::picker_css))
        .routes(routes!(widget::demo))
        .routes(routes!(widget::demo_js))
        .routes(routes!(widget::points))
}

/// The API's OpenAPI document, as `/openapi.json` serves it.
pub fn openapi() -> Value {
    let (_, openapi) = routes(&HttpConfig::default()).split_for_parts();
    doc::complete(openapi)
}

/// `GET /metrics` alone, for a process that serves no API (`relais worker`): what Prometheus scrapes
/// of it (its deliveries' attempts, the store's commands), on an address of its own.
pub fn metrics_router() -> Router {
    let handle = prometheus();
    Router::new().route("/metrics", axum::routing::get(move || async move { prometheus_text(&handle) }))
}

/// The whole API as an axum router.
pub fn router(app: App, config: HttpConfig) -> Router {
    let (api, openapi) = routes(&config).split_for_parts();
    let document = doc::complete(openapi);
    let roles = Arc::new(RoleGate::from_doc(&document));
    let public_limiter = Arc::new(limiter::Limiter::new(config.widget_requests_per_minute));
    let state = HttpState { app, metrics: prometheus(), public_limiter, roles };
    // Swagger UI reads the completed document; it is the same JSON `/openapi.json` serves.
    let served: utoipa::openapi::OpenApi = serde_json::from_value(document).unwrap_or_else(|_| ApiDoc::openapi());
    let api = api.method_not_allowed_fallback(method_not_allowed).fallback(not_found).with_state(state);
    Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", served))
        .merge(api)
        .layer(DefaultBodyLimit::max(config.request_body_bytes_max))
        .layer(middleware::from_fn(observe))
}

/// Longest `X-Request-Id` kept from a client; a longer one, or one with other characters than letters,
/// digits and `-_.:`, is replaced (it goes into every log line of the request).
pub const REQUEST_ID_LENGTH_MAX: usize = 64;

/// The request id a client sent, if it is safe to log and echo.
fn client_request_id(value: &HeaderValue) -> Option<&str> {
    let id = value.to_str().ok()?;
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!id.is_empty() && id.len() <= REQUEST_ID_LENGTH_MAX && id.chars().all(safe)).then_some(id)
}

/// What every request goes through: an `X-Request-Id` (the client's if it is safe, else a new one) on
/// the request, its response and its log lines; one log line per request (method, path without
/// secrets, status, duration); and the Prometheus counters and latency per route template (not per
/// concrete path: ids would explode the number of series).
async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let kept = request.headers().get("x-request-id").filter(|v| client_request_id(v).is_some()).cloned();
    let header_value = kept
        .or_else(|| MakeRequestUuid.make_request_id(&request).map(|id| id.header_value().clone()))
        .unwrap_or_else(|| HeaderValue::from_static("-"));
    let id = header_value.to_str().unwrap_or("-").to_owned();
    request.headers_mut().insert("x-request-id", header_value.clone());
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let path = logged_path(request.uri().path()).into_owned();
    let span = tracing::info_span!("request", method = %method, path = %path, request_id = %id);
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    response.headers_mut().insert("x-request-id", header_value);
    let status = response.status();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), duration_ms = elapsed.as_secs_f64() * 1000.0, "request");
    });
    let labels = [("method", method.to_string()), ("route", route), ("status", status.as_u16().to_string())];
    metrics::counter!("relais_http_requests_total", &labels).increment(1);
    metrics::histogram!("relais_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    response
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

/// The Prometheus text of the process's metrics.
pub(crate) fn render_metrics(state: &HttpState) -> Response {
    prometheus_text(&state.metrics)
}

fn prometheus_text(handle: &PrometheusHandle) -> Response {
    let mut response = handle.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::{client_request_id, logged_path};

    #[test]
    fn recipient_tokens_never_reach_the_logs() {
        assert_eq!(logged_path("/r/RL1.abcdef"), "/r/<token>");
        assert_eq!(logged_path("/r/RL1.abcdef/extend"), "/r/<token>/extend");
        assert_eq!(logged_path("/v1/parcels/x"), "/v1/parcels/x");
    }

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        let kept = HeaderValue::from_static("req-42_a.b:c");
        assert_eq!(client_request_id(&kept), Some("req-42_a.b:c"));
        for refused in ["", "a b", "x\u{7f}", "<script>", &"a".repeat(65)] {
            let Ok(value) = HeaderValue::from_str(refused) else { continue };
            assert_eq!(client_request_id(&value), None, "{refused:?}");
        }
    }
}

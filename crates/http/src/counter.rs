//! The counter page (`/counter`): a partner shop's staff receive parcels onto the shelf and hand them
//! over with the code and an identity check, from a phone. A static page and script, served by relais
//! itself, that call the API with the counter's device key (kept in the browser's local storage).

use axum::response::Response;

use crate::widget::asset;

const HTML: &str = include_str!("../counter/counter.html");
const JS: &str = include_str!("../counter/app.js");
const CSS: &str = include_str!("../counter/counter.css");

/// Only relais' own script, style and API; never framed (it holds a key).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub async fn page() -> Response {
    asset("text/html; charset=utf-8", HTML, Some(CSP))
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", JS, None)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", CSS, None)
}

//! The console's alerts: `/console/alerts` lists what needs an operator (occupancy above threshold,
//! door faults, silent lockers, refused imports, failing messages, claims near their deadline), each
//! acknowledged with a comment; `/console/alerts/stream` keeps the list and the count in every page's
//! navigation live without reloading (server-sent events, read by `/console/assets/console.js`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use relais_app::AppError;
use relais_app::alerts::AlertsView;
use relais_domain::alert::{Alert, AlertKind, AlertSubject};
use relais_domain::console::ConsoleRole;

use crate::HttpState;
use crate::console::{Section, session_token, shell, signed_in};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{QueryParams, RawBody, form_field};
use crate::recipients::{Lang, PageQuery, escape, see_other};

/// How often the stream looks at the alerts again.
const STREAM_EVERY: Duration = Duration::from_secs(3);
/// A stream ends after this long; the browser's `EventSource` opens a new one by itself (and a
/// session that ended meanwhile then gets nothing).
const STREAM_FOR: Duration = Duration::from_secs(600);

fn kind_text(lang: Lang, kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Occupancy => lang.text("Occupation au-dessus du seuil", "Occupancy above threshold"),
        AlertKind::DoorFault => lang.text("Porte en défaut", "Door fault"),
        AlertKind::DeviceSilent => lang.text("Casier muet", "Locker silent"),
        AlertKind::ImportRefused => lang.text("Import refusé", "Import refused"),
        AlertKind::MessageFailing => lang.text("Message non envoyé", "Message failing"),
        AlertKind::ClaimDeadline => lang.text("Réclamation à déposer", "Claim to file"),
    }
}

/// What the alert is about, as a link where the console has a page for it.
fn subject_html(state: &HttpState, lang: Lang, subject: &AlertSubject) -> String {
    let point_name = |id| state.app.registry_point(id).map(|p| p.name.clone()).unwrap_or_else(|| id.to_string());
    let code = lang.code();
    match subject {
        AlertSubject::Point(id) => {
            format!("<a href=\"/console/points/{id}?lang={code}\">{}</a>", escape(&point_name(*id)))
        }
        AlertSubject::Door { point_id, label, .. } => format!(
            "<a href=\"/console/points/{point_id}?lang={code}\">{}</a> · {} {}",
            escape(&point_name(*point_id)),
            lang.text("porte", "door"),
            escape(label)
        ),
        AlertSubject::Import { import_id, .. } => format!("{} {import_id}", lang.text("import", "import")),
        AlertSubject::Message { parcel_id: Some(parcel), channel } => format!(
            "<a href=\"/console/parcels/{parcel}?lang={code}\">{} {parcel}</a> · {}",
            lang.text("colis", "parcel"),
            escape(channel)
        ),
        AlertSubject::Message { parcel_id: None, channel } => escape(channel),
        AlertSubject::Claim { parcel_id, .. } => format!(
            "<a href=\"/console/parcels/{parcel_id}?lang={code}\">{} {parcel_id}</a>",
            lang.text("colis", "parcel")
        ),
    }
}

/// The open alerts' table (the page and the stream send the same), with an acknowledge form on each
/// row for the accounts that act.
fn open_html(state: &HttpState, lang: Lang, view: &AlertsView, csrf: Option<&str>) -> String {
    if view.open.is_empty() {
        return format!("<p class=\"notice\">{}</p>", lang.text("Aucune alerte ouverte.", "No open alert."));
    }
    let mut out = format!(
        "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        lang.text("Alerte", "Alert"),
        lang.text("Objet", "About"),
        lang.text("Depuis", "Since"),
        lang.text("Détail", "Detail"),
    );
    for alert in &view.open {
        out.push_str(&row(state, lang, alert));
        let form = csrf.map(|csrf| {
            format!(
                "<form method=\"post\" action=\"/console/alerts/acknowledge?lang={}\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"key\" value=\"{}\">\
                 <input name=\"comment\" maxlength=\"500\" required placeholder=\"{}\" aria-label=\"{}\">\
                 <button type=\"submit\">{}</button></form>",
                lang.code(),
                escape(csrf),
                escape(&alert.key),
                lang.text("Ce qui est fait", "What is being done"),
                lang.text("Commentaire", "Comment"),
                lang.text("Acquitter", "Acknowledge"),
            )
        });
        out.push_str(&format!("<td>{}</td></tr>", form.unwrap_or_default()));
    }
    out.push_str("</tbody></table></div>");
    out
}

fn row(state: &HttpState, lang: Lang, alert: &Alert) -> String {
    format!(
        "<tr class=\"alert {}\"><td>{}</td><td>{}</td><td><time>{}</time></td><td>{}</td>",
        alert.kind.as_str(),
        kind_text(lang, alert.kind),
        subject_html(state, lang, &alert.subject),
        alert.since.format("%Y-%m-%d %H:%M UTC"),
        escape(&alert.detail),
    )
}

#[utoipa::path(get, path = "/console/alerts", tag = "console", params(PageQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The open alerts (each with its acknowledge form for the accounts that act), then the acknowledged ones with who, when and why."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, content_type = "text/html", body = String, description = "A merchant's account: alerts are the network's.")))]
/// The alerts page.
pub async fn page(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let user = match signed_in(&state, &headers, lang).await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let here = (Section::Alerts, &uri);
    let title = format!("<h1>{}</h1>", lang.text("Alertes", "Alerts"));
    let view = match state.app.alerts(&user.caller()).await {
        Ok(view) => view,
        Err(AppError::Forbidden { .. }) => {
            let text = lang.text(
                "<p>Les alertes sont celles du réseau : réservées aux comptes de l'opérateur.</p>",
                "<p>Alerts are the network's: for the operator's accounts.</p>",
            );
            return Ok(shell(StatusCode::FORBIDDEN, lang, &user, here, &format!("{title}{text}")));
        }
        Err(other) => return Err(other.into()),
    };
    let acts = user.account.role.acts() && user.account.role != ConsoleRole::Merchant;
    let csrf = acts.then_some(user.csrf.as_str());
    let mut main = format!("{title}<div id=\"alerts-open\">{}</div>", open_html(&state, lang, &view, csrf));
    if !view.acknowledged.is_empty() {
        main.push_str(&format!(
            "<h2>{}</h2><div class=\"scroll\"><table><tbody>",
            lang.text("Acquittées", "Acknowledged")
        ));
        for (alert, ack) in &view.acknowledged {
            main.push_str(&row(&state, lang, alert));
            main.push_str(&format!(
                "<td>{} · {} · {}</td></tr>",
                escape(&ack.by),
                ack.at.format("%Y-%m-%d %H:%M UTC"),
                escape(&ack.comment)
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    Ok(shell(StatusCode::OK, lang, &user, here, &main))
}

#[utoipa::path(post, path = "/console/alerts/acknowledge", tag = "console", params(PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf` (the session's token, from the page), `key` (the alert's) and `comment` (what is being done, 1 to 500 characters)."),
    responses((status = 303, description = "Acknowledged: back to the alerts."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in."),
        (status = 403, body = ErrorEnvelope, description = "`csrf_rejected`: the form is not from this session's page; `forbidden`: a read-only or merchant account."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: no comment, or not an alert's key.")))]
/// Acknowledges an alert with a comment.
pub async fn acknowledge(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let field = |name: &str| form_field(&body, name).unwrap_or_default();
    state.app.acknowledge_alert(&token, &field("csrf"), &field("key"), &field("comment")).await?;
    Ok(see_other(&format!("/console/alerts?lang={}", lang.code())))
}

#[utoipa::path(get, path = "/console/alerts/stream", tag = "console", params(PageQuery),
    responses((status = 200, content_type = "text/event-stream", body = String, description = "Server-sent events: `alerts` with `{\"open\": n, \"html\": \"...\"}` (the open alerts' table) when they change, the first at once; the stream ends after 10 minutes (the browser reconnects)."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a merchant's account.")))]
/// The open alerts, live.
pub async fn stream(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let user = state.app.console_user(&token).await?;
    // Refused now rather than as an empty stream.
    state.app.alerts(&user.caller()).await?;
    let acts = user.account.role.acts() && user.account.role != ConsoleRole::Merchant;
    let started = tokio::time::Instant::now();
    let events = futures_util::stream::unfold(String::new(), move |last| {
        let (state, token) = (state.clone(), token.clone());
        async move {
            let mut first = last.is_empty();
            loop {
                if !first {
                    tokio::time::sleep(STREAM_EVERY).await;
                }
                first = false;
                if started.elapsed() > STREAM_FOR {
                    return None;
                }
                // The session may have ended meanwhile (signed out, expired): the stream ends with it.
                let user = state.app.console_user(&token).await.ok()?;
                let view = state.app.alerts(&user.caller()).await.ok()?;
                let csrf = acts.then_some(user.csrf.as_str());
                let html = open_html(&state, lang, &view, csrf);
                if html != last {
                    let data = serde_json::json!({"open": view.open.len(), "html": html}).to_string();
                    let event = Event::default().event("alerts").data(data);
                    return Some((Ok::<Event, Infallible>(event), html));
                }
            }
        }
    });
    let mut response = Sse::new(events).keep_alive(KeepAlive::default()).into_response();
    response.headers_mut().insert(CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The console's script: the live alerts (the count in the navigation, the list on the alerts page).
/// Served from relais itself, so the content policy allows it (`script-src 'self'`).
pub const CONSOLE_JS: &str = include_str!("../console/console.js");

#[utoipa::path(get, path = "/console/assets/console.js", tag = "console",
    responses((status = 200, content_type = "text/javascript", body = String, description = "The console's script.")))]
/// The console's script.
pub async fn script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "public, max-age=300")], CONSOLE_JS)
        .into_response()
}

//! The operator console's sign-in (issue 19's foundation): `/console/login` (the form, then the
//! session cookie), `/console` (the signed-in home; anyone else is sent to the sign-in page) and
//! `/console/logout` (a form with the session's CSRF token). French and English, the strict content
//! policy of relais' other pages, no third-party scripts or fonts. The cookie is `HttpOnly`,
//! `SameSite=Strict`, scoped to `/console`, `Secure` when relais is reached over HTTPS.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use relais_app::AppError;
use relais_app::console::{ConsoleUser, ParcelAction};

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{QueryParams, RawBody, form_field};
use crate::recipients::{Lang, PageQuery, escape, html_page_with, see_other};
use crate::widget::limit_public;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "relais_console";

fn page(status: StatusCode, lang: Lang, main: &str) -> Response {
    html_page_with(status, lang, "relais console", STYLE, CSP, "", &format!("<main>{main}</main>"))
}

/// The console's content policy: its own scripts and styles only (the live alerts and the map), images
/// from itself (the map's tiles come through `[console] tile_url`, allowed there when set).
const CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A laptop's width, and a tablet's: the navigation wraps, tables scroll, charts flow in a grid.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f4f5f7}\
main{max-width:72rem;margin:auto;padding:1rem}h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.5rem}\
header{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem;padding:.6rem 1rem;background:#14213d;color:#fff}\
header a{color:#fff;text-decoration:none;padding:.3rem .2rem;margin-right:.6rem}header a[aria-current]{border-bottom:2px solid #fca311}\
header .who{margin-left:auto;font-size:.9rem}header form{margin:0}header button{padding:.3rem .6rem;font-size:.9rem}\
button{font-size:1rem;padding:.5rem .9rem;border:0;border-radius:.3rem;background:#0b5fff;color:#fff;cursor:pointer}\
input,select{font-size:1rem;padding:.35rem;margin:.2rem .4rem .2rem 0}form{margin:.6rem 0}\
table{border-collapse:collapse;background:#fff;width:100%}th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e3e3;\
text-align:left;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}.notice{background:#e7f6ec;padding:.6rem;\
border-radius:.3rem}.error{background:#fdecea}.muted{color:#555}.charts{display:grid;gap:1rem;\
grid-template-columns:repeat(auto-fit,minmax(19rem,1fr))}.card{background:#fff;border:1px solid #ddd;border-radius:.4rem;\
padding:.6rem .8rem}.card h3{font-size:1rem;margin:.2rem 0}.figure{font-size:1.6rem;font-variant-numeric:tabular-nums}\
.chart{width:100%;height:auto}ol.journey li{margin:.2rem 0}.badge:not(:empty){background:#fca311;color:#14213d;\
border-radius:1rem;padding:0 .45rem;font-size:.85rem;font-weight:bold}td form{display:flex;gap:.3rem;margin:0}\
.doors{display:grid;gap:.6rem;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr))}.door{background:#fff;\
border:1px solid #ddd;border-left:.4rem solid #2e7d32;border-radius:.3rem;padding:.4rem .6rem}.door h3{margin:.1rem 0;\
font-size:1rem}.door.occupied{border-left-color:#0b5fff}.door.reserved{border-left-color:#fca311}.door.out_of_service,\
.door.disabled{border-left-color:#c62828}.door p{margin:.2rem 0}.fault{color:#c62828}.door details form{display:block}\
.door label{display:block}.qr svg{width:min(100%,20rem);height:auto}#map{height:min(70vh,40rem);border:1px solid #ccc;\
border-radius:.3rem;background:#e8eef3}#map.plain{background:#eef2f5}.leaflet-tooltip.count{background:none;border:0;\
box-shadow:none;font-weight:bold;color:#14213d}";

/// The section of the console a page belongs to (its tab in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Home,
    Parcels,
    Network,
    Alerts,
    Kpis,
}

/// A signed-in page: the navigation, the language switch (the same page in the other language) and
/// the sign-out form, then `main`.
pub(crate) fn shell(status: StatusCode, lang: Lang, user: &ConsoleUser, here: (Section, &Uri), main: &str) -> Response {
    shell_with(status, lang, user, here, main, "", None)
}

/// A signed-in page with more in its `<head>` (the map's style and scripts) and, for a map with
/// tiles, their origin allowed as images.
pub(crate) fn shell_with(
    status: StatusCode,
    lang: Lang,
    user: &ConsoleUser,
    here: (Section, &Uri),
    main: &str,
    more_head: &str,
    tiles: Option<&relais_app::MapTiles>,
) -> Response {
    let (section, uri) = here;
    let tab = |target: Section, href: &str, fr: &'static str, en: &'static str| {
        let current = if target == section { " aria-current=\"page\"" } else { "" };
        format!("<a href=\"{href}?lang={}\"{current}>{}</a>", lang.code(), lang.text(fr, en))
    };
    let other = if lang == Lang::Fr { Lang::En } else { Lang::Fr };
    let mut switch = format!("{}?lang={}", uri.path(), other.code());
    for pair in uri.query().unwrap_or_default().split('&').filter(|p| !p.is_empty() && !p.starts_with("lang=")) {
        switch.push('&');
        switch.push_str(pair);
    }
    // The open alerts' count, filled in and kept live by the console's script (not for merchants).
    let alerts = if user.account.role == relais_domain::console::ConsoleRole::Merchant {
        String::new()
    } else {
        let current = if section == Section::Alerts { " aria-current=\"page\"" } else { "" };
        format!(
            "<a href=\"/console/alerts?lang={code}\"{current}>{} <span id=\"alerts-count\" class=\"badge\" \
             data-stream=\"/console/alerts/stream?lang={code}\"></span></a>",
            lang.text("Alertes", "Alerts"),
            code = lang.code()
        )
    };
    let nav = format!(
        "<header><strong>relais</strong><nav>{}{}{}{alerts}{}</nav>\
         <a href=\"{}\" hreflang=\"{}\" lang=\"{}\">{}</a>\
         <span class=\"who\">{} · {}</span>\
         <form method=\"post\" action=\"/console/logout?lang={}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">{}</button></form></header>",
        tab(Section::Home, "/console", "Accueil", "Home"),
        tab(Section::Parcels, "/console/parcels", "Colis", "Parcels"),
        tab(Section::Network, "/console/points", "Réseau", "Network"),
        tab(Section::Kpis, "/console/kpis", "Indicateurs", "KPIs"),
        escape(&switch),
        other.code(),
        other.code(),
        if lang == Lang::Fr { "English" } else { "Français" },
        escape(&user.account.name),
        role_text(lang, user),
        lang.code(),
        escape(&user.csrf),
        lang.text("Se déconnecter", "Sign out"),
    );
    let head = format!("<script src=\"/console/assets/console.js\" defer></script>{more_head}");
    let csp = match tiles {
        Some(tiles) => CSP.replace("img-src 'self' data:", &format!("img-src 'self' data: {}", tiles.origin())),
        None => CSP.to_owned(),
    };
    html_page_with(status, lang, "relais console", STYLE, &csp, &head, &format!("{nav}<main>{main}</main>"))
}

/// The session token the browser sent, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

fn login_form(lang: Lang, notice: Option<&str>) -> String {
    let notice =
        notice.map(|n| format!("<p class=\"notice error\" role=\"alert\">{}</p>", escape(n))).unwrap_or_default();
    format!(
        "<h1>relais</h1>{notice}<form method=\"post\" action=\"/console/login?lang={code}\">\
         <label>{email} <input type=\"email\" name=\"email\" autocomplete=\"username\" required></label><br>\
         <label>{password} <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">{submit}</button></form>\
         <footer><a href=\"/console/login?lang={other}\">{other_name}</a></footer>",
        code = lang.code(),
        email = lang.text("Adresse e-mail", "E-mail address"),
        password = lang.text("Mot de passe", "Password"),
        submit = lang.text("Se connecter", "Sign in"),
        other = if lang == Lang::Fr { "en" } else { "fr" },
        other_name = if lang == Lang::Fr { "English" } else { "Français" },
    )
}

#[utoipa::path(get, path = "/console/login", tag = "console", params(PageQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The sign-in form.")))]
/// The console's sign-in page.
pub async fn login_page(QueryParams(query): QueryParams<PageQuery>, headers: HeaderMap) -> Response {
    let lang = Lang::of(&query, &headers);
    page(StatusCode::OK, lang, &login_form(lang, None))
}

#[utoipa::path(post, path = "/console/login", tag = "console", params(PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`email` and `password`."),
    responses((status = 303, description = "Signed in: the session cookie is set, on to `/console`."),
        (status = 401, content_type = "text/html", body = String, description = "Unknown address, wrong password or disabled account (the page does not say which)."),
        (status = 429, content_type = "text/html", body = String, description = "Ten wrong passwords: the account is locked for a while (the page says until when).")))]
/// Signs in with an e-mail address and a password.
pub async fn login(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query, &headers);
    let field = |name: &str| form_field(&body, name).unwrap_or_default();
    match state.app.sign_in(&field("email"), &field("password")).await {
        Ok(session) => {
            let secure = if state.app.public_url().starts_with("https://") { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE_NAME}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                session.token,
                relais_domain::console::SESSION_HOURS * 3600
            );
            let mut response = see_other(&format!("/console?lang={}", lang.code()));
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(AppError::Unauthorized) => {
            let notice = lang.text("Adresse ou mot de passe incorrect.", "Wrong e-mail address or password.");
            Ok(page(StatusCode::UNAUTHORIZED, lang, &login_form(lang, Some(notice))))
        }
        Err(AppError::RateLimited { until, .. }) => {
            let notice = format!(
                "{} {}",
                lang.text(
                    "Trop de mots de passe erronés : ce compte est bloqué jusqu'à",
                    "Too many wrong passwords: this account is locked until"
                ),
                until.format("%H:%M UTC")
            );
            Ok(page(StatusCode::TOO_MANY_REQUESTS, lang, &login_form(lang, Some(&notice))))
        }
        Err(other) => Err(other.into()),
    }
}

fn role_text(lang: Lang, user: &ConsoleUser) -> &'static str {
    use relais_domain::console::ConsoleRole as R;
    match user.account.role {
        R::Admin => lang.text("administrateur", "administrator"),
        R::Operator => lang.text("opérateur", "operator"),
        R::ReadOnly => lang.text("lecture seule", "read-only"),
        R::Merchant => lang.text("marchand", "merchant"),
    }
}

#[utoipa::path(get, path = "/console", tag = "console", params(PageQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The signed-in home."),
        (status = 303, description = "Not signed in (or the session is over): on to `/console/login`.")))]
/// The console's home, for a signed-in account; anyone else is sent to the sign-in page.
pub async fn home(
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
    let main =
        format!("<h1>{} {}</h1>{}", lang.text("Bonjour", "Hello"), escape(&user.account.name), search_form(lang, ""),);
    Ok(shell(StatusCode::OK, lang, &user, (Section::Home, &uri), &main))
}

#[utoipa::path(post, path = "/console/logout", tag = "console", params(PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf`: the session's token, from the page's form."),
    responses((status = 303, description = "Signed out: the cookie is cleared, on to `/console/login`."),
        (status = 403, body = ErrorEnvelope, description = "`csrf_rejected`: the form is not from this session's page."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in.")))]
/// Signs out (the page's form, with the session's CSRF token).
pub async fn logout(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let csrf = form_field(&body, "csrf").unwrap_or_default();
    state.app.sign_out(&token, &csrf).await?;
    let mut response = see_other(&format!("/console/login?lang={}", lang.code()));
    let cleared = format!("{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cleared) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// The parcel search box.
fn search_form(lang: Lang, q: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/console/parcels\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{} <input type=\"search\" name=\"q\" value=\"{}\" required></label>\
         <button type=\"submit\">{}</button></form>",
        lang.code(),
        lang.text(
            "Numéro de colis, référence de commande, téléphone (+33…) ou e-mail du destinataire",
            "Parcel number, order reference, recipient's phone (+44…) or e-mail"
        ),
        escape(q),
        lang.text("Chercher", "Search"),
    )
}

/// The signed-in account, or the response that sends the browser to the sign-in page.
pub(crate) async fn signed_in(
    state: &HttpState,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<Result<ConsoleUser, Response>, ApiError> {
    let to_login = || see_other(&format!("/console/login?lang={}", lang.code()));
    let Some(token) = session_token(headers) else { return Ok(Err(to_login())) };
    match state.app.console_user(&token).await {
        Ok(user) => Ok(Ok(user)),
        Err(AppError::Unauthorized) => Ok(Err(to_login())),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// `fr` or `en`.
    pub lang: Option<String>,
    /// A parcel number, an order reference, or a recipient's phone number (international form) or
    /// e-mail address.
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/console/parcels", tag = "console", params(SearchQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The parcels with that number the account may see."),
        (status = 303, description = "Not signed in: on to `/console/login`.")))]
/// Finds parcels by their number, their order's reference, or their recipient's phone or e-mail
/// (matched by keyed digest): a merchant account its own, the others any.
pub async fn search(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<SearchQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&PageQuery { lang: query.lang.clone(), done: None }, &headers);
    let user = match signed_in(&state, &headers, lang).await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let q = query.q.unwrap_or_default();
    let found = state.app.find_parcels(&user.caller(), &q).await?;
    let mut main = format!("<h1>{}</h1>{}", lang.text("Colis", "Parcels"), search_form(lang, &q));
    if found.is_empty() && !q.trim().is_empty() {
        main.push_str(&format!("<p>{}</p>", lang.text("Aucun colis trouvé.", "No parcel found.")));
    }
    if !found.is_empty() {
        main.push_str(&format!(
            "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            lang.text("Numéro", "Number"),
            lang.text("État", "State"),
            lang.text("Annoncé le", "Announced"),
        ));
    }
    for parcel in &found {
        main.push_str(&format!(
            "<tr><td><a href=\"/console/parcels/{}?lang={}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            parcel.id,
            lang.code(),
            escape(parcel.number.as_str()),
            escape(parcel.state.as_str()),
            parcel.created_at.format("%Y-%m-%d %H:%M UTC"),
        ));
    }
    if !found.is_empty() {
        main.push_str("</tbody></table></div>");
    }
    Ok(shell(StatusCode::OK, lang, &user, (Section::Parcels, &uri), &main))
}

#[utoipa::path(get, path = "/console/parcels/{id}", tag = "console", params(("id" = String, Path), PageQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The parcel: its state, its journey (its carrier's events and relais' own) and the messages sent about it."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 404, content_type = "text/html", body = String, description = "No such parcel, or not the account's.")))]
/// A parcel's page: its state, its point, its journey and the messages sent about it (their channel,
/// state and attempts; never the recipient's address).
pub async fn parcel(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let user = match signed_in(&state, &headers, lang).await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let caller = user.caller();
    let not_found = || {
        let text = lang.text("<p>Colis introuvable.</p>", "<p>No such parcel.</p>");
        shell(StatusCode::NOT_FOUND, lang, &user, (Section::Parcels, &uri), text)
    };
    let Ok(parcel_id) = id.parse() else { return Ok(not_found()) };
    let timeline = match state.app.parcel_timeline(&caller, parcel_id).await {
        Ok(timeline) => timeline,
        Err(AppError::NotFound { .. }) => return Ok(not_found()),
        Err(other) => return Err(other.into()),
    };
    let parcel = state.app.parcel(&caller, parcel_id).await?;
    let messages = state.app.parcel_messages(&caller, parcel_id).await.unwrap_or_default();
    let mut main = format!(
        "{search}<h1>{} {}</h1><p>{}: <strong class=\"state\">{}</strong></p>",
        lang.text("Colis", "Parcel"),
        escape(parcel.number.as_str()),
        lang.text("État", "State"),
        escape(parcel.state.as_str()),
        search = search_form(lang, ""),
    );
    if let Some(tracking) = &timeline.tracking {
        main.push_str(&format!(
            "<p>{} {} · {}</p>",
            lang.text("Transporteur", "Carrier"),
            escape(&tracking.carrier),
            escape(&tracking.tracking_number)
        ));
    }
    main.push_str(&format!("<h2>{}</h2><ol class=\"journey\">", lang.text("Parcours", "Journey")));
    for entry in timeline.entries.iter().rev() {
        main.push_str(&format!(
            "<li><time>{}</time> {} · {} · {}</li>",
            escape(&entry.at.to_rfc3339()),
            escape(&entry.by),
            escape(&entry.code),
            escape(entry.status.as_str())
        ));
    }
    main.push_str("</ol>");
    let actions = state.app.console_actions(&user, parcel_id).await?;
    if !actions.is_empty() {
        main.push_str(&format!("<h2>{}</h2>", lang.text("Actions", "Actions")));
    }
    for action in actions {
        let (label, reason) = match action {
            ParcelAction::Extend => (lang.text("Prolonger", "Extend"), false),
            ParcelAction::ForceExpire => (lang.text("Faire expirer maintenant", "Expire now"), true),
            ParcelAction::Cancel => (lang.text("Annuler", "Cancel"), true),
            ParcelAction::Relocate => (lang.text("Envoyer vers un point proche", "Send to a nearby point"), false),
            ParcelAction::ReturnToSender => (lang.text("Rendu à l'expéditeur", "Back with its sender"), false),
        };
        let mut reason = if reason {
            format!(
                "<label>{} <input name=\"reason\" maxlength=\"500\" required></label>",
                lang.text("Motif", "Reason")
            )
        } else {
            String::new()
        };
        if action == ParcelAction::Relocate {
            // The nearby points of its network with room for it now, the nearest first.
            reason.push_str(&format!("<label>{} <select name=\"point_id\" required>", lang.text("Point", "Point")));
            for point in state.app.relocation_candidates(&parcel) {
                reason.push_str(&format!(
                    "<option value=\"{}\">{} · {}</option>",
                    point.id,
                    escape(&point.name),
                    escape(&point.address.city)
                ));
            }
            reason.push_str("</select></label>");
        }
        main.push_str(&format!(
            "<form method=\"post\" action=\"/console/parcels/{}/actions?lang={}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{}\">\
             {reason}<button type=\"submit\">{}</button></form>",
            parcel_id,
            lang.code(),
            escape(&user.csrf),
            action.as_str(),
            label
        ));
    }
    main.push_str(&format!("<h2>{}</h2><ul>", lang.text("Messages", "Messages")));
    for message in &messages {
        main.push_str(&format!(
            "<li>{} · {} · {} · {} {}</li>",
            escape(&message.topic),
            escape(message.channel.as_str()),
            escape(message.state.as_str()),
            message.attempts,
            lang.text("essai(s)", "attempt(s)")
        ));
    }
    main.push_str("</ul>");
    Ok(shell(StatusCode::OK, lang, &user, (Section::Parcels, &uri), &main))
}

#[utoipa::path(post, path = "/console/parcels/{id}/actions", tag = "console", params(("id" = String, Path), PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf` (the session's token, from the page), `action` (`extend`, `force_expire`, `cancel`, `relocate`, `return_to_sender`), `reason` (required to expire) and `point_id` (where to relocate)."),
    responses((status = 303, description = "Done: back to the parcel's page."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in."),
        (status = 403, body = ErrorEnvelope, description = "`csrf_rejected`: the form is not from this session's page; `forbidden`: a read-only account, or a merchant's expiring a parcel."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such parcel, or not the account's."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: the parcel does not allow it now."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: an unknown action, or no reason to expire.")))]
/// An action on a parcel from its page: what the account's role and the parcel's lifecycle allow now.
pub async fn act(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let field = |name: &str| form_field(&body, name).unwrap_or_default();
    let parcel_id = crate::extract::path_id("parcel", &id)?;
    let action = ParcelAction::parse(&field("action")).ok_or_else(|| {
        AppError::from(relais_domain::value::ParseError::new(
            "action",
            "extend, force_expire, cancel, relocate or return_to_sender",
        ))
    })?;
    let to = match field("point_id").trim() {
        "" => None,
        id => Some(crate::extract::path_id("point", id)?),
    };
    state.app.console_act(&token, &field("csrf"), parcel_id, action, &field("reason"), to).await?;
    Ok(see_other(&format!("/console/parcels/{parcel_id}?lang={}", lang.code())))
}

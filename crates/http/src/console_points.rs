//! A point in the console (`/console/points/{id}`): its record, hours, closures and history; for a
//! locker, the compartment grid (each door's state, fault, parcel, and what the controller last
//! reported), the device's health, remote actions on a door (open, out of service, repair: confirmed,
//! with a reason, in the audit log under the account's name) and the audit log; its devices (keys)
//! listed and revoked, and a new one enrolled with a one-time QR code.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use relais_app::AppError;
use relais_app::console::{ConsoleUser, DoorAction};
use relais_domain::compartment::{Compartment, CompartmentState};
use relais_domain::console::ConsoleRole;
use relais_domain::ids::PointId;

use crate::HttpState;
use crate::console::{Section, session_token, shell, signed_in};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{QueryParams, RawBody, form_field, path_id};
use crate::recipients::{Lang, PageQuery, escape, see_other};

/// Audit lines shown under the grid.
const AUDIT_SHOWN: u32 = 30;
/// History lines shown.
const HISTORY_SHOWN: usize = 20;

fn state_text(lang: Lang, state: &CompartmentState) -> &'static str {
    match state {
        CompartmentState::Available => lang.text("libre", "free"),
        CompartmentState::Reserved { .. } => lang.text("réservé", "reserved"),
        CompartmentState::Occupied { .. } => lang.text("occupé", "occupied"),
        CompartmentState::OutOfService => lang.text("hors service", "out of service"),
        CompartmentState::Disabled => lang.text("désactivé", "disabled"),
    }
}

/// One door of the grid: label, size, state, fault, parcel, reported state, and its action forms.
fn door_cell(
    lang: Lang,
    point_id: PointId,
    door: &Compartment,
    reported: Option<&str>,
    opening: bool,
    csrf: Option<&str>,
) -> String {
    let parcel = door.holders().first().map(|parcel| {
        format!("<a href=\"/console/parcels/{parcel}?lang={}\">{}</a>", lang.code(), lang.text("colis", "parcel"))
    });
    let fault = door.fault.map(|f| format!("<strong class=\"fault\">{}</strong>", f.as_str())).unwrap_or_default();
    let reported = reported
        .map(|r| {
            let said = match r {
                "open" => lang.text("porte ouverte", "door open"),
                "closed" => lang.text("porte fermée", "door closed"),
                "jammed" => lang.text("porte bloquée", "door jammed"),
                _ => "",
            };
            format!("<span class=\"reported\" data-door-state=\"{r}\">{said}</span>")
        })
        .unwrap_or_default();
    let opening = if opening {
        format!("<span class=\"opening\">{}</span>", lang.text("ouverture demandée", "opening requested"))
    } else {
        String::new()
    };
    let mut cell = format!(
        "<article class=\"door {}\" id=\"door-{}\"><h3>{} <small>{}</small></h3><p>{}</p><p>{fault} {} {reported} {opening}</p>",
        door.state.name(),
        escape(&door.label),
        escape(&door.label),
        door.size.as_str(),
        state_text(lang, &door.state),
        parcel.unwrap_or_default(),
    );
    if let Some(csrf) = csrf {
        let mut actions = vec![DoorAction::Open];
        actions.push(if door.fault.is_some() { DoorAction::Repair } else { DoorAction::OutOfService });
        for action in actions {
            let label = match action {
                DoorAction::Open => lang.text("Ouvrir", "Open"),
                DoorAction::OutOfService => lang.text("Mettre hors service", "Out of service"),
                DoorAction::Repair => lang.text("Réparée", "Repaired"),
            };
            cell.push_str(&format!(
                "<details><summary>{label}</summary><form method=\"post\" action=\"/console/points/{point_id}/doors/{}/actions?lang={}\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{}\">\
                 <label>{} <input name=\"reason\" maxlength=\"500\" required></label>\
                 <label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> {}</label>\
                 <button type=\"submit\">{label}</button></form></details>",
                escape(&door.label),
                lang.code(),
                escape(csrf),
                action.as_str(),
                lang.text("Motif", "Reason"),
                lang.text("Je confirme", "I confirm"),
            ));
        }
    }
    cell.push_str("</article>");
    cell
}

/// Whether an account acts on the network (operators and admins).
fn acts(user: &ConsoleUser) -> bool {
    user.account.role.acts() && user.account.role != ConsoleRole::Merchant
}

#[utoipa::path(get, path = "/console/points/{id}", tag = "console", params(("id" = String, Path), PageQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The point: record, hours, closures, history; a locker's doors, device, actions and audit log; its devices."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, content_type = "text/html", body = String, description = "A merchant's account."),
        (status = 404, content_type = "text/html", body = String, description = "No such point.")))]
/// A point's page.
pub async fn page(
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
    let here = (Section::Network, &uri);
    if user.account.role == ConsoleRole::Merchant {
        let text = lang.text("<p>Réservé aux comptes de l'opérateur.</p>", "<p>For the operator's accounts.</p>");
        return Ok(shell(StatusCode::FORBIDDEN, lang, &user, here, text));
    }
    let not_found = || {
        let text = lang.text("<p>Point introuvable.</p>", "<p>No such point.</p>");
        shell(StatusCode::NOT_FOUND, lang, &user, here, text)
    };
    let Ok(point_id) = id.parse() else { return Ok(not_found()) };
    let caller = user.caller();
    let (point, doors) = match state.app.point(&caller, point_id).await {
        Ok(found) => found,
        Err(AppError::NotFound { .. }) => return Ok(not_found()),
        Err(other) => return Err(other.into()),
    };
    let csrf = acts(&user).then_some(user.csrf.as_str());
    let mut main = format!(
        "<h1>{}</h1><p class=\"muted\">{} · {} · {} · {}</p>\
         <p>{}<br>{} {} · {}</p>",
        escape(&point.name),
        point.kind.as_str(),
        point.status.as_str(),
        escape(&point.external_id),
        escape(&point.source),
        escape(&point.address.line1),
        escape(&point.address.postcode),
        escape(&point.address.city),
        escape(&point.address.country),
    );
    main.push_str(&format!(
        "<p>{}: <code>{}</code></p>",
        lang.text("Horaires", "Opening hours"),
        escape(point.opening_hours.as_ref().map_or("-", |h| h.as_str())),
    ));
    if !point.closures.is_empty() {
        let closures: Vec<String> = point.closures.iter().map(|c| format!("{} → {}", c.first, c.last)).collect();
        main.push_str(&format!("<p>{}: {}</p>", lang.text("Fermetures", "Closures"), closures.join(", ")));
    }
    if doors.is_empty() {
        main.push_str(&format!(
            "<p>{}: {} / {}</p>",
            lang.text("Étagère", "Shelf"),
            point.shelf_occupied,
            point.shelf_capacity
        ));
    } else {
        let device = state.app.device_status(&caller, point_id).await?;
        let opening = state.app.pending_door_commands(&caller, point_id).await?;
        main.push_str(&format!("<h2>{}</h2>", lang.text("Appareil", "Device")));
        main.push_str(&match &device {
            Some(d) => format!(
                "<p id=\"device\">{} <time>{}</time>{}{}</p>",
                lang.text("Dernier signal", "Last heartbeat"),
                d.last_seen_at.format("%Y-%m-%d %H:%M:%S UTC"),
                d.firmware.as_ref().map(|f| format!(" · firmware {}", escape(f))).unwrap_or_default(),
                d.offline_since
                    .map(|at| format!(
                        " · <strong class=\"fault\">{} {}</strong>",
                        lang.text("muet depuis", "silent since"),
                        at.format("%Y-%m-%d %H:%M UTC")
                    ))
                    .unwrap_or_default(),
            ),
            None => format!("<p id=\"device\">{}</p>", lang.text("Aucun signal reçu.", "No heartbeat yet.")),
        });
        main.push_str(&format!("<h2>{}</h2><section class=\"doors\">", lang.text("Portes", "Doors")));
        for door in &doors {
            let reported = device
                .as_ref()
                .and_then(|d| d.doors.iter().find(|(label, _)| *label == door.label))
                .map(|(_, s)| s.as_str());
            let pending = opening.iter().any(|c| c.compartment_id == door.id);
            main.push_str(&door_cell(lang, point_id, door, reported, pending, csrf));
        }
        main.push_str("</section>");
    }
    // The devices of the point: lockers' controllers and counters' phones.
    let keys = state.app.point_devices(&caller, point_id).await?;
    main.push_str(&format!("<h2>{}</h2>", lang.text("Terminaux", "Devices")));
    if !keys.is_empty() {
        main.push_str("<div class=\"scroll\"><table><tbody>");
        for key in &keys {
            let revoke = match (csrf, key.revoked_at) {
                (_, Some(at)) => format!("{} {}", lang.text("révoqué le", "revoked"), at.format("%Y-%m-%d %H:%M UTC")),
                (Some(csrf), None) => format!(
                    "<form method=\"post\" action=\"/console/points/{point_id}/devices/{}/revoke?lang={}\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                     <input name=\"reason\" maxlength=\"500\" required aria-label=\"{}\" placeholder=\"{}\">\
                     <button type=\"submit\">{}</button></form>",
                    key.id,
                    lang.code(),
                    escape(csrf),
                    lang.text("Motif", "Reason"),
                    lang.text("Motif", "Reason"),
                    lang.text("Révoquer", "Revoke"),
                ),
                (None, None) => String::new(),
            };
            main.push_str(&format!(
                "<tr class=\"device\"><td>{}</td><td>{}</td><td>{revoke}</td></tr>",
                escape(&key.label),
                key.created_at.format("%Y-%m-%d %H:%M UTC"),
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    if let Some(csrf) = csrf {
        main.push_str(&format!(
            "<form method=\"post\" action=\"/console/points/{point_id}/enrolments?lang={}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label>{} <input name=\"label\" maxlength=\"120\" required value=\"{}\"></label>\
             <button type=\"submit\">{}</button></form>",
            lang.code(),
            escape(csrf),
            lang.text("Nom du terminal", "Device name"),
            if doors.is_empty() { "counter phone" } else { "controller" },
            lang.text("Enrôler un terminal (QR code)", "Enrol a device (QR code)"),
        ));
    }
    let history = state.app.point_history(&caller, point_id).await?;
    if !history.is_empty() {
        main.push_str(&format!("<h2>{}</h2><ul class=\"history\">", lang.text("Historique", "History")));
        for change in history.iter().rev().take(HISTORY_SHOWN) {
            let fields: Vec<String> =
                change.fields.iter().map(|(f, before, after)| format!("{f}: {before} → {after}")).collect();
            main.push_str(&format!(
                "<li><time>{}</time> {} {}</li>",
                change.at.format("%Y-%m-%d %H:%M UTC"),
                change.kind.as_str(),
                escape(&fields.join(" · "))
            ));
        }
        main.push_str("</ul>");
    }
    let audit = state.app.audit_log(&caller, Some(point_id), None, None, Some(AUDIT_SHOWN)).await.unwrap_or_default();
    if !audit.is_empty() {
        main.push_str(&format!("<h2>{}</h2><ul class=\"audit\">", lang.text("Journal d'audit", "Audit log")));
        for entry in audit.iter().rev() {
            main.push_str(&format!(
                "<li><time>{}</time> {} · {}{}</li>",
                entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
                entry.action.as_str(),
                escape(entry.actor.reference.as_deref().unwrap_or(entry.actor.kind.as_str())),
                entry.reason.as_ref().map(|r| format!(" · {}", escape(r))).unwrap_or_default(),
            ));
        }
        main.push_str("</ul>");
    }
    Ok(shell(StatusCode::OK, lang, &user, here, &main))
}

#[utoipa::path(post, path = "/console/points/{id}/doors/{door}/actions", tag = "console",
    params(("id" = String, Path), ("door" = String, Path), PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf` (the session's token, from the page), `action` (`open`, `out_of_service`, `repair`), `reason` and `confirm=yes`."),
    responses((status = 303, description = "Done: back to the point's page."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in."),
        (status = 403, body = ErrorEnvelope, description = "`csrf_rejected`: the form is not from this session's page; `forbidden`: a read-only or merchant account."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such point or door."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: an unknown action, no reason, or not confirmed.")))]
/// A door action from a locker's page.
pub async fn door_act(
    State(state): State<HttpState>,
    Path((id, door)): Path<(String, String)>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let field = |name: &str| form_field(&body, name).unwrap_or_default();
    let point_id = path_id("point", &id)?;
    let action = DoorAction::parse(&field("action")).ok_or_else(|| {
        AppError::from(relais_domain::value::ParseError::new("action", "open, out_of_service or repair"))
    })?;
    let confirmed = field("confirm") == "yes";
    state.app.console_door_act(&token, &field("csrf"), point_id, &door, action, &field("reason"), confirmed).await?;
    Ok(see_other(&format!("/console/points/{point_id}?lang={}", lang.code())))
}

#[utoipa::path(post, path = "/console/points/{id}/enrolments", tag = "console", params(("id" = String, Path), PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf` (the session's token) and `label` (the device's name)."),
    responses((status = 200, content_type = "text/html", body = String, description = "The one-time QR code (15 minutes) the device scans: the counter page's address with the code, for a phone; the code itself for a locker's controller."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in."),
        (status = 403, body = ErrorEnvelope, description = "`csrf_rejected` or `forbidden` (read-only and merchant accounts)."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such point."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: no label.")))]
/// Starts a device's enrolment and shows its QR code, once.
pub async fn enrol(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    uri: Uri,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let field = |name: &str| form_field(&body, name).unwrap_or_default();
    let point_id = path_id("point", &id)?;
    let user = state.app.console_operator(&token, &field("csrf")).await?;
    let started = state.app.start_enrolment(&user.caller(), point_id, &field("label"), &user.account.name).await?;
    let qr = relais_messages::qr::qr_svg(&started.url).unwrap_or_default();
    let main = format!(
        "<h1>{}</h1><p>{}</p><figure class=\"qr\" id=\"enrolment-qr\">{qr}</figure>\
         <p><code id=\"enrolment-url\">{}</code></p><p class=\"muted\">{} {}</p>\
         <p><a href=\"/console/points/{point_id}?lang={}\">{}</a></p>",
        lang.text("Enrôler un terminal", "Enrol a device"),
        lang.text(
            "Scannez ce code avec le téléphone du comptoir (il ouvre la page du comptoir, déjà connectée) ou avec le contrôleur du casier. Il ne sert qu'une fois.",
            "Scan this code with the counter's phone (it opens the counter page, signed in) or with the locker's controller. It works once."
        ),
        escape(&started.url),
        lang.text("Valable jusqu'à", "Valid until"),
        started.expires_at.format("%H:%M UTC"),
        lang.code(),
        lang.text("Retour au point", "Back to the point"),
    );
    Ok(shell(StatusCode::OK, lang, &user, (Section::Network, &uri), &main))
}

#[utoipa::path(post, path = "/console/points/{id}/devices/{key_id}/revoke", tag = "console",
    params(("id" = String, Path), ("key_id" = String, Path), PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf` (the session's token) and `reason`."),
    responses((status = 303, description = "Revoked: back to the point's page."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in."),
        (status = 403, body = ErrorEnvelope, description = "`csrf_rejected` or `forbidden` (read-only and merchant accounts)."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such device at this point."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: no reason, or revoked already.")))]
/// Revokes one of a point's devices.
pub async fn revoke(
    State(state): State<HttpState>,
    Path((id, key_id)): Path<(String, String)>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let field = |name: &str| form_field(&body, name).unwrap_or_default();
    let point_id = path_id("point", &id)?;
    let key_id = path_id("api_key", &key_id)?;
    let user = state.app.console_operator(&token, &field("csrf")).await?;
    let caller = user.caller();
    // Only this point's devices from this page.
    if !state.app.point_devices(&caller, point_id).await?.iter().any(|k| k.id == key_id) {
        return Err(AppError::not_found("device", key_id.to_string()).into());
    }
    state.app.revoke_api_key(&caller, key_id, &field("reason")).await?;
    Ok(see_other(&format!("/console/points/{point_id}?lang={}", lang.code())))
}

/// Points listed on one page of the list.
const LISTED_MAX: usize = 200;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `fr` or `en`.
    pub lang: Option<String>,
    /// Words of the name, city, postcode or the operator's own id.
    pub q: Option<String>,
    /// `locker`, `counter`, `hub`, `store`, `post_office`.
    pub kind: Option<String>,
    /// `active`, `inactive`, `maintenance`, `decommissioned`.
    pub status: Option<String>,
    pub network_id: Option<String>,
    /// Only points at least this full now, in percent (0 to 100).
    pub occupancy_min: Option<String>,
}

/// A point's places taken now over its places (doors, or shelf slots), from the search index.
fn occupancy_now(
    point: &relais_domain::point::PickupPoint,
    capacity: &relais_registry::index::Capacity,
) -> Option<f64> {
    let doors: u32 = capacity.total.iter().sum();
    let (total, free) = if doors > 0 {
        (doors, capacity.free.iter().sum::<u32>())
    } else {
        (point.shelf_capacity, capacity.shelf_free)
    };
    (total > 0).then(|| f64::from(total.saturating_sub(free)) / f64::from(total))
}

#[utoipa::path(get, path = "/console/points", tag = "console", params(ListQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The network's points, filtered (kind, network, status, occupancy, words), the first 200 by name, with their occupancy now."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, content_type = "text/html", body = String, description = "A merchant's account.")))]
/// The points of the network, filtered.
pub async fn list(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<ListQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    use relais_domain::point::{PointKind, PointStatus};
    let lang = Lang::of(&PageQuery { lang: query.lang.clone(), done: None }, &headers);
    let user = match signed_in(&state, &headers, lang).await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let here = (Section::Network, &uri);
    if user.account.role == ConsoleRole::Merchant {
        let text = lang.text("<p>Réservé aux comptes de l'opérateur.</p>", "<p>For the operator's accounts.</p>");
        return Ok(shell(StatusCode::FORBIDDEN, lang, &user, here, text));
    }
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let kind = given(&query.kind).and_then(|k| PointKind::parse(&k).ok());
    let status = given(&query.status).and_then(|s| PointStatus::ALL.into_iter().find(|x| x.as_str() == s));
    let network: Option<relais_domain::ids::NetworkId> = given(&query.network_id).and_then(|n| n.parse().ok());
    let occupancy_min = given(&query.occupancy_min).and_then(|o| o.parse::<f64>().ok()).map(|o| o / 100.0);
    let words: Vec<String> =
        given(&query.q).unwrap_or_default().to_lowercase().split_whitespace().map(str::to_owned).collect();
    let index = state.app.point_index();
    let mut found: Vec<(&std::sync::Arc<relais_domain::point::PickupPoint>, Option<f64>)> = index
        .all()
        .filter(|(p, _)| kind.is_none_or(|k| p.kind == k))
        .filter(|(p, _)| status.is_none_or(|s| p.status == s))
        .filter(|(p, _)| network.is_none_or(|n| p.network_id == n))
        .map(|(p, capacity)| (p, occupancy_now(p, &capacity)))
        .filter(|(_, occupancy)| occupancy_min.is_none_or(|min| occupancy.is_some_and(|o| o >= min)))
        .filter(|(p, _)| {
            words.is_empty() || {
                let text =
                    format!("{} {} {} {}", p.name, p.address.city, p.address.postcode, p.external_id).to_lowercase();
                words.iter().all(|w| text.contains(w.as_str()))
            }
        })
        .collect();
    let total = found.len();
    let by_name = |a: &(&std::sync::Arc<relais_domain::point::PickupPoint>, Option<f64>),
                   b: &(&std::sync::Arc<relais_domain::point::PickupPoint>, Option<f64>)| {
        a.0.name.cmp(&b.0.name).then(a.0.id.cmp(&b.0.id))
    };
    if found.len() > LISTED_MAX {
        found.select_nth_unstable_by(LISTED_MAX, by_name);
        found.truncate(LISTED_MAX);
    }
    found.sort_by(by_name);
    let networks = state.app.networks(&user.caller(), relais_app::ports::Page { after: None, limit: 500 }).await?;
    let option = |value: &str, text: &str, chosen: bool| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(value),
            if chosen { " selected" } else { "" },
            escape(text)
        )
    };
    let mut main = format!(
        "<h1>{}</h1><form method=\"get\" action=\"/console/points\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{} <input type=\"search\" name=\"q\" value=\"{}\"></label><label>{} <select name=\"kind\">{}",
        lang.text("Réseau", "Network"),
        lang.code(),
        lang.text("Nom, ville, code postal", "Name, city, postcode"),
        escape(&given(&query.q).unwrap_or_default()),
        lang.text("Type", "Kind"),
        option("", lang.text("tous", "all"), kind.is_none()),
    );
    for k in PointKind::ALL {
        main.push_str(&option(k.as_str(), k.as_str(), kind == Some(k)));
    }
    main.push_str(&format!("</select></label><label>{} <select name=\"status\">", lang.text("État", "Status")));
    main.push_str(&option("", lang.text("tous", "all"), status.is_none()));
    for s in PointStatus::ALL {
        main.push_str(&option(s.as_str(), s.as_str(), status == Some(s)));
    }
    main.push_str(&format!("</select></label><label>{} <select name=\"network_id\">", lang.text("Réseau", "Network")));
    main.push_str(&option("", lang.text("tous", "all"), network.is_none()));
    for n in &networks {
        main.push_str(&option(&n.id.to_string(), &n.name, network == Some(n.id)));
    }
    main.push_str(&format!(
        "</select></label><label>{} <input type=\"number\" name=\"occupancy_min\" min=\"0\" max=\"100\" value=\"{}\" size=\"4\"> %</label>\
         <button type=\"submit\">{}</button></form><p>{total} {}{}</p>",
        lang.text("Occupation au moins", "Occupancy at least"),
        occupancy_min.map(|o| format!("{:.0}", o * 100.0)).unwrap_or_default(),
        lang.text("Filtrer", "Filter"),
        lang.text("points", "points"),
        if total > LISTED_MAX {
            format!(" · {} {LISTED_MAX}", lang.text("les premiers par nom :", "the first by name:"))
        } else {
            String::new()
        },
    ));
    main.push_str(&format!(
        "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.text("Point", "Point"),
        lang.text("Type", "Kind"),
        lang.text("État", "Status"),
        lang.text("Ville", "City"),
        lang.text("Occupation", "Occupancy"),
    ));
    for (point, occupancy) in &found {
        main.push_str(&format!(
            "<tr class=\"point\"><td><a href=\"/console/points/{}?lang={}\">{}</a></td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            point.id,
            lang.code(),
            escape(&point.name),
            point.kind.as_str(),
            point.status.as_str(),
            escape(&point.address.postcode),
            escape(&point.address.city),
            occupancy.map_or("-".to_owned(), |o| format!("{:.0} %", o * 100.0)),
        ));
    }
    main.push_str("</tbody></table></div>");
    Ok(shell(StatusCode::OK, lang, &user, here, &main))
}

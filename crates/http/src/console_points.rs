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

/// The account of a page about the network (operators, admins, read-only accounts), or the page to
/// answer instead: the sign-in page without a session, a 403 page for a merchant's account.
async fn operator_staff(
    state: &HttpState,
    headers: &HeaderMap,
    lang: Lang,
    here: (Section, &Uri),
) -> Result<Result<ConsoleUser, Response>, ApiError> {
    let user = match signed_in(state, headers, lang).await? {
        Ok(user) => user,
        Err(to_login) => return Ok(Err(to_login)),
    };
    if user.account.role == ConsoleRole::Merchant {
        let text = lang.text("<p>Réservé aux comptes de l'opérateur.</p>", "<p>For the operator's accounts.</p>");
        return Ok(Err(shell(StatusCode::FORBIDDEN, lang, &user, here, text)));
    }
    Ok(Ok(user))
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
    let here = (Section::Network, &uri);
    let user = match operator_staff(&state, &headers, lang, here).await? {
        Ok(user) => user,
        Err(page) => return Ok(page),
    };
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
    let lang = Lang::of(&PageQuery { lang: query.lang.clone(), done: None }, &headers);
    let here = (Section::Network, &uri);
    let user = match operator_staff(&state, &headers, lang, here).await? {
        Ok(user) => user,
        Err(page) => return Ok(page),
    };
    let filter = PointFilter::of(&query);
    let index = state.app.point_index();
    let mut found: Vec<(&std::sync::Arc<relais_domain::point::PickupPoint>, Option<f64>)> =
        filter.matching(&index).collect();
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
    let mut main = format!("<h1>{}</h1>", lang.text("Réseau", "Network"));
    main.push_str(&filter.form(lang, "/console/points", &networks));
    main.push_str(&format!(
        "<p>{total} {}{} · <a href=\"/console/map?{}\">{}</a></p>",
        lang.text("points", "points"),
        if total > LISTED_MAX {
            format!(" · {} {LISTED_MAX}", lang.text("les premiers par nom :", "the first by name:"))
        } else {
            String::new()
        },
        escape(&filter.query(lang)),
        lang.text("Voir sur la carte", "See on the map"),
    ));
    main.push_str(&format!(
        "<p><a href=\"/console/imports?lang={}\">{}</a></p>",
        lang.code(),
        lang.text("Imports de points", "Point imports")
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

/// The filters of the network's list and map, read from the query (a value that does not parse is
/// no filter, as a search box would).
struct PointFilter {
    words: Vec<String>,
    kind: Option<relais_domain::point::PointKind>,
    status: Option<relais_domain::point::PointStatus>,
    network: Option<relais_domain::ids::NetworkId>,
    occupancy_min: Option<f64>,
    text: String,
}

impl PointFilter {
    fn of(query: &ListQuery) -> PointFilter {
        use relais_domain::point::{PointKind, PointStatus};
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let text = given(&query.q).unwrap_or_default();
        PointFilter {
            words: text.to_lowercase().split_whitespace().map(str::to_owned).collect(),
            kind: given(&query.kind).and_then(|k| PointKind::parse(&k).ok()),
            status: given(&query.status).and_then(|s| PointStatus::ALL.into_iter().find(|x| x.as_str() == s)),
            network: given(&query.network_id).and_then(|n| n.parse().ok()),
            occupancy_min: given(&query.occupancy_min).and_then(|o| o.parse::<f64>().ok()).map(|o| o / 100.0),
            text,
        }
    }

    /// The points that pass, with their occupancy now.
    fn matching<'a>(
        &'a self,
        index: &'a relais_registry::index::PointIndex,
    ) -> impl Iterator<Item = (&'a std::sync::Arc<relais_domain::point::PickupPoint>, Option<f64>)> + 'a {
        index
            .all()
            .filter(|(p, _)| self.kind.is_none_or(|k| p.kind == k))
            .filter(|(p, _)| self.status.is_none_or(|s| p.status == s))
            .filter(|(p, _)| self.network.is_none_or(|n| p.network_id == n))
            .map(|(p, capacity)| (p, capacity.occupancy(p.shelf_capacity)))
            .filter(|(_, occupancy)| self.occupancy_min.is_none_or(|min| occupancy.is_some_and(|o| o >= min)))
            .filter(|(p, _)| {
                self.words.is_empty() || {
                    let text = format!("{} {} {} {}", p.name, p.address.city, p.address.postcode, p.external_id)
                        .to_lowercase();
                    self.words.iter().all(|w| text.contains(w.as_str()))
                }
            })
    }

    /// The same filters as a query string (the list's link to the map and back).
    fn query(&self, lang: Lang) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        pairs.push(("lang", lang.code().to_owned()));
        if !self.text.is_empty() {
            pairs.push(("q", self.text.clone()));
        }
        if let Some(k) = self.kind {
            pairs.push(("kind", k.as_str().to_owned()));
        }
        if let Some(s) = self.status {
            pairs.push(("status", s.as_str().to_owned()));
        }
        if let Some(n) = self.network {
            pairs.push(("network_id", n.to_string()));
        }
        if let Some(o) = self.occupancy_min {
            pairs.push(("occupancy_min", format!("{:.0}", o * 100.0)));
        }
        pairs.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&")
    }

    /// The filter form, sending to `action` (the list or the map).
    fn form(&self, lang: Lang, action: &str, networks: &[relais_domain::network::Network]) -> String {
        use relais_domain::point::{PointKind, PointStatus};
        let option = |value: &str, text: &str, chosen: bool| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                escape(value),
                if chosen { " selected" } else { "" },
                escape(text)
            )
        };
        let mut form = format!(
            "<form method=\"get\" action=\"{action}\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
             <label>{} <input type=\"search\" name=\"q\" value=\"{}\"></label><label>{} <select name=\"kind\">{}",
            lang.code(),
            lang.text("Nom, ville, code postal", "Name, city, postcode"),
            escape(&self.text),
            lang.text("Type", "Kind"),
            option("", lang.text("tous", "all"), self.kind.is_none()),
        );
        for k in PointKind::ALL {
            form.push_str(&option(k.as_str(), k.as_str(), self.kind == Some(k)));
        }
        form.push_str(&format!("</select></label><label>{} <select name=\"status\">", lang.text("État", "Status")));
        form.push_str(&option("", lang.text("tous", "all"), self.status.is_none()));
        for s in PointStatus::ALL {
            form.push_str(&option(s.as_str(), s.as_str(), self.status == Some(s)));
        }
        form.push_str(&format!(
            "</select></label><label>{} <select name=\"network_id\">",
            lang.text("Réseau", "Network")
        ));
        form.push_str(&option("", lang.text("tous", "all"), self.network.is_none()));
        for n in networks {
            form.push_str(&option(&n.id.to_string(), &n.name, self.network == Some(n.id)));
        }
        form.push_str(&format!(
            "</select></label><label>{} <input type=\"number\" name=\"occupancy_min\" min=\"0\" max=\"100\" value=\"{}\" size=\"4\"> %</label>\
             <button type=\"submit\">{}</button></form>",
            lang.text("Occupation au moins", "Occupancy at least"),
            self.occupancy_min.map(|o| format!("{:.0}", o * 100.0)).unwrap_or_default(),
            lang.text("Filtrer", "Filter"),
        ));
        form
    }
}

/// Percent-encoding for a query string's value.
fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Points drawn one by one up to this many in the map's view; more are grouped by cell.
const MAP_POINTS_MAX: usize = 1_000;
/// Cells across the view when points are grouped.
const MAP_CELLS_ACROSS: f64 = 24.0;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// `fr` or `en`.
    pub lang: Option<String>,
    pub q: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub network_id: Option<String>,
    pub occupancy_min: Option<String>,
    /// The view: `west,south,east,north` in degrees.
    pub bbox: Option<String>,
}

impl MapQuery {
    fn filters(&self) -> ListQuery {
        ListQuery {
            lang: self.lang.clone(),
            q: self.q.clone(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            network_id: self.network_id.clone(),
            occupancy_min: self.occupancy_min.clone(),
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MapPoint {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Places taken now over places; absent for a point without places.
    pub occupancy: Option<f64>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MapCluster {
    pub lat: f64,
    pub lon: f64,
    pub count: usize,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MapView {
    /// The points in the view, when there are at most 1,000.
    pub points: Vec<MapPoint>,
    /// Otherwise, the points grouped by cell (about 24 across the view), at the cell's mean position.
    pub clusters: Vec<MapCluster>,
    /// Points in the view that pass the filters.
    pub total: usize,
    /// What the map says under it, in the page's language.
    pub text: String,
}

/// Positions (latitude, longitude) grouped by square cells, `MAP_CELLS_ACROSS` across the view from
/// its west edge: each group at the mean of its positions, in the order of their cells.
fn group(positions: &[(f64, f64)], (west, south, east): (f64, f64, f64)) -> Vec<MapCluster> {
    let cell = (east - west) / MAP_CELLS_ACROSS;
    let mut cells: std::collections::BTreeMap<(i64, i64), (f64, f64, usize)> = std::collections::BTreeMap::new();
    for (lat, lon) in positions {
        let key = (((lon - west) / cell).floor() as i64, ((lat - south) / cell).floor() as i64);
        let entry = cells.entry(key).or_insert((0.0, 0.0, 0));
        entry.0 += lat;
        entry.1 += lon;
        entry.2 += 1;
    }
    cells
        .into_values()
        .map(|(lat, lon, count)| MapCluster { lat: lat / count as f64, lon: lon / count as f64, count })
        .collect()
}

/// The view's bounds, or the whole world.
fn bbox(text: Option<&str>) -> (f64, f64, f64, f64) {
    let parsed: Vec<f64> = text.unwrap_or_default().split(',').filter_map(|v| v.trim().parse().ok()).collect();
    match parsed[..] {
        [w, s, e, n] if w.is_finite() && s.is_finite() && e.is_finite() && n.is_finite() && w < e && s < n => {
            (w, s, e, n)
        }
        _ => (-180.0, -90.0, 180.0, 90.0),
    }
}

#[utoipa::path(get, path = "/console/map/points", tag = "console", params(MapQuery),
    responses((status = 200, body = MapView, description = "The filtered points in the view, or their groups when there are more than 1,000."),
        (status = 401, body = ErrorEnvelope, description = "`unauthorized`: not signed in."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a merchant's account.")))]
/// The map's points in a view (the console's map script asks as the view moves).
pub async fn map_points(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<MapQuery>,
    headers: HeaderMap,
) -> Result<axum::Json<MapView>, ApiError> {
    let lang = Lang::of(&PageQuery { lang: query.lang.clone(), done: None }, &headers);
    let token = session_token(&headers).ok_or(AppError::Unauthorized)?;
    let user = state.app.console_user(&token).await?;
    if user.account.role == ConsoleRole::Merchant {
        return Err(AppError::Forbidden { role: relais_app::Role::Operator }.into());
    }
    let filter = PointFilter::of(&query.filters());
    let (west, south, east, north) = bbox(query.bbox.as_deref());
    let index = state.app.point_index();
    let inside: Vec<_> = filter
        .matching(&index)
        .filter(|(p, _)| {
            let (lat, lon) = (p.coordinates.latitude(), p.coordinates.longitude());
            (south..=north).contains(&lat) && (west..=east).contains(&lon)
        })
        .collect();
    let total = inside.len();
    let (mut points, mut clusters) = (Vec::new(), Vec::new());
    if total <= MAP_POINTS_MAX {
        points = inside
            .iter()
            .map(|(p, occupancy)| MapPoint {
                id: p.id.to_string(),
                name: p.name.clone(),
                kind: p.kind.as_str(),
                lat: p.coordinates.latitude(),
                lon: p.coordinates.longitude(),
                occupancy: *occupancy,
            })
            .collect();
    } else {
        let positions: Vec<(f64, f64)> =
            inside.iter().map(|(p, _)| (p.coordinates.latitude(), p.coordinates.longitude())).collect();
        clusters = group(&positions, (west, south, east));
    }
    let text = if total <= MAP_POINTS_MAX {
        format!("{total} {}", lang.text("points dans la vue", "points in view"))
    } else {
        format!(
            "{total} {}",
            lang.text(
                "points dans la vue, groupés : zoomez pour les voir",
                "points in view, grouped: zoom in to see them"
            )
        )
    };
    Ok(axum::Json(MapView { points, clusters, total, text }))
}

#[utoipa::path(get, path = "/console/map", tag = "console", params(ListQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The filtered points on a map: OpenStreetMap's tiles or the configured ones, a plain background without."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, content_type = "text/html", body = String, description = "A merchant's account.")))]
/// The network on a map.
pub async fn map(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<ListQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&PageQuery { lang: query.lang.clone(), done: None }, &headers);
    let here = (Section::Network, &uri);
    let user = match operator_staff(&state, &headers, lang, here).await? {
        Ok(user) => user,
        Err(page) => return Ok(page),
    };
    let filter = PointFilter::of(&query);
    let index = state.app.point_index();
    // The filtered points' extent, for the first view.
    let bounds = filter.matching(&index).fold(None, |b: Option<(f64, f64, f64, f64)>, (p, _)| {
        let (lat, lon) = (p.coordinates.latitude(), p.coordinates.longitude());
        Some(match b {
            None => (lat, lon, lat, lon),
            Some((s, w, n, e)) => (s.min(lat), w.min(lon), n.max(lat), e.max(lon)),
        })
    });
    let bounds = bounds.map_or("null".to_owned(), |(s, w, n, e)| format!("[[{s},{w}],[{n},{e}]]"));
    let networks = state.app.networks(&user.caller(), relais_app::ports::Page { after: None, limit: 500 }).await?;
    let (tiles, attribution) =
        state.app.map_tiles().map_or((String::new(), String::new()), |t| (t.url.clone(), t.attribution.clone()));
    let mut main = format!("<h1>{}</h1>", lang.text("Carte du réseau", "Network map"));
    main.push_str(&filter.form(lang, "/console/map", &networks));
    main.push_str(&format!(
        "<div id=\"map\" data-tiles=\"{}\" data-attribution=\"{}\" data-bounds=\"{}\" data-query=\"{}\"></div>\
         <p><span id=\"map-status\"></span> · <a href=\"/console/points?{}\">{}</a></p>",
        escape(&tiles),
        escape(&attribution),
        escape(&bounds),
        escape(&filter.query(lang)),
        escape(&filter.query(lang)),
        lang.text("Voir la liste", "See the list"),
    ));
    let head = "<link rel=\"stylesheet\" href=\"/assets/leaflet/leaflet.css\">\
                <script src=\"/assets/leaflet/leaflet.js\" defer></script>\
                <script src=\"/console/assets/map.js\" defer></script>";
    Ok(crate::console::shell_with(StatusCode::OK, lang, &user, here, &main, head, state.app.map_tiles()))
}

const LEAFLET_JS: &str = include_str!("../console/vendor/leaflet/leaflet.js");
const LEAFLET_CSS: &str = include_str!("../console/vendor/leaflet/leaflet.css");
const MAP_JS: &str = include_str!("../console/map.js");

#[utoipa::path(get, path = "/assets/leaflet/{file}", tag = "pages", params(("file" = String, Path, description = "`leaflet.js` or `leaflet.css`.")),
    responses((status = 200, content_type = "text/javascript", body = String, description = "Leaflet 1.9.4, vendored (BSD-2-Clause): `leaflet.js`, or `leaflet.css` as `text/css`."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such file.")))]
/// The map library of the console and the widget, served by relais itself.
pub async fn leaflet(Path(file): Path<String>) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let (body, kind) = match file.as_str() {
        "leaflet.js" => (LEAFLET_JS, "text/javascript; charset=utf-8"),
        "leaflet.css" => (LEAFLET_CSS, "text/css; charset=utf-8"),
        _ => return Err(AppError::not_found("file", file).into()),
    };
    let cache = "public, max-age=86400";
    Ok(([(axum::http::header::CONTENT_TYPE, kind), (axum::http::header::CACHE_CONTROL, cache)], body).into_response())
}

#[utoipa::path(get, path = "/console/assets/map.js", tag = "console",
    responses((status = 200, content_type = "text/javascript", body = String, description = "The console map's script.")))]
/// The console map's script.
pub async fn map_script() -> Response {
    use axum::response::IntoResponse;
    let kind = "text/javascript; charset=utf-8";
    ([(axum::http::header::CONTENT_TYPE, kind), (axum::http::header::CACHE_CONTROL, "public, max-age=300")], MAP_JS)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_grouped_by_cell_at_their_mean_position() {
        // A view 24 degrees wide: cells of one degree. Three points in one cell, one in another.
        let positions = [(45.1, 4.1), (45.3, 4.5), (45.2, 4.9), (48.5, 2.3)];
        let groups = group(&positions, (0.0, 40.0, 24.0));
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[0].count, groups[0].lat, groups[0].lon), (1, 48.5, 2.3));
        assert_eq!(groups[1].count, 3);
        assert!((groups[1].lat - 45.2).abs() < 1e-9 && (groups[1].lon - 4.5).abs() < 1e-9);
        assert_eq!(groups.iter().map(|g| g.count).sum::<usize>(), positions.len());
    }

    #[test]
    fn a_bad_view_is_the_whole_world() {
        assert_eq!(bbox(Some("4.8,45.7,4.9,45.8")), (4.8, 45.7, 4.9, 45.8));
        for bad in [None, Some(""), Some("1,2,3"), Some("5,45,4,46"), Some("a,b,c,d"), Some("NaN,1,2,3")] {
            assert_eq!(bbox(bad), (-180.0, -90.0, 180.0, 90.0), "{bad:?}");
        }
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportsQuery {
    /// `fr` or `en`.
    pub lang: Option<String>,
    /// The network (default: the first).
    pub network_id: Option<String>,
}

#[utoipa::path(get, path = "/console/imports", tag = "console", params(ImportsQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "A network's point imports, the latest first: file, status, counts per kind of change, refused rows."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, content_type = "text/html", body = String, description = "A read-only or merchant account.")))]
/// A network's imports.
pub async fn imports(
    State(state): State<HttpState>,
    QueryParams(query): QueryParams<ImportsQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&PageQuery { lang: query.lang.clone(), done: None }, &headers);
    let here = (Section::Network, &uri);
    let user = match operator_staff(&state, &headers, lang, here).await? {
        Ok(user) => user,
        Err(page) => return Ok(page),
    };
    let networks = state.app.networks(&user.caller(), relais_app::ports::Page { after: None, limit: 500 }).await?;
    let chosen = query.network_id.as_deref().and_then(|n| n.parse().ok()).or(networks.first().map(|n| n.id));
    let mut main = format!("<h1>{}</h1>", lang.text("Imports de points", "Point imports"));
    main.push_str(&format!(
        "<form method=\"get\" action=\"/console/imports\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{} <select name=\"network_id\">",
        lang.code(),
        lang.text("Réseau", "Network")
    ));
    for n in &networks {
        let selected = if Some(n.id) == chosen { " selected" } else { "" };
        main.push_str(&format!("<option value=\"{}\"{selected}>{}</option>", n.id, escape(&n.name)));
    }
    main.push_str(&format!("</select></label><button type=\"submit\">{}</button></form>", lang.text("Voir", "Show")));
    let Some(network_id) = chosen else { return Ok(shell(StatusCode::OK, lang, &user, here, &main)) };
    // Read as the system: a read-only account reads what operators see, and changes nothing here.
    let records = state
        .app
        .imports(&relais_app::Caller::system(), network_id, relais_app::ports::Page { after: None, limit: 100 })
        .await?;
    main.push_str(&format!(
        "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.text("Fichier", "File"),
        lang.text("Le", "At"),
        lang.text("État", "Status"),
        lang.text("Lignes (refusées)", "Rows (refused)"),
        lang.text("Ajoutés · modifiés · déplacés · fermés · rouverts · retirés", "Added · changed · moved · closed · reopened · removed"),
    ));
    for r in &records {
        let counts: Vec<String> = r.changes.iter().map(u32::to_string).collect();
        main.push_str(&format!(
            "<tr class=\"import {}\"><td><a href=\"/console/imports/{}?lang={}\">{}</a> <small>{}</small></td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td></tr>",
            r.status.as_str(),
            r.id,
            lang.code(),
            escape(&r.source),
            escape(&r.format),
            r.at.format("%Y-%m-%d %H:%M UTC"),
            r.status.as_str(),
            r.rows_total,
            r.rows_refused,
            counts.join(" · "),
        ));
    }
    main.push_str("</tbody></table></div>");
    Ok(shell(StatusCode::OK, lang, &user, here, &main))
}

#[utoipa::path(get, path = "/console/imports/{id}", tag = "console", params(("id" = String, Path), PageQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "An import: its counts, its refused rows and file-level reasons, and each change it made (point, kind, fields before and after)."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, content_type = "text/html", body = String, description = "A merchant's account."),
        (status = 404, content_type = "text/html", body = String, description = "No such import.")))]
/// An import's diff and refused lines.
pub async fn import(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&query, &headers);
    let here = (Section::Network, &uri);
    let user = match operator_staff(&state, &headers, lang, here).await? {
        Ok(user) => user,
        Err(page) => return Ok(page),
    };
    let not_found = || {
        let text = lang.text("<p>Import introuvable.</p>", "<p>No such import.</p>");
        shell(StatusCode::NOT_FOUND, lang, &user, here, text)
    };
    let Ok(import_id) = id.parse() else { return Ok(not_found()) };
    let (record, changes) = match state.app.import_with_changes(&relais_app::Caller::system(), import_id).await {
        Ok(found) => found,
        Err(AppError::NotFound { .. }) => return Ok(not_found()),
        Err(other) => return Err(other.into()),
    };
    let mut main = format!(
        "<h1>{} {}</h1><p>{} · {} · {} · {} {} ({} {})</p>",
        lang.text("Import", "Import"),
        escape(&record.source),
        escape(&record.format),
        record.at.format("%Y-%m-%d %H:%M UTC"),
        record.status.as_str(),
        record.rows_total,
        lang.text("lignes", "rows"),
        record.rows_refused,
        lang.text("refusées", "refused"),
    );
    if !record.problems.is_empty() {
        main.push_str(&format!(
            "<h2>{}</h2><pre class=\"problems\">{}</pre>",
            lang.text("Lignes refusées et raisons", "Refused rows and reasons"),
            escape(&record.problems)
        ));
    }
    main.push_str(&format!("<h2>{} ({})</h2>", lang.text("Changements", "Changes"), changes.len()));
    if !changes.is_empty() {
        main.push_str("<div class=\"scroll\"><table><tbody>");
        for change in &changes {
            let name = state.app.registry_point(change.point_id).map(|p| p.name.clone()).unwrap_or_default();
            let fields: Vec<String> =
                change.fields.iter().map(|(f, before, after)| format!("{f}: {before} → {after}")).collect();
            main.push_str(&format!(
                "<tr class=\"change {}\"><td><a href=\"/console/points/{}?lang={}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                change.kind.as_str(),
                change.point_id,
                lang.code(),
                escape(if name.is_empty() { "-" } else { &name }),
                change.kind.as_str(),
                escape(&fields.join(" · ")),
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    Ok(shell(StatusCode::OK, lang, &user, here, &main))
}

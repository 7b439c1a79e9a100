//! The console's KPI dashboard: the seven KPIs of seed `automated-pickup-point-in-30-days` (pickup rate
//! within 7 days, mean days in a compartment, occupancy, deposit errors, hardware incidents per 1,000
//! deposits, NPS, cost per parcel) over a period, for a network, a point or everything, each a chart
//! per day with its target drawn; the points of the scope ranked; the same figures as CSV. The figures
//! come from `App::kpis`, the use case `GET /v1/kpis` and `relais kpi` share.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use relais_app::AppError;
use relais_app::kpis::{KpiQuery, KpiReport};
use relais_app::ports::Page;
use relais_domain::ids::{Id, PointId};
use relais_domain::kpi::KpiFigures;
use relais_domain::survey::Nps;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::HttpState;
use crate::chart::Chart;
use crate::console::{Section, shell, signed_in};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::recipients::{Lang, PageQuery, escape};

/// Days shown when the page is opened without a period.
const DEFAULT_DAYS: i64 = 30;
/// Points listed under the charts, the busiest first.
const POINTS_LISTED: usize = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// `fr` or `en`.
    pub lang: Option<String>,
    /// First UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last UTC day, included (default: today).
    pub to: Option<String>,
    /// One network's points.
    pub network_id: Option<String>,
    /// One point.
    pub point_id: Option<String>,
}

/// The period and scope asked for, checked: a bad value is named on the page.
struct Asked {
    query: KpiQuery,
    network: String,
    point: String,
}

fn asked(params: &DashboardQuery, today: NaiveDate) -> Result<Asked, String> {
    let day = |name: &str, text: &Option<String>, default: NaiveDate| match text.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("{name}: {text:?} (YYYY-MM-DD)")),
    };
    let last = day("to", &params.to, today)?;
    let first = day("from", &params.from, last - Duration::days(DEFAULT_DAYS - 1))?;
    fn id<T>(name: &str, text: &Option<String>) -> Result<Option<Id<T>>, String> {
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => {
                text.parse::<uuid::Uuid>().map(|u| Some(Id::from_uuid(u))).map_err(|_| format!("{name}: {text:?}"))
            }
        }
    }
    let network_id = id("network_id", &params.network_id)?;
    let point_id: Option<PointId> = id("point_id", &params.point_id)?;
    Ok(Asked {
        query: KpiQuery { first, last, point_id, network_id, nps_by_day: true },
        network: network_id.map(|n| n.to_string()).unwrap_or_default(),
        point: point_id.map(|p| p.to_string()).unwrap_or_default(),
    })
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}
fn days(v: f64) -> String {
    format!("{v:.2} j")
}
fn days_en(v: f64) -> String {
    format!("{v:.2} d")
}
fn per_mille(v: f64) -> String {
    format!("{v:.1}")
}
fn score(v: f64) -> String {
    format!("{v:.0}")
}
fn money(v: f64) -> String {
    format!("{:.2}", v / 100.0)
}

/// One KPI: its name, its value over the period, its values per day, its target.
struct Kpi {
    title: &'static str,
    total: Option<f64>,
    values: Vec<Option<f64>>,
    target: Option<f64>,
    format: fn(f64) -> String,
}

fn kpis(report: &KpiReport, lang: Lang) -> Vec<Kpi> {
    let series = |f: fn(&KpiFigures) -> Option<f64>| report.days.values().map(f).collect::<Vec<_>>();
    let t = &report.targets;
    let nps_values = report.days.keys().map(|d| report.nps_days.get(d).and_then(Nps::score)).collect();
    let mut all = vec![
        Kpi {
            title: lang.text("Retraits sous 7 jours", "Collected within 7 days"),
            total: report.total.pickup_rate_7_days(),
            values: series(KpiFigures::pickup_rate_7_days),
            target: t.pickup_rate_7_days,
            format: pct,
        },
        Kpi {
            title: lang.text("Jours moyens en casier", "Mean days in a compartment"),
            total: report.total.mean_occupancy_days(),
            values: series(KpiFigures::mean_occupancy_days),
            target: t.mean_occupancy_days,
            format: if lang == Lang::Fr { days } else { days_en },
        },
        Kpi {
            title: lang.text("Occupation", "Occupancy"),
            total: report.total.occupancy(),
            values: series(KpiFigures::occupancy),
            target: t.occupancy,
            format: pct,
        },
        Kpi {
            title: lang.text("Erreurs de dépôt (perdus)", "Deposit errors (lost)"),
            total: report.total.deposit_error_rate(),
            values: series(KpiFigures::deposit_error_rate),
            target: t.deposit_error_rate,
            format: pct,
        },
        Kpi {
            title: lang.text("Incidents matériels / 1 000 dépôts", "Hardware incidents / 1,000 deposits"),
            total: report.total.hardware_incidents_per_1000_deposits(),
            values: series(KpiFigures::hardware_incidents_per_1000_deposits),
            target: t.hardware_incidents_per_1000_deposits,
            format: per_mille,
        },
        Kpi {
            title: lang.text("Satisfaction (NPS)", "Satisfaction (NPS)"),
            total: report.nps.score(),
            values: nps_values,
            target: t.nps,
            format: score,
        },
    ];
    if report.costed {
        all.push(Kpi {
            title: lang.text("Coût par colis", "Cost per parcel"),
            total: report.total.cost_per_parcel_cents(),
            values: series(KpiFigures::cost_per_parcel_cents),
            target: t.cost_per_parcel_cents,
            format: money,
        });
    }
    all
}

#[utoipa::path(get, path = "/console/kpis", tag = "console", params(DashboardQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The seven KPIs of the period as charts per day with their targets, and the points of the scope."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, content_type = "text/html", body = String, description = "A merchant's account: KPIs are the network's."),
        (status = 422, content_type = "text/html", body = String, description = "A bad day or id: the page names it.")))]
/// The KPI dashboard.
pub async fn dashboard(
    State(state): State<HttpState>,
    QueryParams(params): QueryParams<DashboardQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&PageQuery { lang: params.lang.clone(), done: None }, &headers);
    let user = match signed_in(&state, &headers, lang).await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let here = (Section::Kpis, &uri);
    let title = format!("<h1>{}</h1>", lang.text("Indicateurs", "KPIs"));
    let asked = match asked(&params, state.app.now().date_naive()) {
        Ok(asked) => asked,
        Err(bad) => {
            let notice = format!(
                "<p class=\"notice error\" role=\"alert\">{} {}</p>",
                lang.text("Valeur refusée :", "Refused value:"),
                escape(&bad)
            );
            return Ok(shell(StatusCode::UNPROCESSABLE_ENTITY, lang, &user, here, &format!("{title}{notice}")));
        }
    };
    let caller = user.caller();
    let report = match state.app.kpis(&caller, asked.query).await {
        Ok(report) => report,
        Err(AppError::Forbidden { .. }) => {
            let text = lang.text(
                "<p>Les indicateurs sont ceux du réseau : réservés aux comptes de l'opérateur.</p>",
                "<p>KPIs are the network's: for the operator's accounts.</p>",
            );
            return Ok(shell(StatusCode::FORBIDDEN, lang, &user, here, &format!("{title}{text}")));
        }
        Err(AppError::Validation(e)) => {
            let notice = format!("<p class=\"notice error\" role=\"alert\">{}</p>", escape(&e.to_string()));
            return Ok(shell(StatusCode::UNPROCESSABLE_ENTITY, lang, &user, here, &format!("{title}{notice}")));
        }
        Err(other) => return Err(other.into()),
    };
    let networks = state.app.networks(&caller, Page { after: None, limit: 500 }).await.unwrap_or_default();
    let mut main = title;
    main.push_str(&format!(
        "<form method=\"get\" action=\"/console/kpis\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{} <input type=\"date\" name=\"from\" value=\"{}\"></label>\
         <label>{} <input type=\"date\" name=\"to\" value=\"{}\"></label>\
         <label>{} <select name=\"network_id\"><option value=\"\">{}</option>",
        lang.code(),
        lang.text("Du", "From"),
        asked.query.first,
        lang.text("au", "to"),
        asked.query.last,
        lang.text("Réseau", "Network"),
        lang.text("tous", "all"),
    ));
    for network in &networks {
        let selected = if network.id.to_string() == asked.network { " selected" } else { "" };
        main.push_str(&format!("<option value=\"{}\"{selected}>{}</option>", network.id, escape(&network.name)));
    }
    main.push_str(&format!(
        "</select></label><label>{} <input name=\"point_id\" value=\"{}\" size=\"36\"></label>\
         <button type=\"submit\">{}</button></form>",
        lang.text("Point", "Point"),
        escape(&asked.point),
        lang.text("Afficher", "Show"),
    ));
    if let Some(point) = asked.query.point_id.and_then(|id| state.app.registry_point(id)) {
        main.push_str(&format!("<p><strong>{}</strong> · {}</p>", escape(&point.name), escape(&point.address.city)));
    }
    let csv_query = uri.query().unwrap_or_default();
    main.push_str(&format!(
        "<p>{} {} · <a href=\"/console/kpis.csv?{}\" download>CSV</a></p>",
        report.total.deposited,
        lang.text("colis déposés sur la période", "parcels deposited in the period"),
        escape(csv_query),
    ));
    let day_names: Vec<String> = report.days.keys().map(ToString::to_string).collect();
    main.push_str("<section class=\"charts\">");
    for kpi in kpis(&report, lang) {
        let chart =
            Chart { title: kpi.title, days: &day_names, values: &kpi.values, target: kpi.target, format: kpi.format };
        let target = kpi
            .target
            .map(|t| {
                format!(
                    " <span class=\"muted\">{} {}</span>",
                    lang.text("objectif", "target"),
                    escape(&(kpi.format)(t))
                )
            })
            .unwrap_or_default();
        main.push_str(&format!(
            "<article class=\"card kpi\"><h3>{}</h3><p class=\"figure\">{}{target}</p>{}</article>",
            escape(kpi.title),
            escape(&kpi.total.map_or("-".to_owned(), kpi.format)),
            chart.svg(),
        ));
    }
    main.push_str("</section>");
    if !report.costed {
        main.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            lang.text(
                "Pas de modèle de coût : le coût par colis s'affiche une fois [kpi.cost] configuré.",
                "No cost model: the cost per parcel shows once [kpi.cost] is configured."
            )
        ));
    }
    if asked.query.point_id.is_none() {
        main.push_str(&points_table(&state, &report, lang, &asked));
    }
    Ok(shell(StatusCode::OK, lang, &user, here, &main))
}

/// The busiest points of the scope over the period, each linking to its own dashboard.
fn points_table(state: &HttpState, report: &KpiReport, lang: Lang, asked: &Asked) -> String {
    let mut per_point: BTreeMap<PointId, KpiFigures> = BTreeMap::new();
    for ((point, _), figures) in &report.cohorts {
        per_point.entry(*point).or_default().add(figures);
    }
    let mut ranked: Vec<(PointId, KpiFigures)> = per_point.into_iter().collect();
    ranked.sort_by(|a, b| b.1.deposited.cmp(&a.1.deposited).then(a.0.cmp(&b.0)));
    let mut out = format!(
        "<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.text("Points les plus actifs", "Busiest points"),
        lang.text("Point", "Point"),
        lang.text("Déposés", "Deposited"),
        lang.text("Retirés sous 7 j", "Collected within 7 d"),
        lang.text("Incidents", "Incidents"),
        lang.text("Perdus", "Lost"),
    );
    for (point_id, figures) in ranked.iter().take(POINTS_LISTED) {
        let name = state.app.registry_point(*point_id).map(|p| p.name.clone()).unwrap_or_else(|| point_id.to_string());
        out.push_str(&format!(
            "<tr><td><a href=\"/console/kpis?lang={}&amp;from={}&amp;to={}&amp;point_id={}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            lang.code(),
            asked.query.first,
            asked.query.last,
            point_id,
            escape(&name),
            figures.deposited,
            figures.pickup_rate_7_days().map_or("-".to_owned(), pct),
            figures.hardware_incidents,
            figures.lost,
        ));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The CSV of the dashboard: a row per day over the scope, then the total.
pub const SERIES_CSV_HEADER: &str = "day,deposited,pickup_rate_7_days,mean_occupancy_days,occupancy,deposit_error_rate,hardware_incidents_per_1000_deposits,nps,nps_answers,cost_cents,cost_per_parcel_cents";

fn series_line(day: &str, f: &KpiFigures, nps: Option<&Nps>) -> String {
    let num = |r: Option<f64>| r.map(|r| format!("{r:.4}")).unwrap_or_default();
    format!(
        "{day},{},{},{},{},{},{},{},{},{},{}",
        f.deposited,
        num(f.pickup_rate_7_days()),
        num(f.mean_occupancy_days()),
        num(f.occupancy()),
        num(f.deposit_error_rate()),
        num(f.hardware_incidents_per_1000_deposits()),
        num(nps.and_then(Nps::score)),
        nps.map_or(0, Nps::answers),
        f.cost_cents,
        num(f.cost_per_parcel_cents()),
    )
}

#[utoipa::path(get, path = "/console/kpis.csv", tag = "console", params(DashboardQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "A row per day of the period over the scope, then `total`."),
        (status = 303, description = "Not signed in: on to `/console/login`."),
        (status = 403, body = crate::error::ErrorEnvelope, description = "`forbidden`: a merchant's account."),
        (status = 422, body = crate::error::ErrorEnvelope, description = "`validation_failed`: a bad day or id.")))]
/// The dashboard's figures as CSV, for a spreadsheet.
pub async fn csv(
    State(state): State<HttpState>,
    QueryParams(params): QueryParams<DashboardQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&PageQuery { lang: params.lang.clone(), done: None }, &headers);
    let user = match signed_in(&state, &headers, lang).await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let asked = asked(&params, state.app.now().date_naive())
        .map_err(|bad| AppError::from(relais_domain::value::ParseError::new("query", bad)))?;
    let report = state.app.kpis(&user.caller(), asked.query).await?;
    let mut body = format!("{SERIES_CSV_HEADER}\n");
    for (day, figures) in &report.days {
        body.push_str(&series_line(&day.to_string(), figures, report.nps_days.get(day)));
        body.push('\n');
    }
    body.push_str(&series_line("total", &report.total, Some(&report.nps)));
    body.push('\n');
    let name = format!("attachment; filename=\"kpis-{}-{}.csv\"", asked.query.first, asked.query.last);
    Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, name)], body).into_response())
}

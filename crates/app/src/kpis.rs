//! The KPIs use case: the event log of a period read back and computed by `relais_domain::kpi`, per
//! point and day, and in total; and the Net Promoter Score of the satisfaction survey's answers. Shared
//! by `GET /v1/kpis`, `GET /v1/kpis/nps` and `relais kpi`.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use relais_domain::Timestamp;
use relais_domain::ids::{CarrierId, MerchantId, NetworkId, PointId};
use relais_domain::kpi::{CostModel, KpiFigures, KpiTargets, compute, occupied_seconds};
use relais_domain::survey::Nps;
use relais_domain::value::ParseError;

use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::error::AppError;
use crate::ports::SurveyFilter;

/// Longest period one request covers.
pub const PERIOD_DAYS_MAX: i64 = 366;

/// How far back a parcel still in its point at the start of a period may have been deposited: the
/// longest hold window with its extensions, for the occupancy over time.
const PRESENCE_DAYS_BACK: i64 = 31;

/// How KPIs are costed and what they aim at (`[kpi]` in the configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KpiSettings {
    pub cost: CostModel,
    pub targets: KpiTargets,
}

/// Parcels deposited from `first` to `last` (UTC days, both included), at a point or in a network.
#[derive(Debug, Clone, Copy)]
pub struct KpiQuery {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub point_id: Option<PointId>,
    pub network_id: Option<NetworkId>,
    /// Also the NPS of each day's answers (one count a day: the console's charts ask for it).
    pub nps_by_day: bool,
}

pub struct KpiReport {
    /// Per point and UTC day of deposit (with, for that day, the point's occupancy and cost).
    pub cohorts: BTreeMap<(PointId, NaiveDate), KpiFigures>,
    /// Per UTC day over every point of the scope, each day of the period present: the charts. A
    /// point's places and fixed cost count every day, with parcels or not.
    pub days: BTreeMap<NaiveDate, KpiFigures>,
    pub total: KpiFigures,
    /// The satisfaction survey's answers given in the period (at the point, or in the network).
    pub nps: Nps,
    /// The NPS of each day's answers, when asked (`KpiQuery::nps_by_day`).
    pub nps_days: BTreeMap<NaiveDate, Nps>,
    pub targets: KpiTargets,
    /// Whether a cost model is configured (no cost is shown otherwise).
    pub costed: bool,
}

/// Survey answers given from `first` to `last` (UTC days, both included), narrowed to a network, a
/// point, a merchant or a carrier when given.
#[derive(Debug, Clone, Copy)]
pub struct NpsQuery {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub network_id: Option<NetworkId>,
    pub point_id: Option<PointId>,
    pub merchant_id: Option<MerchantId>,
    pub carrier_id: Option<CarrierId>,
}

impl App {
    pub async fn kpis(&self, caller: &Caller, query: KpiQuery) -> Result<KpiReport, AppError> {
        caller.require(Permission::ReadKpis)?;
        let (from, to) = period(query.first, query.last)?;
        let since = from - chrono::Duration::days(PRESENCE_DAYS_BACK);
        let events = self.store.kpi_events(query.point_id, query.network_id, since, to).await?;
        let facts = self.store.kpi_facts(query.point_id, query.network_id, from, to).await?;
        let (mut cohorts, _) = compute(&events, &facts, from, to);
        let until = to.min(self.now()).max(from);
        for ((point_id, day), seconds) in occupied_seconds(&events, from, until) {
            cohorts.entry((point_id, day)).or_default().occupied_seconds += seconds;
        }
        let settings = *self.kpi_settings;
        // Each point of the scope: its places (doors, or shelf slots) and its fixed cost a day.
        let index = self.registry.index();
        let scope: BTreeMap<PointId, (f64, u64)> = index
            .all()
            .filter(|(p, _)| query.point_id.is_none_or(|id| p.id == id))
            .filter(|(p, _)| query.network_id.is_none_or(|id| p.network_id == id))
            .map(|(point, capacity)| {
                let (places, _) = capacity.places(point.shelf_capacity);
                (point.id, (f64::from(places), settings.cost.point_day_cents(point.kind)))
            })
            .collect();
        let (scope_places, scope_day_cents) =
            scope.values().fold((0.0, 0u64), |(places, cents), (p, c)| (places + p, cents + c));
        // The share of each day counted: a day still running counts up to now, a future day not at all.
        let share = |day: NaiveDate| {
            let start = day.and_time(NaiveTime::MIN).and_utc().max(from);
            let end = (day + chrono::Duration::days(1)).and_time(NaiveTime::MIN).and_utc().min(until);
            (
                (end - start).num_milliseconds().max(0) as f64 / 1000.0,
                (end - start).num_milliseconds().max(0) as f64 / 86_400_000.0,
            )
        };
        for ((point_id, day), figures) in cohorts.iter_mut() {
            let (seconds, fraction) = share(*day);
            let (places, day_cents) = scope.get(point_id).copied().unwrap_or_default();
            figures.capacity_seconds = places * seconds;
            figures.cost_cents = settings.cost.variable_cents(figures) + (day_cents as f64 * fraction).round() as u64;
        }
        let mut days: BTreeMap<NaiveDate, KpiFigures> = query
            .first
            .iter_days()
            .take_while(|d| *d <= query.last)
            .map(|day| {
                let (seconds, fraction) = share(day);
                let fixed = KpiFigures {
                    capacity_seconds: scope_places * seconds,
                    cost_cents: (scope_day_cents as f64 * fraction).round() as u64,
                    ..KpiFigures::default()
                };
                (day, fixed)
            })
            .collect();
        for ((_, day), figures) in &cohorts {
            let mut variable = *figures;
            variable.capacity_seconds = 0.0;
            variable.cost_cents = settings.cost.variable_cents(figures);
            if let Some(entry) = days.get_mut(day) {
                entry.add(&variable);
            }
        }
        let mut total = KpiFigures::default();
        for figures in days.values() {
            total.add(figures);
        }
        let filter = SurveyFilter {
            from,
            to,
            network_id: query.network_id,
            point_id: query.point_id,
            merchant_id: None,
            carrier_id: None,
        };
        let nps = Nps::of_counts(&self.store.survey_scores(&filter).await?);
        let mut nps_days = BTreeMap::new();
        if query.nps_by_day {
            for day in days.keys() {
                let (from, to) = period(*day, *day)?;
                let answers = self.store.survey_scores(&SurveyFilter { from, to, ..filter }).await?;
                nps_days.insert(*day, Nps::of_counts(&answers));
            }
        }
        Ok(KpiReport { cohorts, days, total, nps, nps_days, targets: settings.targets, costed: settings.cost.is_set() })
    }

    /// The Net Promoter Score of the survey's answers: operators' of anything, a merchant's of its
    /// own parcels only (another merchant's is `not_found`).
    pub async fn nps(&self, caller: &Caller, query: NpsQuery) -> Result<Nps, AppError> {
        let filter = survey_filter(caller, &query)?;
        Ok(Nps::of_counts(&self.store.survey_scores(&filter).await?))
    }
}

/// Which answers a caller's survey query covers: a merchant's own parcels only (another merchant's is
/// `not_found`), anything an operator names.
fn survey_filter(caller: &Caller, query: &NpsQuery) -> Result<SurveyFilter, AppError> {
    let merchant_id = match caller.role {
        Role::Merchant => match (query.merchant_id, caller.merchant_id) {
            (Some(asked), Some(own)) if asked != own => {
                return Err(AppError::not_found("merchant", asked.to_string()));
            }
            (_, own) => own,
        },
        _ => {
            caller.require(Permission::ReadKpis)?;
            query.merchant_id
        }
    };
    let (from, to) = period(query.first, query.last)?;
    Ok(SurveyFilter {
        from,
        to,
        network_id: query.network_id,
        point_id: query.point_id,
        merchant_id,
        carrier_id: query.carrier_id,
    })
}

/// The instants of a period of UTC days, checked.
fn period(first: NaiveDate, last: NaiveDate) -> Result<(Timestamp, Timestamp), AppError> {
    if last < first {
        return Err(ParseError::new("to", "the last day is before the first").into());
    }
    if (last - first).num_days() >= PERIOD_DAYS_MAX {
        return Err(ParseError::new("to", format!("a period covers at most {PERIOD_DAYS_MAX} days")).into());
    }
    let from = first.and_time(NaiveTime::MIN).and_utc();
    let to = (last + chrono::Duration::days(1)).and_time(NaiveTime::MIN).and_utc();
    Ok((from, to))
}

/// A comment its recipient agreed to publish, as a merchant's reviews page shows it: no name, no
/// contact, where the parcel was collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub parcel_id: relais_domain::ids::ParcelId,
    pub score: u8,
    pub comment: String,
    pub answered_at: relais_domain::Timestamp,
    pub point_name: String,
    pub city: String,
}

/// Most reviews one export gives.
pub const REVIEWS_MAX: u32 = 5_000;

impl App {
    /// The comments recipients agreed to publish, given between two days, the latest first: a
    /// merchant's own (its reviews page), or an operator's choice of merchant.
    pub async fn reviews(&self, caller: &Caller, query: NpsQuery) -> Result<Vec<Review>, AppError> {
        let filter = survey_filter(caller, &query)?;
        let mut reviews = Vec::new();
        for answer in self.store.published_answers(&filter, REVIEWS_MAX).await? {
            let point = self.indexed_point(answer.point_id).await?;
            reviews.push(Review {
                parcel_id: answer.parcel_id,
                score: answer.score,
                comment: answer.comment.unwrap_or_default(),
                answered_at: answer.answered_at,
                point_name: point.name.clone(),
                city: point.address.city.clone(),
            });
        }
        Ok(reviews)
    }
}

/// Reviews as CSV for a merchant's site: `answered_at,score,comment,point,city`.
pub fn reviews_csv(reviews: &[Review]) -> String {
    let mut out = String::from("answered_at,score,comment,point,city\n");
    for r in reviews {
        let fields = [
            r.answered_at.to_rfc3339(),
            r.score.to_string(),
            crate::csv_out::inert(&r.comment),
            crate::csv_out::inert(&r.point_name),
            crate::csv_out::inert(&r.city),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        out.push_str(&crate::csv_out::line(&refs));
        out.push('\n');
    }
    out
}

impl App {
    /// Computes each network's KPIs over the last `days` days of deposits (today included) and sets
    /// them as gauges on `/metrics` (`relais_kpi_*{network_id, network}`), with the targets
    /// (`relais_kpi_target{kpi}`) and the live occupancy of the compartments (`relais_occupancy_ratio`):
    /// Prometheus and the Grafana dashboard in `deploy/` read them. A figure without a denominator is NaN
    /// (Grafana draws a gap). Returns how many networks were computed.
    pub async fn publish_kpi_gauges(&self, caller: &Caller, days: u32) -> Result<usize, AppError> {
        caller.require(Permission::ReadKpis)?;
        describe_kpi_gauges();
        let last = self.now().date_naive();
        let first = last - chrono::Duration::days(i64::from(days.clamp(1, PERIOD_DAYS_MAX as u32)) - 1);
        let networks = self.store.networks(crate::ports::Page { after: None, limit: 10_000 }).await?;
        let index = self.registry.index();
        for network in &networks {
            let query = KpiQuery { first, last, point_id: None, network_id: Some(network.id), nps_by_day: false };
            let report = self.kpis(caller, query).await?;
            let t = &report.total;
            let labels = [("network_id", network.id.to_string()), ("network", network.name.clone())];
            let set = |name: &'static str, value: Option<f64>| {
                metrics::gauge!(name, &labels).set(value.unwrap_or(f64::NAN));
            };
            set("relais_kpi_parcels_deposited", Some(f64::from(t.deposited)));
            set("relais_kpi_hardware_incidents", Some(f64::from(t.hardware_incidents)));
            set("relais_kpi_pickup_rate_7_days", t.pickup_rate_7_days());
            set("relais_kpi_mean_occupancy_days", t.mean_occupancy_days());
            set("relais_kpi_occupancy_ratio", t.occupancy());
            set("relais_kpi_deposit_error_rate", t.deposit_error_rate());
            set("relais_kpi_hardware_incidents_per_1000_deposits", t.hardware_incidents_per_1000_deposits());
            set("relais_kpi_nps", report.nps.score());
            set("relais_kpi_cost_per_parcel_cents", if report.costed { t.cost_per_parcel_cents() } else { None });
            let (mut total, mut free, mut doors_total, mut doors_free) = (0u32, 0u32, 0u32, 0u32);
            for (point, capacity) in index.all().filter(|(p, _)| p.network_id == network.id) {
                let (places, places_free) = capacity.places(point.shelf_capacity);
                (total, free) = (total + places, free + places_free);
                if point.kind.has_compartments() {
                    (doors_total, doors_free) = (doors_total + places, doors_free + places_free);
                }
            }
            set("relais_compartments", Some(f64::from(doors_total)));
            set("relais_compartments_free", Some(f64::from(doors_free)));
            set(
                "relais_occupancy_ratio",
                (total > 0).then(|| f64::from(total.saturating_sub(free)) / f64::from(total)),
            );
        }
        let targets = self.kpi_settings.targets;
        for (kpi, target) in [
            ("pickup_rate_7_days", targets.pickup_rate_7_days),
            ("mean_occupancy_days", targets.mean_occupancy_days),
            ("occupancy_ratio", targets.occupancy),
            ("deposit_error_rate", targets.deposit_error_rate),
            ("hardware_incidents_per_1000_deposits", targets.hardware_incidents_per_1000_deposits),
            ("nps", targets.nps),
            ("cost_per_parcel_cents", targets.cost_per_parcel_cents),
        ] {
            metrics::gauge!("relais_kpi_target", "kpi" => kpi).set(target.unwrap_or(f64::NAN));
        }
        Ok(networks.len())
    }
}

/// The `# HELP` lines of the KPI gauges (docs/kpis.md has the definitions).
fn describe_kpi_gauges() {
    for (name, help) in [
        ("relais_kpi_parcels_deposited", "Parcels deposited in the last metrics_days days."),
        ("relais_kpi_hardware_incidents", "Door faults in the last metrics_days days."),
        ("relais_kpi_pickup_rate_7_days", "Parcels collected within 7 days of their deposit over parcels deposited."),
        ("relais_kpi_mean_occupancy_days", "Mean days from deposit to removal of the parcels removed."),
        ("relais_kpi_occupancy_ratio", "Time-weighted occupancy of the places (doors or shelf slots) over the period."),
        ("relais_kpi_deposit_error_rate", "Parcels reported lost after deposit over parcels deposited."),
        ("relais_kpi_hardware_incidents_per_1000_deposits", "Door faults per 1,000 parcels deposited."),
        ("relais_kpi_nps", "Net Promoter Score of the survey answers given in the period (-100 to 100)."),
        ("relais_kpi_cost_per_parcel_cents", "Cost per parcel deposited under the cost model ([kpi.cost]), in cents."),
        ("relais_kpi_target", "The target of each KPI ([kpi.targets]); NaN when none."),
        ("relais_compartments", "Locker and hub compartments of the network."),
        ("relais_compartments_free", "Compartments free now (a lapsed reservation counts as free)."),
        ("relais_occupancy_ratio", "Places (doors and shelf slots) taken now over places."),
    ] {
        metrics::describe_gauge!(name, help);
    }
}

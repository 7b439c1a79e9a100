//! Carrier tracking (docs/tracking.md): a parcel followed at its carrier under the carrier's own number,
//! the carrier's answers read by the pure adapters of `relais_tracking`, their new events stored once
//! (an event is its instant and its code: a poll and a push bringing the same one keep one), and one
//! timeline per parcel where the carrier's events and relais' own (deposit, collection) meet.
//!
//! Answers come two ways. A **poll**: `App::poll_trackings` (a job in `relais serve`) takes the followed
//! parcels that are due and asks each one's carrier through the [`OutboundCalls`] port, within the
//! carrier's budget per round (its rate limit), with the operator's credentials; the wait before the
//! next poll grows while the parcel is quiet and polling stops once it is delivered or gone cold
//! (`relais_tracking::schedule`). A **push**: a carrier (or an aggregator relaying it) posts its
//! answer for one number, signed with the secret the operator shares with it (Standard Webhooks).
//! Either way news goes to the merchant's webhooks (`parcel.tracking`) in the same commit.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use relais_domain::ids::ParcelId;
use relais_domain::value::ParseError;
use relais_tracking::schedule::{self, Outcome};
use relais_tracking::{Carrier, TrackingError, TrackingEvent, TrackingStatus};
use serde::Serialize;

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{OutboundCalls, OutboundRequest, ParcelTracking, PromiseTerms, TrackingWrite, Write};

/// Longest carrier tracking number relais accepts.
pub const NUMBER_LENGTH_MAX: usize = 64;
/// Longest error kept of a failed poll.
const ERROR_CHARS_MAX: usize = 300;
/// The events one answer may bring: more is not a parcel's journey.
pub const EVENTS_MAX: usize = 500;

/// One carrier's API as the operator configured it (`[tracking.carriers.<name>]`): where to ask,
/// with which credentials, and how often.
#[derive(Clone)]
pub struct CarrierApi {
    pub carrier: Carrier,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The request's URL, `{number}` standing for the tracking number.
    pub url: String,
    /// The request's body for carriers that take one (SOAP, GraphQL, JSON), `{number}` likewise.
    pub body: Option<String>,
    /// The credentials and content type: never logged.
    pub headers: Vec<(String, String)>,
    /// Most polls of this carrier one round makes: its rate limit, with the round's interval.
    pub polls_per_round: u32,
    /// The secret the carrier signs its pushes with (`whsec_...`), if it pushes.
    pub push_secret: Option<relais_messages::webhooks::WebhookSecret>,
}

/// Never shows the headers or the push secret.
impl std::fmt::Debug for CarrierApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CarrierApi({} {} {})", self.carrier.as_str(), self.method, self.url)
    }
}

impl CarrierApi {
    fn request(&self, number: &str) -> OutboundRequest {
        // The number is checked at follow time (letters, digits, dashes): nothing to escape.
        OutboundRequest {
            method: self.method,
            url: self.url.replace("{number}", number),
            headers: self.headers.clone(),
            body: self.body.as_ref().map(|b| b.replace("{number}", number)),
        }
    }
}

/// The carriers' APIs of this instance.
#[derive(Debug, Clone, Default)]
pub struct CarrierApis(pub Vec<CarrierApi>);

impl CarrierApis {
    fn of(&self, carrier: &str) -> Option<&CarrierApi> {
        self.0.iter().find(|api| api.carrier.as_str() == carrier)
    }
}

/// A push's Standard Webhooks headers: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSignature {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
}

/// Following a parcel at its carrier, and the promise it was sold with.
#[derive(Debug, Clone, Default)]
pub struct FollowRequest {
    pub carrier: String,
    pub tracking_number: String,
    /// The service level's working days (J+n); from the service level, or the parcel's order's, when
    /// not given.
    pub service_days: Option<u32>,
    /// The merchant's name of the service level (`express`): its working days from the settings, and
    /// the carrier's scale for that service if it has one; the parcel's order's when not given.
    pub service_level: Option<String>,
    /// The shipping price the recipient paid, in cents; from the parcel's order when not given.
    pub shipping_price_cents: Option<i64>,
    pub currency: Option<String>,
    /// The declared value of the goods, in cents (a loss claim asks for it); the order's lines' value
    /// when not given.
    pub declared_value_cents: Option<i64>,
}

/// The longest service level relais takes, in working days.
pub const SERVICE_DAYS_MAX: u32 = 60;

/// What an order's goods are worth: its lines' total, in cents.
fn goods_value(order: &relais_domain::order::Order) -> i64 {
    order.lines.iter().map(|l| l.unit_price_cents.saturating_mul(i64::from(l.quantity))).sum()
}

/// What a poll round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    /// Parcels asked about.
    pub polled: u32,
    /// Of those, the ones that brought new events.
    pub news: u32,
    /// Answers that could not be used (no answer, refused, unreadable).
    pub failed: u32,
    /// Carriers whose budget for the round was spent: more of their parcels may be waiting.
    pub at_budget: u32,
}

/// What reading one answer did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingested {
    /// Events the parcel did not have yet.
    pub new_events: usize,
    /// The normalised status of its latest carrier event.
    pub status: Option<&'static str>,
    /// When relais asks again; `None`: it no longer polls.
    pub next_poll_at: Option<DateTime<chrono::Utc>>,
}

/// Where an entry of a timeline comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Carrier,
    Relais,
}

/// One entry of a parcel's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// Carriers' events in their local time with its offset; relais' own in UTC.
    pub at: DateTime<FixedOffset>,
    pub source: Source,
    /// The carrier's name, or `relais`.
    pub by: String,
    /// The carrier's code, or relais' event (`deposited`, `collected`...).
    pub code: String,
    pub description: String,
    pub status: TrackingStatus,
    pub place: Option<String>,
}

/// A parcel's timeline: its carrier's events and relais' own, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub tracking: Option<ParcelTracking>,
    pub entries: Vec<TimelineEntry>,
}

/// The normalised status a relais event stands for in a timeline.
fn relais_status(kind: relais_domain::parcel::EventKind) -> TrackingStatus {
    use relais_domain::parcel::EventKind as K;
    match kind {
        K::Announced => TrackingStatus::Pending,
        K::InTransit => TrackingStatus::InTransit,
        K::Deposited | K::Relocated | K::Extended | K::Reminded | K::Moved | K::CodeReissued => {
            TrackingStatus::ReadyForPickup
        }
        K::DepositFailed => TrackingStatus::DeliveryFailed,
        K::Collected => TrackingStatus::Delivered,
        K::Expired | K::ReturnCollected | K::ReturnedToSender => TrackingStatus::ReturnToSender,
        K::IncidentReported | K::CompartmentFault => TrackingStatus::OnHold,
        K::Cancelled => TrackingStatus::Unknown,
    }
}

fn tracking_number(text: &str) -> Result<String, ParseError> {
    let number = text.trim();
    let valid = !number.is_empty()
        && number.len() <= NUMBER_LENGTH_MAX
        && number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(number.to_owned())
    } else {
        Err(ParseError::new("tracking_number", format!("1 to {NUMBER_LENGTH_MAX} letters, digits or dashes")))
    }
}

impl App {
    /// The carriers' APIs this instance polls and takes pushes from.
    pub fn with_carrier_apis(self, apis: CarrierApis) -> Self {
        App { carrier_apis: Arc::new(apis), ..self }
    }

    /// Follows a parcel at its carrier under the carrier's number (its merchant or an operator), with
    /// the promise it was sold with: the service level's working days and the shipping price, taken
    /// from the parcel's order unless given (docs/claims.md). The same request again changes nothing;
    /// another carrier or number replaces them and polls again from the start. `409 tracking_number`
    /// when another parcel is followed under that number.
    pub async fn track_parcel(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        request: FollowRequest,
    ) -> Result<ParcelTracking, AppError> {
        caller.require(Permission::AnnounceParcel)?;
        let carrier = Carrier::parse(&request.carrier).ok_or_else(|| {
            let names: Vec<&str> = Carrier::ALL.iter().map(|c| c.as_str()).collect();
            ParseError::new("carrier", format!("one of {}", names.join(", ")))
        })?;
        let number = tracking_number(&request.tracking_number)?;
        let parcel = self.load_visible_parcel(caller, parcel_id).await?;
        let promise = self.promise_terms(parcel_id, &request).await?;
        let existing = self.store.parcel_tracking(parcel_id).await?;
        let now = self.now();
        let tracking = match existing {
            Some(existing) if existing.carrier == carrier.as_str() && existing.tracking_number == number => {
                if existing.promise == promise {
                    return Ok(existing);
                }
                // New terms for the same journey: its history and schedule stay, the promise is
                // looked at again.
                ParcelTracking { promise, next_review_at: Some(now), updated_at: now, ..existing }
            }
            _ => ParcelTracking {
                parcel_id,
                merchant_id: parcel.merchant_id,
                carrier: carrier.as_str().to_owned(),
                tracking_number: number,
                status: None,
                last_event_at: None,
                next_poll_at: Some(now),
                quiet_polls: 0,
                failures: 0,
                last_error: None,
                promise,
                shipped_on: None,
                due_on: None,
                delivered_at: None,
                delay_told_at: None,
                delay_reason: None,
                next_review_at: Some(now),
                created_at: now,
                updated_at: now,
            },
        };
        self.insert(Write::Tracking(TrackingWrite::Put(Box::new(tracking.clone())))).await?;
        Ok(tracking)
    }

    /// The promise of a parcel: what the request says, else what its order says (its service level's
    /// working days from the settings, its shipping price shared among its parcels).
    async fn promise_terms(
        &self,
        parcel_id: ParcelId,
        request: &FollowRequest,
    ) -> Result<Option<PromiseTerms>, AppError> {
        if let Some(price) = request.shipping_price_cents
            && price < 0
        {
            return Err(ParseError::new("shipping_price_cents", "is not negative").into());
        }
        if request.declared_value_cents.is_some_and(|v| v < 0) {
            return Err(ParseError::new("declared_value_cents", "is not negative").into());
        }
        if let Some(days) = request.service_days
            && days > SERVICE_DAYS_MAX
        {
            return Err(ParseError::new("service_days", format!("at most {SERVICE_DAYS_MAX}")).into());
        }
        let currency = match &request.currency {
            Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => Some(code.clone()),
            Some(_) => return Err(ParseError::new("currency", "is an ISO 4217 code such as EUR").into()),
            None => None,
        };
        let order = match self.store.order_of_parcel(parcel_id).await? {
            Some(order_id) => self.store.order(order_id).await?,
            None => None,
        };
        let levels = &self.promise_settings.service_levels;
        if let Some(level) = &request.service_level
            && !levels.contains_key(level)
        {
            let names: Vec<&str> = levels.keys().map(String::as_str).collect();
            return Err(ParseError::new("service_level", format!("one of {}", names.join(", "))).into());
        }
        let (order_level, order_price, order_currency) = match &order {
            Some(order) => {
                let parcels = self.store.order_parcels(order.id).await?;
                let count = i64::try_from(parcels.len().max(1)).unwrap_or(1);
                // The price shared evenly, the odd cents on the first parcel.
                let first = parcels.first().is_none_or(|(p, _)| p.id == parcel_id);
                let share =
                    order.shipping_price_cents / count + if first { order.shipping_price_cents % count } else { 0 };
                (Some(order.service_level.clone()), Some(share), Some(order.currency.clone()))
            }
            None => (None, None, None),
        };
        let service_level = request.service_level.clone().or(order_level);
        let level_days = service_level.as_ref().and_then(|level| levels.get(level).copied());
        let Some(service_days) = request.service_days.or(level_days) else { return Ok(None) };
        Ok(Some(PromiseTerms {
            service_days,
            shipping_price_cents: request.shipping_price_cents.or(order_price).unwrap_or(0),
            currency: currency.or(order_currency).unwrap_or_else(|| "EUR".to_owned()),
            declared_value_cents: request.declared_value_cents.or_else(|| order.as_ref().map(goods_value)),
            service_level,
        }))
    }

    /// A parcel's timeline: its carrier's events and relais' own, oldest first.
    pub async fn parcel_timeline(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Timeline, AppError> {
        self.load_visible_parcel(caller, parcel_id).await?;
        let tracking = self.store.parcel_tracking(parcel_id).await?;
        let carrier_events = self.store.carrier_events(parcel_id).await?;
        let own = self.store.events(parcel_id).await?;
        let mut entries: Vec<TimelineEntry> = carrier_events
            .into_iter()
            .map(|stored| TimelineEntry {
                at: stored.event.at,
                source: Source::Carrier,
                by: stored.carrier,
                code: stored.event.code,
                description: stored.event.description,
                status: stored.event.status,
                place: stored.event.place,
            })
            .collect();
        entries.extend(own.into_iter().map(|stored| TimelineEntry {
            at: stored.event.at.fixed_offset(),
            source: Source::Relais,
            by: "relais".to_owned(),
            code: stored.event.kind.as_str().to_owned(),
            description: stored.event.reason.clone().unwrap_or_default(),
            status: relais_status(stored.event.kind),
            place: None,
        }));
        // Stable: relais' events of one instant keep their order.
        entries.sort_by_key(|e| e.at);
        Ok(Timeline { tracking, entries })
    }

    /// An order's timeline: each of its parcels' timelines (their carriers' events and relais' own),
    /// merged oldest first, each entry with its parcel.
    pub async fn order_timeline(
        &self,
        caller: &Caller,
        order_id: relais_domain::ids::OrderId,
    ) -> Result<Vec<(relais_domain::parcel::Parcel, Timeline)>, AppError> {
        let order = self.load_order(caller, order_id).await?;
        let mut timelines = Vec::new();
        for (parcel, _) in self.store.order_parcels(order.id).await? {
            let timeline = self.parcel_timeline(&Caller::system(), parcel.id).await?;
            timelines.push((parcel, timeline));
        }
        Ok(timelines)
    }

    /// One poll round: for each carrier with an API here, its followed parcels that are due, the most
    /// overdue first, at most its budget (its rate limit over the round; `limit` above all). A carrier
    /// without an API here is not polled: its parcels wait for its pushes, and never hold up another
    /// carrier's.
    pub async fn poll_trackings(
        &self,
        caller: &Caller,
        calls: &dyn OutboundCalls,
        limit: u32,
    ) -> Result<PollReport, AppError> {
        caller.require(Permission::RunJobs)?;
        let mut report = PollReport::default();
        for api in &self.carrier_apis.0 {
            let budget = api.polls_per_round.min(limit);
            let due = self.store.trackings_due(api.carrier.as_str(), self.now(), budget).await?;
            if due.len() as u64 >= u64::from(budget) {
                report.at_budget += 1;
            }
            for tracking in due {
                let answer = match calls.call(api.request(&tracking.tracking_number)).await {
                    Ok(answer) if (200..300).contains(&answer.status) => Ok(answer.body.into_bytes()),
                    // A 4xx may carry the carrier's own word (an unknown number, expired credentials)
                    // for the adapter to read; otherwise the status and the start of what came back.
                    Ok(answer)
                        if (400..500).contains(&answer.status)
                            && !matches!(
                                relais_tracking::parse(api.carrier, answer.body.as_bytes()),
                                Err(TrackingError::BadAnswer { .. })
                            ) =>
                    {
                        Ok(answer.body.into_bytes())
                    }
                    Ok(answer) => {
                        let start: String = answer.body.chars().take(120).collect();
                        Err(format!("{} answered {}: {}", api.carrier.as_str(), answer.status, start.trim()))
                    }
                    Err(e) => Err(e),
                };
                let ingested = self.ingest(tracking, answer, false).await?;
                report.polled += 1;
                match ingested {
                    Ok(i) if i.new_events > 0 => report.news += 1,
                    Ok(_) => {}
                    Err(_) => report.failed += 1,
                }
            }
        }
        Ok(report)
    }

    /// A carrier's push: its answer for one of its numbers, signed with the secret the operator shares
    /// with it. `403 invalid_signature` when the signature does not verify; `404` when no parcel is
    /// followed under that number.
    pub async fn push_tracking(
        &self,
        carrier: &str,
        number: &str,
        signature: &PushSignature,
        body: &[u8],
    ) -> Result<Ingested, AppError> {
        let secret = self.carrier_apis.of(carrier).and_then(|api| api.push_secret.as_ref());
        let Some(secret) = secret else { return Err(AppError::InvalidSignature) };
        let PushSignature { id, timestamp, signature } = signature;
        relais_messages::webhooks::verify(secret, id, *timestamp, signature, body, self.now().timestamp())
            .map_err(|_| AppError::InvalidSignature)?;
        let tracking = self
            .store
            .tracking_by_number(carrier, number)
            .await?
            .ok_or_else(|| AppError::not_found("tracking_number", number))?;
        match self.ingest(tracking, Ok(body.to_vec()), true).await? {
            Ok(ingested) => Ok(ingested),
            Err(reason) => Err(ParseError::new("body", reason).into()),
        }
    }

    /// Reads one answer for a followed parcel: stores the events it did not have, tells the merchant,
    /// and plans the next poll (a push does not move a planned poll, except to stop it). The inner
    /// `Err` is why the answer was of no use (recorded on the parcel's tracking).
    pub async fn ingest(
        &self,
        tracking: ParcelTracking,
        answer: Result<Vec<u8>, String>,
        pushed: bool,
    ) -> Result<Result<Ingested, String>, AppError> {
        let carrier = Carrier::parse(&tracking.carrier)
            .ok_or_else(|| AppError::not_found("carrier", tracking.carrier.clone()))?;
        let parsed = answer.and_then(|bytes| match relais_tracking::parse(carrier, &bytes) {
            Ok(events) if events.len() > EVENTS_MAX => Err(format!("more than {EVENTS_MAX} events")),
            Ok(events) => Ok(events),
            // The carrier may not know a number before its first scan: quiet, not failing.
            Err(TrackingError::UnknownNumber { .. }) => Ok(Vec::new()),
            Err(e) => Err(e.to_string()),
        });
        let now = self.now();
        let mut next = tracking.clone();
        next.updated_at = now;
        let last_news = tracking.last_event_at.unwrap_or(tracking.created_at).max(tracking.created_at);
        let (outcome, fresh) = match &parsed {
            Ok(events) => {
                let known: HashSet<(i64, String)> = self
                    .store
                    .carrier_events(tracking.parcel_id)
                    .await?
                    .into_iter()
                    .map(|s| (s.event.at.timestamp_micros(), s.event.code))
                    .collect();
                let mut seen = known;
                let fresh: Vec<TrackingEvent> =
                    events.iter().filter(|e| seen.insert((e.at.timestamp_micros(), e.code.clone()))).cloned().collect();
                if let Some(latest) = events.iter().max_by_key(|e| e.at)
                    && tracking.last_event_at.is_none_or(|at| latest.at.to_utc() >= at)
                {
                    next.status = Some(latest.status.as_str().to_owned());
                    next.last_event_at = Some(latest.at.to_utc());
                }
                next.last_error = None;
                let status = next.status.as_deref().and_then(TrackingStatus::parse).unwrap_or(TrackingStatus::Unknown);
                (if fresh.is_empty() { Outcome::Quiet } else { Outcome::News(status) }, fresh)
            }
            Err(reason) => {
                next.last_error = Some(reason.chars().take(ERROR_CHARS_MAX).collect());
                (Outcome::Failed, Vec::new())
            }
        };
        let status = next.status.as_deref().and_then(TrackingStatus::parse);
        let plan = schedule::after_poll(now, outcome, status, tracking.quiet_polls, tracking.failures, last_news);
        if pushed {
            if plan.next_poll_at.is_none() && status == Some(TrackingStatus::Delivered) {
                next.next_poll_at = None;
            }
        } else {
            next.next_poll_at = plan.next_poll_at;
            next.quiet_polls = plan.quiet_polls;
            next.failures = plan.failures;
        }
        let new_events = fresh.len();
        self.run(|| async {
            let mut tx = self.tx();
            if !fresh.is_empty() {
                tx.message("parcel.tracking", Some(tracking.parcel_id), news_payload(&next, &fresh));
                tx.write(Write::Tracking(TrackingWrite::AppendEvents {
                    parcel_id: tracking.parcel_id,
                    carrier: tracking.carrier.clone(),
                    events: fresh.clone(),
                    received_at: now,
                }));
            }
            tx.write(Write::Tracking(TrackingWrite::Put(Box::new(next.clone()))));
            Ok(tx.done(()))
        })
        .await?;
        if let Err(reason) = &parsed {
            tracing::warn!(parcel = %tracking.parcel_id, carrier = %tracking.carrier, %reason, "a carrier's tracking answer was of no use; will retry");
        }
        Ok(parsed.map(|_| Ingested {
            new_events,
            status: status.map(TrackingStatus::as_str),
            next_poll_at: next.next_poll_at,
        }))
    }
}

/// What the merchant's webhooks get when a parcel's carrier reports news.
fn news_payload(tracking: &ParcelTracking, fresh: &[TrackingEvent]) -> serde_json::Value {
    serde_json::json!({
        "parcel_id": tracking.parcel_id.to_string(),
        "merchant_id": tracking.merchant_id.to_string(),
        "carrier": tracking.carrier,
        "tracking_number": tracking.tracking_number,
        "status": tracking.status,
        "events": fresh,
    })
}

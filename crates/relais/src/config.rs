//! Configuration: defaults, then a TOML file, then `RELAIS_*` environment variables, then command-line
//! flags; validated once at start. The secret key is never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use relais_app::AppLimits;
use relais_domain::attempts::AttemptLimits;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database_url: String,
    pub listen: String,
    /// Where recipients reach this instance (the links in their messages); `http://<listen>` if unset.
    pub public_url: Option<String>,
    /// 64 hex characters. Keys pickup-code and API-key digests: losing it invalidates every code and key.
    pub secret_key: Option<String>,
    pub request_body_bytes_max: usize,
    pub sweep_interval_seconds: u64,
    pub sweep_batch_max: u32,
    /// How often `serve` rebuilds the whole search index (capacities are refreshed every second).
    pub index_rebuild_seconds: u64,
    /// Occupancy (occupied compartments / compartments) above which a locker's alert is raised.
    pub occupancy_alert_threshold: f64,
    /// Searches per minute one client address may make through the checkout widget (0: no limit).
    pub widget_requests_per_minute: u32,
    pub log: String,
    /// Simulations and benchmarks only: the platform clock runs this many times faster than the wall
    /// clock from the start of the process (hold windows lapse in minutes). 1 in production.
    pub time_scale: f64,
    pub pickup_attempts: AttemptsConfig,
    /// Connections the API server keeps (against clients that hold them open).
    pub server: ServerConfig,
    /// Calls relais makes to the outside world (point files over HTTPS, and every channel to come).
    pub outbound: OutboundConfig,
    /// Folders where operators drop their daily point files (the seed's FTP drop), watched by `serve`.
    pub drop_folders: Vec<DropFolder>,
    /// Folders where a merchant's ERP drops files of orders (CSV or JSON Lines), watched by `serve`.
    pub order_drop_folders: Vec<OrderDropFolder>,
    /// The delivery of the outbox: the worker, its channels and their credentials (ADR 15).
    pub notify: NotifyConfig,
    /// Carrier tracking: the carriers' APIs `serve` polls and takes pushes from (docs/tracking.md).
    pub tracking: TrackingConfig,
    /// Delivery promises: service levels in working days, when a delay is told (docs/claims.md).
    pub promise: PromiseConfig,
    /// Claims against carriers: compensation scales, deadlines, reminders (docs/claims.md).
    pub claims: ClaimsConfig,
    /// KPIs: the cost model, the targets drawn on the charts, the gauges on `/metrics` (docs/kpis.md).
    pub kpi: KpiConfig,
    /// The operator console: its map's tiles (docs/operations.md).
    pub console: ConsoleConfig,
}

/// The operator console.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The map's tiles, with `{z}`, `{x}`, `{y}` (and `{s}`); empty: the plain drawing, no tiles.
    pub tile_url: String,
    /// What the tile service's usage policy asks to show on the map.
    pub tile_attribution: String,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            tile_attribution: "© OpenStreetMap contributors".into(),
        }
    }
}

impl ConsoleConfig {
    /// The tiles as the app takes them, or what is wrong with the URL.
    pub fn tiles(&self) -> Result<Option<relais_app::MapTiles>, String> {
        let url = self.tile_url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let placeholders = ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p));
        let plain = url.chars().all(|c| c.is_ascii_graphic()) && !url.contains(['"', '\'', ';', '<', '>']);
        if !(scheme_ok && placeholders && plain) {
            return Err(format!(
                "console.tile_url {url:?}: an http(s) URL with {{z}}, {{x}} and {{y}}, or empty for the plain drawing"
            ));
        }
        Ok(Some(relais_app::MapTiles { url: url.to_owned(), attribution: self.tile_attribution.trim().to_owned() }))
    }
}

/// KPIs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiConfig {
    /// Seconds between two computations of the KPI gauges `serve` exports on `/metrics`; 0: none.
    pub metrics_interval_seconds: u64,
    /// Days of deposits (up to today) the gauges cover.
    pub metrics_days: u32,
    pub cost: CostConfig,
    pub targets: TargetsConfig,
}

impl Default for KpiConfig {
    fn default() -> Self {
        KpiConfig {
            metrics_interval_seconds: 300,
            metrics_days: 7,
            cost: CostConfig::default(),
            targets: TargetsConfig::default(),
        }
    }
}

/// The cost model, in integer cents: a point's fixed cost a day by kind, and the variable costs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostConfig {
    pub locker_day_cents: u32,
    pub counter_day_cents: u32,
    pub hub_day_cents: u32,
    pub store_day_cents: u32,
    pub post_office_day_cents: u32,
    pub deposit_cents: u32,
    pub return_cents: u32,
    pub incident_cents: u32,
}

/// The targets drawn on the KPI charts; an absent one is not drawn.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetsConfig {
    pub pickup_rate_7_days: Option<f64>,
    pub mean_occupancy_days: Option<f64>,
    pub occupancy: Option<f64>,
    pub deposit_error_rate: Option<f64>,
    pub hardware_incidents_per_1000_deposits: Option<f64>,
    pub nps: Option<f64>,
    pub cost_per_parcel_cents: Option<f64>,
}

impl Default for TargetsConfig {
    fn default() -> Self {
        let t = relais_domain::kpi::KpiTargets::default();
        TargetsConfig {
            pickup_rate_7_days: t.pickup_rate_7_days,
            mean_occupancy_days: t.mean_occupancy_days,
            occupancy: t.occupancy,
            deposit_error_rate: t.deposit_error_rate,
            hardware_incidents_per_1000_deposits: t.hardware_incidents_per_1000_deposits,
            nps: t.nps,
            cost_per_parcel_cents: t.cost_per_parcel_cents,
        }
    }
}

impl KpiConfig {
    /// The settings as the app takes them.
    pub fn settings(&self) -> relais_app::kpis::KpiSettings {
        let c = &self.cost;
        let t = &self.targets;
        relais_app::kpis::KpiSettings {
            cost: relais_domain::kpi::CostModel {
                // In the order of `PointKind::ALL`.
                point_day_cents: [
                    c.locker_day_cents,
                    c.counter_day_cents,
                    c.hub_day_cents,
                    c.store_day_cents,
                    c.post_office_day_cents,
                ],
                deposit_cents: c.deposit_cents,
                return_cents: c.return_cents,
                incident_cents: c.incident_cents,
            },
            targets: relais_domain::kpi::KpiTargets {
                pickup_rate_7_days: t.pickup_rate_7_days,
                mean_occupancy_days: t.mean_occupancy_days,
                occupancy: t.occupancy,
                deposit_error_rate: t.deposit_error_rate,
                hardware_incidents_per_1000_deposits: t.hardware_incidents_per_1000_deposits,
                nps: t.nps,
                cost_per_parcel_cents: t.cost_per_parcel_cents,
            },
        }
    }
}

/// Delivery promises.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromiseConfig {
    /// Hours without movement at the carrier after which the recipient is told of a delay.
    pub quiet_hours: u32,
    /// Minutes between two looks at an open promise.
    pub review_minutes: u32,
    /// Working days of each service level merchants name in their orders.
    pub service_levels: std::collections::BTreeMap<String, u32>,
}

impl Default for PromiseConfig {
    fn default() -> Self {
        let defaults = relais_app::promises::PromiseSettings::default();
        PromiseConfig { quiet_hours: 48, review_minutes: 60, service_levels: defaults.service_levels }
    }
}

/// A carrier's claim rules; what is not set is the `[claims]` default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimRulesConfig {
    /// `1:25,2:75,3:100,4:125`: from so many working days late, so many percent of the shipping price.
    pub scale: Option<String>,
    pub late_filing_days: Option<u32>,
    pub lost_after_days: Option<u32>,
    pub lost_filing_days: Option<u32>,
    pub damaged_filing_days: Option<u32>,
    /// Days before a deadline when the merchant is reminded.
    pub reminder_days: Option<Vec<u32>>,
}

/// Claims: the default rules (the fields of [`ClaimRulesConfig`]) and each carrier's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsConfig {
    pub scale: Option<String>,
    pub late_filing_days: Option<u32>,
    pub lost_after_days: Option<u32>,
    pub lost_filing_days: Option<u32>,
    pub damaged_filing_days: Option<u32>,
    pub reminder_days: Option<Vec<u32>>,
    pub carriers: std::collections::BTreeMap<String, ClaimRulesConfig>,
}

impl ClaimsConfig {
    fn defaults(&self) -> ClaimRulesConfig {
        ClaimRulesConfig {
            scale: self.scale.clone(),
            late_filing_days: self.late_filing_days,
            lost_after_days: self.lost_after_days,
            lost_filing_days: self.lost_filing_days,
            damaged_filing_days: self.damaged_filing_days,
            reminder_days: self.reminder_days.clone(),
        }
    }
}

impl ClaimRulesConfig {
    fn over(
        &self,
        base: &relais_domain::claims::ClaimRules,
        what: &str,
    ) -> Result<relais_domain::claims::ClaimRules, String> {
        let scale = match &self.scale {
            Some(text) => {
                relais_domain::claims::CompensationScale::parse(text).map_err(|e| format!("{what}.scale: {e}"))?
            }
            None => base.scale.clone(),
        };
        let mut reminder_days = self.reminder_days.clone().unwrap_or_else(|| base.reminder_days.clone());
        reminder_days.sort_unstable_by(|a, b| b.cmp(a));
        Ok(relais_domain::claims::ClaimRules {
            scale,
            late_filing_days: self.late_filing_days.unwrap_or(base.late_filing_days),
            lost_after_days: self.lost_after_days.unwrap_or(base.lost_after_days).max(1),
            lost_filing_days: self.lost_filing_days.unwrap_or(base.lost_filing_days),
            damaged_filing_days: self.damaged_filing_days.unwrap_or(base.damaged_filing_days),
            reminder_days,
        })
    }
}

impl Config {
    /// The promise and claim settings as the app takes them, or what is wrong with them.
    pub fn promise_settings(&self) -> Result<relais_app::promises::PromiseSettings, String> {
        let default_rules = self.claims.defaults().over(&relais_domain::claims::ClaimRules::default(), "claims")?;
        let mut carriers = std::collections::BTreeMap::new();
        // A carrier's own rules first, then its services' (`chronopost:express`) over them.
        let mut names: Vec<&String> = self.claims.carriers.keys().collect();
        names.sort_by_key(|name| name.contains(':'));
        for name in names {
            let (carrier, service) = name.split_once(':').unwrap_or((name.as_str(), ""));
            if relais_tracking::Carrier::parse(carrier).is_none() {
                return Err(format!("claims.carriers.\"{name}\": {carrier} is not a carrier relais reads"));
            }
            if name.contains(':') && !self.promise.service_levels.contains_key(service) {
                return Err(format!(
                    "claims.carriers.\"{name}\": {service} is not a service level of [promise.service_levels]"
                ));
            }
            let base = carriers.get(carrier).unwrap_or(&default_rules).clone();
            carriers
                .insert(name.clone(), self.claims.carriers[name].over(&base, &format!("claims.carriers.\"{name}\""))?);
        }
        if let Some((level, days)) =
            self.promise.service_levels.iter().find(|(_, d)| **d > relais_app::tracking::SERVICE_DAYS_MAX)
        {
            return Err(format!(
                "promise.service_levels.{level}: {days} working days is more than {}",
                relais_app::tracking::SERVICE_DAYS_MAX
            ));
        }
        Ok(relais_app::promises::PromiseSettings {
            service_levels: self.promise.service_levels.clone(),
            quiet_limit: chrono::Duration::hours(i64::from(self.promise.quiet_hours.max(1))),
            carriers,
            default_rules,
            review_every: chrono::Duration::minutes(i64::from(self.promise.review_minutes.max(1))),
        })
    }
}

/// Carrier tracking: how often `serve` polls, and each carrier's API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Whether `serve` runs the tracking job (polls, promise reviews, claim reminders): one process of
    /// a deployment runs it, the others set `job = false`.
    pub job: bool,
    /// Seconds between two poll rounds.
    pub poll_interval_seconds: u64,
    /// Most followed parcels one round looks at.
    pub batch: u32,
    /// By carrier name (`laposte`, `gls`, `ups`...).
    pub carriers: std::collections::BTreeMap<String, CarrierApiConfig>,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig { job: true, poll_interval_seconds: 60, batch: 500, carriers: Default::default() }
    }
}

/// One carrier's tracking API (docs/tracking.md has an entry per carrier).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierApiConfig {
    /// `GET` (default) or `POST`.
    #[serde(default = "get")]
    pub method: String,
    /// The request's URL; `{number}` stands for the carrier's tracking number.
    pub url: String,
    /// The request's body for the carriers that take one (SOAP, GraphQL, JSON); `{number}` likewise.
    pub body: Option<String>,
    /// The credentials (`X-Okapi-Key`, `Authorization`...) and the content type: never printed.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, Secret>,
    /// The carrier's rate limit.
    #[serde(default = "sixty")]
    pub requests_per_minute: u32,
    /// The secret (`whsec_...`) the carrier signs its pushes with, if it pushes.
    pub push_secret: Option<Secret>,
}

fn get() -> String {
    "GET".to_owned()
}

fn sixty() -> u32 {
    60
}

impl TrackingConfig {
    /// The carriers' APIs as the app takes them, or what is wrong with the configuration.
    pub fn apis(&self) -> Result<relais_app::tracking::CarrierApis, String> {
        let mut apis = Vec::new();
        for (name, c) in &self.carriers {
            let carrier = relais_tracking::Carrier::parse(name)
                .ok_or_else(|| format!("tracking.carriers.{name}: not a carrier relais reads"))?;
            let method = match c.method.to_ascii_uppercase().as_str() {
                "GET" => "GET",
                "POST" => "POST",
                other => return Err(format!("tracking.carriers.{name}.method: GET or POST, not {other}")),
            };
            if !(c.url.starts_with("https://") || c.url.starts_with("http://")) {
                return Err(format!("tracking.carriers.{name}.url: an http(s) URL"));
            }
            let push_secret = match &c.push_secret {
                Some(secret) => Some(relais_messages::webhooks::WebhookSecret::parse(&secret.0).map_err(|_| {
                    format!("tracking.carriers.{name}.push_secret: whsec_ and at least 16 bytes in base64")
                })?),
                None => None,
            };
            // The budget of one round, at the carrier's rate.
            let per_round = u64::from(c.requests_per_minute) * self.poll_interval_seconds.max(1) / 60;
            apis.push(relais_app::tracking::CarrierApi {
                carrier,
                method,
                url: c.url.clone(),
                body: c.body.clone(),
                headers: c.headers.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect(),
                polls_per_round: u32::try_from(per_round).unwrap_or(u32::MAX).max(1),
                push_secret,
            });
        }
        Ok(relais_app::tracking::CarrierApis(apis))
    }
}

/// The longest a call to an SMS or e-mail provider's API (Twilio, Brevo) may take (`outlets.rs`).
pub const PROVIDER_TIMEOUT_SECONDS: u64 = 15;

/// A credential read from the configuration: never printed.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// The delivery worker and its channels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Whether `serve` runs a delivery worker (off when `relais worker` processes do the delivering).
    pub worker: bool,
    /// Messages one dispatch takes and deliveries one round takes.
    pub batch: u32,
    /// Sends in flight at once in one round.
    pub concurrency: usize,
    /// Rounds a worker runs side by side (each claims rows of its own).
    pub loops: usize,
    /// How long a claim holds its rows, in seconds; longer than any channel's timeout.
    pub lease_seconds: i64,
    /// Days a dispatched message is kept once its deliveries are final (the deliveries stay).
    pub retention_days: i64,
    /// No SMS from `quiet_hours_start` to `quiet_hours_end`, in the point's local time (`HH:MM`).
    pub quiet_hours_start: String,
    pub quiet_hours_end: String,
    /// At most this many SMS, and e-mails, to one recipient in 24 hours; more wait (0: no limit).
    pub sms_per_day: u32,
    pub emails_per_day: u32,
    /// How long an idle worker waits before it looks again, in milliseconds.
    pub idle_ms: u64,
    /// Where `relais worker` serves `GET /metrics` (and nothing else), e.g. `127.0.0.1:9465`; none:
    /// it listens nowhere. (`serve` has its metrics on its API's address.)
    pub metrics_listen: Option<String>,
    pub email: EmailConfig,
    pub sms: SmsConfig,
    pub webhooks: WebhooksConfig,
    /// Merchants' and networks' own providers and credentials (`[[notify.providers]]`): their
    /// recipients' messages go through them instead of `email` and `sms`.
    pub providers: Vec<ScopedProviders>,
}

/// A merchant's or a network's own e-mail and SMS providers. A parcel's messages take its merchant's,
/// else its network's, else the defaults, channel by channel.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScopedProviders {
    /// A merchant's id, or
    pub merchant: Option<String>,
    /// a network's id.
    pub network: Option<String>,
    pub email: Option<EmailConfig>,
    pub sms: Option<SmsConfig>,
}

/// Whose providers: a merchant's or a network's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderScope {
    Merchant(uuid::Uuid),
    Network(uuid::Uuid),
}

impl ScopedProviders {
    pub fn scope(&self) -> Result<ProviderScope, String> {
        let id = |what: &str, value: &str| {
            uuid::Uuid::parse_str(value.trim())
                .map_err(|_| format!("[[notify.providers]] {what} {value:?} is not an id"))
        };
        match (&self.merchant, &self.network) {
            (Some(m), None) => Ok(ProviderScope::Merchant(id("merchant", m)?)),
            (None, Some(n)) => Ok(ProviderScope::Network(id("network", n)?)),
            _ => Err("[[notify.providers]] names either a merchant or a network".into()),
        }
    }
}

impl Default for NotifyConfig {
    fn default() -> Self {
        let settings = relais_app::notify::DeliverySettings::default();
        NotifyConfig {
            worker: true,
            batch: settings.batch,
            concurrency: settings.concurrency,
            loops: settings.loops,
            lease_seconds: settings.lease_seconds,
            retention_days: settings.retention_days,
            quiet_hours_start: "21:00".into(),
            quiet_hours_end: "08:00".into(),
            sms_per_day: settings.sms_limit.messages,
            emails_per_day: settings.email_limit.messages,
            idle_ms: 500,
            metrics_listen: None,
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            webhooks: WebhooksConfig::default(),
            providers: Vec::new(),
        }
    }
}

impl NotifyConfig {
    pub fn settings(&self) -> Result<relais_app::notify::DeliverySettings, String> {
        let time = |name: &str, value: &str| {
            chrono::NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| format!("[notify] {name} must be HH:MM"))
        };
        if self.batch == 0 || self.concurrency == 0 || self.loops == 0 || self.idle_ms == 0 {
            return Err("[notify] batch, concurrency, loops and idle_ms must be at least 1".into());
        }
        if self.lease_seconds < 10 || self.retention_days < 1 {
            return Err("[notify] lease_seconds must be at least 10 and retention_days at least 1".into());
        }
        Ok(relais_app::notify::DeliverySettings {
            batch: self.batch,
            lease_seconds: self.lease_seconds,
            concurrency: self.concurrency,
            loops: self.loops,
            retention_days: self.retention_days,
            quiet_hours: relais_domain::delivery::QuietHours {
                start: time("quiet_hours_start", &self.quiet_hours_start)?,
                end: time("quiet_hours_end", &self.quiet_hours_end)?,
            },
            sms_limit: relais_domain::delivery::RecipientLimit {
                messages: self.sms_per_day,
                window: chrono::Duration::hours(24),
            },
            email_limit: relais_domain::delivery::RecipientLimit {
                messages: self.emails_per_day,
                window: chrono::Duration::hours(24),
            },
        })
    }
}

/// Where e-mails go: nowhere, `.eml` files in a folder (development), or an SMTP server.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmailConfig {
    /// Every e-mail is refused (a dead letter an operator can resend once a channel is set).
    None,
    /// Written to `folder` (default: `<database>.messages/` beside a SQLite file) as `.eml` files.
    File {
        folder: Option<PathBuf>,
        #[serde(default = "default_from")]
        from: String,
    },
    Smtp {
        host: String,
        port: u16,
        /// `tls` (port 465), `starttls` (587) or `none` (a relay on the same host).
        security: String,
        username: Option<String>,
        password: Option<Secret>,
        from: String,
        #[serde(default = "default_smtp_timeout")]
        timeout_seconds: u64,
        #[serde(default = "default_smtp_connections")]
        connections: u32,
    },
    /// Brevo's transactional e-mail API.
    Brevo {
        api_key: Secret,
        /// A sender Brevo has verified, `Name <address>`.
        from: String,
        #[serde(default = "default_brevo_url")]
        base_url: String,
    },
}

fn default_brevo_url() -> String {
    "https://api.brevo.com".into()
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig::File { folder: None, from: default_from() }
    }
}

fn default_from() -> String {
    "relais <no-reply@relais.localhost>".into()
}
fn default_smtp_timeout() -> u64 {
    10
}
fn default_smtp_connections() -> u32 {
    8
}

/// Where SMS go: nowhere, text files in a folder (development), or Twilio.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsConfig {
    None,
    File {
        folder: Option<PathBuf>,
    },
    /// Twilio's Messages API; with `status_callback`, Twilio reports each SMS's fate to
    /// `<public_url>/v1/callbacks/twilio` (signed with the auth token, checked).
    Twilio {
        account_sid: String,
        auth_token: Secret,
        /// An E.164 number, an alphanumeric sender id, or a messaging service (`MG...`).
        from: String,
        #[serde(default = "default_twilio_url")]
        base_url: String,
        #[serde(default = "default_true")]
        status_callback: bool,
    },
    /// Brevo's transactional SMS API.
    Brevo {
        api_key: Secret,
        /// At most 11 letters and digits, or 15 digits.
        sender: String,
        #[serde(default = "default_brevo_url")]
        base_url: String,
    },
}

fn default_twilio_url() -> String {
    "https://api.twilio.com".into()
}
fn default_true() -> bool {
    true
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig::File { folder: None }
    }
}

/// Merchants' webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Longest a webhook may take, in seconds.
    pub timeout_seconds: u64,
    /// Whether an endpoint may be `http://` (development and tests); `https://` is required otherwise.
    pub allow_http: bool,
    /// Whether an endpoint may name a loopback or private address (tests); refused otherwise.
    pub allow_private: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig { timeout_seconds: 15, allow_http: false, allow_private: false }
    }
}

/// A merchant's drop folder of order files: each file that appears is imported (docs/orders.md), then
/// moved to `done/` or `refused/` with its report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDropFolder {
    pub merchant: String,
    /// `csv` or `jsonl`.
    pub format: String,
    pub folder: PathBuf,
    #[serde(default = "default_drop_interval")]
    pub interval_seconds: u64,
}

impl OrderDropFolder {
    pub fn parsed(&self) -> Result<(relais_domain::ids::MerchantId, relais_app::order_files::OrderFormat), String> {
        let merchant = self
            .merchant
            .parse()
            .map_err(|_| format!("[[order_drop_folders]] merchant {:?} is not an id", self.merchant))?;
        let format = relais_app::order_files::OrderFormat::parse(&self.format)
            .map_err(|_| "[[order_drop_folders]] format is csv or jsonl".to_owned())?;
        Ok((merchant, format))
    }
}

/// A drop folder: every file that appears is imported into `network` as `format`, then moved to
/// `done/` or `refused/` with its report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropFolder {
    pub network: String,
    pub format: String,
    pub folder: PathBuf,
    #[serde(default = "default_encoding")]
    pub encoding: String,
    #[serde(default = "default_drop_interval")]
    pub interval_seconds: u64,
    #[serde(default = "default_error_share")]
    pub error_share_max: f64,
    #[serde(default = "default_removal_share")]
    pub removal_share_max: f64,
}

fn default_encoding() -> String {
    "utf-8".into()
}
fn default_drop_interval() -> u64 {
    300
}
fn default_error_share() -> f64 {
    0.05
}
fn default_removal_share() -> f64 {
    0.2
}

impl DropFolder {
    /// The import arguments this folder's files are imported with.
    pub fn import_args(&self) -> Result<crate::points::ImportArgs, String> {
        let context = |e: String| format!("drop folder {}: {e}", self.folder.display());
        if self.interval_seconds == 0 {
            return Err(context("interval_seconds must be at least 1".into()));
        }
        Ok(crate::points::ImportArgs {
            network_id: self
                .network
                .parse()
                .map_err(|_| context(format!("network {:?} is not an id", self.network)))?,
            format: relais_registry::formats::Format::parse(&self.format).map_err(context)?,
            encoding: relais_registry::formats::Encoding::parse(&self.encoding).map_err(context)?,
            dry_run: false,
            limits: relais_app::points::ImportLimits {
                error_share_max: self.error_share_max,
                removal_share_max: self.removal_share_max,
                ..Default::default()
            }
            .validate()
            .map_err(|e| context(e.to_string()))?,
            progress: false,
        })
    }
}

/// The API server's connections: how long a client has to send a request's headers, how many
/// connections are kept in all and from one address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub header_read_timeout_seconds: u64,
    pub connections_max: usize,
    pub connections_per_client_max: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let limits = relais_http::server::ServerLimits::default();
        ServerConfig {
            header_read_timeout_seconds: limits.header_read_timeout.as_secs(),
            connections_max: limits.connections_max,
            connections_per_client_max: limits.connections_per_client_max,
        }
    }
}

impl ServerConfig {
    pub fn limits(&self) -> Result<relais_http::server::ServerLimits, String> {
        if self.header_read_timeout_seconds == 0 || self.connections_max == 0 || self.connections_per_client_max == 0 {
            return Err("[server] limits must be at least 1".into());
        }
        Ok(relais_http::server::ServerLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            connections_max: self.connections_max,
            connections_per_client_max: self.connections_per_client_max,
        })
    }
}

/// Outgoing HTTP: timeouts, the largest answer read, a proxy, extra certificate authorities.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    pub connect_timeout_seconds: u64,
    pub timeout_seconds: u64,
    pub body_bytes_max: u64,
    pub proxy_url: Option<String>,
    pub no_proxy: Option<String>,
    pub ca_files: Vec<PathBuf>,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        let defaults = relais_edge::http::HttpConfig::default();
        OutboundConfig {
            connect_timeout_seconds: defaults.connect_timeout_seconds,
            timeout_seconds: defaults.timeout_seconds,
            body_bytes_max: defaults.body_bytes_max,
            proxy_url: None,
            no_proxy: None,
            ca_files: Vec::new(),
        }
    }
}

impl OutboundConfig {
    pub fn http_config(&self) -> relais_edge::http::HttpConfig {
        relais_edge::http::HttpConfig {
            connect_timeout_seconds: self.connect_timeout_seconds,
            timeout_seconds: self.timeout_seconds,
            body_bytes_max: self.body_bytes_max,
            proxy_url: self.proxy_url.clone(),
            no_proxy: self.no_proxy.clone(),
            ca_files: self.ca_files.clone(),
            ..relais_edge::http::HttpConfig::default()
        }
    }

    /// The client every outgoing call uses.
    pub fn client(&self) -> Result<relais_edge::http::HttpClient, String> {
        relais_edge::http::HttpClient::new(&self.http_config()).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttemptsConfig {
    pub point_failures_max: u32,
    pub point_window_seconds: u32,
    pub point_lockout_seconds: u32,
    /// While a point is locked, one code is still checked every this many seconds (0: none).
    pub point_probe_seconds: u32,
    pub parcel_failures_max: u32,
    pub parcel_window_seconds: u32,
    pub parcel_lockout_seconds: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "relais.db".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            secret_key: None,
            request_body_bytes_max: 64 * 1024,
            sweep_interval_seconds: 60,
            sweep_batch_max: 1_000,
            index_rebuild_seconds: 300,
            occupancy_alert_threshold: 0.85,
            widget_requests_per_minute: 120,
            log: "info".into(),
            time_scale: 1.0,
            pickup_attempts: AttemptsConfig::default(),
            server: ServerConfig::default(),
            outbound: OutboundConfig::default(),
            drop_folders: Vec::new(),
            order_drop_folders: Vec::new(),
            notify: NotifyConfig::default(),
            tracking: TrackingConfig::default(),
            promise: PromiseConfig::default(),
            claims: ClaimsConfig::default(),
            kpi: KpiConfig::default(),
            console: ConsoleConfig::default(),
        }
    }
}

impl Default for AttemptsConfig {
    fn default() -> Self {
        let limits = AppLimits::default();
        AttemptsConfig {
            point_failures_max: limits.point_attempts.failures_max,
            point_window_seconds: limits.point_attempts.window_seconds,
            point_lockout_seconds: limits.point_attempts.lockout_seconds,
            point_probe_seconds: limits.point_attempts.probe_seconds,
            parcel_failures_max: limits.parcel_attempts.failures_max,
            parcel_window_seconds: limits.parcel_attempts.window_seconds,
            parcel_lockout_seconds: limits.parcel_attempts.lockout_seconds,
        }
    }
}

pub const EXAMPLE: &str = r#"# relais configuration. Every setting can also be given as an environment variable
# (RELAIS_DATABASE_URL, RELAIS_LISTEN, RELAIS_PUBLIC_URL, RELAIS_SECRET_KEY, RELAIS_REQUEST_BODY_BYTES_MAX,
# RELAIS_SWEEP_INTERVAL_SECONDS, RELAIS_TIME_SCALE, RELAIS_LOG, RELAIS_OUTBOUND_PROXY_URL,
# RELAIS_OUTBOUND_NO_PROXY, RELAIS_OUTBOUND_CA_FILES as a PATH-like list) or, for the first two, a flag; flags win over the
# environment, which wins over this file, which wins over the defaults shown here.

# A SQLite file (the embedded default) or postgres://user:password@host:5432/database.
database_url = "relais.db"

# Address the API listens on.
listen = "127.0.0.1:8080"

# Where recipients reach this instance: the base of the links in their messages (their parcel's page).
# Defaults to http://<listen>; set it to the public https address behind a reverse proxy.
# public_url = "https://relais.example.org"

# 64 hex characters (e.g. `openssl rand -hex 32`). Keys the digests of pickup codes and API keys:
# keep it secret, keep it safe, never change it (every code and key would stop working).
# With SQLite and no key set, relais creates `<database>.key` beside the database on first start.
# With PostgreSQL it is required, and must be the same on every process.
# secret_key = "..."

# Largest request body accepted, in bytes.
request_body_bytes_max = 65536

# How often the expiry sweep runs, and how many parcels one pass handles at most.
sweep_interval_seconds = 60
sweep_batch_max = 1000

# How often the pickup-point search index is rebuilt from the database, in seconds: a safety net. Imports
# update it at once, other changes within a second (on PostgreSQL, other processes' too: ADR 12).
index_rebuild_seconds = 300

# Occupancy of a locker (occupied compartments / compartments) above which an alert goes out through the
# outbox (`point.occupancy_high`); it clears 5 points under it (`point.occupancy_normal`).
occupancy_alert_threshold = 0.85

# Searches per minute one client address may make through the checkout widget's public search (a burst
# of this many, then one every 60/N seconds); 0 turns the limit off. Behind a reverse proxy every client
# has the proxy's address: limit there, or raise this.
widget_requests_per_minute = 120

# Simulations and benchmarks only (`relais bench network`): the platform clock runs this many times
# faster than the wall clock from the start of the process, so hold windows lapse in minutes. Keep 1.
time_scale = 1.0

# Log filter (tracing EnvFilter syntax): error, warn, info, debug, or per module.
log = "info"

# Wrong pickup codes: at one point (a keypad under brute force) and for one parcel (counter hand-over).
# `failures_max` wrong codes within `window_seconds` lock the scope for `lockout_seconds`. A locked point
# still checks one code every `point_probe_seconds`: a guesser is slowed to a crawl, the locker's other
# users wait seconds. A signed QR token is always checked (it cannot be guessed).
[pickup_attempts]
point_failures_max = 20
point_window_seconds = 600
point_lockout_seconds = 600
point_probe_seconds = 15
parcel_failures_max = 5
parcel_window_seconds = 900
parcel_lockout_seconds = 900

# The API server's connections. A client has `header_read_timeout_seconds` to send a request's headers
# (a slowloris holding connections open is cut off); at most `connections_max` connections are kept
# (keep it under the process's file descriptor limit, `ulimit -n`), and `connections_per_client_max`
# from one address; a connection over a limit is closed at once. Behind a reverse proxy every client
# has the proxy's address: raise the per-client limit, and limit at the proxy.
[server]
header_read_timeout_seconds = 10
connections_max = 10000
connections_per_client_max = 256

# Calls relais makes (point files fetched over HTTPS, and the channels to come). Servers are checked
# against the system's certificate authorities and those listed in `ca_files` (PEM files).
[outbound]
connect_timeout_seconds = 10
timeout_seconds = 300
body_bytes_max = 268435456
# proxy_url = "http://proxy.internal:3128"
# no_proxy = "localhost,.internal"
# ca_files = ["/etc/relais/private-ca.pem"]

# Drop folders (any number): `serve` imports each file that appears (in name order) into the network,
# then moves it to done/ or refused/ beside it with NAME.report.txt. Formats: csv, jsonl, laposte,
# mondial_relay, inpost, dpd, colissimo (docs/import-formats.md). A file refused changes nothing.
# The outbox delivered: e-mails, SMS and merchants' webhooks (docs/notifications.md). `serve` runs a
# worker unless `worker = false`; `relais worker` runs one with no API (scale them apart).
[notify]
worker = true
batch = 256
# Sends in flight per round, and rounds side by side (while one waits for the database, another sends).
concurrency = 8
loops = 4
lease_seconds = 120
retention_days = 7
# No SMS in these hours, in the point's local time: held until the morning (e-mail still goes).
quiet_hours_start = "21:00"
quiet_hours_end = "08:00"
# At most this many SMS, and e-mails, to one recipient in 24 hours; more wait their turn (0: no limit).
sms_per_day = 10
emails_per_day = 20
idle_ms = 500
# `relais worker` serves GET /metrics here (nothing else); unset, it listens nowhere.
# metrics_listen = "127.0.0.1:9465"

# E-mail: kind = "file" (development: .eml files in `folder`, default `<database>.messages/`),
# "smtp", "brevo" (api_key, from) or "none". The SMTP password may come from
# RELAIS_NOTIFY_SMTP_PASSWORD instead, Brevo's API key from RELAIS_NOTIFY_BREVO_API_KEY.
[notify.email]
kind = "file"
# kind = "smtp"
# host = "smtp.example.org"
# port = 587
# security = "starttls"
# username = "relais"
# password = "..."
# from = "Relais <avis@relais.example.org>"
# timeout_seconds = 10
# connections = 8

# SMS: kind = "file" (development), "twilio", "brevo" (api_key, sender) or "none". Twilio's auth token
# may come from RELAIS_NOTIFY_TWILIO_AUTH_TOKEN instead. With status_callback, Twilio reports each SMS's
# fate to <public_url>/v1/callbacks/twilio (set public_url to the address Twilio reaches).
[notify.sms]
kind = "file"
# kind = "twilio"
# account_sid = "AC00000000000000000000000000000000"
# auth_token = "..."
# from = "+33757000000"
# status_callback = true
# kind = "brevo"
# api_key = "env:BREVO_API_KEY"
# sender = "RELAIS"

# Merchants' webhooks: https:// only, and no loopback or private address, unless allowed here.
[notify.webhooks]
timeout_seconds = 15
allow_http = false
allow_private = false

# A merchant's (or a network's) own providers and credentials: its recipients' messages go through
# them, channel by channel; the merchant's before the network's before the defaults above. Any secret
# may be written "env:NAME" to be read from that environment variable.
# [[notify.providers]]
# merchant = "0193f6d2-0000-7000-8000-000000000001"
# email = { kind = "brevo", api_key = "env:SHOP_BREVO_KEY", from = "Boutique <colis@boutique.example>" }
# sms = { kind = "twilio", account_sid = "AC...", auth_token = "env:SHOP_TWILIO_TOKEN", from = "BOUTIQUE" }

# Carrier tracking (docs/tracking.md): `serve` polls each followed parcel's carrier every round, less
# often while it is quiet, no more once delivered. One table per carrier, by its name; `{number}` stands
# for the carrier's tracking number; headers carry the credentials (never printed). A carrier that
# pushes its answers signs them with `push_secret` (Standard Webhooks, `whsec_...`). With several `serve`
# processes on one database, one runs the job and the others set `job = false`.
[tracking]
job = true
poll_interval_seconds = 60
batch = 500
# [tracking.carriers.laposte]
# url = "https://api.laposte.fr/suivi/v2/idships/{number}?lang=fr_FR"
# headers = { "X-Okapi-Key" = "..." }
# requests_per_minute = 60
# [tracking.carriers.ups]
# url = "https://onlinetools.ups.com/api/track/v1/details/{number}"
# headers = { "Authorization" = "Bearer ...", "transId" = "relais", "transactionSrc" = "relais" }
# push_secret = "whsec_..."

# Delivery promises (docs/claims.md): each service level's working days (J+n, the country's public
# holidays left out); the recipient is told once of a delay (the carrier says so, a failed delivery,
# `quiet_hours` without movement, the promised day over).
[promise]
quiet_hours = 48
review_minutes = 60
[promise.service_levels]
economy = 4
express = 1
standard = 2

# Claims against carriers (docs/claims.md): the compensation scale for late delivery (working days late:
# percent of the shipping price), the deadlines to file, when a silent parcel is presumed lost, and the
# reminders before a deadline. A carrier's own table overrides what it sets.
[claims]
scale = "1:25,2:75,3:100,4:125"
late_filing_days = 30
lost_after_days = 21
lost_filing_days = 60
damaged_filing_days = 3
reminder_days = [7, 1]
# [claims.carriers.chronopost]
# scale = "1:100"
# [claims.carriers."chronopost:express"]     # a carrier's scale for one of the service levels above
# scale = "1:100,2:150"

# KPIs (docs/kpis.md): the gauges `serve` exports on /metrics (every `metrics_interval_seconds`, over
# the last `metrics_days` of deposits; 0: none), the cost model behind the cost per parcel (integer
# cents: each point's fixed cost a day by kind, then per deposit, per return taken back, per hardware
# incident; all 0: no cost shown), and the targets drawn on the console's charts.
[kpi]
metrics_interval_seconds = 300
metrics_days = 7
[kpi.cost]
locker_day_cents = 0
counter_day_cents = 0
hub_day_cents = 0
store_day_cents = 0
post_office_day_cents = 0
deposit_cents = 0
return_cents = 0
incident_cents = 0
[kpi.targets]
pickup_rate_7_days = 0.85
occupancy = 0.85
hardware_incidents_per_1000_deposits = 10.0
# mean_occupancy_days = 2.5
# deposit_error_rate = 0.005
# nps = 50
# cost_per_parcel_cents = 150

# The operator console's map (docs/operations.md): its tiles (OpenStreetMap's by default: mind their
# usage policy, https://operations.osmfoundation.org/policies/tiles/, or run your own), and the
# attribution to show. An empty tile_url draws the points on a plain background: no request leaves
# the browser for another site.
[console]
tile_url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
tile_attribution = "© OpenStreetMap contributors"

# A merchant's ERP drops files of orders here (docs/orders.md): each is imported, then moved to done/ or
# refused/ with its report.
# [[order_drop_folders]]
# merchant = "0193f6d2-0000-7000-8000-000000000001"
# format = "csv"
# folder = "/srv/ftp/boutique/orders"

# [[drop_folders]]
# network = "0193f6d2-0000-7000-8000-000000000000"
# format = "mondial_relay"
# folder = "/srv/ftp/mondial-relay"
# encoding = "iso-8859-1"
# interval_seconds = 300
# error_share_max = 0.05
# removal_share_max = 0.2
"#;

/// Overrides given on the command line.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
}

impl Config {
    /// The Twilio accounts SMS go through (the default's and the merchants' and networks' own), by
    /// account SID: their status callbacks are checked with each account's auth token.
    pub fn twilio_accounts(&self) -> Vec<(String, String)> {
        let scoped = self.notify.providers.iter().filter_map(|p| p.sms.as_ref());
        std::iter::once(&self.notify.sms)
            .chain(scoped)
            .filter_map(|sms| match sms {
                SmsConfig::Twilio { account_sid, auth_token, .. } => Some((account_sid.clone(), auth_token.0.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn load(flags: &Flags) -> Result<Config, String> {
        let mut config = match &flags.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str::<Config>(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("RELAIS_DATABASE_URL") {
            config.database_url = v;
        }
        if let Some(v) = env("RELAIS_LISTEN") {
            config.listen = v;
        }
        if let Some(v) = env("RELAIS_PUBLIC_URL") {
            config.public_url = Some(v);
        }
        if let Some(v) = env("RELAIS_SECRET_KEY") {
            config.secret_key = Some(v);
        }
        if let Some(v) = env("RELAIS_REQUEST_BODY_BYTES_MAX") {
            config.request_body_bytes_max =
                v.parse().map_err(|_| "RELAIS_REQUEST_BODY_BYTES_MAX must be a number of bytes".to_owned())?;
        }
        if let Some(v) = env("RELAIS_SWEEP_INTERVAL_SECONDS") {
            config.sweep_interval_seconds =
                v.parse().map_err(|_| "RELAIS_SWEEP_INTERVAL_SECONDS must be a number of seconds".to_owned())?;
        }
        if let Some(v) = env("RELAIS_TIME_SCALE") {
            config.time_scale = v
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 1.0 && *s <= 100_000.0)
                .ok_or_else(|| "RELAIS_TIME_SCALE must be a number from 1 to 100000".to_owned())?;
        }
        if let Some(v) = env("RELAIS_LOG") {
            config.log = v;
        }
        if let Some(v) = env("RELAIS_OUTBOUND_PROXY_URL") {
            config.outbound.proxy_url = Some(v);
        }
        if let Some(v) = env("RELAIS_OUTBOUND_NO_PROXY") {
            config.outbound.no_proxy = Some(v);
        }
        if let Some(v) = env("RELAIS_NOTIFY_SMTP_PASSWORD")
            && let EmailConfig::Smtp { password, .. } = &mut config.notify.email
        {
            *password = Some(Secret(v));
        }
        if let Some(v) = env("RELAIS_NOTIFY_TWILIO_AUTH_TOKEN")
            && let SmsConfig::Twilio { auth_token, .. } = &mut config.notify.sms
        {
            *auth_token = Secret(v);
        }
        if let Some(v) = env("RELAIS_NOTIFY_METRICS_LISTEN") {
            config.notify.metrics_listen = Some(v);
        }
        if let Some(v) = env("RELAIS_TRACKING_JOB") {
            config.tracking.job = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err("RELAIS_TRACKING_JOB must be true or false".into()),
            };
        }
        if let Some(v) = env("RELAIS_NOTIFY_BREVO_API_KEY") {
            if let EmailConfig::Brevo { api_key, .. } = &mut config.notify.email {
                *api_key = Secret(v.clone());
            }
            if let SmsConfig::Brevo { api_key, .. } = &mut config.notify.sms {
                *api_key = Secret(v);
            }
        }
        config.read_secrets_from_environment()?;
        if let Some(v) = env("RELAIS_OUTBOUND_CA_FILES") {
            config.outbound.ca_files = std::env::split_paths(&v).collect();
        }
        if let Some(v) = &flags.database_url {
            config.database_url = v.clone();
        }
        if let Some(v) = &flags.listen {
            config.listen = v.clone();
        }
        config.validate()?;
        Ok(config)
    }

    /// A credential written `env:NAME` is read from the environment variable `NAME`, so that a
    /// configuration file with several providers holds none of their secrets.
    fn read_secrets_from_environment(&mut self) -> Result<(), String> {
        fn resolve(secret: &mut Secret) -> Result<(), String> {
            if let Some(name) = secret.0.strip_prefix("env:") {
                let value = std::env::var(name).ok().filter(|v| !v.is_empty());
                *secret = Secret(value.ok_or_else(|| format!("the environment variable {name} is not set"))?);
            }
            Ok(())
        }
        fn email(config: &mut EmailConfig) -> Result<(), String> {
            match config {
                EmailConfig::Smtp { password: Some(password), .. } => resolve(password),
                EmailConfig::Brevo { api_key, .. } => resolve(api_key),
                _ => Ok(()),
            }
        }
        fn sms(config: &mut SmsConfig) -> Result<(), String> {
            match config {
                SmsConfig::Twilio { auth_token, .. } => resolve(auth_token),
                SmsConfig::Brevo { api_key, .. } => resolve(api_key),
                _ => Ok(()),
            }
        }
        email(&mut self.notify.email)?;
        sms(&mut self.notify.sms)?;
        for scoped in &mut self.notify.providers {
            if let Some(config) = &mut scoped.email {
                email(config)?;
            }
            if let Some(config) = &mut scoped.sms {
                sms(config)?;
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        self.listen_addr()?;
        if self.request_body_bytes_max < 1024 || self.request_body_bytes_max > 16 * 1024 * 1024 {
            return Err("request_body_bytes_max must be between 1024 and 16777216".into());
        }
        if self.sweep_interval_seconds == 0 || self.sweep_batch_max == 0 {
            return Err("sweep_interval_seconds and sweep_batch_max must be at least 1".into());
        }
        if self.index_rebuild_seconds == 0 {
            return Err("index_rebuild_seconds must be at least 1".into());
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err("public_url must start with https:// or http://".into());
        }
        if !(self.occupancy_alert_threshold > 0.0 && self.occupancy_alert_threshold <= 1.0) {
            return Err("occupancy_alert_threshold must be above 0 and at most 1".into());
        }
        for folder in &self.drop_folders {
            folder.import_args()?;
        }
        for folder in &self.order_drop_folders {
            folder.parsed()?;
        }
        self.notify.settings()?;
        let mut scopes = std::collections::HashSet::new();
        for scoped in &self.notify.providers {
            if !scopes.insert(scoped.scope()?) {
                return Err("[[notify.providers]] names the same merchant or network twice".into());
            }
            if scoped.email.is_none() && scoped.sms.is_none() {
                return Err("[[notify.providers]] sets email, sms or both".into());
            }
        }
        // A send must end well within its lease, or another worker would send the message again.
        let email_timeout = |email: &EmailConfig| match email {
            EmailConfig::Smtp { timeout_seconds, .. } => timeout_seconds * u64::from(relais_edge::mail::SEND_TIMEOUTS),
            EmailConfig::Brevo { .. } => PROVIDER_TIMEOUT_SECONDS,
            EmailConfig::None | EmailConfig::File { .. } => 0,
        };
        let sms_timeout = |sms: &SmsConfig| match sms {
            SmsConfig::Twilio { .. } | SmsConfig::Brevo { .. } => PROVIDER_TIMEOUT_SECONDS,
            SmsConfig::None | SmsConfig::File { .. } => 0,
        };
        let scoped = self.notify.providers.iter();
        let slowest = email_timeout(&self.notify.email)
            .max(sms_timeout(&self.notify.sms))
            .max(self.notify.webhooks.timeout_seconds)
            .max(scoped.clone().filter_map(|p| p.email.as_ref()).map(email_timeout).max().unwrap_or(0))
            .max(scoped.filter_map(|p| p.sms.as_ref()).map(sms_timeout).max().unwrap_or(0));
        if u64::try_from(self.notify.lease_seconds).unwrap_or(0) < 2 * slowest {
            return Err(format!(
                "[notify] lease_seconds must be at least {} (twice the slowest channel's timeout)",
                2 * slowest
            ));
        }
        if let Some(key) = &self.secret_key
            && relais_app::secrets::parse_hex_key(key).is_none()
        {
            return Err("secret_key must be 64 hexadecimal characters".into());
        }
        let o = &self.outbound;
        if o.connect_timeout_seconds == 0 || o.timeout_seconds == 0 || o.body_bytes_max == 0 {
            return Err("outbound timeouts and body_bytes_max must be at least 1".into());
        }
        o.client().map_err(|e| format!("outbound: {e}"))?;
        let a = &self.pickup_attempts;
        if [a.point_failures_max, a.point_window_seconds, a.parcel_failures_max, a.parcel_window_seconds].contains(&0) {
            return Err("pickup_attempts limits must be at least 1".into());
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.listen
            .parse()
            .map_err(|_| format!("listen must be an address such as 127.0.0.1:8080, not {:?}", self.listen))
    }

    pub fn is_postgres(&self) -> bool {
        relais_store::sqlite_path(&self.database_url).is_none()
    }

    /// A file kept beside the SQLite database (`relais.db` + `suffix`), or in the working directory
    /// (`relais` + `suffix`) with PostgreSQL.
    pub fn beside_database(&self, suffix: &str) -> PathBuf {
        match relais_store::sqlite_path(&self.database_url) {
            Some(path) => PathBuf::from(format!("{}{suffix}", path.display())),
            None => PathBuf::from(format!("relais{suffix}")),
        }
    }

    pub fn app_limits(&self) -> AppLimits {
        let a = &self.pickup_attempts;
        AppLimits {
            point_attempts: AttemptLimits {
                failures_max: a.point_failures_max,
                window_seconds: a.point_window_seconds,
                lockout_seconds: a.point_lockout_seconds,
                probe_seconds: a.point_probe_seconds,
            },
            parcel_attempts: AttemptLimits {
                failures_max: a.parcel_failures_max,
                window_seconds: a.parcel_window_seconds,
                lockout_seconds: a.parcel_lockout_seconds,
                probe_seconds: 0,
            },
            occupancy_alert_threshold: self.occupancy_alert_threshold,
            sweep_batch_max: self.sweep_batch_max,
            webhooks: relais_app::notify::endpoints::WebhookRules {
                allow_http: self.notify.webhooks.allow_http,
                allow_private: self.notify.webhooks.allow_private,
            },
            ..AppLimits::default()
        }
    }

    /// The secret key: configured, or (SQLite only) read from / created in `<database>.key`.
    /// The base of recipients' links, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen)).trim_end_matches('/').to_owned()
    }

    pub fn secret_key(&self, random: &dyn relais_app::RandomSource) -> Result<[u8; 32], String> {
        if let Some(key) = &self.secret_key {
            return relais_app::secrets::parse_hex_key(key)
                .ok_or_else(|| "secret_key must be 64 hex characters".into());
        }
        if self.is_postgres() {
            return Err(
                "secret_key (or RELAIS_SECRET_KEY) is required with PostgreSQL: every process must share it".into()
            );
        }
        key_file(&self.beside_database(".key"), random)
    }
}

fn key_file(path: &Path, random: &dyn relais_app::RandomSource) -> Result<[u8; 32], String> {
    match std::fs::read_to_string(path) {
        Ok(text) => relais_app::secrets::parse_hex_key(&text)
            .ok_or_else(|| format!("{} does not hold a 64-hex-character key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            random.fill(&mut key);
            write_private(path, &relais_app::secrets::hex(&key))?;
            tracing::warn!(path = %path.display(), "created a new secret key; back it up with the database");
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_the_defaults() {
        let parsed: Config = toml::from_str(EXAMPLE).unwrap();
        let defaults = Config::default();
        assert_eq!(parsed.database_url, defaults.database_url);
        assert_eq!(parsed.listen, defaults.listen);
        assert_eq!(parsed.request_body_bytes_max, defaults.request_body_bytes_max);
        assert_eq!(parsed.pickup_attempts.point_failures_max, defaults.pickup_attempts.point_failures_max);
        assert_eq!(parsed.pickup_attempts.parcel_lockout_seconds, defaults.pickup_attempts.parcel_lockout_seconds);
        assert_eq!(parsed.notify.settings().unwrap(), defaults.notify.settings().unwrap());
        assert_eq!(parsed.notify.email, defaults.notify.email);
        assert_eq!(parsed.tracking.poll_interval_seconds, defaults.tracking.poll_interval_seconds);
        let (p, d) = (parsed.promise_settings().unwrap(), defaults.promise_settings().unwrap());
        assert_eq!(
            (p.service_levels, p.quiet_limit, p.review_every),
            (d.service_levels, d.quiet_limit, d.review_every)
        );
        assert_eq!(p.default_rules, d.default_rules);
        assert_eq!(parsed.kpi.settings(), defaults.kpi.settings());
        assert_eq!((parsed.kpi.metrics_interval_seconds, parsed.kpi.metrics_days), (300, 7));
        assert_eq!(parsed.console.tiles().unwrap(), defaults.console.tiles().unwrap());
    }

    #[test]
    fn kpi_costs_and_map_tiles_are_read_and_bad_tiles_refused() {
        let config: Config = toml::from_str(
            "[kpi.cost]\nlocker_day_cents = 1200\ndeposit_cents = 35\n[kpi.targets]\nnps = 40\n[console]\ntile_url = \"\"\n",
        )
        .unwrap();
        let settings = config.kpi.settings();
        assert_eq!(settings.cost.point_day_cents(relais_domain::point::PointKind::Locker), 1200);
        assert_eq!((settings.cost.deposit_cents, settings.targets.nps), (35, Some(40.0)));
        assert_eq!(settings.targets.pickup_rate_7_days, Some(0.85), "the seed's target stays");
        assert_eq!(config.console.tiles().unwrap(), None, "empty: the plain drawing");
        let osm = Config::default().console.tiles().unwrap().unwrap();
        assert_eq!(osm.origin(), "https://tile.openstreetmap.org");
        let subdomains = ConsoleConfig {
            tile_url: "https://{s}.tiles.example.org/{z}/{x}/{y}.png".into(),
            ..ConsoleConfig::default()
        };
        assert_eq!(subdomains.tiles().unwrap().unwrap().origin(), "https://*.tiles.example.org");
        for bad in [
            "ftp://tiles.example.org/{z}/{x}/{y}.png",
            "https://tiles.example.org/{z}/{x}.png",
            "https://x/{z}/{x}/{y}'; script-src *",
        ] {
            let config = ConsoleConfig { tile_url: bad.into(), ..ConsoleConfig::default() };
            assert!(config.tiles().is_err(), "{bad}");
        }
        assert!(toml::from_str::<Config>("[kpi.cost]\nlocker_cents = 1\n").is_err(), "an unknown key is refused");
    }

    #[test]
    fn claim_rules_inherit_the_defaults_and_bad_ones_are_refused() {
        let config: Config = toml::from_str(
            "[claims]\nlost_after_days = 15\n[claims.carriers.chronopost]\nscale = \"1:100\"\nreminder_days = [1, 5]\n",
        )
        .unwrap();
        let settings = config.promise_settings().unwrap();
        let chronopost = settings.rules("chronopost", None);
        assert_eq!((chronopost.scale.percent(1), chronopost.lost_after_days), (100, 15));
        assert_eq!(chronopost.reminder_days, [5, 1]);
        assert_eq!(settings.rules("gls", Some("express")).scale.percent(2), 75);
        // A service's scale over its carrier's rules.
        let config: Config = toml::from_str(
            "[claims.carriers.\"chronopost:express\"]\nscale = \"1:200\"\n[claims.carriers.chronopost]\nlate_filing_days = 10\n",
        )
        .unwrap();
        let settings = config.promise_settings().unwrap();
        let express = settings.rules("chronopost", Some("express"));
        assert_eq!((express.scale.percent(1), express.late_filing_days), (200, 10));
        assert_eq!(settings.rules("chronopost", Some("standard")).scale.percent(1), 25);
        for bad in [
            "[claims]\nscale = \"2:75,1:25\"\n",
            "[claims.carriers.pigeon]\nscale = \"1:10\"\n",
            "[promise.service_levels]\nslow = 90\n",
        ] {
            let config: Config = toml::from_str(bad).unwrap();
            assert!(config.promise_settings().is_err(), "{bad}");
        }
        let config: Config = toml::from_str("[tracking.carriers.laposte]\nurl = \"ftp://x\"\n").unwrap();
        assert!(config.tracking.apis().is_err());
        let config: Config =
            toml::from_str("[tracking.carriers.laposte]\nurl = \"https://x/{number}\"\npush_secret = \"nope\"\n")
                .unwrap();
        assert!(config.tracking.apis().is_err());
    }

    #[test]
    fn a_lease_shorter_than_twice_a_channels_timeout_is_refused() {
        let smtp = |timeout_seconds| EmailConfig::Smtp {
            host: "smtp.example.org".into(),
            port: 587,
            security: "starttls".into(),
            username: None,
            password: Some(Secret("pw".into())),
            from: "Relais <a@example.org>".into(),
            timeout_seconds,
            connections: 4,
        };
        let with = |lease_seconds, email| Config {
            notify: NotifyConfig { lease_seconds, email, ..NotifyConfig::default() },
            ..Config::default()
        };
        assert!(with(120, smtp(10)).validate().is_ok(), "40 s a message, 120 s a lease");
        let refused = with(60, smtp(10)).validate().unwrap_err();
        assert!(refused.contains("lease_seconds must be at least 80"), "{refused}");
        assert!(with(30, EmailConfig::default()).validate().is_ok(), "webhooks: 15 s");
        assert!(!format!("{:?}", smtp(10)).contains("pw"), "the password is never printed");
    }

    #[test]
    fn files_beside_the_database() {
        let at = |url: &str| Config { database_url: url.into(), ..Config::default() };
        assert_eq!(at("relais.db").beside_database(".key"), PathBuf::from("relais.db.key"));
        assert_eq!(at("sqlite://data/r.db").beside_database(".demo-keys"), PathBuf::from("data/r.db.demo-keys"));
        assert_eq!(at("postgres://u@h/db").beside_database(".demo-keys"), PathBuf::from("relais.demo-keys"));
    }

    #[test]
    fn bad_values_are_refused_with_a_message() {
        let bad = Config { listen: "localhost".into(), ..Config::default() };
        assert!(bad.validate().unwrap_err().contains("listen"));
        let bad = Config { secret_key: Some("abc".into()), ..Config::default() };
        assert!(bad.validate().unwrap_err().contains("secret_key"));
        assert!(toml::from_str::<Config>("listen_addr = 1").is_err(), "unknown keys are refused");
    }
}

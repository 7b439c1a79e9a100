//! The use cases of relais, and the ports they need.
//!
//! A use case is one method on [`App`]: it checks the caller's permission, then runs as a command
//! through the spine (`command.rs`): load through the [`Store`] port, ask the pure domain for the
//! transition, commit the new state, its events and its outbox messages in one transaction, and decide
//! again after a lost race (optimistic concurrency, up to `commit_attempts_max` times, then
//! `AppError::Busy`). The HTTP API, the CLI and the background jobs all call these methods; no rule is
//! written twice, and none of them reaches the ports: the store, the clock, the random source and the
//! instance's keys are the app's own.
//!
//! The modules follow the capabilities: `parcels` (the lifecycle, pickups, overflow), `lockers`
//! (courier sessions, doors, devices), `counters`, `recipients`, `operator` (what operators do by
//! hand), `receipts`, `points` (index, imports, search), `occupancy`, `kpis`, `jobs`, `setup`.

pub mod alerts;
pub mod auth;
pub mod claims;
mod command;
pub mod connectors;
pub mod console;
pub mod counters;
mod csv_out;
pub mod error;
pub mod jobs;
pub mod keys;
pub mod kpis;
pub mod labels;
pub mod lockers;
pub mod messages;
pub mod notify;
pub mod numbers;
pub mod occupancy;
pub mod operator;
pub mod order_files;
pub mod orders;
pub mod parcels;
pub mod points;
pub mod ports;
pub mod promises;
pub mod receipts;
pub mod recipients;
pub mod secrets;
pub mod setup;
pub mod signed;
pub mod tracking;

use std::sync::Arc;

use relais_domain::Timestamp;
use relais_domain::attempts::AttemptLimits;
use relais_domain::ids::Id;
use relais_domain::parcel::{Parcel, ParcelEvent};
use relais_domain::value::ParseError;

pub use crate::auth::{ApiKey, Caller, Permission, Role};
pub use crate::error::{AppError, Throttled};
pub use crate::ports::OutboxMessage;
pub use crate::ports::{Clock, CommitError, OsRandom, RandomSource, Store, StoreError, SystemClock, Write};
pub use crate::secrets::Secrets;

/// Limits of the use-case layer, each with its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppLimits {
    /// Wrong pickup codes at one point before it locks (a keypad under brute force); while locked, a
    /// code is still checked every `probe_seconds`, so the locker's other users wait seconds, not the
    /// whole lockout.
    pub point_attempts: AttemptLimits,
    /// Wrong pickup codes for one parcel before it locks (a counter hand-over).
    pub parcel_attempts: AttemptLimits,
    /// Wrong courier codes at one locker's keypad, or from one carrier key for one locker, before it
    /// refuses courier codes for a while.
    pub courier_attempts: AttemptLimits,
    /// Wrong passwords for one console account before it locks for a while.
    pub console_attempts: AttemptLimits,
    /// How many times a command reloads and retries after losing a race.
    pub commit_attempts_max: u32,
    /// Largest page a list returns.
    pub page_size_max: u32,
    /// Page size of a list when the caller names none.
    pub page_size_default: u32,
    /// Occupancy (occupied compartments / compartments) above which a point's alert is raised.
    pub occupancy_alert_threshold: f64,
    /// Most items (parcels, devices, reservations) one pass of each sweep takes.
    pub sweep_batch_max: u32,
    /// Which webhook URLs endpoints may have.
    pub webhooks: notify::endpoints::WebhookRules,
}

impl Default for AppLimits {
    fn default() -> Self {
        AppLimits {
            point_attempts: AttemptLimits {
                failures_max: 20,
                window_seconds: 600,
                lockout_seconds: 600,
                probe_seconds: 15,
            },
            parcel_attempts: AttemptLimits {
                failures_max: 5,
                window_seconds: 900,
                lockout_seconds: 900,
                probe_seconds: 0,
            },
            courier_attempts: AttemptLimits {
                failures_max: 10,
                window_seconds: 600,
                lockout_seconds: 900,
                probe_seconds: 15,
            },
            console_attempts: AttemptLimits {
                failures_max: 10,
                window_seconds: 900,
                lockout_seconds: 900,
                probe_seconds: 0,
            },
            commit_attempts_max: 64,
            page_size_max: 500,
            page_size_default: 50,
            occupancy_alert_threshold: 0.85,
            sweep_batch_max: 1_000,
            webhooks: notify::endpoints::WebhookRules::default(),
        }
    }
}

/// The application: ports plus limits. Cheap to clone (everything is behind `Arc`).
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    secrets: Secrets,
    limits: AppLimits,
    /// The pickup-point search index, shared by every clone of the app.
    registry: Arc<points::PointRegistry>,
    /// Where recipients reach this instance (links in their messages), without a trailing slash.
    public_url: String,
    /// Makes ids strictly increase in this process.
    ids: Arc<IdSequence>,
    /// Pickups at one point, one at a time through the wrong-code check (`parcels/pickup.rs`).
    gates: Arc<parcels::pickup::Gates>,
    /// The Twilio accounts SMS go through: (account SID, auth token), to check their callbacks
    /// (`notify/providers.rs`).
    twilio_accounts: Arc<Vec<(String, String)>>,
    /// The blocks of serials this process took from the numbering series (`numbers.rs`).
    number_blocks: Arc<numbers::Blocks>,
    /// The carriers' tracking APIs this instance polls and takes pushes from (`tracking.rs`).
    carrier_apis: Arc<tracking::CarrierApis>,
    /// How promises are kept and claimed (`promises.rs`).
    promise_settings: Arc<promises::PromiseSettings>,
    /// How KPIs are costed and what they aim at (`kpis.rs`).
    kpi_settings: Arc<kpis::KpiSettings>,
    /// Where the console's and the widget's maps take their tiles; none: the plain drawing.
    map_tiles: Arc<Option<MapTiles>>,
}

/// A map tile service: a URL with `{z}`, `{x}` and `{y}` (and `{s}` for its subdomains), and the
/// attribution its usage policy requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTiles {
    pub url: String,
    pub attribution: String,
}

impl MapTiles {
    /// The origin the pages' content policy allows images from: `https://tile.example.org`, a
    /// subdomain template `{s}` as `*`.
    pub fn origin(&self) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("https", &self.url));
        let host = rest.split('/').next().unwrap_or_default().replace("{s}", "*");
        format!("{scheme}://{host}")
    }
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, random: Arc<dyn RandomSource>, secrets: Secrets) -> Self {
        App {
            store,
            clock,
            random,
            secrets,
            limits: AppLimits::default(),
            registry: Arc::default(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            ids: Arc::default(),
            gates: Arc::default(),
            twilio_accounts: Arc::new(Vec::new()),
            number_blocks: Arc::default(),
            carrier_apis: Arc::default(),
            promise_settings: Arc::default(),
            kpi_settings: Arc::default(),
            map_tiles: Arc::new(None),
        }
    }

    /// The map tiles of the console's and the widget's maps (`[console] tile_url`); none: the plain
    /// drawing (no request leaves the browser for another site).
    pub fn with_map_tiles(self, tiles: Option<MapTiles>) -> Self {
        App { map_tiles: Arc::new(tiles), ..self }
    }

    pub fn map_tiles(&self) -> Option<&MapTiles> {
        self.map_tiles.as_ref().as_ref()
    }

    pub fn with_kpi_settings(self, settings: kpis::KpiSettings) -> Self {
        App { kpi_settings: Arc::new(settings), ..self }
    }

    pub fn with_limits(self, limits: AppLimits) -> Self {
        App { limits, ..self }
    }

    /// Where recipients reach this instance, e.g. `https://relais.example.org` (no trailing slash).
    pub fn with_public_url(self, public_url: &str) -> Self {
        App { public_url: public_url.trim_end_matches('/').to_owned(), ..self }
    }

    pub fn limits(&self) -> &AppLimits {
        &self.limits
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Which storage backend this instance runs on (`sqlite`, `postgres`), for logs and `/readyz`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// A cheap round trip to the database: `/readyz`.
    pub async fn ping(&self) -> Result<(), AppError> {
        Ok(self.store.ping().await?)
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The app's clock, for adapters that read time (a provider's `Retry-After` date).
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    /// A new time-ordered id (UUID v7) from the clock and the random source; ids made by one process
    /// strictly increase (see [`IdSequence`]).
    pub fn new_id<T>(&self) -> Id<T> {
        let mut random = [0u8; 10];
        self.random.fill(&mut random);
        let now_ms = u64::try_from(self.now().timestamp_millis()).unwrap_or(0);
        let (unix_ms, random) = self.ids.next(now_ms, random);
        Id::from_parts(unix_ms, random)
    }

    /// The outbox message a command writes for a parcel event, with the notice its recipient gets (the
    /// lifecycle benchmark writes the very same rows for its storage ceiling). The text itself is
    /// rendered by the delivery worker when it sends it (`notify`).
    pub async fn outbox_message(&self, parcel: &Parcel, event: &ParcelEvent) -> Result<OutboxMessage, StoreError> {
        Ok(self.outbox_for(parcel, event))
    }

    /// The link to a parcel's page for its recipient (status, extension): `{public_url}/r/{token}`.
    pub fn recipient_link(&self, parcel_id: relais_domain::ids::ParcelId) -> String {
        format!("{}/r/{}", self.public_url, self.secrets.recipient_link_token(parcel_id))
    }

    /// A requested page size: `page_size_default` when none is asked; refused beyond `1..=page_size_max`
    /// (a client asking for more than it gets would think it saw the whole list).
    pub fn page_limit(&self, requested: Option<u32>) -> Result<u32, AppError> {
        match requested {
            None => Ok(self.limits.page_size_default),
            Some(n) if (1..=self.limits.page_size_max).contains(&n) => Ok(n),
            Some(_) => {
                Err(ParseError::new("limit", format!("must be between 1 and {}", self.limits.page_size_max)).into())
            }
        }
    }
}

/// The millisecond and sequence of the last id (`ms << 12 | seq`). UUID v7 has 12 bits (`rand_a`) that
/// RFC 9562 lets a generator use as a counter: ids made within one millisecond then still sort in
/// creation order ("newest first" lists, cursors), and past 4,096 ids in a millisecond the next
/// millisecond is borrowed.
#[derive(Debug, Default)]
pub struct IdSequence(std::sync::atomic::AtomicU64);

impl IdSequence {
    /// The millisecond and random bytes (sequence in the first 12 bits) of the next id.
    pub fn next(&self, now_ms: u64, mut random: [u8; 10]) -> (u64, [u8; 10]) {
        use std::sync::atomic::Ordering;
        let mut last = self.0.load(Ordering::Relaxed);
        let next = loop {
            let (ms, seq) = (last >> 12, last & 0xFFF);
            let next = if now_ms > ms {
                now_ms << 12
            } else if seq < 0xFFF {
                last + 1
            } else {
                (ms + 1) << 12
            };
            match self.0.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break next,
                Err(actual) => last = actual,
            }
        };
        let seq = next & 0xFFF;
        random[0] = (seq >> 8) as u8;
        random[1] = (seq & 0xFF) as u8;
        (next >> 12, random)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use relais_domain::ids::ParcelId;

    #[test]
    fn ids_strictly_increase_within_and_across_milliseconds() {
        let sequence = IdSequence::default();
        let id = |ms| {
            let (ms, random) = sequence.next(ms, [0xFF; 10]);
            Id::<Parcel>::from_parts(ms, random)
        };
        // 5,000 ids in one millisecond overflow the 4,096 sequence numbers: the next millisecond is borrowed.
        let mut ids: Vec<ParcelId> = (0..5_000).map(|_| id(1_800_000_000_000)).collect();
        ids.extend((0..10).map(|_| id(1_800_000_000_003)));
        // A clock that steps back does not make ids go back.
        ids.push(id(1_799_999_999_000));
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].uuid().get_timestamp().unwrap().to_unix().0, 1_800_000_000);
        assert!(ids.iter().all(|i| i.uuid().get_version_num() == 7));
    }
}

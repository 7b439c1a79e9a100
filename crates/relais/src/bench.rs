//! `relais bench lifecycle`: full parcel lifecycles (announce, deposit, pickup) through the use-case
//! layer on a real, durable store, and in the same run the storage ceiling: the same rows written with
//! the backend's plain statements, same batching, no reads and no logic. The last line is
//! machine-readable: `lifecycles_per_s=<n> p50_ms=<x> p99_ms=<x> ceiling_per_s=<n> ratio=<engine/ceiling>`,
//! followed by `bare_ceiling_per_s=<n>` with `--bare-ceiling` (the same rows with no index but the
//! tables' keys: what the rows alone cost).

use std::sync::Arc;
use std::time::{Duration, Instant};

use relais_app::keys::NewApiKey;
use relais_app::parcels::{AnnounceParcel, PickupSecret};
use relais_app::ports::{SeededRandom, Write};
use relais_app::setup::{NewCompartment, NewPoint};
use relais_app::{App, Caller, Secrets, Store, SystemClock};
use relais_domain::compartment::Compartment;
use relais_domain::dropoff::{CommandPurpose, DoorCommand};
use relais_domain::ids::{CarrierId, MerchantId, NetworkId, PointId};
use relais_domain::network::NetworkRules;
use relais_domain::parcel::{Actor, ActorKind, NewParcel, Parcel, PickupSecretDigests, Recipient};
use relais_domain::value::{Dimensions, ParcelNumber, Phone, Weight};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct LifecycleOptions {
    pub backend: Backend,
    pub database_url: Option<String>,
    pub parcels: u32,
    pub concurrency: u32,
    /// Also measure the ceiling with primary keys only (`--bare-ceiling`).
    pub bare_ceiling: bool,
}

/// Compartments per bench locker; each task works at its own locker so tasks do not contend.
const COMPARTMENTS_PER_LOCKER: usize = 50;

struct Fixture {
    app: App,
    network: NetworkId,
    merchant: MerchantId,
    carrier: CarrierId,
    lockers: Vec<(PointId, Vec<Compartment>)>,
    network_rules: NetworkRules,
}

pub async fn lifecycle(options: LifecycleOptions) -> Result<String, String> {
    if options.parcels == 0 || options.concurrency == 0 {
        return Err("--parcels and --concurrency must be at least 1".into());
    }
    let concurrency = options.concurrency.min(options.parcels) as usize;
    let engine_db = Database::create(options.backend, options.database_url.as_deref(), "engine").await?;
    let ceiling_db = Database::create(options.backend, options.database_url.as_deref(), "ceiling").await?;

    // Engine: the use cases on a durable store.
    let engine = fixture(engine_db.store.clone(), concurrency, NetworkRules::default()).await?;
    eprintln!(
        "engine: {} lifecycles, {} concurrent tasks, {} backend, durable commits",
        options.parcels,
        concurrency,
        engine_db.store.backend()
    );
    // CPU of this process per lifecycle: steadier from run to run than the rate on a shared machine,
    // so it shows whether a change made less work (for PostgreSQL, the server's own CPU is not in it).
    let cpu_before = crate::bench_network::cpu_seconds(std::process::id());
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let count = share(options.parcels as usize, concurrency, task);
        let app = engine.app.clone();
        let callers = Callers {
            merchant: Caller::merchant(engine.merchant),
            carrier: Caller::carrier(engine.carrier, vec![engine.network]),
            device: Caller::device(engine.lockers[task].0),
        };
        let point = engine.lockers[task].0;
        tasks.spawn(async move { run_lifecycles(app, callers, point, task, count).await });
    }
    let mut latencies = Vec::with_capacity(options.parcels as usize);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.map_err(|e| e.to_string())??);
    }
    let engine_seconds = started.elapsed().as_secs_f64();
    let engine_cpu = crate::bench_network::cpu_seconds(std::process::id()) - cpu_before;
    latencies.sort_unstable();
    let lifecycles_per_s = f64::from(options.parcels) / engine_seconds;
    let p50 = percentile_ms(&latencies, 0.50);
    let p99 = percentile_ms(&latencies, 0.99);
    eprintln!("engine: {lifecycles_per_s:.0} lifecycles/s, p50 {p50:.2} ms, p99 {p99:.2} ms per lifecycle");
    eprintln!("engine: {:.0} microseconds of relais CPU per lifecycle", engine_cpu * 1e6 / f64::from(options.parcels));

    // Ceiling: the same rows, plain statements, same batching.
    let (ceiling_per_s, ceiling_cpu) = ceiling(&ceiling_db, &options, concurrency, false).await?;
    eprintln!("ceiling: {ceiling_per_s:.0} lifecycles/s (same rows and batching as plain statements)");
    eprintln!("ceiling: {ceiling_cpu:.0} microseconds of relais CPU per lifecycle");
    let bare = if options.bare_ceiling {
        let bare_db = Database::create(options.backend, options.database_url.as_deref(), "bare").await?;
        let measured = ceiling(&bare_db, &options, concurrency, true).await;
        bare_db.cleanup().await;
        let (per_s, cpu) = measured?;
        eprintln!("bare ceiling: {per_s:.0} lifecycles/s (the same rows with primary keys only, no other index)");
        eprintln!("bare ceiling: {cpu:.0} microseconds of relais CPU per lifecycle");
        Some(per_s)
    } else {
        None
    };
    engine_db.cleanup().await;
    ceiling_db.cleanup().await;
    let line = format!(
        "lifecycles_per_s={:.0} p50_ms={p50:.3} p99_ms={p99:.3} ceiling_per_s={ceiling_per_s:.0} ratio={:.2}",
        lifecycles_per_s,
        lifecycles_per_s / ceiling_per_s
    );
    Ok(match bare {
        Some(per_s) => format!("{line} bare_ceiling_per_s={per_s:.0}"),
        None => line,
    })
}

/// Writes the ceiling's rows into a fresh database and returns lifecycles per second and microseconds of
/// this process's CPU per lifecycle. `bare`: the secondary indexes are dropped first, so that the figure
/// is what the rows alone cost, the floor no choice of indexes can go below.
async fn ceiling(
    db: &Database,
    options: &LifecycleOptions,
    concurrency: usize,
    bare: bool,
) -> Result<(f64, f64), String> {
    let ceiling = fixture(db.store.clone(), concurrency, NetworkRules::default()).await?;
    let commands = synthetic_commands(&ceiling, options.parcels as usize).await?;
    let cpu_before = crate::bench_network::cpu_seconds(std::process::id());
    let spent = match (&db.kind, options.backend) {
        (DatabaseKind::Sqlite(path), Backend::Sqlite) => {
            if bare {
                let dropped = relais_store::bench::sqlite_drop_secondary_indexes(path).map_err(|e| e.to_string())?;
                eprintln!("bare ceiling: {dropped} secondary indexes dropped");
            }
            // The engine's writer commits what is waiting: with `concurrency` tasks each waiting on its own
            // command, a batch holds up to `concurrency` commands.
            let batches: Vec<Vec<Vec<Write>>> = commands.chunks(concurrency).map(<[_]>::to_vec).collect();
            drop(commands);
            relais_store::bench::sqlite_ceiling(path, batches.into_iter()).map_err(|e| e.to_string())?
        }
        (DatabaseKind::Postgres(store), Backend::Postgres) => {
            if bare {
                let dropped =
                    relais_store::bench::postgres_drop_secondary_indexes(store).await.map_err(|e| e.to_string())?;
                eprintln!("bare ceiling: {dropped} secondary indexes dropped");
            }
            // One lane per task, like the engine: lifecycle n runs at locker n % concurrency, in order.
            let mut lanes: Vec<Vec<Vec<Write>>> = vec![Vec::new(); concurrency];
            for (index, command) in commands.into_iter().enumerate() {
                lanes[(index / 3) % concurrency].push(command);
            }
            relais_store::bench::postgres_ceiling(store, lanes).await.map_err(|e| e.to_string())?
        }
        _ => return Err("backend mismatch".into()),
    };
    let cpu = crate::bench_network::cpu_seconds(std::process::id()) - cpu_before;
    let parcels = f64::from(options.parcels);
    Ok((parcels / spent.as_secs_f64(), cpu * 1e6 / parcels))
}

/// Who acts in a lifecycle: the merchant announces, the carrier deposits, the locker's device hands over.
struct Callers {
    merchant: Caller,
    carrier: Caller,
    device: Caller,
}

async fn run_lifecycles(
    app: App,
    callers: Callers,
    point: PointId,
    task: usize,
    count: usize,
) -> Result<Vec<Duration>, String> {
    let Callers { merchant, carrier, device } = callers;
    let mut latencies = Vec::with_capacity(count);
    for n in 0..count {
        let started = Instant::now();
        let announced = app
            .announce_parcel(&merchant, announce(point, &parcel_number(task, n), recipient_phone(task, n)))
            .await
            .map_err(|e| format!("announce: {e}"))?;
        let deposited = app.deposit(&carrier, announced.parcel.id).await.map_err(|e| format!("deposit: {e}"))?;
        if deposited.failure.is_some() {
            return Err(format!("deposit failed: {:?}", deposited.failure));
        }
        app.pickup_at_point(&device, point, PickupSecret::Code(announced.pickup_code.as_str().to_owned()))
            .await
            .map_err(|e| format!("pickup: {e}"))?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

/// Task `index`'s part of `total` items split over `parts` tasks (the first ones take the remainder).
fn share(total: usize, parts: usize, index: usize) -> usize {
    total / parts + usize::from(index < total % parts)
}

fn parcel_number(task: usize, n: usize) -> String {
    format!("BENCH{task:04}X{n:08}")
}

/// One recipient per parcel: no two share a compartment.
fn recipient_phone(task: usize, n: usize) -> String {
    format!("+336{:08}", (task * 1_000_003 + n) % 100_000_000)
}

fn announce(point: PointId, number: &str, phone: String) -> AnnounceParcel {
    AnnounceParcel {
        merchant_id: None,
        carrier_id: None,
        point_id: point,
        parcel_number: Some(number.to_owned()),
        recipient_name: "Camille Bench".into(),
        recipient_phone: Some(phone),
        recipient_email: None,
        recipient_language: None,
        length_mm: 300,
        width_mm: 200,
        height_mm: 60,
        weight_g: 900,
    }
}

/// The ceiling's commands: for each lifecycle, the same three commits (same tables, same rows) the engine
/// makes, built before timing starts: the deposit's outbox row carries the recipient's message, and the
/// pickup at the locker records its door opening (calling off the one the previous pickup left pending,
/// as nobody reports that door closed in this benchmark).
async fn synthetic_commands(fixture: &Fixture, parcels: usize) -> Result<Vec<Vec<Write>>, String> {
    let app = &fixture.app;
    let now = app.now();
    let actor = |kind| Actor { kind, reference: None };
    let mut lockers: Vec<(PointId, Compartment, Option<DoorCommand>)> =
        fixture.lockers.iter().map(|(p, cs)| (*p, cs[0].clone(), None)).collect();
    let mut commands = Vec::with_capacity(parcels * 3);
    for n in 0..parcels {
        let slot = n % lockers.len();
        let (point, compartment, door) = &mut lockers[slot];
        let new = NewParcel {
            id: app.new_id(),
            number: ParcelNumber::parse(&parcel_number(slot, n)).unwrap_or_else(|_| unreachable!()),
            merchant_id: fixture.merchant,
            carrier_id: None,
            network_id: fixture.network,
            point_id: *point,
            recipient: Recipient {
                name: "Camille Bench".into(),
                phone: Phone::parse(&recipient_phone(slot, n)).ok(),
                email: None,
                language: relais_domain::value::Language::Fr,
            },
            dimensions: Dimensions::from_mm(300, 200, 60).unwrap_or_else(|_| unreachable!()),
            weight: Weight::from_grams(900).unwrap_or_else(|_| unreachable!()),
            secrets: PickupSecretDigests { code: digest(n, 1), qr: digest(n, 2) },
        };
        let announced = Parcel::announce(new, actor(ActorKind::Merchant), now);
        let parcel = announced.parcel.clone();
        let reserved =
            compartment.reserve(parcel.id, now + chrono::Duration::hours(72), now).unwrap_or_else(|_| unreachable!());
        commands.push(vec![
            // A real seal's size: version, nonce, the 8-digit code, the 132-character QR token, the tag.
            Write::InsertParcel { parcel: parcel.clone(), pickup_seal: vec![0; 170], contact_digests: Vec::new() },
            Write::UpdateCompartment(reserved.clone()),
            Write::AppendEvent(announced.event.clone()),
            Write::AppendOutbox(app.outbox_message(&parcel, &announced.event).await.map_err(|e| e.to_string())?),
        ]);
        let reserved = Compartment { version: reserved.version + 1, ..reserved };
        let occupied = reserved.occupy(parcel.id, now).unwrap_or_else(|_| unreachable!());
        let deposited = parcel
            .deposit(Some(occupied.id), &fixture.network_rules, actor(ActorKind::Carrier), now)
            .unwrap_or_else(|_| unreachable!());
        let told = app.outbox_message(&deposited.parcel, &deposited.event).await.map_err(|e| e.to_string())?;
        commands.push(vec![
            Write::UpdateCompartment(occupied.clone()),
            Write::UpdateParcel(deposited.parcel.clone()),
            Write::AppendOutbox(told),
            Write::AppendEvent(deposited.event),
        ]);
        let occupied = Compartment { version: occupied.version + 1, ..occupied };
        let released = occupied.release(parcel.id).unwrap_or_else(|_| unreachable!());
        let ready = Parcel { version: deposited.parcel.version + 1, ..deposited.parcel };
        let collected = ready.collect(actor(ActorKind::LockerDevice), now).unwrap_or_else(|_| unreachable!());
        let mut pickup = vec![
            Write::UpdateCompartment(released.clone()),
            Write::UpdateParcel(collected.parcel.clone()),
            Write::AppendOutbox(
                app.outbox_message(&collected.parcel, &collected.event).await.map_err(|e| e.to_string())?,
            ),
            Write::AppendEvent(collected.event),
        ];
        if let Some(stale) = door.take() {
            pickup.push(Write::UpdateDoorCommand(stale.cancel(now).map_err(|_| "stale command".to_owned())?));
        }
        let opened = DoorCommand::new(app.new_id(), &released, CommandPurpose::Pickup, Some(parcel.id), None, now);
        pickup.push(Write::InsertDoorCommand(opened.clone()));
        *door = Some(opened);
        commands.push(pickup);
        *compartment = Compartment { version: released.version + 1, ..released };
    }
    Ok(commands)
}

fn digest(n: usize, salt: u8) -> [u8; 32] {
    let mut digest = [salt; 32];
    digest[..8].copy_from_slice(&(n as u64).to_le_bytes());
    digest
}

async fn fixture(store: Arc<dyn Store>, lockers: usize, rules: NetworkRules) -> Result<Fixture, String> {
    let app = App::new(store, Arc::new(SystemClock), Arc::new(SeededRandom::new(2026)), Secrets::new([9; 32]));
    let system = Caller::system();
    let network = app.create_network(&system, "bench", rules.clone()).await.map_err(|e| e.to_string())?;
    let merchant = app.create_merchant(&system, "bench").await.map_err(|e| e.to_string())?;
    let carrier = app.create_carrier(&system, "bench", &[network.id]).await.map_err(|e| e.to_string())?;
    let mut created = Vec::with_capacity(lockers);
    for l in 0..lockers {
        // A quarter of the doors in each size class, labelled by class: A00..A12, B13..., D49.
        let compartments = (0..COMPARTMENTS_PER_LOCKER)
            .map(|c| {
                let size = ["A", "B", "C", "D"][c * 4 / COMPARTMENTS_PER_LOCKER];
                NewCompartment { label: format!("{size}{c:02}"), size: size.into() }
            })
            .collect();
        let relais_app::setup::CreatedPoint { point, compartments, .. } = app
            .create_point(
                &system,
                NewPoint {
                    network_id: network.id,
                    external_id: format!("BENCH-{l:04}"),
                    kind: "locker".into(),
                    name: format!("Bench locker {l}"),
                    address_line1: "1 rue du Banc".into(),
                    address_line2: None,
                    postcode: "69001".into(),
                    city: "Lyon".into(),
                    country: "FR".into(),
                    latitude: 45.76,
                    longitude: 4.83,
                    timezone: None,
                    status: None,
                    shelf_capacity: None,
                    weight_max_g: None,
                    dimensions_sum_max_mm: None,
                    opening_hours: None,
                    closures: Vec::new(),
                    services: None,
                    compartments,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        created.push((point.id, compartments));
    }
    // As `relais serve` does at start: the points in memory, where the recipient's message finds its
    // point's name and time zone without a read.
    app.rebuild_index().await.map_err(|e| e.to_string())?;
    Ok(Fixture {
        app,
        network: network.id,
        merchant: merchant.id,
        carrier: carrier.id,
        lockers: created,
        network_rules: rules,
    })
}

pub(crate) fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

enum DatabaseKind {
    Sqlite(std::path::PathBuf),
    Postgres(Arc<relais_store::PostgresStore>),
}

/// A fresh database for one side of the benchmark: a SQLite file, or a PostgreSQL schema (dropped at
/// the end) in the database the URL names.
pub(crate) struct Database {
    pub(crate) store: Arc<dyn Store>,
    kind: DatabaseKind,
    admin_url: Option<(String, String)>,
}

impl Database {
    pub(crate) async fn create(backend: Backend, database_url: Option<&str>, side: &str) -> Result<Database, String> {
        let unique = format!("{}_{side}", std::process::id());
        match backend {
            Backend::Sqlite => {
                let path = match database_url {
                    Some(url) => std::path::PathBuf::from(format!("{url}.{side}")),
                    None => std::env::temp_dir().join(format!("relais-bench-{unique}.db")),
                };
                remove_sqlite(&path);
                let store = relais_store::SqliteStore::open(&path).map_err(|e| e.to_string())?;
                Ok(Database { store: Arc::new(store), kind: DatabaseKind::Sqlite(path), admin_url: None })
            }
            Backend::Postgres => {
                let url = database_url
                    .map(str::to_owned)
                    .ok_or("--database-url postgres://... is required with --backend postgres")?;
                let schema = format!("relais_bench_{unique}");
                admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).await?;
                let separator = if url.contains('?') { '&' } else { '?' };
                let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
                let store = Arc::new(relais_store::PostgresStore::connect(&scoped).await.map_err(|e| e.to_string())?);
                Ok(Database {
                    store: store.clone(),
                    kind: DatabaseKind::Postgres(store),
                    admin_url: Some((url, schema)),
                })
            }
        }
    }

    pub(crate) async fn cleanup(self) {
        match (&self.kind, &self.admin_url) {
            (DatabaseKind::Sqlite(path), _) => remove_sqlite(path),
            (DatabaseKind::Postgres(_), Some((url, schema))) => {
                drop(self.store);
                if let Err(e) = admin(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await {
                    eprintln!("could not drop bench schema {schema}: {e}");
                }
            }
            (DatabaseKind::Postgres(_), None) => {}
        }
    }
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

async fn admin(url: &str, sql: &str) -> Result<(), String> {
    relais_store::postgres::execute_batch(url, sql).await.map_err(|e| e.to_string())
}

pub struct HttpOptions {
    pub backend: Backend,
    pub database_url: Option<String>,
    pub parcels: u32,
    pub concurrency: u32,
}

/// `relais bench http`: the real server on loopback (SQLite, durable, or PostgreSQL in a schema of its
/// own, dropped at the end), driven over keep-alive HTTP/1.1
/// connections. Parcels are announced first (not timed); then each connection deposits and picks up its
/// parcels, and the deposit and pickup requests are timed. Baseline in the same run: `GET /healthz` on
/// the same server and connections, the cost of the HTTP stack alone. Last line:
/// `requests_per_s=<n> p50_ms=<x> p99_ms=<x> baseline_requests_per_s=<n> ratio=<requests/baseline>`.
pub async fn http(options: HttpOptions) -> Result<String, String> {
    if options.parcels == 0 || options.concurrency == 0 {
        return Err("--parcels and --concurrency must be at least 1".into());
    }
    let concurrency = options.concurrency.min(options.parcels) as usize;
    let database = Database::create(options.backend, options.database_url.as_deref(), "http").await?;
    let measured = http_on(database.store.clone(), &options, concurrency).await;
    database.cleanup().await;
    measured
}

async fn http_on(store: Arc<dyn Store>, options: &HttpOptions, concurrency: usize) -> Result<String, String> {
    use crate::client::Client;
    // All parcels are announced before the timed part, more than a locker has compartments: this network
    // does not reserve at announce. Each deposit is followed by its pickup, so a compartment is free.
    let rules = NetworkRules { reservation_hours: 0, ..NetworkRules::default() };
    let fixture = fixture(store, concurrency, rules).await?;
    let app = fixture.app.clone();
    let system = Caller::system();
    let key = |input: NewApiKey| {
        let app = app.clone();
        let system = system.clone();
        async move { app.create_api_key(&system, input).await.map(|k| k.secret).map_err(|e| e.to_string()) }
    };
    let merchant_key = key(NewApiKey::merchant(fixture.merchant, "bench")).await?;
    let carrier_key = key(NewApiKey::carrier(fixture.carrier, "bench")).await?;
    let mut device_keys = Vec::with_capacity(concurrency);
    for (point, _) in &fixture.lockers {
        device_keys.push(key(NewApiKey::device(*point, "bench")).await?);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let router = relais_http::router(app.clone(), relais_http::HttpConfig::default());
    // The server `relais serve` runs, with its connection limits.
    let limits = relais_http::server::ServerLimits::default();
    let server = tokio::spawn(relais_http::server::serve(listener, router, limits, std::future::pending()));

    // Announce every parcel (setup), one connection per locker.
    let per_task = |task: usize| share(options.parcels as usize, concurrency, task);
    let mut setup = tokio::task::JoinSet::new();
    for (task, (point, _)) in fixture.lockers.iter().enumerate() {
        let (point, key) = (*point, merchant_key.clone());
        let count = per_task(task);
        setup.spawn(async move {
            let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
            let mut parcels = Vec::with_capacity(count);
            for n in 0..count {
                let body = serde_json::json!({"point_id": point.to_string(), "parcel_number": parcel_number(task, n),
                    "recipient": {"name": "Camille Bench", "phone": recipient_phone(task, n)},
                    "dimensions_mm": {"length": 300, "width": 200, "height": 60}, "weight_g": 900});
                let response = client
                    .request("POST", "/v1/parcels", Some(&key), Some(&body.to_string()))
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status != 201 {
                    return Err(format!("announce: {} {}", response.status, response.body));
                }
                let json = response.json();
                parcels.push((
                    json["parcel"]["id"].as_str().unwrap_or_default().to_owned(),
                    json["pickup_code"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            Ok::<_, String>((task, parcels))
        });
    }
    let mut work = vec![Vec::new(); concurrency];
    while let Some(done) = setup.join_next().await {
        let (task, parcels) = done.map_err(|e| e.to_string())??;
        work[task] = parcels;
    }
    eprintln!("http: {} parcels announced over {concurrency} connections; timing deposit + pickup", options.parcels);

    // Timed: deposit then pickup for each parcel, each connection at its own locker.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (task, parcels) in work.into_iter().enumerate() {
        let point = fixture.lockers[task].0.to_string();
        let (carrier, device) = (carrier_key.clone(), device_keys[task].clone());
        tasks.spawn(async move {
            let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
            let mut latencies = Vec::with_capacity(parcels.len() * 2);
            for (id, code) in parcels {
                let t = Instant::now();
                let r = client
                    .request("POST", &format!("/v1/parcels/{id}/deposit"), Some(&carrier), None)
                    .await
                    .map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
                if r.status != 200 {
                    return Err(format!("deposit: {} {}", r.status, r.body));
                }
                let t = Instant::now();
                let body = format!(r#"{{"code":"{code}"}}"#);
                let r = client
                    .request("POST", &format!("/v1/points/{point}/pickups"), Some(&device), Some(&body))
                    .await
                    .map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
                if r.status != 200 {
                    return Err(format!("pickup: {} {}", r.status, r.body));
                }
            }
            Ok::<_, String>(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.map_err(|e| e.to_string())??);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let requests_per_s = latencies.len() as f64 / seconds;
    let (p50, p99) = (percentile_ms(&latencies, 0.50), percentile_ms(&latencies, 0.99));
    eprintln!(
        "http: {} deposit + pickup requests: {requests_per_s:.0} requests/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        latencies.len()
    );

    // Baseline: the HTTP stack alone, same number of requests and connections.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let count = per_task(task) * 2;
        tasks.spawn(async move {
            let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
            for _ in 0..count {
                client.request("GET", "/healthz", None, None).await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(count)
        });
    }
    let mut baseline_requests = 0;
    while let Some(done) = tasks.join_next().await {
        baseline_requests += done.map_err(|e| e.to_string())??;
    }
    let baseline_per_s = baseline_requests as f64 / started.elapsed().as_secs_f64();
    eprintln!("http: baseline GET /healthz: {baseline_per_s:.0} requests/s");
    server.abort();
    Ok(format!(
        "requests_per_s={requests_per_s:.0} p50_ms={p50:.3} p99_ms={p99:.3} baseline_requests_per_s={baseline_per_s:.0} ratio={:.2}",
        requests_per_s / baseline_per_s
    ))
}

/// `relais bench orders`: orders created over HTTP (`POST /v1/orders`, one parcel each, with their point
/// validated on the live index: exists, active, takes the parcel, has room) on the real server, each
/// connection ordering for the customers of its own locker. Baseline in the same run: the same number
/// of parcels announced one by one (`POST /v1/parcels`) on the same server and connections, the use case
/// an order wraps. Last line: `orders_per_s=<n> p50_ms=<x> p99_ms=<x> baseline_announces_per_s=<n>
/// ratio=<orders/announces>`.
pub async fn orders(options: HttpOptions) -> Result<String, String> {
    if options.parcels == 0 || options.concurrency == 0 {
        return Err("--orders and --concurrency must be at least 1".into());
    }
    let concurrency = options.concurrency.min(options.parcels) as usize;
    let database = Database::create(options.backend, options.database_url.as_deref(), "orders").await?;
    let measured = orders_on(database.store.clone(), &options, concurrency).await;
    database.cleanup().await;
    measured
}

async fn orders_on(store: Arc<dyn Store>, options: &HttpOptions, concurrency: usize) -> Result<String, String> {
    use crate::client::Client;
    // A network that does not reserve at announce: the lockers' room is decided at deposit, so the run
    // is not bounded by 50 doors a locker.
    let rules = NetworkRules { reservation_hours: 0, ..NetworkRules::default() };
    let fixture = fixture(store, concurrency, rules).await?;
    let app = fixture.app.clone();
    app.refresh_index().await.map_err(|e| e.to_string())?;
    let merchant_key = app
        .create_api_key(&Caller::system(), NewApiKey::merchant(fixture.merchant, "bench"))
        .await
        .map_err(|e| e.to_string())?
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let router = relais_http::router(app.clone(), relais_http::HttpConfig::default());
    let server = tokio::spawn(relais_http::server::serve(
        listener,
        router,
        relais_http::server::ServerLimits::default(),
        std::future::pending(),
    ));
    let per_task = |task: usize| share(options.parcels as usize, concurrency, task);

    // Timed, then the baseline: `kind` 0 posts orders, 1 announces parcels.
    let mut figures = Vec::new();
    for kind in 0..2 {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..concurrency {
            let (point, key, count) = (fixture.lockers[task].0.to_string(), merchant_key.clone(), per_task(task));
            tasks.spawn(async move {
                let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
                let mut latencies = Vec::with_capacity(count);
                for n in 0..count {
                    let number = parcel_number(task + kind * 100_000, n);
                    let (path, body) = if kind == 0 {
                        let body = serde_json::json!({
                            "reference": format!("BENCH-{task}-{n}"),
                            "customer": {"name": "Camille Bench", "email": format!("c{task}x{n}@example.org")},
                            "point_id": point, "shipping_price": {"amount_cents": 490, "currency": "EUR"},
                            "lines": [{"sku": "SKU-1", "name": "Lampe", "quantity": 1, "unit_price_cents": 3990}],
                            "parcels": [{"parcel_number": number,
                                "dimensions_mm": {"length": 300, "width": 200, "height": 60}, "weight_g": 900}]
                        });
                        ("/v1/orders", body)
                    } else {
                        let body = serde_json::json!({"point_id": point, "parcel_number": number,
                            "recipient": {"name": "Camille Bench", "email": format!("c{task}x{n}@example.org")},
                            "dimensions_mm": {"length": 300, "width": 200, "height": 60}, "weight_g": 900});
                        ("/v1/parcels", body)
                    };
                    let t = Instant::now();
                    let r = client
                        .request("POST", path, Some(&key), Some(&body.to_string()))
                        .await
                        .map_err(|e| e.to_string())?;
                    latencies.push(t.elapsed());
                    if r.status != 201 {
                        return Err(format!("{path}: {} {}", r.status, r.body));
                    }
                    if kind == 0 && r.json()["order"]["state"] != "announced" {
                        return Err(format!("an order was not announced to its point: {}", r.body));
                    }
                }
                Ok::<_, String>(latencies)
            });
        }
        let mut latencies = Vec::new();
        while let Some(done) = tasks.join_next().await {
            latencies.extend(done.map_err(|e| e.to_string())??);
        }
        let per_s = latencies.len() as f64 / started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let (p50, p99) = (percentile_ms(&latencies, 0.50), percentile_ms(&latencies, 0.99));
        let what = if kind == 0 { "POST /v1/orders" } else { "baseline POST /v1/parcels" };
        eprintln!(
            "orders: {} x {what} over {concurrency} connections: {per_s:.0}/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
            latencies.len()
        );
        figures.push((per_s, p50, p99));
    }
    server.abort();
    let ((orders_per_s, p50, p99), (announces_per_s, _, _)) = (figures[0], figures[1]);
    Ok(format!(
        "orders_per_s={orders_per_s:.0} p50_ms={p50:.3} p99_ms={p99:.3} baseline_announces_per_s={announces_per_s:.0} ratio={:.2}",
        orders_per_s / announces_per_s
    ))
}

/// What `relais bench tracking` measures.
pub struct TrackingOptions {
    pub backend: Backend,
    pub database_url: Option<String>,
    pub parcels: u32,
    pub concurrency: u32,
}

/// The answers the tracking bench reads: a third each of GLS's JSON (six events, times varied per
/// parcel), UPS's Track API JSON and DHL Express's XML (the documented answers of the tracking crate's
/// tests: seven and nine events).
fn tracking_answers(parcels: usize) -> Vec<(relais_tracking::Carrier, String)> {
    const UPS: &str = include_str!("../../tracking/tests/fixtures/ups_track.json");
    const DHL_EXPRESS: &str = include_str!("../../tracking/tests/fixtures/dhl_express_tracking.xml");
    const GLS_CODES: [&str; 6] = [
        "PREADVICE.NORMAL",
        "INITIAL.NORMAL",
        "INTRANSIT.NORMAL",
        "INWAREHOUSE.NORMAL",
        "INDELIVERY.NORMAL",
        "DELIVEREDPS.NORMAL",
    ];
    (0..parcels)
        .map(|n| match n % 3 {
            0 => {
                let events: Vec<serde_json::Value> = GLS_CODES
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(step, code)| {
                        let minutes = (n % 600) + step * 517;
                        let at = format!("2026-11-{:02}T{:02}:{:02}:00+0100", 20 + minutes / 1440, minutes / 60 % 24, minutes % 60);
                        serde_json::json!({"code": code, "eventDateTime": at, "description": code, "city": "Lyon", "postalCode": "69002", "country": "FR"})
                    })
                    .collect();
                let answer = serde_json::json!({"parcels": [{"requested": format!("ZX{n}"), "unitno": format!("ZX{n}"), "events": events}]});
                (relais_tracking::Carrier::Gls, answer.to_string())
            }
            1 => (relais_tracking::Carrier::Ups, UPS.to_owned()),
            _ => (relais_tracking::Carrier::DhlExpress, DHL_EXPRESS.to_owned()),
        })
        .collect()
}

/// `relais bench tracking`: carrier answers for `parcels` followed parcels read through the adapters and
/// stored (`App::ingest`: the parcel's known events read, the new ones stored once with its tracking
/// and the merchant's `parcel.tracking` message, one commit an answer), over `concurrency` tasks.
/// Baseline in the same run: the same answers parsed by the same tasks without storing them. Last line:
/// `tracking_events_per_s=<n> parse_only_events_per_s=<n> ratio=<stored/parse-only>`.
pub async fn tracking(options: TrackingOptions) -> Result<String, String> {
    if options.parcels == 0 || options.concurrency == 0 {
        return Err("--parcels and --concurrency must be at least 1".into());
    }
    let database = Database::create(options.backend, options.database_url.as_deref(), "tracking").await?;
    let measured = tracking_on(database.store.clone(), &options).await;
    database.cleanup().await;
    measured
}

async fn tracking_on(store: Arc<dyn Store>, options: &TrackingOptions) -> Result<String, String> {
    let concurrency = options.concurrency.min(options.parcels) as usize;
    let parcels = options.parcels as usize;
    let rules = NetworkRules { reservation_hours: 0, ..NetworkRules::default() };
    let fixture = fixture(store, concurrency, rules).await?;
    let app = fixture.app.clone();
    let merchant = Caller::merchant(fixture.merchant);
    let answers = Arc::new(tracking_answers(parcels));

    // Not timed: the parcels announced and followed, each at its answer's carrier.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let (app, merchant, answers) = (app.clone(), merchant.clone(), Arc::clone(&answers));
        let point = fixture.lockers[task].0;
        tasks.spawn(async move {
            let mut followed = Vec::new();
            for n in (task..parcels).step_by(concurrency) {
                let announce = AnnounceParcel {
                    merchant_id: None,
                    carrier_id: None,
                    point_id: point,
                    parcel_number: Some(parcel_number(task, n)),
                    recipient_name: "Camille Bench".into(),
                    recipient_phone: None,
                    recipient_email: Some(format!("c{n}@example.org")),
                    recipient_language: None,
                    length_mm: 300,
                    width_mm: 200,
                    height_mm: 60,
                    weight_g: 900,
                };
                let parcel = app.announce_parcel(&merchant, announce).await.map_err(|e| e.to_string())?.parcel;
                let carrier = answers[n].0.as_str();
                let follow = relais_app::tracking::FollowRequest {
                    carrier: carrier.to_owned(),
                    tracking_number: format!("T{n:09}"),
                    ..Default::default()
                };
                let tracking = app.track_parcel(&merchant, parcel.id, follow).await.map_err(|e| e.to_string())?;
                followed.push((n, tracking));
            }
            Ok::<_, String>(followed)
        });
    }
    let mut followed = Vec::with_capacity(parcels);
    while let Some(done) = tasks.join_next().await {
        followed.push(done.map_err(|e| e.to_string())??);
    }
    eprintln!(
        "tracking: {parcels} parcels announced and followed in {:.1} s (not timed)",
        started.elapsed().as_secs_f64()
    );

    // Timed: each answer read and its new events stored.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for share in followed {
        let (app, answers) = (app.clone(), Arc::clone(&answers));
        tasks.spawn(async move {
            let mut stored = 0usize;
            for (n, tracking) in share {
                let ingested = app
                    .ingest(tracking, Ok(answers[n].1.clone().into_bytes()), false)
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|reason| format!("answer {n}: {reason}"))?;
                stored += ingested.new_events;
            }
            Ok::<_, String>(stored)
        });
    }
    let mut stored = 0usize;
    while let Some(done) = tasks.join_next().await {
        stored += done.map_err(|e| e.to_string())??;
    }
    let stored_seconds = started.elapsed().as_secs_f64();
    let stored_per_s = stored as f64 / stored_seconds;
    eprintln!(
        "tracking: {stored} events of {parcels} answers stored in {stored_seconds:.1} s: {stored_per_s:.0} events/s"
    );

    // Baseline: the same answers parsed by as many tasks, nothing stored.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let answers = Arc::clone(&answers);
        tasks.spawn(async move {
            let mut parsed = 0usize;
            for n in (task..parcels).step_by(concurrency) {
                let (carrier, answer) = &answers[n];
                parsed += relais_tracking::parse(*carrier, answer.as_bytes()).map_err(|e| e.to_string())?.len();
                if n % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            Ok::<_, String>(parsed)
        });
    }
    let mut parsed = 0usize;
    while let Some(done) = tasks.join_next().await {
        parsed += done.map_err(|e| e.to_string())??;
    }
    let parse_per_s = parsed as f64 / started.elapsed().as_secs_f64();
    eprintln!("tracking: baseline, the same {parsed} events parsed only: {parse_per_s:.0} events/s");
    if parsed != stored {
        return Err(format!("{stored} events stored but {parsed} parsed: an event was lost or stored twice"));
    }
    Ok(format!(
        "tracking_events_per_s={stored_per_s:.0} parse_only_events_per_s={parse_per_s:.0} ratio={:.3}",
        stored_per_s / parse_per_s
    ))
}

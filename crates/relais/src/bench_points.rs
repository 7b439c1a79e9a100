//! `relais bench search` and `relais bench import`: the pickup-point registry at the scale of a
//! European network (200,000 points).
//!
//! The network: the real La Poste points (the full 2016 file when `../shared/data` is there, else the
//! demo extract shipped in the repository), plus generated points around 40 European cities (80 %,
//! spread normally with a 12 km standard deviation, more points for bigger cities) and uniformly over
//! Europe's land box (20 %). A seeded generator makes every run the same network. Kinds: 35 % lockers
//! (50 doors in four sizes), 50 % counters, 10 % post offices, 5 % stores; hours from seven real-world
//! patterns; 5 % have a closure of one to three weeks in the next two months; 3 % are in maintenance;
//! free capacity drawn at random with 12 % of points full.
//!
//! `bench search` runs nearest-10 queries (open on the arrival day and half the hold window, parcel
//! fits, free capacity, 20 km) on the in-process index and, in the same run, the same queries on
//! PostgreSQL + PostGIS (KNN `ORDER BY geom <-> origin` with the same filters over the same data), and
//! HTTP searches on loopback against `GET /healthz`. `bench import` imports the network as a canonical
//! CSV file, then a changed version of it (the daily diff), against parsing the file alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relais_app::points::{ImportLimits, ImportRequest};
use relais_app::ports::{Clock, SeededRandom};
use relais_app::{App, Caller, Secrets, Store, SystemClock};
use relais_domain::ids::Id;
use relais_domain::network::NetworkRules;
use relais_domain::point::PickupPoint;
use relais_domain::value::{Coordinates, Dimensions, SizeClass, Weight};
use relais_registry::formats::{Encoding, Format, canonical, timezone_of};
use relais_registry::index::{Capacity, Filter, Indexed, PointIndex};
use relais_registry::record::{Compartments, NewCompartment, NewPoint, PointValidator};

const SHARED_LAPOSTE: &str = "../shared/data/pickup-points/laposte_points_de_contact_2016.csv";
const DEMO_LAPOSTE: &str = include_str!("../demo/laposte_points_rhone_ain_loire.csv");
const SEED: u64 = 20_261_127;
/// Days a parcel waits (the default 72 h hold window).
const HOLD_DAYS: u32 = 3;
const RADIUS_M: f64 = 20_000.0;
const LIMIT: usize = 10;

/// City centres (latitude, longitude, country, weight ~ metropolitan population in millions).
const CITIES: [(f64, f64, &str, f64); 40] = [
    (48.8566, 2.3522, "FR", 11.0),
    (45.7640, 4.8357, "FR", 2.3),
    (43.2965, 5.3698, "FR", 1.9),
    (43.6047, 1.4442, "FR", 1.4),
    (44.8378, -0.5792, "FR", 1.3),
    (50.6292, 3.0573, "FR", 1.2),
    (47.2184, -1.5536, "FR", 1.0),
    (48.5734, 7.7521, "FR", 0.8),
    (52.5200, 13.4050, "DE", 6.1),
    (53.5511, 9.9937, "DE", 3.3),
    (48.1351, 11.5820, "DE", 2.9),
    (50.9375, 6.9603, "DE", 2.1),
    (50.1109, 8.6821, "DE", 2.3),
    (40.4168, -3.7038, "ES", 6.7),
    (41.3874, 2.1686, "ES", 5.6),
    (39.4699, -0.3763, "ES", 1.6),
    (37.3891, -5.9845, "ES", 1.5),
    (41.9028, 12.4964, "IT", 4.3),
    (45.4642, 9.1900, "IT", 4.3),
    (40.8518, 14.2681, "IT", 3.1),
    (45.0703, 7.6869, "IT", 1.7),
    (52.2297, 21.0122, "PL", 3.1),
    (50.0647, 19.9450, "PL", 1.5),
    (51.1079, 17.0385, "PL", 1.2),
    (54.3520, 18.6466, "PL", 1.1),
    (52.3676, 4.9041, "NL", 2.5),
    (51.9244, 4.4777, "NL", 1.8),
    (50.8503, 4.3517, "BE", 2.1),
    (51.2194, 4.4025, "BE", 1.1),
    (49.6116, 6.1319, "LU", 0.6),
    (38.7223, -9.1393, "PT", 2.9),
    (41.1579, -8.6291, "PT", 1.7),
    (48.2082, 16.3738, "AT", 2.0),
    (50.0755, 14.4378, "CZ", 2.7),
    (47.3769, 8.5417, "CH", 1.4),
    (46.2044, 6.1432, "CH", 0.6),
    (51.5072, -0.1276, "GB", 9.5),
    (53.4808, -2.2426, "GB", 2.8),
    (53.3498, -6.2603, "IE", 1.4),
    (43.7102, 7.2620, "FR", 1.0),
];
const HOURS: [&str; 7] = [
    "24/7",
    "Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH off",
    "Mo-Sa 08:00-20:00; PH off",
    "Tu-Sa 09:30-19:00",
    "Mo-Su 07:00-22:00",
    "Mo-Fr 08:30-18:30",
    "Mo-Sa 10:00-19:30; Su 10:00-13:00",
];
const LOCKER_LAYOUT: [(&str, u32); 4] = [("A", 20), ("B", 16), ("C", 10), ("D", 4)];

/// The bench network as point records, deterministic for a given size.
pub fn network(points: usize) -> (Vec<NewPoint>, &'static str) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let (text, source) = match std::fs::read_to_string(SHARED_LAPOSTE) {
        Ok(text) => (text, "La Poste 2016 (full file)"),
        Err(_) => (DEMO_LAPOSTE.to_owned(), "La Poste 2016 (demo extract)"),
    };
    let real = Format::LaPoste.read(text.as_bytes(), Encoding::Utf8).map(|p| p.rows).unwrap_or_default();
    let mut out: Vec<NewPoint> = real.into_iter().map(|r| r.point).take(points).collect();
    for (i, point) in out.iter_mut().enumerate() {
        // La Poste's file has no hours: counters get shop hours, in turn.
        point.opening_hours = Some(HOURS[1 + i % (HOURS.len() - 1)].to_owned());
    }
    let total_weight: f64 = CITIES.iter().map(|c| c.3).sum();
    let today = SystemClock.now().date_naive();
    while out.len() < points {
        let n = out.len();
        let (lat, lon, country) = if rng.random_range(0.0..1.0) < 0.8 {
            let mut pick = rng.random_range(0.0..total_weight);
            let city = CITIES.iter().find(|c| {
                pick -= c.3;
                pick <= 0.0
            });
            let (clat, clon, country, _) = *city.unwrap_or(&CITIES[0]);
            let (dy, dx) = gaussian_pair(&mut rng);
            let km = 12.0;
            (clat + dy * km / 111.2, clon + dx * km / (111.2 * clat.to_radians().cos()), country)
        } else {
            let (lat, lon) = (rng.random_range(36.5..59.0), rng.random_range(-9.0..24.0));
            let nearest = CITIES.iter().min_by(|a, b| {
                ((a.0 - lat).powi(2) + (a.1 - lon).powi(2)).total_cmp(&((b.0 - lat).powi(2) + (b.1 - lon).powi(2)))
            });
            (lat, lon, nearest.map_or("FR", |c| c.2))
        };
        let roll = rng.random_range(0..100);
        let (kind, hours) = match roll {
            0..35 => ("locker", if rng.random_range(0..10) < 8 { HOURS[0] } else { HOURS[4] }),
            35..85 => ("counter", HOURS[1 + rng.random_range(0..HOURS.len() - 1)]),
            85..95 => ("post_office", HOURS[1 + rng.random_range(0..2)]),
            _ => ("store", HOURS[6]),
        };
        let closures = if rng.random_range(0..100) < 5 {
            let first = today + chrono::Duration::days(rng.random_range(0..60));
            let last = first + chrono::Duration::days(rng.random_range(6..21));
            vec![(first.to_string(), last.to_string())]
        } else {
            Vec::new()
        };
        let compartments = if kind == "locker" {
            LOCKER_LAYOUT
                .iter()
                .flat_map(|(size, count)| {
                    (1..=*count).map(move |k| NewCompartment { label: format!("{size}{k:02}"), size: (*size).into() })
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(NewPoint {
            external_id: format!("G{n:07}"),
            kind: kind.into(),
            name: format!("Point {n}"),
            address_line1: format!("{} rue du Commerce", 1 + n % 200),
            postcode: format!("{:05}", 10_000 + n % 80_000),
            city: "Ville".into(),
            country: country.into(),
            latitude: lat.clamp(-89.0, 89.0),
            longitude: lon,
            timezone: timezone_of(country),
            status: Some(if rng.random_range(0..100) < 3 { "maintenance" } else { "active" }.into()),
            shelf_capacity: (kind != "locker").then(|| rng.random_range(20..60)),
            opening_hours: Some(hours.into()),
            closures,
            services: Some("collect,send,return".into()),
            compartments,
            ..NewPoint::default()
        });
    }
    (out, source)
}

/// Two independent standard normal numbers (Box-Muller).
fn gaussian_pair(rng: &mut StdRng) -> (f64, f64) {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = 2.0 * std::f64::consts::PI * u2;
    (r * theta.cos(), r * theta.sin())
}

/// The index entries of the network: validated points with random free capacity (12 % full).
pub(crate) fn indexed(records: &[NewPoint], rng: &mut StdRng) -> Result<Vec<Indexed>, String> {
    let mut validator = PointValidator::new();
    let now = SystemClock.now();
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let id = Id::from_parts(1, (i as u128).to_be_bytes()[6..].try_into().unwrap_or([0; 10]));
            let point = validator
                .validate(record, id, now, "bench", Compartments::Optional)
                .map_err(|e| format!("generated point {}: {e}", record.external_id))?;
            let full = rng.random_range(0..100) < 12;
            let capacity = if point.kind.has_compartments() {
                let total = LOCKER_LAYOUT.map(|(_, n)| n);
                let free = total.map(|n| if full { 0 } else { rng.random_range(0..=n) });
                Capacity { free, total, shelf_free: 0 }
            } else {
                let shelf_free = if full { 0 } else { rng.random_range(1..=point.shelf_capacity) };
                Capacity { shelf_free, ..Capacity::default() }
            };
            Ok(Indexed { point, capacity, hold_days: HOLD_DAYS })
        })
        .collect()
}

/// One checkout query: near a point of the network, a parcel, an arrival day.
#[derive(Clone)]
struct Query {
    origin: Coordinates,
    dimensions: Dimensions,
    weight: Weight,
    arrival: NaiveDate,
}

fn queries(points: &[Indexed], count: usize, first_day: NaiveDate, rng: &mut StdRng) -> Vec<Query> {
    const PARCELS: [(i64, i64, i64, i64); 4] =
        [(300, 200, 50, 800), (350, 250, 150, 2_500), (500, 350, 300, 8_000), (600, 450, 450, 18_000)];
    (0..count)
        .map(|_| {
            let base = points[rng.random_range(0..points.len())].point.coordinates;
            let (dy, dx) = gaussian_pair(rng);
            let lat = (base.latitude() + dy * 2.0 / 111.2).clamp(-89.0, 89.0);
            let lon = base.longitude() + dx * 2.0 / 111.2;
            let (l, w, h, g) = PARCELS[rng.random_range(0..PARCELS.len())];
            Query {
                origin: Coordinates::parse(lat, lon.clamp(-180.0, 180.0)).unwrap_or(base),
                dimensions: Dimensions::from_mm(l, w, h).unwrap_or_else(|_| unreachable!("valid constant")),
                weight: Weight::from_grams(g).unwrap_or_else(|_| unreachable!("valid constant")),
                arrival: first_day + chrono::Duration::days(rng.random_range(1..11)),
            }
        })
        .collect()
}

fn filter(q: &Query) -> Filter {
    Filter {
        parcel: Some((q.dimensions, q.weight)),
        arrival: Some(q.arrival),
        open_share_min: Some(0.5),
        free_capacity: true,
        ..Filter::default()
    }
}

fn percentile_us(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1e6
}

pub struct SearchOptions {
    pub points: usize,
    pub queries: usize,
    pub postgis_url: Option<String>,
    pub postgis_queries: usize,
    pub http_requests: usize,
}

pub async fn search(options: SearchOptions) -> Result<String, String> {
    if options.points == 0 || options.queries == 0 {
        return Err("--points and --queries must be at least 1".into());
    }
    let mut rng = StdRng::seed_from_u64(SEED + 1);
    let started = Instant::now();
    let (records, source) = network(options.points);
    let entries = indexed(&records, &mut rng)?;
    eprintln!("search: {} points ({source} + generated) in {:.1} s", entries.len(), started.elapsed().as_secs_f64());
    let first_day = SystemClock.now().date_naive() - chrono::Duration::days(1);
    let points: Vec<(PickupPoint, Capacity)> = entries.iter().map(|e| (e.point.clone(), e.capacity)).collect();
    let queries = queries(&entries, options.queries, first_day, &mut rng);
    let started = Instant::now();
    let index = PointIndex::build(entries, first_day);
    eprintln!("search: index built in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
    // PostGIS gets the same open days the index computed (hours, holidays and closures per day).
    let points: Vec<(PickupPoint, Capacity, u128)> = points
        .into_iter()
        .map(|(p, c)| {
            let open_days = index.open_days(p.id).unwrap_or(u128::MAX);
            (p, c, open_days)
        })
        .collect();

    // In process: every query, timed one by one.
    let mut latencies = Vec::with_capacity(queries.len());
    let mut results = Vec::with_capacity(queries.len());
    let mut found = 0usize;
    for q in &queries {
        let f = filter(q);
        let t = Instant::now();
        let hits = index.nearest(q.origin, RADIUS_M, LIMIT, &f);
        latencies.push(t.elapsed());
        found += hits.len();
        results.push(hits.iter().map(|h| h.point.id).collect::<Vec<_>>());
    }
    latencies.sort_unstable();
    let (p50, p99) = (percentile_us(&latencies, 0.5), percentile_us(&latencies, 0.99));
    eprintln!(
        "search: in process: {} queries, p50 {p50:.1} us, p99 {p99:.1} us, max {:.1} us, {:.1} results per query",
        queries.len(),
        percentile_us(&latencies, 1.0),
        found as f64 / queries.len() as f64
    );

    let http_line = http_search(index, &queries, options.http_requests).await?;
    eprintln!("{http_line}");

    let Some(url) = options.postgis_url else {
        return Ok(format!("search_p50_us={p50:.1} search_p99_us={p99:.1} postgis_p50_us=NA speedup=NA"));
    };
    let (postgis_p50, agreement) =
        postgis(&url, &points, first_day, &queries[..options.postgis_queries.min(queries.len())], &results).await?;
    eprintln!(
        "search: PostGIS: p50 {postgis_p50:.1} us; same ten points, in the same order, for {agreement:.1} % of queries"
    );
    Ok(format!(
        "search_p50_us={p50:.1} search_p99_us={p99:.1} postgis_p50_us={postgis_p50:.1} speedup={:.1}",
        postgis_p50 / p50
    ))
}

/// HTTP searches over loopback (32 connections) against `GET /healthz` on the same server.
async fn http_search(index: PointIndex, queries: &[Query], requests: usize) -> Result<String, String> {
    use crate::client::Client;
    if requests == 0 {
        return Ok("search: HTTP skipped".into());
    }
    let path = std::env::temp_dir().join(format!("relais-bench-search-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store: Arc<dyn Store> = Arc::new(relais_store::SqliteStore::open(&path).map_err(|e| e.to_string())?);
    let app = App::new(store, Arc::new(SystemClock), Arc::new(SeededRandom::new(SEED)), Secrets::new([5; 32]));
    app.install_index(index);
    let merchant = app.create_merchant(&Caller::system(), "Bench").await.map_err(|e| e.to_string())?;
    let key = app
        .create_api_key(&Caller::system(), relais_app::keys::NewApiKey::merchant(merchant.id, "bench"))
        .await
        .map_err(|e| e.to_string())?
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let router = relais_http::router(app, relais_http::HttpConfig::default());
    // The server `relais serve` runs, with its connection limits.
    let limits = relais_http::server::ServerLimits::default();
    let server = tokio::spawn(relais_http::server::serve(listener, router, limits, std::future::pending()));
    let paths: Arc<Vec<String>> = Arc::new(
        queries
            .iter()
            .map(|q| {
                let [l, w, h] = [q.dimensions.length_mm(), q.dimensions.width_mm(), q.dimensions.height_mm()];
                format!(
                    "/v1/points/search?lat={:.5}&lon={:.5}&radius_m={RADIUS_M}&length_mm={l}&width_mm={w}&height_mm={h}&weight_g={}&arrival={}&free_capacity=true",
                    q.origin.latitude(),
                    q.origin.longitude(),
                    q.weight.grams(),
                    q.arrival
                )
            })
            .collect(),
    );
    let connections = 32;
    let run = |search: bool| {
        let (paths, key) = (Arc::clone(&paths), key.clone());
        async move {
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for c in 0..connections {
                let (paths, key) = (Arc::clone(&paths), key.clone());
                tasks.spawn(async move {
                    let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
                    let mut latencies = Vec::new();
                    for n in (c..requests).step_by(connections) {
                        let path = if search { paths[n % paths.len()].as_str() } else { "/healthz" };
                        let t = Instant::now();
                        let r = client.request("GET", path, Some(&key), None).await.map_err(|e| e.to_string())?;
                        latencies.push(t.elapsed());
                        if r.status != 200 {
                            return Err(format!("GET {path}: {} {}", r.status, r.body));
                        }
                    }
                    Ok::<_, String>(latencies)
                });
            }
            let mut latencies = Vec::new();
            while let Some(done) = tasks.join_next().await {
                latencies.extend(done.map_err(|e| e.to_string())??);
            }
            latencies.sort_unstable();
            Ok::<_, String>((
                latencies.len() as f64 / started.elapsed().as_secs_f64(),
                percentile_us(&latencies, 0.99) / 1e3,
            ))
        }
    };
    let (search_per_s, search_p99_ms) = run(true).await?;
    let (healthz_per_s, _) = run(false).await?;
    server.abort();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(format!(
        "http_search_requests_per_s={search_per_s:.0} http_search_p99_ms={search_p99_ms:.2} baseline_healthz_requests_per_s={healthz_per_s:.0} ratio={:.2}",
        search_per_s / healthz_per_s
    ))
}

/// The same queries on PostGIS: loads the points into `relais_bench_search.points` (created anew),
/// then times each query on one connection with a prepared statement. Returns the p50 in microseconds
/// and the share of queries whose ten points are the same as in process.
async fn postgis(
    url: &str,
    points: &[(PickupPoint, Capacity, u128)],
    first_day: NaiveDate,
    queries: &[Query],
    in_process: &[Vec<relais_domain::ids::PointId>],
) -> Result<(f64, f64), String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    client.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis").await.map_err(|e| {
        format!("cannot create the postgis extension in {url} ({e}); install postgresql-15-postgis-3 and run CREATE EXTENSION postgis as a superuser once")
    })?;
    client
        .batch_execute(
            "DROP SCHEMA IF EXISTS relais_bench_search CASCADE;
             CREATE SCHEMA relais_bench_search;
             CREATE TABLE relais_bench_search.points (
                 n INTEGER PRIMARY KEY, geom GEOGRAPHY(POINT, 4326) NOT NULL, accepts BOOLEAN NOT NULL,
                 has_doors BOOLEAN NOT NULL, weight_max INTEGER NOT NULL, dims_sum_max BIGINT NOT NULL,
                 total_from INTEGER[] NOT NULL, free_from INTEGER[] NOT NULL, shelf_free INTEGER NOT NULL,
                 open_days BIT(128) NOT NULL)",
        )
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let sink = client.copy_in("COPY relais_bench_search.points FROM STDIN").await.map_err(|e| e.to_string())?;
    let mut text = String::with_capacity(points.len() * 200);
    for (n, (point, capacity, mask)) in points.iter().enumerate() {
        let suffix = |values: [u32; 4]| {
            let mut sums = [0u32; 4];
            for i in (0..4).rev() {
                sums[i] = values[i] + if i < 3 { sums[i + 1] } else { 0 };
            }
            format!("{{{},{},{},{}}}", sums[0], sums[1], sums[2], sums[3])
        };
        let bits: String = (0..128).map(|d| if mask & (1u128 << d) != 0 { '1' } else { '0' }).collect();
        text.push_str(&format!(
            "{n}\tSRID=4326;POINT({} {})\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{bits}\n",
            point.coordinates.longitude(),
            point.coordinates.latitude(),
            point.accepts_parcels(),
            point.kind.has_compartments(),
            point.weight_max.grams(),
            point.dimensions_sum_mm_max,
            suffix(capacity.total),
            suffix(capacity.free),
            capacity.shelf_free,
        ));
    }
    use futures_util::SinkExt;
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::from(text)).await.map_err(|e| e.to_string())?;
    sink.as_mut().finish().await.map_err(|e| e.to_string())?;
    client
        .batch_execute(
            "CREATE INDEX points_geom ON relais_bench_search.points USING GIST (geom);
             ANALYZE relais_bench_search.points",
        )
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "search: PostGIS: {} points loaded and indexed in {:.1} s",
        points.len(),
        started.elapsed().as_secs_f64()
    );
    let statement = client
        .prepare(
            "SELECT n FROM relais_bench_search.points
             WHERE accepts
               AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3, false)
               AND weight_max >= $4
               AND CASE WHEN has_doors THEN total_from[$5] > 0 AND free_from[$5] > 0
                        ELSE dims_sum_max >= $6 AND shelf_free > 0 END
               AND substring(open_days FROM $7 FOR 1) = B'1'
               AND bit_count(substring(open_days FROM $7 FOR $8)) >= $9
             ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography
             LIMIT 10",
        )
        .await
        .map_err(|e| e.to_string())?;
    let ids: Vec<relais_domain::ids::PointId> = points.iter().map(|(p, _, _)| p.id).collect();
    let mut latencies = Vec::with_capacity(queries.len());
    let mut same = 0usize;
    for (i, q) in queries.iter().enumerate() {
        // Doors from the smallest fitting class (1-based for SQL arrays); 5 = no door fits.
        let class = SizeClass::smallest_fitting(q.dimensions, q.weight).map_or(5, |c| c as i32 + 1);
        let offset = (q.arrival - first_day).num_days() as i32 + 1;
        let need = (f64::from(HOLD_DAYS) * 0.5 - 1e-9).ceil() as i64;
        let args: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
            &q.origin.longitude(),
            &q.origin.latitude(),
            &RADIUS_M,
            &(q.weight.grams() as i32),
            &class,
            &i64::from(q.dimensions.sum_mm()),
            &offset,
            &(HOLD_DAYS as i32),
            &need,
        ];
        let t = Instant::now();
        let rows = client.query(&statement, &args).await.map_err(|e| e.to_string())?;
        latencies.push(t.elapsed());
        let got: Vec<_> = rows.iter().map(|r| ids[r.get::<_, i32>(0) as usize]).collect();
        same += usize::from(got == in_process[i]);
    }
    latencies.sort_unstable();
    client.batch_execute("DROP SCHEMA relais_bench_search CASCADE").await.map_err(|e| e.to_string())?;
    Ok((percentile_us(&latencies, 0.5), same as f64 * 100.0 / queries.len().max(1) as f64))
}

pub struct ImportOptions {
    pub points: usize,
}

/// Imports the network as a canonical CSV file into a fresh SQLite database, then a changed version
/// of it; the baseline is reading (parsing) the same file alone.
pub async fn import(options: ImportOptions) -> Result<String, String> {
    let (records, source) = network(options.points);
    let csv_bytes = |records: &[NewPoint]| -> Result<Vec<u8>, String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(canonical::COLUMNS).map_err(|e| e.to_string())?;
        for record in records {
            writer.write_record(canonical::csv_row(record)).map_err(|e| e.to_string())?;
        }
        writer.into_inner().map_err(|e| e.to_string())
    };
    let first = csv_bytes(&records)?;
    // The next day's file: 2 % renamed, 1 % moved ~200 m, 1 % gone, 0.5 % new.
    let mut rng = StdRng::seed_from_u64(SEED + 2);
    let mut next: Vec<NewPoint> = Vec::with_capacity(records.len());
    for record in &records {
        let roll = rng.random_range(0..1000);
        let mut record = record.clone();
        match roll {
            0..20 => record.name.push_str(" (nouveau gérant)"),
            20..30 => record.latitude += 0.0018,
            30..40 => continue,
            _ => {}
        }
        next.push(record);
    }
    let added = records.len() / 200;
    let (extra, _) = network(records.len() + added);
    next.extend(extra.into_iter().skip(records.len()).map(|mut p| {
        p.external_id = format!("N{}", p.external_id);
        p
    }));
    let second = csv_bytes(&next)?;
    eprintln!("import: {} points ({source} + generated), file of {:.1} MB", records.len(), first.len() as f64 / 1e6);

    let started = Instant::now();
    let parsed = Format::Csv.read(&first, Encoding::Utf8).map_err(|e| e.to_string())?;
    let parse_s = started.elapsed().as_secs_f64();
    if !parsed.errors.is_empty() {
        return Err(format!("the generated file has bad rows: {}", parsed.errors[0]));
    }

    let path = std::env::temp_dir().join(format!("relais-bench-import-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store: Arc<dyn Store> = Arc::new(relais_store::SqliteStore::open(&path).map_err(|e| e.to_string())?);
    let app = App::new(store, Arc::new(SystemClock), Arc::new(SeededRandom::new(SEED)), Secrets::new([5; 32]));
    let network = app
        .create_network(&Caller::system(), "Bench import", NetworkRules::default())
        .await
        .map_err(|e| e.to_string())?;
    let run = |bytes: Vec<u8>, name: &str| ImportRequest {
        network_id: network.id,
        format: Format::Csv,
        encoding: Encoding::Utf8,
        source: name.to_owned(),
        bytes,
        dry_run: false,
        limits: ImportLimits::default(),
        progress: None,
    };
    let started = Instant::now();
    let outcome = app.import_points(&Caller::system(), run(first, "day1.csv")).await.map_err(|e| e.to_string())?;
    let import_s = started.elapsed().as_secs_f64();
    if let Some(reason) = outcome.refusal {
        return Err(format!("first import refused: {reason}"));
    }
    eprintln!("import: first import (every point added, index rebuilt): {import_s:.2} s, {:?}", outcome.record.changes);
    let started = Instant::now();
    let outcome = app.import_points(&Caller::system(), run(second, "day2.csv")).await.map_err(|e| e.to_string())?;
    let diff_s = started.elapsed().as_secs_f64();
    if let Some(reason) = outcome.refusal {
        return Err(format!("second import refused: {reason}"));
    }
    let c = outcome.record.changes;
    eprintln!(
        "import: daily diff: {diff_s:.2} s (added {}, changed {}, moved {}, removed {}, unchanged {})",
        c[0], c[1], c[2], c[5], outcome.record.unchanged
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(format!(
        "import_points={} import_s={import_s:.2} diff_import_s={diff_s:.2} parse_baseline_s={parse_s:.2} ratio={:.2}",
        records.len(),
        parse_s / diff_s
    ))
}

//! `relais bench console`: the console's heaviest pages on the network of `relais bench search`
//! (200,000 points by default), timed through a real server on loopback with a signed-in session: the
//! point list (all, filtered by kind and occupancy, by words), the KPI dashboard over 30 days, and the
//! map's points (a view of Europe, grouped; a view of a city, one by one). Each
//! is printed beside its baseline measured in the same run: the same work without the page (the
//! index scan with the same filter; `App::kpis` alone), as a ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use relais_app::kpis::KpiQuery;
use relais_app::ports::SystemClock;
use relais_app::{App, Caller, Clock, Secrets, Store};
use relais_domain::console::ConsoleRole;
use relais_domain::point::PointKind;
use relais_registry::index::PointIndex;

use crate::bench_points::{indexed, network};
use crate::client::Client;

pub struct ConsoleOptions {
    pub points: usize,
    pub requests: usize,
}

fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// `requests` runs of `f`, sorted.
async fn timed<F, Fut>(requests: usize, mut f: F) -> Result<Vec<Duration>, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        f().await?;
        latencies.push(t.elapsed());
    }
    latencies.sort_unstable();
    Ok(latencies)
}

pub async fn console(options: ConsoleOptions) -> Result<String, String> {
    if options.points == 0 || options.requests == 0 {
        return Err("--points and --requests must be at least 1".into());
    }
    let mut rng = StdRng::seed_from_u64(20_261_207);
    let started = Instant::now();
    let (records, source) = network(options.points);
    let entries = indexed(&records, &mut rng)?;
    let first_day = SystemClock.now().date_naive() - chrono::Duration::days(1);
    let index = PointIndex::build(entries, first_day);
    eprintln!("console: {} points ({source} + generated) in {:.1} s", index.len(), started.elapsed().as_secs_f64());

    let path = std::env::temp_dir().join(format!("relais-bench-console-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store: Arc<dyn Store> = Arc::new(relais_store::SqliteStore::open(&path).map_err(|e| e.to_string())?);
    let random = Arc::new(relais_app::ports::SeededRandom::new(7));
    let app = App::new(store, Arc::new(SystemClock), random, Secrets::new([7; 32]));
    app.install_index(index);
    let system = Caller::system();
    let password = "bench console password";
    app.create_console_account(&system, "bench@example.org", "Bench", ConsoleRole::ReadOnly, None, password)
        .await
        .map_err(|e| e.to_string())?;
    let session = app.sign_in("bench@example.org", password).await.map_err(|e| e.to_string())?;
    let cookie = format!("{}={}", relais_http::console::COOKIE_NAME, session.token);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let router = relais_http::router(app.clone(), relais_http::HttpConfig::default());
    let limits = relais_http::server::ServerLimits::default();
    let server = tokio::spawn(relais_http::server::serve(listener, router, limits, std::future::pending()));
    let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;

    let today = SystemClock.now().date_naive();
    let first = today - chrono::Duration::days(29);
    let pages = [
        ("points_all", "/console/points?lang=en".to_owned()),
        ("points_lockers_80", "/console/points?lang=en&kind=locker&occupancy_min=80".to_owned()),
        ("points_words", "/console/points?lang=en&q=paris".to_owned()),
        ("kpis_30_days", format!("/console/kpis?lang=en&from={first}&to={today}")),
        ("map_europe", "/console/map/points?lang=en&bbox=-10,35,30,60".to_owned()),
        ("map_city", "/console/map/points?lang=en&bbox=2.25,48.82,2.42,48.9".to_owned()),
    ];
    let mut figures = Vec::new();
    for (name, page) in &pages {
        let mut latencies = Vec::with_capacity(options.requests);
        for _ in 0..options.requests {
            let t = Instant::now();
            let r = client.get_with(page, &[("cookie", &cookie)]).await.map_err(|e| e.to_string())?;
            latencies.push(t.elapsed());
            if r.status != 200 {
                return Err(format!("GET {page}: {} {}", r.status, r.body.chars().take(300).collect::<String>()));
            }
        }
        latencies.sort_unstable();
        // The same work without the page: the index scanned with the filter, or the KPIs computed.
        let baseline = match *name {
            "kpis_30_days" => {
                let query = KpiQuery { first, last: today, point_id: None, network_id: None, nps_by_day: true };
                timed(options.requests, || {
                    let (app, system) = (app.clone(), system.clone());
                    async move { app.kpis(&system, query).await.map(drop).map_err(|e| e.to_string()) }
                })
                .await?
            }
            _ => {
                let index = app.point_index();
                timed(options.requests, || {
                    let index = Arc::clone(&index);
                    let name = *name;
                    async move {
                        let kept = index
                            .all()
                            .filter(|(p, c)| match name {
                                "points_lockers_80" => {
                                    let total: u32 = c.total.iter().sum();
                                    let free: u32 = c.free.iter().sum();
                                    p.kind == PointKind::Locker && total > 0 && (total - free) * 5 >= total * 4
                                }
                                "points_words" => p.address.city.to_lowercase().contains("paris"),
                                "map_europe" | "map_city" => {
                                    let (w, s, e, n) = if name == "map_europe" {
                                        (-10.0, 35.0, 30.0, 60.0)
                                    } else {
                                        (2.25, 48.82, 2.42, 48.9)
                                    };
                                    let (lat, lon) = (p.coordinates.latitude(), p.coordinates.longitude());
                                    (s..=n).contains(&lat) && (w..=e).contains(&lon)
                                }
                                _ => true,
                            })
                            .count();
                        std::hint::black_box(kept);
                        Ok(())
                    }
                })
                .await?
            }
        };
        let (p50, p99, base) =
            (percentile_ms(&latencies, 0.5), percentile_ms(&latencies, 0.99), percentile_ms(&baseline, 0.5));
        let line = format!(
            "console: {name}: p50 {p50:.1} ms, p99 {p99:.1} ms; baseline ({}) p50 {base:.1} ms; ratio {:.2}",
            if *name == "kpis_30_days" { "App::kpis alone" } else { "the index scanned" },
            p50 / base.max(1e-3)
        );
        eprintln!("{line}");
        let ratio = p50 / base.max(1e-3);
        figures.push(format!(
            "{name}_p50_ms={p50:.3} {name}_p99_ms={p99:.3} {name}_baseline_ms={base:.3} {name}_ratio={ratio:.2}"
        ));
    }
    server.abort();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(figures.join(" "))
}

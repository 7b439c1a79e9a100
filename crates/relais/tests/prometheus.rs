//! The Grafana dashboard in `deploy/` against a real Prometheus scraping a real relais: `relais serve
//! --demo` with a cost model, parcels through its lockers (`relais locker-sim`), Debian's `prometheus`
//! scraping `/metrics` every second, then every query of every panel of
//! `deploy/grafana/dashboards/relais.json` asked of Prometheus. A query naming a metric relais does not
//! export answers nothing, and fails the test. Skipped with a message when `prometheus` is not
//! installed, unless `RELAIS_REQUIRE_PROMETHEUS` is set (CI sets it).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relais::client::Client;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prometheus() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var("PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into()));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("RELAIS_REQUIRE_PROMETHEUS").is_none(),
        "RELAIS_REQUIRE_PROMETHEUS is set but {} is missing (apt-get install prometheus)",
        path.display()
    );
    eprintln!("skipped: no prometheus at {} (apt-get install prometheus)", path.display());
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Every query of the dashboard: the panels' targets, with Grafana's variables given the values an
/// operator's "All" gives them.
fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap_or_default();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap().replace("$network", ".*").replace("$__rate_interval", "30s");
            queries.push((title.to_owned(), expr));
        }
    }
    queries
}

/// What Prometheus answers to an instant query: its samples (metric labels and value).
async fn query(prometheus: SocketAddr, expr: &str) -> Vec<serde_json::Value> {
    let encoded: String = form_urlencoded::Serializer::new(String::new()).append_pair("query", expr).finish();
    let mut client = Client::connect(prometheus).await.unwrap();
    let answer = client.request("GET", &format!("/api/v1/query?{encoded}"), None, None).await.unwrap();
    let body = answer.json();
    assert_eq!(body["status"], "success", "{expr}: {body}");
    body["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn value(sample: &serde_json::Value) -> f64 {
    sample["value"][1].as_str().unwrap().parse().unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn prometheus_scrapes_relais_and_every_dashboard_query_returns_data() {
    let Some(prometheus_bin) = prometheus() else { return };
    let dir = std::env::temp_dir().join(format!("relais-prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Gauges every second; a cost model and every target, so that each panel has a figure to draw.
    write(
        &dir.join("relais.toml"),
        "[kpi]\nmetrics_interval_seconds = 1\n[kpi.cost]\nlocker_day_cents = 1200\npost_office_day_cents = 300\n\
         deposit_cents = 35\n[kpi.targets]\nmean_occupancy_days = 2.0\ndeposit_error_rate = 0.01\nnps = 30\n\
         cost_per_parcel_cents = 150\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(&dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--config", "relais.toml"])
        .env("RELAIS_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _server = Killed(child);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let relais: SocketAddr = first.split("http://").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let keys = std::fs::read_to_string(dir.join("relais.db.demo-keys")).unwrap();
    let operator_key = keys.lines().find(|l| l.starts_with("operator key")).unwrap().split_whitespace().last().unwrap();

    // Parcels through three lockers: announced, deposited, collected.
    let sim = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["locker-sim", "--server", &format!("http://{relais}"), "--operator-key", operator_key])
        .args(["--lockers", "3", "--parcels", "30", "--pickup-within-seconds", "1"])
        .env("RELAIS_LOG", "warn")
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&sim.stdout);
    assert!(sim.status.success() && summary.contains("deposited=30"), "{summary}");

    let port = free_port();
    let prometheus_at: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    write(
        &dir.join("prometheus.yml"),
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: relais\n    static_configs:\n      - targets: [\"{relais}\"]\n"
        ),
    );
    let _prometheus = Killed(
        Command::new(prometheus_bin)
            .current_dir(&dir)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address={prometheus_at}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Until Prometheus has scraped the gauges with the parcels counted (a few seconds).
    let started = Instant::now();
    loop {
        let ready = match Client::connect(prometheus_at).await {
            Ok(_) => query(prometheus_at, "relais_kpi_parcels_deposited").await.iter().any(|s| value(s) >= 30.0),
            Err(_) => false,
        };
        if ready {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "Prometheus never saw the deposits");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Room for the rates of the service panels (two scrapes at least inside their window).
    tokio::time::sleep(Duration::from_secs(3)).await;

    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/grafana/dashboards/relais.json"))
            .unwrap(),
    )
    .unwrap();
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 20, "{} queries", queries.len());
    let mut empty = Vec::new();
    for (panel, expr) in &queries {
        if query(prometheus_at, expr).await.is_empty() {
            empty.push(format!("{panel}: {expr}"));
        }
    }
    assert!(empty.is_empty(), "queries that return nothing:\n{}", empty.join("\n"));

    // The network variable lists the demo network.
    let mut client = Client::connect(prometheus_at).await.unwrap();
    let networks = client
        .request("GET", "/api/v1/label/network/values?match[]=relais_kpi_parcels_deposited", None, None)
        .await
        .unwrap()
        .json();
    assert!(networks["data"].to_string().contains("Relais démo"), "{networks}");

    // The figures are the simulation's: 30 parcels, all collected within 7 days, a cost (12 euros a
    // locker a day, 3 a post office, 0.35 a deposit) over them; targets as configured.
    let rate = query(prometheus_at, "relais_kpi_pickup_rate_7_days").await;
    assert_eq!(value(&rate[0]), 1.0);
    let cost = query(prometheus_at, "relais_kpi_cost_per_parcel_cents").await;
    assert!(value(&cost[0]) > 35.0, "{cost:?}");
    let target = query(prometheus_at, "relais_kpi_target{kpi=\"nps\"}").await;
    assert_eq!(value(&target[0]), 30.0);

    // And the check has teeth: a metric relais does not export answers nothing.
    assert!(query(prometheus_at, "relais_kpi_no_such_metric{network=~\".*\"}").await.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

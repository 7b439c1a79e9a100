//! `relais bench network`: a whole locker network's traffic against one `relais serve`.
//!
//! The bench starts a real server (SQLite in a temporary directory, or a fresh schema of a PostgreSQL
//! database) whose clock runs `time_scale` times faster, creates a network and imports its lockers
//! (50 doors each) over HTTP, then starts `relais locker-sim` processes that play the lockers
//! (heartbeats every 30 s of wall-clock time, as real controllers) and the people at them (merchants
//! announcing, couriers depositing through sessions, recipients collecting, couriers taking expired
//! parcels back) as fast as the server answers. It measures the sustained request rate and latency,
//! the server's CPU and peak memory, and, as the baseline of the same run, `GET /healthz` on the same
//! server over the same number of connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relais_registry::formats::canonical;
use relais_registry::record::{NewCompartment, NewPoint};

use crate::client::Client;

/// A European peak day (domain.md section 10).
pub const PEAK_DAY_PARCELS: f64 = 20_000_000.0;
const SECRET_KEY: &str = "6e6574776f726b2062656e6368206b65792c206e6f7420666f722070726f6421";
const DOORS: [(&str, u32); 4] = [("A", 20), ("B", 16), ("C", 10), ("D", 4)];

#[derive(Debug, Clone)]
pub struct NetworkOptions {
    pub lockers: usize,
    pub parcels: u64,
    /// A PostgreSQL URL; SQLite in a temporary directory without it.
    pub database_url: Option<String>,
    /// `relais locker-sim` processes sharing the lockers.
    pub sims: usize,
    /// Connections per simulator.
    pub connections: usize,
    /// How much faster the server's clock runs (hold windows lapse during the run).
    pub time_scale: f64,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            lockers: 20_000,
            parcels: 1_000_000,
            database_url: None,
            sims: 2,
            connections: 32,
            time_scale: 1440.0,
        }
    }
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn relais(dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("relais")));
    command
        .current_dir(dir)
        .env("RELAIS_SECRET_KEY", SECRET_KEY)
        .env("RELAIS_DATABASE_URL", database_url)
        .env("RELAIS_LOG", "warn");
    command
}

pub async fn network(options: NetworkOptions) -> Result<String, String> {
    if options.lockers == 0 || options.sims == 0 || options.connections == 0 {
        return Err("--lockers, --sims and --connections must be at least 1".into());
    }
    // Recipients come within 30 s of a deposit: the 24-hour hold must last longer than that.
    if !(1.0..=1920.0).contains(&options.time_scale) {
        return Err("--time-scale must be from 1 to 1920 (a 24-hour hold then lasts at least 45 s)".into());
    }
    let dir = std::env::temp_dir().join(format!("relais-bench-network-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (database_url, schema) = match &options.database_url {
        Some(url) if url.starts_with("postgres") => {
            let schema = format!("relais_bench_network_{}", std::process::id());
            relais_store::postgres::execute_batch(
                url,
                &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
            )
            .await
            .map_err(|e| e.to_string())?;
            let separator = if url.contains('?') { '&' } else { '?' };
            (format!("{url}{separator}options=-c%20search_path%3D{schema}"), Some((url.clone(), schema)))
        }
        Some(other) => return Err(format!("--database-url must be postgres://...; got {other}")),
        None => (dir.join("relais.db").display().to_string(), None),
    };
    let result = run(&options, &dir, &database_url).await;
    if let Some((url, schema)) = schema
        && let Err(e) =
            relais_store::postgres::execute_batch(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await
    {
        eprintln!("could not drop bench schema {schema}: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(options: &NetworkOptions, dir: &Path, database_url: &str) -> Result<String, String> {
    let setup_started = Instant::now();
    let output = relais(dir, database_url)
        .args(["api-key", "create", "--role", "operator", "--label", "bench network"])
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("api-key create: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let operator = String::from_utf8_lossy(&output.stdout).trim().to_owned();

    let mut child = relais(dir, database_url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RELAIS_TIME_SCALE", options.time_scale.to_string())
        .env("RELAIS_SWEEP_INTERVAL_SECONDS", "5")
        .env("RELAIS_REQUEST_BODY_BYTES_MAX", "262144")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Process(child);
    let pid = server.0.id();
    let address = server_address(stdout)?;

    let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
    let rules = serde_json::json!({"name": "Bench lockers", "rules": {"hold_window_hours": 24, "extension_count_max": 0, "reminder_offsets_hours": [12]}});
    let network = client.request("POST", "/v1/networks", Some(&operator), Some(&rules.to_string())).await;
    let network = match network {
        Ok(r) if r.status == 201 => r.json()["id"].as_str().unwrap_or_default().to_owned(),
        Ok(r) => return Err(format!("create the network: {} {}", r.status, r.body)),
        Err(e) => return Err(e.to_string()),
    };
    let file = lockers_csv(options.lockers)?;
    let import = client
        .request_bytes(
            "POST",
            &format!("/v1/networks/{network}/imports?format=csv"),
            Some(&operator),
            "text/csv",
            &file,
        )
        .await
        .map_err(|e| e.to_string())?;
    if import.status != 201 && import.status != 200 {
        return Err(format!("import the lockers: {} {}", import.status, import.body));
    }
    let baseline = healthz_rate(address, options.connections * options.sims, Duration::from_secs(3)).await?;
    let setup = setup_started.elapsed();

    // Recipients come within 30 s; the others' 24-hour hold lapses after 86,400 / time_scale seconds,
    // and the sweep expires them within its 5-second interval: the courier comes then.
    let take_back_after = 86_400.0 / options.time_scale + 6.0;
    // The simulators; each prints its summary line when done.
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let mut sims = Vec::with_capacity(options.sims);
    for n in 0..options.sims {
        let lockers = share(options.lockers as u64, options.sims, n);
        let first: u64 = (0..n).map(|k| share(options.lockers as u64, options.sims, k)).sum();
        let parcels = share(options.parcels, options.sims, n);
        let child = relais(dir, database_url)
            .args(["locker-sim", "--server", &format!("http://{address}"), "--operator-key", &operator])
            .args(["--network", &network, "--lockers", &lockers.to_string(), "--first", &first.to_string()])
            .args(["--parcels", &parcels.to_string(), "--heartbeat-seconds", "30", "--pickup-share", "0.9"])
            .args(["--pickup-within-seconds", "30", "--connections", &options.connections.to_string()])
            .args(["--take-back-after-seconds", &take_back_after.to_string()])
            .args(["--seed", &(n + 1).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        sims.push(Process(child));
    }
    let peak_rss = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let peak = peak_rss.clone();
        tokio::spawn(async move {
            loop {
                let rss = rss_kb(pid, "VmRSS:");
                peak.fetch_max(rss, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let mut lines = Vec::new();
    for mut sim in sims {
        let mut out = String::new();
        if let Some(mut pipe) = sim.0.stdout.take() {
            use std::io::Read;
            pipe.read_to_string(&mut out).map_err(|e| e.to_string())?;
        }
        let status = sim.0.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("locker-sim failed: {out}"));
        }
        lines.push(out.trim().to_owned());
    }
    let elapsed = started.elapsed().as_secs_f64();
    sampler.abort();
    let cpu = cpu_seconds(pid) - cpu_before;
    let peak_mb = peak_rss.load(std::sync::atomic::Ordering::Relaxed).max(rss_kb(pid, "VmHWM:")) as f64 / 1024.0;
    drop(server);

    let figures: Vec<HashMap<String, f64>> = lines.iter().map(|l| parse_line(l)).collect();
    let sum = |key: &str| figures.iter().map(|f| f.get(key).copied().unwrap_or(0.0)).sum::<f64>();
    let max = |key: &str| figures.iter().map(|f| f.get(key).copied().unwrap_or(0.0)).fold(0.0, f64::max);
    let requests_per_s = sum("requests") / elapsed;
    // The parcel flow's rate: deposits over the time until the last courier visit (recipients and
    // take-backs finishing afterwards are not a rate the network could sustain).
    let parcels_per_s = sum("deposited") / max("flow_seconds").max(1e-9);
    let peak_share = parcels_per_s * 86_400.0 / PEAK_DAY_PARCELS;
    let mut out = Vec::new();
    out.push(format!(
        "network: {} lockers x 50 doors, {} parcels, {} simulator(s) x {} connections, {} backend, clock x{}; setup {:.1} s",
        options.lockers,
        options.parcels,
        options.sims,
        options.connections,
        if database_url.starts_with("postgres") { "postgres" } else { "sqlite" },
        options.time_scale,
        setup.as_secs_f64(),
    ));
    out.extend(lines.iter().map(|l| format!("locker-sim: {l}")));
    out.push(format!(
        "run {elapsed:.1} s: {:.0} requests ({:.0} heartbeats), {:.0} deposited, {:.0} collected ({:.0} with another parcel through a shared door), {:.0} taken back, {:.0} unexpected answers",
        sum("requests"),
        sum("heartbeats"),
        sum("deposited"),
        sum("collected"),
        sum("shared"),
        sum("returned"),
        sum("unexpected"),
    ));
    out.push(format!("server: {:.2} cores of CPU on average ({cpu:.1} s), peak RSS {peak_mb:.0} MB", cpu / elapsed));
    out.push(format!(
        "baseline GET /healthz: {baseline:.0} requests/s on {} connections; ratio={:.3}",
        options.connections * options.sims,
        requests_per_s / baseline.max(1.0)
    ));
    out.push(format!(
        "parcels deposited per second: {parcels_per_s:.1} = {:.2} M a day = {:.1} % of a 20 M European peak day on this node",
        parcels_per_s * 86_400.0 / 1e6,
        peak_share * 100.0
    ));
    out.push(format!("requests_per_s={requests_per_s:.0} p99_ms={:.2} server_rss_mb={peak_mb:.0}", max("p99_ms")));
    Ok(out.join("\n"))
}

fn share(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((index as u64) < total % parts)
}

fn parse_line(line: &str) -> HashMap<String, f64> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k.to_owned(), v)))
        .collect()
}

/// Reads `relais serve`'s first line for its address, then keeps draining its output.
fn server_address(stdout: std::process::ChildStdout) -> Result<SocketAddr, String> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("relais serve did not print its address: {line:?}"))?;
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    Ok(address)
}

/// The lockers as a relais CSV file: spread over France on a jittered grid, 50 doors each.
fn lockers_csv(count: usize) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(canonical::COLUMNS).map_err(|e| e.to_string())?;
    let doors: Vec<NewCompartment> = DOORS
        .iter()
        .flat_map(|(size, n)| {
            (1..=*n).map(move |k| NewCompartment { label: format!("{size}{k:02}"), size: (*size).into() })
        })
        .collect();
    let side = (count as f64).sqrt().ceil().max(1.0);
    for i in 0..count {
        let (row, column) = ((i as f64 / side).floor(), i as f64 % side);
        // A little deterministic jitter so that no two lockers share a position.
        let jitter = ((i * 7919) % 1000) as f64 / 1e6;
        let record = NewPoint {
            external_id: format!("BL{i:07}"),
            kind: "locker".into(),
            name: format!("Consigne {i}"),
            address_line1: format!("{} avenue de la Gare", 1 + i % 300),
            postcode: format!("{:05}", 10_000 + (i * 37) % 85_000),
            city: "Ville".into(),
            country: "FR".into(),
            latitude: 43.5 + 5.5 * row / side + jitter,
            longitude: -1.0 + 8.0 * column / side + jitter,
            status: Some("active".into()),
            opening_hours: Some("24/7".into()),
            services: Some("collect,send,return".into()),
            compartments: doors.clone(),
            ..NewPoint::default()
        };
        writer.write_record(canonical::csv_row(&record)).map_err(|e| e.to_string())?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// Requests per second of `GET /healthz` over `connections` connections for `period`.
async fn healthz_rate(address: SocketAddr, connections: usize, period: Duration) -> Result<f64, String> {
    let deadline = Instant::now() + period;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        tasks.spawn(async move {
            let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
            let mut n = 0u64;
            while Instant::now() < deadline {
                client.request("GET", "/healthz", None, None).await.map_err(|e| e.to_string())?;
                n += 1;
            }
            Ok::<u64, String>(n)
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.map_err(|e| e.to_string())??;
    }
    Ok(total as f64 / period.as_secs_f64())
}

/// User plus system CPU seconds of a process so far (Linux `/proc`; 0 elsewhere).
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name and state.
    (ticks(11) + ticks(12)) / 100.0
}

/// A `/proc/<pid>/status` memory line in kB (0 when not available).
fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

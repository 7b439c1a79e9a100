//! `relais locker-sim`: lockers, and the people at them, simulated against a running server over HTTP.
//!
//! Each simulated locker is a controller with its own device key: it beats every `heartbeat_seconds`
//! with its door states, opens the doors relais orders, and reports them closed. With `--parcels`, the
//! people come too: a merchant announces parcels to the locker, a courier opens a drop-off session with
//! the courier code of the day and scans them in (the controller reports each door closed), recipients
//! come back with their pickup codes (a `pickup_share` of them), and the courier takes the others back
//! once they have expired. Everything goes through the public API, as real devices and apps would.
//!
//! Heartbeats run on their own connections (a quarter of `connections`, at least one), on time whatever
//! the parcel traffic, as real controllers beat. The people share the other connections: each worker has
//! its lockers and two queues of timed events; recipients and take-backs that are due go before the next
//! courier visit, and visits fill what capacity is left (a worker saturates the server by design).

use std::collections::{BinaryHeap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::client::{Client, Response};

/// What to simulate (the options of `relais locker-sim`).
#[derive(Debug, Clone, clap::Args)]
pub struct SimOptions {
    /// The server, http://host:port.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// An operator key: creates the simulation's keys (a merchant, a carrier, one device key per locker).
    #[arg(long, env = "RELAIS_OPERATOR_KEY")]
    pub operator_key: String,
    /// Lockers of this network only.
    #[arg(long = "network")]
    pub network_id: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub lockers: usize,
    /// Skips this many lockers first (several simulators share a network).
    #[arg(long, default_value_t = 0)]
    pub first: usize,
    /// Parcels through these lockers in all; 0: devices only.
    #[arg(long, default_value_t = 0)]
    pub parcels: u64,
    #[arg(long, default_value_t = 30.0)]
    pub heartbeat_seconds: f64,
    /// Stops after this long (the lockers beat until then, even once their parcels are done); without
    /// it, stops once every parcel is collected or taken back (runs forever with no parcels).
    #[arg(long)]
    pub duration_seconds: Option<f64>,
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Share of parcels their recipients come for; the others expire and are taken back.
    #[arg(long, default_value_t = 1.0)]
    pub pickup_share: f64,
    /// Recipients come within this many seconds of the deposit.
    #[arg(long, default_value_t = 20.0)]
    pub pickup_within_seconds: f64,
    /// The courier comes for a parcel nobody collected this long after its deposit (the hold window in
    /// wall-clock time, plus the sweep's interval), then every 5 s until it has expired.
    #[arg(long, default_value_t = 5.0)]
    pub take_back_after_seconds: f64,
    /// Share of parcels sent to the previous parcel's recipient at the same locker: thin enough (30 mm)
    /// to share a door with it, and both collected with one code.
    #[arg(long, default_value_t = 0.1)]
    pub second_parcel_share: f64,
    /// Parcels per courier visit, at most.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// What a run did, and how the server answered.
#[derive(Debug, Default, Clone)]
pub struct SimReport {
    pub lockers: usize,
    pub requests: u64,
    /// Answers that were not among those the step expects (logged, first few).
    pub unexpected: u64,
    pub heartbeats: u64,
    pub announced: u64,
    pub deposited: u64,
    pub deposit_failed: u64,
    pub collected: u64,
    /// Of the collected, those handed over with another parcel of their recipient (one code, a shared
    /// door).
    pub shared: u64,
    pub returned: u64,
    /// Latency of every timed request, microseconds.
    pub latencies_us: Vec<u32>,
    pub elapsed: Duration,
    /// When the last courier visit ended, from the start: the parcel flow's duration (what follows is
    /// recipients and take-backs finishing).
    pub flow: Duration,
}

impl SimReport {
    fn merge(&mut self, other: SimReport) {
        self.requests += other.requests;
        self.unexpected += other.unexpected;
        self.heartbeats += other.heartbeats;
        self.announced += other.announced;
        self.deposited += other.deposited;
        self.deposit_failed += other.deposit_failed;
        self.collected += other.collected;
        self.shared += other.shared;
        self.returned += other.returned;
        self.latencies_us.extend(other.latencies_us);
        self.flow = self.flow.max(other.flow);
    }

    pub fn percentile_ms(&self, q: f64) -> f64 {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        match sorted.len() {
            0 => 0.0,
            n => f64::from(sorted[((n - 1) as f64 * q).round() as usize]) / 1000.0,
        }
    }

    pub fn requests_per_s(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The machine-readable summary line.
    pub fn line(&self) -> String {
        format!(
            "lockers={} requests={} unexpected={} heartbeats={} announced={} deposited={} deposit_failed={} \
             collected={} shared={} returned={} seconds={:.1} flow_seconds={:.1} requests_per_s={:.0} p50_ms={:.2} p99_ms={:.2}",
            self.lockers,
            self.requests,
            self.unexpected,
            self.heartbeats,
            self.announced,
            self.deposited,
            self.deposit_failed,
            self.collected,
            self.shared,
            self.returned,
            self.elapsed.as_secs_f64(),
            self.flow.as_secs_f64(),
            self.requests_per_s(),
            self.percentile_ms(0.5),
            self.percentile_ms(0.99),
        )
    }
}

/// The address of `http://host:port`.
pub fn server_address(server: &str) -> Result<SocketAddr, String> {
    let rest = server.strip_prefix("http://").ok_or("--server must be http://host:port")?;
    let host = rest.trim_end_matches('/');
    use std::net::ToSocketAddrs;
    host.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))
}

struct Locker {
    /// Position among all simulated lockers (parcel numbers are unique by it).
    index: usize,
    id: String,
    device_key: String,
    doors: Vec<String>,
    /// Parcels still to announce here.
    to_announce: u64,
    /// Announced and not yet gone (collected, taken back, failed): what occupies doors, or will.
    present: u32,
    announced: u64,
    /// The recipient of the last parcel announced here (their phone number is made from it).
    recipient: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Visit(usize),
    Pickup { locker: usize, code: String, parcel_id: String },
    TakeBack { locker: usize, parcel_id: String, tries: u32 },
}

/// Keys shared by every worker.
#[derive(Clone)]
struct Keys {
    merchant: String,
    carrier: String,
}

/// Creates the keys and lockers, then runs the simulation until done.
pub async fn run(options: SimOptions) -> Result<SimReport, String> {
    if options.lockers == 0 || options.connections == 0 || options.batch == 0 {
        return Err("--lockers, --connections and --batch must be at least 1".into());
    }
    if !(0.0..=1.0).contains(&options.pickup_share) {
        return Err("--pickup-share must be between 0 and 1".into());
    }
    let address = server_address(&options.server)?;
    let mut admin = Client::connect(address).await.map_err(|e| format!("cannot connect to {}: {e}", options.server))?;
    let (lockers, networks) = find_lockers(&mut admin, &options).await?;
    let keys = create_keys(&mut admin, &options, &networks).await?;
    let lockers = with_device_keys(address, &options, lockers).await?;

    let count = lockers.len();
    let beat_lanes = (options.connections / 4).clamp(1, count);
    let connections = options.connections.saturating_sub(beat_lanes).clamp(1, count);
    let mut beats: Vec<Vec<Beating>> = (0..beat_lanes).map(|_| Vec::new()).collect();
    let mut shares: Vec<Vec<Locker>> = (0..connections).map(|_| Vec::new()).collect();
    for (i, mut locker) in lockers.into_iter().enumerate() {
        locker.to_announce = share(options.parcels, count, i);
        beats[i % beat_lanes].push(Beating {
            id: locker.id.clone(),
            device_key: locker.device_key.clone(),
            doors: locker.doors.clone(),
        });
        shares[i % connections].push(locker);
    }
    let started = Instant::now();
    let deadline = options.duration_seconds.map(|s| started + Duration::from_secs_f64(s));
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(Live::default());
    let progress = tokio::spawn(show_progress(live.clone(), options.parcels));
    let mut lanes = tokio::task::JoinSet::new();
    for (n, lane) in beats.into_iter().enumerate() {
        let (options, stop, live) = (options.clone(), stop.clone(), live.clone());
        lanes.spawn(async move { beat_lane(address, lane, live, options, deadline, stop, n as u64).await });
    }
    let mut workers = tokio::task::JoinSet::new();
    for (n, share) in shares.into_iter().enumerate() {
        let (options, keys, live) = (options.clone(), keys.clone(), live.clone());
        workers.spawn(async move { worker(address, share, live, keys, options, deadline, n as u64).await });
    }
    let mut report = SimReport { lockers: count, ..SimReport::default() };
    while let Some(done) = workers.join_next().await {
        report.merge(done.map_err(|e| e.to_string())??);
    }
    // Without parcels, or with a deadline, the lockers beat until the deadline (or for ever): a
    // locker whose parcels are all waiting still answers its operator's commands.
    if options.parcels > 0 && deadline.is_none() {
        stop.store(true, Ordering::Relaxed);
    }
    while let Some(done) = lanes.join_next().await {
        report.merge(done.map_err(|e| e.to_string())??);
    }
    report.elapsed = started.elapsed();
    progress.abort();
    Ok(report)
}

/// A progress bar on standard error (drawn only on a terminal): parcels whose life is over out of those
/// asked, with the requests made.
async fn show_progress(live: Arc<Live>, parcels: u64) {
    let bar = if parcels > 0 { indicatif::ProgressBar::new(parcels) } else { indicatif::ProgressBar::new_spinner() };
    let template = if parcels > 0 {
        "locker-sim [{bar:30}] {pos}/{len} parcels done ({eta} left) {msg}"
    } else {
        "locker-sim {spinner} {elapsed} {msg}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    loop {
        let (announced, collected) = (live.announced.load(Ordering::Relaxed), live.collected.load(Ordering::Relaxed));
        bar.set_position(live.done.load(Ordering::Relaxed));
        bar.set_message(format!(
            "announced {announced}, collected {collected}, {} requests",
            live.requests.load(Ordering::Relaxed)
        ));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `total` spread over `parts`: the first ones take the remainder.
fn share(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((index as u64) < total % parts)
}

/// The lockers to simulate, and the networks they are in (the simulation's carrier serves them).
async fn find_lockers(client: &mut Client, options: &SimOptions) -> Result<(Vec<Locker>, Vec<String>), String> {
    let mut lockers = Vec::new();
    let mut networks: Vec<String> = Vec::new();
    let mut seen = 0;
    let mut after: Option<String> = None;
    while lockers.len() < options.lockers {
        let mut path = "/v1/points?limit=500".to_owned();
        if let Some(network) = &options.network_id {
            path.push_str(&format!("&network_id={network}"));
        }
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={cursor}"));
        }
        let page = expect(client.request("GET", &path, Some(&options.operator_key), None).await, 200, "list points")?;
        let page = page.json();
        for point in page["items"].as_array().into_iter().flatten() {
            if point["kind"] != "locker" || point["status"] != "active" {
                continue;
            }
            seen += 1;
            if seen > options.first && lockers.len() < options.lockers {
                let network = point["network_id"].as_str().unwrap_or_default().to_owned();
                if !networks.contains(&network) {
                    networks.push(network);
                }
                lockers.push(Locker {
                    index: seen - 1,
                    id: point["id"].as_str().unwrap_or_default().to_owned(),
                    device_key: String::new(),
                    doors: Vec::new(),
                    to_announce: 0,
                    present: 0,
                    announced: 0,
                    recipient: 0,
                });
            }
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => break,
        }
    }
    if lockers.len() < options.lockers {
        return Err(format!(
            "the server has {} active lockers past the first {}; {} asked",
            lockers.len(),
            options.first,
            options.lockers
        ));
    }
    Ok((lockers, networks))
}

/// A merchant and a carrier of their own (serving the lockers' networks), each with a key.
async fn create_keys(client: &mut Client, options: &SimOptions, networks: &[String]) -> Result<Keys, String> {
    let op = Some(options.operator_key.as_str());
    let merchant = client.request("POST", "/v1/merchants", op, Some(&json!({"name": "locker-sim"}).to_string())).await;
    let merchant_id =
        expect(merchant, 201, "create the merchant")?.json()["id"].as_str().unwrap_or_default().to_owned();
    let key = |role: &str, extra: Value| {
        let mut body = json!({"role": role, "label": "locker-sim"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body.to_string()
    };
    let merchant =
        client.request("POST", "/v1/api-keys", op, Some(&key("merchant", json!({"merchant_id": merchant_id})))).await;
    let merchant =
        expect(merchant, 201, "create the merchant key")?.json()["secret"].as_str().unwrap_or_default().to_owned();
    let carrier = json!({"name": "locker-sim", "networks": networks}).to_string();
    let carrier = client.request("POST", "/v1/carriers", op, Some(&carrier)).await;
    let carrier_id = expect(carrier, 201, "create the carrier")?.json()["id"].as_str().unwrap_or_default().to_owned();
    let carrier =
        client.request("POST", "/v1/api-keys", op, Some(&key("carrier", json!({"carrier_id": carrier_id})))).await;
    let carrier =
        expect(carrier, 201, "create the carrier key")?.json()["secret"].as_str().unwrap_or_default().to_owned();
    Ok(Keys { merchant, carrier })
}

/// Each locker's doors and a device key for it, over a few connections at once.
async fn with_device_keys(
    address: SocketAddr,
    options: &SimOptions,
    lockers: Vec<Locker>,
) -> Result<Vec<Locker>, String> {
    let lanes = options.connections.clamp(1, 16);
    let mut groups: Vec<Vec<Locker>> = (0..lanes).map(|_| Vec::new()).collect();
    for (i, locker) in lockers.into_iter().enumerate() {
        groups[i % lanes].push(locker);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for group in groups {
        let operator = options.operator_key.clone();
        tasks.spawn(async move {
            let mut client = Client::connect(address).await.map_err(|e| e.to_string())?;
            let mut out = Vec::with_capacity(group.len());
            for mut locker in group {
                let detail = client.request("GET", &format!("/v1/points/{}", locker.id), Some(&operator), None).await;
                locker.doors = expect(detail, 200, "read a locker")?.json()["compartments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["label"].as_str().map(str::to_owned))
                    .collect();
                let body = json!({"role": "locker_device", "point_id": locker.id, "label": "locker-sim"}).to_string();
                let reply = client.request("POST", "/v1/api-keys", Some(&operator), Some(&body)).await;
                locker.device_key =
                    expect(reply, 201, "create a device key")?.json()["secret"].as_str().unwrap_or_default().to_owned();
                out.push(locker);
            }
            Ok::<_, String>(out)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.map_err(|e| e.to_string())??);
    }
    all.sort_by_key(|l| l.index);
    Ok(all)
}

fn expect(reply: std::io::Result<Response>, status: u16, what: &str) -> Result<Response, String> {
    match reply {
        Ok(r) if r.status == status => Ok(r),
        Ok(r) => Err(format!("{what}: HTTP {} {}", r.status, r.body)),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// What the run has done so far, for the progress bar (the reports are merged only at the end).
#[derive(Default)]
struct Live {
    requests: AtomicU64,
    announced: AtomicU64,
    collected: AtomicU64,
    /// Parcels whose life in the run is over: collected, taken back, or failed to deposit.
    done: AtomicU64,
}

impl Live {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One connection and the timed events of its lockers.
struct Worker {
    client: Client,
    address: SocketAddr,
    report: SimReport,
    live: Arc<Live>,
    keys: Keys,
    rng: StdRng,
    /// Parcels already handed over with another of their recipient's (a shared door): their own
    /// recipient visit or take-back is called off.
    gone_with_others: HashSet<String>,
    /// Doors an operator ordered open, as `point/door`: reported open at the next heartbeat, closed at
    /// the one after (someone takes a look and shuts it), as a real locker's would be.
    open_doors: HashSet<String>,
}

impl Worker {
    /// Sends a timed request; an answer not in `expected` is counted (and the first few printed).
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
        expected: &[u16],
    ) -> Option<Response> {
        let body = body.map(|b| b.to_string());
        let started = Instant::now();
        let mut reply = self.client.request(method, path, Some(key), body.as_deref()).await;
        if reply.is_err() {
            // The server closed the connection (restart, idle timeout): one new connection, one retry.
            if let Ok(client) = Client::connect(self.address).await {
                self.client = client;
                reply = self.client.request(method, path, Some(key), body.as_deref()).await;
            }
        }
        self.report.requests += 1;
        Live::add(&self.live.requests);
        self.report.latencies_us.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        match reply {
            Ok(r) if expected.contains(&r.status) => Some(r),
            Ok(r) => {
                self.unexpected(&format!("{method} {path}: HTTP {} {}", r.status, r.body));
                None
            }
            Err(e) => {
                self.unexpected(&format!("{method} {path}: {e}"));
                None
            }
        }
    }

    fn unexpected(&mut self, what: &str) {
        self.report.unexpected += 1;
        if self.report.unexpected <= 5 {
            eprintln!("locker-sim: unexpected answer: {what}");
        }
    }
}

/// What a heartbeat lane knows of a locker.
struct Beating {
    id: String,
    device_key: String,
    doors: Vec<String>,
}

type Queue<E> = BinaryHeap<std::cmp::Reverse<(Instant, u64, E)>>;

/// Beats for its lockers, each every `heartbeat_seconds`, until told to stop or the deadline.
async fn beat_lane(
    address: SocketAddr,
    lockers: Vec<Beating>,
    live: Arc<Live>,
    options: SimOptions,
    deadline: Option<Instant>,
    stop: Arc<AtomicBool>,
    n: u64,
) -> Result<SimReport, String> {
    let client = Client::connect(address).await.map_err(|e| e.to_string())?;
    let keys = Keys { merchant: String::new(), carrier: String::new() };
    let rng = StdRng::seed_from_u64(options.seed ^ (n << 40));
    let mut w = Worker {
        client,
        address,
        report: SimReport::default(),
        live,
        keys,
        rng,
        gone_with_others: HashSet::new(),
        open_doors: HashSet::new(),
    };
    let beat = Duration::from_secs_f64(options.heartbeat_seconds.max(0.1));
    let mut queue: Queue<usize> = BinaryHeap::new();
    let now = Instant::now();
    for i in 0..lockers.len() {
        // Spread over the period, as real controllers started at different times.
        queue.push(std::cmp::Reverse((now + beat.mul_f64(w.rng.random_range(0.0..1.0)), i as u64, i)));
    }
    while let Some(std::cmp::Reverse((at, _, i))) = queue.pop() {
        // Sleep in short steps, to notice the end of the run.
        while Instant::now() < at {
            if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(w.report);
            }
            tokio::time::sleep((at - Instant::now()).min(Duration::from_millis(200))).await;
        }
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| at >= d) {
            break;
        }
        heartbeat(&mut w, &lockers[i]).await;
        queue.push(std::cmp::Reverse((at + beat, i as u64, i)));
    }
    Ok(w.report)
}

async fn worker(
    address: SocketAddr,
    mut lockers: Vec<Locker>,
    live: Arc<Live>,
    keys: Keys,
    options: SimOptions,
    deadline: Option<Instant>,
    n: u64,
) -> Result<SimReport, String> {
    let client = Client::connect(address).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut w = Worker {
        client,
        address,
        report: SimReport::default(),
        live,
        keys,
        rng: StdRng::seed_from_u64(options.seed ^ (n << 20)),
        gone_with_others: HashSet::new(),
        open_doors: HashSet::new(),
    };
    // Recipients and take-backs (the consequences of earlier visits) go first when due; courier visits
    // take the capacity left.
    let mut people: Queue<Event> = BinaryHeap::new();
    let mut visits: Queue<Event> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |queue: &mut Queue<Event>, at: Instant, event: Event| {
        seq += 1;
        queue.push(std::cmp::Reverse((at, seq, event)));
    };
    let now = Instant::now();
    for (i, locker) in lockers.iter().enumerate() {
        if locker.to_announce > 0 {
            push(&mut visits, now + Duration::from_millis(w.rng.random_range(0..500)), Event::Visit(i));
        }
    }
    loop {
        let now = Instant::now();
        let next = match (people.peek(), visits.peek()) {
            (Some(std::cmp::Reverse((p, _, _))), _) if *p <= now => people.pop(),
            (Some(std::cmp::Reverse((p, _, _))), Some(std::cmp::Reverse((v, _, _)))) => {
                if p <= v {
                    people.pop()
                } else {
                    visits.pop()
                }
            }
            (Some(_), None) => people.pop(),
            (None, Some(_)) => visits.pop(),
            (None, None) => break,
        };
        let Some(std::cmp::Reverse((at, _, event))) = next else { break };
        if deadline.is_some_and(|d| at > d) {
            break;
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        match event {
            Event::Visit(i) => {
                let (follow_ups, again) = visit(&mut w, i, &mut lockers[i], &options).await;
                w.report.flow = started.elapsed();
                for (delay, event) in follow_ups {
                    push(&mut people, Instant::now() + delay, event);
                }
                if let Some(delay) = again {
                    push(&mut visits, Instant::now() + delay, Event::Visit(i));
                }
            }
            Event::Pickup { parcel_id, .. } | Event::TakeBack { parcel_id, .. }
                if w.gone_with_others.remove(&parcel_id) => {}
            Event::Pickup { locker, code, parcel_id } => {
                if let Some(retry) = pickup(&mut w, locker, &mut lockers[locker], &code, parcel_id).await {
                    push(&mut people, Instant::now() + Duration::from_secs(2), retry);
                }
            }
            Event::TakeBack { locker, parcel_id, tries } => {
                if let Some(retry) = take_back(&mut w, locker, &mut lockers[locker], parcel_id, tries).await {
                    push(&mut people, Instant::now() + Duration::from_secs(5), retry);
                }
            }
        }
    }
    Ok(w.report)
}

async fn heartbeat(w: &mut Worker, locker: &Beating) {
    let key = locker.device_key.clone();
    // A door opened at the last heartbeat is shut now (someone took a look and closed it).
    let was_open: Vec<String> =
        locker.doors.iter().filter(|d| w.open_doors.remove(&format!("{}/{d}", locker.id))).cloned().collect();
    for door in &was_open {
        let events = format!("/v1/points/{}/doors/{door}/events", locker.id);
        w.call("POST", &events, &key, Some(json!({"event": "door_closed"})), &[200, 409]).await;
    }
    let doors: Vec<Value> = locker.doors.iter().map(|d| json!({"door": d, "state": "closed"})).collect();
    let path = format!("/v1/points/{}/heartbeat", locker.id);
    let Some(reply) =
        w.call("POST", &path, &key, Some(json!({"doors": doors, "firmware": "locker-sim"})), &[200]).await
    else {
        return;
    };
    w.report.heartbeats += 1;
    // Doors an operator ordered open: opened now, reported open until the next heartbeat shuts them.
    let commands = reply.json()["commands"].as_array().cloned().unwrap_or_default();
    let mut opened = Vec::new();
    for command in commands.iter().filter(|c| c["purpose"] == "operator") {
        if let Some(door) = command["door"].as_str().filter(|d| !was_open.iter().any(|o| o == d)) {
            w.open_doors.insert(format!("{}/{door}", locker.id));
            opened.push(door.to_owned());
        }
    }
    if !opened.is_empty() {
        let doors: Vec<Value> = locker
            .doors
            .iter()
            .map(|d| json!({"door": d, "state": if opened.contains(d) { "open" } else { "closed" }}))
            .collect();
        w.call("POST", &path, &key, Some(json!({"doors": doors, "firmware": "locker-sim"})), &[200]).await;
    }
}

/// A courier's visit: the merchant's next parcels are announced, then scanned in through a session.
/// Returns the recipients' pickups and the take-backs to come, and when to visit again. `at` is the
/// locker's position among its worker's lockers (events name lockers by it).
async fn visit(
    w: &mut Worker,
    at: usize,
    locker: &mut Locker,
    options: &SimOptions,
) -> (Vec<(Duration, Event)>, Option<Duration>) {
    let mut follow_ups = Vec::new();
    let room = (locker.doors.len() as u32).saturating_sub(locker.present);
    let count = (options.batch as u64).min(locker.to_announce).min(u64::from(room));
    if count == 0 {
        // Full: come back when recipients have been.
        return (follow_ups, Some(Duration::from_secs(1)));
    }
    let (merchant, carrier, device) = (w.keys.merchant.clone(), w.keys.carrier.clone(), locker.device_key.clone());
    let mut parcels = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let number = format!("SIM{:03}L{:06}N{:06}", options.seed % 1000, locker.index, locker.announced);
        locker.announced += 1;
        locker.to_announce -= 1;
        // Most parcels are for someone new at this locker; some are a second one for the last recipient.
        if locker.announced == 1 || w.rng.random_range(0.0..1.0) >= options.second_parcel_share {
            locker.recipient = locker.announced;
        }
        let phone = format!("+3361{:07}", locker.recipient % 10_000_000);
        let body = json!({"point_id": locker.id, "parcel_number": number,
            "recipient": {"name": "Camille Sim", "phone": phone},
            "dimensions_mm": {"length": 300, "width": 200, "height": 30}, "weight_g": 900});
        if let Some(reply) = w.call("POST", "/v1/parcels", &merchant, Some(body), &[201]).await {
            let json = reply.json();
            w.report.announced += 1;
            Live::add(&w.live.announced);
            locker.present += 1;
            parcels.push((
                number,
                json["parcel"]["id"].as_str().unwrap_or_default().to_owned(),
                json["pickup_code"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    let again = (locker.to_announce > 0).then(|| Duration::from_millis(w.rng.random_range(0..200)));
    let code_path = format!("/v1/points/{}/courier-code", locker.id);
    let sessions = format!("/v1/points/{}/drop-off-sessions", locker.id);
    let mut session = None;
    // The code turns over at the locker's midnight: one that just expired is fetched again.
    for last_try in [false, true] {
        let Some(code) = w.call("GET", &code_path, &carrier, None, &[200]).await else {
            return (follow_ups, again);
        };
        let opening = json!({"courier_code": code.json()["code"]});
        let accepted: &[u16] = if last_try { &[201] } else { &[201, 403] };
        match w.call("POST", &sessions, &device, Some(opening), accepted).await {
            Some(reply) if reply.status == 201 => {
                session = Some(reply);
                break;
            }
            Some(_) => continue,
            None => return (follow_ups, again),
        }
    }
    let Some(session) = session else {
        return (follow_ups, again);
    };
    let session = session.json()["id"].as_str().unwrap_or_default().to_owned();
    for (number, parcel_id, code) in parcels {
        let scans = format!("/v1/drop-off-sessions/{session}/scans");
        let Some(scan) = w.call("POST", &scans, &device, Some(json!({"parcel_number": number})), &[200]).await else {
            continue;
        };
        let scan = scan.json();
        let Some(door) = scan["open_door"]["door"].as_str() else {
            w.report.deposit_failed += 1;
            Live::add(&w.live.done);
            locker.present = locker.present.saturating_sub(1);
            continue;
        };
        let events = format!("/v1/points/{}/doors/{door}/events", locker.id);
        if w.call("POST", &events, &device, Some(json!({"event": "door_closed"})), &[200]).await.is_none() {
            continue;
        }
        w.report.deposited += 1;
        if w.rng.random_range(0.0..1.0) < options.pickup_share {
            let delay = Duration::from_secs_f64(w.rng.random_range(0.0..options.pickup_within_seconds.max(0.001)));
            follow_ups.push((delay, Event::Pickup { locker: at, code, parcel_id }));
        } else {
            let after = Duration::from_secs_f64(options.take_back_after_seconds.max(0.0));
            follow_ups.push((after, Event::TakeBack { locker: at, parcel_id, tries: 0 }));
        }
    }
    w.call("POST", &format!("/v1/drop-off-sessions/{session}/close"), &device, None, &[200]).await;
    (follow_ups, again)
}

/// A recipient comes with the code: the controller asks relais, opens the door, reports it closed.
/// Returns a take-back when the parcel has expired meanwhile.
async fn pickup(w: &mut Worker, at: usize, locker: &mut Locker, code: &str, parcel_id: String) -> Option<Event> {
    let (device, path) = (locker.device_key.clone(), format!("/v1/points/{}/pickups", locker.id));
    let reply = w.call("POST", &path, &device, Some(json!({"code": code})), &[200, 403, 409]).await?;
    if reply.status != 200 {
        // Too late: it has expired (403: before the code was checked; 409: while it was); the courier
        // will take it back.
        return Some(Event::TakeBack { locker: at, parcel_id, tries: 0 });
    }
    w.report.collected += 1;
    Live::add(&w.live.collected);
    Live::add(&w.live.done);
    locker.present = locker.present.saturating_sub(1);
    let reply = reply.json();
    // The door opened on the recipient's other parcels too: they are collected with this one.
    for shared in reply["shared"].as_array().into_iter().flatten() {
        if let Some(id) = shared["id"].as_str() {
            w.gone_with_others.insert(id.to_owned());
            w.report.collected += 1;
            Live::add(&w.live.collected);
            Live::add(&w.live.done);
            Live::add(&w.live.collected);
            Live::add(&w.live.done);
            w.report.shared += 1;
            locker.present = locker.present.saturating_sub(1);
        }
    }
    if let Some(door) = reply["compartment"]["label"].as_str() {
        let events = format!("/v1/points/{}/doors/{door}/events", locker.id);
        w.call("POST", &events, &device, Some(json!({"event": "door_closed"})), &[200]).await;
    }
    None
}

/// The courier takes back a parcel nobody came for, once it has expired (tried again a few times).
async fn take_back(w: &mut Worker, at: usize, locker: &mut Locker, parcel_id: String, tries: u32) -> Option<Event> {
    let carrier = w.keys.carrier.clone();
    let path = format!("/v1/parcels/{parcel_id}/return-collection");
    let reply = w.call("POST", &path, &carrier, None, &[200, 409]).await?;
    if reply.status == 200 {
        w.report.returned += 1;
        Live::add(&w.live.done);
        locker.present = locker.present.saturating_sub(1);
        return None;
    }
    // Not expired yet: the hold window is still running.
    (tries < 120).then_some(Event::TakeBack { locker: at, parcel_id, tries: tries + 1 })
}

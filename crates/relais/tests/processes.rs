//! End-to-end tests of the real binary: `relais serve --demo` as a newcomer runs it, and the
//! concurrent-deposit race through separate `relais serve` processes sharing one PostgreSQL database.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use relais::client::Client;
use serde_json::{Value, json};

const SIZES: [&str; 3] = ["A", "B", "C"];
const SECRET_KEY: &str = "5f1e0d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100";

/// A running `relais serve`, killed when dropped.
struct Server {
    child: Child,
    address: SocketAddr,
    stdout: Vec<String>,
    /// Kept open: the server may print more, and a closed pipe would kill it.
    _pipe: BufReader<std::process::ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relais(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relais"));
    command.current_dir(dir).env("RELAIS_SECRET_KEY", SECRET_KEY).env("RELAIS_LOG", "warn");
    command
}

/// Starts `relais serve` on a free port and reads what it prints until the keys (if any) are out.
fn serve(dir: &Path, args: &[&str], lines_expected: usize) -> Server {
    serve_with(dir, args, &[], lines_expected)
}

fn serve_with(dir: &Path, args: &[&str], envs: &[(&str, &str)], lines_expected: usize) -> Server {
    let mut child = relais(dir)
        .envs(envs.iter().copied())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut stdout = Vec::new();
    while stdout.len() < lines_expected {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("relais serve exited early; it printed {stdout:?}");
        }
        stdout.push(line.trim_end().to_owned());
    }
    let address = stdout[0]
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no address in {:?}", stdout[0]))
        .parse()
        .unwrap();
    Server { child, address, stdout, _pipe: reader }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("relais-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut client = Client::connect(address).await.unwrap();
    let body = body.map(|b| b.to_string());
    let response = client.request(method, path, Some(key), body.as_deref()).await.unwrap();
    (response.status, response.json())
}

#[tokio::test]
async fn serve_demo_is_ready_to_use() {
    let dir = temp_dir("demo");
    // Without RELAIS_SECRET_KEY, as a newcomer runs it: the key file is created beside the database.
    let mut command = relais(&dir);
    command.env_remove("RELAIS_SECRET_KEY");
    let server = {
        let mut child =
            command.args(["serve", "--demo", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = Vec::new();
        while stdout.len() < 11 {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "{stdout:?}");
            stdout.push(line.trim_end().to_owned());
        }
        let address = stdout[0].split("http://").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        Server { child, address, stdout, _pipe: reader }
    };
    assert!(dir.join("relais.db").exists() && dir.join("relais.db.key").exists());
    let key_of = |label: &str| -> String {
        let line = server.stdout.iter().find(|l| l.trim_start().starts_with(label)).unwrap();
        line.split_whitespace().find(|w| w.starts_with("rk_")).unwrap().to_owned()
    };
    let operator = key_of("operator key");
    let (status, points) = call(server.address, "GET", "/v1/points?limit=500", &operator, None).await;
    assert_eq!(status, 200);
    let items = points["items"].as_array().unwrap();
    assert_eq!(items.len(), 500);
    assert!(points["next_cursor"].is_string(), "676 points do not fit one page of 500");
    let locker = items.iter().find(|p| p["kind"] == "locker").unwrap();
    let (_, detail) =
        call(server.address, "GET", &format!("/v1/points/{}", locker["id"].as_str().unwrap()), &operator, None).await;
    assert_eq!(detail["compartments"].as_array().unwrap().len(), 50);
    assert_eq!(detail["country"], "FR");

    // The printed merchant, carrier and device keys run a whole lifecycle at the printed locker.
    let device_line = server.stdout.iter().find(|l| l.contains("locker device key")).unwrap();
    let point = device_line.split("(point ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let body = json!({"point_id": point, "parcel_number": "EW112720413FR", "recipient": {"name": "Ana", "email": "ana@example.fr"},
        "dimensions_mm": {"length": 300, "width": 200, "height": 60}, "weight_g": 900});
    let (status, announced) = call(server.address, "POST", "/v1/parcels", &key_of("merchant key"), Some(body)).await;
    assert_eq!(status, 201, "{announced}");
    let parcel = announced["parcel"]["id"].as_str().unwrap();
    let (_, deposit) =
        call(server.address, "POST", &format!("/v1/parcels/{parcel}/deposit"), &key_of("carrier key"), None).await;
    assert_eq!(deposit["outcome"], "deposited", "{deposit}");
    let code = json!({"code": announced["pickup_code"]});
    let (status, pickup) =
        call(server.address, "POST", &format!("/v1/points/{point}/pickups"), &key_of("locker device key"), Some(code))
            .await;
    assert_eq!(status, 200, "{pickup}");
    assert_eq!(pickup["compartment"]["label"], deposit["compartment"]["label"]);

    // A courier's drop-off session at the printed locker: the code of the day typed on the locker, a
    // scan, the door closing; then the proof of deposit, checked offline by `relais receipt verify`
    // with the published key, and refused once altered.
    let body = json!({"point_id": point, "parcel_number": "EW123456785FR", "recipient": {"name": "Léa", "phone": "+33612345678"},
        "dimensions_mm": {"length": 200, "width": 150, "height": 40}, "weight_g": 500});
    let (status, announced) = call(server.address, "POST", "/v1/parcels", &key_of("merchant key"), Some(body)).await;
    assert_eq!(status, 201, "{announced}");
    let (_, code) =
        call(server.address, "GET", &format!("/v1/points/{point}/courier-code"), &key_of("carrier key"), None).await;
    let device = key_of("locker device key");
    let opening = json!({"courier_code": code["code"]});
    let (status, session) =
        call(server.address, "POST", &format!("/v1/points/{point}/drop-off-sessions"), &device, Some(opening)).await;
    assert_eq!(status, 201, "{session}");
    let session = session["id"].as_str().unwrap().to_owned();
    let scan = json!({"parcel_number": "EW123456785FR"});
    let (_, scanned) =
        call(server.address, "POST", &format!("/v1/drop-off-sessions/{session}/scans"), &device, Some(scan)).await;
    let door = scanned["open_door"]["door"].as_str().unwrap().to_owned();
    let closing = json!({"event": "door_closed"});
    let path = format!("/v1/points/{point}/doors/{door}/events");
    let (status, closed) = call(server.address, "POST", &path, &device, Some(closing)).await;
    assert_eq!((status, &closed["deposited"]["state"]), (200, &json!("ready_for_pickup")), "{closed}");
    call(server.address, "POST", &format!("/v1/drop-off-sessions/{session}/close"), &device, None).await;
    let (_, receipt) =
        call(server.address, "GET", &format!("/v1/drop-off-sessions/{session}/receipt"), &device, None).await;
    let (_, key) = call(server.address, "GET", "/v1/signing-key", "", None).await;
    let public_key = key["public_key"].as_str().unwrap().to_owned();
    let file = dir.join("receipt.json");
    std::fs::write(&file, serde_json::to_string_pretty(&receipt).unwrap()).unwrap();
    let verify = |file: &Path| {
        relais(&dir).args(["receipt", "verify"]).arg(file).args(["--public-key", &public_key]).output().unwrap()
    };
    let output = verify(&file);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        stdout.starts_with("valid: proof of deposit") && stdout.contains(&format!("EW123456785FR  door {door}")),
        "{stdout}"
    );
    let mut altered = receipt.clone();
    altered["document"]["deposited"][0]["at"] = json!("2026-01-01T00:00:00Z");
    let altered_file = dir.join("altered.json");
    std::fs::write(&altered_file, altered.to_string()).unwrap();
    let output = verify(&altered_file);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("NOT VALID"), "{output:?}");
    let mut own = relais(&dir);
    let output = own.env_remove("RELAIS_SECRET_KEY").arg("signing-key").output().unwrap();
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["public_key"], key["public_key"], "the key file beside the database signs");

    // The search index is built at start: the nearest points to a Lyon postcode that take a shoebox.
    assert!(server.stdout.iter().any(|l| l == "676 pickup points in the search index"), "{:?}", server.stdout);
    let path = "/v1/points/search?postcode=69003&limit=5&length_mm=350&width_mm=250&height_mm=150&weight_g=2000&free_capacity=true";
    let (status, found) = call(server.address, "GET", path, &key_of("merchant key"), None).await;
    assert_eq!(status, 200, "{found}");
    assert!(found["origin"]["label"].as_str().unwrap().starts_with("69003"), "{found}");
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{found}");
    let distances: Vec<u64> = results.iter().map(|r| r["distance_m"].as_u64().unwrap()).collect();
    assert!(distances.windows(2).all(|d| d[0] <= d[1]) && distances[4] < 5_000, "{distances:?}");
    assert!(results.iter().all(|r| r["capacity"]["level"] != "full"));
    let (status, unknown) =
        call(server.address, "GET", "/v1/points/search?postcode=00000", &key_of("merchant key"), None).await;
    assert_eq!((status, unknown["error"]["code"].as_str()), (422, Some("place_not_found")), "{unknown}");
    drop(server);

    // The KPIs of today count the two parcels deposited above, one of them collected.
    let today = relais_app::ports::Clock::now(&relais_app::SystemClock).date_naive().to_string();
    let output = relais(&dir).args(["kpi", "--from", &today, "--to", &today]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        stdout.contains(": 2 (0 deposits failed)") && stdout.contains("pickup rate in the window:   50.0 %"),
        "{stdout}"
    );
    let output = relais(&dir).args(["kpi", "--from", &today, "--to", &today, "--csv"]).output().unwrap();
    let csv = String::from_utf8_lossy(&output.stdout);
    assert!(csv.starts_with("point_id,day,deposited,") && csv.lines().count() == 3, "{csv}");

    // A second start finds the demo in place and prints the same keys again, from the keys file.
    let again = serve(&dir, &["--demo"], 11);
    assert!(again.stdout.iter().any(|l| l.contains(&operator)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// More parcels than compartments, deposited concurrently through the API. On PostgreSQL the requests
/// are spread over two `relais serve` processes sharing the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deposits_through_separate_processes() {
    let mut setups: Vec<(&str, String, usize)> = Vec::new();
    let dir = temp_dir("race");
    setups.push(("sqlite", dir.join("race.db").display().to_string(), 1));
    let postgres = relais_store::testing::postgres().await;
    if let Some(pg) = &postgres {
        setups.push(("postgres", pg.url.clone(), 2));
    }
    for (name, url, processes) in setups {
        let output =
            relais(&dir).args(["api-key", "create", "--role", "operator", "--database-url", &url]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let operator = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        let servers: Vec<Server> = (0..processes).map(|_| serve(&dir, &["--database-url", &url], 3)).collect();
        let a = servers[0].address;

        let (_, network) = call(
            a,
            "POST",
            "/v1/networks",
            &operator,
            Some(json!({"name": "race", "rules": {"reservation_hours": 0}})),
        )
        .await;
        let (_, merchant) = call(a, "POST", "/v1/merchants", &operator, Some(json!({"name": "m"}))).await;
        let compartments: Vec<Value> =
            (0..12).map(|i| json!({"label": format!("X{i:02}"), "size": SIZES[i % 3]})).collect();
        let (status, locker) = call(
            a,
            "POST",
            "/v1/points",
            &operator,
            Some(json!({
            "network_id": network["id"], "external_id": "RACE", "kind": "locker", "name": "Race",
            "address_line1": "1 rue", "postcode": "69001", "city": "Lyon", "country": "FR",
            "latitude": 45.7, "longitude": 4.8, "compartments": compartments})),
        )
        .await;
        assert_eq!(status, 201, "{name}: {locker}");
        let (_, merchant_key) = call(
            a,
            "POST",
            "/v1/api-keys",
            &operator,
            Some(json!({"role": "merchant", "merchant_id": merchant["id"], "label": "m"})),
        )
        .await;
        let (status, carrier) = call(
            a,
            "POST",
            "/v1/carriers",
            &operator,
            Some(json!({"name": "Race carrier", "networks": [network["id"]]})),
        )
        .await;
        assert_eq!(status, 201, "{name}: {carrier}");
        let (_, carrier_key) = call(
            a,
            "POST",
            "/v1/api-keys",
            &operator,
            Some(json!({"role": "carrier", "carrier_id": carrier["id"], "label": "c"})),
        )
        .await;
        let (merchant_key, carrier_key) =
            (merchant_key["secret"].as_str().unwrap().to_owned(), carrier_key["secret"].as_str().unwrap().to_owned());

        let mut parcels = Vec::new();
        for n in 0..40 {
            // One recipient each: no two parcels may share a compartment by rule.
            let body = json!({"point_id": locker["id"], "parcel_number": format!("RACE{n:05}"),
                "recipient": {"name": "R", "phone": format!("+336123456{n:02}")},
                "dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500});
            let (status, announced) = call(a, "POST", "/v1/parcels", &merchant_key, Some(body)).await;
            assert_eq!(status, 201, "{name}: {announced}");
            parcels.push(announced["parcel"]["id"].as_str().unwrap().to_owned());
        }
        let mut tasks = Vec::new();
        for (i, parcel) in parcels.iter().enumerate() {
            let address = servers[i % servers.len()].address;
            let (key, parcel) = (carrier_key.clone(), parcel.clone());
            tasks.push(tokio::spawn(async move {
                call(address, "POST", &format!("/v1/parcels/{parcel}/deposit"), &key, None).await
            }));
        }
        let (mut deposited, mut failed) = (0, 0);
        for task in tasks {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, 200, "{name}: {body}");
            match body["outcome"].as_str() {
                Some("deposited") => deposited += 1,
                Some("deposit_failed") => {
                    assert_eq!(body["reason"], "all_fitting_compartments_busy");
                    failed += 1;
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!((deposited, failed), (12, 28), "{name}");
        let (_, detail) =
            call(a, "GET", &format!("/v1/points/{}", locker["id"].as_str().unwrap()), &operator, None).await;
        let occupied = detail["compartments"].as_array().unwrap().iter().filter(|c| c["state"] == "occupied").count();
        assert_eq!(occupied, 12, "{name}");
        let mut holders = Vec::new();
        for parcel in &parcels {
            let (_, p) = call(a, "GET", &format!("/v1/parcels/{parcel}"), &operator, None).await;
            match p["state"].as_str().unwrap() {
                "ready_for_pickup" => holders.push(p["compartment_id"].as_str().unwrap().to_owned()),
                "deposit_failed" => assert!(p["compartment_id"].is_null()),
                other => panic!("{name}: {other}"),
            }
        }
        holders.sort();
        holders.dedup();
        assert_eq!(holders.len(), 12, "{name}: no compartment holds two parcels");

        // The search of the last process (on PostgreSQL not the one the locker was created through)
        // finds the locker, and full: its index follows what the processes commit, within a second or
        // so, not at its next periodic rebuild (300 s).
        let last = servers.last().unwrap().address;
        let search =
            format!("/v1/points/search?lat=45.7&lon=4.8&radius_m=1000&network_id={}", network["id"].as_str().unwrap());
        let mut seen = Value::Null;
        for _ in 0..100 {
            let (status, found) = call(last, "GET", &search, &operator, None).await;
            assert_eq!(status, 200, "{name}: {found}");
            seen = found["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|hit| hit["id"] == locker["id"])
                .cloned()
                .unwrap_or(Value::Null);
            if seen["capacity"]["free"] == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(seen["capacity"], json!({"level": "full", "free": 0}), "{name}: {seen}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The benchmark commands run end to end and end with their machine-readable line (tiny sizes: this
/// checks the plumbing and the format, not the speed).
#[test]
fn bench_commands_print_their_figures() {
    let dir = temp_dir("bench");
    let mut runs = vec![
        (
            vec!["bench", "lifecycle", "--backend", "sqlite", "--parcels", "60", "--concurrency", "4"],
            vec!["lifecycles_per_s", "p50_ms", "p99_ms", "ceiling_per_s", "ratio"],
        ),
        (
            vec![
                "bench",
                "lifecycle",
                "--backend",
                "sqlite",
                "--parcels",
                "60",
                "--concurrency",
                "4",
                "--bare-ceiling",
            ],
            vec!["lifecycles_per_s", "p50_ms", "p99_ms", "ceiling_per_s", "ratio", "bare_ceiling_per_s"],
        ),
        (
            vec!["bench", "http", "--parcels", "40", "--concurrency", "4"],
            vec!["requests_per_s", "p50_ms", "p99_ms", "baseline_requests_per_s", "ratio"],
        ),
        (
            vec!["bench", "import", "--points", "3000"],
            vec!["import_points", "import_s", "diff_import_s", "parse_baseline_s", "ratio"],
        ),
        (
            vec!["bench", "orders", "--orders", "40", "--concurrency", "4"],
            vec!["orders_per_s", "p50_ms", "p99_ms", "baseline_announces_per_s", "ratio"],
        ),
        (
            vec!["bench", "labels", "--labels", "50", "--pdf-labels", "5"],
            vec!["zpl_per_s", "pdf_per_s", "baseline_zpl_per_s"],
        ),
        (
            vec!["bench", "tracking", "--parcels", "90", "--concurrency", "4"],
            vec!["tracking_events_per_s", "parse_only_events_per_s", "ratio"],
        ),
        (
            vec!["bench", "console", "--points", "3000", "--requests", "3"],
            vec![
                "points_all_p50_ms",
                "points_all_p99_ms",
                "points_all_baseline_ms",
                "points_all_ratio",
                "points_lockers_80_p50_ms",
                "points_lockers_80_p99_ms",
                "points_lockers_80_baseline_ms",
                "points_lockers_80_ratio",
                "points_words_p50_ms",
                "points_words_p99_ms",
                "points_words_baseline_ms",
                "points_words_ratio",
                "kpis_30_days_p50_ms",
                "kpis_30_days_p99_ms",
                "kpis_30_days_baseline_ms",
                "kpis_30_days_ratio",
                "map_europe_p50_ms",
                "map_europe_p99_ms",
                "map_europe_baseline_ms",
                "map_europe_ratio",
                "map_city_p50_ms",
                "map_city_p99_ms",
                "map_city_baseline_ms",
                "map_city_ratio",
            ],
        ),
    ];
    let postgres = relais_store::testing::postgres_url();
    if let Some(url) = &postgres {
        let args = vec![
            "bench",
            "lifecycle",
            "--backend",
            "postgres",
            "--database-url",
            url,
            "--parcels",
            "30",
            "--concurrency",
            "3",
            "--bare-ceiling",
        ];
        runs.push((args, vec!["lifecycles_per_s", "p50_ms", "p99_ms", "ceiling_per_s", "ratio", "bare_ceiling_per_s"]));
        let args = vec![
            "bench",
            "http",
            "--backend",
            "postgres",
            "--database-url",
            url,
            "--parcels",
            "40",
            "--concurrency",
            "4",
        ];
        runs.push((args, vec!["requests_per_s", "p50_ms", "p99_ms", "baseline_requests_per_s", "ratio"]));
        // PostGIS is installed wherever the PostgreSQL suite runs (.ci/run installs it).
        let args = vec![
            "bench",
            "search",
            "--points",
            "3000",
            "--queries",
            "300",
            "--http-requests",
            "300",
            "--postgis-url",
            url,
            "--postgis-queries",
            "100",
        ];
        runs.push((args, vec!["search_p50_us", "search_p99_us", "postgis_p50_us", "speedup"]));
    }
    for (args, keys) in runs {
        let output = relais(&dir).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let last = stdout.lines().last().unwrap();
        let fields: Vec<(&str, f64)> = last
            .split(' ')
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap();
                (key, value.parse().unwrap())
            })
            .collect();
        assert_eq!(fields.iter().map(|(k, _)| *k).collect::<Vec<_>>(), keys, "{last}");
        assert!(fields.iter().all(|(_, v)| *v > 0.0), "{last}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `relais hours eval`: JSON Lines on stdout, and for an invalid value a non-zero exit with the reason.
#[test]
fn hours_eval_prints_json_lines_or_a_clear_error() {
    let dir = temp_dir("hours");
    let output = relais(&dir)
        .args(["hours", "eval", "Mo-Sa 08:00-20:00; PH off", "--from", "2026-12-24 00:00"])
        .args(["--to", "2026-12-27 00:00", "--tz", "Europe/Paris", "--country", "FR"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Christmas Day is a public holiday; the 27th is a Sunday.
    assert_eq!(
        lines,
        vec![
            json!({"from": "2026-12-24 08:00", "to": "2026-12-24 20:00", "unknown": false}),
            json!({"from": "2026-12-26 08:00", "to": "2026-12-26 20:00", "unknown": false}),
        ]
    );

    let output = relais(&dir)
        .args(["hours", "eval", "Mo-Fr 9h-12h", "--from", "2026-12-24 00:00", "--to", "2026-12-25 00:00"])
        .args(["--tz", "Europe/Paris"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("opening hours are not valid: at line:column 1:"), "{stderr}");
}

const LAPOSTE_EXCERPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../registry/tests/fixtures/laposte_excerpt.csv");

/// `relais import points` from an HTTPS URL (dry run) and from a drop folder, against the demo database;
/// then `serve` watching a drop folder imports what is dropped there. A file nested too deep is refused
/// (it would overflow a recursive reader), and a file an import left in `processing/` when relais
/// stopped is refused, not tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_points_from_a_url_a_drop_folder_and_the_serve_job() {
    let dir = temp_dir("import");
    let demo = serve(&dir, &["--demo"], 11);
    let network = demo.stdout.iter().find_map(|l| l.trim().strip_prefix("network")).unwrap().trim().to_owned();
    drop(demo);

    let excerpt = std::fs::read(LAPOSTE_EXCERPT).unwrap();
    let mut answers = std::collections::HashMap::new();
    answers.insert("/export/points.csv".to_owned(), relais_edge::testing::Answer::ok("text/csv", excerpt.clone()));
    let server = relais_edge::testing::HttpsServer::start(answers).await.unwrap();
    let url = server.url("/export/points.csv");
    // Without the operator's certificate authority the server is not trusted.
    let output = relais(&dir)
        .args(["import", "points", "--network", &network, "--format", "laposte", "--dry-run", &url])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("certificate"), "{output:?}");
    let output = relais(&dir)
        .env("RELAIS_OUTBOUND_CA_FILES", relais_edge::testing::TEST_CA)
        .args(["import", "points", "--network", &network, "--format", "laposte", "--dry-run"])
        .args(["--removal-share-max", "1", "--error-share-max", "0.2", &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("dry run: would apply"), "{stdout}");
    assert!(stdout.contains("rows: 14 read, 2 refused"), "{stdout}");
    assert!(stdout.contains("line 14 (10745D): the point has no coordinates"), "{stdout}");
    assert!(stdout.contains("diff:\n"), "a dry run prints the diff: {stdout}");

    // Without raising the removal limit the same file is refused whole: it would close most of the demo.
    let output = relais(&dir)
        .args(["import", "points", "--network", &network, "--format", "laposte", "--error-share-max", "0.2"])
        .arg(LAPOSTE_EXCERPT)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("REFUSED"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 file(s) refused"));

    let drop_dir = dir.join("drop");
    std::fs::create_dir_all(&drop_dir).unwrap();
    std::fs::write(drop_dir.join("2026-11-27.csv"), &excerpt).unwrap();
    std::fs::write(drop_dir.join("2026-11-28.csv"), "not;a;la poste;file\n1;2;3;4\n").unwrap();
    std::fs::write(drop_dir.join("2026-11-29.csv.part"), "still uploading").unwrap();
    // An import stopped half-way by a crash left this one in processing/.
    std::fs::create_dir_all(drop_dir.join("processing")).unwrap();
    std::fs::write(drop_dir.join("processing/2026-11-26.csv"), &excerpt).unwrap();
    let output = relais(&dir)
        .args(["import", "points", "--network", &network, "--format", "laposte", "--removal-share-max", "1"])
        .args(["--error-share-max", "0.2"])
        .arg(&drop_dir)
        .output()
        .unwrap();
    assert!(!output.status.success(), "one file is refused");
    assert!(drop_dir.join("done/2026-11-27.csv").exists());
    let report = std::fs::read_to_string(drop_dir.join("done/2026-11-27.csv.report.txt")).unwrap();
    assert!(report.contains(": applied") && report.contains("rows: 14 read, 2 refused"), "{report}");
    let refused = std::fs::read_to_string(drop_dir.join("refused/2026-11-28.csv.report.txt")).unwrap();
    assert!(refused.contains("the header lacks the column(s)"), "{refused}");
    assert!(drop_dir.join("2026-11-29.csv.part").exists(), "a partial upload is left alone");
    let interrupted = std::fs::read_to_string(drop_dir.join("refused/2026-11-26.csv.report.txt")).unwrap();
    assert!(interrupted.contains("relais stopped while importing this file"), "{interrupted}");
    assert!(!drop_dir.join("processing/2026-11-26.csv").exists(), "never tried again");

    // A Mondial Relay answer nested 100,000 levels deep (700 KB): refused with its line, the drop folder
    // goes on, and the same file given alone is refused too.
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let deep_dir = dir.join("deep");
    std::fs::create_dir_all(&deep_dir).unwrap();
    std::fs::write(deep_dir.join("bomb.xml"), &deep).unwrap();
    let output = relais(&dir)
        .args(["import", "points", "--network", &network, "--format", "mondial_relay"])
        .arg(&deep_dir)
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let report = std::fs::read_to_string(deep_dir.join("refused/bomb.xml.report.txt")).unwrap();
    assert!(report.contains("nested more than 64 levels"), "{report}");
    let output = relais(&dir)
        .args(["import", "points", "--network", &network, "--format", "mondial_relay", "--dry-run"])
        .arg(deep_dir.join("refused/bomb.xml"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("REFUSED"), "{output:?}");

    // The registry changed: the CLI search finds the imported points of Lyon 2e.
    let output = relais(&dir).args(["points", "search", "--postcode", "69002", "--limit", "3"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("3 results near") && stdout.contains("(69002"), "{stdout}");

    // serve watches a drop folder from its configuration.
    let watched = dir.join("watched");
    std::fs::create_dir_all(&watched).unwrap();
    let config = dir.join("relais.toml");
    std::fs::write(
        &config,
        format!(
            "[[drop_folders]]\nnetwork = \"{network}\"\nformat = \"laposte\"\nfolder = \"{}\"\ninterval_seconds = 1\nremoval_share_max = 1.0\nerror_share_max = 0.2\n",
            watched.display()
        ),
    )
    .unwrap();
    let server = serve(&dir, &["--config", config.to_str().unwrap()], 4);
    assert!(server.stdout[3].starts_with("watching"), "{:?}", server.stdout);
    // As a supplier should: written under a `.part` name the watcher skips, then renamed, so the watcher
    // never reads half a file.
    std::fs::write(watched.join("daily.csv.part"), &excerpt).unwrap();
    std::fs::rename(watched.join("daily.csv.part"), watched.join("daily.csv")).unwrap();
    let done = watched.join("done/daily.csv.report.txt");
    let refused = watched.join("refused/daily.csv.report.txt");
    // Up to 30 s: the other end-to-end tests run beside this one on 2 cores.
    for _ in 0..300 {
        if done.exists() || refused.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!refused.exists(), "{}", std::fs::read_to_string(&refused).unwrap_or_default());
    let report = std::fs::read_to_string(&done).unwrap();
    assert!(report.contains(": applied"), "{report}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `relais locker-sim` against a real server whose clock runs 50,000 times faster (a day in 1.7 s): the lockers beat,
/// couriers deposit through sessions, three recipients in four come, and the other parcels expire and
/// are taken back; half the parcels are a second one for the previous recipient, who collects both
/// with one code when they shared a door. Every answer is the expected one, and the server shows what
/// happened.
#[tokio::test]
async fn locker_sim_runs_lockers_and_the_people_at_them() {
    let dir = temp_dir("sim");
    let server =
        serve_with(&dir, &["--demo"], &[("RELAIS_TIME_SCALE", "50000"), ("RELAIS_SWEEP_INTERVAL_SECONDS", "1")], 11);
    let operator = server
        .stdout
        .iter()
        .find(|l| l.trim_start().starts_with("operator key"))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("rk_")))
        .unwrap()
        .to_owned();
    let output = relais(&dir)
        .args(["locker-sim", "--server", &format!("http://{}", server.address), "--operator-key", &operator])
        .args(["--lockers", "4", "--parcels", "40", "--heartbeat-seconds", "0.5", "--pickup-share", "0.75"])
        .args(["--pickup-within-seconds", "0.5", "--connections", "2", "--seed", "7", "--second-parcel-share", "0.5"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let figures: std::collections::HashMap<&str, f64> =
        stdout.trim().split(' ').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k, v.parse().unwrap())).collect();
    assert_eq!((figures["lockers"], figures["unexpected"]), (4.0, 0.0), "{stdout}");
    assert_eq!((figures["announced"], figures["deposited"], figures["deposit_failed"]), (40.0, 40.0, 0.0), "{stdout}");
    assert_eq!(figures["collected"] + figures["returned"], 40.0, "{stdout}");
    assert!(figures["returned"] > 0.0 && figures["collected"] > 0.0 && figures["heartbeats"] >= 4.0, "{stdout}");
    assert!(figures["shared"] > 0.0, "some parcels went out through a shared door: {stdout}");

    // The server's side: the first simulated locker has beaten, with its doors, and is empty again.
    let (_, points) = call(server.address, "GET", "/v1/points?limit=500", &operator, None).await;
    let locker = points["items"].as_array().unwrap().iter().find(|p| p["kind"] == "locker").unwrap();
    let id = locker["id"].as_str().unwrap();
    let (_, device) = call(server.address, "GET", &format!("/v1/points/{id}/device"), &operator, None).await;
    assert_eq!(device["firmware"], "locker-sim", "{device}");
    assert_eq!(device["doors"].as_array().unwrap().len(), 50);
    let (_, detail) = call(server.address, "GET", &format!("/v1/points/{id}"), &operator, None).await;
    let busy = detail["compartments"].as_array().unwrap().iter().filter(|c| c["state"] != "available").count();
    assert_eq!(busy, 0, "every parcel was collected or taken back: {detail}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Clients holding connections open without finishing their headers (slowloris) neither exhaust the
/// server nor keep others out: over the per-client limit a connection is closed at once, another client
/// is served meanwhile, and the half-open connections are cut when the header timeout passes.
#[tokio::test]
async fn half_open_connections_are_limited_and_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    let dir = temp_dir("slowloris");
    std::fs::write(
        dir.join("relais.toml"),
        "[server]\nheader_read_timeout_seconds = 2\nconnections_max = 1000\nconnections_per_client_max = 20\n",
    )
    .unwrap();
    let server = serve(&dir, &["--config", "relais.toml"], 1);
    let from = |ip: [u8; 4]| {
        let address = server.address;
        async move {
            let socket = TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from((ip, 0))).unwrap();
            socket.connect(address).await.unwrap()
        }
    };
    async fn healthz(mut stream: TcpStream) -> String {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: relais\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_string(&mut answer));
        read.await.map(|_| answer).unwrap_or_default()
    }
    let mut half_open = Vec::new();
    for _ in 0..20 {
        let mut stream = from([127, 0, 0, 1]).await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: relais\r\n").await.unwrap();
        half_open.push(stream);
    }
    // The 21st from the same address is closed before anything is read.
    let over = healthz(from([127, 0, 0, 1]).await).await;
    assert!(over.is_empty(), "{over}");
    // Another client is served meanwhile.
    let other = healthz(from([127, 0, 0, 2]).await).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // After the header timeout the server has closed the half-open ones, and the address is served again.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    for stream in &mut half_open {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut byte)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "closed by the server: {read:?}");
    }
    let again = healthz(from([127, 0, 0, 1]).await).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

/// `relais tracking parse`: a carrier's raw answer (La Poste's, from the shared fixtures) printed as
/// JSON Lines, oldest first, in the events' local time; a bad answer or an unknown carrier exits 1
/// with the reason.
#[test]
fn tracking_parse_prints_events_oldest_first_or_fails_clearly() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/payloads/carriers/laposte.json");
    let Ok(text) = std::fs::read_to_string(&fixture) else {
        assert!(std::env::var_os("RELAIS_REQUIRE_SHARED_DATA").is_none(), "{} is required", fixture.display());
        return;
    };
    let dir = temp_dir("tracking");
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let answer = dir.join("laposte.json");
    std::fs::write(&answer, fixture["tracking"]["TrackingResponse"].as_str().unwrap()).unwrap();
    let output = relais(&dir).args(["tracking", "parse", "--carrier", "laposte"]).arg(&answer).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 9);
    assert_eq!(
        lines[0],
        json!({"at": "2023-02-17T14:41:00+01:00", "code": "DR1",
        "description": "Votre Colissimo va bientôt nous être confié ! Il est en cours de préparation chez votre expéditeur.",
        "status": "pending", "place": null})
    );
    assert_eq!((lines[8]["code"].as_str(), lines[8]["status"].as_str()), (Some("DI1"), Some("delivered")));

    let page = dir.join("page.html");
    std::fs::write(&page, "<html><body>Service unavailable</body></html>").unwrap();
    let output = relais(&dir).args(["tracking", "parse", "--carrier", "gls"]).arg(&page).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a gls tracking answer"), "{output:?}");
    let output = relais(&dir).args(["tracking", "parse", "--carrier", "pigeon"]).arg(&page).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("laposte, colissimo, gls"), "{output:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's merchant key, and a parcel it announces to the demo's locker under `number`.
async fn demo_parcel(server: &Server, number: &str) -> (String, String) {
    let key_of = |label: &str| -> String {
        let line = server.stdout.iter().find(|l| l.trim_start().starts_with(label)).unwrap();
        line.split_whitespace().find(|w| w.starts_with("rk_")).unwrap().to_owned()
    };
    let merchant = key_of("merchant key");
    let device_line = server.stdout.iter().find(|l| l.contains("locker device key")).unwrap();
    let point = device_line.split("(point ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let body = json!({"point_id": point, "parcel_number": number, "recipient": {"name": "Ana", "email": "ana@example.fr"},
        "dimensions_mm": {"length": 300, "width": 200, "height": 60}, "weight_g": 900});
    let (status, announced) = call(server.address, "POST", "/v1/parcels", &merchant, Some(body)).await;
    assert_eq!(status, 201, "{announced}");
    (merchant, announced["parcel"]["id"].as_str().unwrap().to_owned())
}

/// What the imitation of La Poste's Suivi API saw: each request's path and its `X-Okapi-Key`.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>;

/// La Poste's Suivi API v2 on 127.0.0.1 (`GET /suivi/v2/idships/{id}`, the key in `X-Okapi-Key`, a 401
/// without it, as La Poste documents): answers `answer` for `EW112720413FR`, La Poste's 404 otherwise.
async fn laposte_api(answer: String, seen: Seen) -> SocketAddr {
    use axum::extract::{OriginalUri, Path as UrlPath};
    use axum::http::{HeaderMap, StatusCode};
    let route = move |UrlPath(id): UrlPath<String>, OriginalUri(uri): OriginalUri, headers: HeaderMap| {
        let (answer, seen) = (answer.clone(), seen.clone());
        async move {
            let key = headers.get("x-okapi-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
            seen.lock().unwrap().push((uri.to_string(), key.clone()));
            let json = |status: StatusCode, body: String| (status, [("content-type", "application/json")], body);
            if key.as_deref() != Some("okapi-test-key") {
                return json(StatusCode::UNAUTHORIZED, r#"{"code":"UNAUTHORIZED","message":"Invalid API key"}"#.into());
            }
            if id != "EW112720413FR" {
                return json(
                    StatusCode::NOT_FOUND,
                    json!({"returnCode": 404, "returnMessage": "Numéro inconnu", "idShip": id}).to_string(),
                );
            }
            json(StatusCode::OK, answer)
        }
    };
    let router = axum::Router::new().route("/suivi/v2/idships/{id}", axum::routing::get(route));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// `relais serve` follows a parcel at La Poste: its `[tracking]` job polls a local server speaking La
/// Poste's Suivi API with the configured key, stores the real answer's events once, shows them in the
/// parcel's timeline with relais' own, and stops polling once the parcel is delivered.
#[tokio::test]
async fn serve_polls_a_carrier_with_its_key_until_the_parcel_is_delivered() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/payloads/carriers/laposte.json");
    let Ok(text) = std::fs::read_to_string(&fixture) else {
        assert!(std::env::var_os("RELAIS_REQUIRE_SHARED_DATA").is_none(), "{} is required", fixture.display());
        return;
    };
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let seen = Seen::default();
    let carrier = laposte_api(fixture["tracking"]["TrackingResponse"].as_str().unwrap().to_owned(), seen.clone()).await;
    let dir = temp_dir("polling");
    let config = format!(
        "[tracking]\npoll_interval_seconds = 1\n\n[tracking.carriers.laposte]\n\
         url = \"http://{carrier}/suivi/v2/idships/{{number}}?lang=fr_FR\"\n\
         headers = {{ \"X-Okapi-Key\" = \"okapi-test-key\" }}\nrequests_per_minute = 120\n"
    );
    std::fs::write(dir.join("relais.toml"), config).unwrap();
    let server = serve(&dir, &["--demo", "--config", "relais.toml"], 11);
    let (merchant, parcel) = demo_parcel(&server, "6A18987120921").await;
    let path = format!("/v1/parcels/{parcel}/tracking");
    let (status, unknown) =
        call(server.address, "PUT", &path, &merchant, Some(json!({"carrier": "pigeon", "tracking_number": "X1"})))
            .await;
    assert_eq!(status, 422, "{unknown}");
    // A number La Poste does not know: its 404 read as such, polled again later, no error kept.
    let (_, other) = demo_parcel(&server, "6A18987120922").await;
    let unknown = json!({"carrier": "laposte", "tracking_number": "6A00000000000"});
    let (status, _) =
        call(server.address, "PUT", &format!("/v1/parcels/{other}/tracking"), &merchant, Some(unknown)).await;
    assert_eq!(status, 200);
    let follow = json!({"carrier": "laposte", "tracking_number": "EW112720413FR"});
    let (status, followed) = call(server.address, "PUT", &path, &merchant, Some(follow)).await;
    assert_eq!(status, 200, "{followed}");
    assert_eq!(followed["carrier"], "laposte");

    let mut timeline = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        timeline = call(server.address, "GET", &path, &merchant, None).await.1;
        if timeline["status"] == "delivered" {
            break;
        }
    }
    assert_eq!(timeline["status"], "delivered", "{timeline}");
    assert_eq!(timeline["next_poll_at"], Value::Null, "a delivered parcel is not polled again");
    let events = timeline["events"].as_array().unwrap();
    let carrier_events: Vec<&Value> = events.iter().filter(|e| e["source"] == "carrier").collect();
    assert_eq!(carrier_events.len(), 9, "{timeline}");
    assert_eq!(carrier_events[0]["code"], "DR1");
    assert_eq!(carrier_events[0]["at"], "2023-02-17T14:41:00+01:00");
    assert_eq!(carrier_events[8]["code"], "DI1");
    assert!(events.iter().any(|e| e["source"] == "relais" && e["code"] == "announced"), "{timeline}");
    // Asked with the key, in the configured language; after the delivery, not again.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let seen = seen.lock().unwrap().clone();
    let delivered: Vec<_> = seen.iter().filter(|(path, _)| path.contains("EW112720413FR")).collect();
    assert_eq!(
        delivered,
        [&("/suivi/v2/idships/EW112720413FR?lang=fr_FR".to_owned(), Some("okapi-test-key".to_owned()))]
    );
    assert!(seen.iter().all(|(_, key)| key.as_deref() == Some("okapi-test-key")));
    let (_, waiting) = call(server.address, "GET", &format!("/v1/parcels/{other}/tracking"), &merchant, None).await;
    assert_eq!((&waiting["last_error"], &waiting["status"]), (&Value::Null, &Value::Null), "{waiting}");
    assert!(waiting["next_poll_at"].is_string(), "a number not known yet is asked again: {waiting}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `relais claims late`: the late deliveries a `serve` recorded (a parcel pushed by GLS a working day
/// late against its J+2 promise), as CSV and as GLS's claim file, marked filed once sent; bad
/// arguments exit 1 with the reason.
#[tokio::test]
async fn claims_late_lists_a_carriers_late_deliveries_and_marks_them_filed() {
    let dir = temp_dir("claims");
    let config = "[tracking]\npoll_interval_seconds = 1\n\n[tracking.carriers.gls]\n\
        url = \"http://127.0.0.1:9/tracking/references/{number}\"\n\
        push_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n";
    std::fs::write(dir.join("relais.toml"), config).unwrap();
    let server = serve(&dir, &["--demo", "--config", "relais.toml"], 11);
    let (merchant, parcel) = demo_parcel(&server, "LATE000001").await;
    let follow = json!({"carrier": "gls", "tracking_number": "ZL1", "service_days": 2,
        "shipping_price": {"amount_cents": 590, "currency": "EUR"}});
    let (status, followed) =
        call(server.address, "PUT", &format!("/v1/parcels/{parcel}/tracking"), &merchant, Some(follow)).await;
    assert_eq!(status, 200, "{followed}");
    // GLS pushes the parcel's journey: taken on Monday 2 November 2026, due Wednesday 4, at its
    // ParcelShop on Thursday 5: one working day late, 25 % of 5.90 = 1.475, rounded to 1.48.
    let answer = json!({"parcels": [{"requested": "ZL1", "events": [
        {"code": "DELIVEREDPS.NORMAL", "eventDateTime": "2026-11-05T10:00:00+0100", "description": "ParcelShop"},
        {"code": "INTRANSIT.NORMAL", "eventDateTime": "2026-11-03T04:00:00+0100", "description": "Transit"},
        {"code": "INITIAL.NORMAL", "eventDateTime": "2026-11-02T11:00:00+0100", "description": "Remis"}]}]})
    .to_string();
    let secret = relais_messages::webhooks::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let now = relais_app::Clock::now(&relais_app::SystemClock).timestamp();
    let signature = secret.sign("msg_late", now, answer.as_bytes());
    // Over the HTTP client relais calls carriers with.
    let client = relais_edge::http::HttpClient::new(&relais_edge::http::HttpConfig::default()).unwrap();
    let request = client
        .inner()
        .post(format!("http://{}/v1/carriers/gls/tracking/ZL1", server.address))
        .header("content-type", "application/json")
        .header("webhook-id", "msg_late")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(answer);
    let pushed = client.send(request).await.unwrap();
    assert_eq!(pushed.status, 200, "{}", pushed.text());
    // The promise review runs after each tracking round (every second here).
    let mut claims = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        claims = call(server.address, "GET", "/v1/claims?kind=late", &merchant, None).await.1;
        if claims.as_array().is_some_and(|c| !c.is_empty()) {
            break;
        }
    }
    assert_eq!(claims[0]["amount_claimed_cents"], 148, "{claims}");
    drop(server);

    let late = |extra: &[&str]| {
        relais(&dir)
            .args(["claims", "late", "--carrier", "gls", "--from", "2026-11-01", "--to", "2026-11-30"])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = late(&["--format", "claim"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "parcel_number,tracking_number,shipped_on,promised_on,delivered_on,working_days_late,shipping_price,compensation_rate,amount_claimed,currency\n\
         LATE000001,ZL1,2026-11-02,2026-11-04,2026-11-05,1,5.90,25%,1.48,EUR\n"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 late deliveries, 1.48 due"));
    let output = late(&["--mark-filed"]);
    let csv = String::from_utf8(output.stdout).unwrap();
    assert!(csv.contains(",late,to_file,gls,LATE000001,ZL1,2026-11-02,2026-11-04,"), "{csv}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 claims recorded as filed"));
    let output = late(&[]);
    assert!(String::from_utf8(output.stdout).unwrap().contains(",late,filed,gls,LATE000001,"));
    let october = relais(&dir)
        .args(["claims", "late", "--carrier", "gls", "--from", "2026-10-01", "--to", "2026-10-31"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(october.stdout).unwrap().lines().count(), 1, "the header alone");
    for bad in [
        vec!["claims", "late", "--carrier", "pigeon", "--from", "2026-11-01", "--to", "2026-11-30"],
        vec!["claims", "late", "--carrier", "gls", "--from", "2026-11-30", "--to", "2026-11-01"],
        vec!["claims", "late", "--carrier", "gls", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xml"],
    ] {
        let output = relais(&dir).args(&bad).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{bad:?}");
        assert!(!output.stderr.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

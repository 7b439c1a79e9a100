//! `relais`: the one binary. Subcommands wire configuration, a store and the use cases together;
//! they hold no rules of their own.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use relais_app::{App, Caller, OsRandom, Role, Secrets, SystemClock};
use relais_http::HttpConfig;

use relais::config::{self, Config, Flags};

/// mimalloc instead of the system allocator: imports and searches allocate and free millions of small
/// strings, where glibc's allocator spends a third of the time (measured: docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use relais::outlets::{Channels, deliver_forever};
use relais::{bench, demo, points};

#[derive(Parser)]
#[command(name = "relais", version, about = "Out-of-home parcel delivery: pickup points, lockers, parcels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone, Default)]
struct Common {
    /// A TOML configuration file (see `relais config example`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// SQLite file path or postgres://... URL [default: relais.db]
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the API and the background jobs.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<String>,
        /// Creates the demo network (real La Poste points of Rhône, Ain, Loire) if the database is empty,
        /// and prints demo API keys.
        #[arg(long)]
        demo: bool,
    },
    /// Delivers the outbox (e-mail, SMS, webhooks) with no API: a process to scale apart from `serve`
    /// on PostgreSQL (several workers never take the same message).
    Worker {
        #[command(flatten)]
        common: Common,
    },
    /// Applies pending database migrations and exits.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// API keys: create, list, revoke, rotate.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Carriers: the companies whose couriers deposit and take back parcels.
    Carrier {
        #[command(subcommand)]
        command: CarrierCommand,
    },
    /// Parcel numbers: SSCCs of a merchant's series, issued ahead.
    Numbers {
        #[command(subcommand)]
        command: NumbersCommand,
    },
    /// Carriers' tracking answers.
    Tracking {
        #[command(subcommand)]
        command: TrackingCommand,
    },
    /// Claims against carriers (docs/claims.md).
    Claims {
        #[command(subcommand)]
        command: ClaimsCommand,
    },
    /// The operator console's accounts.
    Console {
        #[command(subcommand)]
        command: ConsoleCommand,
    },
    /// Opening hours (OpenStreetMap `opening_hours` syntax).
    Hours {
        #[command(subcommand)]
        command: HoursCommand,
    },
    /// Imports operators' point files into the registry.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// The pickup-point registry: search.
    Points {
        #[command(subcommand)]
        command: PointsCommand,
    },
    /// KPIs of the parcels deposited in a period (docs/kpis.md), per point and day, as a table or CSV.
    Kpi {
        #[command(flatten)]
        common: Common,
        /// First UTC day of deposit, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last UTC day of deposit, included.
        #[arg(long)]
        to: String,
        #[arg(long)]
        point: Option<String>,
        #[arg(long)]
        network: Option<String>,
        /// CSV on stdout (point_id,day,... one row per point and day, then the total).
        #[arg(long)]
        csv: bool,
    },
    /// Simulates lockers (heartbeats, doors) and, with --parcels, the merchants, couriers and recipients
    /// at them, against a running server over HTTP. Prints a summary line at the end.
    LockerSim(relais::locker_sim::SimOptions),
    /// Proofs of deposit of courier drop-off sessions.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// Prints this instance's public signing key (what `GET /v1/signing-key` publishes).
    SigningKey {
        #[command(flatten)]
        common: Common,
    },
    /// Benchmarks that print their figure and its baseline, measured in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Checks a proof of deposit (the JSON of `GET /v1/drop-off-sessions/{id}/receipt`) offline, with
    /// the platform's public key; exits 1 if it is not valid.
    Verify {
        /// The receipt file.
        file: PathBuf,
        /// The platform's public key, 64 hex digits (`GET /v1/signing-key` or `relais signing-key`).
        #[arg(long)]
        public_key: String,
    },
}

#[derive(Subcommand)]
enum HoursCommand {
    /// Prints the open intervals of a value between two local times, as JSON Lines in local time. A
    /// value read with tolerance (`10-12`, `Mon - Fri`...) prints warnings on standard error, with the
    /// value it is stored as.
    Eval {
        /// The opening_hours value, e.g. 'Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH off'.
        #[arg(required_unless_present = "values", conflicts_with = "values")]
        value: Option<String>,
        /// A file of values, one per line: one JSON line per value (stored form, warnings, intervals
        /// or error).
        #[arg(long)]
        values: Option<std::path::PathBuf>,
        /// Local date and time, YYYY-MM-DD HH:MM.
        #[arg(long)]
        from: String,
        /// Local date and time, YYYY-MM-DD HH:MM.
        #[arg(long)]
        to: String,
        /// IANA timezone of the point, e.g. Europe/Paris.
        #[arg(long)]
        tz: String,
        /// ISO 3166 country code for public holidays (PH), e.g. FR.
        #[arg(long)]
        country: Option<String>,
        /// Latitude of the point, for sun events (sunrise, sunset, dawn, dusk); with --lon.
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        /// Longitude of the point; with --lat.
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Imports a point file, or every file of a drop folder (then moved to done/ or refused/), into a
    /// network: validates every row, diffs against the registry and applies the diff atomically, or
    /// refuses the whole file. Exits non-zero if a file is refused.
    Points {
        #[command(flatten)]
        common: Common,
        /// The network's id.
        #[arg(long)]
        network: String,
        /// csv, jsonl, laposte, mondial_relay, inpost, dpd or colissimo (docs/import-formats.md).
        #[arg(long)]
        format: String,
        /// utf-8 or iso-8859-1.
        #[arg(long, default_value = "utf-8")]
        encoding: String,
        /// Prints the diff and changes nothing.
        #[arg(long)]
        dry_run: bool,
        /// Largest share of bad rows accepted (0 to 1).
        #[arg(long, default_value_t = 0.05)]
        error_share_max: f64,
        /// Largest share of the network's points one file may remove (0 to 1).
        #[arg(long, default_value_t = 0.2)]
        removal_share_max: f64,
        /// A file, a drop folder (each file imported in name order, then moved to done/ or refused/
        /// with its report), or an https:// (or http://) URL.
        path: PathBuf,
    },
    /// Imports a file of a merchant's orders (docs/orders.md): every line checked first, a bad one
    /// refuses the file (nothing created, exit 1); then each order created once (a file imported
    /// again creates nothing twice). Prints one line per order.
    Orders {
        #[command(flatten)]
        common: Common,
        /// The merchant's id.
        #[arg(long)]
        merchant: String,
        /// csv or jsonl.
        #[arg(long)]
        format: String,
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum PointsCommand {
    /// The nearest points to a position, postcode or city that suit a parcel.
    Search {
        #[command(flatten)]
        common: Common,
        /// LAT,LON
        #[arg(long)]
        near: Option<String>,
        #[arg(long)]
        postcode: Option<String>,
        #[arg(long)]
        city: Option<String>,
        #[arg(long, default_value = "FR")]
        country: String,
        #[arg(long)]
        radius_m: Option<f64>,
        #[arg(long, default_value_t = 10)]
        limit: u32,
        /// Parcel as LENGTHxWIDTHxHEIGHT in mm, e.g. 300x200x150.
        #[arg(long)]
        parcel_mm: Option<String>,
        #[arg(long)]
        weight_g: Option<i64>,
        /// Local arrival day, YYYY-MM-DD: the point must be open that day and half the hold window.
        #[arg(long)]
        arrival: Option<String>,
        /// Only points with room now.
        #[arg(long)]
        free_capacity: bool,
    },
}

#[derive(Subcommand)]
enum ConsoleCommand {
    /// Creates a console account; its password is read from RELAIS_CONSOLE_PASSWORD, or else from the
    /// first line of standard input (never from the command line, which other users can see).
    CreateAccount {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, operator, read_only or merchant
        #[arg(long)]
        role: String,
        /// A merchant account's merchant.
        #[arg(long)]
        merchant_id: Option<String>,
    },
    /// Writes the digests of parcels' phone numbers and e-mail addresses by which the console finds
    /// them, for parcels announced before they were written with each parcel (once after upgrading).
    IndexContacts {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum ClaimsCommand {
    /// The late deliveries of a carrier over a period, with the compensation due on its scale, as CSV
    /// (relais' columns) or as the carrier's claim file.
    Late {
        #[command(flatten)]
        common: Common,
        /// The carrier's name (laposte, colissimo, chronopost, dpd, gls...).
        #[arg(long)]
        carrier: String,
        /// Delivered on or after this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Delivered up to the end of this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        to: chrono::NaiveDate,
        /// `csv` (relais' columns) or `claim` (the carrier's claim file).
        #[arg(long, default_value = "csv")]
        format: String,
        /// Record the claims listed that were to file as filed (the file was sent to the carrier).
        #[arg(long)]
        mark_filed: bool,
    },
}

#[derive(Subcommand)]
enum TrackingCommand {
    /// Reads one raw tracking answer of a carrier and prints its events, oldest first, one JSON object
    /// a line: `{"at", "code", "description", "status", "place"}`; exit status 1 on a bad answer.
    Parse {
        /// One of laposte, colissimo, chronopost, dpd, gls, dhl_parcel_de, postat, bpost, ups, fedex,
        /// dhl_express, usps, hermes.
        #[arg(long)]
        carrier: String,
        /// The carrier's answer as received (`-`: standard input).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// A locker network's traffic (heartbeats, drop-off sessions, pickups, expiries, take-backs) from
    /// `relais locker-sim` processes against a `relais serve`, vs GET /healthz on the same server.
    Network {
        #[arg(long, default_value_t = 20_000)]
        lockers: usize,
        #[arg(long, default_value_t = 1_000_000)]
        parcels: u64,
        /// postgres://... (a fresh schema is created and dropped); SQLite in a temporary directory by default.
        #[arg(long)]
        database_url: Option<String>,
        /// `relais locker-sim` processes sharing the lockers.
        #[arg(long, default_value_t = 2)]
        sims: usize,
        /// Connections per simulator.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// How much faster the server's clock runs (24-hour hold windows lapse in a minute at 1440).
        #[arg(long, default_value_t = 1440.0)]
        time_scale: f64,
    },
    /// Full parcel lifecycles (announce, deposit, pickup) through the use cases, against the storage
    /// ceiling (the same rows as plain SQL, same batching).
    Lifecycle {
        /// sqlite or postgres
        #[arg(long, default_value = "sqlite")]
        backend: String,
        /// SQLite: a path prefix for the bench files (default: the temp directory). PostgreSQL: the database
        /// in which the bench creates (and drops) its own schemas.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 20_000)]
        parcels: u32,
        #[arg(long, default_value_t = 32)]
        concurrency: u32,
        /// Also write the ceiling's rows into a database with primary keys only (every other index
        /// dropped): what the rows alone cost, whatever the indexes. Adds `bare_ceiling_per_s` to the
        /// last line.
        #[arg(long)]
        bare_ceiling: bool,
    },
    /// Nearest-10 point searches with filters (open on arrival, size fits, free capacity) on the
    /// in-process index, against the same queries on PostGIS, plus HTTP searches against GET /healthz.
    Search {
        #[arg(long, default_value_t = 200_000)]
        points: usize,
        #[arg(long, default_value_t = 20_000)]
        queries: usize,
        /// A PostgreSQL database where the bench may create the postgis extension and its own schema.
        #[arg(long)]
        postgis_url: Option<String>,
        /// How many of the queries run on PostGIS.
        #[arg(long, default_value_t = 2_000)]
        postgis_queries: usize,
        /// HTTP search requests (0 skips the HTTP part).
        #[arg(long, default_value_t = 20_000)]
        http_requests: usize,
    },
    /// Imports a generated network as a CSV file into SQLite, then the next day's file (the diff),
    /// against parsing the file alone.
    Import {
        #[arg(long, default_value_t = 200_000)]
        points: usize,
    },
    /// Deposit and pickup requests over real HTTP on loopback, against GET /healthz on the same server
    /// and connections.
    Http {
        /// sqlite or postgres
        #[arg(long, default_value = "sqlite")]
        backend: String,
        /// SQLite: the bench file (default: in the temp directory). PostgreSQL: the database in which the
        /// bench creates (and drops) a schema of its own.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 20_000)]
        parcels: u32,
        #[arg(long, default_value_t = 32)]
        concurrency: u32,
    },
    /// The delivery worker's e-mails to a local SMTP server (outbox, templates, seal, QR, SMTP, record)
    /// against a bare SMTP client loop sending the same e-mails to the same server.
    Notify {
        /// sqlite or postgres
        #[arg(long, default_value = "sqlite")]
        backend: String,
        /// SQLite: the bench file (default: in the temp directory). PostgreSQL: the database in which the
        /// bench creates (and drops) a schema of its own.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        messages: u32,
        /// Sends in flight (and SMTP connections), in the worker and the bare loop alike.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Rounds the worker runs side by side (the sends in flight are split between them).
        #[arg(long, default_value_t = 4)]
        loops: usize,
    },
    /// Orders created over HTTP with their point validation (`POST /v1/orders`), against announcing the
    /// same parcels one by one (`POST /v1/parcels`) on the same server and connections.
    Orders {
        /// sqlite or postgres
        #[arg(long, default_value = "sqlite")]
        backend: String,
        /// SQLite: the bench file (default: in the temp directory). PostgreSQL: the database in which the
        /// bench creates (and drops) a schema of its own.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        orders: u32,
        #[arg(long, default_value_t = 32)]
        concurrency: u32,
    },
    /// Carrier answers for followed parcels read through the adapters and stored (each event once),
    /// against the same answers parsed without storing them.
    Tracking {
        /// sqlite or postgres
        #[arg(long, default_value = "sqlite")]
        backend: String,
        /// SQLite: the bench file (default: in the temp directory). PostgreSQL: the database in which the
        /// bench creates (and drops) a schema of its own.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        parcels: u32,
        #[arg(long, default_value_t = 32)]
        concurrency: u32,
    },
    /// Parcel labels rendered on one core (ZPL and PDF), against a bare loop writing the same ZPL text
    /// from prepared fields (no layout, no barcode encoding).
    Labels {
        #[arg(long, default_value_t = 20_000)]
        labels: usize,
        /// PDF labels rendered (of the same set).
        #[arg(long, default_value_t = 2_000)]
        pdf_labels: usize,
    },
    /// The console's point list and KPI dashboard on the network of `bench search`, their server time
    /// beside the same work without the page (the index scanned; the KPIs computed).
    Console {
        #[arg(long, default_value_t = 200_000)]
        points: usize,
        /// Requests per page.
        #[arg(long, default_value_t = 30)]
        requests: usize,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Prints a commented example configuration with the defaults.
    Example,
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Creates an API key and prints it (once: only its digest is kept).
    Create {
        #[command(flatten)]
        common: Common,
        /// operator, merchant, carrier or locker_device
        #[arg(long)]
        role: String,
        /// Merchant keys: whose parcels.
        #[arg(long)]
        merchant_id: Option<String>,
        /// Locker device keys: which point.
        #[arg(long)]
        point_id: Option<String>,
        /// Carrier keys: which carrier (`relais carrier create`).
        #[arg(long)]
        carrier_id: Option<String>,
        #[arg(long, default_value = "created with the CLI")]
        label: String,
    },
    /// Lists the keys (never their secret): id, role, scope, label, created, revoked.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Revokes a key at once; the reason is kept in the audit log.
    Revoke {
        #[command(flatten)]
        common: Common,
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Issues a new secret for the same role and scope, and revokes the old key; prints the new secret.
    Rotate {
        #[command(flatten)]
        common: Common,
        id: String,
    },
}

#[derive(Subcommand)]
enum CarrierCommand {
    /// Creates a carrier serving the networks given; prints its id (then `relais api-key create --role
    /// carrier --carrier-id ID`).
    Create {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
        /// A network it serves (repeat for several).
        #[arg(long = "network")]
        networks: Vec<String>,
    },
}

#[derive(Subcommand)]
enum NumbersCommand {
    /// Issues SSCCs of a merchant's series (`PUT /v1/merchants/{id}/number-series/sscc`), one per
    /// line: labels printed ahead, a WMS's own numbering. Safe alongside servers and other runs.
    Issue {
        #[command(flatten)]
        common: Common,
        /// The merchant's id.
        #[arg(long)]
        merchant: String,
        /// How many, 1 to 1000.
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("relais: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("relais: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Config { command: ConfigCommand::Example } => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Migrate { common } => {
            let config = load(&common, None)?;
            let store = relais_store::open(&config.database_url).await.map_err(|e| e.to_string())?;
            println!("{} database is up to date", store.backend());
            Ok(())
        }
        Command::Console { command: ConsoleCommand::IndexContacts { common } } => {
            let app = build_app(&load(&common, None)?).await?;
            let read = app.index_contacts(&Caller::system()).await.map_err(|e| e.to_string())?;
            println!("{read} parcels' contacts indexed");
            Ok(())
        }
        Command::Console { command: ConsoleCommand::CreateAccount { common, email, name, role, merchant_id } } => {
            let role = relais_domain::console::ConsoleRole::parse(&role)
                .ok_or_else(|| format!("--role {role:?}: admin, operator, read_only or merchant"))?;
            let merchant_id = merchant_id
                .map(|m| m.parse().map_err(|_| format!("--merchant-id {m:?} must be a merchant id (UUID)")))
                .transpose()?;
            let password = match std::env::var("RELAIS_CONSOLE_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let account = app
                .create_console_account(&Caller::system(), &email, &name, role, merchant_id, &password)
                .await
                .map_err(|e| e.to_string())?;
            println!("console account {} {} ({})", account.id, account.email, account.role.as_str());
            Ok(())
        }
        Command::Claims { command: ClaimsCommand::Late { common, carrier, from, to, format, mark_filed } } => {
            if !matches!(format.as_str(), "csv" | "claim") {
                return Err(format!("--format {format:?}: csv or claim"));
            }
            if relais_tracking::Carrier::parse(&carrier).is_none() {
                let names: Vec<&str> = relais_tracking::Carrier::ALL.iter().map(|c| c.as_str()).collect();
                return Err(format!("--carrier {carrier:?}: one of {}", names.join(", ")));
            }
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let query = relais_app::claims::ClaimQuery {
                carrier: Some(carrier.clone()),
                kind: Some(relais_domain::claims::ClaimKind::Late),
                state: None,
                from: Some(from),
                to: Some(to),
            };
            let lines = app.claims(&Caller::system(), &query).await.map_err(|e| e.to_string())?;
            let text = if format == "claim" {
                relais_app::claims::claim_file(&carrier, &lines).1
            } else {
                relais_app::claims::claims_csv(&lines)
            };
            match std::io::stdout().lock().write_all(text.as_bytes()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.map_err(|e| e.to_string())?,
            }
            let due: i64 = lines.iter().map(|l| l.claim.amount_claimed_cents).sum();
            eprintln!("{} late deliveries, {}.{:02} due", lines.len(), due / 100, due % 100);
            if mark_filed {
                let filed = app.file_claims(&Caller::system(), &lines).await.map_err(|e| e.to_string())?;
                eprintln!("{filed} claims recorded as filed");
            }
            Ok(())
        }
        Command::Tracking { command: TrackingCommand::Parse { carrier, file } } => {
            let names: Vec<&str> = relais_tracking::Carrier::ALL.iter().map(|c| c.as_str()).collect();
            let carrier = relais_tracking::Carrier::parse(&carrier)
                .ok_or_else(|| format!("--carrier {carrier:?}: relais reads {}", names.join(", ")))?;
            let answer = if file.as_os_str() == "-" {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| e.to_string())?;
                bytes
            } else {
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
            };
            let mut out = std::io::stdout().lock();
            for event in relais_tracking::parse(carrier, &answer).map_err(|e| e.to_string())? {
                let line = serde_json::json!({
                    "at": event.at.to_rfc3339(),
                    "code": event.code,
                    "description": event.description,
                    "status": event.status.as_str(),
                    "place": event.place,
                });
                // A reader that stopped early (`| head`) is not an error of ours.
                match writeln!(out, "{line}") {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    other => other.map_err(|e| e.to_string())?,
                }
            }
            Ok(())
        }
        Command::Hours { command: HoursCommand::Eval { value, values, from, to, tz, country, lat, lon } } => {
            let window = relais::hours::Window::new(&from, &to, &tz, country.as_deref(), lat.zip(lon))?;
            if let Some(path) = values {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                for line in relais::hours::file_lines(&text, &window) {
                    println!("{line}");
                }
                return Ok(());
            }
            let evaluation = relais::hours::evaluate(value.as_deref().unwrap_or_default(), &window)?;
            for warning in &evaluation.warnings {
                eprintln!("warning: {warning}");
            }
            for line in relais::hours::interval_lines(&evaluation.intervals) {
                println!("{line}");
            }
            Ok(())
        }
        Command::LockerSim(options) => {
            let report = relais::locker_sim::run(options).await?;
            println!("{}", report.line());
            Ok(())
        }
        Command::Receipt { command: ReceiptCommand::Verify { file, public_key } } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            for line in relais::receipt::verify(&text, &public_key)? {
                println!("{line}");
            }
            Ok(())
        }
        Command::SigningKey { common } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let key = app.public_key();
            let view = serde_json::json!({
                "algorithm": key.algorithm,
                "key_id": key.key_id,
                "public_key": key.public_key,
            });
            println!("{view}");
            Ok(())
        }
        Command::Serve { common, listen, demo } => serve(load(&common, listen)?, demo).await,
        Command::Worker { common } => worker(load(&common, None)?).await,
        Command::Bench {
            command: BenchCommand::Lifecycle { backend, database_url, parcels, concurrency, bare_ceiling },
        } => {
            init_tracing("warn");
            let backend = parse_backend(&backend)?;
            let line =
                bench::lifecycle(bench::LifecycleOptions { backend, database_url, parcels, concurrency, bare_ceiling })
                    .await?;
            println!("{line}");
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Search { points, queries, postgis_url, postgis_queries, http_requests },
        } => {
            init_tracing("warn");
            let options =
                relais::bench_points::SearchOptions { points, queries, postgis_url, postgis_queries, http_requests };
            println!("{}", relais::bench_points::search(options).await?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Orders { backend, database_url, orders, concurrency } } => {
            init_tracing("warn");
            let backend = parse_backend(&backend)?;
            let options = bench::HttpOptions { backend, database_url, parcels: orders, concurrency };
            println!("{}", bench::orders(options).await?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Tracking { backend, database_url, parcels, concurrency } } => {
            init_tracing("warn");
            let backend = parse_backend(&backend)?;
            let options = bench::TrackingOptions { backend, database_url, parcels, concurrency };
            println!("{}", bench::tracking(options).await?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Console { points, requests } } => {
            init_tracing("warn");
            let options = relais::bench_console::ConsoleOptions { points, requests };
            println!("{}", relais::bench_console::console(options).await?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Labels { labels, pdf_labels } } => {
            let options = relais::bench_labels::LabelsOptions { labels, pdf_labels };
            println!("{}", relais::bench_labels::labels(options)?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Import { points } } => {
            init_tracing("warn");
            println!("{}", relais::bench_points::import(relais::bench_points::ImportOptions { points }).await?);
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Network { lockers, parcels, database_url, sims, connections, time_scale },
        } => {
            init_tracing("warn");
            let options =
                relais::bench_network::NetworkOptions { lockers, parcels, database_url, sims, connections, time_scale };
            println!("{}", relais::bench_network::network(options).await?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Notify { backend, database_url, messages, concurrency, loops } } => {
            init_tracing("warn");
            let options = relais::bench_notify::NotifyOptions {
                backend: parse_backend(&backend)?,
                database_url,
                messages,
                concurrency,
                loops,
            };
            // On the runtime's workers, as `serve`'s tasks are (the thread that blocks on `run` is not one).
            let line = tokio::spawn(relais::bench_notify::notify(options)).await.map_err(|e| e.to_string())??;
            println!("{line}");
            Ok(())
        }
        Command::Bench { command: BenchCommand::Http { backend, database_url, parcels, concurrency } } => {
            init_tracing("warn");
            let backend = parse_backend(&backend)?;
            println!("{}", bench::http(bench::HttpOptions { backend, database_url, parcels, concurrency }).await?);
            Ok(())
        }
        Command::Import { command: ImportCommand::Orders { common, merchant, format, path } } => {
            use relais_app::order_files::OrderFormat;
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let merchant =
                merchant.parse().map_err(|_| format!("--merchant {merchant:?} must be a merchant id (UUID)"))?;
            let format = OrderFormat::parse(&format).map_err(|e| e.to_string())?;
            let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let imported = app
                .import_orders(&Caller::system(), Some(merchant), format, &bytes)
                .await
                .map_err(|e| e.to_string())?;
            let (report, refused) = relais::orders::report(&imported);
            print!("{report}");
            if refused { Err(format!("{} was not imported whole", path.display())) } else { Ok(()) }
        }
        Command::Import {
            command:
                ImportCommand::Points {
                    common,
                    network,
                    format,
                    encoding,
                    dry_run,
                    error_share_max,
                    removal_share_max,
                    path,
                },
        } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let args = points::ImportArgs {
                network_id: network.parse().map_err(|_| "--network must be a network id (UUID)")?,
                format: relais_registry::formats::Format::parse(&format)?,
                encoding: relais_registry::formats::Encoding::parse(&encoding)?,
                dry_run,
                limits: relais_app::points::ImportLimits { error_share_max, removal_share_max, ..Default::default() }
                    .validate()
                    .map_err(|e| e.to_string())?,
                progress: true,
            };
            let mut refused = 0;
            let text = path.to_string_lossy().into_owned();
            if text.starts_with("http://") || text.starts_with("https://") {
                let client = config.outbound.client()?;
                let (report, was_refused) = points::import_url(&app, &args, &client, &text).await?;
                print!("{report}");
                refused += usize::from(was_refused);
            } else if path.is_dir() && !dry_run {
                let lines = points::drain_drop_folder(&app, &args, &path).await?;
                if lines.is_empty() {
                    println!("nothing to import in {}", path.display());
                }
                for (line, was_refused) in lines {
                    refused += usize::from(was_refused);
                    println!("{line}");
                }
            } else {
                let files = if path.is_dir() { points::drop_folder_files(&path)? } else { vec![path.clone()] };
                for file in files {
                    let (report, was_refused) = points::import_file(&app, &args, &file).await?;
                    print!("{report}");
                    refused += usize::from(was_refused);
                }
            }
            if refused > 0 {
                Err(format!("{refused} file(s) refused; the registry is unchanged by them"))
            } else {
                Ok(())
            }
        }
        Command::Points {
            command:
                PointsCommand::Search {
                    common,
                    near,
                    postcode,
                    city,
                    country,
                    radius_m,
                    limit,
                    parcel_mm,
                    weight_g,
                    arrival,
                    free_capacity,
                },
        } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            app.rebuild_index().await.map_err(|e| e.to_string())?;
            let parcel = match (parcel_mm, weight_g) {
                (None, None) => None,
                (Some(dims), Some(grams)) => {
                    let sides: Vec<i64> = dims.split('x').filter_map(|n| n.trim().parse().ok()).collect();
                    let [l, w, h] = sides[..] else {
                        return Err("--parcel-mm takes LxWxH in mm, e.g. 300x200x150".into());
                    };
                    let dimensions = relais_domain::value::Dimensions::from_mm(l, w, h).map_err(|e| e.to_string())?;
                    Some((dimensions, relais_domain::value::Weight::from_grams(grams).map_err(|e| e.to_string())?))
                }
                _ => return Err("--parcel-mm and --weight-g go together".into()),
            };
            let arrival = arrival
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| format!("--arrival {d:?} is not YYYY-MM-DD"))
                })
                .transpose()?;
            let search = relais_app::points::PointSearch {
                near: Some(points::near(near.as_deref(), postcode.as_deref(), city.as_deref(), &country)?),
                radius_m,
                limit: Some(limit),
                filter: relais_registry::index::Filter { parcel, arrival, free_capacity, ..Default::default() },
            };
            for line in points::search_lines(&app, &search)? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Kpi { common, from, to, point, network, csv } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let day = |flag: &str, text: &str| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| format!("{flag} {text:?} is not YYYY-MM-DD"))
            };
            let query = relais_app::kpis::KpiQuery {
                first: day("--from", &from)?,
                last: day("--to", &to)?,
                point_id: parse_id(point, "--point")?,
                network_id: parse_id(network, "--network")?,
                nps_by_day: false,
            };
            let report = app.kpis(&Caller::system(), query).await.map_err(|e| e.to_string())?;
            use relais_http::kpis::{CSV_HEADER, csv_line};
            if csv {
                println!("{CSV_HEADER}");
                for ((point, day), figures) in &report.cohorts {
                    println!("{}", csv_line(&point.to_string(), &day.to_string(), figures));
                }
                println!("{}", csv_line("total", "", &report.total));
            } else {
                let t = &report.total;
                let pct = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{:.1} %", r * 100.0));
                println!("parcels deposited {from} to {to}: {} ({} deposits failed)", t.deposited, t.deposit_failed);
                println!("pickup rate in the window:   {}", pct(t.pickup_rate_window()));
                println!("pickup rate within 7 days:   {}", pct(t.pickup_rate_7_days()));
                println!(
                    "mean compartment occupancy:  {}",
                    t.mean_occupancy_days().map_or("-".to_owned(), |d| format!("{d:.2} days"))
                );
                println!("deposit error rate (lost):   {}", pct(t.deposit_error_rate()));
                println!(
                    "hardware incidents:          {} ({} per 1000 deposits)",
                    t.hardware_incidents,
                    t.hardware_incidents_per_1000_deposits().map_or("-".to_owned(), |r| format!("{r:.1}"))
                );
                println!(
                    "mean deposit handling time:  {}",
                    t.mean_deposit_handling_seconds()
                        .map_or("-".to_owned(), |s| format!("{s:.0} s ({} deposits)", t.handled))
                );
                println!("occupancy (time-weighted):   {}", pct(t.occupancy()));
                println!(
                    "satisfaction (NPS):          {}",
                    report.nps.score().map_or("-".to_owned(), |s| format!("{s:.0}"))
                );
                if report.costed {
                    println!(
                        "cost per parcel:             {}",
                        t.cost_per_parcel_cents().map_or("-".to_owned(), |c| format!("{:.2}", c / 100.0))
                    );
                }
                println!("{} point-days; --csv for the detail", report.cohorts.len());
            }
            Ok(())
        }
        Command::ApiKey {
            command: ApiKeyCommand::Create { common, role, merchant_id, point_id, carrier_id, label },
        } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let role = Role::parse(&role).ok_or("role must be one of operator, merchant, carrier, locker_device")?;
            let input = relais_app::keys::NewApiKey {
                role,
                merchant_id: parse_id(merchant_id, "merchant_id")?,
                point_id: parse_id(point_id, "point_id")?,
                carrier_id: parse_id(carrier_id, "carrier_id")?,
                label,
            };
            let issued = app.create_api_key(&Caller::system(), input).await.map_err(|e| e.to_string())?;
            println!("{}", issued.secret);
            Ok(())
        }
        Command::ApiKey { command: ApiKeyCommand::List { common } } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let mut after = None;
            loop {
                let page = relais_app::ports::Page { after, limit: 500 };
                let keys = app.api_keys(&Caller::system(), page).await.map_err(|e| e.to_string())?;
                for key in &keys {
                    println!("{}", key_line(key));
                }
                after = keys.last().map(|k| k.id);
                if keys.len() < 500 {
                    return Ok(());
                }
            }
        }
        Command::ApiKey { command: ApiKeyCommand::Revoke { common, id, reason } } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let id = id.parse().map_err(|_| "the key id must be a UUID (relais api-key list)")?;
            let key = app.revoke_api_key(&Caller::system(), id, &reason).await.map_err(|e| e.to_string())?;
            println!("{}", key_line(&key));
            Ok(())
        }
        Command::ApiKey { command: ApiKeyCommand::Rotate { common, id } } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let id = id.parse().map_err(|_| "the key id must be a UUID (relais api-key list)")?;
            let issued = app.rotate_api_key(&Caller::system(), id).await.map_err(|e| e.to_string())?;
            eprintln!("{} replaces {id}, now revoked", issued.key.id);
            println!("{}", issued.secret);
            Ok(())
        }
        Command::Numbers { command: NumbersCommand::Issue { common, merchant, count } } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let merchant =
                merchant.parse().map_err(|_| format!("--merchant {merchant:?} must be a merchant id (UUID)"))?;
            let owner = relais_app::numbers::SeriesOwner::Merchant(merchant);
            let numbers =
                app.issue_numbers(&Caller::system(), owner, "sscc", count).await.map_err(|e| e.to_string())?;
            let lines: Vec<&str> = numbers.iter().map(|n| n.as_str()).collect();
            println!("{}", lines.join("\n"));
            Ok(())
        }
        Command::Carrier { command: CarrierCommand::Create { common, name, networks } } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let networks = networks
                .iter()
                .map(|n| n.parse().map_err(|_| format!("--network {n:?} must be a network id (UUID)")))
                .collect::<Result<Vec<_>, _>>()?;
            let carrier = app.create_carrier(&Caller::system(), &name, &networks).await.map_err(|e| e.to_string())?;
            println!("{}", carrier.id);
            Ok(())
        }
    }
}

/// A key as `relais api-key list` prints it: id, role, scope, label, created, revoked.
fn key_line(key: &relais_app::ApiKey) -> String {
    let scope = match (key.merchant_id, key.point_id, key.carrier_id) {
        (Some(merchant), _, _) => format!("merchant={merchant}"),
        (_, Some(point), _) => format!("point={point}"),
        (_, _, Some(carrier)) => format!("carrier={carrier}"),
        _ => "-".to_owned(),
    };
    let revoked = key.revoked_at.map_or_else(|| "active".to_owned(), |at| format!("revoked {}", at.to_rfc3339()));
    format!(
        "{}  {:<13} {:<45} {:?}  created {}  {revoked}",
        key.id,
        key.role.as_str(),
        scope,
        key.label,
        key.created_at.to_rfc3339()
    )
}

fn parse_id<T>(value: Option<String>, what: &str) -> Result<Option<relais_domain::ids::Id<T>>, String> {
    value.map(|v| v.parse().map_err(|_| format!("{what} must be a UUID"))).transpose()
}

fn load(common: &Common, listen: Option<String>) -> Result<Config, String> {
    let config =
        Config::load(&Flags { config: common.config.clone(), database_url: common.database_url.clone(), listen })?;
    init_tracing(&config.log);
    Ok(config)
}

fn init_tracing(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

fn parse_backend(backend: &str) -> Result<bench::Backend, String> {
    match backend {
        "sqlite" => Ok(bench::Backend::Sqlite),
        "postgres" => Ok(bench::Backend::Postgres),
        _ => Err("--backend must be sqlite or postgres".into()),
    }
}

async fn build_app(config: &Config) -> Result<App, String> {
    let store = relais_store::open(&config.database_url).await.map_err(|e| e.to_string())?;
    let random = Arc::new(OsRandom);
    let secrets = Secrets::new(config.secret_key(random.as_ref())?);
    let clock: Arc<dyn relais_app::Clock> = if config.time_scale == 1.0 {
        Arc::new(SystemClock)
    } else {
        tracing::warn!(scale = config.time_scale, "the clock runs faster than the wall clock (RELAIS_TIME_SCALE)");
        Arc::new(relais_app::ports::ScaledClock::new(config.time_scale))
    };
    Ok(App::new(store, clock, random, secrets)
        .with_limits(config.app_limits())
        .with_public_url(&config.public_url())
        .with_twilio_accounts(config.twilio_accounts())
        .with_carrier_apis(config.tracking.apis()?)
        .with_promise_settings(config.promise_settings()?)
        .with_kpi_settings(config.kpi.settings())
        .with_map_tiles(config.console.tiles()?))
}

async fn serve(config: Config, demo: bool) -> Result<(), String> {
    let app = build_app(&config).await?;
    let address = config.listen_addr()?;
    let keys = if demo { Some(demo::seed_if_empty(&app, &config.beside_database(".demo-keys")).await?) } else { None };
    let following = app.follow_other_processes().await.map_err(|e| format!("cannot follow other processes: {e}"))?;
    let indexed = app.rebuild_index().await.map_err(|e| format!("cannot build the search index: {e}"))?;
    let router = relais_http::router(
        app.clone(),
        HttpConfig {
            request_body_bytes_max: config.request_body_bytes_max,
            widget_requests_per_minute: config.widget_requests_per_minute,
            ..HttpConfig::default()
        },
    );
    let listener =
        tokio::net::TcpListener::bind(address).await.map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("relais is serving on http://{local} ({} backend)", app.backend());
    println!("API docs: http://{local}/docs   OpenAPI: http://{local}/openapi.json");
    println!("{indexed} pickup points in the search index");
    if following {
        println!("following the changes other processes sharing the database make to the search index");
    }
    if let Some(keys) = keys {
        println!("Demo network and API keys (use as `Authorization: Bearer <key>`):");
        for line in keys.lines {
            println!("  {line}");
        }
    }
    let indexer = tokio::spawn(index_forever(app.clone(), config.index_rebuild_seconds));
    let mut watchers = Vec::new();
    for folder in &config.drop_folders {
        let args = folder.import_args()?;
        println!(
            "watching {} for {} files (every {} s)",
            folder.folder.display(),
            folder.format,
            folder.interval_seconds
        );
        watchers.push(tokio::spawn(watch_drop_folder(
            app.clone(),
            args,
            folder.folder.clone(),
            folder.interval_seconds,
        )));
    }
    for folder in &config.order_drop_folders {
        let (merchant, format) = folder.parsed()?;
        println!(
            "watching {} for {} order files (every {} s)",
            folder.folder.display(),
            folder.format,
            folder.interval_seconds
        );
        let (app, path, interval) = (app.clone(), folder.folder.clone(), folder.interval_seconds);
        watchers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval.max(1)));
            loop {
                tick.tick().await;
                match relais::orders::drain_order_folder(&app, merchant, format, &path).await {
                    Ok(lines) => {
                        for (line, _) in lines {
                            tracing::info!(folder = %path.display(), "{line}");
                        }
                    }
                    Err(e) => tracing::warn!(folder = %path.display(), error = %e, "order drop folder pass failed; will retry"),
                }
            }
        }));
    }
    let deliverer = if config.notify.worker {
        let channels = Arc::new(Channels::from_config(&config, app.clock())?);
        println!("delivering the outbox ({})", channels.describe());
        let idle = std::time::Duration::from_millis(config.notify.idle_ms);
        Some(tokio::spawn(deliver_forever(app.clone(), channels, config.notify.settings()?, idle)))
    } else {
        None
    };
    // Orders' fulfilments written back to the shops they came from (connectors with API access).
    let calls = relais::outbound::HttpOutboundCalls::new(config.outbound.client()?);
    let writer = tokio::spawn(relais::shops::write_back_forever(app.clone(), calls, config.sweep_interval_seconds));
    // Followed parcels' carriers polled for their tracking.
    let poller = if config.tracking.job {
        let calls = relais::outbound::HttpOutboundCalls::new(config.outbound.client()?);
        Some(tokio::spawn(relais::outbound::poll_tracking_forever(
            app.clone(),
            calls,
            config.tracking.poll_interval_seconds,
            config.tracking.batch,
        )))
    } else {
        None
    };
    // The KPIs as gauges on /metrics, for Prometheus and the Grafana dashboard (deploy/).
    let gauges = (config.kpi.metrics_interval_seconds > 0).then(|| {
        tokio::spawn(kpi_gauges_forever(app.clone(), config.kpi.metrics_interval_seconds, config.kpi.metrics_days))
    });
    let sweeper = tokio::spawn(sweep_forever(app, config.sweep_interval_seconds));
    // Each request carries its peer's address: the public routes are limited per client.
    let result = relais_http::server::serve(listener, router, config.server.limits()?, shutdown_signal()).await;
    sweeper.abort();
    writer.abort();
    if let Some(gauges) = gauges {
        gauges.abort();
    }
    if let Some(poller) = poller {
        poller.abort();
    }
    indexer.abort();
    if let Some(deliverer) = deliverer {
        deliverer.abort();
    }
    watchers.iter().for_each(tokio::task::JoinHandle::abort);
    result.map_err(|e| format!("server error: {e}"))
}

/// `relais worker`: the delivery worker alone, until stopped.
async fn worker(config: Config) -> Result<(), String> {
    let app = build_app(&config).await?;
    app.follow_other_processes().await.map_err(|e| format!("cannot follow other processes: {e}"))?;
    app.rebuild_index().await.map_err(|e| format!("cannot build the search index: {e}"))?;
    let channels = Arc::new(Channels::from_config(&config, app.clock())?);
    println!("relais worker: delivering the outbox ({}, {} backend)", channels.describe(), app.backend());
    let idle = std::time::Duration::from_millis(config.notify.idle_ms);
    // No API here; only `GET /metrics` when asked for, so that Prometheus sees this worker's sends.
    let metrics = match &config.notify.metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| format!("cannot listen on {address} ([notify] metrics_listen): {e}"))?;
            println!("relais worker: metrics on http://{}/metrics", listener.local_addr().map_err(|e| e.to_string())?);
            let router = relais_http::metrics_router();
            Some(tokio::spawn(async move { axum::serve(listener, router).await }))
        }
        None => None,
    };
    let indexer = tokio::spawn(index_forever(app.clone(), config.index_rebuild_seconds));
    let deliverer = tokio::spawn(deliver_forever(app, channels, config.notify.settings()?, idle));
    shutdown_signal().await;
    deliverer.abort();
    indexer.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    Ok(())
}

/// The background jobs of a single-node install: the expiry sweep and reservation tidying.
async fn sweep_forever(app: App, interval_seconds: u64) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(interval_seconds));
    loop {
        interval.tick().await;
        match app.run_sweeps(&Caller::system()).await {
            Ok(report)
                if report.expired + report.reminded + report.reservations_released + report.devices_offline > 0 =>
            {
                let (expired, reminded, released) = (report.expired, report.reminded, report.reservations_released);
                tracing::info!(expired, reminded, released, devices_offline = report.devices_offline, "sweep");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
        }
    }
}

/// Sets the KPI gauges on `/metrics` now, then every `interval_seconds`.
async fn kpi_gauges_forever(app: App, interval_seconds: u64, days: u32) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(interval_seconds));
    loop {
        interval.tick().await;
        if let Err(e) = app.publish_kpi_gauges(&Caller::system(), days).await {
            tracing::warn!(error = %e, "KPI gauges not computed; will retry");
        }
    }
}

/// Keeps the search index current: every second, applies the points added or changed and recounts the
/// capacity of points parcels came to or left (this process's commits and, on PostgreSQL, the others'),
/// and rebuilds the whole index every `rebuild_seconds` (a safety net).
async fn index_forever(app: App, rebuild_seconds: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut last_rebuild = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let result = if last_rebuild.elapsed().as_secs() >= rebuild_seconds {
            last_rebuild = tokio::time::Instant::now();
            app.rebuild_index().await
        } else {
            app.refresh_index().await
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "search index refresh failed; will retry");
        }
    }
}

/// The daily sync: imports what operators drop in a folder (their FTP drop).
async fn watch_drop_folder(app: App, args: points::ImportArgs, folder: PathBuf, interval_seconds: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_seconds));
    loop {
        tick.tick().await;
        match points::drain_drop_folder(&app, &args, &folder).await {
            Ok(lines) => {
                for (line, _) in lines {
                    tracing::info!(folder = %folder.display(), "{line}");
                }
            }
            Err(e) => tracing::warn!(folder = %folder.display(), error = %e, "drop folder pass failed; will retry"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

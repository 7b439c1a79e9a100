//! `relais`: the one binary. Subcommands wire configuration, a store and the use cases together;
//! they hold no rules of their own.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use relais_app::{App, Caller, OsRandom, Role, Secrets, SystemClock};
use relais_http::HttpConfig;

use relais::config::{self, Config, Flags};
use relais::{bench, demo};

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
    /// API keys.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Opening hours (OpenStreetMap `opening_hours` syntax).
    Hours {
        #[command(subcommand)]
        command: HoursCommand,
    },
    /// Benchmarks that print their figure and its baseline, measured in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum HoursCommand {
    /// Prints the open intervals of a value between two local times, as JSON Lines in local time.
    Eval {
        /// The opening_hours value, e.g. 'Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH off'.
        value: String,
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
    },
}

#[derive(Subcommand)]
enum BenchCommand {
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
    },
    /// Deposit and pickup requests over real HTTP on loopback (SQLite), against GET /healthz on the same
    /// server and connections.
    Http {
        #[arg(long, default_value_t = 20_000)]
        parcels: u32,
        #[arg(long, default_value_t = 32)]
        concurrency: u32,
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
        #[arg(long)]
        merchant_id: Option<String>,
        #[arg(long)]
        point_id: Option<String>,
        #[arg(long, default_value = "created with the CLI")]
        label: String,
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
        Command::Hours { command: HoursCommand::Eval { value, from, to, tz, country } } => {
            for line in relais::hours::eval_lines(&value, &from, &to, &tz, country.as_deref())? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Serve { common, listen, demo } => serve(load(&common, listen)?, demo).await,
        Command::Bench { command: BenchCommand::Lifecycle { backend, database_url, parcels, concurrency } } => {
            init_tracing("warn");
            let backend = match backend.as_str() {
                "sqlite" => bench::Backend::Sqlite,
                "postgres" => bench::Backend::Postgres,
                _ => return Err("--backend must be sqlite or postgres".into()),
            };
            let line =
                bench::lifecycle(bench::LifecycleOptions { backend, database_url, parcels, concurrency }).await?;
            println!("{line}");
            Ok(())
        }
        Command::Bench { command: BenchCommand::Http { parcels, concurrency } } => {
            init_tracing("warn");
            println!("{}", bench::http(bench::HttpOptions { parcels, concurrency }).await?);
            Ok(())
        }
        Command::ApiKey { command: ApiKeyCommand::Create { common, role, merchant_id, point_id, label } } => {
            let config = load(&common, None)?;
            let app = build_app(&config).await?;
            let role = Role::parse(&role).ok_or("role must be one of operator, merchant, carrier, locker_device")?;
            let merchant_id = parse_id(merchant_id, "merchant_id")?;
            let point_id = parse_id(point_id, "point_id")?;
            let issued = app
                .create_api_key(&Caller::system(), role, merchant_id, point_id, &label)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", issued.secret);
            Ok(())
        }
    }
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

async fn build_app(config: &Config) -> Result<App, String> {
    let store = relais_store::open(&config.database_url).await.map_err(|e| e.to_string())?;
    let random = Arc::new(OsRandom);
    let secrets = Secrets::new(config.secret_key(random.as_ref())?);
    let mut app = App::new(store, Arc::new(SystemClock), random, secrets);
    app.limits = config.app_limits();
    Ok(app)
}

async fn serve(config: Config, demo: bool) -> Result<(), String> {
    let app = build_app(&config).await?;
    let address = config.listen_addr()?;
    let keys = if demo { Some(demo::seed_if_empty(&app, &config.beside_database(".demo-keys")).await?) } else { None };
    let router = relais_http::router(app.clone(), HttpConfig { request_body_bytes_max: config.request_body_bytes_max });
    let listener =
        tokio::net::TcpListener::bind(address).await.map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("relais is serving on http://{local} ({} backend)", app.store.backend());
    println!("API docs: http://{local}/docs   OpenAPI: http://{local}/openapi.json");
    if let Some(keys) = keys {
        println!("Demo network and API keys (use as `Authorization: Bearer <key>`):");
        for line in keys.lines {
            println!("  {line}");
        }
    }
    let sweeper = tokio::spawn(sweep_forever(app, config.sweep_interval_seconds, config.sweep_batch_max));
    let result = axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await;
    sweeper.abort();
    result.map_err(|e| format!("server error: {e}"))
}

/// The background jobs of a single-node install: the expiry sweep and reservation tidying.
async fn sweep_forever(app: App, interval_seconds: u64, batch_max: u32) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(interval_seconds));
    loop {
        interval.tick().await;
        match app.run_sweeps(&Caller::system(), batch_max).await {
            Ok(report) if report.expired + report.reservations_released > 0 => {
                tracing::info!(expired = report.expired, released = report.reservations_released, "sweep");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
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

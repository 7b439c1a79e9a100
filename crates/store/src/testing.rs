//! Stores for tests: a fresh SQLite file, and a fresh PostgreSQL schema when `RELAIS_TEST_DATABASE_URL`
//! names a database. `RELAIS_REQUIRE_POSTGRES=1` (set by CI) turns a missing URL into a failure, so the
//! PostgreSQL suite can never be skipped silently.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use relais_app::Store;

use crate::{PostgresStore, SqliteStore};

pub const DATABASE_URL_VAR: &str = "RELAIS_TEST_DATABASE_URL";
pub const REQUIRE_POSTGRES_VAR: &str = "RELAIS_REQUIRE_POSTGRES";

/// A store under test; removes its SQLite file when dropped.
pub struct TestStore {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    /// The URL another process can open to reach the same data.
    pub url: String,
    file: Option<PathBuf>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test run uses: the process id alone is reused by the system, and the schemas of
/// earlier runs stay in a developer's test database (a reused id made `CREATE SCHEMA` fail).
#[allow(clippy::disallowed_methods)] // The wall clock names a test's schema; no domain time is read.
fn unique_name() -> String {
    static STARTED: std::sync::LazyLock<u128> = std::sync::LazyLock::new(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    });
    format!("{}_{}_{}", std::process::id(), *STARTED, COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub fn sqlite() -> TestStore {
    let file = std::env::temp_dir().join(format!("relais-test-{}.db", unique_name()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let store = SqliteStore::open(&file).unwrap_or_else(|e| panic!("cannot open test SQLite {}: {e}", file.display()));
    TestStore { name: "sqlite", store: Arc::new(store), url: file.display().to_string(), file: Some(file) }
}

/// The PostgreSQL URL for tests, or `None` when PostgreSQL is not configured (and not required).
pub fn postgres_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") {
                panic!("{REQUIRE_POSTGRES_VAR}=1 but {DATABASE_URL_VAR} is not set: the PostgreSQL suite must run");
            }
            None
        }
    }
}

/// A fresh schema in the test database, with the migrations applied.
pub async fn postgres() -> Option<TestStore> {
    let url = postgres_url()?;
    let schema = format!("t_{}", unique_name());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {DATABASE_URL_VAR}: {e}"));
    let task = tokio::spawn(connection);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap_or_else(|e| panic!("create schema: {e}"));
    drop(client);
    let _ = task.await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    let store = PostgresStore::connect(&scoped).await.unwrap_or_else(|e| panic!("open PostgreSQL store: {e}"));
    Some(TestStore { name: "postgres", store: Arc::new(store), url: scoped, file: None })
}

/// Every backend this run can test: SQLite always, PostgreSQL when configured.
pub async fn all() -> Vec<TestStore> {
    let mut stores = vec![sqlite()];
    stores.extend(postgres().await);
    stores
}

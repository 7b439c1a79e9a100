//! The delivery worker killed with `kill -9` again and again while it sends: every message still
//! reaches the SMTP server at least once, and a message arrives twice only when the server took it
//! while the worker died before recording it (ADR 15). The worker runs as `relais worker`, the
//! process a deployment scales apart from the API.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use relais_app::ports::SeededRandom;
use relais_app::{App, Secrets, Store, SystemClock};
use relais_edge::testing::SmtpSink;

/// The instance key the test fills the outbox with and the worker opens the seals with.
const KEY: [u8; 32] = [0x42; 32];
const MESSAGES: usize = 1_500;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn worker(dir: &std::path::Path, metrics_port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(dir)
        .env("RELAIS_LOG", "error")
        .env("RELAIS_NOTIFY_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        .env("RELAIS_SECRET_KEY", hex(&KEY))
        .args(["worker", "--config", "relais.toml", "--database-url", "relais.db"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_again_and_again_loses_no_message() {
    let dir = std::env::temp_dir().join(format!("relais-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sink = SmtpSink::start().await.unwrap();
    std::fs::write(
        dir.join("relais.toml"),
        format!(
            "[notify]\nidle_ms = 50\nlease_seconds = 16\nbatch = 64\n\
             [notify.email]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             from = \"Relais <avis@relais.example>\"\nconnections = 8\ntimeout_seconds = 2\n\
             [notify.webhooks]\ntimeout_seconds = 2\n",
            sink.port
        ),
    )
    .unwrap();

    // The outbox of 1,500 deposits, each telling its recipient by e-mail.
    let store: Arc<dyn Store> = Arc::new(relais_store::SqliteStore::open(&dir.join("relais.db")).unwrap());
    let secrets = Secrets::new(KEY);
    let app = App::new(store.clone(), Arc::new(SystemClock), Arc::new(SeededRandom::new(7)), secrets.clone());
    relais::bench_notify::fill(&app, &secrets, store.as_ref(), MESSAGES).await.unwrap();

    // Killed every 150 to 400 ms while it works, until every message is delivered.
    let started = Instant::now();
    let mut kills: usize = 0;
    let delivered = || async {
        let counts = store.delivery_counts().await.unwrap();
        counts.iter().filter(|(_, state, _)| state == "delivered").map(|(_, _, n)| *n).sum::<u64>()
    };
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    loop {
        let mut child = worker(&dir, metrics_port);
        if delivered().await as usize >= MESSAGES {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        let pause = 150 + (kills as u64 * 83) % 250;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if kills < 12 {
            // SIGKILL: no chance to finish a batch or record what it sent.
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
        } else {
            // Then left alone: the leases of the killed ones lapse and it takes their messages over.
            while (delivered().await as usize) < MESSAGES {
                assert!(started.elapsed() < Duration::from_secs(120), "stuck at {} of {MESSAGES}", delivered().await);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // The worker serves its metrics, and nothing of the API.
            let http = relais_edge::http::HttpClient::new(&relais_edge::http::HttpConfig::default()).unwrap();
            let metrics = http.get(&format!("http://127.0.0.1:{metrics_port}/metrics")).await.unwrap();
            let text = metrics.text();
            let delivered_line = text
                .lines()
                .find(|l| l.starts_with("relais_message_attempts_total{channel=\"email\",outcome=\"delivered\"}"));
            let count: f64 =
                delivered_line.and_then(|l| l.rsplit(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0.0);
            assert!(count > 0.0, "the last worker's deliveries are counted: {text}");
            let api = http.get(&format!("http://127.0.0.1:{metrics_port}/v1/parcels")).await.unwrap();
            assert_eq!(api.status, 404, "no API on a worker");
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
    }
    assert!(kills >= 12, "the worker was killed mid-work {kills} times");

    // At least once: every delivery's Message-ID reached the server.
    let mut received: HashMap<String, usize> = HashMap::new();
    for mail in sink.received() {
        let id = mail.data.split("Message-ID: <").nth(1).unwrap().split('@').next().unwrap().to_owned();
        *received.entry(id).or_default() += 1;
    }
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![("email".to_owned(), "delivered".to_owned(), MESSAGES as u64)],
        "nothing dead, nothing pending"
    );
    assert_eq!(received.len(), MESSAGES, "every message arrived");
    // Twice only when the server took it and the worker died before recording it: a round records its
    // outcomes when its sends are done, so at most each of its rounds (4 loops of 64) per kill.
    let duplicates: usize = received.values().map(|n| n - 1).sum();
    eprintln!("{kills} kills, {MESSAGES} messages, {duplicates} sent twice");
    assert!(duplicates <= kills * 4 * 64, "{duplicates} duplicates for {kills} kills");
    let _ = std::fs::remove_dir_all(&dir);
}

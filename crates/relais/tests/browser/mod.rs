//! What the browser tests share: a `relais serve --demo` in a fresh directory, chromedriver with a
//! headless Chromium, and the processes killed when a test ends.

#![allow(dead_code)] // Each test file uses its own part.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::ClientBuilder;

pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn chromedriver() -> Option<String> {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("RELAIS_REQUIRE_BROWSER").is_none(),
        "RELAIS_REQUIRE_BROWSER is set but {path} is missing (apt-get install chromium chromium-driver)"
    );
    eprintln!("skipped: no chromedriver at {path} (apt-get install chromium chromium-driver)");
    None
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `relais serve --demo` in a fresh directory; returns the process and its address.
pub fn serve_demo(dir: &std::path::Path) -> (Killed, SocketAddr, BufReader<std::process::ChildStdout>) {
    // The tests run offline: no tile service, the maps' plain drawing.
    std::fs::write(dir.join("offline.toml"), "[console]\ntile_url = \"\"\n").unwrap();
    serve_demo_with(dir, &["--config", "offline.toml"])
}

/// `relais serve --demo` with more arguments (a configuration file).
pub fn serve_demo_with(
    dir: &std::path::Path,
    more: &[&str],
) -> (Killed, SocketAddr, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(more)
        .env("RELAIS_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let address = first.split("http://").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    (Killed(child), address, reader)
}

/// chromedriver and a headless Chromium session (French, phone-sized window).
pub async fn browser(driver: &str) -> (Killed, fantoccini::Client) {
    let port = free_port();
    let chromedriver = Killed(
        Command::new(driver).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap(),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", "--lang=fr-FR"]
        }),
    );
    let mut browser = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&webdriver).await {
            Ok(client) => {
                browser = Some(client);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    (chromedriver, browser.expect("chromedriver did not start"))
}

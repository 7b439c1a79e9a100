//! The checkout widget end to end, in headless Chromium (chromium + chromium-driver): a shop page
//! embeds `/widget.js`, the customer searches a postcode, moves through the list with the keyboard,
//! chooses a point, and the shop page receives its id. Skipped with a message when chromedriver is not
//! installed, unless `RELAIS_REQUIRE_BROWSER` is set (CI sets it).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use relais::client::Client as HttpClient;

const ARROW_DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";
const PARCEL: &str = "length_mm=300&width_mm=200&height_mm=100&weight_g=1200";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Option<String> {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `relais serve --demo` in a fresh directory; returns the process and its address.
fn serve_demo(dir: &std::path::Path) -> (Killed, SocketAddr, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
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

#[tokio::test]
async fn a_customer_picks_a_point_and_the_shop_page_gets_it() {
    let Some(driver) = chromedriver() else { return };
    let dir = std::env::temp_dir().join(format!("relais-widget-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_server, address, _stdout) = serve_demo(&dir);

    let port = free_port();
    let _driver = Killed(
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
    let browser = browser.expect("chromedriver did not start");

    // The demo shop page embeds the picker with one script tag.
    browser.goto(&format!("http://{address}/widget/demo")).await.unwrap();
    let frame = browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("iframe")).await.unwrap();
    assert_eq!(frame.attr("title").await.unwrap().as_deref(), Some("Choix du point de retrait"));
    browser.enter_frame(0).await.unwrap();
    let place = browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("place")).await.unwrap();
    assert_eq!(
        browser.find(Locator::Css("label[for=place]")).await.unwrap().text().await.unwrap(),
        "Code postal ou ville"
    );
    place.send_keys("69002").await.unwrap();
    place.send_keys(ENTER).await.unwrap();
    let first = browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("point-1")).await.unwrap();
    let status = browser.find(Locator::Id("status")).await.unwrap().text().await.unwrap();
    assert!(status.contains("points près de 69002"), "{status}");
    let markers = browser.find_all(Locator::Css("#map .marker")).await.unwrap();
    let items = browser.find_all(Locator::Css("#results .point")).await.unwrap();
    assert_eq!(markers.len(), items.len());
    assert!(items[0].text().await.unwrap().contains("Aujourd'hui") || items[0].text().await.unwrap().contains("Fermé"));
    drop(first);

    // Keyboard only: the first point, arrow down to the second, Enter chooses it.
    browser.find(Locator::Id("point-0")).await.unwrap().send_keys(ARROW_DOWN).await.unwrap();
    let focused = browser.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("point-1"));
    focused.send_keys(ENTER).await.unwrap();
    let pressed = browser.find(Locator::Id("point-1")).await.unwrap().attr("aria-pressed").await.unwrap();
    assert_eq!(pressed.as_deref(), Some("true"));
    let chosen = browser.find(Locator::Id("chosen")).await.unwrap().text().await.unwrap();
    assert!(chosen.starts_with("Point choisi : "), "{chosen}");

    // Back on the shop page: the hidden input holds the chosen point, and the page's listener ran.
    browser.enter_parent_frame().await.unwrap();
    let mut value = String::new();
    for _ in 0..50 {
        value = browser
            .find(Locator::Id("pickup_point_id"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        if !value.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut api = HttpClient::connect(address).await.unwrap();
    let reply = api
        .request("GET", &format!("/widget/points?postcode=69002&free_capacity=true&limit=10&{PARCEL}"), None, None)
        .await
        .unwrap();
    let second = reply.json()["results"][1].clone();
    assert_eq!(value, second["id"].as_str().unwrap(), "the shop received the second point of the search");
    let shown = browser.find(Locator::Id("choice")).await.unwrap().text().await.unwrap();
    assert!(shown.starts_with(second["name"].as_str().unwrap()), "{shown}");

    // In English, started from a city.
    browser.goto(&format!("http://{address}/widget?lang=en&place=Villeurbanne&{PARCEL}")).await.unwrap();
    browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("point-0")).await.unwrap();
    let status = browser.find(Locator::Id("status")).await.unwrap().text().await.unwrap();
    assert!(status.contains("points near"), "{status}");
    assert_eq!(browser.find(Locator::Id("go")).await.unwrap().text().await.unwrap(), "Search");
    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

//! The operator console end to end in headless Chromium, against `relais serve --demo` with a
//! simulated locker (`relais locker-sim`) beating every second: an account made with `relais console
//! create-account`, signed in, a parcel found by its number and its journey followed, a door of the
//! simulated locker opened from its page (requested, then reported open by the locker, then shut), an
//! alert acknowledged while the list follows the server live, the lockers on the map (no tiles: the
//! tests run offline), and the console switched to English.
//! Screenshots of each step are saved in `target/tmp/console-screenshots/` (CI keeps them as
//! artefacts). Skipped without chromedriver unless `RELAIS_REQUIRE_BROWSER` is set (CI sets it).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use relais::client::Client as HttpClient;

mod browser;

use browser::{Killed, browser, chromedriver, serve_demo_with};

const PASSWORD: &str = "a long enough sentence";

async fn screenshot(browser: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The page's text once `until` holds, reloading every half second (the locker beats every second).
async fn reload_until(browser: &Client, url: &str, what: &str, until: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        browser.goto(url).await.unwrap();
        let source = browser.source().await.unwrap();
        if until(&source) {
            return source;
        }
        let main = source.split("<main>").nth(1).unwrap_or(&source);
        assert!(started.elapsed() < Duration::from_secs(30), "{what} never happened:\n{main}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The text of an element once it matches, without reloading (what the live stream changes).
async fn wait_text(browser: &Client, css: &str, what: &str, until: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await {
            let text = element.text().await.unwrap_or_default();
            if until(&text) {
                return text;
            }
        }
        if started.elapsed() > Duration::from_secs(20) {
            let url = browser.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            panic!("{what} never showed at {url}:\n{}", browser.source().await.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn an_operator_finds_a_parcel_opens_a_door_acknowledges_an_alert_and_reads_english() {
    let Some(driver) = chromedriver() else { return };
    let dir = std::env::temp_dir().join(format!("relais-console-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // No tiles: the tests run offline, the map draws on a plain background.
    std::fs::write(dir.join("relais.toml"), "[console]\ntile_url = \"\"\n").unwrap();
    let (_server, address, _stdout) = serve_demo_with(&dir, &["--config", "relais.toml"]);
    let keys = std::fs::read_to_string(dir.join("relais.db.demo-keys")).unwrap();
    let key = |role: &str| {
        keys.lines()
            .find(|l| l.starts_with(&format!("{role} key")))
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .to_owned()
    };
    let operator = key("operator");

    // The account, from the command line: the password from the environment, never an argument.
    let created = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(&dir)
        .args(["console", "create-account", "--email", "lea.martin@example.org", "--name", "Léa Martin"])
        .args(["--role", "operator"])
        .env("RELAIS_CONSOLE_PASSWORD", PASSWORD)
        .env("RELAIS_LOG", "warn")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let said = String::from_utf8_lossy(&created.stdout);
    assert!(said.contains("lea.martin@example.org (operator)") && !said.contains(PASSWORD), "{said}");
    let short = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(&dir)
        .args(["console", "create-account", "--email", "x@example.org", "--name", "X", "--role", "operator"])
        .env("RELAIS_CONSOLE_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!short.status.success(), "a short password is refused");
    // After an upgrade, the older parcels' contacts indexed for the search (idempotent, here nothing new).
    let indexed = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(&dir)
        .args(["console", "index-contacts"])
        .env("RELAIS_LOG", "warn")
        .output()
        .unwrap();
    assert!(indexed.status.success(), "{}", String::from_utf8_lossy(&indexed.stderr));
    assert!(String::from_utf8_lossy(&indexed.stdout).ends_with("parcels' contacts indexed\n"));

    // The simulated locker: three parcels deposited and left there, a heartbeat every second.
    let mut api = HttpClient::connect(address).await.unwrap();
    let points = api.request("GET", "/v1/points?limit=500", Some(&operator), None).await.unwrap().json();
    let locker =
        points["items"].as_array().unwrap().iter().find(|p| p["kind"] == "locker" && p["status"] == "active").unwrap()
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let _sim = Killed(
        Command::new(env!("CARGO_BIN_EXE_relais"))
            .args(["locker-sim", "--server", &format!("http://{address}"), "--operator-key", &operator])
            .args(["--lockers", "1", "--parcels", "3", "--heartbeat-seconds", "1", "--pickup-share", "0"])
            .args(["--take-back-after-seconds", "3600", "--duration-seconds", "300"])
            .env("RELAIS_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let parcel = loop {
        let listed =
            api.request("GET", "/v1/parcels?state=ready_for_pickup&limit=1", Some(&operator), None).await.unwrap();
        if let Some(parcel) = listed.json()["items"].as_array().and_then(|items| items.first().cloned()) {
            break parcel;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the simulated courier never deposited");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let number = parcel["parcel_number"].as_str().unwrap().to_owned();

    let (_driver, browser) = browser(&driver).await;
    // A laptop's screen (the widget's test uses a phone's).
    browser.set_window_size(1280, 1000).await.unwrap();
    let base = format!("http://{address}");

    // Signed out: only the sign-in page.
    browser.goto(&format!("{base}/console/kpis?lang=fr")).await.unwrap();
    assert!(browser.current_url().await.unwrap().as_str().contains("/console/login"));
    screenshot(&browser, "01-sign-in").await;
    browser.find(Locator::Css("input[name=email]")).await.unwrap().send_keys("lea.martin@example.org").await.unwrap();
    browser.find(Locator::Css("input[name=password]")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    browser.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    let hello = wait_text(&browser, "main h1", "the home page", |t| t.contains("Bonjour")).await;
    assert_eq!(hello, "Bonjour Léa Martin");
    screenshot(&browser, "02-home").await;

    // A parcel by its number, then its journey.
    let search = browser.find(Locator::Css("input[name=q]")).await.unwrap();
    search.send_keys(&number).await.unwrap();
    browser.find(Locator::Css("main form button")).await.unwrap().click().await.unwrap();
    let link = browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::LinkText(&number)).await.unwrap();
    link.click().await.unwrap();
    let state = wait_text(&browser, "strong.state", "the parcel's page", |t| !t.is_empty()).await;
    assert_eq!(state, "ready_for_pickup");
    let journey = browser.find(Locator::Css("ol.journey")).await.unwrap().text().await.unwrap();
    assert!(journey.contains("deposited") && journey.contains("announced"), "{journey}");
    screenshot(&browser, "03-parcel").await;

    // A free door of the simulated locker opened from its page: requested, reported open, then shut.
    let page = format!("{base}/console/points/{locker}?lang=fr");
    browser.goto(&page).await.unwrap();
    let free = browser.find(Locator::Css("article.door.available")).await.unwrap();
    let door = free.attr("id").await.unwrap().unwrap().trim_start_matches("door-").to_owned();
    free.find(Locator::Css("details summary")).await.unwrap().click().await.unwrap();
    let form = free.find(Locator::Css("details form")).await.unwrap();
    form.find(Locator::Css("input[name=reason]")).await.unwrap().send_keys("inspection").await.unwrap();
    form.find(Locator::Css("input[name=confirm]")).await.unwrap().click().await.unwrap();
    form.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
    let cell = |source: &str| {
        source
            .split(&format!("id=\"door-{door}\""))
            .nth(1)
            .unwrap_or_default()
            .split("</article>")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let requested = browser.source().await.unwrap();
    assert!(browser.current_url().await.unwrap().as_str().contains(&format!("/console/points/{locker}")));
    let opened =
        reload_until(&browser, &page, "the door reported open", |s| cell(s).contains("data-door-state=\"open\"")).await;
    assert!(cell(&requested).contains("ouverture demandée") || cell(&opened).contains("data-door-state=\"open\""));
    let doors = browser.find(Locator::Css("section.doors")).await.unwrap();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::write(shots.join("04-door-open.png"), doors.screenshot().await.unwrap()).unwrap();
    let shut = reload_until(&browser, &page, "the door shut again", |s| {
        cell(s).contains("data-door-state=\"closed\"") && !cell(s).contains("ouverture demandée")
    })
    .await;
    assert!(shut.contains("remote_door_opening · console:"), "the audit log names the account");

    // A counter's phone enrolled from the console: the one-time QR code's link opens the counter page
    // signed in with its own key; the same link a second time does not.
    let counter = points["items"].as_array().unwrap().iter().find(|p| p["kind"] == "counter").unwrap();
    let (counter_id, counter_name) = (counter["id"].as_str().unwrap(), counter["name"].as_str().unwrap());
    browser.goto(&format!("{base}/console/points/{counter_id}?lang=fr")).await.unwrap();
    let enrol = browser.find(Locator::Css("form[action*='/enrolments'] button")).await.unwrap();
    enrol.click().await.unwrap();
    let shown = wait_text(&browser, "#enrolment-url", "the enrolment's link", |t| t.contains("#enrol=re1_")).await;
    // The link names the instance's public address; this one listens on a port chosen at start.
    let url = format!("{base}/counter#enrol={}", shown.split("#enrol=").nth(1).unwrap());
    assert!(browser.find(Locator::Css("#enrolment-qr svg")).await.is_ok(), "the QR code");
    screenshot(&browser, "05-enrolment").await;
    browser.goto(&url).await.unwrap();
    let shop = wait_text(&browser, "#shop", "the counter page signed in", |t| !t.is_empty()).await;
    assert!(shop.starts_with(counter_name), "{shop}");
    assert!(!browser.current_url().await.unwrap().as_str().contains("enrol="), "the code leaves the address");
    // Forgotten by the phone, the same link again: a full load (not a fragment change) that is refused.
    browser.execute("localStorage.clear(); return null;", vec![]).await.unwrap();
    browser.goto("about:blank").await.unwrap();
    browser.goto(&url).await.unwrap();
    let refused = wait_text(&browser, "#result", "the used code refused", |t| !t.is_empty()).await;
    assert!(refused.contains("déjà servi") || refused.contains("used"), "{refused}");
    browser.goto(&format!("{base}/console/points/{counter_id}?lang=fr")).await.unwrap();
    let mut listed = Vec::new();
    for device in browser.find_all(Locator::Css("tr.device")).await.unwrap() {
        listed.push(device.text().await.unwrap());
    }
    assert!(listed.iter().any(|d| d.starts_with("counter phone")), "the phone is listed: {listed:?}");

    // An alert raised through the API shows in the open list without reloading; acknowledged.
    browser.goto(&format!("{base}/console/alerts?lang=fr")).await.unwrap();
    let before = browser.find_all(Locator::Css("#alerts-open tr.alert")).await.unwrap().len();
    let other = if door == "A01" { "A02" } else { "A01" };
    let out = api
        .request(
            "POST",
            &format!("/v1/points/{locker}/doors/{other}/out-of-service"),
            Some(&operator),
            Some(r#"{"reason": "vandalised"}"#),
        )
        .await
        .unwrap();
    assert_eq!(out.status, 200, "{}", out.json());
    let started = Instant::now();
    while browser.find_all(Locator::Css("#alerts-open tr.alert.door_fault")).await.unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "the stream never brought the new alert");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let count = wait_text(&browser, "#alerts-count", "the count", |t| !t.is_empty()).await;
    assert_eq!(count.parse::<usize>().unwrap(), before + 1);
    screenshot(&browser, "06-alert-live").await;
    let row = browser.find(Locator::Css("#alerts-open tr.alert.door_fault")).await.unwrap();
    row.find(Locator::Css("input[name=comment]")).await.unwrap().send_keys("technicien appelé").await.unwrap();
    row.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
    let acknowledged = reload_until(&browser, &format!("{base}/console/alerts?lang=fr"), "the acknowledgement", |s| {
        s.contains("Acquittées") && s.contains("technicien appelé")
    })
    .await;
    assert!(acknowledged.contains("Léa Martin · "), "who acknowledged it");
    screenshot(&browser, "07-acknowledged").await;

    // The lockers on the map: markers drawn by the vendored Leaflet on a plain background.
    browser.goto(&format!("{base}/console/map?lang=fr&kind=locker")).await.unwrap();
    let started = Instant::now();
    loop {
        let markers = browser.find_all(Locator::Css("#map path.point, #map path.cluster")).await.unwrap();
        if !markers.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no marker on the map");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let status = browser.find(Locator::Id("map-status")).await.unwrap().text().await.unwrap();
    assert!(status.contains("points dans la vue"), "{status}");
    assert!(browser.find_all(Locator::Css("#map img.leaflet-tile")).await.unwrap().is_empty(), "no tile requested");
    screenshot(&browser, "08-map").await;
    browser.goto(&format!("{base}/console/alerts?lang=fr")).await.unwrap();

    // English, from the switch in the navigation: the same page.
    browser.find(Locator::LinkText("English")).await.unwrap().click().await.unwrap();
    let title = wait_text(&browser, "main h1", "the English page", |t| t == "Alerts").await;
    assert_eq!(title, "Alerts");
    assert!(browser.current_url().await.unwrap().as_str().contains("lang=en"));
    let acknowledged = browser.find(Locator::Css("main h2")).await.unwrap().text().await.unwrap();
    assert_eq!(acknowledged, "Acknowledged");
    screenshot(&browser, "09-english").await;

    // On a tablet (portrait): the KPI dashboard's charts flow into the width, nothing runs off the side.
    browser.set_window_size(820, 1180).await.unwrap();
    browser.goto(&format!("{base}/console/kpis?lang=en")).await.unwrap();
    let cards = browser.find_all(Locator::Css("article.card.kpi svg.chart")).await.unwrap();
    assert_eq!(cards.len(), 6, "six KPIs drawn (the cost once a cost model is set)");
    let fits =
        browser.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await.unwrap();
    assert_eq!(fits, serde_json::json!(true), "no horizontal scrolling on a tablet");
    screenshot(&browser, "10-kpis-tablet").await;
    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

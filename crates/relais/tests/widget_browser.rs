//! The pages people use, end to end in headless Chromium (chromium + chromium-driver): the checkout
//! widget (a shop page embeds `/widget.js`, the customer searches a postcode, moves through the list
//! with the keyboard, chooses a point, and the shop page receives its id) and the counter page (a shop
//! receives a parcel and hands it over with the code and an identity check). Skipped with a message when
//! chromedriver is not installed, unless `RELAIS_REQUIRE_BROWSER` is set (CI sets it).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::Locator;
use relais::client::Client as HttpClient;

const ARROW_DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";
const PARCEL: &str = "length_mm=300&width_mm=200&height_mm=100&weight_g=1200";

mod browser;

use browser::{browser, chromedriver, serve_demo, serve_demo_with};

#[tokio::test]
async fn a_customer_picks_a_point_and_the_shop_page_gets_it() {
    let Some(driver) = chromedriver() else { return };
    let dir = std::env::temp_dir().join(format!("relais-widget-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_server, address, _stdout) = serve_demo(&dir);

    let (_driver, browser) = browser(&driver).await;

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

#[tokio::test]
async fn a_shop_receives_and_hands_over_a_parcel_on_its_phone() {
    let Some(driver) = chromedriver() else { return };
    let dir = std::env::temp_dir().join(format!("relais-counter-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_server, address, _stdout) = serve_demo(&dir);
    let keys = std::fs::read_to_string(dir.join("relais.db.demo-keys")).unwrap();
    let key_of = |label: &str| -> String {
        let line = keys.lines().find(|l| l.trim_start().starts_with(label)).unwrap();
        line.split_whitespace().find(|w| w.starts_with("rk_")).unwrap().to_owned()
    };
    let counter_line = keys.lines().find(|l| l.contains("counter device key")).unwrap();
    let point = counter_line.split("(point ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let mut api = HttpClient::connect(address).await.unwrap();
    let body = serde_json::json!({"point_id": point, "parcel_number": "EW123456785FR",
        "recipient": {"name": "Léa Martin", "phone": "+33612345678"},
        "dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1200});
    let announced =
        api.request("POST", "/v1/parcels", Some(&key_of("merchant key")), Some(&body.to_string())).await.unwrap();
    assert_eq!(announced.status, 201, "{}", announced.body);
    let code = announced.json()["pickup_code"].as_str().unwrap().to_owned();
    let parcel_id = announced.json()["parcel"]["id"].as_str().unwrap().to_owned();

    let (_driver, browser) = browser(&driver).await;
    browser.goto(&format!("http://{address}/counter?lang=fr")).await.unwrap();
    let key = browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("key")).await.unwrap();
    key.send_keys(&key_of("counter device key")).await.unwrap();
    key.send_keys(ENTER).await.unwrap();
    let number =
        browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("receive-number")).await.unwrap();
    let result = |browser: &fantoccini::Client| {
        let browser = browser.clone();
        async move {
            for _ in 0..50 {
                let text = browser.find(Locator::Id("result")).await.unwrap().text().await.unwrap();
                if !text.is_empty() {
                    return text;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            String::new()
        }
    };
    number.send_keys("EW123456785FR").await.unwrap();
    number.send_keys(ENTER).await.unwrap();
    assert_eq!(result(&browser).await, "Rangé sur l’étagère : EW123456785FR");
    let shop = browser.find(Locator::Id("shop")).await.unwrap().text().await.unwrap();
    assert!(!shop.is_empty(), "the shop's name is shown");

    // The hand-over: without ticking that the name matches, it is refused; then done.
    browser.find(Locator::Id("tab-handover")).await.unwrap().click().await.unwrap();
    browser.find(Locator::Id("handover-number")).await.unwrap().send_keys("EW123456785FR").await.unwrap();
    browser.find(Locator::Id("handover-code")).await.unwrap().send_keys(&code).await.unwrap();
    browser.find(Locator::Id("handover-last4")).await.unwrap().send_keys("7a2b").await.unwrap();
    browser.find(Locator::Css("#handover button[type=submit]")).await.unwrap().click().await.unwrap();
    let mut refused = String::new();
    for _ in 0..50 {
        refused = browser.find(Locator::Id("result")).await.unwrap().text().await.unwrap();
        if refused.starts_with("Le nom") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refused, "Le nom ne correspond pas : le colis reste ici.");
    browser.find(Locator::Id("handover-name")).await.unwrap().click().await.unwrap();
    browser.find(Locator::Css("#handover button[type=submit]")).await.unwrap().click().await.unwrap();
    let mut done = String::new();
    for _ in 0..50 {
        done = browser.find(Locator::Id("result")).await.unwrap().text().await.unwrap();
        if done.starts_with("Remis") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done, "Remis : EW123456785FR");
    let events = api
        .request("GET", &format!("/v1/parcels/{parcel_id}/events"), Some(&key_of("merchant key")), None)
        .await
        .unwrap()
        .json();
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "collected");
    assert_eq!(last["reason"], "identity_checked:id_card:****7A2B");
    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a tile service configured, the picker draws the same numbered points over its tiles with the
/// map library relais serves (the tiles themselves come from an address that answers nothing here: the
/// test runs offline); a marker chooses its point.
#[tokio::test]
async fn the_picker_draws_its_points_over_the_configured_tiles() {
    let Some(driver) = chromedriver() else { return };
    let dir = std::env::temp_dir().join(format!("relais-widget-tiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("relais.toml"), "[console]\ntile_url = \"http://127.0.0.1:9/{z}/{x}/{y}.png\"\n").unwrap();
    let (_server, address, _stdout) = serve_demo_with(&dir, &["--config", "relais.toml"]);
    let (_driver, browser) = browser(&driver).await;
    browser.goto(&format!("http://{address}/widget?place=69002&{PARCEL}")).await.unwrap();
    browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("point-1")).await.unwrap();
    let items = browser.find_all(Locator::Css("#results .point")).await.unwrap();
    let markers = browser.find_all(Locator::Css("#tilemap .tile-marker")).await.unwrap();
    assert_eq!(markers.len(), items.len(), "one numbered marker per point");
    assert!(browser.find_all(Locator::Css("svg#map")).await.unwrap().is_empty(), "no plain drawing beside it");
    assert_eq!(markers[1].text().await.unwrap(), "2");
    markers[1].click().await.unwrap();
    let pressed = browser.find(Locator::Id("point-1")).await.unwrap().attr("aria-pressed").await.unwrap();
    assert_eq!(pressed.as_deref(), Some("true"));
    let on = browser.find(Locator::Css("#tilemap .tile-marker.on")).await.unwrap().text().await.unwrap();
    assert_eq!(on, "2");
    let attribution = browser.find(Locator::Css(".leaflet-control-attribution")).await.unwrap().text().await.unwrap();
    assert!(attribution.contains("OpenStreetMap"), "{attribution}");
    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

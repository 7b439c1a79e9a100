//! The operator console's sign-in through the real router, on both backends: a signed-out browser sees
//! only the sign-in page; the right password opens a session (an `HttpOnly`, `SameSite=Strict` cookie
//! scoped to `/console`); a wrong one says nothing of which part was wrong; ten lock the account for a
//! while, even for the right password; signing out needs the page's CSRF token.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::apis;
use relais_domain::console::ConsoleRole;
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    location: Option<String>,
    cookie: Option<String>,
    body: String,
}

async fn send(router: &axum::Router, method: Method, path: &str, cookie: Option<&str>, form: Option<&str>) -> Page {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if form.is_some() {
        request = request.header("content-type", "application/x-www-form-urlencoded");
    }
    let response =
        router.clone().oneshot(request.body(Body::from(form.unwrap_or("").to_owned())).unwrap()).await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, location, cookie) = (response.status(), header("location"), header("set-cookie"));
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    Page { status, location, cookie, body: String::from_utf8_lossy(&bytes).into_owned() }
}

#[tokio::test]
async fn an_operator_signs_in_is_locked_after_ten_wrong_passwords_and_signs_out_with_the_csrf_token() {
    for mut api in apis().await {
        // Sign-ins are also limited per client address (the public pages' limit, 6 a minute in the
        // other tests): lifted here, so that the account's own lockout is what this test sees.
        let config = relais_http::HttpConfig {
            request_body_bytes_max: 4096,
            import_body_bytes_max: 1 << 20,
            widget_requests_per_minute: 0,
        };
        api.router = relais_http::router(api.app.clone(), config);
        let system = relais_app::Caller::system();
        let app = &api.app;
        app.create_console_account(
            &system,
            "Lea.Martin@example.org",
            "Léa Martin",
            ConsoleRole::Operator,
            None,
            "correct horse battery",
        )
        .await
        .unwrap();
        // Refused accounts: a short password, a taken address, a merchant without its merchant.
        let short = app.create_console_account(&system, "a@example.org", "A", ConsoleRole::Admin, None, "short").await;
        assert!(matches!(short, Err(relais_app::AppError::Validation(_))));
        let taken = app
            .create_console_account(
                &system,
                "lea.martin@example.org",
                "Other",
                ConsoleRole::Admin,
                None,
                "another long password",
            )
            .await;
        assert!(matches!(taken, Err(relais_app::AppError::AlreadyExists { what: "console_account" })));
        let merchant = app
            .create_console_account(&system, "m@example.org", "M", ConsoleRole::Merchant, None, "a long enough one")
            .await;
        assert!(matches!(merchant, Err(relais_app::AppError::Validation(_))));
        let by_merchant = app
            .create_console_account(
                &relais_app::Caller::merchant(
                    api.merchant_id.parse::<uuid::Uuid>().map(relais_domain::ids::Id::from_uuid).unwrap(),
                ),
                "x@example.org",
                "X",
                ConsoleRole::Admin,
                None,
                "a long enough one",
            )
            .await;
        assert!(matches!(by_merchant, Err(relais_app::AppError::Forbidden { .. })));

        // Signed out: the console sends to the sign-in page, in the browser's language.
        let home = send(&api.router, Method::GET, "/console?lang=en", None, None).await;
        assert_eq!((home.status, home.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login?lang=en")));
        let login = send(&api.router, Method::GET, "/console/login?lang=en", None, None).await;
        assert!(login.body.contains("type=\"password\"") && login.body.contains("Sign in"), "{}", login.body);
        let forged = send(&api.router, Method::GET, "/console", Some("relais_console=cs_forged"), None).await;
        assert_eq!(forged.status, StatusCode::SEE_OTHER);

        // The right password: a session cookie, then the home page.
        let form = "email=LEA.MARTIN%40example.org&password=correct+horse+battery";
        let signed = send(&api.router, Method::POST, "/console/login?lang=en", None, Some(form)).await;
        assert_eq!((signed.status, signed.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console?lang=en")));
        let cookie = signed.cookie.unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console"),
            "{cookie}"
        );
        let session = cookie.split(';').next().unwrap().to_owned();
        let home = send(&api.router, Method::GET, "/console?lang=en", Some(&session), None).await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("Hello Léa Martin") && home.body.contains("Léa Martin · operator"), "{}", home.body);
        let csrf = home.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

        // Sign-out needs the page's token.
        let no_token = send(&api.router, Method::POST, "/console/logout", Some(&session), Some("")).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN);
        assert!(no_token.body.contains("csrf_rejected"), "{}", no_token.body);
        let wrong = send(&api.router, Method::POST, "/console/logout", Some(&session), Some("csrf=0000")).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert_eq!(send(&api.router, Method::GET, "/console", Some(&session), None).await.status, StatusCode::OK);
        let logout = format!("csrf={csrf}");
        let out = send(&api.router, Method::POST, "/console/logout?lang=en", Some(&session), Some(&logout)).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(out.cookie.unwrap().contains("Max-Age=0"));
        let after = send(&api.router, Method::GET, "/console", Some(&session), None).await;
        assert_eq!(after.status, StatusCode::SEE_OTHER, "the session is over");

        // Wrong passwords say nothing of which part was wrong; ten lock the account, the right one too.
        let nobody = "email=nobody%40example.org&password=whatever+it+is";
        let unknown = send(&api.router, Method::POST, "/console/login?lang=en", None, Some(nobody)).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert!(unknown.body.contains("Wrong e-mail address or password."));
        let bad = "email=lea.martin%40example.org&password=not+the+password";
        for _ in 0..10 {
            let wrong = send(&api.router, Method::POST, "/console/login", None, Some(bad)).await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
        }
        let right = "email=lea.martin%40example.org&password=correct+horse+battery";
        let locked = send(&api.router, Method::POST, "/console/login?lang=en", None, Some(right)).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(locked.body.contains("this account is locked until"), "{}", locked.body);
        // A quarter of an hour later the lockout is over.
        api.clock.advance(chrono::Duration::minutes(16));
        let again = send(&api.router, Method::POST, "/console/login", None, Some(right)).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
    }
}

/// Signs in through the form; the session cookie.
async fn signed_in(router: &axum::Router, email: &str, password: &str) -> String {
    let form = format!("email={}&password={}", email.replace('@', "%40"), password.replace(' ', "+"));
    let signed = send(router, Method::POST, "/console/login", None, Some(&form)).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    signed.cookie.unwrap().split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_operator_finds_any_parcel_and_a_merchant_only_its_own() {
    for api in apis().await {
        let system = relais_app::Caller::system();
        let app = &api.app;
        app.create_console_account(
            &system,
            "ops@example.org",
            "Ops",
            ConsoleRole::ReadOnly,
            None,
            "read only but long",
        )
        .await
        .unwrap();
        let other = app.create_merchant(&system, "Autre boutique").await.unwrap();
        app.create_console_account(
            &system,
            "shop@example.org",
            "Shop",
            ConsoleRole::Merchant,
            Some(other.id),
            "another shop's staff",
        )
        .await
        .unwrap();
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("CONSOLE0001"))).await;
        assert_eq!(announced.status, StatusCode::CREATED, "{}", announced.body);
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();

        let signed_out = send(&api.router, Method::GET, "/console/parcels?q=CONSOLE0001", None, None).await;
        assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
        let ops = signed_in(&api.router, "ops@example.org", "read only but long").await;
        let found = send(&api.router, Method::GET, "/console/parcels?q=CONSOLE0001&lang=en", Some(&ops), None).await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(found.body.contains(&format!("/console/parcels/{id}?lang=en")), "{}", found.body);
        let page = send(&api.router, Method::GET, &format!("/console/parcels/{id}?lang=en"), Some(&ops), None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("CONSOLE0001") && page.body.contains("relais · announced · pending"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("+33612345678"), "never the recipient's phone: {}", page.body);
        let none = send(&api.router, Method::GET, "/console/parcels?q=NOSUCH0001&lang=en", Some(&ops), None).await;
        assert!(none.body.contains("No parcel found."), "{}", none.body);

        // Another merchant's staff: not theirs.
        let shop = signed_in(&api.router, "shop@example.org", "another shop's staff").await;
        let theirs = send(&api.router, Method::GET, "/console/parcels?q=CONSOLE0001&lang=en", Some(&shop), None).await;
        assert!(theirs.body.contains("No parcel found."), "{}", theirs.body);
        let by_phone = "/console/parcels?q=%2B33+6+12+34+56+78&lang=en";
        let theirs = send(&api.router, Method::GET, by_phone, Some(&shop), None).await;
        assert!(theirs.body.contains("No parcel found."), "{}", theirs.body);

        // By the recipient's phone (as people write it) or e-mail, matched by digest; by order reference.
        let found = send(&api.router, Method::GET, by_phone, Some(&ops), None).await;
        assert!(found.body.contains(&format!("/console/parcels/{id}?lang=en")), "{}", found.body);
        let order = serde_json::json!({
            "reference": "CMD-2026/0042", "customer": {"name": "Ana", "email": "Ana.Lopez@example.org"},
            "point_id": api.locker_id, "shipping_price": {"amount_cents": 0, "currency": "EUR"},
            "parcels": [{"parcel_number": "CONSOLE0042", "dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500}]
        });
        let order = api.call(Method::POST, "/v1/orders", &api.merchant, Some(order)).await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
        let order_parcel = order.body["parcels"][0]["parcel"]["id"].as_str().unwrap().to_owned();
        for q in ["CMD-2026%2F0042", "ana.lopez%40example.org", "+ANA.LOPEZ%40EXAMPLE.ORG+"] {
            let found = send(&api.router, Method::GET, &format!("/console/parcels?q={q}"), Some(&ops), None).await;
            assert!(found.body.contains(&format!("/console/parcels/{order_parcel}")), "{q}: {}", found.body);
            assert!(!found.body.contains(&format!("/console/parcels/{id}")), "{q}: {}", found.body);
            let theirs = send(&api.router, Method::GET, &format!("/console/parcels?q={q}"), Some(&shop), None).await;
            assert!(!theirs.body.contains("/console/parcels/0"), "{q}: {}", theirs.body);
        }
        let direct = send(&api.router, Method::GET, &format!("/console/parcels/{id}"), Some(&shop), None).await;
        assert_eq!(direct.status, StatusCode::NOT_FOUND);
        let garbage = send(&api.router, Method::GET, "/console/parcels/not-an-id", Some(&ops), None).await;
        assert_eq!(garbage.status, StatusCode::NOT_FOUND);
    }
}

/// The form of an action on the parcel page, with the page's CSRF token.
fn action_form(page: &str, action: &str) -> Option<String> {
    let marker = format!("name=\"action\" value=\"{action}\"");
    let form = page.split("<form").find(|f| f.contains(&marker))?;
    let csrf = form.split("name=\"csrf\" value=\"").nth(1)?.split('"').next()?;
    Some(format!("csrf={csrf}&action={action}"))
}

#[tokio::test]
async fn a_parcel_page_offers_only_what_the_role_and_the_lifecycle_allow() {
    for api in apis().await {
        let system = relais_app::Caller::system();
        let app = &api.app;
        app.create_console_account(&system, "op@example.org", "Op", ConsoleRole::Operator, None, "operator at work")
            .await
            .unwrap();
        app.create_console_account(&system, "ro@example.org", "Ro", ConsoleRole::ReadOnly, None, "read only but long")
            .await
            .unwrap();
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("ACTION0001"))).await;
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let path = format!("/console/parcels/{id}?lang=en");

        // Read-only: the page, no action; its forged form refused.
        let ro = signed_in(&api.router, "ro@example.org", "read only but long").await;
        let page = send(&api.router, Method::GET, &path, Some(&ro), None).await;
        assert!(!page.body.contains("name=\"action\""), "{}", page.body);
        let ro_home = send(&api.router, Method::GET, "/console", Some(&ro), None).await;
        let ro_csrf =
            ro_home.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let actions = format!("/console/parcels/{id}/actions");
        let forged = send(
            &api.router,
            Method::POST,
            &actions,
            Some(&ro),
            Some(&format!("csrf={ro_csrf}&action=cancel&reason=x")),
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

        // An operator, before the deposit: cancel (and expire? not before the deposit), no extension yet.
        let op = signed_in(&api.router, "op@example.org", "operator at work").await;
        let page = send(&api.router, Method::GET, &path, Some(&op), None).await;
        let offered: Vec<&str> = ["extend", "force_expire", "cancel"]
            .into_iter()
            .filter(|a| page.body.contains(&format!("name=\"action\" value=\"{a}\"")))
            .collect();
        assert_eq!(offered, ["cancel"], "{}", page.body);
        // Without the page's token, refused; with it, done.
        let no_csrf = send(&api.router, Method::POST, &actions, Some(&op), Some("action=cancel&reason=doublon")).await;
        assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
        let unknown = send(&api.router, Method::POST, &actions, Some(&op), Some("csrf=x&action=explode")).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        let form = action_form(&page.body, "cancel").unwrap() + "&reason=doublon";
        let done = send(&api.router, Method::POST, &actions, Some(&op), Some(&form)).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = send(&api.router, Method::GET, &path, Some(&op), None).await;
        assert!(page.body.contains("<strong class=\"state\">cancelled</strong>"), "{}", page.body);
        assert!(!page.body.contains("name=\"action\""), "nothing is left to do on a cancelled parcel");
        // The same form again: the lifecycle refuses it.
        let again = send(&api.router, Method::POST, &actions, Some(&op), Some(&form)).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    }
}

#[tokio::test]
async fn the_kpi_dashboard_draws_the_seven_kpis_with_their_targets_and_exports_them() {
    for mut api in apis().await {
        let system = relais_app::Caller::system();
        // A cost model: 24.00 a locker a day, 0.50 a deposit; an NPS target.
        let settings = relais_app::kpis::KpiSettings {
            cost: relais_domain::kpi::CostModel {
                point_day_cents: [2_400, 0, 0, 0, 0],
                deposit_cents: 50,
                ..Default::default()
            },
            targets: relais_domain::kpi::KpiTargets { nps: Some(40.0), ..Default::default() },
        };
        api.app = api.app.clone().with_kpi_settings(settings);
        api.router = relais_http::router(
            api.app.clone(),
            relais_http::HttpConfig {
                request_body_bytes_max: 4096,
                import_body_bytes_max: 1 << 20,
                widget_requests_per_minute: 0,
            },
        );
        api.app.rebuild_index().await.unwrap();
        let app = &api.app;
        app.create_console_account(
            &system,
            "ops@example.org",
            "Ops",
            ConsoleRole::ReadOnly,
            None,
            "read only but long",
        )
        .await
        .unwrap();
        let merchant_id = api.merchant_id.parse::<uuid::Uuid>().unwrap();
        app.create_console_account(
            &system,
            "shop@example.org",
            "Shop",
            ConsoleRole::Merchant,
            Some(relais_domain::ids::Id::from_uuid(merchant_id)),
            "the shop's own staff",
        )
        .await
        .unwrap();
        // Two parcels deposited at 08:00 in the locker's two doors; the page is read at 14:00.
        for number in ["KPI0001", "KPI0002"] {
            api.announced(number).await;
            api.deposit_in_session(number).await;
        }
        api.clock.advance(chrono::Duration::hours(6));

        let signed_out = send(&api.router, Method::GET, "/console/kpis", None, None).await;
        assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
        let ops = signed_in(&api.router, "ops@example.org", "read only but long").await;
        let path = format!("/console/kpis?lang=en&from=2026-11-27&to=2026-11-27&network_id={}", api.network_id);
        let page = send(&api.router, Method::GET, &path, Some(&ops), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let body = &page.body;
        assert_eq!(body.matches("<article class=\"card kpi\">").count(), 7, "{body}");
        assert!(body.contains("2 parcels deposited in the period"), "{body}");
        // Occupancy: 2 parcels x 6 h over 2 doors x 14 h = 42.9 %; its target is the alert's threshold.
        assert!(
            body.contains("<h3>Occupancy</h3><p class=\"figure\">42.9 % <span class=\"muted\">target 85.0 %</span>"),
            "{body}"
        );
        // Cost: 24.00 x 14/24 of the day + 2 x 0.50 = 15.00, over 2 parcels.
        assert!(body.contains("<h3>Cost per parcel</h3><p class=\"figure\">7.50"), "{body}");
        assert!(
            body.contains("<h3>Satisfaction (NPS)</h3><p class=\"figure\">- <span class=\"muted\">target 40</span>"),
            "{body}"
        );
        assert_eq!(body.matches("class=\"target\"").count(), 4, "pickup rate, occupancy, incidents, NPS: {body}");
        assert!(body.contains("Consigne Gare"), "the busiest points: {body}");
        // The French page, for the same period.
        let french = send(&api.router, Method::GET, &path.replace("lang=en", "lang=fr"), Some(&ops), None).await;
        assert!(french.body.contains("<h3>Occupation</h3><p class=\"figure\">42.9 %"), "{}", french.body);

        let csv =
            send(&api.router, Method::GET, &path.replace("/console/kpis?", "/console/kpis.csv?"), Some(&ops), None)
                .await;
        assert_eq!(csv.status, StatusCode::OK);
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines[0], relais_http::console_kpis::SERIES_CSV_HEADER);
        assert_eq!(lines[1], "2026-11-27,2,0.0000,,0.4286,0.0000,0.0000,,0,1500,750.0000");
        assert_eq!(lines[2], "total,2,0.0000,,0.4286,0.0000,0.0000,,0,1500,750.0000");

        // A bad day is named; a merchant's staff has no network KPIs.
        let bad = send(&api.router, Method::GET, "/console/kpis?lang=en&from=27/11/2026", Some(&ops), None).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("from: &quot;27/11/2026&quot;"), "{}", bad.body);
        let shop = signed_in(&api.router, "shop@example.org", "the shop's own staff").await;
        let theirs = send(&api.router, Method::GET, &path, Some(&shop), None).await;
        assert_eq!(theirs.status, StatusCode::FORBIDDEN);
        assert!(!theirs.body.contains("class=\"card kpi\""));
        let csv = send(&api.router, Method::GET, "/console/kpis.csv", Some(&shop), None).await;
        assert_eq!(csv.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn alerts_are_listed_acknowledged_with_a_comment_and_streamed_live() {
    for api in apis().await {
        let system = relais_app::Caller::system();
        let app = &api.app;
        app.create_console_account(
            &system,
            "lea@example.org",
            "Léa",
            ConsoleRole::Operator,
            None,
            "operator's long one",
        )
        .await
        .unwrap();
        app.create_console_account(
            &system,
            "ops@example.org",
            "Ops",
            ConsoleRole::ReadOnly,
            None,
            "read only but long",
        )
        .await
        .unwrap();
        let merchant_id = relais_domain::ids::Id::from_uuid(api.merchant_id.parse::<uuid::Uuid>().unwrap());
        app.create_console_account(
            &system,
            "shop@example.org",
            "Shop",
            ConsoleRole::Merchant,
            Some(merchant_id),
            "the shop's own staff",
        )
        .await
        .unwrap();
        // A jammed door, a damaged parcel to claim within 3 days, then the locker falls silent.
        let beat = format!("/v1/points/{}/heartbeat", api.locker_id);
        let doors =
            serde_json::json!({"doors": [{"door": "A01", "state": "closed"}, {"door": "B01", "state": "jammed"}]});
        let beat = api.call(Method::POST, &beat, &api.device, Some(doors)).await;
        assert_eq!(beat.status, StatusCode::OK, "{}", beat.body);
        let parcel = api.announced("ALERT0001").await;
        api.deposit_in_session("ALERT0001").await;
        let follow = serde_json::json!({"carrier": "colissimo", "tracking_number": "6A0000000042"});
        let followed =
            api.call(Method::PUT, &format!("/v1/parcels/{parcel}/tracking"), &api.merchant, Some(follow)).await;
        assert_eq!(followed.status, StatusCode::OK, "{}", followed.body);
        let claim = serde_json::json!({"kind": "damaged", "description": "crushed corner"});
        let claimed = api.call(Method::POST, &format!("/v1/parcels/{parcel}/claims"), &api.merchant, Some(claim)).await;
        assert_eq!(claimed.status, StatusCode::CREATED, "{}", claimed.body);
        api.clock.advance(chrono::Duration::minutes(10));
        app.run_sweeps(&system).await.unwrap();

        let signed_out = send(&api.router, Method::GET, "/console/alerts", None, None).await;
        assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
        let lea = signed_in(&api.router, "lea@example.org", "operator's long one").await;
        let page = send(&api.router, Method::GET, "/console/alerts?lang=en", Some(&lea), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for expected in ["Door fault", "door B01", "jammed", "Locker silent", "Claim to file", "damaged · colissimo"] {
            assert!(page.body.contains(expected), "{expected}: {}", page.body);
        }
        assert!(page.body.contains(&format!("/console/parcels/{parcel}")), "{}", page.body);
        let forms = page.body.matches("action=\"/console/alerts/acknowledge").count();
        let rows = page.body.matches("<tr class=\"alert ").count();
        assert!(rows >= 3 && forms == rows, "{rows} rows, {forms} forms");
        // The navigation of every page carries the live count's stream, and the script that reads it.
        assert!(page.body.contains("data-stream=\"/console/alerts/stream?lang=en\""));
        assert!(page.body.contains("<script src=\"/console/assets/console.js\" defer></script>"));

        // Read-only: the same alerts, no form; a merchant's staff: not theirs.
        let ops = signed_in(&api.router, "ops@example.org", "read only but long").await;
        let seen = send(&api.router, Method::GET, "/console/alerts?lang=en", Some(&ops), None).await;
        assert_eq!(seen.body.matches("<tr class=\"alert ").count(), rows);
        assert!(!seen.body.contains("/console/alerts/acknowledge"));
        let shop = signed_in(&api.router, "shop@example.org", "the shop's own staff").await;
        let theirs = send(&api.router, Method::GET, "/console/alerts?lang=en", Some(&shop), None).await;
        assert_eq!(theirs.status, StatusCode::FORBIDDEN);
        assert!(!theirs.body.contains("alerts-count"), "no alert count in a merchant's navigation");

        // Acknowledging the door: the CSRF token and a comment are required, a read-only account cannot.
        let door_row = page.body.split("<tr class=\"alert door_fault\">").nth(1).unwrap();
        let key = door_row.split("name=\"key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let csrf = page.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let key_field = key.replace(':', "%3A");
        let ack = "/console/alerts/acknowledge?lang=en";
        let no_csrf =
            send(&api.router, Method::POST, ack, Some(&lea), Some(&format!("key={key_field}&comment=on+it"))).await;
        assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
        let silent =
            send(&api.router, Method::POST, ack, Some(&lea), Some(&format!("csrf={csrf}&key={key_field}&comment=+")))
                .await;
        assert_eq!(silent.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", silent.body);
        let ops_csrf = seen.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let forged = format!("csrf={ops_csrf}&key={key_field}&comment=not+mine");
        let refused = send(&api.router, Method::POST, ack, Some(&ops), Some(&forged)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let form = format!("csrf={csrf}&key={key_field}&comment=technician+on+site+at+15%3A00");
        let done = send(&api.router, Method::POST, ack, Some(&lea), Some(&form)).await;
        assert_eq!((done.status, done.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/alerts?lang=en")));
        let after = send(&api.router, Method::GET, "/console/alerts?lang=en", Some(&lea), None).await;
        assert_eq!(after.body.matches("action=\"/console/alerts/acknowledge").count(), rows - 1);
        let acknowledged = after.body.split("<h2>Acknowledged</h2>").nth(1).unwrap();
        assert!(acknowledged.contains("Door fault") && acknowledged.contains("Léa · 2026-11-27"), "{acknowledged}");
        assert!(acknowledged.contains("technician on site at 15:00"), "{acknowledged}");

        // The stream: its first event at once, with the open alerts' count and table.
        let response = api
            .router
            .clone()
            .oneshot(Request::get("/console/alerts/stream?lang=en").header("cookie", &lea).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut body = response.into_body().into_data_stream();
        let first = futures_util::StreamExt::next(&mut body).await.unwrap().unwrap();
        let first = String::from_utf8_lossy(&first).into_owned();
        assert!(first.starts_with("event: alerts\ndata: "), "{first}");
        let data: serde_json::Value =
            serde_json::from_str(first.lines().nth(1).unwrap().trim_start_matches("data: ")).unwrap();
        assert_eq!(data["open"], rows - 1);
        assert!(data["html"].as_str().unwrap().contains("Locker silent"), "{data}");
        let no_session = send(&api.router, Method::GET, "/console/alerts/stream", None, None).await;
        assert_eq!(no_session.status, StatusCode::UNAUTHORIZED);
        let for_shop = send(&api.router, Method::GET, "/console/alerts/stream", Some(&shop), None).await;
        assert_eq!(for_shop.status, StatusCode::FORBIDDEN);
        let script = send(&api.router, Method::GET, "/console/assets/console.js", None, None).await;
        assert!(script.body.contains("new EventSource"), "{}", script.body);
    }
}

#[tokio::test]
async fn a_locker_page_opens_a_door_takes_one_out_of_service_and_enrols_a_device_once() {
    for api in apis().await {
        let system = relais_app::Caller::system();
        let app = &api.app;
        app.rebuild_index().await.unwrap();
        let account = app
            .create_console_account(
                &system,
                "lea@example.org",
                "Léa",
                ConsoleRole::Operator,
                None,
                "operator's long one",
            )
            .await
            .unwrap()
            .id;
        app.create_console_account(
            &system,
            "ops@example.org",
            "Ops",
            ConsoleRole::ReadOnly,
            None,
            "read only but long",
        )
        .await
        .unwrap();
        let lea = signed_in(&api.router, "lea@example.org", "operator's long one").await;
        let ops = signed_in(&api.router, "ops@example.org", "read only but long").await;
        let locker = api.locker_id.clone();
        let path = format!("/console/points/{locker}?lang=en");

        // The network's list, filtered.
        let list = send(&api.router, Method::GET, "/console/points?lang=en&kind=locker&q=gare", Some(&lea), None).await;
        assert!(list.body.contains(&format!("/console/points/{locker}?lang=en\">Consigne Gare")), "{}", list.body);
        let full = send(&api.router, Method::GET, "/console/points?lang=en&occupancy_min=50", Some(&lea), None).await;
        assert!(full.body.contains("0 points"), "an empty locker is not 50 % full: {}", full.body);

        let page = send(&api.router, Method::GET, &path, Some(&lea), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("id=\"door-A01\"") && page.body.contains("id=\"door-B01\""), "{}", page.body);
        assert!(page.body.contains("No heartbeat yet."));
        let csrf = page.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let seen = send(&api.router, Method::GET, &path, Some(&ops), None).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(!seen.body.contains("/doors/A01/actions") && !seen.body.contains("/enrolments"), "{}", seen.body);

        // Open A01: confirmed, with a reason; then the page says so and the audit log names Léa's account.
        let act = format!("/console/points/{locker}/doors/A01/actions?lang=en");
        let unconfirmed = format!("csrf={csrf}&action=open&reason=stuck+parcel");
        let refused = send(&api.router, Method::POST, &act, Some(&lea), Some(&unconfirmed)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(refused.body.contains("confirm"), "{}", refused.body);
        let ops_csrf = seen.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let forged = format!("csrf={ops_csrf}&action=open&reason=x&confirm=yes");
        assert_eq!(
            send(&api.router, Method::POST, &act, Some(&ops), Some(&forged)).await.status,
            StatusCode::FORBIDDEN
        );
        let no_csrf = "action=open&reason=stuck+parcel&confirm=yes";
        assert_eq!(
            send(&api.router, Method::POST, &act, Some(&lea), Some(no_csrf)).await.status,
            StatusCode::FORBIDDEN
        );
        let opened =
            send(&api.router, Method::POST, &act, Some(&lea), Some(&format!("{unconfirmed}&confirm=yes"))).await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        let page = send(&api.router, Method::GET, &path, Some(&lea), None).await;
        let a01 = page.body.split("id=\"door-A01\"").nth(1).unwrap().split("</article>").next().unwrap();
        assert!(a01.contains("opening requested"), "{a01}");
        assert!(
            page.body.contains(&format!("remote_door_opening · console:{account} · stuck parcel")),
            "{}",
            page.body
        );
        // The locker's own API sees the command (what the simulated locker opens).
        let commands = api.call(Method::GET, &format!("/v1/points/{locker}/door-commands"), &api.device, None).await;
        assert_eq!(commands.body["commands"][0]["door"], "A01", "{}", commands.body);

        // B01 out of service, then repaired.
        let b01 = format!("/console/points/{locker}/doors/B01/actions?lang=en");
        let out = format!("csrf={csrf}&action=out_of_service&reason=hinge+broken&confirm=yes");
        assert_eq!(send(&api.router, Method::POST, &b01, Some(&lea), Some(&out)).await.status, StatusCode::SEE_OTHER);
        let page = send(&api.router, Method::GET, &path, Some(&lea), None).await;
        assert!(page.body.contains("<article class=\"door out_of_service\" id=\"door-B01\">"), "{}", page.body);
        assert!(page.body.contains("door_broken · console:"), "{}", page.body);
        let repair = format!("csrf={csrf}&action=repair&reason=hinge+replaced&confirm=yes");
        assert_eq!(
            send(&api.router, Method::POST, &b01, Some(&lea), Some(&repair)).await.status,
            StatusCode::SEE_OTHER
        );
        let page = send(&api.router, Method::GET, &path, Some(&lea), None).await;
        assert!(page.body.contains("<article class=\"door available\" id=\"door-B01\">"), "{}", page.body);

        // A device enrolled with a one-time QR code: its key works, the code does not work twice.
        let enrol = format!("/console/points/{locker}/enrolments?lang=en");
        let read_only =
            send(&api.router, Method::POST, &enrol, Some(&ops), Some(&format!("csrf={ops_csrf}&label=x"))).await;
        assert_eq!(read_only.status, StatusCode::FORBIDDEN);
        let shown =
            send(&api.router, Method::POST, &enrol, Some(&lea), Some(&format!("csrf={csrf}&label=controller+2"))).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert!(shown.body.contains("<figure class=\"qr\" id=\"enrolment-qr\"><svg"), "{}", shown.body);
        let url = shown.body.split("<code id=\"enrolment-url\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
        let token = url.split("#enrol=").nth(1).unwrap().to_owned();
        assert!(url.starts_with("http://127.0.0.1:8080/counter#enrol=re1_"), "{url}");
        let enrolled = api.call(Method::POST, "/v1/devices/enrol", "", Some(serde_json::json!({"token": token}))).await;
        assert_eq!(enrolled.status, StatusCode::CREATED, "{}", enrolled.body);
        let secret = enrolled.body["secret"].as_str().unwrap().to_owned();
        let me = api.call(Method::GET, "/v1/me", &secret, None).await;
        assert_eq!(
            (me.body["role"].as_str(), me.body["point_id"].as_str()),
            (Some("locker_device"), Some(locker.as_str()))
        );
        let again = api.call(Method::POST, "/v1/devices/enrol", "", Some(serde_json::json!({"token": token}))).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
        let unknown =
            api.call(Method::POST, "/v1/devices/enrol", "", Some(serde_json::json!({"token": "re1_nope"}))).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);

        // Listed on the point's page, then revoked from it.
        let page = send(&api.router, Method::GET, &path, Some(&lea), None).await;
        assert!(page.body.contains("<tr class=\"device\"><td>controller 2</td>"), "{}", page.body);
        let key_id = enrolled.body["key_id"].as_str().unwrap();
        let revoke = format!("/console/points/{locker}/devices/{key_id}/revoke?lang=en");
        let done =
            send(&api.router, Method::POST, &revoke, Some(&lea), Some(&format!("csrf={csrf}&reason=phone+lost"))).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(api.call(Method::GET, "/v1/me", &secret, None).await.status, StatusCode::UNAUTHORIZED);
        let elsewhere = format!("/console/points/{}/devices/{key_id}/revoke", common::uuid_like());
        let wrong =
            send(&api.router, Method::POST, &elsewhere, Some(&lea), Some(&format!("csrf={csrf}&reason=x"))).await;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_map_shows_the_filtered_points_with_tiles_or_a_plain_background() {
    for mut api in apis().await {
        let system = relais_app::Caller::system();
        api.app.rebuild_index().await.unwrap();
        api.app
            .create_console_account(
                &system,
                "ops@example.org",
                "Ops",
                ConsoleRole::ReadOnly,
                None,
                "read only but long",
            )
            .await
            .unwrap();
        let merchant_id = relais_domain::ids::Id::from_uuid(api.merchant_id.parse::<uuid::Uuid>().unwrap());
        api.app
            .create_console_account(
                &system,
                "shop@example.org",
                "Shop",
                ConsoleRole::Merchant,
                Some(merchant_id),
                "the shop's own staff",
            )
            .await
            .unwrap();
        let ops = signed_in(&api.router, "ops@example.org", "read only but long").await;

        // No tiles configured: the plain background, nothing from another site.
        let page = send(&api.router, Method::GET, "/console/map?lang=en&kind=locker", Some(&ops), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("data-tiles=\"\""), "{}", page.body);
        assert!(page.body.contains("data-bounds=\"[[45.757,4.832],[45.757,4.832]]\""), "{}", page.body);
        assert!(page.body.contains("<script src=\"/assets/leaflet/leaflet.js\" defer></script>"));
        let in_view = "/console/map/points?lang=en&kind=locker&bbox=4.8,45.7,4.9,45.8";
        let view = send(&api.router, Method::GET, in_view, Some(&ops), None).await;
        assert_eq!(view.status, StatusCode::OK, "{}", view.body);
        let view: serde_json::Value = serde_json::from_str(&view.body).unwrap();
        assert_eq!((view["total"].as_u64(), view["points"][0]["name"].as_str()), (Some(1), Some("Consigne Gare")));
        assert_eq!(view["points"][0]["occupancy"], 0.0);
        assert_eq!(view["text"], "1 points in view");
        let elsewhere = "/console/map/points?bbox=2.2,48.8,2.4,48.9";
        let view: serde_json::Value =
            serde_json::from_str(&send(&api.router, Method::GET, elsewhere, Some(&ops), None).await.body).unwrap();
        assert_eq!(view["total"], 0, "Paris has no point here");
        let counters = "/console/map/points?kind=counter";
        let view: serde_json::Value =
            serde_json::from_str(&send(&api.router, Method::GET, counters, Some(&ops), None).await.body).unwrap();
        assert_eq!(view["total"], 0, "filtered by kind");
        // Signed out, or a merchant's staff: nothing.
        assert_eq!(send(&api.router, Method::GET, in_view, None, None).await.status, StatusCode::UNAUTHORIZED);
        let shop = signed_in(&api.router, "shop@example.org", "the shop's own staff").await;
        assert_eq!(send(&api.router, Method::GET, in_view, Some(&shop), None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            send(&api.router, Method::GET, "/console/map", Some(&shop), None).await.status,
            StatusCode::FORBIDDEN
        );

        // The vendored library, served by relais.
        let js = send(&api.router, Method::GET, "/assets/leaflet/leaflet.js", None, None).await;
        assert!(js.body.contains("Leaflet 1.9.4"), "{}", &js.body[..200]);
        let css = send(&api.router, Method::GET, "/assets/leaflet/leaflet.css", None, None).await;
        assert!(css.body.contains(".leaflet-container"));
        let none = send(&api.router, Method::GET, "/assets/leaflet/other.js", None, None).await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);

        // With OpenStreetMap's tiles: their origin allowed for images, their attribution given.
        let tiles = relais_app::MapTiles {
            url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            attribution: "© OpenStreetMap contributors".into(),
        };
        api.app = api.app.clone().with_map_tiles(Some(tiles));
        api.router = relais_http::router(
            api.app.clone(),
            relais_http::HttpConfig {
                request_body_bytes_max: 4096,
                import_body_bytes_max: 1 << 20,
                widget_requests_per_minute: 0,
            },
        );
        let response = api
            .router
            .clone()
            .oneshot(Request::get("/console/map?lang=en").header("cookie", &ops).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("img-src 'self' data: https://tile.openstreetmap.org;"), "{csp}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("data-tiles=\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\""), "{body}");
        assert!(body.contains("data-attribution=\"© OpenStreetMap contributors\""));
    }
}

#[tokio::test]
async fn a_parcel_without_room_is_sent_to_a_nearby_point_and_a_returning_one_recorded_back_with_its_sender() {
    for api in apis().await {
        let system = relais_app::Caller::system();
        let op = api.operator.clone();
        // A shop counter 300 m from the locker, in the same network.
        let counter = serde_json::json!({
            "network_id": api.network_id, "external_id": "C9", "kind": "counter", "name": "Tabac Bellecour",
            "address_line1": "2 rue Victor Hugo", "postcode": "69002", "city": "Lyon", "country": "FR",
            "latitude": 45.7545, "longitude": 4.8330, "shelf_capacity": 5
        });
        let counter = api.call(Method::POST, "/v1/points", &op, Some(counter)).await;
        assert_eq!(counter.status, StatusCode::CREATED, "{}", counter.body);
        let counter_id = counter.body["id"].as_str().unwrap().to_owned();
        api.app.rebuild_index().await.unwrap();
        api.app
            .create_console_account(
                &system,
                "lea@example.org",
                "Léa",
                ConsoleRole::Operator,
                None,
                "operator's long one",
            )
            .await
            .unwrap();
        let lea = signed_in(&api.router, "lea@example.org", "operator's long one").await;
        // Two parcels for the locker's two doors; the second's door breaks before it arrives: no room.
        let ids = [api.announced("ROOM0001").await, api.announced("ROOM0002").await];
        let deposit = api.call(Method::POST, &format!("/v1/parcels/{}/deposit", ids[0]), &api.carrier, None).await;
        assert!(deposit.status.is_success(), "{}", deposit.body);
        let point = api.call(Method::GET, &format!("/v1/points/{}", api.locker_id), &op, None).await;
        let doors = point.body["compartments"].as_array().unwrap();
        let door = doors.iter().find(|c| c["state"] != "occupied").unwrap()["label"].as_str().unwrap().to_owned();
        let broken = format!("/v1/points/{}/doors/{door}/out-of-service", api.locker_id);
        let broken = api.call(Method::POST, &broken, &op, Some(serde_json::json!({"reason": "hinge"}))).await;
        assert_eq!(broken.status, StatusCode::OK, "{}", broken.body);
        api.app.refresh_capacities().await.unwrap();
        let failed = api.call(Method::POST, &format!("/v1/parcels/{}/deposit", ids[1]), &api.carrier, None).await;
        assert!(failed.status.is_success(), "{}", failed.body);
        let ids = [ids[0].clone(), String::new(), ids[1].clone()];
        let page =
            send(&api.router, Method::GET, &format!("/console/parcels/{}?lang=en", ids[2]), Some(&lea), None).await;
        assert!(page.body.contains("<strong class=\"state\">deposit_failed</strong>"), "{}", page.body);
        assert!(
            page.body.contains(&format!("<option value=\"{counter_id}\">Tabac Bellecour · Lyon</option>")),
            "{}",
            page.body
        );
        let form = action_form(&page.body, "relocate").unwrap();
        let actions = format!("/console/parcels/{}/actions?lang=en", ids[2]);
        let no_point = send(&api.router, Method::POST, &actions, Some(&lea), Some(&form)).await;
        assert_eq!(no_point.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_point.body);
        let far =
            send(&api.router, Method::POST, &actions, Some(&lea), Some(&format!("{form}&point_id={}", api.locker_id)))
                .await;
        assert_eq!(far.status, StatusCode::CONFLICT, "the full locker itself: {}", far.body);
        let sent =
            send(&api.router, Method::POST, &actions, Some(&lea), Some(&format!("{form}&point_id={counter_id}"))).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let parcel = api.call(Method::GET, &format!("/v1/parcels/{}", ids[2]), &op, None).await;
        assert_eq!(
            (parcel.body["state"].as_str(), parcel.body["point_id"].as_str()),
            (Some("in_transit"), Some(counter_id.as_str()))
        );

        // The first parcel expires and is taken back: returning, then back with its sender.
        let expiry = api
            .call(
                Method::POST,
                &format!("/v1/parcels/{}/force-expiry", ids[0]),
                &op,
                Some(serde_json::json!({"reason": "test"})),
            )
            .await;
        assert!(expiry.status.is_success(), "{}", expiry.body);
        let taken =
            api.call(Method::POST, &format!("/v1/parcels/{}/return-collection", ids[0]), &api.carrier, None).await;
        assert!(taken.status.is_success(), "{}", taken.body);
        let page =
            send(&api.router, Method::GET, &format!("/console/parcels/{}?lang=en", ids[0]), Some(&lea), None).await;
        assert!(!page.body.contains("value=\"relocate\""), "no room problem here");
        let form = action_form(&page.body, "return_to_sender").unwrap();
        let back =
            send(&api.router, Method::POST, &format!("/console/parcels/{}/actions", ids[0]), Some(&lea), Some(&form))
                .await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
        let parcel = api.call(Method::GET, &format!("/v1/parcels/{}", ids[0]), &op, None).await;
        assert_eq!(parcel.body["state"], "returned_to_sender");
    }
}

#[tokio::test]
async fn imports_show_their_changes_and_their_refused_rows() {
    for api in apis().await {
        let system = relais_app::Caller::system();
        api.app
            .create_console_account(
                &system,
                "ops@example.org",
                "Ops",
                ConsoleRole::ReadOnly,
                None,
                "read only but long",
            )
            .await
            .unwrap();
        let ops = signed_in(&api.router, "ops@example.org", "read only but long").await;
        let op = api.operator.clone();
        let path = |query: &str| format!("/v1/networks/{}/imports?{query}", api.network_id);
        let csv = "external_id,kind,name,address_line1,postcode,city,country,latitude,longitude,opening_hours\n\
                   C1,counter,Tabac,1 rue A,69001,Lyon,FR,45.7640,4.8357,Mo-Sa 09:00-19:00\n\
                   C2,counter,Presse,2 rue B,69002,Lyon,FR,45.7500,4.8300,\n\
                   C3,counter,Bad,3 rue C,69002,Lyon,FR,145.0,4.8300,\n";
        let refused =
            api.raw(Method::POST, &path("format=csv&source=monday.csv"), &op, Some(csv), Some("text/csv")).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        let good = &csv[..csv.find("C3,").unwrap()];
        let applied = path("format=csv&source=tuesday.csv&removal_share_max=1");
        let applied = api.raw(Method::POST, &applied, &op, Some(good), Some("text/csv")).await;
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);

        let list = send(&api.router, Method::GET, "/console/imports?lang=en", Some(&ops), None).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert!(
            list.body.contains("<tr class=\"import refused\">") && list.body.contains("monday.csv"),
            "{}",
            list.body
        );
        assert!(
            list.body.contains("<tr class=\"import applied\">") && list.body.contains("tuesday.csv"),
            "{}",
            list.body
        );
        let link = |source: &str| {
            let row = list.body.split("<tr class=\"import ").find(|r| r.contains(source)).unwrap();
            row.split("href=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
        };
        let monday = send(&api.router, Method::GET, &link("monday.csv"), Some(&ops), None).await;
        assert!(monday.body.contains("Refused rows and reasons"), "{}", monday.body);
        assert!(monday.body.contains("latitude"), "the bad row's reason: {}", monday.body);
        assert!(monday.body.contains("Changes (0)"), "nothing applied: {}", monday.body);
        let tuesday = send(&api.router, Method::GET, &link("tuesday.csv"), Some(&ops), None).await;
        assert_eq!(tuesday.body.matches("<tr class=\"change added\">").count(), 2, "{}", tuesday.body);
        assert_eq!(tuesday.body.matches("<tr class=\"change removed\">").count(), 1, "{}", tuesday.body);
        let unknown = format!("/console/imports/{}", common::uuid_like());
        assert_eq!(send(&api.router, Method::GET, &unknown, Some(&ops), None).await.status, StatusCode::NOT_FOUND);
    }
}

//! The locker story ends in inboxes: the real `relais serve` binary, its e-mail going to a local SMTP
//! server and its SMS to a local server that answers as Twilio's Messages resource does (the form
//! fields, HTTP basic authentication, the message resource it returns, its errors), including the
//! signed status callbacks back to relais. The code the recipient receives opens the door.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use relais::client::Client;
use relais_edge::http::{HttpClient, HttpConfig};
use relais_edge::sms::{SmsOutcome, TwilioChannel, TwilioSettings};
use relais_edge::testing::SmtpSink;
use serde_json::{Value, json};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "twilio-test-auth-token";

/// An SMS the Twilio-like server took: its form fields and headers as sent.
#[derive(Debug, Clone)]
struct Taken {
    form: HashMap<String, String>,
    idempotency: Option<String>,
    sid: String,
}

#[derive(Clone, Default)]
struct Twilio {
    taken: Arc<Mutex<Vec<Taken>>>,
    callbacks: Arc<Mutex<Vec<u16>>>,
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()});
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as Twilio's OpenAPI document describes it.
async fn create_message(
    State(twilio): State<Twilio>,
    UrlPath(account): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    let authorised = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Basic {expected}"));
    if !authorised || account != format!("{ACCOUNT_SID}.json").trim_end_matches(".json") {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-www-form-urlencoded") {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Unsupported content type");
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let to = form.get("To").cloned().unwrap_or_default();
    match to.as_str() {
        "+33600000429" => {
            let mut answer = twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
            answer.headers_mut().insert("retry-after", "7".parse().unwrap());
            return answer;
        }
        "+33600000503" => return twilio_error(StatusCode::SERVICE_UNAVAILABLE, 20500, "Service Unavailable"),
        "+33600000200" => return (StatusCode::CREATED, "<html>not json</html>").into_response(),
        _ => {}
    }
    let e164 = to.len() >= 9 && to.starts_with('+') && to[1..].bytes().all(|b| b.is_ascii_digit());
    if !e164 {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    if !form.contains_key("From") && !form.contains_key("MessagingServiceSid") {
        return twilio_error(StatusCode::BAD_REQUEST, 21603, "The 'From' phone number is required.");
    }
    let Some(text) = form.get("Body").filter(|b| !b.is_empty()) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    };
    // The same idempotency token: the same message, not a second one.
    let idempotency = headers.get("i-twilio-idempotency-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut taken = twilio.taken.lock().unwrap();
    let existing = taken.iter().find(|t| idempotency.is_some() && t.idempotency == idempotency).map(|t| t.sid.clone());
    let sid = existing.clone().unwrap_or_else(|| format!("SM{:032x}", taken.len() + 1));
    if existing.is_none() {
        taken.push(Taken { form: form.clone(), idempotency, sid: sid.clone() });
    }
    drop(taken);
    if let (Some(callback), None) = (form.get("StatusCallback").cloned(), existing) {
        let (sid, to, from, callbacks) = (sid.clone(), to.clone(), form["From"].clone(), Arc::clone(&twilio.callbacks));
        tokio::spawn(async move {
            // Sent, then delivered to the handset, as Twilio reports them.
            for status in ["sent", "delivered"] {
                let params: Vec<(String, String)> = [
                    ("AccountSid", ACCOUNT_SID),
                    ("ApiVersion", "2010-04-01"),
                    ("From", from.as_str()),
                    ("MessageSid", sid.as_str()),
                    ("MessageStatus", status),
                    ("SmsSid", sid.as_str()),
                    ("SmsStatus", status),
                    ("To", to.as_str()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
                let signature = relais_messages::twilio::signature(AUTH_TOKEN, &callback, &params);
                let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
                let http = HttpClient::new(&HttpConfig::default()).unwrap();
                let request = http
                    .inner()
                    .post(&callback)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", signature)
                    .body(body);
                let status = http.send(request).await.map(|a| a.status).unwrap_or(0);
                callbacks.lock().unwrap().push(status);
            }
        });
    }
    let now = "Mon, 07 Dec 2026 09:00:00 +0000";
    let segments = relais_app::notify::sms_parts(text).to_string();
    let resource = json!({
        "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": text, "date_created": now,
        "date_sent": null, "date_updated": now, "direction": "outbound-api", "error_code": null,
        "error_message": null, "from": form.get("From"), "messaging_service_sid": null, "num_media": "0",
        "num_segments": segments, "price": null, "price_unit": "USD", "sid": sid, "status": "queued",
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json")},
        "to": to, "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    });
    (StatusCode::CREATED, [("content-type", "application/json")], resource.to_string()).into_response()
}

async fn start_twilio() -> (Twilio, SocketAddr) {
    let twilio = Twilio::default();
    let app = axum::Router::new()
        .route("/2010-04-01/Accounts/{account}/Messages.json", axum::routing::post(create_message))
        .with_state(twilio.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (twilio, address)
}

fn twilio_channel(address: SocketAddr, token: &str) -> TwilioChannel {
    let settings = TwilioSettings {
        base_url: format!("http://{address}"),
        account_sid: ACCOUNT_SID.into(),
        auth_token: token.into(),
        from: "+33757000000".into(),
        status_callback: None,
    };
    TwilioChannel::new(settings, HttpClient::new(&HttpConfig { timeout_seconds: 5, ..HttpConfig::default() }).unwrap())
        .unwrap()
}

/// Each way Twilio can answer comes out as taken, to try later (with its `Retry-After`) or refused.
#[tokio::test]
async fn the_twilio_channel_says_what_twilio_answered() {
    let (twilio, address) = start_twilio().await;
    let channel = twilio_channel(address, AUTH_TOKEN);
    let sent = channel.send("+33612345678", "Votre colis vous attend. Code 04831276", "delivery-1").await;
    let SmsOutcome::Accepted { sid, status } = sent else { panic!("{sent:?}") };
    assert!(sid.starts_with("SM") && sid.len() == 34 && status == "queued", "{sid} {status}");
    let again = channel.send("+33612345678", "Votre colis vous attend. Code 04831276", "delivery-1").await;
    assert_eq!(again, SmsOutcome::Accepted { sid: sid.clone(), status: "queued".into() }, "one message per token");
    let taken = twilio.taken.lock().unwrap().clone();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].form["From"], "+33757000000");
    assert_eq!(taken[0].idempotency.as_deref(), Some("delivery-1"));

    type Expected = fn(&SmsOutcome) -> bool;
    let cases: [(&str, Expected); 4] = [
        (
            "+33600000429",
            |o| matches!(o, SmsOutcome::Failed { retry_after: Some(wait), error } if wait == "7" && error.contains("429")),
        ),
        ("+33600000503", |o| matches!(o, SmsOutcome::Failed { error, .. } if error.contains("503"))),
        ("+33600000200", |o| matches!(o, SmsOutcome::Failed { error, .. } if error.contains("no message SID"))),
        ("0612345678", |o| matches!(o, SmsOutcome::Refused { error } if error.contains("21211"))),
    ];
    for (to, expected) in cases {
        let outcome = channel.send(to, "x", &format!("to-{to}")).await;
        assert!(expected(&outcome), "{to}: {outcome:?}");
    }
    let wrong_token = twilio_channel(address, "not-the-token").send("+33612345678", "x", "d2").await;
    assert!(matches!(&wrong_token, SmsOutcome::Refused { error } if error.contains("20003")), "{wrong_token:?}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down = twilio_channel(closed, AUTH_TOKEN).send("+33612345678", "x", "d3").await;
    assert!(matches!(down, SmsOutcome::Failed { .. }), "{down:?}");
    assert!(format!("{:?}", TwilioSettings { auth_token: "s3cr3t".into(), ..twilio_settings() }).contains("***"));
}

fn twilio_settings() -> TwilioSettings {
    TwilioSettings {
        base_url: "https://api.twilio.com".into(),
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        from: "+33757000000".into(),
        status_callback: None,
    }
}

/// A running `relais serve`, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The demo's key of a role, as `relais serve --demo` writes them beside its database.
fn demo_key(dir: &Path, line_start: &str, field: usize) -> String {
    let keys = std::fs::read_to_string(dir.join("relais.db.demo-keys")).unwrap();
    let line = keys.lines().find(|l| l.trim_start().starts_with(line_start)).unwrap();
    line.split_whitespace().nth(field).unwrap().to_owned()
}

async fn call(client: &mut Client, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let response = client.request(method, path, Some(key), body.as_deref()).await.unwrap();
    (response.status, response.json())
}

/// Waits (up to 20 s) for `found` to give something.
async fn eventually<T>(mut found: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(value) = found() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing arrived within 20 s")
}

#[tokio::test]
async fn the_locker_story_ends_in_the_recipients_inboxes_with_a_code_that_opens_the_door() {
    let dir = std::env::temp_dir().join(format!("relais-notify-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let (twilio, twilio_address) = start_twilio().await;
    let port = free_port();
    let config = format!(
        r#"public_url = "http://127.0.0.1:{port}"
[notify]
idle_ms = 100
quiet_hours_start = "00:00"
quiet_hours_end = "00:00"
[notify.email]
kind = "smtp"
host = "127.0.0.1"
port = {smtp}
security = "none"
from = "Relais <avis@relais.example>"
[notify.sms]
kind = "twilio"
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
from = "+33757000000"
base_url = "http://{twilio_address}"
"#,
        smtp = sink.port
    );
    std::fs::write(dir.join("relais.toml"), config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(&dir)
        .env("RELAIS_LOG", "warn")
        .args(["serve", "--demo", "--config", "relais.toml", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually(|| dir.join("relais.db.demo-keys").exists().then_some(())).await;
    let mut client = loop {
        if let Ok(client) = Client::connect(address).await {
            break client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (merchant, carrier) = (demo_key(&dir, "merchant key", 2), demo_key(&dir, "carrier key", 2));
    let (device, locker) = (demo_key(&dir, "locker device key", 3), demo_key(&dir, "locker device key", 5));

    let announce = json!({
        "point_id": locker, "parcel_number": "EW112720413FR",
        "recipient": {"name": "Ana Martin", "phone": "+33612345678", "email": "ana.martin@example.org", "language": "fr"},
        "dimensions_mm": {"length": 300, "width": 200, "height": 60}, "weight_g": 900
    });
    let (status, announced) = call(&mut client, "POST", "/v1/parcels", &merchant, Some(announce)).await;
    assert_eq!(status, 201, "{announced}");
    let parcel = announced["parcel"]["id"].as_str().unwrap().to_owned();
    let (status, deposit) = call(&mut client, "POST", &format!("/v1/parcels/{parcel}/deposit"), &carrier, None).await;
    assert_eq!(status, 200, "{deposit}");

    // The e-mail: the code, the QR image beside the HTML, the point and a map link.
    let mail = eventually(|| {
        sink.received().into_iter().find(|m| m.to == ["ana.martin@example.org"] && m.data.contains("vous attend"))
    })
    .await;
    let code_in_mail = mail.data.split("Votre code de retrait : ").nth(1).unwrap()[..8].to_owned();
    for expected in
        ["Content-Type: image/png", "Content-ID: <qr>", "openstreetmap.org", "Subject: Votre colis EW112720413FR"]
    {
        assert!(mail.data.contains(expected), "{expected:?} in\n{}", mail.data);
    }
    // The SMS: through Twilio, with the same code.
    let sms =
        eventually(|| twilio.taken.lock().unwrap().iter().find(|t| t.form["Body"].contains("vous attend")).cloned())
            .await;
    assert_eq!(sms.form["To"], "+33612345678");
    assert_eq!(sms.form["StatusCallback"], format!("http://127.0.0.1:{port}/v1/callbacks/twilio"));
    let code_in_sms = sms.form["Body"].split("Code ").nth(1).unwrap()[..8].to_owned();
    assert_eq!(code_in_mail, code_in_sms);
    assert_eq!(code_in_mail, announced["pickup_code"].as_str().unwrap(), "the code the merchant got");

    // The code from the inbox opens the door.
    let pickup = json!({"code": code_in_sms});
    let (status, collected) =
        call(&mut client, "POST", &format!("/v1/points/{locker}/pickups"), &device, Some(pickup)).await;
    assert_eq!((status, collected["parcel"]["state"].as_str()), (200, Some("collected")), "{collected}");

    // Twilio's signed callbacks were taken; the parcel's messages show the SMS delivered to the handset.
    eventually(|| (twilio.callbacks.lock().unwrap().len() >= 2).then_some(())).await;
    assert_eq!(*twilio.callbacks.lock().unwrap(), [204, 204]);
    let (_, list) = call(&mut client, "GET", &format!("/v1/parcels/{parcel}/messages"), &merchant, None).await;
    let sms_status = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "sms" && m["topic"] == "parcel.deposited")
        .map(|m| m["provider_status"].clone());
    assert_eq!(sms_status, Some(json!("delivered")), "{list}");

    // A forged callback is refused.
    let forged = client
        .request_bytes(
            "POST",
            "/v1/callbacks/twilio",
            None,
            "application/x-www-form-urlencoded",
            b"MessageSid=SM1&MessageStatus=failed",
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 403, "{}", forged.body);
    let body = format!("AccountSid={ACCOUNT_SID}&MessageSid=SM1&MessageStatus=failed");
    let forged = client
        .request_bytes("POST", "/v1/callbacks/twilio", None, "application/x-www-form-urlencoded", body.as_bytes())
        .await
        .unwrap();
    assert_eq!(forged.status, 403, "our account's SID without its signature: {}", forged.body);
    let _ = std::fs::remove_dir_all(&dir);
}

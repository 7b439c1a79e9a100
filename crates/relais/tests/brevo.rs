//! Brevo's transactional e-mail and SMS, against a local server that answers as Brevo's API v3 is
//! documented (`POST /v3/smtp/email`, `POST /v3/transactionalSMS/send`: the `api-key` header, the JSON
//! bodies, `messageId` in the answer, `{"code", "message"}` errors, 429 with Brevo's rate-limit reset);
//! and the merchants' and networks' own providers chosen message by message by the channels the
//! configuration builds.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use relais::config::{Config, Flags};
use relais::outlets::Channels;
use relais_app::notify::{InlineImage, MessageScope, Outgoing, OutgoingEmail, OutgoingSms, Outlets};
use relais_domain::delivery::AttemptOutcome;
use relais_domain::ids::Id;
use relais_edge::brevo::{BrevoChannel, BrevoOutcome, BrevoSettings};
use relais_edge::http::{HttpClient, HttpConfig};
use relais_edge::mail::Mail;
use serde_json::{Value, json};

const API_KEY: &str = "xkeysib-test-0123456789abcdef";

#[derive(Clone, Default)]
struct Brevo {
    emails: Arc<Mutex<Vec<Value>>>,
    sms: Arc<Mutex<Vec<Value>>>,
}

fn brevo_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, [("content-type", "application/json")], json!({"code": code, "message": message}).to_string())
        .into_response()
}

/// Checks the key and the content type, and reads the JSON body; an error answer otherwise.
fn read(headers: &HeaderMap, body: &[u8]) -> Result<Value, Box<Response>> {
    if headers.get("api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return Err(Box::new(brevo_error(StatusCode::UNAUTHORIZED, "unauthorized", "Key not found")));
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return Err(Box::new(brevo_error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "Content-Type must be application/json",
        )));
    }
    serde_json::from_slice(body)
        .map_err(|_| Box::new(brevo_error(StatusCode::BAD_REQUEST, "bad_request", "Malformed JSON")))
}

/// `POST /v3/smtp/email`.
async fn send_email(State(brevo): State<Brevo>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mail = match read(&headers, &body) {
        Ok(mail) => mail,
        Err(answer) => return *answer,
    };
    let to = mail["to"][0]["email"].as_str().unwrap_or_default().to_owned();
    match to.as_str() {
        "slow-down@example.org" => {
            let mut answer = brevo_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Rate limit exceeded");
            answer.headers_mut().insert("x-sib-ratelimit-reset", "9".parse().unwrap());
            return answer;
        }
        "down@example.org" => return brevo_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Try later"),
        "garbage@example.org" => return (StatusCode::CREATED, "<html>ok</html>").into_response(),
        _ => {}
    }
    if !to.contains('@') {
        return brevo_error(StatusCode::BAD_REQUEST, "invalid_parameter", "email is not valid in to");
    }
    if mail["sender"]["email"].as_str().is_none() || mail["subject"].as_str().is_none_or(str::is_empty) {
        return brevo_error(StatusCode::BAD_REQUEST, "missing_parameter", "sender and subject are required");
    }
    if mail["htmlContent"].as_str().is_none() && mail["textContent"].as_str().is_none() {
        return brevo_error(StatusCode::BAD_REQUEST, "missing_parameter", "htmlContent or textContent is required");
    }
    let mut emails = brevo.emails.lock().unwrap();
    // The same idempotency key: the same message, not a second one.
    let key = mail["headers"]["idempotencyKey"].as_str().map(str::to_owned);
    let found = emails.iter().position(|m| key.is_some() && m["headers"]["idempotencyKey"].as_str() == key.as_deref());
    let index = found.unwrap_or_else(|| {
        emails.push(mail);
        emails.len() - 1
    });
    let id = format!("<20261207090000.{index}@smtp-relay.mailin.fr>");
    (StatusCode::CREATED, [("content-type", "application/json")], json!({"messageId": id}).to_string()).into_response()
}

/// `POST /v3/transactionalSMS/send`.
async fn send_sms(State(brevo): State<Brevo>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let sms = match read(&headers, &body) {
        Ok(sms) => sms,
        Err(answer) => return *answer,
    };
    let recipient = sms["recipient"].as_str().unwrap_or_default().to_owned();
    match recipient.as_str() {
        "33600000429" => {
            let mut answer = brevo_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Rate limit exceeded");
            answer.headers_mut().insert("retry-after", "3".parse().unwrap());
            return answer;
        }
        "33600000402" => return brevo_error(StatusCode::PAYMENT_REQUIRED, "not_enough_credits", "Not enough credits"),
        "33600000200" => return (StatusCode::CREATED, "").into_response(),
        _ => {}
    }
    let sender = sms["sender"].as_str().unwrap_or_default();
    if sender.is_empty() || sender.len() > 11 || !sender.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return brevo_error(StatusCode::BAD_REQUEST, "invalid_parameter", "sender is not valid");
    }
    if recipient.len() < 8 || !recipient.bytes().all(|b| b.is_ascii_digit()) {
        return brevo_error(StatusCode::BAD_REQUEST, "invalid_parameter", "recipient is not a valid mobile number");
    }
    if sms["content"].as_str().is_none_or(str::is_empty)
        || !matches!(sms["type"].as_str(), Some("transactional" | "marketing"))
    {
        return brevo_error(StatusCode::BAD_REQUEST, "invalid_parameter", "content and type are required");
    }
    let mut taken = brevo.sms.lock().unwrap();
    taken.push(sms);
    let id = 1_511_882_900_176_220u64 + taken.len() as u64;
    (StatusCode::CREATED, [("content-type", "application/json")], json!({"messageId": id}).to_string()).into_response()
}

async fn start_brevo() -> (Brevo, SocketAddr) {
    let brevo = Brevo::default();
    let app = axum::Router::new()
        .route("/v3/smtp/email", axum::routing::post(send_email))
        .route("/v3/transactionalSMS/send", axum::routing::post(send_sms))
        .with_state(brevo.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (brevo, address)
}

fn channel(address: SocketAddr, key: &str) -> BrevoChannel {
    let settings = BrevoSettings {
        base_url: format!("http://{address}"),
        api_key: key.into(),
        from: "Relais <avis@relais.example>".into(),
        sms_sender: "RELAIS".into(),
    };
    BrevoChannel::new(settings, HttpClient::new(&HttpConfig { timeout_seconds: 5, ..HttpConfig::default() }).unwrap())
        .unwrap()
}

fn mail(to: &str, id: &str) -> Mail {
    Mail {
        to: to.into(),
        subject: "Votre colis vous attend".into(),
        text: "Code 04831276".into(),
        html: Some("<p>Code 04831276</p><img src=\"cid:qr\">".into()),
        id: id.into(),
        headers: vec![("List-Unsubscribe".into(), "<https://relais.example/r/RL2.x/stop?channel=email>".into())],
        from_name: Some("Boutique Verte".into()),
        inline: vec![("qr".into(), "image/png".into(), b"\x89PNG-bytes".to_vec())],
    }
}

/// Each way Brevo can answer comes out as taken, to try later (with the wait it asked for) or refused.
#[tokio::test]
async fn the_brevo_channels_say_what_brevo_answered() {
    let (brevo, address) = start_brevo().await;
    let brevo_channel = channel(address, API_KEY);
    let sent = brevo_channel.send_email(&mail("ana@example.org", "delivery-1")).await;
    let BrevoOutcome::Accepted { message_id } = sent else { panic!("{sent:?}") };
    assert!(message_id.ends_with("@smtp-relay.mailin.fr>"), "{message_id}");
    let again = brevo_channel.send_email(&mail("ana@example.org", "delivery-1")).await;
    assert_eq!(again, BrevoOutcome::Accepted { message_id }, "one message per idempotency key");
    let emails = brevo.emails.lock().unwrap().clone();
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(email["sender"], json!({"email": "avis@relais.example", "name": "Boutique Verte"}));
    assert_eq!(email["to"], json!([{"email": "ana@example.org"}]));
    assert_eq!(
        (email["subject"].as_str(), email["textContent"].as_str()),
        (Some("Votre colis vous attend"), Some("Code 04831276"))
    );
    assert_eq!(email["headers"]["idempotencyKey"], "delivery-1");
    assert_eq!(email["headers"]["List-Unsubscribe"], "<https://relais.example/r/RL2.x/stop?channel=email>");
    // The QR code: attached, and shown in the HTML without a content id.
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG-bytes");
    assert_eq!(email["attachment"], json!([{"name": "qr.png", "content": encoded}]));
    let html = email["htmlContent"].as_str().unwrap();
    assert!(html.contains(&format!("src=\"data:image/png;base64,{encoded}\"")) && !html.contains("cid:"), "{html}");

    let sent =
        brevo_channel.send_sms("+33612345678", "Votre colis vous attend. Code 04831276", false, "delivery-2").await;
    assert!(matches!(&sent, BrevoOutcome::Accepted { message_id } if message_id == "1511882900176221"), "{sent:?}");
    let sms = brevo.sms.lock().unwrap().clone();
    assert_eq!(
        sms[0],
        json!({"sender": "RELAIS", "recipient": "33612345678", "content": "Votre colis vous attend. Code 04831276",
            "type": "transactional", "tag": "delivery-2", "unicodeEnabled": false})
    );

    type Expected = fn(&BrevoOutcome) -> bool;
    let emails: [(&str, Expected); 4] = [
        (
            "slow-down@example.org",
            |o| matches!(o, BrevoOutcome::Failed { retry_after: Some(wait), error } if wait == "9" && error.contains("429")),
        ),
        ("down@example.org", |o| matches!(o, BrevoOutcome::Failed { error, .. } if error.contains("503"))),
        // Unreadable, but the idempotency key makes another try safe.
        ("garbage@example.org", |o| matches!(o, BrevoOutcome::Failed { error, .. } if error.contains("no messageId"))),
        ("not-an-address", |o| matches!(o, BrevoOutcome::Refused { error } if error.contains("invalid_parameter"))),
    ];
    for (to, expected) in emails {
        let outcome = brevo_channel.send_email(&mail(to, &format!("to-{to}"))).await;
        assert!(expected(&outcome), "{to}: {outcome:?}");
    }
    let sms: [(&str, Expected); 4] = [
        ("+33600000429", |o| matches!(o, BrevoOutcome::Failed { retry_after: Some(wait), .. } if wait == "3")),
        ("+33600000402", |o| matches!(o, BrevoOutcome::Failed { error, .. } if error.contains("not_enough_credits"))),
        // No idempotency for SMS: taken rather than sent twice.
        ("+33600000200", |o| matches!(o, BrevoOutcome::Accepted { message_id } if message_id.is_empty())),
        ("+336", |o| matches!(o, BrevoOutcome::Refused { error } if error.contains("mobile number"))),
    ];
    for (to, expected) in sms {
        let outcome = brevo_channel.send_sms(to, "x", false, "d").await;
        assert!(expected(&outcome), "{to}: {outcome:?}");
    }
    let wrong_key = channel(address, "xkeysib-wrong").send_sms("+33612345678", "x", false, "d").await;
    assert!(matches!(&wrong_key, BrevoOutcome::Refused { error } if error.contains("unauthorized")), "{wrong_key:?}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down = channel(closed, API_KEY).send_email(&mail("ana@example.org", "d3")).await;
    assert!(matches!(down, BrevoOutcome::Failed { .. }), "{down:?}");
    let settings = BrevoSettings {
        base_url: String::new(),
        api_key: API_KEY.into(),
        from: String::new(),
        sms_sender: String::new(),
    };
    assert!(format!("{settings:?}").contains("***") && !format!("{settings:?}").contains(API_KEY));
    let bad_sender = BrevoSettings { sms_sender: "RELAIS-PARCELS".into(), ..settings.clone() };
    assert!(BrevoChannel::new(bad_sender, HttpClient::new(&HttpConfig::default()).unwrap()).is_err());
}

const MERCHANT: &str = "01937a3e-0000-7000-8000-00000000000a";
const NETWORK: &str = "01937a3e-0000-7000-8000-00000000000b";

fn email(scope: MessageScope, n: u128) -> Outgoing {
    Outgoing::Email(OutgoingEmail {
        delivery_id: Id::from_uuid(uuid::Uuid::from_u128(n)),
        scope,
        to: "ana@example.org".into(),
        from_name: None,
        subject: "Votre colis".into(),
        text: "Votre colis vous attend.".into(),
        html: "<p>Votre colis vous attend.</p><img src=\"cid:qr\">".into(),
        inline: vec![InlineImage { content_id: "qr".into(), content_type: "image/png".into(), bytes: b"png".to_vec() }],
        headers: Vec::new(),
    })
}

fn sms(scope: MessageScope, n: u128, body: &str) -> Outgoing {
    Outgoing::Sms(OutgoingSms {
        delivery_id: Id::from_uuid(uuid::Uuid::from_u128(n)),
        scope,
        to: "+33612345678".into(),
        body: body.into(),
    })
}

/// A merchant's own providers carry its recipients' messages, a network's those of its other parcels,
/// the defaults the rest; channel by channel.
#[tokio::test]
async fn each_message_goes_through_its_merchants_or_its_networks_own_provider() {
    let (brevo, address) = start_brevo().await;
    let dir = std::env::temp_dir().join(format!("relais-providers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let folder = |name: &str| dir.join(name).display().to_string();
    let config = format!(
        "database_url = \"sqlite://{db}\"\n\
         [notify.email]\nkind = \"file\"\nfolder = \"{default}\"\n\
         [notify.sms]\nkind = \"file\"\nfolder = \"{default}\"\n\
         [[notify.providers]]\nmerchant = \"{MERCHANT}\"\n\
         email = {{ kind = \"brevo\", api_key = \"env:RELAIS_TEST_BREVO_KEY\", from = \"Boutique <colis@boutique.example>\", base_url = \"http://{address}\" }}\n\
         sms = {{ kind = \"brevo\", api_key = \"{API_KEY}\", sender = \"BOUTIQUE\", base_url = \"http://{address}\" }}\n\
         [[notify.providers]]\nnetwork = \"{NETWORK}\"\n\
         sms = {{ kind = \"file\", folder = \"{network}\" }}\n",
        db = folder("relais.db"),
        default = folder("default"),
        network = folder("network"),
    );
    let path = dir.join("relais.toml");
    std::fs::write(&path, &config).unwrap();
    let flags = Flags { config: Some(path.clone()), ..Flags::default() };
    // A secret written `env:NAME` must be set: refused at start, not at the first message.
    let missing = Config::load(&flags);
    assert!(missing.as_ref().is_err_and(|e| e.contains("RELAIS_TEST_BREVO_KEY")), "{:?}", missing.err());
    std::fs::write(&path, config.replace("env:RELAIS_TEST_BREVO_KEY", API_KEY)).unwrap();
    let config = Config::load(&flags).unwrap();
    let clock: Arc<dyn relais_app::Clock> = Arc::new(relais_app::SystemClock);
    let channels = Channels::from_config(&config, clock).unwrap();
    assert!(channels.describe().ends_with("; 2 merchants' or networks' own providers"), "{}", channels.describe());

    let merchant = Some(Id::from_uuid(uuid::Uuid::parse_str(MERCHANT).unwrap()));
    let network = Some(Id::from_uuid(uuid::Uuid::parse_str(NETWORK).unwrap()));
    let accepted = |o: &AttemptOutcome| matches!(o, AttemptOutcome::Accepted { .. });
    // The merchant's: Brevo for both, whatever its network.
    let of_merchant = MessageScope { merchant_id: merchant, network_id: network };
    assert!(accepted(&channels.send(email(of_merchant, 1)).await));
    assert!(accepted(&channels.send(sms(of_merchant, 2, "Colis prêt : code 04831276")).await));
    assert_eq!(
        brevo.emails.lock().unwrap()[0]["sender"],
        json!({"email": "colis@boutique.example", "name": "Boutique"})
    );
    let taken = brevo.sms.lock().unwrap()[0].clone();
    assert_eq!(
        (taken["sender"].as_str(), taken["unicodeEnabled"].as_bool()),
        (Some("BOUTIQUE"), Some(true)),
        "ê is UCS-2"
    );
    // Another merchant of the network: the network's SMS, the default e-mail.
    let of_network = MessageScope { merchant_id: Some(Id::from_uuid(uuid::Uuid::from_u128(99))), network_id: network };
    assert!(accepted(&channels.send(sms(of_network, 3, "Code 1")).await));
    assert!(accepted(&channels.send(email(of_network, 4)).await));
    // The operators' alerts: the defaults.
    assert!(accepted(&channels.send(sms(MessageScope::default(), 5, "Alerte")).await));
    let files = |name: &str| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(name))
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    let id = |n: u128| Id::<()>::from_uuid(uuid::Uuid::from_u128(n)).to_string();
    assert_eq!(files("network"), [format!("{}.sms.txt", id(3))]);
    assert_eq!(files("default"), [format!("{}.eml", id(4)), format!("{}.sms.txt", id(5))]);
    assert_eq!((brevo.emails.lock().unwrap().len(), brevo.sms.lock().unwrap().len()), (1, 1));

    // A scope named twice, or neither a merchant nor a network, or not an id: refused at start.
    for bad in [
        format!("[[notify.providers]]\nnetwork = \"{NETWORK}\"\nsms = {{ kind = \"none\" }}\n"),
        format!(
            "[[notify.providers]]\nmerchant = \"{MERCHANT}\"\nnetwork = \"{NETWORK}\"\nsms = {{ kind = \"none\" }}\n"
        ),
        "[[notify.providers]]\nmerchant = \"shop-1\"\nsms = { kind = \"none\" }\n".to_owned(),
        format!("[[notify.providers]]\nmerchant = \"{}\"\n", uuid::Uuid::from_u128(7)),
    ] {
        let text = std::fs::read_to_string(&path).unwrap();
        let bad_path = dir.join("bad.toml");
        std::fs::write(&bad_path, format!("{text}{bad}")).unwrap();
        let refused = Config::load(&Flags { config: Some(bad_path), ..Flags::default() });
        assert!(refused.as_ref().is_err_and(|e| e.contains("notify.providers")), "{bad}: {:?}", refused.err());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

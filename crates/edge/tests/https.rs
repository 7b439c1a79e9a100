//! The client against a real TLS server on loopback: trusted only with the test CA, bodies capped,
//! errors that say what went wrong.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use relais_edge::http::{HttpClient, HttpConfig, HttpError};
use relais_edge::testing::{Answer, HttpsServer, test_ca};

async fn server() -> HttpsServer {
    let mut answers = HashMap::new();
    answers.insert("/points.csv".to_owned(), Answer::ok("text/csv", "external_id,name\nP1,Tabac\n"));
    answers.insert("/big".to_owned(), Answer::ok("application/octet-stream", vec![b'x'; 10_000]));
    HttpsServer::start(answers).await.unwrap()
}

#[tokio::test]
async fn https_with_a_trusted_authority_reads_the_answer_and_nothing_more_than_the_cap() {
    let server = server().await;
    let config = HttpConfig { ca_files: vec![test_ca()], body_bytes_max: 1_000, ..HttpConfig::default() };
    let client = HttpClient::new(&config).unwrap();
    let fetched = client.get(&server.url("/points.csv")).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.content_type.as_deref(), Some("text/csv"));
    assert_eq!(fetched.text(), "external_id,name\nP1,Tabac\n");
    assert_eq!(client.get(&server.url("/missing")).await.unwrap().status, 404);
    let too_large = client.get(&server.url("/big")).await.unwrap_err();
    assert!(matches!(too_large, HttpError::TooLarge { max: 1_000, .. }), "{too_large}");
}

#[tokio::test]
async fn an_unknown_authority_is_refused_with_a_message_that_says_so() {
    let server = server().await;
    let client = HttpClient::new(&HttpConfig::default()).unwrap();
    let error = client.get(&server.url("/points.csv")).await.unwrap_err().to_string();
    assert!(error.contains("certificate"), "{error}");
}

#[test]
fn a_missing_or_empty_authority_file_is_a_configuration_error() {
    let missing = HttpConfig { ca_files: vec!["/nonexistent/ca.pem".into()], ..HttpConfig::default() };
    assert!(matches!(HttpClient::new(&missing), Err(HttpError::Config(_))));
    let empty = std::env::temp_dir().join(format!("relais-empty-ca-{}.pem", std::process::id()));
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let config = HttpConfig { ca_files: vec![empty.clone()], ..HttpConfig::default() };
    let error = HttpClient::new(&config).unwrap_err().to_string();
    std::fs::remove_file(&empty).unwrap();
    assert!(error.contains("no certificate"), "{error}");
    let bad_proxy = HttpConfig { proxy_url: Some("::not a url::".into()), ..HttpConfig::default() };
    assert!(matches!(HttpClient::new(&bad_proxy), Err(HttpError::Config(_))));
}

#[tokio::test]
async fn a_configured_proxy_carries_the_calls_but_those_to_hosts_it_exempts() {
    use relais_edge::testing::ConnectProxy;
    let server = server().await;
    let proxy = ConnectProxy::start().await.unwrap();
    let through = HttpConfig {
        ca_files: vec![test_ca()],
        proxy_url: Some(format!("http://127.0.0.1:{}", proxy.port)),
        ..HttpConfig::default()
    };
    let client = HttpClient::new(&through).unwrap();
    assert_eq!(client.get(&server.url("/points.csv")).await.unwrap().status, 200);
    assert_eq!(proxy.tunnels(), 1);
    let exempt = HttpConfig { no_proxy: Some("127.0.0.1".into()), ..through };
    let client = HttpClient::new(&exempt).unwrap();
    assert_eq!(client.get(&server.url("/points.csv")).await.unwrap().status, 200);
    assert_eq!(proxy.tunnels(), 1, "127.0.0.1 is reached directly");
}

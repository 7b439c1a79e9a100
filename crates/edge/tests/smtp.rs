//! The SMTP channel against a local SMTP server (`relais_edge::testing::SmtpSink`): what it sends, and
//! how each way a server or a network can fail comes out (final refusal or a try later).

use std::time::Duration;

use relais_edge::mail::{Mail, MailOutcome, Security, SmtpChannel, SmtpSettings};
use relais_edge::testing::SmtpSink;

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: None,
        password: None,
        from: "Relais Gare <avis@relais.example>".into(),
        timeout: Duration::from_secs(2),
        connections: 2,
    }
}

fn mail(to: &str) -> Mail {
    Mail {
        to: to.into(),
        subject: "Votre colis vous attend".into(),
        text: "Code : 04831276\n.\nFin.".into(),
        html: Some("<p>Code : <strong>04831276</strong></p>".into()),
        id: "0193b0a4-delivery".into(),
        headers: vec![("List-Unsubscribe".into(), "<https://relais.example/u/abc>".into())],
        from_name: None,
        inline: Vec::new(),
    }
}

#[tokio::test]
async fn a_mail_reaches_the_server_with_its_parts_and_a_stable_message_id() {
    let sink = SmtpSink::start().await.unwrap();
    let channel = SmtpChannel::new(&settings(sink.port)).unwrap();
    let outcome = channel.send(&mail("ana.martin@example.org")).await;
    assert!(matches!(&outcome, MailOutcome::Accepted { reply } if reply.contains("queued as Q1")), "{outcome:?}");

    let received = sink.received();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!((m.from.as_str(), m.to.as_slice()), ("avis@relais.example", &["ana.martin@example.org".to_owned()][..]));
    for expected in [
        "Message-ID: <0193b0a4-delivery@relais.example>",
        "Subject: Votre colis vous attend",
        "From: \"Relais Gare\" <avis@relais.example>",
        "List-Unsubscribe: <https://relais.example/u/abc>",
        "Content-Type: multipart/alternative",
        "Content-Type: text/plain",
        "Content-Type: text/html",
        "<strong>04831276</strong>",
    ] {
        assert!(m.data.contains(expected), "{expected:?} in\n{}", m.data);
    }
    // A line holding a single dot survives the transfer (dot-stuffing both ways).
    assert!(m.data.contains("Code : 04831276\r\n.\r\nFin."), "{}", m.data);
}

#[tokio::test]
async fn each_failure_is_final_or_worth_another_try_as_smtp_says() {
    let sink = SmtpSink::start().await.unwrap();
    let channel = SmtpChannel::new(&settings(sink.port)).unwrap();
    let outcome = channel.send(&mail("refused@example.org")).await;
    assert!(
        matches!(&outcome, MailOutcome::Refused(e) if e.contains("550") || e.contains("no such mailbox")),
        "{outcome:?}"
    );
    let outcome = channel.send(&mail("busy@example.org")).await;
    assert!(
        matches!(&outcome, MailOutcome::Failed(e) if e.contains("452") || e.contains("mailbox full")),
        "{outcome:?}"
    );
    let outcome = channel.send(&mail("hangup@example.org")).await;
    assert!(matches!(outcome, MailOutcome::Failed(_)), "{outcome:?}");
    // Not an address: refused before any connection.
    let outcome = channel.send(&mail("ana martin at example")).await;
    assert!(matches!(&outcome, MailOutcome::Refused(e) if e.contains("not an e-mail address")), "{outcome:?}");
    assert!(sink.received().is_empty(), "nothing was taken");

    // Nobody listening, and a server that never answers: both are worth another try.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let outcome = SmtpChannel::new(&settings(port)).unwrap().send(&mail("ana@example.org")).await;
    assert!(matches!(outcome, MailOutcome::Failed(_)), "{outcome:?}");
    let silent = SmtpSink::silent().await.unwrap();
    let impatient = SmtpSettings { timeout: Duration::from_millis(300), ..settings(silent.port) };
    let outcome = SmtpChannel::new(&impatient).unwrap().send(&mail("ana@example.org")).await;
    assert!(matches!(&outcome, MailOutcome::Failed(e) if e.contains("no answer within")), "{outcome:?}");
}

/// The QR code travels with the HTML that shows it (multipart/related inside the alternative), the
/// sender's name is the merchant's, and connections are reused from message to message.
#[tokio::test]
async fn an_inline_image_goes_with_its_html_and_connections_are_kept() {
    let sink = SmtpSink::start().await.unwrap();
    let channel = SmtpChannel::new(&settings(sink.port)).unwrap();
    let with_qr = Mail {
        html: Some("<p><img src=\"cid:qr\"></p>".into()),
        from_name: Some("Boutique Lumière".into()),
        inline: vec![("qr".into(), "image/png".into(), vec![0x89, b'P', b'N', b'G', 1, 2, 3])],
        ..mail("ana@example.org")
    };
    for _ in 0..5 {
        assert!(matches!(channel.send(&with_qr).await, MailOutcome::Accepted { .. }));
    }
    let m = &sink.received()[0];
    for expected in [
        "Content-Type: multipart/alternative",
        "Content-Type: multipart/related",
        "Content-Type: image/png",
        "Content-ID: <qr>",
        "Content-Disposition: inline",
        "avis@relais.example>",
    ] {
        assert!(m.data.contains(expected), "{expected:?} in\n{}", m.data);
    }
    assert!(m.data.contains("From: =?utf-8?") || m.data.contains("Boutique"), "{}", m.data);
    assert_eq!(sink.count(), 5);
    assert_eq!(sink.connections(), 1, "one connection for five messages sent one after another");

    // The server closes a kept connection: the next message goes on a new one, unharmed.
    assert!(matches!(channel.send(&mail("last@example.org")).await, MailOutcome::Accepted { .. }));
    assert!(matches!(channel.send(&mail("ana@example.org")).await, MailOutcome::Accepted { .. }));
    assert_eq!((sink.count(), sink.connections()), (7, 2));
}

#[test]
fn settings_never_print_the_password() {
    let with_password =
        SmtpSettings { username: Some("relais".into()), password: Some("s3cr3t-pw".into()), ..settings(25) };
    let printed = format!("{with_password:?}");
    assert!(!printed.contains("s3cr3t-pw") && printed.contains("***"), "{printed}");
    assert!(SmtpChannel::new(&SmtpSettings { from: "not an address".into(), ..settings(25) }).is_err());
}

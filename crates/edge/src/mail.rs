//! E-mail over SMTP (`lettre`, over rustls on ring): one message to one address, and what became of it.
//! The outcome follows the reply codes of RFC 5321: a 5xx refusal is final (the address or the message
//! is refused); a 4xx, a refused connection, a timeout or a broken conversation may work later. What to
//! do next is the delivery rule's business (`relais_domain::delivery`), not this module's.

use std::fmt;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain, then `STARTTLS`, refused if the server does not offer it (port 587).
    StartTls,
    /// No TLS: only for a relay on the same host or in tests.
    None,
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// For the connection and for each reply; a whole message gets `SEND_TIMEOUTS` of them.
    pub timeout: Duration,
    /// Connections kept open to the server and reused from message to message (at least 1).
    pub connections: u32,
}

/// How many `timeout`s one message may take in all. lettre bounds the connection and the commands it
/// sends, but not the wait for the server's greeting: a server that accepts and stays silent held the
/// sender forever, so the whole exchange has a deadline of its own.
pub const SEND_TIMEOUTS: u32 = 4;

impl fmt::Debug for SmtpSettings {
    // The password never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("connections", &self.connections)
            .finish()
    }
}

/// One e-mail: a text part and, when there is one, an HTML alternative.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Stable across attempts (the delivery's id): the `Message-ID` is built from it, so a message sent
    /// twice after a crash is one message to the mailbox that deduplicates by it.
    pub id: String,
    /// Extra headers (`List-Unsubscribe`...).
    pub headers: Vec<(String, String)>,
    /// The sender's display name for this message (a merchant's); the address stays the channel's.
    pub from_name: Option<String>,
    /// Images the HTML shows by `cid:` (the QR code): content id, content type, bytes.
    pub inline: Vec<(String, String, Vec<u8>)>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    /// The server took it; its last reply (which often names its queue id).
    Accepted { reply: String },
    /// It may work later: a 4xx, no connection, a timeout, a broken conversation.
    Failed(String),
    /// It never will: a 5xx, or an address that is not one.
    Refused(String),
}

/// An SMTP server to send through, over a pool of kept-open connections.
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    deadline: Duration,
    from: Mailbox,
    /// The domain of the `Message-ID`s: the sender's.
    domain: String,
}

impl SmtpChannel {
    pub fn new(settings: &SmtpSettings) -> Result<SmtpChannel, String> {
        let from: Mailbox = settings.from.parse().map_err(|e| format!("smtp.from {:?}: {e}", settings.from))?;
        let builder = match settings.security {
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host),
            Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)),
        }
        .map_err(|e| format!("smtp.host {:?}: {e}", settings.host))?;
        let pool = lettre::transport::smtp::PoolConfig::new().max_size(settings.connections.max(1));
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout)).pool_config(pool);
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let domain = from.email.domain().to_owned();
        Ok(SmtpChannel { transport: builder.build(), deadline: settings.timeout * SEND_TIMEOUTS, from, domain })
    }

    /// Sends one e-mail and says what became of it.
    pub async fn send(&self, mail: &Mail) -> MailOutcome {
        let message = match self.message(mail) {
            Ok(message) => message,
            Err(refusal) => return MailOutcome::Refused(refusal),
        };
        match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Ok(Ok(reply)) => MailOutcome::Accepted { reply: reply.message().collect::<Vec<_>>().join(" ") },
            Ok(Err(e)) if e.is_permanent() => MailOutcome::Refused(e.to_string()),
            Ok(Err(e)) => MailOutcome::Failed(e.to_string()),
            Err(_) => MailOutcome::Failed(format!("no answer within {:?}", self.deadline)),
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, String> {
        build_message(mail, &self.from, &self.domain)
    }
}

/// The message as it goes on the wire (RFC 5322, MIME): the file sink writes these bytes as `.eml`.
pub fn formatted(mail: &Mail, from: &str) -> Result<Vec<u8>, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("from {from:?}: {e}"))?;
    let domain = from.email.domain().to_owned();
    Ok(build_message(mail, &from, &domain)?.formatted())
}

fn build_message(mail: &Mail, from: &Mailbox, domain: &str) -> Result<Message, String> {
    {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("not an e-mail address ({e})"))?;
        let from = match &mail.from_name {
            Some(name) => Mailbox::new(Some(name.clone()), from.email.clone()),
            None => from.clone(),
        };
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}@{}>", mail.id, domain)))
            .from(from)
            .to(to)
            .subject(mail.subject.clone());
        for (name, value) in &mail.headers {
            let name = HeaderName::new_from_ascii(name.clone()).map_err(|e| format!("header {name:?}: {e}"))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let built = match &mail.html {
            Some(html) if mail.inline.is_empty() => {
                builder.multipart(MultiPart::alternative_plain_html(mail.text.clone(), html.clone()))
            }
            // The HTML and the images it shows travel together (multipart/related).
            Some(html) => {
                let mut related = MultiPart::related().singlepart(SinglePart::html(html.clone()));
                for (content_id, content_type, bytes) in &mail.inline {
                    let content_type = ContentType::parse(content_type).map_err(|e| format!("{content_type}: {e}"))?;
                    related = related
                        .singlepart(Attachment::new_inline(content_id.clone()).body(bytes.clone(), content_type));
                }
                builder.multipart(
                    MultiPart::alternative().singlepart(SinglePart::plain(mail.text.clone())).multipart(related),
                )
            }
            None => builder.body(mail.text.clone()),
        };
        built.map_err(|e| format!("the message cannot be built: {e}"))
    }
}

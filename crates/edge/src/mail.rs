//! E-mail over SMTP (`lettre`, over rustls on ring): one message to one address, and what became of it.
//! The outcome follows the reply codes of RFC 5321: a 5xx refusal is final (the address or the message
//! is refused); a 4xx, a refused connection, a timeout or a broken conversation may work later. What to
//! do next is the delivery rule's business (`relais_domain::delivery`), not this module's.

use std::fmt;
use std::time::Duration;

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

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
///
/// The connections are relais' own (lettre speaks SMTP on them): each has `TCP_NODELAY` set. lettre
/// 0.11.23 writes a message's body and its closing `.` in two writes on a socket with Nagle's algorithm
/// on, so the `.` waits for the server's delayed acknowledgement of the body (40 ms on Linux): every
/// message cost 40 ms and a connection carried 25 messages a second (lettre pull request 1159).
pub struct SmtpChannel {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    timeout: Duration,
    deadline: Duration,
    from: Mailbox,
    /// The domain of the `Message-ID`s: the sender's.
    domain: String,
    hello: ClientId,
    /// TLS from the first byte (`Security::Tls`).
    tls: Option<tokio_rustls::TlsConnector>,
    /// Connections open and idle, most recent last.
    idle: std::sync::Mutex<Vec<AsyncSmtpConnection>>,
    /// One permit per connection that may be open.
    slots: tokio::sync::Semaphore,
}

impl SmtpChannel {
    pub fn new(settings: &SmtpSettings) -> Result<SmtpChannel, String> {
        let from: Mailbox = settings.from.parse().map_err(|e| format!("smtp.from {:?}: {e}", settings.from))?;
        if settings.host.trim().is_empty() {
            return Err("smtp.host is empty".into());
        }
        let tls = match settings.security {
            Security::Tls => {
                let config = crate::http::tls_config(&[]).map_err(|e| format!("smtp TLS: {e}"))?;
                Some(tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)))
            }
            Security::StartTls | Security::None => None,
        };
        let credentials = match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            _ => None,
        };
        let domain = from.email.domain().to_owned();
        Ok(SmtpChannel {
            host: settings.host.clone(),
            port: settings.port,
            security: settings.security,
            credentials,
            timeout: settings.timeout,
            deadline: settings.timeout * SEND_TIMEOUTS,
            from,
            domain,
            hello: ClientId::default(),
            tls,
            idle: std::sync::Mutex::new(Vec::new()),
            slots: tokio::sync::Semaphore::new(settings.connections.max(1) as usize),
        })
    }

    /// Sends one e-mail and says what became of it.
    pub async fn send(&self, mail: &Mail) -> MailOutcome {
        let message = match self.message(mail) {
            Ok(message) => message,
            Err(refusal) => return MailOutcome::Refused(refusal),
        };
        let Ok(_slot) = self.slots.acquire().await else { return MailOutcome::Failed("the channel is closed".into()) };
        match tokio::time::timeout(self.deadline, self.exchange(&message)).await {
            Ok(Ok(reply)) => MailOutcome::Accepted { reply: reply.message().collect::<Vec<_>>().join(" ") },
            Ok(Err(e)) if e.is_permanent() => MailOutcome::Refused(e.to_string()),
            Ok(Err(e)) => MailOutcome::Failed(e.to_string()),
            Err(_) => MailOutcome::Failed(format!("no answer within {:?}", self.deadline)),
        }
    }

    /// The message on an idle connection, or a new one; a kept connection the server closed meanwhile
    /// is replaced once.
    async fn exchange(&self, message: &Message) -> Result<lettre::transport::smtp::response::Response, Fault> {
        let (envelope, bytes) = (message.envelope(), message.formatted());
        let kept = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let reused = kept.is_some();
        let mut connection = match kept {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        let result = match connection.send(envelope, &bytes).await {
            Err(e) if reused && !e.is_permanent() && connection.has_broken() => {
                connection.abort().await;
                connection = self.connect().await?;
                connection.send(envelope, &bytes).await
            }
            other => other,
        }
        .map_err(Fault::Smtp);
        if connection.has_broken() {
            connection.abort().await;
        } else if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
        result
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Fault> {
        let address = (self.host.as_str(), self.port);
        let tcp = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(address))
            .await
            .map_err(|_| {
                Fault::Network(format!("no connection to {}:{} within {:?}", self.host, self.port, self.timeout))
            })?
            .map_err(|e| Fault::Network(format!("connection to {}:{}: {e}", self.host, self.port)))?;
        tcp.set_nodelay(true).map_err(|e| Fault::Network(e.to_string()))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            Some(connector) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| Fault::Network(format!("smtp.host: {e}")))?;
                let tls = connector.connect(name, tcp).await.map_err(|e| Fault::Network(format!("TLS: {e}")))?;
                Box::new(TlsStream(tls))
            }
            None => Box::new(tcp),
        };
        let mut connection = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        if self.security == Security::StartTls {
            let parameters = TlsParameters::new(self.host.clone())?;
            connection.starttls(parameters, &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await?;
        }
        Ok(connection)
    }

    fn message(&self, mail: &Mail) -> Result<Message, String> {
        build_message(mail, &self.from, &self.domain)
    }
}

/// What ended an exchange: the server's refusal or a broken conversation (lettre's), or a network
/// failure before SMTP began.
enum Fault {
    Smtp(lettre::transport::smtp::Error),
    Network(String),
}

impl Fault {
    fn is_permanent(&self) -> bool {
        matches!(self, Fault::Smtp(e) if e.is_permanent())
    }
}

impl From<lettre::transport::smtp::Error> for Fault {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Fault::Smtp(e)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Smtp(e) => e.fmt(f),
            Fault::Network(e) => f.write_str(e),
        }
    }
}

/// A TLS connection lettre can speak SMTP on (implicit TLS, port 465).
struct TlsStream(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsStream")
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
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

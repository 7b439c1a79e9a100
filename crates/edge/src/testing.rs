//! A local HTTPS server for tests: it serves fixed answers under a certificate for `localhost` and
//! `127.0.0.1`, signed by a test certificate authority kept in `tests/fixtures/` (test-ca.pem; its
//! private key was discarded once it signed, and the server's key guards nothing but tests). A client
//! trusts it only when told to ([`TEST_CA`] in `HttpConfig::ca_files`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The test certificate authority (PEM).
pub fn test_ca() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-ca.pem")
}

/// Alias of [`test_ca`] for configuration literals.
pub const TEST_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-ca.pem");

/// Longest request head the server reads.
const HEAD_BYTES_MAX: usize = 16 * 1024;

/// What the server answers at a path.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Answer {
        Answer { status: 200, content_type: content_type.to_owned(), body: body.into() }
    }
}

/// A running server; it stops when the test's runtime ends.
pub struct HttpsServer {
    pub port: u16,
}

impl HttpsServer {
    /// Serves `answers` (path -> answer; anything else is a 404) on 127.0.0.1, on a free port.
    pub async fn start(answers: HashMap<String, Answer>) -> std::io::Result<HttpsServer> {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let chain = CertificateDer::pem_file_iter(fixtures.join("localhost.pem"))
            .and_then(|c| c.collect::<Result<Vec<_>, _>>())
            .map_err(std::io::Error::other)?;
        let key = PrivateKeyDer::from_pem_file(fixtures.join("localhost.key")).map_err(std::io::Error::other)?;
        #[allow(deprecated)] // The same provider as the client: see http.rs.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(std::io::Error::other)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let answers = Arc::new(answers);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, answers) = (acceptor.clone(), Arc::clone(&answers));
                tokio::spawn(async move {
                    // A client that does not trust the certificate hangs up during the handshake.
                    let Ok(mut tls) = acceptor.accept(stream).await else { return };
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < HEAD_BYTES_MAX {
                        match tls.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
                    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                    let answer = answers.get(&path).cloned().unwrap_or(Answer {
                        status: 404,
                        content_type: "text/plain".into(),
                        body: b"not found".to_vec(),
                    });
                    let response = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        answer.status,
                        answer.content_type,
                        answer.body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.write_all(&answer.body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Ok(HttpsServer { port })
    }

    /// The URL of `path` on this server, by IP (the certificate names 127.0.0.1 too).
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

/// A forward proxy for tests: it tunnels `CONNECT host:port` requests and counts them, so a test can
/// tell that a client went through it.
pub struct ConnectProxy {
    pub port: u16,
    tunnels: Arc<std::sync::atomic::AtomicUsize>,
}

impl ConnectProxy {
    pub async fn start() -> std::io::Result<ConnectProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let tunnels = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&tunnels);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < HEAD_BYTES_MAX {
                        match client.read(&mut byte).await {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
                    let mut words = line.split(' ');
                    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else { return };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else { return };
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_ok() {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        Ok(ConnectProxy { port, tunnels })
    }

    /// How many tunnels it opened.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// One message an [`SmtpSink`] took.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after `DATA` (headers and body, dot-stuffing undone).
    pub data: String,
}

/// A local SMTP server that speaks enough of RFC 5321 for a client to deliver to it, and refuses on
/// cue: a recipient whose local part is `refused` gets `550` (permanent), `busy` gets `452`
/// (transient), `hangup` has the connection closed under it; a message to `last` is taken, then the
/// connection is closed (as servers that limit messages per connection do). [`SmtpSink::silent`]
/// never greets.
pub struct SmtpSink {
    pub port: u16,
    /// What it took; with [`SmtpSink::counting`], messages are counted here and their text dropped.
    received: Arc<std::sync::Mutex<Vec<Received>>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl SmtpSink {
    pub async fn start() -> std::io::Result<SmtpSink> {
        Self::listen(true, true).await
    }

    /// Takes messages and only counts them (a benchmark's hundred thousand e-mails are not kept).
    pub async fn counting() -> std::io::Result<SmtpSink> {
        Self::listen(true, false).await
    }

    /// Accepts connections and says nothing: a client's timeout is the only way out.
    pub async fn silent() -> std::io::Result<SmtpSink> {
        Self::listen(false, true).await
    }

    /// What it took so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// How many messages it took so far.
    pub fn count(&self) -> usize {
        self.received.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// How many connections clients opened to it.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn listen(speaks: bool, keeps: bool) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let store = Arc::clone(&received);
        let opened = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    if speaks {
                        let _ = smtp_conversation(stream, store, keeps).await;
                    } else {
                        // Held open, unanswered, until the client gives up.
                        let mut stream = stream;
                        let mut sink = [0u8; 512];
                        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                    }
                });
            }
        });
        Ok(SmtpSink { port, received, connections })
    }
}

async fn smtp_conversation(
    stream: tokio::net::TcpStream,
    store: Arc<std::sync::Mutex<Vec<Received>>>,
    keeps: bool,
) -> std::io::Result<()> {
    use tokio::io::AsyncBufReadExt;
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
        let argument = |c: &str| c.split_once('<').and_then(|(_, a)| a.split_once('>')).map(|(a, _)| a.to_owned());
        match verb.as_str() {
            "EHLO" => write.write_all(b"250-sink greets you\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n").await?,
            "HELO" => write.write_all(b"250 sink\r\n").await?,
            "MAIL" => {
                from = argument(&command).unwrap_or_default();
                to.clear();
                write.write_all(b"250 2.1.0 ok\r\n").await?;
            }
            "RCPT" => {
                let address = argument(&command).unwrap_or_default();
                match address.split('@').next().unwrap_or_default() {
                    "refused" => write.write_all(b"550 5.1.1 no such mailbox\r\n").await?,
                    "busy" => write.write_all(b"452 4.2.2 mailbox full, try later\r\n").await?,
                    "hangup" => return Ok(()),
                    _ => {
                        to.push(address);
                        write.write_all(b"250 2.1.5 ok\r\n").await?;
                    }
                }
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    // A line the client began with a dot got a second one (dot-stuffing).
                    data.push_str(if line.starts_with("..") { &line[1..] } else { &line });
                }
                let last = to.iter().any(|a| a.starts_with("last@"));
                let queued = {
                    let mut all = store.lock().map_err(|_| std::io::Error::other("poisoned"))?;
                    let data = if keeps { data } else { String::new() };
                    all.push(Received { from: from.clone(), to: std::mem::take(&mut to), data });
                    all.len()
                };
                write.write_all(format!("250 2.0.0 queued as Q{queued}\r\n").as_bytes()).await?;
                if last {
                    return Ok(());
                }
            }
            "RSET" | "NOOP" => write.write_all(b"250 2.0.0 ok\r\n").await?,
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 5.5.2 command not recognised\r\n").await?,
        }
    }
}

//! The one HTTP client of relais: reqwest over rustls with the `ring` provider (no C build), HTTPS
//! verified against the system's certificates plus the certificate authorities the configuration
//! names, a connect timeout and a total timeout per request, a proxy when configured, and a cap on the
//! size of every body it reads (a server that sends more is cut off, not buffered).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// How outgoing calls behave. Every limit has its unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Longest wait for a TCP and TLS connection.
    pub connect_timeout_seconds: u64,
    /// Longest a whole request may take, body included.
    pub timeout_seconds: u64,
    /// Largest response body read; a larger one is refused.
    pub body_bytes_max: u64,
    /// Every outgoing call goes through this proxy (`http://host:port`), when set.
    pub proxy_url: Option<String>,
    /// Hosts reached without the proxy, comma-separated (`localhost,.internal`).
    pub no_proxy: Option<String>,
    /// Certificate authorities trusted beside the system's (PEM files): a private CA, a test CA.
    pub ca_files: Vec<PathBuf>,
    pub user_agent: String,
    /// Whether a redirect is followed (up to 10). Webhooks do not follow any: a 3xx is the
    /// endpoint's answer, and a redirect must not take a signed request somewhere else.
    pub follow_redirects: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout_seconds: 10,
            timeout_seconds: 300,
            body_bytes_max: 256 * 1024 * 1024,
            proxy_url: None,
            no_proxy: None,
            ca_files: Vec::new(),
            user_agent: format!("relais/{}", env!("CARGO_PKG_VERSION")),
            follow_redirects: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("outgoing HTTP is misconfigured: {0}")]
    Config(String),
    #[error("{url}: {message}")]
    Request { url: String, message: String },
    #[error("{url}: the answer is larger than {max} bytes")]
    TooLarge { url: String, max: u64 },
}

/// A response read whole (within the size cap).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `Retry-After` header, as sent (seconds or an HTTP date).
    pub retry_after: Option<String>,
    /// Every header, for what a provider says in its own (Brevo's rate-limit reset).
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The client. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    body_bytes_max: u64,
}

impl HttpClient {
    pub fn new(config: &HttpConfig) -> Result<HttpClient, HttpError> {
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(&config.ca_files)?)
            .connect_timeout(Duration::from_secs(config.connect_timeout_seconds))
            .timeout(Duration::from_secs(config.timeout_seconds))
            .user_agent(config.user_agent.clone());
        if !config.follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        builder = match &config.proxy_url {
            Some(url) => {
                let proxy = reqwest::Proxy::all(url).map_err(|e| HttpError::Config(format!("proxy {url:?}: {e}")))?;
                builder.proxy(proxy.no_proxy(config.no_proxy.as_deref().and_then(reqwest::NoProxy::from_string)))
            }
            None => builder.no_proxy(),
        };
        let client = builder.build().map_err(|e| HttpError::Config(e.to_string()))?;
        Ok(HttpClient { client, body_bytes_max: config.body_bytes_max })
    }

    /// The underlying client, to build requests other than a plain GET.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET url`, read whole.
    pub async fn get(&self, url: &str) -> Result<Fetched, HttpError> {
        self.send(self.client.get(url)).await
    }

    /// Sends a request and reads its answer whole, refusing a body over `body_bytes_max` (announced by
    /// `Content-Length` or found while reading).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Fetched, HttpError> {
        let request = request.build().map_err(|e| HttpError::Config(e.to_string()))?;
        let url = request.url().to_string();
        let failed = |e: reqwest::Error| HttpError::Request { url: url.clone(), message: describe(&e) };
        let mut response = self.client.execute(request).await.map_err(failed)?;
        let max = self.body_bytes_max;
        if response.content_length().is_some_and(|length| length > max) {
            return Err(HttpError::TooLarge { url, max });
        }
        let status = response.status().as_u16();
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(HttpError::TooLarge { url, max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { status, content_type, retry_after, headers, body })
    }
}

/// The error with its causes (reqwest's own message is often only "error sending request").
fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// TLS with the `ring` provider, verifying servers against the system's roots and the extra CAs.
pub(crate) fn tls_config(ca_files: &[PathBuf]) -> Result<rustls::ClientConfig, HttpError> {
    // `ring` rather than rustls' default aws-lc, which needs a C and assembly build (docs: crates.md). Its
    // deprecation note is about post-quantum key exchange, which `ring` does not offer; classical key
    // exchange (X25519, P-256) is what the servers relais talks to negotiate today.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut extra = Vec::new();
    for file in ca_files {
        let certificates = CertificateDer::pem_file_iter(file)
            .and_then(|found| found.collect::<Result<Vec<_>, _>>())
            .map_err(|e| HttpError::Config(format!("certificate authority {}: {e}", file.display())))?;
        if certificates.is_empty() {
            return Err(HttpError::Config(format!("certificate authority {}: no certificate in it", file.display())));
        }
        extra.extend(certificates);
    }
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, Arc::clone(&provider))
        .map_err(|e| HttpError::Config(format!("TLS verifier: {e}")))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

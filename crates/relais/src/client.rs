//! A client of the relais API over HTTP, for the load generator, the simulator and the multi-process
//! tests: a base address and requests with an API key and a JSON body. It goes through the outgoing
//! client of `relais-edge` (one connection pool for the process), like every call relais makes.

use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;

use relais_edge::http::{HttpClient, HttpConfig};

pub struct Client {
    http: HttpClient,
    base: String,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The body as text (invalid UTF-8 replaced); `bytes` has it as received.
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The process's client for local servers: no proxy, connections kept alive and shared by every
/// `Client` (each concurrent request takes an idle connection or opens one).
fn local() -> io::Result<HttpClient> {
    static LOCAL: OnceLock<Result<HttpClient, String>> = OnceLock::new();
    LOCAL
        .get_or_init(|| HttpClient::new(&HttpConfig::default()).map_err(|e| e.to_string()))
        .clone()
        .map_err(io::Error::other)
}

impl Client {
    /// A client of the server at `address` (plain HTTP). Nothing is sent until the first request.
    pub async fn connect(address: SocketAddr) -> io::Result<Client> {
        Ok(Client { http: local()?, base: format!("http://{address}") })
    }

    /// Sends one request (a JSON body, if any) and reads the whole response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> io::Result<Response> {
        let body = body.unwrap_or("");
        let content_type = (!body.is_empty()).then_some("application/json");
        self.send(method, path, key, content_type, body.as_bytes().to_vec()).await
    }

    /// Sends one request with a body of any type (a point file) and reads the whole response.
    pub async fn request_bytes(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> io::Result<Response> {
        self.send(method, path, key, Some(content_type), body.to_vec()).await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> io::Result<Response> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(io::Error::other)?;
        let mut request = self.http.inner().request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        let fetched = self.http.send(request.body(body)).await.map_err(io::Error::other)?;
        Ok(Response { status: fetched.status, body: fetched.text(), bytes: fetched.body })
    }
}

//! A client of the relais API over HTTP/1.1, for the load generator, the simulator and the
//! multi-process tests: one kept-alive connection to one local server, requests with an API key and a
//! JSON body, over hyper's client connection. It stays this thin so that a benchmark measures the
//! server, not its client (a general client such as reqwest costs several times more per request,
//! and shares the machine's cores with the server under test). Calls to the outside world (point files
//! over HTTPS) go through `relais-edge` instead.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;

pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    host: String,
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

impl Client {
    /// A connection to the server at `address` (plain HTTP), kept alive for every request.
    pub async fn connect(address: SocketAddr) -> io::Result<Client> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(io::Error::other)?;
        // The connection runs until either side closes it; a request on a closed one fails, and the
        // caller connects again.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Client { sender, host: address.to_string() })
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
        self.send(method, path, key, content_type, Bytes::copy_from_slice(body.as_bytes())).await
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
        self.send(method, path, key, Some(content_type), Bytes::copy_from_slice(body)).await
    }

    /// A `GET` with headers of its own (a browser's session cookie), reading the whole response.
    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
        self.send_with("GET", path, None, None, Bytes::new(), headers).await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: Bytes,
    ) -> io::Result<Response> {
        self.send_with(method, path, key, content_type, body, &[]).await
    }

    async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> io::Result<Response> {
        let mut request = hyper::Request::builder().method(method).uri(path).header(HOST, &self.host);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(key) = key {
            request = request.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let request = request.body(Full::new(body)).map_err(io::Error::other)?;
        self.sender.ready().await.map_err(io::Error::other)?;
        let response = self.sender.send_request(request).await.map_err(io::Error::other)?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.map_err(io::Error::other)?.to_bytes().to_vec();
        Ok(Response { status, body: String::from_utf8_lossy(&bytes).into_owned(), bytes })
    }
}

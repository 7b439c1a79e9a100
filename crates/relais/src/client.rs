//! A minimal HTTP/1.1 client over one keep-alive TCP connection: enough to drive the relais API from
//! the load generator and the end-to-end tests. Not a general client: no TLS, no redirects.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Largest response body accepted (a downloaded point file included).
const BODY_BYTES_MAX: usize = 256 * 1024 * 1024;

pub struct Client {
    stream: BufReader<TcpStream>,
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
    pub async fn connect(address: SocketAddr) -> io::Result<Client> {
        Self::connect_to(address, &address.to_string()).await
    }

    /// Connects to `address`, naming `host` in the requests (for a server that hosts several sites).
    pub async fn connect_to(address: SocketAddr, host: &str) -> io::Result<Client> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Client { stream: BufReader::new(stream), host: host.to_owned() })
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
        self.send(method, path, key, content_type, body.as_bytes()).await
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
        self.send(method, path, key, Some(content_type), body).await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> io::Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host);
        if let Some(key) = key {
            head.push_str(&format!("authorization: Bearer {key}\r\n"));
        }
        if let Some(content_type) = content_type {
            head.push_str(&format!("content-type: {content_type}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> io::Result<Response> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| invalid("status line"))?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.parse().map_err(|_| invalid("content-length"))?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|_| invalid("chunk size"))?;
                if body.len() + size > BODY_BYTES_MAX {
                    return Err(invalid("body too large"));
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.stream.read_exact(&mut body[start..]).await?;
                line.clear();
                self.stream.read_line(&mut line).await?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            if length > BODY_BYTES_MAX {
                return Err(invalid("body too large"));
            }
            body.resize(length, 0);
            self.stream.read_exact(&mut body).await?;
        }
        Ok(Response { status, body: String::from_utf8_lossy(&body).into_owned(), bytes: body })
    }
}

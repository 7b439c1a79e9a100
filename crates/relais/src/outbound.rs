//! The calls relais makes to other systems' APIs (shops, carriers) over the outbound HTTP client
//! (`[outbound]`: timeouts, size cap, proxy, extra certificate authorities), and the carrier tracking
//! job that uses them in `relais serve`.

use async_trait::async_trait;
use relais_app::ports::{OutboundAnswer, OutboundCalls, OutboundRequest};
use relais_app::{App, Caller};
use relais_edge::http::HttpClient;

/// Other systems' APIs over the outbound client.
pub struct HttpOutboundCalls {
    client: HttpClient,
}

impl HttpOutboundCalls {
    pub fn new(client: HttpClient) -> HttpOutboundCalls {
        HttpOutboundCalls { client }
    }
}

#[async_trait]
impl OutboundCalls for HttpOutboundCalls {
    async fn call(&self, request: OutboundRequest) -> Result<OutboundAnswer, String> {
        let inner = self.client.inner();
        let mut builder = match request.method {
            "GET" => inner.get(&request.url),
            "PUT" => inner.put(&request.url),
            _ => inner.post(&request.url),
        };
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let answer = self.client.send(builder).await.map_err(|e| e.to_string())?;
        Ok(OutboundAnswer { status: answer.status, body: answer.text() })
    }
}

/// Polls the carriers of the followed parcels that are due, a round every `interval_seconds`, until
/// stopped (`relais_app::tracking`).
pub async fn poll_tracking_forever(app: App, calls: HttpOutboundCalls, interval_seconds: u64, batch: u32) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_seconds.max(1)));
    loop {
        tick.tick().await;
        match app.poll_trackings(&Caller::system(), &calls, batch).await {
            Ok(report) if report.polled + report.deferred > 0 => tracing::info!(
                polled = report.polled,
                news = report.news,
                failed = report.failed,
                deferred = report.deferred,
                "carrier tracking polled"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a tracking poll round failed; will retry"),
        }
    }
}

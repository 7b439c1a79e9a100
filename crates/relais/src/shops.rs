//! The calls relais makes to merchants' shops to write their orders' fulfilments back
//! (`relais_app::connectors::write_back`), over the outbound HTTP client (`[outbound]`: timeouts, size
//! cap, proxy, extra certificate authorities), and the job that runs them in `relais serve`.

use async_trait::async_trait;
use relais_app::connectors::write_back::{ShopAnswer, ShopCalls, ShopRequest};
use relais_app::{App, Caller};
use relais_edge::http::HttpClient;

/// Shop orders one pass takes.
const BATCH: u32 = 100;

/// Shops' APIs over the outbound client.
pub struct HttpShopCalls {
    client: HttpClient,
}

impl HttpShopCalls {
    pub fn new(client: HttpClient) -> HttpShopCalls {
        HttpShopCalls { client }
    }
}

#[async_trait]
impl ShopCalls for HttpShopCalls {
    async fn call(&self, request: ShopRequest) -> Result<ShopAnswer, String> {
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
        Ok(ShopAnswer { status: answer.status, body: answer.text() })
    }
}

/// Writes shop orders' fulfilments back, a pass every `interval_seconds`, until stopped.
pub async fn write_back_forever(app: App, calls: HttpShopCalls, interval_seconds: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_seconds.max(1)));
    loop {
        tick.tick().await;
        match app.write_back_due(&Caller::system(), &calls, BATCH).await {
            Ok(report) if report.written + report.failed > 0 => {
                tracing::info!(written = report.written, failed = report.failed, "write-back to shops");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "write-back pass failed; will retry"),
        }
    }
}

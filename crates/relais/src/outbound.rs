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

/// Most batches of promise reviews one round runs (the rest wait for the next round).
const REVIEW_BATCHES_PER_ROUND: u32 = 40;

/// Polls the carriers of the followed parcels that are due, then looks at the promises due for a look
/// (delays told, late and lost claims) and reminds merchants of claims near their deadline, a round
/// every `interval_seconds`, until stopped (`relais_app::tracking`, `promises`, `claims`).
pub async fn poll_tracking_forever(app: App, calls: HttpOutboundCalls, interval_seconds: u64, batch: u32) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_seconds.max(1)));
    loop {
        tick.tick().await;
        match app.poll_trackings(&Caller::system(), &calls, batch).await {
            Ok(report) if report.polled > 0 => tracing::info!(
                polled = report.polled,
                news = report.news,
                failed = report.failed,
                carriers_at_budget = report.at_budget,
                "carrier tracking polled"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a tracking poll round failed; will retry"),
        }
        // Promises due for a look: batch after batch while full ones come back, so that a large network
        // is reviewed within the round rather than a batch a minute.
        for _ in 0..REVIEW_BATCHES_PER_ROUND {
            match app.review_promises(&Caller::system(), batch).await {
                Ok(r) => {
                    if r.delays_told + r.late_claims + r.lost_claims > 0 {
                        tracing::info!(
                            reviewed = r.reviewed,
                            delays_told = r.delays_told,
                            late_claims = r.late_claims,
                            lost_claims = r.lost_claims,
                            "delivery promises reviewed"
                        );
                    }
                    if r.reviewed < batch {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a promise review round failed; will retry");
                    break;
                }
            }
        }
        if let Err(e) = app.remind_claims(&Caller::system(), batch).await {
            tracing::warn!(error = %e, "claim reminders failed; will retry");
        }
    }
}

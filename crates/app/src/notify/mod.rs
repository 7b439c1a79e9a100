//! The outbox delivered (ADR 15): what the delivery worker does, round after round, in `relais serve`
//! and in `relais worker`.
//!
//! 1. **Dispatch.** Undispatched outbox messages are leased, each fans out into its deliveries (the
//!    recipient's SMS and e-mail as its notice calls for, each subscribed endpoint), and the message
//!    is marked dispatched, in one transaction. An SMS due in the recipient's quiet hours is due when
//!    they end.
//! 2. **Send.** Due deliveries are leased (their attempt counted), rendered (`render.rs`: templates,
//!    the pickup code opened from the parcel's seal only now, the webhook body signed) and handed to the
//!    [`Outlets`] (the channels' clients, wired by the binary), several at a time.
//! 3. **Record.** Each outcome becomes the delivery's next step (`Delivery::attempted`, on its channel's
//!    schedule): delivered, retried later with jitter, or dead with its last error. A webhook's outcome also
//!    marks its endpoint failing or healthy, and an endpoint failing for days is disabled and its
//!    owner told.
//!
//! The rendered text is never stored or logged: a delivery keeps its channel, address, outcome and the
//! provider's reference.

pub mod endpoints;
pub mod providers;
mod render;
pub mod templates;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use relais_domain::Timestamp;
use relais_domain::delivery::{
    AttemptOutcome, Channel, Contacts, Delivery, DeliveryState, Destination, Endpoint, Notice, QuietHours,
    RecipientLimit, recipient_deliveries,
};
use relais_domain::ids::{DeliveryId, EndpointId, LeaseId, MerchantId, NetworkId, ParcelId, PointId};
use relais_domain::parcel::Parcel;

use crate::App;
use crate::error::AppError;
use crate::ports::{LeasedDelivery, MessageWrite, OutboxMessage, Write};

/// How the worker works.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// Outbox messages one dispatch takes, and deliveries one round takes.
    pub batch: u32,
    /// How long a claim holds its rows: longer than the slowest channel's whole attempt, so that a live
    /// worker never loses a delivery it is still sending.
    pub lease_seconds: i64,
    /// Sends in flight at once in one round.
    pub concurrency: usize,
    /// Rounds run side by side by one worker process: while one waits for the database, another
    /// sends (each claims rows of its own).
    pub loops: usize,
    /// How long a dispatched message is kept once all its deliveries are final.
    pub retention_days: i64,
    pub quiet_hours: QuietHours,
    /// How many SMS, and e-mails, one recipient gets in a window; more wait.
    pub sms_limit: RecipientLimit,
    pub email_limit: RecipientLimit,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            batch: 256,
            lease_seconds: 120,
            concurrency: 8,
            loops: 4,
            retention_days: 7,
            quiet_hours: QuietHours::default(),
            sms_limit: RecipientLimit::default(),
            email_limit: RecipientLimit { messages: 20, ..RecipientLimit::default() },
        }
    }
}

/// A message ready for its channel: rendered, with its delivery's id as the idempotency key.
#[derive(Clone, PartialEq, Eq)]
pub enum Outgoing {
    Email(OutgoingEmail),
    Sms(OutgoingSms),
    Webhook(OutgoingWebhook),
}

impl Outgoing {
    pub fn delivery_id(&self) -> DeliveryId {
        match self {
            Outgoing::Email(m) => m.delivery_id,
            Outgoing::Sms(m) => m.delivery_id,
            Outgoing::Webhook(m) => m.delivery_id,
        }
    }
}

/// Never prints a message's text: it may hold a pickup code.
impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (channel, id) = match self {
            Outgoing::Email(m) => ("email", m.delivery_id),
            Outgoing::Sms(m) => ("sms", m.delivery_id),
            Outgoing::Webhook(m) => ("webhook", m.delivery_id),
        };
        write!(f, "Outgoing({channel}, {id})")
    }
}

/// Whose message it is, for the channels that choose a merchant's or a network's own provider: the
/// parcel's merchant and network (none for the operators' alerts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageScope {
    pub merchant_id: Option<MerchantId>,
    pub network_id: Option<NetworkId>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub delivery_id: DeliveryId,
    pub scope: MessageScope,
    pub to: String,
    /// The sender's display name (the merchant's, for its parcels); the address is the channel's.
    pub from_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Images the HTML shows by `cid:` (the QR code).
    pub inline: Vec<InlineImage>,
    /// Extra headers (`List-Unsubscribe`).
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct InlineImage {
    pub content_id: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    pub delivery_id: DeliveryId,
    pub scope: MessageScope,
    /// E.164.
    pub to: String,
    pub body: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingWebhook {
    pub delivery_id: DeliveryId,
    pub endpoint_id: EndpointId,
    pub url: String,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`, `content-type`.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The channels' clients: an SMTP server, an SMS provider, the HTTP client for webhooks, or a file
/// sink. Implemented by the binary over `relais-edge`; each send ends in an outcome, never an error.
#[async_trait]
pub trait Outlets: Send + Sync {
    async fn send(&self, message: Outgoing) -> AttemptOutcome;
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Outbox messages fanned out.
    pub dispatched: usize,
    /// Deliveries sent and accepted, to be tried again, given up on.
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

impl Round {
    pub fn is_idle(&self) -> bool {
        *self == Round::default()
    }
}

/// A dispatch batch's recipients (`App::recipients_of`).
struct Recipients {
    parcels: HashMap<ParcelId, Option<Parcel>>,
    /// By contact (phone or e-mail address): the channels it stopped.
    opted_out: HashMap<String, Vec<Channel>>,
    /// By channel and address: when the recipient's recent messages left or will leave.
    sends: HashMap<(Channel, String), Vec<Timestamp>>,
}

/// A delivery's attempt as the worker ends it: the outcome the channel gave.
struct Attempt {
    leased: LeasedDelivery,
    outcome: AttemptOutcome,
}

impl App {
    /// One round of the delivery worker: dispatch what the outbox holds, then send the deliveries that
    /// are due and record their outcomes.
    pub async fn deliver_round(
        &self,
        outlets: &Arc<dyn Outlets>,
        settings: &DeliverySettings,
    ) -> Result<Round, AppError> {
        let dispatched = self.dispatch_outbox(settings).await?;
        let (lease, leased) = self.lease_due_deliveries(settings).await?;
        let mut round = Round { dispatched, ..Round::default() };
        if leased.is_empty() {
            return Ok(round);
        }
        let attempts = self.send_all(outlets, leased, settings.concurrency).await;
        let now = self.now();
        let mut writes = Vec::with_capacity(attempts.len());
        let mut failing_endpoints = Vec::new();
        for Attempt { leased, outcome } in attempts {
            let delivery = leased.delivery;
            if delivery.channel == Channel::Webhook
                && let Ok(endpoint_id) = delivery.address.parse::<EndpointId>()
            {
                let ok = matches!(outcome, AttemptOutcome::Accepted { .. });
                writes.push(Write::Messages(MessageWrite::EndpointOutcome { id: endpoint_id, ok, at: now }));
                if !ok {
                    failing_endpoints.push(endpoint_id);
                }
            }
            let next = delivery.attempted(outcome, now, self.jitter());
            let counted = match next.state {
                DeliveryState::Delivered => {
                    round.delivered += 1;
                    "delivered"
                }
                DeliveryState::Pending => {
                    round.retried += 1;
                    "retried"
                }
                DeliveryState::Dead => {
                    round.dead += 1;
                    tracing::warn!(delivery = %next.id, channel = next.channel.as_str(), topic = %next.topic,
                        error = next.last_error.as_deref().unwrap_or_default(), "a message was given up on");
                    "dead"
                }
            };
            metrics::counter!("relais_message_attempts_total", "channel" => next.channel.as_str(), "outcome" => counted)
                .increment(1);
            writes.push(Write::Messages(MessageWrite::RecordDelivery { delivery: next, lease }));
        }
        self.insert_all(writes).await?;
        for endpoint_id in failing_endpoints {
            self.disable_if_failing_too_long(endpoint_id).await?;
        }
        Ok(round)
    }

    /// Fans out up to a batch of undispatched messages; how many.
    pub async fn dispatch_outbox(&self, settings: &DeliverySettings) -> Result<usize, AppError> {
        let lease: LeaseId = self.new_id();
        let now = self.now();
        let until = now + Duration::seconds(settings.lease_seconds);
        self.insert(Write::Messages(MessageWrite::ClaimOutbox { lease, now, until, limit: settings.batch })).await?;
        let messages = self.store.leased_outbox(lease).await?;
        if messages.is_empty() {
            return Ok(0);
        }
        let endpoints = self.store.enabled_endpoints().await?;
        let recipients = self.recipients_of(&messages, settings, now).await?;
        let mut sends = recipients.sends;
        let mut writes = Vec::with_capacity(messages.len());
        for message in &messages {
            let parcel = message.parcel_id.and_then(|id| recipients.parcels.get(&id)).and_then(Option::as_ref);
            let deliveries =
                self.fan_out(message, parcel, &endpoints, &recipients.opted_out, &mut sends, settings, now).await?;
            writes.push(Write::Messages(MessageWrite::FanOut { outbox_id: message.id, deliveries, at: now }));
        }
        self.insert_all(writes).await?;
        metrics::counter!("relais_messages_dispatched_total").increment(messages.len() as u64);
        Ok(messages.len())
    }

    /// Deletes up to a sweep's batch of dispatched messages older than the retention whose deliveries
    /// are all final (their deliveries stay).
    pub async fn prune_outbox(&self, settings: &DeliverySettings) -> Result<(), AppError> {
        let before = self.now() - Duration::days(settings.retention_days);
        self.insert(Write::Messages(MessageWrite::PruneOutbox { before, limit: self.limits.sweep_batch_max })).await
    }

    /// What a batch's fan-out knows of its recipients, read once for the batch: the parcels, which
    /// channels their contacts stopped, and the recent messages the per-recipient limit counts.
    async fn recipients_of(
        &self,
        messages: &[OutboxMessage],
        settings: &DeliverySettings,
        now: Timestamp,
    ) -> Result<Recipients, AppError> {
        let mut ids: Vec<ParcelId> = messages.iter().filter_map(|m| m.parcel_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut parcels: HashMap<ParcelId, Option<Parcel>> = ids.iter().map(|id| (*id, None)).collect();
        for (parcel, _) in self.store.parcels_with_seals(&ids).await? {
            parcels.insert(parcel.id, Some(parcel));
        }
        // Only the recipients the batch tells something.
        let told: std::collections::HashSet<ParcelId> =
            messages.iter().filter(|m| notice_of(m).is_some()).filter_map(|m| m.parcel_id).collect();
        let mut contacts: Vec<String> = parcels
            .values()
            .flatten()
            .filter(|p| told.contains(&p.id))
            .flat_map(|p| {
                let phone = p.recipient.phone.as_ref().map(|x| x.as_str().to_owned());
                phone.into_iter().chain(p.recipient.email.as_ref().map(|x| x.as_str().to_owned()))
            })
            .collect();
        contacts.sort_unstable();
        contacts.dedup();
        let digests: HashMap<String, String> =
            contacts.iter().map(|c| (self.secrets.contact_digest(c), c.clone())).collect();
        let digest_list: Vec<String> = digests.keys().cloned().collect();
        let mut opted_out: HashMap<String, Vec<Channel>> = HashMap::new();
        for (digest, channel) in self.store.opted_out(&digest_list).await? {
            if let Some(contact) = digests.get(&digest) {
                opted_out.entry(contact.clone()).or_default().push(channel);
            }
        }
        let longest = settings.sms_limit.window.max(settings.email_limit.window);
        let mut sends: HashMap<(Channel, String), Vec<Timestamp>> = HashMap::new();
        for (channel, address, at) in self.store.recipient_sends(&contacts, now - longest).await? {
            sends.entry((channel, address)).or_default().push(at);
        }
        Ok(Recipients { parcels, opted_out, sends })
    }

    /// The deliveries of one message: the recipient's, on the channels its notice calls for and they
    /// have not stopped, each due when the quiet hours and their limit allow; and every enabled endpoint
    /// subscribed to its topic. `sends` gets the recipient's new deliveries, for the next message.
    #[allow(clippy::too_many_arguments)]
    async fn fan_out(
        &self,
        message: &OutboxMessage,
        parcel: Option<&Parcel>,
        endpoints: &[Endpoint],
        opted_out: &HashMap<String, Vec<Channel>>,
        sends: &mut HashMap<(Channel, String), Vec<Timestamp>>,
        settings: &DeliverySettings,
        now: Timestamp,
    ) -> Result<Vec<Delivery>, AppError> {
        // A parcel's merchant; or the merchant a message names (an endpoint disabled, told to its owner).
        let merchant_id = parcel
            .map(|p| p.merchant_id)
            .or_else(|| message.payload.get("merchant_id").and_then(|m| m.as_str()).and_then(|m| m.parse().ok()));
        let mut destinations: Vec<(Destination, Timestamp)> = Vec::new();
        if let (Some(parcel), Some(notice)) = (parcel, notice_of(message)) {
            let phone = parcel.recipient.phone.as_ref().map(|p| p.as_str());
            let email = parcel.recipient.email.as_ref().map(|e| e.as_str());
            let stopped = |contact: Option<&str>, channel: Channel| {
                contact.and_then(|c| opted_out.get(c)).is_some_and(|channels| channels.contains(&channel))
            };
            let stopped: Vec<Channel> = [(phone, Channel::Sms), (email, Channel::Email)]
                .into_iter()
                .filter(|(contact, channel)| stopped(*contact, *channel))
                .map(|(_, channel)| channel)
                .collect();
            let contacts = Contacts { phone, email, opted_out: &stopped };
            for destination in recipient_deliveries(notice, contacts) {
                let sent = sends.entry((destination.channel, destination.address.clone())).or_default();
                let due = match destination.channel {
                    // A phone rings: not in the recipient's night, in the point's timezone; and not more
                    // than the limit allows (held past the limit, then past the night again).
                    Channel::Sms => {
                        let quiet = &settings.quiet_hours;
                        let due = self.after_quiet_hours(parcel.point_id, quiet, now).await;
                        let limited = settings.sms_limit.release(due, sent);
                        if limited == due { due } else { self.after_quiet_hours(parcel.point_id, quiet, limited).await }
                    }
                    _ => settings.email_limit.release(now, sent),
                };
                sent.push(due);
                destinations.push((destination, due));
            }
        }
        for endpoint in endpoints.iter().filter(|e| e.wants(&message.topic, merchant_id)) {
            destinations.push((endpoint.destination(), now));
        }
        Ok(destinations
            .into_iter()
            .map(|(to, due)| Delivery::new(self.new_id(), message.id, &message.topic, message.parcel_id, to, now, due))
            .collect())
    }

    /// `now`, or the end of the quiet hours at the point if `now` is in them (a point whose timezone is
    /// unknown: `now`).
    async fn after_quiet_hours(&self, point_id: PointId, quiet_hours: &QuietHours, now: Timestamp) -> Timestamp {
        let zone = self.indexed_point(point_id).await.ok().and_then(|p| relais_hours::parse_timezone(&p.timezone).ok());
        zone.map_or(now, |zone| quiet_hours.release(now, &zone))
    }

    /// Leases the due deliveries; the lease and what it holds.
    async fn lease_due_deliveries(
        &self,
        settings: &DeliverySettings,
    ) -> Result<(LeaseId, Vec<LeasedDelivery>), AppError> {
        let lease: LeaseId = self.new_id();
        let now = self.now();
        let until = now + Duration::seconds(settings.lease_seconds);
        self.insert(Write::Messages(MessageWrite::ClaimDeliveries { lease, now, until, limit: settings.batch }))
            .await?;
        Ok((lease, self.store.leased_deliveries(lease).await?))
    }

    /// Renders and sends each delivery, `concurrency` at a time, each in a task of its own so that
    /// rendering (templates, the QR image) spreads over the runtime's threads; in any order. A task
    /// that panicked leaves its delivery leased: it is tried again when the lease lapses.
    async fn send_all(
        &self,
        outlets: &Arc<dyn Outlets>,
        leased: Vec<LeasedDelivery>,
        concurrency: usize,
    ) -> Vec<Attempt> {
        let cache = Arc::new(render::Cache::default());
        self.prefetch_parcels(&leased, &cache).await;
        let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let mut attempts = Vec::with_capacity(leased.len());
        for leased in leased {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { break };
            let (app, outlets, cache) = (self.clone(), Arc::clone(outlets), Arc::clone(&cache));
            tasks.spawn(async move {
                let _slot = slot;
                let outcome = match app.render(&leased, &cache).await {
                    Ok(outgoing) => outlets.send(outgoing).await,
                    Err(refusal) => refusal,
                };
                Attempt { leased, outcome }
            });
            // Collect what is done as we go, so finished tasks do not pile up.
            while let Some(done) = tasks.try_join_next() {
                collect(done, &mut attempts);
            }
        }
        while let Some(done) = tasks.join_next().await {
            collect(done, &mut attempts);
        }
        attempts
    }

    /// A number in [0, 1) from the random source, for the retry jitter.
    fn jitter(&self) -> f64 {
        let mut bytes = [0u8; 4];
        self.random.fill(&mut bytes);
        f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
    }

    /// Disables an endpoint that has failed for [`relais_domain::delivery::ENDPOINT_FAILING_DAYS_MAX`]
    /// days, and tells its owner (an `endpoint.disabled` message to the operators' endpoints and the
    /// owner's others).
    async fn disable_if_failing_too_long(&self, endpoint_id: EndpointId) -> Result<(), AppError> {
        self.run(|| async {
            let mut tx = self.tx();
            let Some((endpoint, _)) = self.store.endpoint(endpoint_id).await? else { return Ok(tx.done(())) };
            if endpoint.disabled_at.is_some() || !endpoint.fails_for_too_long(tx.now) {
                return Ok(tx.done(()));
            }
            let reason =
                format!("every delivery failed for {} days", relais_domain::delivery::ENDPOINT_FAILING_DAYS_MAX);
            let payload = serde_json::json!({
                "endpoint_id": endpoint.id.to_string(),
                "merchant_id": endpoint.merchant_id.map(|m| m.to_string()),
                "reason": reason,
                "failing_since": endpoint.failing_since.map(|t| t.to_rfc3339()),
                "at": tx.now.to_rfc3339(),
            });
            tracing::warn!(endpoint = %endpoint.id, "an endpoint was disabled: {reason}");
            tx.write(Write::Messages(MessageWrite::UpdateEndpoint(Endpoint {
                disabled_at: Some(tx.now),
                disabled_reason: Some(reason),
                ..endpoint
            })));
            tx.message("endpoint.disabled", None, payload);
            Ok(tx.done(()))
        })
        .await
    }
}

fn collect(done: Result<Attempt, tokio::task::JoinError>, into: &mut Vec<Attempt>) {
    match done {
        Ok(attempt) => into.push(attempt),
        Err(e) => tracing::error!(error = %e, "a delivery task failed; it is tried again when its lease lapses"),
    }
}

/// The notice an outbox message carries for its recipient, if any: written by the command
/// (`payload.notice`), so that the message says what was true when it happened.
fn notice_of(message: &OutboxMessage) -> Option<Notice> {
    message.payload.get("notice").and_then(|n| n.as_str()).and_then(Notice::parse)
}

/// How many parts an SMS takes (GSM 7-bit or UCS-2, concatenated): what a provider bills.
pub fn sms_parts(body: &str) -> usize {
    relais_messages::sms::segment(body).segments()
}

/// Whether an SMS must go as UCS-2 (a character outside the GSM 7-bit alphabet): what a provider that
/// asks (Brevo's `unicodeEnabled`) is told.
pub fn sms_is_unicode(body: &str) -> bool {
    relais_messages::sms::segment(body).encoding == relais_messages::sms::Encoding::Ucs2
}

//! A delivery rendered for its channel at the moment it is sent, never before (ADR 14, 15): the
//! recipient's SMS and e-mail from the templates of `relais-messages` in their language, with the
//! pickup code opened from the parcel's seal when the notice carries it; an operators' alert e-mail;
//! a merchant's webhook, signed in the Standard Webhooks convention with its endpoint's secrets.
//!
//! A delivery that can no longer be rendered (its message pruned, its parcel's code dead since, its
//! endpoint deleted) is refused for good: sending it later would not make it right.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use relais_domain::Timestamp;
use relais_domain::delivery::{AttemptOutcome, Channel, EndpointTarget, Notice};
use relais_domain::ids::{EndpointId, MerchantId, ParcelId};
use relais_domain::parcel::Parcel;
use relais_domain::point::PickupPoint;
use relais_domain::value::Language;
use relais_messages::templates::{Lang, MessageData};
use relais_messages::webhooks::{WebhookSecret, signature_header};

use super::templates::Overrides;
use super::{InlineImage, MessageScope, Outgoing, OutgoingEmail, OutgoingSms, OutgoingWebhook};
use crate::App;
use crate::error::AppError;
use crate::ports::{Branding, LeasedDelivery};

/// The `cid:` of the QR image attached to an e-mail that carries the code.
const QR_CONTENT_ID: &str = "qr";

/// What one round reads again and again: merchants' names, points' hours of the day.
#[derive(Default)]
pub(super) struct Cache {
    merchants: Mutex<HashMap<MerchantId, Arc<(String, Branding)>>>,
    hours: Mutex<HashMap<relais_domain::ids::PointId, Arc<str>>>,
    /// The operators' templates, read once a round.
    templates: tokio::sync::OnceCell<Arc<Overrides>>,
    /// The round's parcels with their seals, read together before the sends (`prefetch_parcels`),
    /// for the deliveries (SMS and e-mail) of each; dropped with the round.
    parcels: Mutex<HashMap<ParcelId, Sealed>>,
}

/// A parcel and its seal (while its code is live).
type Sealed = (Parcel, Option<Vec<u8>>);

fn refused(error: impl Into<String>) -> AttemptOutcome {
    AttemptOutcome::Refused { error: error.into() }
}

/// A store failure while rendering: the next attempt may succeed.
fn failed(e: impl std::fmt::Display) -> AttemptOutcome {
    AttemptOutcome::Failed { error: format!("rendering: {e}"), retry_after: None }
}

impl App {
    /// The delivery as its channel sends it, or the outcome that ends the attempt without sending.
    pub(super) async fn render(&self, leased: &LeasedDelivery, cache: &Cache) -> Result<Outgoing, AttemptOutcome> {
        let delivery = &leased.delivery;
        let Some(payload) = &leased.payload else {
            return Err(refused("its message was pruned before it could be sent; resend from a newer event"));
        };
        match delivery.channel {
            Channel::Webhook => self.render_webhook(leased, payload).await,
            Channel::Sms | Channel::Email => {
                match (delivery.parcel_id, Notice::parse(payload["notice"].as_str().unwrap_or(""))) {
                    (Some(parcel_id), Some(notice)) => {
                        self.render_for_recipient(leased, parcel_id, notice, cache).await
                    }
                    _ if delivery.channel == Channel::Email => Ok(alert_email(leased, payload)),
                    _ => Err(refused("no text message exists for this event")),
                }
            }
        }
    }

    async fn render_for_recipient(
        &self,
        leased: &LeasedDelivery,
        parcel_id: relais_domain::ids::ParcelId,
        notice: Notice,
        cache: &Cache,
    ) -> Result<Outgoing, AttemptOutcome> {
        let delivery = &leased.delivery;
        let prefetched = cache.parcels.lock().unwrap_or_else(|p| p.into_inner()).get(&parcel_id).cloned();
        let (parcel, sealed) = match prefetched {
            Some(found) => found,
            None => self
                .store
                .parcel_with_seal(parcel_id)
                .await
                .map_err(failed)?
                .ok_or_else(|| refused("the parcel is gone"))?,
        };
        // A recipient's message goes to the recipient only: an operators' alert address listening to
        // parcel events gets the event, never the code.
        let to_recipient = match delivery.channel {
            Channel::Sms => parcel.recipient.phone.as_ref().is_some_and(|p| p.as_str() == delivery.address),
            Channel::Email => parcel.recipient.email.as_ref().is_some_and(|e| e.as_str() == delivery.address),
            Channel::Webhook => false,
        };
        if !to_recipient {
            return match (delivery.channel, &leased.payload) {
                (Channel::Email, Some(payload)) => Ok(alert_email(leased, payload)),
                _ => Err(refused("not the parcel's recipient, and no text message exists for this event")),
            };
        }
        let pickup = if notice.carries_code() {
            let opened = sealed.and_then(|sealed| self.secrets.open_pickup(parcel.id, &sealed));
            let Some(opened) = opened else {
                // Collected, returned or cancelled since: its code opens nothing any more.
                return Err(refused(format!(
                    "the parcel is {} now: its code is no longer live",
                    parcel.state.as_str()
                )));
            };
            Some(opened)
        } else {
            None
        };
        let point = self.indexed_point(parcel.point_id).await.map_err(app_failed)?;
        let merchant = self.merchant(parcel.merchant_id, cache).await?;
        let (merchant_name, branding) = (&merchant.0, &merchant.1);
        let previous_point = match parcel.relocated_from {
            Some(chosen) => self.indexed_point(chosen).await.map(|p| p.name.clone()).unwrap_or_default(),
            None => String::new(),
        };
        let lang = lang_of(parcel.recipient.language);
        let event_time =
            leased.payload.as_ref().and_then(|p| p["at"].as_str()).and_then(|at| at.parse::<Timestamp>().ok());
        let link = self.recipient_link(parcel.id);
        let data = MessageData {
            merchant: merchant_name.clone(),
            brand_color: branding.color.clone().unwrap_or_else(|| DEFAULT_BRAND_COLOR.to_owned()),
            logo_url: branding.logo_url.clone().unwrap_or_default(),
            parcel_number: parcel.number.as_str().to_owned(),
            point_name: point.name.clone(),
            address: one_line(&point),
            hours_today: self.hours_today(&point, cache).to_string(),
            deadline: parcel.pickup_deadline.map(|d| when(&point, d, lang)).unwrap_or_default(),
            event_time: event_time.map(|t| when(&point, t, lang)).unwrap_or_default(),
            code: pickup.as_ref().map(|(code, _)| code.as_str().to_owned()).unwrap_or_default(),
            survey_link: if notice == Notice::Collected { format!("{link}/survey") } else { String::new() },
            opt_out_link: format!("{link}/stop"),
            link,
            map_link: map_link(&point),
            previous_point,
        };
        let templates = self.templates(cache).await?;
        let scope = MessageScope { merchant_id: Some(parcel.merchant_id), network_id: Some(parcel.network_id) };
        match delivery.channel {
            Channel::Sms => {
                let text = templates.sms(notice.as_str(), lang, &data).map_err(template_refused)?;
                let body = relais_messages::sms::fold_punctuation(&text).into_owned();
                Ok(Outgoing::Sms(OutgoingSms { delivery_id: delivery.id, scope, to: delivery.address.clone(), body }))
            }
            _ => {
                let qr = pickup.as_ref().and_then(|(_, token)| relais_messages::qr::qr_png(token));
                let qr_src = if qr.is_some() { format!("cid:{QR_CONTENT_ID}") } else { String::new() };
                let email = templates.email(notice.as_str(), lang, &data, &qr_src).map_err(template_refused)?;
                let inline = qr
                    .map(|bytes| InlineImage {
                        content_id: QR_CONTENT_ID.to_owned(),
                        content_type: "image/png".to_owned(),
                        bytes,
                    })
                    .into_iter()
                    .collect();
                Ok(Outgoing::Email(OutgoingEmail {
                    delivery_id: delivery.id,
                    scope,
                    to: delivery.address.clone(),
                    from_name: Some(branding.sender_name.clone().unwrap_or_else(|| merchant_name.clone())),
                    subject: email.subject,
                    text: email.text,
                    html: email.html,
                    inline,
                    // One-click unsubscribe (RFC 8058): the mail client's button posts to the page.
                    headers: vec![
                        ("List-Unsubscribe".to_owned(), format!("<{}?channel=email>", data.opt_out_link)),
                        ("List-Unsubscribe-Post".to_owned(), "List-Unsubscribe=One-Click".to_owned()),
                    ],
                }))
            }
        }
    }

    /// Reads the parcels of a round's recipient deliveries in one go (a store failure only means each
    /// is read on its own when rendered).
    pub(super) async fn prefetch_parcels(&self, leased: &[LeasedDelivery], cache: &Cache) {
        let mut ids: Vec<ParcelId> = leased
            .iter()
            .filter(|l| l.delivery.channel != Channel::Webhook)
            .filter_map(|l| l.delivery.parcel_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return;
        }
        if let Ok(found) = self.store.parcels_with_seals(&ids).await {
            let mut parcels = cache.parcels.lock().unwrap_or_else(|p| p.into_inner());
            parcels.extend(found.into_iter().map(|(parcel, seal)| (parcel.id, (parcel, seal))));
        }
    }

    /// The operators' templates, read once a round.
    async fn templates(&self, cache: &Cache) -> Result<Arc<Overrides>, AttemptOutcome> {
        cache
            .templates
            .get_or_try_init(|| async { self.store.message_templates().await.map(|t| Arc::new(Overrides::of(t))) })
            .await
            .cloned()
            .map_err(failed)
    }

    async fn render_webhook(
        &self,
        leased: &LeasedDelivery,
        payload: &serde_json::Value,
    ) -> Result<Outgoing, AttemptOutcome> {
        let delivery = &leased.delivery;
        let endpoint_id: EndpointId = delivery.address.parse().map_err(|_| refused("not an endpoint"))?;
        let (endpoint, sealed) = self
            .store
            .endpoint(endpoint_id)
            .await
            .map_err(failed)?
            .ok_or_else(|| refused("the endpoint was deleted"))?;
        if endpoint.disabled_at.is_some() {
            return Err(refused("the endpoint is disabled"));
        }
        let EndpointTarget::Webhook { url } = endpoint.target else {
            return Err(refused("the endpoint takes e-mail, not webhooks"));
        };
        let now = self.now();
        let mut secrets = Vec::new();
        for (seal, live) in
            sealed.current.iter().map(|s| (s, true)).chain(sealed.previous.iter().map(|(s, until)| (s, *until > now)))
        {
            if live {
                let secret = self.secrets.open_endpoint_secret(endpoint_id, seal).ok_or_else(|| {
                    refused("the endpoint's secret does not open with this instance's key; rotate it")
                })?;
                secrets
                    .push(WebhookSecret::parse(&secret).map_err(|_| refused("the endpoint's secret is unreadable"))?);
            }
        }
        let body = webhook_body(&delivery.topic, delivery.created_at, payload);
        let id = delivery.id.to_string();
        let timestamp = now.timestamp();
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("webhook-id".to_owned(), id.clone()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
            ("webhook-signature".to_owned(), signature_header(&secrets, &id, timestamp, body.as_bytes())),
        ];
        Ok(Outgoing::Webhook(OutgoingWebhook { delivery_id: delivery.id, endpoint_id, url, headers, body }))
    }

    /// Today's hours at a point, computed once a round (a round lasts a moment).
    fn hours_today(&self, point: &PickupPoint, cache: &Cache) -> Arc<str> {
        let mut hours = cache.hours.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(hours.entry(point.id).or_insert_with(|| Arc::from(hours_today(point, self.now()))))
    }

    /// A merchant's name and branding, read once a round.
    async fn merchant(
        &self,
        merchant_id: MerchantId,
        cache: &Cache,
    ) -> Result<Arc<(String, Branding)>, AttemptOutcome> {
        if let Some(found) = cache.merchants.lock().unwrap_or_else(|p| p.into_inner()).get(&merchant_id) {
            return Ok(Arc::clone(found));
        }
        let name = self.store.merchant(merchant_id).await.map_err(failed)?.map(|m| m.name).unwrap_or_default();
        let branding = self.store.merchant_branding(merchant_id).await.map_err(failed)?.unwrap_or_default();
        let found = Arc::new((name, branding));
        cache.merchants.lock().unwrap_or_else(|p| p.into_inner()).insert(merchant_id, Arc::clone(&found));
        Ok(found)
    }
}

/// relais' colour, for merchants that set none.
const DEFAULT_BRAND_COLOR: &str = "#1d4ed8";

fn app_failed(e: AppError) -> AttemptOutcome {
    match e {
        AppError::Store(e) => failed(e),
        other => refused(other.to_string()),
    }
}

fn template_refused(e: relais_messages::templates::TemplateError) -> AttemptOutcome {
    refused(format!("the template does not render: {e}"))
}

pub(crate) fn lang_of(language: Language) -> Lang {
    match language {
        Language::Fr => Lang::Fr,
        Language::En => Lang::En,
    }
}

/// The body of a webhook (Standard Webhooks): the event's type, when it happened, and its data.
pub(crate) fn webhook_body(topic: &str, at: Timestamp, payload: &serde_json::Value) -> String {
    let mut data = payload.clone();
    if let Some(fields) = data.as_object_mut() {
        // What only the recipient's messages use.
        fields.remove("notice");
    }
    serde_json::json!({"type": topic, "timestamp": at.to_rfc3339(), "data": data}).to_string()
}

/// An operators' alert by e-mail: the event's type and its fields, plainly.
fn alert_email(leased: &LeasedDelivery, payload: &serde_json::Value) -> Outgoing {
    let topic = &leased.delivery.topic;
    let mut text = format!("relais: {topic}\n\n");
    if let Some(fields) = payload.as_object() {
        for (name, value) in fields {
            let value = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            text.push_str(&format!("{name}: {value}\n"));
        }
    }
    let html = relais_messages::templates::text_to_html(&text);
    Outgoing::Email(OutgoingEmail {
        delivery_id: leased.delivery.id,
        scope: MessageScope::default(),
        to: leased.delivery.address.clone(),
        from_name: Some("relais".to_owned()),
        subject: format!("[relais] {topic}"),
        text,
        html,
        inline: Vec::new(),
        headers: Vec::new(),
    })
}

/// The point's address on one line.
fn one_line(point: &PickupPoint) -> String {
    let a = &point.address;
    match &a.line2 {
        Some(line2) => format!("{}, {line2}, {} {}", a.line1, a.postcode, a.city),
        None => format!("{}, {} {}", a.line1, a.postcode, a.city),
    }
}

/// Today's open intervals at the point (`9:00-12:00, 14:00-19:00`), empty when unknown or closed.
fn hours_today(point: &PickupPoint, now: Timestamp) -> String {
    let today = relais_registry::today::today(point, now);
    let short = |t: &str| t.strip_prefix('0').unwrap_or(t).to_owned();
    today.intervals.iter().map(|(from, to)| format!("{}-{}", short(from), short(to))).collect::<Vec<_>>().join(", ")
}

/// A link to the point on OpenStreetMap's site: works in any browser, no tiles service of ours.
fn map_link(point: &PickupPoint) -> String {
    let (lat, lon) = (point.coordinates.latitude(), point.coordinates.longitude());
    format!("https://www.openstreetmap.org/?mlat={lat:.5}&mlon={lon:.5}#map=18/{lat:.5}/{lon:.5}")
}

/// A moment in the point's local time, as a reader of the language writes it: `samedi 12/12 à 21:00`,
/// `Saturday 12 Dec at 21:00`.
fn when(point: &PickupPoint, at: Timestamp, lang: Lang) -> String {
    let local = crate::messages::local(point, at);
    match lang {
        Lang::Fr => {
            const DAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
            use chrono::Datelike;
            let day = DAYS[local.weekday().num_days_from_monday() as usize];
            format!("{day} {}", local.format("%d/%m à %H:%M"))
        }
        Lang::En => local.format("%A %-d %b at %H:%M").to_string(),
    }
}

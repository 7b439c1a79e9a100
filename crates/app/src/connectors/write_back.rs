//! An order's fulfilment written back to the shop it came from (docs/connectors.md): when its parcels
//! are announced (shipped, with their numbers), waiting at the point (ready for pickup) and collected
//! (delivered), relais calls the shop's own API with the merchant's token: Shopify's fulfillment and
//! its events, WooCommerce's order notes and status, Magento's shipment with its tracks and its order
//! comments.
//!
//! A job (`App::write_back_due`, run by `relais serve`) takes the shop orders that are due, works out
//! the stage their parcels reached, and writes the next step; a step the shop refuses or cannot be
//! reached for is tried again later with a growing delay, its error kept (never the token). The calls
//! go through the [`OutboundCalls`] port, which the binary implements over its HTTP client.

use std::collections::HashMap;

use base64::Engine as _;
use chrono::Duration;
use relais_domain::Timestamp;
use relais_domain::ids::MerchantId;
use relais_domain::order::{Order, OrderState};
use relais_domain::parcel::{Parcel, ParcelState};
use relais_domain::point::PickupPoint;
use relais_domain::value::Language;
use serde_json::{Value, json};

use super::Platform;
use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{OrderWrite, OutboundCalls, OutboundRequest, ShopWriteBack, StoredConnector, Write};

/// How far an order's fulfilment has been written to its shop, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    None,
    Shipped,
    Ready,
    Delivered,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "none",
            Stage::Shipped => "shipped",
            Stage::Ready => "ready",
            Stage::Delivered => "delivered",
        }
    }

    pub fn parse(text: &str) -> Stage {
        match text {
            "shipped" => Stage::Shipped,
            "ready" => Stage::Ready,
            "delivered" => Stage::Delivered,
            _ => Stage::None,
        }
    }

    fn next(self) -> Stage {
        match self {
            Stage::None => Stage::Shipped,
            Stage::Shipped => Stage::Ready,
            Stage::Ready | Stage::Delivered => Stage::Delivered,
        }
    }

    /// The stage an order's parcels reached: all collected, any waiting at the point, announced. Parcels
    /// sent back, cancelled or lost do not count: an order of only those reached nothing.
    pub fn reached(order: &Order, parcels: &[Parcel]) -> Stage {
        let parcels: Vec<&Parcel> =
            parcels.iter().filter(|p| !p.state.is_terminal() || p.state == ParcelState::Collected).collect();
        if order.state != OrderState::Announced || parcels.is_empty() {
            return Stage::None;
        }
        if parcels.iter().all(|p| p.state == ParcelState::Collected) {
            Stage::Delivered
        } else if parcels.iter().any(|p| matches!(p.state, ParcelState::ReadyForPickup | ParcelState::Collected)) {
            Stage::Ready
        } else {
            Stage::Shipped
        }
    }
}

/// The stage of an order whose parcels all ended without being collected: never looked at again.
pub const ENDED: &str = "ended";
/// How long an order with nothing new waits before it is looked at again.
const QUIET_MINUTES: i64 = 5;
/// The longest wait between two tries of a failing step.
const BACKOFF_MINUTES_MAX: i64 = 6 * 60;
/// The most of a shop's error kept with the order.
const ERROR_CHARS_MAX: usize = 300;
/// Shopify's Admin REST API version relais speaks.
pub const SHOPIFY_API_VERSION: &str = "2025-01";

/// What one pass wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteBackReport {
    pub written: u32,
    pub failed: u32,
}

/// What a step needs to say.
struct StepContext<'a> {
    shop_order_id: &'a str,
    shop_ref: Option<&'a str>,
    order: &'a Order,
    parcels: &'a [Parcel],
    point: Option<&'a PickupPoint>,
}

impl App {
    /// Writes the next step of up to `limit` shop orders that are due. Idempotent per step: a step is
    /// recorded once the shop accepted it.
    pub async fn write_back_due(
        &self,
        caller: &Caller,
        calls: &dyn OutboundCalls,
        limit: u32,
    ) -> Result<WriteBackReport, AppError> {
        caller.require(Permission::RunJobs)?;
        let mut report = WriteBackReport::default();
        // A pass's orders mostly share a few connectors: each is read and opened once.
        let mut access = HashMap::new();
        for row in self.store.shop_orders_due(self.now(), limit).await? {
            match self.write_back_one(calls, &mut access, row).await? {
                Some(true) => report.written += 1,
                Some(false) => report.failed += 1,
                None => {}
            }
        }
        Ok(report)
    }

    /// The next step of one order: `Some(true)` written, `Some(false)` failed, `None` nothing to do.
    async fn write_back_one(
        &self,
        calls: &dyn OutboundCalls,
        opened: &mut HashMap<(MerchantId, String), Opened>,
        mut row: ShopWriteBack,
    ) -> Result<Option<bool>, AppError> {
        let now = self.now();
        let quiet = |mut row: ShopWriteBack, error: Option<String>| {
            row.next_attempt_at = now + Duration::minutes(QUIET_MINUTES);
            row.last_error = error;
            row.updated_at = now;
            row
        };
        let key = (row.merchant_id, row.platform.clone());
        if let std::collections::hash_map::Entry::Vacant(slot) = opened.entry(key.clone()) {
            let connector = self.store.connector(row.merchant_id, &row.platform).await?;
            slot.insert(match connector.as_ref().map(|c| self.shop_access(c)) {
                None => Opened::Gone,
                Some(None) => Opened::NoAccess,
                Some(Some(access)) => Opened::Ready(access),
            });
        }
        let (access, platform) = match (opened.get(&key), Platform::parse(&row.platform)) {
            (Some(Opened::Ready(access)), Some(platform)) => (access, platform),
            // No API access set (yet): nothing is written; setting it starts from where the order is.
            (Some(Opened::NoAccess), Some(_)) => {
                self.put_shop_order(quiet(row, None)).await?;
                return Ok(None);
            }
            _ => {
                self.put_shop_order(quiet(row, Some("the connector is gone".into()))).await?;
                return Ok(None);
            }
        };
        let Some(order) = self.store.order(row.order_id).await? else { return Ok(None) };
        let parcels: Vec<Parcel> = self.store.order_parcels(order.id).await?.into_iter().map(|(p, _)| p).collect();
        let current = Stage::parse(&row.stage);
        if Stage::reached(&order, &parcels) <= current {
            // Every parcel ended otherwise than collected (sent back, cancelled, lost): nothing more will
            // be written, and the order is not looked at again.
            let ended = !parcels.is_empty() && parcels.iter().all(|p| p.state.is_terminal());
            let mut row = quiet(row, None);
            if ended {
                row.stage = ENDED.to_owned();
            }
            self.put_shop_order(row).await?;
            return Ok(None);
        }
        let step = current.next();
        let point = match order.point_id {
            Some(id) => self.store.point(id).await?,
            None => None,
        };
        let context = StepContext {
            shop_order_id: &row.shop_order_id,
            shop_ref: row.shop_ref.as_deref(),
            order: &order,
            parcels: &parcels,
            point: point.as_ref(),
        };
        let outcome = match platform {
            Platform::Shopify => shopify_step(calls, access, step, &context).await,
            Platform::WooCommerce => woocommerce_step(calls, access, step, &context).await,
            Platform::Magento => magento_step(calls, access, step, &context).await,
        };
        row.updated_at = now;
        let written = match outcome {
            Ok(shop_ref) => {
                row.stage = step.as_str().to_owned();
                row.shop_ref = shop_ref.or(row.shop_ref);
                row.attempts = 0;
                // The next step may be due already (a parcel collected before it was written ready).
                row.next_attempt_at = now;
                row.last_error = None;
                tracing::info!(order = %order.id, platform = platform.as_str(), stage = step.as_str(), "written back to the shop");
                true
            }
            Err(error) => {
                row.attempts += 1;
                let minutes = (1i64 << row.attempts.min(10)).min(BACKOFF_MINUTES_MAX);
                row.next_attempt_at = now + Duration::minutes(minutes);
                let error: String = error.chars().take(ERROR_CHARS_MAX).collect();
                tracing::warn!(order = %order.id, platform = platform.as_str(), stage = step.as_str(), %error, "the shop refused a write-back; will retry");
                row.last_error = Some(error);
                false
            }
        };
        self.put_shop_order(row).await?;
        Ok(Some(written))
    }

    async fn put_shop_order(&self, row: ShopWriteBack) -> Result<(), AppError> {
        self.insert(Write::Orders(OrderWrite::PutShopWriteBack(row))).await
    }

    /// The shop's API with its token opened.
    fn shop_access(&self, connector: &StoredConnector) -> Option<Access> {
        let api = connector.api.as_ref()?;
        let token = self.secrets.open_connector_secret(
            connector.merchant_id,
            &api_seal_label(&connector.platform),
            &api.token_seal,
        )?;
        Some(Access { base: api.url.trim_end_matches('/').to_owned(), username: api.username.clone(), token })
    }
}

/// The label the API token is sealed under, apart from the webhook secret's.
pub(crate) fn api_seal_label(platform: &str) -> String {
    format!("{platform}:api")
}

/// A connector as one pass found it.
enum Opened {
    Gone,
    NoAccess,
    Ready(Access),
}

struct Access {
    base: String,
    username: Option<String>,
    token: String,
}

fn json_request(method: &'static str, url: String, mut headers: Vec<(String, String)>, body: Value) -> OutboundRequest {
    headers.push(("content-type".into(), "application/json".into()));
    OutboundRequest { method, url, headers, body: Some(body.to_string()) }
}

/// The call, and its answer's JSON if the shop accepted it (2xx); otherwise why not.
async fn accepted(calls: &dyn OutboundCalls, request: OutboundRequest) -> Result<Value, String> {
    let what = format!("{} {}", request.method, request.url);
    let answer = calls.call(request).await.map_err(|e| format!("{what}: {e}"))?;
    if !(200..300).contains(&answer.status) {
        let body: String = answer.body.chars().take(200).collect();
        return Err(format!("{what}: {} {body}", answer.status));
    }
    Ok(serde_json::from_str(&answer.body).unwrap_or(Value::Null))
}

fn numbers(parcels: &[Parcel]) -> String {
    parcels.iter().map(|p| p.number.as_str()).collect::<Vec<_>>().join(", ")
}

/// What the customer reads in the shop, in their language.
fn note(step: Stage, context: &StepContext<'_>) -> String {
    // The parcels carry the customer's language as the order was made with it.
    let language = context.parcels.first().map_or(context.order.customer.language, |p| p.recipient.language);
    let french = language == Language::Fr;
    let (name, address) = match context.point {
        Some(p) => (
            format!("{} ({})", p.name, p.external_id),
            format!("{}, {} {}", p.address.line1, p.address.postcode, p.address.city),
        ),
        None => (String::new(), String::new()),
    };
    let deadline = context
        .parcels
        .iter()
        .filter_map(|p| p.pickup_deadline)
        .min()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let numbers = numbers(context.parcels);
    match (step, french) {
        (Stage::Shipped, true) => format!("Colis {numbers} en route vers le point relais {name}, {address}."),
        (Stage::Shipped, false) => format!("Parcel {numbers} is on its way to the pickup point {name}, {address}."),
        (Stage::Ready, true) => {
            format!("Votre colis vous attend au point relais {name}, {address}, jusqu'au {deadline}.")
        }
        (Stage::Ready, false) => {
            format!("Your parcel is waiting at the pickup point {name}, {address}, until {deadline}.")
        }
        (_, true) => format!("Colis {numbers} retiré au point relais {name}."),
        (_, false) => format!("Parcel {numbers} collected at the pickup point {name}."),
    }
}

/// Shopify (Admin REST API): shipped creates a fulfillment of the order's open fulfillment orders with
/// the first parcel's number; ready and delivered are its events `ready_for_pickup` and `delivered`.
async fn shopify_step(
    calls: &dyn OutboundCalls,
    access: &Access,
    step: Stage,
    context: &StepContext<'_>,
) -> Result<Option<String>, String> {
    let api = format!("{}/admin/api/{SHOPIFY_API_VERSION}", access.base);
    let headers = vec![("x-shopify-access-token".to_owned(), access.token.clone())];
    let order_id = context.shop_order_id;
    match step {
        Stage::Shipped => {
            let list = OutboundRequest {
                method: "GET",
                url: format!("{api}/orders/{order_id}/fulfillment_orders.json"),
                headers: headers.clone(),
                body: None,
            };
            let list = accepted(calls, list).await?;
            let open: Vec<Value> = list["fulfillment_orders"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| matches!(f["status"].as_str(), Some("open" | "in_progress")))
                .map(|f| json!({"fulfillment_order_id": f["id"]}))
                .collect();
            if open.is_empty() {
                return Err(format!("order {order_id} has no open fulfillment order to fulfil"));
            }
            let number = context.parcels.first().map(|p| p.number.to_string()).unwrap_or_default();
            let body = json!({"fulfillment": {
                "line_items_by_fulfillment_order": open,
                "tracking_info": {"number": number, "company": "relais"},
                "notify_customer": false,
                "message": note(Stage::Shipped, context),
            }});
            let made = accepted(calls, json_request("POST", format!("{api}/fulfillments.json"), headers, body)).await?;
            match &made["fulfillment"]["id"] {
                Value::Number(id) => Ok(Some(id.to_string())),
                _ => Err("Shopify answered without the fulfillment's id".into()),
            }
        }
        Stage::Ready | Stage::Delivered => {
            let Some(fulfillment) = context.shop_ref else {
                return Err("no Shopify fulfillment recorded for this order".into());
            };
            let status = if step == Stage::Ready { "ready_for_pickup" } else { "delivered" };
            let body = json!({"event": {"status": status, "message": note(step, context)}});
            let url = format!("{api}/orders/{order_id}/fulfillments/{fulfillment}/events.json");
            accepted(calls, json_request("POST", url, headers, body)).await?;
            Ok(None)
        }
        Stage::None => Ok(None),
    }
}

/// WooCommerce (REST API v3, the consumer key and secret as HTTP Basic): a note to the customer at each
/// step; delivered also sets the order `completed`.
async fn woocommerce_step(
    calls: &dyn OutboundCalls,
    access: &Access,
    step: Stage,
    context: &StepContext<'_>,
) -> Result<Option<String>, String> {
    let user = access.username.clone().unwrap_or_default();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", access.token));
    let headers = vec![("authorization".to_owned(), format!("Basic {basic}"))];
    let order = format!("{}/wp-json/wc/v3/orders/{}", access.base, context.shop_order_id);
    let body = json!({"note": note(step, context), "customer_note": true});
    accepted(calls, json_request("POST", format!("{order}/notes"), headers.clone(), body)).await?;
    if step == Stage::Delivered {
        // WordPress routes take POST for an update (its EDITABLE methods).
        accepted(calls, json_request("POST", order, headers, json!({"status": "completed"}))).await?;
    }
    Ok(None)
}

/// Magento 2 (REST, the integration's access token): shipped creates the shipment with a track per
/// parcel (`POST /V1/order/{id}/ship`, answering the shipment's id); ready and delivered are comments on
/// the order the customer sees.
async fn magento_step(
    calls: &dyn OutboundCalls,
    access: &Access,
    step: Stage,
    context: &StepContext<'_>,
) -> Result<Option<String>, String> {
    let headers = vec![("authorization".to_owned(), format!("Bearer {}", access.token))];
    let id = context.shop_order_id;
    match step {
        Stage::Shipped => {
            let tracks: Vec<Value> = context
                .parcels
                .iter()
                .map(|p| json!({"track_number": p.number.as_str(), "title": "relais", "carrier_code": "custom"}))
                .collect();
            let body = json!({
                "notify": true,
                "appendComment": true,
                "comment": {"comment": note(step, context), "is_visible_on_front": 1},
                "tracks": tracks,
            });
            let url = format!("{}/rest/V1/order/{id}/ship", access.base);
            let shipment = accepted(calls, json_request("POST", url, headers, body)).await?;
            Ok(match shipment {
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) => Some(s),
                _ => None,
            })
        }
        Stage::Ready | Stage::Delivered => {
            let body = json!({"statusHistory": {
                "comment": note(step, context),
                "is_customer_notified": 1,
                "is_visible_on_front": 1,
            }});
            let url = format!("{}/rest/V1/orders/{id}/comments", access.base);
            accepted(calls, json_request("POST", url, headers, body)).await?;
            Ok(None)
        }
        Stage::None => Ok(None),
    }
}

/// When an order first gets its row: written from `none`, due now.
pub(crate) fn new_shop_order(order: &Order, platform: &str, shop_order_id: &str, now: Timestamp) -> ShopWriteBack {
    ShopWriteBack {
        order_id: order.id,
        merchant_id: order.merchant_id,
        platform: platform.to_owned(),
        shop_order_id: shop_order_id.to_owned(),
        stage: Stage::None.as_str().to_owned(),
        shop_ref: None,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        updated_at: now,
    }
}

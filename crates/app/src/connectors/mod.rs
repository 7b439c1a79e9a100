//! Shop platforms' order webhooks turned into relais orders (docs/connectors.md): Shopify's
//! `orders/create`, WooCommerce's `order.created` and Magento 2's order entity (posted by relais'
//! Magento module), their signature checked with the shop's webhook
//! secret (kept sealed, ADR 14's seal), the point the customer chose read where the checkout put it,
//! and the order created as `POST /v1/orders` does, once: a webhook delivered twice (platforms retry)
//! answers the order already made. With the shop's API access, the order's fulfilment is then written
//! back to the shop as its parcels move (`write_back.rs`).

pub mod magento;
pub mod shopify;
pub mod woocommerce;
pub mod write_back;

use relais_domain::ids::{MerchantId, PointId};
use relais_domain::value::ParseError;

use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::error::AppError;
use crate::orders::{NewLine, NewOrder, NewOrderParcel, OrderView};
use crate::ports::{OrderWrite, StoredConnector, Write};

/// A shop platform relais takes orders from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Shopify,
    WooCommerce,
    Magento,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::WooCommerce => "woocommerce",
            Platform::Magento => "magento",
        }
    }

    /// The request header that carries the platform's signature of its webhook's body (relais' Magento
    /// module signs as Shopify does, under its own header).
    pub fn signature_header(self) -> &'static str {
        match self {
            Platform::Shopify => "x-shopify-hmac-sha256",
            Platform::WooCommerce => "x-wc-webhook-signature",
            Platform::Magento => "x-relais-hmac-sha256",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        [Platform::Shopify, Platform::WooCommerce, Platform::Magento].into_iter().find(|p| p.as_str() == s)
    }
}

/// A merchant's connector to its shop: the webhook secret and the parcel an order makes when the
/// shop says nothing of its size.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    pub secret: String,
    pub length_mm: i64,
    pub width_mm: i64,
    pub height_mm: i64,
    /// When the shop gives no weight (WooCommerce's orders do not).
    pub weight_g: i64,
    /// The shop's API, to write fulfilments back; none: relais writes nothing to the shop.
    pub api: Option<ShopApiSettings>,
}

/// Where and as whom relais calls the shop's API.
#[derive(Clone, Default)]
pub struct ShopApiSettings {
    /// The shop's base URL: `https://{shop}.myshopify.com`, the WordPress site, Magento's base URL.
    pub url: String,
    /// WooCommerce's consumer key (the token is its consumer secret); none for the others.
    pub username: Option<String>,
    /// Shopify's Admin API access token, WooCommerce's consumer secret, Magento's integration access
    /// token. Sealed once received, never shown again.
    pub token: String,
}

/// Never shows the token.
impl std::fmt::Debug for ShopApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShopApiSettings({})", self.url)
    }
}

/// An order as a shop platform describes it, read from its webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopOrder {
    /// The shop's order name or number (`#1001`, `727`).
    pub reference: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    /// E.164 only: a number the shop wrote otherwise is left out (the e-mail reaches the customer).
    pub customer_phone: Option<String>,
    /// Where the checkout put the chosen point; none: not a pickup-point order.
    pub point_id: Option<PointId>,
    pub currency: String,
    pub shipping_cents: i64,
    pub lines: Vec<NewLine>,
    /// The parcel's weight, when the shop gives its items' weights.
    pub weight_g: Option<i64>,
    /// The shop's own id of the order, to write its fulfilment back.
    pub shop_order_id: Option<String>,
}

/// The most bytes of a shop's webhook read.
pub const BODY_BYTES_MAX: usize = 512 * 1024;

impl App {
    /// Sets a merchant's connector to its shop (a merchant its own, an operator any).
    pub async fn set_connector(
        &self,
        caller: &Caller,
        merchant_id: MerchantId,
        platform: Platform,
        settings: ConnectorSettings,
    ) -> Result<(), AppError> {
        match caller.role {
            Role::Merchant if caller.merchant_id != Some(merchant_id) => {
                return Err(AppError::not_found("merchant", merchant_id));
            }
            Role::Merchant => {}
            _ => caller.require(Permission::ManageNetwork)?,
        }
        self.store.merchant(merchant_id).await?.ok_or_else(|| AppError::not_found("merchant", merchant_id))?;
        let secret = settings.secret.trim();
        if secret.len() < 16 || secret.len() > 256 {
            return Err(ParseError::new("secret", "a webhook secret is 16 to 256 characters").into());
        }
        relais_domain::value::Dimensions::from_mm(settings.length_mm, settings.width_mm, settings.height_mm)?;
        relais_domain::value::Weight::from_grams(settings.weight_g)?;
        let secret_seal =
            self.secrets.seal_connector_secret(merchant_id, platform.as_str(), secret, self.random.as_ref());
        let api = match settings.api {
            Some(api) => {
                let url = crate::notify::endpoints::check_url(&api.url, self.limits.webhooks)
                    .map_err(|_| ParseError::new("api.url", "must be the shop's https:// address"))?;
                let token = api.token.trim();
                if token.len() < 8 || token.len() > 512 {
                    return Err(ParseError::new("api.token", "an API token is 8 to 512 characters").into());
                }
                let username = api.username.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
                if platform == Platform::WooCommerce && username.is_none() {
                    return Err(ParseError::new("api.username", "WooCommerce needs the consumer key").into());
                }
                let label = write_back::api_seal_label(platform.as_str());
                let token_seal = self.secrets.seal_connector_secret(merchant_id, &label, token, self.random.as_ref());
                Some(crate::ports::ShopApiAccess { url, username, token_seal })
            }
            None => None,
        };
        let connector = StoredConnector {
            merchant_id,
            platform: platform.as_str().to_owned(),
            secret_seal,
            length_mm: settings.length_mm,
            width_mm: settings.width_mm,
            height_mm: settings.height_mm,
            weight_g: settings.weight_g,
            updated_at: self.now(),
            api,
        };
        self.insert(Write::Orders(OrderWrite::PutConnector(connector))).await
    }

    /// A shop's order webhook: checked against the merchant's secret (`signature`: the platform's
    /// header), read, and made an order once (a second delivery answers the order already made).
    pub async fn receive_shop_order(
        &self,
        platform: Platform,
        merchant_id: MerchantId,
        signature: &str,
        body: &[u8],
    ) -> Result<OrderView, AppError> {
        let connector = self.store.connector(merchant_id, platform.as_str()).await?.ok_or_else(|| {
            AppError::not_found("connector", format!("{} of merchant {merchant_id}", platform.as_str()))
        })?;
        let secret = self
            .secrets
            .open_connector_secret(merchant_id, platform.as_str(), &connector.secret_seal)
            .ok_or(AppError::InvalidSignature)?;
        if body.len() > BODY_BYTES_MAX
            || !relais_messages::shops::verify_shop_signature(secret.as_bytes(), body, signature)
        {
            return Err(AppError::InvalidSignature);
        }
        let json: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ParseError::new("body", format!("is not JSON: {e}")))?;
        let order = match platform {
            Platform::Shopify => shopify::order(&json)?,
            Platform::WooCommerce => woocommerce::order(&json)?,
            Platform::Magento => magento::order(&json)?,
        };
        let caller = Caller::merchant(merchant_id);
        // Delivered again (the platform retries until it gets a 2xx): the order already made.
        if let Ok(existing) = self.order_by_reference(&caller, None, &order.reference).await {
            return Ok(OrderView { replayed: true, ..existing });
        }
        let point_id = order.point_id.ok_or_else(|| {
            ParseError::new(
                "point",
                "the order names no relais point (see docs/connectors.md for where the checkout puts it)",
            )
        })?;
        let input = NewOrder {
            merchant_id: None,
            reference: order.reference,
            idempotency_key: None,
            customer_name: order.customer_name,
            customer_phone: order.customer_phone,
            customer_email: order.customer_email,
            customer_language: None,
            point_id,
            carrier_id: None,
            service_level: None,
            shipping_price_cents: order.shipping_cents,
            currency: order.currency,
            lines: order.lines,
            parcels: vec![NewOrderParcel {
                parcel_number: None,
                length_mm: connector.length_mm,
                width_mm: connector.width_mm,
                height_mm: connector.height_mm,
                weight_g: order.weight_g.filter(|w| *w > 0).unwrap_or(connector.weight_g),
            }],
            fallback: None,
            expected_arrival: None,
            shop: order.shop_order_id.map(|id| (platform.as_str().to_owned(), id)),
        };
        self.create_order(&caller, input).await
    }
}

/// An amount the platforms write as a decimal string (`"199.00"`, `"3"`) in cents, without floats.
pub fn decimal_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 12 {
        return None;
    }
    if fraction.len() > 2 && !fraction[2..].bytes().all(|b| b == b'0') || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents: i64 = format!("{:0<2}", &fraction[..fraction.len().min(2)]).parse().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// A number as the platforms write it: JSON number or string.
pub(crate) fn amount(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::String(s) => decimal_cents(s),
        serde_json::Value::Number(n) => decimal_cents(&n.to_string()),
        _ => None,
    }
}

/// A phone number kept only if it is E.164.
pub(crate) fn e164(phone: Option<&str>) -> Option<String> {
    phone.map(|p| p.split_whitespace().collect::<String>()).filter(|p| relais_domain::value::Phone::parse(p).is_ok())
}

/// A point id as the checkout wrote it: the bare id, or `relais:<id>`.
pub(crate) fn point_id(text: &str) -> Option<PointId> {
    text.trim().trim_start_matches("relais:").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_amounts_become_cents_exactly() {
        let cases = [
            ("199.00", Some(19_900)),
            ("0.00", Some(0)),
            ("3", Some(300)),
            ("10.5", Some(1_050)),
            ("0.1", Some(10)),
            ("12.340", Some(1_234)),
            ("12.345", None),
            ("-1.00", None),
            ("1e3", None),
            ("", None),
            (".50", None),
        ];
        for (text, expected) in cases {
            assert_eq!(decimal_cents(text), expected, "{text:?}");
        }
        assert_eq!(e164(Some("555-625-1199")), None);
        assert_eq!(e164(Some("+33 6 12 34 56 78")).as_deref(), Some("+33612345678"));
    }
}

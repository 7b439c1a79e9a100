//! A merchant's order: its customer, the point they chose, its lines and shipping price (integer cents),
//! and where its parcels went. When the chosen point cannot take them, the merchant's fallback decides:
//! the nearest suitable point of the same network, of any network, home delivery (relais hands the
//! order back), or hold for a decision. The reason is kept with the order.

use crate::Timestamp;
use crate::ids::{MerchantId, OrderId, PointId};
use crate::parcel::Recipient;
use crate::value::{ParseError, parse_text};

/// What to do when the chosen point cannot take the order's parcels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    /// The nearest point of the chosen one's network that can (the default).
    #[default]
    NearestSameNetwork,
    /// The nearest point of any network that can.
    OtherNetwork,
    /// None: the merchant ships to the customer's home.
    HomeDelivery,
    /// None yet: the order waits for the merchant's decision.
    Hold,
}

impl Fallback {
    pub const ALL: [Fallback; 4] =
        [Fallback::NearestSameNetwork, Fallback::OtherNetwork, Fallback::HomeDelivery, Fallback::Hold];

    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::NearestSameNetwork => "nearest_same_network",
            Fallback::OtherNetwork => "other_network",
            Fallback::HomeDelivery => "home_delivery",
            Fallback::Hold => "hold",
        }
    }

    pub fn parse(s: &str) -> Result<Fallback, ParseError> {
        Fallback::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| ParseError::new("fallback", "is nearest_same_network, other_network, home_delivery or hold"))
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Its parcels are announced to its point (the chosen one, or its fallback).
    Announced,
    /// The chosen point could not take it and the merchant's fallback is to wait for its decision.
    OnHold,
    /// The chosen point could not take it and the merchant ships it home.
    HomeDelivery,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Announced => "announced",
            OrderState::OnHold => "on_hold",
            OrderState::HomeDelivery => "home_delivery",
        }
    }

    pub fn parse(s: &str) -> Option<OrderState> {
        [OrderState::Announced, OrderState::OnHold, OrderState::HomeDelivery].into_iter().find(|o| o.as_str() == s)
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
}

impl OrderLine {
    pub const TEXT_LENGTH_MAX: usize = 200;
    pub const QUANTITY_MAX: u32 = 100_000;

    pub fn new(sku: &str, name: &str, quantity: i64, unit_price_cents: i64) -> Result<OrderLine, ParseError> {
        Ok(OrderLine {
            sku: parse_text("lines.sku", sku, 64)?,
            name: parse_text("lines.name", name, Self::TEXT_LENGTH_MAX)?,
            quantity: u32::try_from(quantity)
                .ok()
                .filter(|q| (1..=Self::QUANTITY_MAX).contains(q))
                .ok_or_else(|| ParseError::new("lines.quantity", "is 1 to 100000"))?,
            unit_price_cents: cents("lines.unit_price_cents", unit_price_cents)?,
        })
    }
}

/// An amount in cents: 0 to 100 million euros' worth, never negative.
pub fn cents(field: &'static str, amount: i64) -> Result<i64, ParseError> {
    if (0..=10_000_000_000).contains(&amount) {
        Ok(amount)
    } else {
        Err(ParseError::new(field, "is a whole number of cents from 0 to 10000000000"))
    }
}

/// An ISO 4217 currency code, three capital letters.
pub fn currency(code: &str) -> Result<String, ParseError> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(ParseError::new("shipping_price.currency", "is an ISO 4217 code such as EUR"))
    }
}

/// A merchant's order reference: 1 to 64 letters, digits and `-_./#`.
pub fn reference(text: &str) -> Result<String, ParseError> {
    let text = text.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./#".contains(c);
    if text.is_empty() || text.len() > 64 || !text.chars().all(allowed) {
        return Err(ParseError::new("reference", "is 1 to 64 letters, digits and - _ . / #"));
    }
    Ok(text.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub merchant_id: MerchantId,
    pub reference: String,
    pub idempotency_key: Option<String>,
    /// A digest of the request, so that a key sent again with another order is caught.
    pub request_digest: String,
    pub customer: Recipient,
    pub chosen_point_id: PointId,
    /// Where the parcels went: the chosen point or its fallback; none on hold or home delivery.
    pub point_id: Option<PointId>,
    pub service_level: String,
    pub shipping_price_cents: i64,
    pub currency: String,
    pub lines: Vec<OrderLine>,
    pub fallback: Fallback,
    pub state: OrderState,
    /// Why the chosen point was not used, when it was not.
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Order {
    /// Where the order goes when the chosen point could not take it: the fallback point if one was
    /// found (`Announced` there), or the state the merchant's fallback leaves it in.
    pub fn settle(fallback: Fallback, alternative: Option<PointId>) -> (OrderState, Option<PointId>) {
        match (fallback, alternative) {
            (Fallback::NearestSameNetwork | Fallback::OtherNetwork, Some(point)) => {
                (OrderState::Announced, Some(point))
            }
            (Fallback::HomeDelivery, _) => (OrderState::HomeDelivery, None),
            // No point suits: wait for the merchant rather than guess.
            (Fallback::NearestSameNetwork | Fallback::OtherNetwork | Fallback::Hold, _) => (OrderState::OnHold, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id;

    #[test]
    fn a_refused_point_goes_where_the_fallback_says() {
        let elsewhere: PointId = Id::from_parts(1, [9; 10]);
        let cases = [
            (Fallback::NearestSameNetwork, Some(elsewhere), (OrderState::Announced, Some(elsewhere))),
            (Fallback::OtherNetwork, Some(elsewhere), (OrderState::Announced, Some(elsewhere))),
            (Fallback::NearestSameNetwork, None, (OrderState::OnHold, None)),
            (Fallback::OtherNetwork, None, (OrderState::OnHold, None)),
            (Fallback::HomeDelivery, Some(elsewhere), (OrderState::HomeDelivery, None)),
            (Fallback::Hold, Some(elsewhere), (OrderState::OnHold, None)),
        ];
        for (fallback, alternative, expected) in cases {
            assert_eq!(Order::settle(fallback, alternative), expected, "{fallback:?}");
        }
    }

    #[test]
    fn order_fields_are_checked() {
        assert!(OrderLine::new("SKU-1", "Lampe", 2, 1999).is_ok());
        assert_eq!(OrderLine::new("SKU-1", "Lampe", 0, 1999).unwrap_err().field, "lines.quantity");
        assert_eq!(OrderLine::new("SKU-1", "Lampe", 1, -1).unwrap_err().field, "lines.unit_price_cents");
        assert_eq!(OrderLine::new("", "Lampe", 1, 1).unwrap_err().field, "lines.sku");
        assert_eq!(currency("eur").unwrap(), "EUR");
        assert!(currency("EURO").is_err() && currency("E1R").is_err());
        assert_eq!(reference(" CMD-2026/0001 ").unwrap(), "CMD-2026/0001");
        for bad in ["", "a b", &"x".repeat(65), "<script>"] {
            assert!(reference(bad).is_err(), "{bad:?}");
        }
        for fallback in Fallback::ALL {
            assert_eq!(Fallback::parse(fallback.as_str()), Ok(fallback));
        }
        assert!(Fallback::parse("nearest").is_err());
    }
}

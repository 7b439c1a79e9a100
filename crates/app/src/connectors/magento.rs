//! A Magento 2 order read as a relais order. The body is the order entity as Magento's REST API gives it
//! (`GET /V1/orders/{id}`, schema `sales-data-order-interface`): relais' Magento module posts it when an
//! order is placed, signed as Shopify signs (docs/connectors.md). The chosen point is the order's
//! extension attribute `relais_point_id`, or the shipping method `relais_<point id>` of its shipping
//! assignment. Configurable products appear twice (the parent and its child with `parent_item_id`):
//! only parents and plain products are lines. Magento keeps amounts with four decimals: they are
//! rounded to the cent, half up, from their decimal text (never through a float sum).

use relais_domain::value::ParseError;
use serde_json::Value;

use super::{ShopOrder, e164, point_id};
use crate::orders::NewLine;

pub fn order(order: &Value) -> Result<ShopOrder, ParseError> {
    let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let reference = text(&order["increment_id"])
        .ok_or_else(|| ParseError::new("increment_id", "a Magento order has an increment_id"))?;
    let shipping = &order["extension_attributes"]["shipping_assignments"][0]["shipping"];
    let point = text(&order["extension_attributes"]["relais_point_id"])
        .or_else(|| text(&shipping["method"]).and_then(|m| m.strip_prefix("relais_").map(str::to_owned)))
        .and_then(|p| point_id(&p));
    let name = |address: &Value| {
        let first = text(&address["firstname"]).unwrap_or_default();
        let last = text(&address["lastname"]).unwrap_or_default();
        Some(format!("{first} {last}").trim().to_owned()).filter(|n| !n.is_empty())
    };
    let customer_name = name(&shipping["address"])
        .or_else(|| name(&order["billing_address"]))
        .or_else(|| {
            let customer =
                serde_json::json!({"firstname": order["customer_firstname"], "lastname": order["customer_lastname"]});
            name(&customer)
        })
        .ok_or_else(|| ParseError::new("customer_firstname", "the order has no customer name"))?;
    let currency = text(&order["order_currency_code"])
        .or_else(|| text(&order["base_currency_code"]))
        .ok_or_else(|| ParseError::new("order_currency_code", "is missing"))?;
    let shipping_cents = rounded_cents(&order["shipping_amount"])
        .ok_or_else(|| ParseError::new("shipping_amount", "is not an amount"))?;
    let mut lines = Vec::new();
    for item in order["items"].as_array().into_iter().flatten() {
        // A configurable product's child repeats its parent (which carries the price).
        if !item["parent_item_id"].is_null() {
            continue;
        }
        let quantity = whole(&item["qty_ordered"])
            .ok_or_else(|| ParseError::new("items.qty_ordered", "is not a whole quantity"))?;
        lines.push(NewLine {
            sku: text(&item["sku"]).unwrap_or_else(|| item["product_id"].to_string()),
            name: text(&item["name"]).unwrap_or_default(),
            quantity,
            unit_price_cents: rounded_cents(&item["price"])
                .ok_or_else(|| ParseError::new("items.price", "is not an amount"))?,
        });
    }
    let phone = |address: &Value| e164(address["telephone"].as_str());
    Ok(ShopOrder {
        reference,
        customer_name,
        customer_email: text(&order["customer_email"]).or_else(|| text(&order["billing_address"]["email"])),
        customer_phone: phone(&shipping["address"]).or_else(|| phone(&order["billing_address"])),
        point_id: point,
        currency,
        shipping_cents,
        lines,
        // The order's `weight` is in the store's unit (pounds or kilograms), which the order does not
        // say: the connector's default parcel weighs what it says.
        shop_order_id: order["entity_id"].as_u64().map(|id| id.to_string()),
        weight_g: None,
    })
}

/// An amount Magento writes as a JSON number or string with up to four decimals (`4.9`, `11.1667`), in
/// cents rounded half up.
fn rounded_cents(value: &Value) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > 6 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{fraction:0<3}");
    let cents: i64 = padded[..2].parse().ok()?;
    let half_up = i64::from(padded.as_bytes()[2] >= b'5');
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents + half_up)
}

/// A quantity Magento writes as a number (`3`, `3.0000`): whole, or none.
fn whole(value: &Value) -> Option<i64> {
    let cents = rounded_cents(value)?;
    (cents % 100 == 0).then_some(cents / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_decimal_amounts_round_to_the_cent_and_quantities_are_whole() {
        for (value, cents) in [
            (serde_json::json!(4.9), Some(490)),
            (serde_json::json!("11.1667"), Some(1117)),
            (serde_json::json!(11.1649), Some(1116)),
            (serde_json::json!(0), Some(0)),
            (serde_json::json!("-1"), None),
            (serde_json::json!("1e3"), None),
            (serde_json::json!(null), None),
        ] {
            assert_eq!(rounded_cents(&value), cents, "{value}");
        }
        assert_eq!(whole(&serde_json::json!("3.0000")), Some(3));
        assert_eq!(whole(&serde_json::json!(1.5)), None);
    }

    #[test]
    fn the_point_is_the_extension_attribute_or_the_shipping_method() {
        let id = "0193f6d2-8a31-7c00-9d41-5be2a7c1e0f4";
        let mut order = serde_json::json!({
            "increment_id": "000000041", "order_currency_code": "EUR", "shipping_amount": 4.9,
            "customer_firstname": "Camille", "customer_lastname": "Martin",
            "items": [],
            "extension_attributes": {"shipping_assignments": [{"shipping": {"method": format!("relais_{id}")}}]}
        });
        let read = super::order(&order).unwrap();
        assert_eq!(read.point_id.map(|p| p.to_string()).as_deref(), Some(id));
        assert_eq!(read.customer_name, "Camille Martin");
        order["extension_attributes"]["shipping_assignments"][0]["shipping"]["method"] = "flatrate_flatrate".into();
        assert_eq!(super::order(&order).unwrap().point_id, None);
        order["increment_id"] = Value::Null;
        assert_eq!(super::order(&order).unwrap_err().field, "increment_id");
    }
}

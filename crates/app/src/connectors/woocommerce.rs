//! A WooCommerce order (the `order.created` webhook's body, the REST API v3's order resource) read as a
//! relais order. The chosen point is where relais' checkout plugin puts it: the order's meta data
//! `_relais_point_id`, or its shipping line's meta data `relais_point_id`. The customer is the shipping
//! name with the billing e-mail and phone; WooCommerce's orders carry no weight (the connector's default
//! parcel is used).

use relais_domain::value::ParseError;
use serde_json::Value;

use super::{ShopOrder, amount, e164, point_id};
use crate::orders::NewLine;

pub fn order(order: &Value) -> Result<ShopOrder, ParseError> {
    let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let reference = text(&order["number"])
        .or_else(|| order["id"].as_u64().map(|n| n.to_string()))
        .ok_or_else(|| ParseError::new("number", "a WooCommerce order has a number"))?;
    let meta = |list: &Value, key: &str| {
        list.as_array()
            .into_iter()
            .flatten()
            .find(|m| m["key"].as_str() == Some(key))
            .and_then(|m| m["value"].as_str().map(str::to_owned))
    };
    let shipping_lines = order["shipping_lines"].as_array().cloned().unwrap_or_default();
    let point = meta(&order["meta_data"], "_relais_point_id")
        .or_else(|| shipping_lines.iter().find_map(|l| meta(&l["meta_data"], "relais_point_id")))
        .and_then(|p| point_id(&p));
    let name = |address: &Value| {
        let first = text(&address["first_name"]).unwrap_or_default();
        let last = text(&address["last_name"]).unwrap_or_default();
        Some(format!("{first} {last}").trim().to_owned()).filter(|n| !n.is_empty())
    };
    let customer_name = name(&order["shipping"])
        .or_else(|| name(&order["billing"]))
        .ok_or_else(|| ParseError::new("shipping.first_name", "the order has no customer name"))?;
    let currency = text(&order["currency"]).ok_or_else(|| ParseError::new("currency", "is missing"))?;
    let shipping_cents =
        amount(&order["shipping_total"]).ok_or_else(|| ParseError::new("shipping_total", "is not an amount"))?;
    let mut lines = Vec::new();
    for item in order["line_items"].as_array().into_iter().flatten() {
        let quantity = item["quantity"].as_i64().unwrap_or(0);
        // `subtotal` is the line's amount before discounts, written as a decimal string: exact cents.
        let subtotal =
            amount(&item["subtotal"]).ok_or_else(|| ParseError::new("line_items.subtotal", "is not an amount"))?;
        lines.push(NewLine {
            sku: text(&item["sku"]).unwrap_or_else(|| item["product_id"].to_string()),
            name: text(&item["name"]).unwrap_or_default(),
            quantity,
            unit_price_cents: if quantity > 0 { subtotal / quantity } else { subtotal },
        });
    }
    Ok(ShopOrder {
        reference,
        customer_name,
        customer_email: text(&order["billing"]["email"]),
        customer_phone: e164(order["shipping"]["phone"].as_str()).or_else(|| e164(order["billing"]["phone"].as_str())),
        point_id: point,
        currency,
        shipping_cents,
        lines,
        shop_order_id: order["id"].as_u64().map(|id| id.to_string()),
        weight_g: None,
    })
}

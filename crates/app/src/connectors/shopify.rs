//! A Shopify order (the `orders/create` webhook's body, the Admin REST API's order resource) read as a
//! relais order. The chosen point is where relais' checkout widget puts it: a cart attribute
//! `relais_point_id` (the order's `note_attributes`), or a shipping line whose `code` is
//! `relais:<point id>` (a carrier-calculated rate). The customer is the shipping address's name with
//! the order's e-mail; the parcel weighs its shipped items' `grams`.

use relais_domain::value::ParseError;
use serde_json::Value;

use super::{ShopOrder, amount, e164, point_id};
use crate::orders::NewLine;

pub fn order(json: &Value) -> Result<ShopOrder, ParseError> {
    // The webhook sends the order itself; the REST API wraps it in `order`.
    let order = json.get("order").unwrap_or(json);
    let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let reference = text(&order["name"])
        .or_else(|| order["order_number"].as_u64().map(|n| n.to_string()))
        .ok_or_else(|| ParseError::new("name", "a Shopify order has a name (#1001)"))?;
    let attribute = order["note_attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"].as_str() == Some("relais_point_id"))
        .and_then(|a| a["value"].as_str())
        .and_then(point_id);
    let shipping_lines = order["shipping_lines"].as_array().cloned().unwrap_or_default();
    let from_rate = shipping_lines
        .iter()
        .filter_map(|l| l["code"].as_str())
        .filter(|c| c.starts_with("relais:"))
        .find_map(point_id);
    let address = &order["shipping_address"];
    let customer_name = text(&address["name"])
        .or_else(|| {
            let first = text(&address["first_name"]).unwrap_or_default();
            let last = text(&address["last_name"]).unwrap_or_default();
            Some(format!("{first} {last}").trim().to_owned()).filter(|n| !n.is_empty())
        })
        .or_else(|| text(&order["customer"]["first_name"]))
        .ok_or_else(|| ParseError::new("shipping_address.name", "the order has no customer name"))?;
    let customer_email = text(&order["email"]).or_else(|| text(&order["customer"]["email"]));
    let customer_phone = e164(address["phone"].as_str()).or_else(|| e164(order["phone"].as_str()));
    let currency = text(&order["currency"]).ok_or_else(|| ParseError::new("currency", "is missing"))?;
    let mut shipping_cents = 0;
    for line in &shipping_lines {
        shipping_cents +=
            amount(&line["price"]).ok_or_else(|| ParseError::new("shipping_lines.price", "is not an amount"))?;
    }
    let mut lines = Vec::new();
    let mut grams = 0;
    for item in order["line_items"].as_array().into_iter().flatten() {
        let quantity = item["quantity"].as_i64().unwrap_or(0);
        lines.push(NewLine {
            sku: text(&item["sku"]).unwrap_or_else(|| item["variant_id"].to_string()),
            name: text(&item["name"]).or_else(|| text(&item["title"])).unwrap_or_default(),
            quantity,
            unit_price_cents: amount(&item["price"])
                .ok_or_else(|| ParseError::new("line_items.price", "is not an amount"))?,
        });
        if item["requires_shipping"].as_bool() != Some(false) {
            grams += item["grams"].as_i64().unwrap_or(0) * quantity;
        }
    }
    Ok(ShopOrder {
        reference,
        customer_name,
        customer_email,
        customer_phone,
        point_id: attribute.or(from_rate),
        currency,
        shipping_cents,
        lines,
        shop_order_id: order["id"].as_u64().map(|id| id.to_string()),
        weight_g: (grams > 0).then_some(grams),
    })
}

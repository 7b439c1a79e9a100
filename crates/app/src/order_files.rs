//! Orders in bulk (docs/orders.md): a CSV or JSON Lines file of a merchant's orders, from the API
//! (`POST /v1/orders/import`) or `relais import orders`. The whole file is read and checked first, every
//! line reported; a file with a bad line creates nothing. Then each order is created as `POST
//! /v1/orders` creates it, with the idempotency key `import:<reference>`: a file sent again answers the
//! orders it made, and creates nothing twice.

use std::collections::HashMap;

use relais_domain::ids::{MerchantId, PointId};
use relais_domain::order::{Fallback, OrderLine, cents, currency, reference};
use relais_domain::value::{Dimensions, Email, Language, ParcelNumber, ParseError, Phone, Weight, parse_text};
use serde_json::Value;

use crate::App;
use crate::auth::Caller;
use crate::error::AppError;
use crate::orders::{LINES_MAX, NewLine, NewOrder, NewOrderParcel, PARCELS_MAX};
use crate::parcels::announcing_merchant;

/// The most orders one file carries.
pub const ORDERS_MAX: usize = 10_000;

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFormat {
    /// One row per parcel; rows with the same `reference` are one order's parcels.
    Csv,
    /// One order per line, as `POST /v1/orders` takes it.
    JsonLines,
}

impl OrderFormat {
    pub fn parse(s: &str) -> Result<OrderFormat, ParseError> {
        match s {
            "csv" => Ok(OrderFormat::Csv),
            "jsonl" => Ok(OrderFormat::JsonLines),
            _ => Err(ParseError::new("format", "is csv or jsonl")),
        }
    }
}

/// The CSV file's columns, in any order; the first row names them.
pub const CSV_COLUMNS: [&str; 15] = [
    "reference",
    "customer_name",
    "customer_phone",
    "customer_email",
    "customer_language",
    "point_id",
    "service_level",
    "shipping_price_cents",
    "currency",
    "fallback",
    "parcel_number",
    "length_mm",
    "width_mm",
    "height_mm",
    "weight_g",
];

/// What became of one order of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// Checked, and nothing created (another line is bad).
    Valid,
    Created {
        order_id: String,
        state: &'static str,
    },
    /// Made by an earlier sending of the file.
    Existed {
        order_id: String,
    },
    Refused {
        code: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReport {
    /// The file's line (the first of the order's rows in a CSV file), from 1.
    pub line: usize,
    pub reference: String,
    pub outcome: LineOutcome,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// `true` when a line was bad and nothing was created.
    pub refused: bool,
    pub lines: Vec<LineReport>,
}

impl ImportReport {
    pub fn count(&self, wanted: fn(&LineOutcome) -> bool) -> usize {
        self.lines.iter().filter(|l| wanted(&l.outcome)).count()
    }
}

impl App {
    /// Imports a file of the caller's orders (an operator names the merchant).
    pub async fn import_orders(
        &self,
        caller: &Caller,
        merchant_id: Option<MerchantId>,
        format: OrderFormat,
        bytes: &[u8],
    ) -> Result<ImportReport, AppError> {
        let merchant_id = announcing_merchant(caller, merchant_id)?;
        let text = std::str::from_utf8(bytes).map_err(|_| ParseError::new("file", "is not UTF-8"))?;
        let read = match format {
            OrderFormat::Csv => read_csv(text)?,
            OrderFormat::JsonLines => read_jsonl(text),
        };
        if read.len() > ORDERS_MAX {
            return Err(ParseError::new("file", format!("a file carries at most {ORDERS_MAX} orders")).into());
        }
        // Check every order before creating any.
        let mut report = ImportReport::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (line, order) in &read {
            let outcome = match order {
                Ok(order) => match self.check_order(order).await {
                    Ok(()) => match seen.insert(order.reference.trim().to_owned(), *line) {
                        Some(first) => refused("validation_failed", format!("reference already on line {first}")),
                        None => LineOutcome::Valid,
                    },
                    Err(e) => refused(e.code(), e.to_string()),
                },
                Err(e) => refused("validation_failed", e.to_string()),
            };
            let reference = order.as_ref().map(|o| o.reference.clone()).unwrap_or_default();
            report.lines.push(LineReport { line: *line, reference, outcome });
        }
        if report.lines.iter().any(|l| matches!(l.outcome, LineOutcome::Refused { .. })) {
            report.refused = true;
            return Ok(report);
        }
        for ((_, order), line) in read.into_iter().zip(report.lines.iter_mut()) {
            let Ok(order) = order else { continue };
            let order = NewOrder {
                merchant_id: Some(merchant_id),
                idempotency_key: Some(format!("import:{}", order.reference.trim())),
                ..order
            };
            line.outcome =
                match self.create_order(&Caller { merchant_id: Some(merchant_id), ..caller.clone() }, order).await {
                    Ok(view) if view.replayed => LineOutcome::Existed { order_id: view.order.id.to_string() },
                    Ok(view) => {
                        LineOutcome::Created { order_id: view.order.id.to_string(), state: view.order.state.as_str() }
                    }
                    Err(e) => refused(e.code(), e.to_string()),
                };
        }
        Ok(report)
    }

    /// What `create_order` would refuse before it touches anything: the fields and the point.
    async fn check_order(&self, order: &NewOrder) -> Result<(), AppError> {
        reference(&order.reference)?;
        parse_text("customer.name", &order.customer_name, relais_domain::parcel::Recipient::NAME_LENGTH_MAX)?;
        order.service_level.as_deref().map(|level| parse_text("service_level", level, 32)).transpose()?;
        order.fallback.as_deref().map(Fallback::parse).transpose()?;
        cents("shipping_price.amount_cents", order.shipping_price_cents)?;
        currency(&order.currency)?;
        if order.lines.len() > LINES_MAX {
            return Err(ParseError::new("lines", format!("an order has at most {LINES_MAX} lines")).into());
        }
        for l in &order.lines {
            OrderLine::new(&l.sku, &l.name, l.quantity, l.unit_price_cents)?;
        }
        let phone = order.customer_phone.as_deref().map(Phone::parse).transpose()?;
        let email = order.customer_email.as_deref().map(Email::parse).transpose()?;
        if phone.is_none() && email.is_none() {
            return Err(
                ParseError::new("recipient", "needs a phone or an e-mail to be told where the parcel is").into()
            );
        }
        order.customer_language.as_deref().map(Language::parse).transpose()?;
        if order.parcels.is_empty() || order.parcels.len() > PARCELS_MAX {
            return Err(ParseError::new("parcels", format!("an order ships 1 to {PARCELS_MAX} parcels")).into());
        }
        for p in &order.parcels {
            Dimensions::from_mm(p.length_mm, p.width_mm, p.height_mm)?;
            Weight::from_grams(p.weight_g)?;
            p.parcel_number.as_deref().map(ParcelNumber::parse).transpose()?;
        }
        self.store.point(order.point_id).await?.ok_or_else(|| AppError::not_found("point", order.point_id))?;
        Ok(())
    }
}

/// An order read from a file, with its line, or why it could not be read.
type ReadOrder = (usize, Result<NewOrder, ParseError>);

fn refused(code: &'static str, message: String) -> LineOutcome {
    LineOutcome::Refused { code, message }
}

/// The orders of a JSON Lines file, each with its line (blank lines skipped).
fn read_jsonl(text: &str) -> Vec<ReadOrder> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let order = serde_json::from_str::<Value>(l)
                .map_err(|e| ParseError::new("line", format!("is not JSON: {e}")))
                .and_then(|v| order_of_json(&v));
            (i + 1, order)
        })
        .collect()
}

/// An order as `POST /v1/orders` takes it.
pub fn order_of_json(v: &Value) -> Result<NewOrder, ParseError> {
    let text = |v: &Value, field: &'static str| {
        v.as_str().map(str::to_owned).ok_or_else(|| ParseError::new(field, "is a string"))
    };
    let optional = |v: &Value| v.as_str().map(str::to_owned);
    let int = |v: &Value, field: &'static str| v.as_i64().ok_or_else(|| ParseError::new(field, "is a whole number"));
    let point_id: PointId =
        text(&v["point_id"], "point_id")?.parse().map_err(|_| ParseError::new("point_id", "is not an id"))?;
    let lines = v["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            Ok(NewLine {
                sku: text(&l["sku"], "lines.sku")?,
                name: text(&l["name"], "lines.name")?,
                quantity: int(&l["quantity"], "lines.quantity")?,
                unit_price_cents: int(&l["unit_price_cents"], "lines.unit_price_cents")?,
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    let parcels = v["parcels"]
        .as_array()
        .ok_or_else(|| ParseError::new("parcels", "is a list"))?
        .iter()
        .map(|p| {
            Ok(NewOrderParcel {
                parcel_number: optional(&p["parcel_number"]),
                length_mm: int(&p["dimensions_mm"]["length"], "dimensions_mm.length")?,
                width_mm: int(&p["dimensions_mm"]["width"], "dimensions_mm.width")?,
                height_mm: int(&p["dimensions_mm"]["height"], "dimensions_mm.height")?,
                weight_g: int(&p["weight_g"], "weight_g")?,
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(NewOrder {
        merchant_id: None,
        reference: text(&v["reference"], "reference")?,
        idempotency_key: None,
        customer_name: text(&v["customer"]["name"], "customer.name")?,
        customer_phone: optional(&v["customer"]["phone"]),
        customer_email: optional(&v["customer"]["email"]),
        customer_language: optional(&v["customer"]["language"]),
        point_id,
        carrier_id: None,
        service_level: optional(&v["service_level"]),
        shipping_price_cents: int(&v["shipping_price"]["amount_cents"], "shipping_price.amount_cents")?,
        currency: text(&v["shipping_price"]["currency"], "shipping_price.currency")?,
        lines,
        parcels,
        fallback: optional(&v["fallback"]),
        expected_arrival: None,
        shop: None,
    })
}

/// The orders of a CSV file (one row per parcel, an order's rows sharing its reference), each with the
/// line of its first row.
fn read_csv(text: &str) -> Result<Vec<ReadOrder>, AppError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| ParseError::new("file", format!("no header row: {e}")))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let missing: Vec<&str> = [
        "reference",
        "customer_name",
        "point_id",
        "shipping_price_cents",
        "currency",
        "length_mm",
        "width_mm",
        "height_mm",
        "weight_g",
    ]
    .into_iter()
    .filter(|c| column(c).is_none())
    .collect();
    if !missing.is_empty() {
        return Err(ParseError::new("file", format!("columns missing: {}", missing.join(", "))).into());
    }
    let mut orders: Vec<ReadOrder> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                orders.push((line, Err(ParseError::new("line", format!("is not CSV: {e}")))));
                continue;
            }
        };
        let field = |name: &str| column(name).and_then(|i| record.get(i)).map(str::trim).filter(|v| !v.is_empty());
        let number = |name: &'static str| -> Result<i64, ParseError> {
            field(name).unwrap_or_default().parse().map_err(|_| ParseError::new(name, "is a whole number"))
        };
        let parcel = (|| {
            Ok::<_, ParseError>(NewOrderParcel {
                parcel_number: field("parcel_number").map(str::to_owned),
                length_mm: number("length_mm")?,
                width_mm: number("width_mm")?,
                height_mm: number("height_mm")?,
                weight_g: number("weight_g")?,
            })
        })();
        let reference = field("reference").unwrap_or_default().to_owned();
        if let Some(at) = index.get(&reference).copied() {
            // Another parcel of an order already read.
            if let (Ok(order), Ok(parcel)) = (&mut orders[at].1, parcel) {
                order.parcels.push(parcel);
            } else if orders[at].1.is_ok() {
                orders[at].1 =
                    Err(ParseError::new("line", format!("line {line}: a parcel's size or weight is not a number")));
            }
            continue;
        }
        let order = (|| {
            Ok::<_, ParseError>(NewOrder {
                merchant_id: None,
                reference: reference.clone(),
                idempotency_key: None,
                customer_name: field("customer_name").unwrap_or_default().to_owned(),
                customer_phone: field("customer_phone").map(str::to_owned),
                customer_email: field("customer_email").map(str::to_owned),
                customer_language: field("customer_language").map(str::to_owned),
                point_id: field("point_id")
                    .unwrap_or_default()
                    .parse()
                    .map_err(|_| ParseError::new("point_id", "is not an id"))?,
                carrier_id: None,
                service_level: field("service_level").map(str::to_owned),
                shipping_price_cents: number("shipping_price_cents")?,
                currency: field("currency").unwrap_or_default().to_owned(),
                lines: Vec::new(),
                parcels: vec![parcel?],
                fallback: field("fallback").map(str::to_owned),
                expected_arrival: None,
                shop: None,
            })
        })();
        index.insert(reference, orders.len());
        orders.push((line, order));
    }
    Ok(orders)
}

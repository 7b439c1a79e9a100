//! Routes of what a merchant prints (docs/labels.md): a parcel's label and an order's labels in ZPL or
//! PDF, an order's packing request in PDF or CSV, and its invoice data with the pickup point's code.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use relais_app::labels::{Document, InvoiceData, LabelOptions, PackingFormat};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryParams, path_id};
use crate::orders::{LineWire, PriceWire};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LabelQuery {
    /// `pdf` (default) or `zpl`.
    #[param(example = "zpl")]
    pub format: Option<String>,
    /// The stock: `10x15` (cm, default) or `4x6` (in).
    #[param(example = "4x6")]
    pub size: Option<String>,
    /// ZPL only: the printer's resolution, 203 (default) or 300.
    #[param(example = 203)]
    pub dpi: Option<u32>,
}

impl LabelQuery {
    fn options(&self) -> Result<LabelOptions> {
        Ok(LabelOptions::parse(self.format.as_deref(), self.size.as_deref(), self.dpi)?)
    }
}

/// The document as the answer, with a file name for browsers and `curl -OJ`.
fn file(document: Document) -> Response {
    let disposition = format!("inline; filename=\"{}\"", document.filename.replace(['"', '\\'], "_"));
    ([(CONTENT_TYPE, document.content_type.to_owned()), (CONTENT_DISPOSITION, disposition)], document.bytes)
        .into_response()
}

#[utoipa::path(get, path = "/v1/parcels/{id}/label", tag = "labels", params(("id" = Uuid, Path), LabelQuery),
    security(("api_key" = ["operator", "merchant", "carrier"])),
    responses((status = 200, description = "The label: `application/pdf` (one page of the stock's size) or `application/zpl` (one `^XA`...`^XZ` format), in the parcel's network layout.",
            content((String = "application/pdf"), (String = "application/zpl"))),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a locker device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such parcel, or not the caller's."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `format`, `size` or `dpi`.")))]
/// A parcel's label: GS1-128 barcode of its number (`(00)` SSCC, or Code 128), a QR code, the point's
/// code, name and address, sender and recipient.
pub async fn parcel_label(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<LabelQuery>,
) -> Result<Response> {
    let options = q.options()?;
    Ok(file(state.app.parcel_label(&caller, path_id("parcel", &id)?, options).await?))
}

#[utoipa::path(get, path = "/v1/orders/{id}/labels", tag = "labels", params(("id" = Uuid, Path), LabelQuery),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, description = "Every parcel's label: a PDF page each, or ZPL formats one after the other.",
            content((String = "application/pdf"), (String = "application/zpl"))),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key (a carrier prints a parcel's label)."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such order, or another merchant's."),
        (status = 409, body = ErrorEnvelope, description = "`nothing_to_print`: the order has no parcel (on hold, or home delivery)."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `format`, `size` or `dpi`.")))]
/// An order's labels in one file, its parcels in order (`1/2`, `2/2` printed on each).
pub async fn order_labels(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<LabelQuery>,
) -> Result<Response> {
    let options = q.options()?;
    Ok(file(state.app.order_labels(&caller, path_id("order", &id)?, options).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PackingQuery {
    /// `pdf` (default) or `csv`.
    #[param(example = "csv")]
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/v1/orders/{id}/packing-request", tag = "labels", params(("id" = Uuid, Path), PackingQuery),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, description = "The pick and pack list. CSV: `record,order_reference,sku,name,quantity,parcel_number,shipment,weight_g,length_mm,width_mm,height_mm,point_code`, a `line` row per order line then a `parcel` row per parcel.",
            content((String = "application/pdf"), (String = "text/csv"))),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such order, or another merchant's."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `format`.")))]
/// An order's packing request: what to pick (its lines), how to pack it (its parcels, numbers, weights
/// and sizes) and the pickup point it ships to.
pub async fn packing_request(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<PackingQuery>,
) -> Result<Response> {
    let format = PackingFormat::parse(q.format.as_deref())?;
    Ok(file(state.app.packing_request(&caller, path_id("order", &id)?, format).await?))
}

/// Where an order is delivered, as its invoice prints it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceDelivery {
    /// `pickup_point`, `home_delivery` or `on_hold`.
    pub mode: String,
    /// The point's code in its network: what the invoice names as the delivery place.
    #[schema(example = "LYO-0042")]
    pub point_code: Option<String>,
    pub point_id: Option<Uuid>,
    pub point_name: Option<String>,
    pub network: Option<String>,
    /// The point's address, a line each.
    pub address: Vec<String>,
}

/// What an invoice needs about an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceDataView {
    pub order_id: Uuid,
    pub reference: String,
    pub merchant: String,
    pub customer_name: String,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<LineWire>,
    /// Sum of the lines (unit price times quantity), integer cents.
    pub lines_total_cents: i64,
    pub shipping_price: PriceWire,
    /// Lines and shipping, integer cents.
    pub total_cents: i64,
    pub service_level: String,
    pub delivery: InvoiceDelivery,
}

impl From<InvoiceData> for InvoiceDataView {
    fn from(d: InvoiceData) -> Self {
        let o = d.order;
        let delivery = match d.point {
            Some(p) => {
                let a = &p.point.address;
                let mut address = vec![a.line1.clone()];
                address.extend(a.line2.clone().filter(|l| !l.trim().is_empty()));
                address.push(format!("{} {}", a.postcode, a.city));
                address.push(a.country.clone());
                InvoiceDelivery {
                    mode: "pickup_point".into(),
                    point_code: Some(p.point.external_id.clone()),
                    point_id: Some(p.point.id.uuid()),
                    point_name: Some(p.point.name.clone()),
                    network: Some(p.network_name),
                    address,
                }
            }
            None => InvoiceDelivery {
                mode: o.state.as_str().into(),
                point_code: None,
                point_id: None,
                point_name: None,
                network: None,
                address: Vec::new(),
            },
        };
        InvoiceDataView {
            order_id: o.id.uuid(),
            reference: o.reference,
            merchant: d.merchant_name,
            customer_name: o.customer.name,
            created_at: o.created_at,
            lines: o.lines.into_iter().map(LineWire::from).collect(),
            lines_total_cents: d.lines_total_cents,
            shipping_price: PriceWire { amount_cents: o.shipping_price_cents, currency: o.currency },
            total_cents: d.total_cents,
            service_level: o.service_level,
            delivery,
        }
    }
}

#[utoipa::path(get, path = "/v1/orders/{id}/invoice-data", tag = "labels", params(("id" = Uuid, Path)),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = InvoiceDataView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such order, or another merchant's.")))]
/// What the merchant's invoice needs: lines and totals in integer cents, and the delivery place, which
/// for a pickup point is its code, name and address.
pub async fn invoice_data(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<InvoiceDataView>> {
    Ok(Json(state.app.invoice_data(&caller, path_id("order", &id)?).await?.into()))
}

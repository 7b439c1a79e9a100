//! What a merchant prints and files for a parcel and an order (docs/labels.md): the parcel's label in
//! ZPL or PDF, in its network's layout; an order's labels in one file; the packing request (pick and
//! pack list) as PDF and CSV; the invoice data, which carries the pickup point's code as the delivery
//! address. Read-only: nothing here changes a parcel.

use std::collections::HashMap;

use relais_domain::ids::{MerchantId, OrderId, ParcelId, PointId};
use relais_domain::order::{Order, OrderState};
use relais_domain::parcel::Parcel;
use relais_domain::point::PickupPoint;
use relais_domain::value::ParseError;
use relais_messages::labels::{Dpi, Label, LabelContent, Size};
use relais_messages::pdf::{A4, Page};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;

/// How a label is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    Zpl(Dpi),
    Pdf,
}

/// A label's format and stock, from the request's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelOptions {
    pub format: LabelFormat,
    pub size: Size,
}

impl LabelOptions {
    /// `format` `zpl` or `pdf` (default `pdf`), `size` `4x6` or `10x15` (default `10x15`), `dpi` 203 or
    /// 300 for ZPL (default 203).
    pub fn parse(format: Option<&str>, size: Option<&str>, dpi: Option<u32>) -> Result<LabelOptions, ParseError> {
        let size = match size {
            None => Size::Cm10x15,
            Some(s) => Size::parse(s).ok_or_else(|| ParseError::new("size", "must be 4x6 or 10x15"))?,
        };
        let dpi = match dpi {
            None => Dpi::D203,
            Some(d) => Dpi::parse(d).ok_or_else(|| ParseError::new("dpi", "must be 203 or 300"))?,
        };
        let format = match format.unwrap_or("pdf") {
            "pdf" => LabelFormat::Pdf,
            "zpl" => LabelFormat::Zpl(dpi),
            _ => return Err(ParseError::new("format", "must be zpl or pdf")),
        };
        Ok(LabelOptions { format, size })
    }
}

/// How a packing request is written: PDF for the packing bench, CSV for a WMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackingFormat {
    Pdf,
    Csv,
}

impl PackingFormat {
    /// `pdf` (default) or `csv`.
    pub fn parse(format: Option<&str>) -> Result<PackingFormat, ParseError> {
        match format.unwrap_or("pdf") {
            "pdf" => Ok(PackingFormat::Pdf),
            "csv" => Ok(PackingFormat::Csv),
            _ => Err(ParseError::new("format", "must be pdf or csv")),
        }
    }
}

/// A file to hand back: its media type, a name to save it under, its bytes.
#[derive(Debug, Clone)]
pub struct Document {
    pub content_type: &'static str,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// The invoice's delivery block and totals: what a merchant's invoicing needs about an order.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceData {
    pub order: Order,
    pub merchant_name: String,
    pub lines_total_cents: i64,
    pub total_cents: i64,
    /// Where the parcels go: the pickup point (with its code) or `None` for home delivery or an order
    /// on hold.
    pub point: Option<InvoicePoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvoicePoint {
    pub point: PickupPoint,
    pub network_name: String,
}

/// The CSV header of a packing request: a row per order line (`record` = `line`), then a row per parcel
/// (`record` = `parcel`).
pub const PACKING_HEADER: &str =
    "record,order_reference,sku,name,quantity,parcel_number,shipment,weight_g,length_mm,width_mm,height_mm,point_code";

impl App {
    /// A parcel's label, as its merchant, its carrier or an operator prints it.
    pub async fn parcel_label(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        options: LabelOptions,
    ) -> Result<Document, AppError> {
        caller.require(Permission::PrintLabel)?;
        let parcel = self.load_visible_parcel(caller, parcel_id).await?;
        let place = match self.store.order_of_parcel(parcel.id).await? {
            Some(order_id) => self.place_in_order(order_id, parcel.id).await?,
            None => None,
        };
        let sender = self.sender_of(parcel.merchant_id).await?;
        let label = self.label_of(&parcel, place, &sender, options.size).await?;
        let filename = format!("label-{}", parcel.number);
        Ok(match options.format {
            LabelFormat::Zpl(dpi) => zpl_document(filename, label.zpl(dpi)),
            LabelFormat::Pdf => pdf_document(filename, label.pdf()),
        })
    }

    /// Every label of an order in one file: ZPL formats one after the other, or a PDF page each.
    pub async fn order_labels(
        &self,
        caller: &Caller,
        order_id: OrderId,
        options: LabelOptions,
    ) -> Result<Document, AppError> {
        caller.require(Permission::PrintLabel)?;
        // The order and its parcels, not their pickup codes: a label does not print them.
        let order = self.load_order(caller, order_id).await?;
        let parcels = self.store.order_parcels(order_id).await?;
        if parcels.is_empty() {
            return Err(AppError::NothingToPrint { reason: format!("order {} has no parcel", order.reference) });
        }
        let count = parcels.len() as u32;
        // One merchant for the whole order: its sender block is read once.
        let sender = self.sender_of(order.merchant_id).await?;
        let mut labels = Vec::with_capacity(parcels.len());
        for (i, (parcel, _)) in parcels.iter().enumerate() {
            let place = Some((order.reference.clone(), i as u32 + 1, count));
            labels.push(self.label_of(parcel, place, &sender, options.size).await?);
        }
        let filename = format!("labels-{}", order.reference);
        Ok(match options.format {
            LabelFormat::Zpl(dpi) => zpl_document(filename, labels.iter().map(|l| l.zpl(dpi)).collect()),
            LabelFormat::Pdf => {
                pdf_document(filename, relais_messages::labels::pdf_of(&labels, &format!("Labels {}", order.reference)))
            }
        })
    }

    /// An order's packing request: what to pick (its lines) and how to pack it (its parcels, their
    /// numbers, weights and sizes, and the point they go to), as CSV for a WMS or PDF for the bench.
    pub async fn packing_request(
        &self,
        caller: &Caller,
        order_id: OrderId,
        format: PackingFormat,
    ) -> Result<Document, AppError> {
        let order = &self.load_order(caller, order_id).await?;
        let parcels = self.store.order_parcels(order_id).await?;
        let point = self.order_point(order).await?;
        let code = point.as_ref().map(|p| p.point.external_id.clone()).unwrap_or_default();
        let filename = format!("packing-{}", order.reference);
        if format == PackingFormat::Csv {
            let mut csv = format!("{PACKING_HEADER}\n");
            for line in &order.lines {
                let quantity = line.quantity.to_string();
                let row = ["line", &order.reference, &line.sku, &line.name, &quantity, "", "", "", "", "", "", &code];
                csv.push_str(&csv_row(&row));
                csv.push('\n');
            }
            // The points the parcels went to (the order's, or another for a later shipment), read once
            // each.
            let mut codes: HashMap<PointId, String> = HashMap::new();
            for (parcel, _) in &parcels {
                if let std::collections::hash_map::Entry::Vacant(slot) = codes.entry(parcel.point_id) {
                    let point = self.store.point(parcel.point_id).await?;
                    slot.insert(point.map(|p| p.external_id).unwrap_or_default());
                }
            }
            for (parcel, shipment) in &parcels {
                let d = parcel.dimensions;
                let row = [
                    "parcel",
                    &order.reference,
                    "",
                    "",
                    "",
                    parcel.number.as_str(),
                    &shipment.to_string(),
                    &parcel.weight.grams().to_string(),
                    &d.length_mm().to_string(),
                    &d.width_mm().to_string(),
                    &d.height_mm().to_string(),
                    &codes[&parcel.point_id],
                ];
                csv.push_str(&csv_row(&row));
                csv.push('\n');
            }
            return Ok(Document {
                content_type: "text/csv; charset=utf-8",
                filename: format!("{filename}.csv"),
                bytes: csv.into_bytes(),
            });
        }
        let mut sheet = Sheet::new();
        sheet.line(16.0, true, "Bon de préparation / Packing request");
        sheet.line(11.0, false, &format!("Commande / Order: {}", order.reference));
        sheet.line(11.0, false, &format!("Créée le / Created: {}", order.created_at.format("%Y-%m-%d %H:%M UTC")));
        sheet.line(11.0, false, &format!("Client / Customer: {}", order.customer.name));
        sheet.gap();
        match &point {
            Some(p) => {
                sheet.line(11.0, true, "Livrer au point relais / Ship to pickup point");
                sheet.line(11.0, false, &format!("{}  {}  ({})", p.point.external_id, p.point.name, p.network_name));
                sheet.line(11.0, false, &address_line(&p.point));
            }
            None => sheet.line(11.0, true, &destination_words(order.state)),
        }
        sheet.gap();
        sheet.columns(true, &["Qté / Qty", "SKU", "Article / Item"]);
        for line in &order.lines {
            sheet.columns(false, &[&line.quantity.to_string(), &line.sku, &line.name]);
        }
        sheet.gap();
        sheet.columns(true, &["Envoi / Shipment", "N° de colis / Parcel number", "Poids / Weight, cm"]);
        for (parcel, shipment) in &parcels {
            let d = parcel.dimensions;
            let size = format!(
                "{} g, {} x {} x {}",
                parcel.weight.grams(),
                d.length_mm() / 10,
                d.width_mm() / 10,
                d.height_mm() / 10
            );
            sheet.columns(false, &[&shipment.to_string(), parcel.number.as_str(), &size]);
        }
        Ok(pdf_document(filename, relais_messages::pdf::write_file("Packing request", &sheet.pages)))
    }

    /// What the merchant's invoice needs: the lines and totals, and the delivery address, which for a
    /// pickup point is the point's code, name and address.
    pub async fn invoice_data(&self, caller: &Caller, order_id: OrderId) -> Result<InvoiceData, AppError> {
        let order = self.load_order(caller, order_id).await?;
        let merchant = self.store.merchant(order.merchant_id).await?;
        let lines_total_cents = order.lines.iter().map(|l| l.unit_price_cents * i64::from(l.quantity)).sum::<i64>();
        let point = self.order_point(&order).await?;
        Ok(InvoiceData {
            merchant_name: merchant.map(|m| m.name).unwrap_or_default(),
            lines_total_cents,
            total_cents: lines_total_cents + order.shipping_price_cents,
            point,
            order,
        })
    }

    /// Where an announced order's parcels go.
    async fn order_point(&self, order: &Order) -> Result<Option<InvoicePoint>, AppError> {
        let Some(point_id) = order.point_id.filter(|_| order.state == OrderState::Announced) else { return Ok(None) };
        let Some(point) = self.store.point(point_id).await? else { return Ok(None) };
        let network_name = self.store.network(point.network_id).await?.map(|n| n.name).unwrap_or_default();
        Ok(Some(InvoicePoint { point, network_name }))
    }

    /// The sender block of a merchant's labels: its sender name (or name), then its return address.
    async fn sender_of(&self, merchant_id: MerchantId) -> Result<Vec<String>, AppError> {
        let merchant = self.store.merchant(merchant_id).await?;
        let branding = self.store.merchant_branding(merchant_id).await?.unwrap_or_default();
        let mut sender = vec![branding.sender_name.or(merchant.map(|m| m.name)).unwrap_or_default()];
        sender.extend(branding.return_address.iter().flat_map(|a| a.lines().map(str::to_owned)));
        Ok(sender)
    }

    /// The order's reference and the parcel's place among its parcels (1 of 2).
    async fn place_in_order(
        &self,
        order_id: OrderId,
        parcel_id: ParcelId,
    ) -> Result<Option<(String, u32, u32)>, AppError> {
        let Some(order) = self.store.order(order_id).await? else { return Ok(None) };
        let parcels = self.store.order_parcels(order_id).await?;
        let place = parcels.iter().position(|(p, _)| p.id == parcel_id).map_or(1, |i| i as u32 + 1);
        Ok(Some((order.reference, place, parcels.len() as u32)))
    }

    /// A parcel's label laid out in its network's layout.
    async fn label_of(
        &self,
        parcel: &Parcel,
        order: Option<(String, u32, u32)>,
        sender: &[String],
        size: Size,
    ) -> Result<Label, AppError> {
        let point =
            self.store.point(parcel.point_id).await?.ok_or_else(|| AppError::not_found("point", parcel.point_id))?;
        let network = self
            .store
            .network(parcel.network_id)
            .await?
            .ok_or_else(|| AppError::not_found("network", parcel.network_id))?;
        let content = LabelContent {
            parcel_number: parcel.number.to_string(),
            network_name: network.name,
            point_code: point.external_id.clone(),
            point_name: point.name.clone(),
            point_address: point_address(&point),
            sender: sender.to_vec(),
            recipient_name: parcel.recipient.name.clone(),
            recipient_phone: parcel.recipient.phone.as_ref().map(|p| masked_phone(p.as_str())),
            weight_g: parcel.weight.grams(),
            order,
        };
        // A stored parcel number is letters and digits (`ParcelNumber`), which a barcode always carries.
        Label::new(&content, network.rules.label_layout, size).map_err(|e| AppError::NothingToPrint { reason: e.0 })
    }
}

fn zpl_document(filename: String, zpl: String) -> Document {
    Document {
        content_type: "application/zpl; charset=utf-8",
        filename: format!("{filename}.zpl"),
        bytes: zpl.into_bytes(),
    }
}

fn pdf_document(filename: String, pdf: Vec<u8>) -> Document {
    Document { content_type: "application/pdf", filename: format!("{filename}.pdf"), bytes: pdf }
}

/// The point's address as a label prints it: the street (and its second line), then postcode, city and
/// country.
fn point_address(point: &PickupPoint) -> Vec<String> {
    let a = &point.address;
    let street = match &a.line2 {
        Some(line2) if !line2.trim().is_empty() => format!("{}, {}", a.line1, line2),
        _ => a.line1.clone(),
    };
    vec![street, format!("{} {} {}", a.postcode, a.city, a.country)]
}

fn address_line(point: &PickupPoint) -> String {
    point_address(point).join(", ")
}

/// A phone number with its middle hidden (`+336******78`): enough for a clerk to match a call, not
/// enough to harvest from a label in a bin.
fn masked_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    chars.iter().enumerate().map(|(i, c)| if i < 4 || i + 2 >= chars.len() { *c } else { '*' }).collect()
}

fn destination_words(state: OrderState) -> String {
    match state {
        OrderState::Announced => "Point relais / Pickup point".to_owned(),
        OrderState::OnHold => "En attente de décision / On hold: the chosen point cannot take it".to_owned(),
        OrderState::HomeDelivery => "Livraison à domicile / Home delivery".to_owned(),
    }
}

/// A packing request's row: its fields made inert for spreadsheets, then quoted as CSV needs.
fn csv_row(fields: &[&str]) -> String {
    let inert: Vec<String> = fields.iter().map(|f| crate::csv_out::inert(f)).collect();
    crate::csv_out::line(&inert.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A printed A4 sheet being filled top to bottom, a page more when one is full.
struct Sheet {
    pages: Vec<Page>,
    y: f32,
}

const SHEET_MARGIN: f32 = 56.0;
/// Where each column of a table starts.
const COLUMNS: [f32; 3] = [SHEET_MARGIN, SHEET_MARGIN + 110.0, SHEET_MARGIN + 270.0];
/// Characters a column holds before it is cut.
const COLUMN_CHARS: [usize; 3] = [20, 30, 50];

impl Sheet {
    fn new() -> Sheet {
        Sheet { pages: vec![Page::new(A4.0, A4.1)], y: SHEET_MARGIN }
    }

    fn room(&mut self, height: f32) {
        if self.y + height > A4.1 - SHEET_MARGIN {
            self.pages.push(Page::new(A4.0, A4.1));
            self.y = SHEET_MARGIN;
        }
    }

    fn page(&mut self) -> &mut Page {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn line(&mut self, size: f32, bold: bool, text: &str) {
        self.room(size + 4.0);
        self.y += size + 4.0;
        let y = self.y;
        self.page().text(SHEET_MARGIN, y, size, bold, false, text);
    }

    fn gap(&mut self) {
        self.y += 10.0;
    }

    fn columns(&mut self, bold: bool, cells: &[&str]) {
        self.room(15.0);
        self.y += 15.0;
        let y = self.y;
        for ((cell, x), chars) in cells.iter().zip(COLUMNS).zip(COLUMN_CHARS) {
            let text: String = cell.chars().take(chars).collect();
            self.page().text(x, y, 10.0, bold, false, &text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_have_defaults_and_refuse_unknown_words() {
        let default = LabelOptions::parse(None, None, None).unwrap();
        assert_eq!(default, LabelOptions { format: LabelFormat::Pdf, size: Size::Cm10x15 });
        let zpl = LabelOptions::parse(Some("zpl"), Some("4x6"), Some(300)).unwrap();
        assert_eq!(zpl, LabelOptions { format: LabelFormat::Zpl(Dpi::D300), size: Size::In4x6 });
        assert_eq!(LabelOptions::parse(Some("png"), None, None).unwrap_err().field, "format");
        assert_eq!(LabelOptions::parse(None, Some("A4"), None).unwrap_err().field, "size");
        assert_eq!(LabelOptions::parse(Some("zpl"), None, Some(600)).unwrap_err().field, "dpi");
    }

    #[test]
    fn phones_are_masked_and_csv_fields_quoted() {
        assert_eq!(masked_phone("+33612345678"), "+336******78");
        assert_eq!(csv_row(&["a,b", "say \"hi\"", "=1+1"]), "\"a,b\",\"say \"\"hi\"\"\",'=1+1");
    }
}

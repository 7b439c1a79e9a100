//! Parcel labels (docs/labels.md): what a label says (the parcel number as a barcode, a QR code, the
//! pickup point's code, name and address, the sender, the recipient), laid out once in millimetres by
//! the network's layout, then written as ZPL for a thermal printer (203 or 300 dpi) or as a PDF page,
//! on 4 x 6 in or 10 x 15 cm stock.
//!
//! The layout is device-independent marks (text, rules, a barcode box, a QR box); each writer turns them
//! into its own units. The barcode is planned once (`code128`): ZPL sends the printer the same code sets
//! the PDF draws, so both print the same symbol.

pub mod code128;
mod pdf;
mod zpl;

pub use code128::NotEncodable;
use code128::Symbol;

/// The label stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 4 x 6 in (101.6 x 152.4 mm), the common thermal label.
    In4x6,
    /// 10 x 15 cm, the European one.
    Cm10x15,
}

impl Size {
    pub const ALL: [Size; 2] = [Size::In4x6, Size::Cm10x15];

    /// Width and height in millimetres.
    pub fn mm(self) -> (f32, f32) {
        match self {
            Size::In4x6 => (101.6, 152.4),
            Size::Cm10x15 => (100.0, 150.0),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Size::In4x6 => "4x6",
            Size::Cm10x15 => "10x15",
        }
    }

    pub fn parse(text: &str) -> Option<Size> {
        Size::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A thermal printer's resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dpi {
    D203,
    D300,
}

impl Dpi {
    pub const ALL: [Dpi; 2] = [Dpi::D203, Dpi::D300];

    /// Dots per millimetre as Zebra counts them (8 and 12).
    pub fn dots_per_mm(self) -> f32 {
        match self {
            Dpi::D203 => 8.0,
            Dpi::D300 => 12.0,
        }
    }

    pub fn as_u32(self) -> u32 {
        match self {
            Dpi::D203 => 203,
            Dpi::D300 => 300,
        }
    }

    pub fn parse(value: u32) -> Option<Dpi> {
        Dpi::ALL.into_iter().find(|d| d.as_u32() == value)
    }
}

pub use relais_domain::network::LabelLayout as Layout;

/// What a label says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelContent {
    pub parcel_number: String,
    pub network_name: String,
    /// The point's code in its network (its external id): what the courier sorts by.
    pub point_code: String,
    pub point_name: String,
    /// The point's address, a line each.
    pub point_address: Vec<String>,
    /// The merchant's name and return address, a line each.
    pub sender: Vec<String>,
    pub recipient_name: String,
    pub recipient_phone: Option<String>,
    pub weight_g: u32,
    /// The order's reference and the parcel's place in it (1 of 2), when it belongs to one.
    pub order: Option<(String, u32, u32)>,
}

impl LabelContent {
    /// What the QR code carries: a versioned record a locker's or a depot's 2D scanner reads without a
    /// look-up: `RL1|<parcel number>|<point code>` (docs/labels.md).
    pub fn qr_payload(&self) -> String {
        format!("RL1|{}|{}", self.parcel_number, self.point_code.replace('|', "/"))
    }
}

/// A label ready to write: its content laid out on its stock.
pub struct Label {
    width_mm: f32,
    height_mm: f32,
    marks: Vec<Mark>,
    symbol: Symbol,
    qr: String,
}

/// One thing drawn, in millimetres from the top-left corner.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    /// Text whose box's top is at `y`, `height` mm tall (the font size), cut to fit `width`.
    Text { x: f32, y: f32, height: f32, bold: bool, white: bool, text: String },
    /// A filled black rectangle (rules and bands).
    Fill { x: f32, y: f32, width: f32, height: f32 },
    /// The barcode, centred in this box with its quiet zones.
    Barcode { x: f32, y: f32, width: f32, height: f32 },
    /// The QR code in this square, with its quiet zone.
    Qr { x: f32, y: f32, side: f32 },
}

/// Average advance of a character as a share of the font size: a little wider than Helvetica's and
/// Zebra's font 0 averages, so a cut line fits on both.
const CHAR_WIDTH: f32 = 0.62;
/// Margin around the label's content.
const MARGIN: f32 = 4.0;

impl Label {
    /// Lays the content out. Fails only for a parcel number no barcode can carry (not letters and digits,
    /// or too long), which `ParcelNumber` already refuses.
    pub fn new(content: &LabelContent, layout: Layout, size: Size) -> Result<Label, NotEncodable> {
        let symbol = Symbol::of_parcel_number(&content.parcel_number)?;
        let (width_mm, height_mm) = size.mm();
        let mut marks = Marks { list: Vec::with_capacity(32), width: width_mm };
        match layout {
            Layout::Standard => standard(&mut marks, content, &symbol),
            Layout::Sorting => sorting(&mut marks, content, &symbol),
        }
        Ok(Label { width_mm, height_mm, marks: marks.list, symbol, qr: content.qr_payload() })
    }

    /// The label as ZPL II, one `^XA ... ^XZ` format.
    pub fn zpl(&self, dpi: Dpi) -> String {
        zpl::write(self, dpi)
    }

    /// The label as a one-page PDF of its size.
    pub fn pdf(&self) -> Vec<u8> {
        let page = pdf::draw(self);
        crate::pdf::write_file(&format!("Label {}", self.symbol.human_readable), &[page])
    }

    /// The label as a page, to put several in one PDF file (an order's labels).
    pub fn pdf_page(&self) -> crate::pdf::Page {
        pdf::draw(self)
    }
}

/// The PDF of several labels, a page each.
pub fn pdf_of(labels: &[Label], title: &str) -> Vec<u8> {
    let pages: Vec<crate::pdf::Page> = labels.iter().map(pdf::draw).collect();
    crate::pdf::write_file(title, &pages)
}

/// Marks being laid out on a label `width` mm wide.
struct Marks {
    list: Vec<Mark>,
    width: f32,
}

impl Marks {
    /// Text from `x` to the right margin (or `width` when given), cut with `...` if it does not fit.
    fn text(&mut self, x: f32, y: f32, height: f32, bold: bool, text: &str) {
        let width = self.width - MARGIN - x;
        self.text_in(x, y, height, bold, false, width, text);
    }

    #[allow(clippy::too_many_arguments)] // A text mark's own fields.
    fn text_in(&mut self, x: f32, y: f32, height: f32, bold: bool, white: bool, width: f32, text: &str) {
        let fits = (width / (height * CHAR_WIDTH)).floor().max(3.0) as usize;
        let text = text.trim();
        let text = if text.chars().count() <= fits {
            text.to_owned()
        } else {
            let cut: String = text.chars().take(fits.saturating_sub(3)).collect();
            format!("{}...", cut.trim_end())
        };
        if !text.is_empty() {
            self.list.push(Mark::Text { x, y, height, bold, white, text });
        }
    }

    /// A horizontal rule across the label.
    fn rule(&mut self, y: f32) {
        self.list.push(Mark::Fill { x: MARGIN, y, width: self.width - 2.0 * MARGIN, height: 0.5 });
    }

    /// The human-readable parcel number, centred under its bars.
    fn human_readable(&mut self, y: f32, symbol: &Symbol) {
        let height = 4.0;
        let text = &symbol.human_readable;
        let width = text.chars().count() as f32 * height * CHAR_WIDTH * 0.9;
        let x = ((self.width - width) / 2.0).max(MARGIN);
        self.text(x, y, height, true, text);
    }
}

/// Weight as a person reads it on a parcel: `1.25 kg`.
fn weight(grams: u32) -> String {
    format!("{}.{:02} kg", grams / 1000, (grams % 1000) / 10)
}

fn order_line(content: &LabelContent) -> Option<String> {
    content.order.as_ref().map(|(reference, n, of)| format!("Commande / Order {reference} ({n}/{of})"))
}

fn recipient_and_sender(m: &mut Marks, content: &LabelContent, y: f32, text_width: f32) {
    m.text_in(MARGIN, y, 2.8, false, false, text_width, "DESTINATAIRE / RECIPIENT");
    m.text_in(MARGIN, y + 4.0, 5.0, true, false, text_width, &content.recipient_name);
    if let Some(phone) = &content.recipient_phone {
        m.text_in(MARGIN, y + 10.5, 3.8, false, false, text_width, phone);
    }
    m.text_in(MARGIN, y + 17.0, 2.8, false, false, text_width, "EXPÉDITEUR / SENDER");
    for (i, line) in content.sender.iter().take(3).enumerate() {
        m.text_in(MARGIN, y + 21.0 + 4.6 * i as f32, 3.6, i == 0, false, text_width, line);
    }
}

/// Standard: header, the point, recipient and sender beside the QR code, the barcode, the order.
fn standard(m: &mut Marks, content: &LabelContent, symbol: &Symbol) {
    let w = m.width;
    m.text_in(MARGIN, 4.0, 5.0, true, false, w - 2.0 * MARGIN - 26.0, &content.network_name);
    m.text(w - MARGIN - 24.0, 4.0, 5.0, true, &weight(content.weight_g));
    m.rule(11.0);
    m.text(MARGIN, 13.0, 2.8, false, "POINT RELAIS / PICKUP POINT");
    m.text(MARGIN, 17.0, 11.0, true, &content.point_code);
    m.text(MARGIN, 30.0, 4.6, true, &content.point_name);
    for (i, line) in content.point_address.iter().take(2).enumerate() {
        m.text(MARGIN, 36.0 + 5.0 * i as f32, 4.0, false, line);
    }
    m.rule(47.0);
    let qr_side = 32.0;
    m.list.push(Mark::Qr { x: w - MARGIN - qr_side, y: 50.0, side: qr_side });
    recipient_and_sender(m, content, 50.0, w - 2.0 * MARGIN - qr_side - 2.0);
    m.rule(86.0);
    m.list.push(Mark::Barcode { x: MARGIN, y: 90.0, width: w - 2.0 * MARGIN, height: 32.0 });
    m.human_readable(123.5, symbol);
    m.rule(130.0);
    if let Some(line) = order_line(content) {
        m.text(MARGIN, 133.0, 3.4, false, &line);
    }
}

/// Sorting: the point's code white on a black band, the barcode under it, then the rest.
fn sorting(m: &mut Marks, content: &LabelContent, symbol: &Symbol) {
    let w = m.width;
    m.list.push(Mark::Fill { x: 0.0, y: 0.0, width: w, height: 22.0 });
    m.text_in(MARGIN, 3.0, 14.0, true, true, w - 2.0 * MARGIN, &content.point_code);
    m.text_in(MARGIN, 17.0, 3.2, false, true, w - 2.0 * MARGIN, &content.network_name);
    m.list.push(Mark::Barcode { x: MARGIN, y: 25.0, width: w - 2.0 * MARGIN, height: 32.0 });
    m.human_readable(58.5, symbol);
    m.rule(65.0);
    m.text(MARGIN, 67.0, 2.8, false, "POINT RELAIS / PICKUP POINT");
    m.text(MARGIN, 71.0, 4.6, true, &content.point_name);
    for (i, line) in content.point_address.iter().take(2).enumerate() {
        m.text(MARGIN, 77.0 + 5.0 * i as f32, 4.0, false, line);
    }
    m.rule(88.0);
    let qr_side = 32.0;
    m.list.push(Mark::Qr { x: w - MARGIN - qr_side, y: 91.0, side: qr_side });
    recipient_and_sender(m, content, 91.0, w - 2.0 * MARGIN - qr_side - 2.0);
    m.rule(127.0);
    m.text(MARGIN, 130.0, 4.0, true, &weight(content.weight_g));
    if let Some(line) = order_line(content) {
        m.text(MARGIN, 136.0, 3.4, false, &line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> LabelContent {
        LabelContent {
            parcel_number: "376123450000000014".into(),
            network_name: "Réseau Relais Lyon".into(),
            point_code: "LYO-0042".into(),
            point_name: "Tabac de la Presqu'île".into(),
            point_address: vec!["12 rue de la République".into(), "69002 Lyon FR".into()],
            sender: vec!["Boutique Exemple".into(), "3 quai Saint-Antoine".into(), "69002 Lyon FR".into()],
            recipient_name: "Camille Martin".into(),
            recipient_phone: Some("+33612345678".into()),
            weight_g: 1250,
            order: Some(("CMD-1001".into(), 1, 2)),
        }
    }

    #[test]
    fn long_lines_are_cut_to_the_label_and_say_so() {
        let mut content = sample();
        content.point_name = "Un nom de point relais beaucoup trop long pour tenir sur une seule ligne".into();
        let label = Label::new(&content, Layout::Standard, Size::Cm10x15).unwrap();
        let cut = label
            .marks
            .iter()
            .find_map(|m| match m {
                Mark::Text { text, .. } if text.starts_with("Un nom") => Some(text.clone()),
                _ => None,
            })
            .unwrap();
        assert!(cut.ends_with("...") && cut.chars().count() < content.point_name.chars().count(), "{cut}");
        // Every mark stays on the stock, for both sizes and layouts.
        for size in Size::ALL {
            for layout in Layout::ALL {
                let label = Label::new(&content, layout, size).unwrap();
                let (w, h) = size.mm();
                for mark in &label.marks {
                    let (x, y, right, bottom) = match mark {
                        Mark::Text { x, y, height, text, .. } => {
                            (*x, *y, x + text.chars().count() as f32 * height * CHAR_WIDTH * 0.8, y + height)
                        }
                        Mark::Fill { x, y, width, height } | Mark::Barcode { x, y, width, height } => {
                            (*x, *y, x + width, y + height)
                        }
                        Mark::Qr { x, y, side } => (*x, *y, x + side, y + side),
                    };
                    assert!(x >= 0.0 && y >= 0.0 && right <= w + 0.01 && bottom <= h, "{mark:?} off {size:?}");
                }
            }
        }
    }

    #[test]
    fn names_parse_back() {
        for size in Size::ALL {
            assert_eq!(Size::parse(size.as_str()), Some(size));
        }
        for layout in Layout::ALL {
            assert_eq!(Layout::parse(layout.as_str()), Ok(layout));
        }
        assert_eq!(Dpi::parse(300), Some(Dpi::D300));
        assert_eq!(Dpi::parse(600), None);
        assert_eq!(weight(1250), "1.25 kg");
        assert_eq!(weight(80), "0.08 kg");
    }
}

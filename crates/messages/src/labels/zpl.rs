//! A label as ZPL II: one format (`^XA` ... `^XZ`) in the printer's dots. Text in the scalable font 0
//! with UTF-8 field data (`^CI28`) and hex escapes (`^FH`) for the three characters ZPL reserves; rules
//! and bands as graphic boxes; the barcode as `^BC` in mode N with the code sets planned by
//! `code128` (so the printer draws the symbol the PDF draws); the QR code as `^BQ` model 2, error
//! correction M, sized from the version the same data takes.

use std::fmt::Write as _;

use super::{Dpi, Label, Mark};

pub(super) fn write(label: &Label, dpi: Dpi) -> String {
    let dots = |mm: f32| (mm * dpi.dots_per_mm()).round() as i64;
    let mut out = String::with_capacity(2048);
    let _ = write!(out, "^XA\n^CI28\n^PW{}\n^LL{}\n^LH0,0\n", dots(label.width_mm), dots(label.height_mm));
    for mark in &label.marks {
        match mark {
            Mark::Text { x, y, height, white, text, .. } => {
                // Font 0 is bold at every size; the PDF's regular text prints bold here, as on every
                // Zebra label.
                let h = dots(*height);
                let _ = write!(out, "^FO{},{}^A0N,{h},{h}", dots(*x), dots(*y));
                if *white {
                    out.push_str("^FR");
                }
                out.push_str("^FH\\^FD");
                escape_into(&mut out, text);
                out.push_str("^FS\n");
            }
            Mark::Fill { x, y, width, height } => {
                let (w, h) = (dots(*width).max(1), dots(*height).max(1));
                // A box whose border is as thick as its smaller side is filled.
                let _ = writeln!(out, "^FO{},{}^GB{w},{h},{}^FS", dots(*x), dots(*y), w.min(h));
            }
            Mark::Barcode { x, y, width, height } => {
                let modules = label.symbol.module_count() as i64;
                let room = dots(*width);
                // The widest whole-dot module that fits with ten-module quiet zones each side.
                let module = (room / (modules + 20)).clamp(1, 10);
                let left = dots(*x) + (room - (modules + 20) * module).max(0) / 2 + 10 * module;
                let _ = writeln!(
                    out,
                    "^FO{left},{}^BY{module}^BCN,{},N,N,N,N^FD{}^FS",
                    dots(*y),
                    dots(*height),
                    label.symbol.zpl_field_data()
                );
            }
            Mark::Qr { x, y, side } => {
                let modules = qr_modules(&label.qr).unwrap_or(25);
                // Magnification: dots a module, the code and its four-module quiet zones in the square.
                let magnification = (dots(*side) / (modules + 8)).clamp(1, 10);
                let _ = write!(
                    out,
                    "^FO{},{}^BQN,2,{magnification}^FH\\^FDMA,",
                    dots(*x) + 4 * magnification,
                    dots(*y) + 4 * magnification
                );
                escape_into(&mut out, &label.qr);
                out.push_str("^FS\n");
            }
        }
    }
    out.push_str("^PQ1\n^XZ\n");
    out
}

/// Field data with `^`, `~` and `\` written as `^FH` hex escapes.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '^' => out.push_str("\\5E"),
            '~' => out.push_str("\\7E"),
            '\\' => out.push_str("\\5C"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// The side, in modules, of the QR code of `data` at error correction M (the printer picks the same
/// smallest version).
fn qr_modules(data: &str) -> Option<i64> {
    let bits = qrcode::bits::encode_auto(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(i64::from(bits.version().width()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::super::{Layout, Size};
    use super::*;

    /// The fields of a ZPL format: each `^FO` line's commands.
    fn field<'a>(zpl: &'a str, command: &str) -> Vec<&'a str> {
        zpl.lines().filter(|l| l.contains(command)).collect()
    }

    #[test]
    fn the_format_has_the_stock_size_the_barcode_and_the_qr_code() {
        let label = Label::new(&sample(), Layout::Standard, Size::In4x6).unwrap();
        let zpl = label.zpl(Dpi::D203);
        assert!(zpl.starts_with("^XA\n^CI28\n^PW813\n^LL1219\n"), "{zpl}");
        assert!(zpl.ends_with("^PQ1\n^XZ\n"));
        // 4 dots a module at 203 dpi: 0.5 mm, within GS1's logistic label range (0.495 to 0.94 mm).
        let barcode = field(&zpl, "^BC");
        assert_eq!(barcode.len(), 1);
        assert!(barcode[0].contains("^BY4^BCN,256,N,N,N,N^FD>;>800376123450000000014^FS"), "{}", barcode[0]);
        let qr = field(&zpl, "^BQ");
        assert!(qr[0].ends_with("^FH\\^FDMA,RL1|376123450000000014|LYO-0042^FS"), "{}", qr[0]);
        // Accents travel as UTF-8 (^CI28); the reserved characters as hex.
        assert!(zpl.contains("^FDRéseau Relais Lyon^FS"));
        let mut content = sample();
        content.recipient_name = "A^B~C\\D".into();
        let zpl = Label::new(&content, Layout::Standard, Size::In4x6).unwrap().zpl(Dpi::D300);
        assert!(zpl.contains("^FDA\\5EB\\7EC\\5CD^FS"), "{zpl}");
        // 300 dpi: 12 dots a mm, and the module grows to 6 dots (0.5 mm).
        assert!(zpl.contains("^PW1219\n^LL1829\n"));
        assert!(field(&zpl, "^BC")[0].contains("^BY6^BCN,384,"));
    }

    #[test]
    fn the_sorting_layout_prints_the_point_code_reversed_on_a_band() {
        let zpl = Label::new(&sample(), Layout::Sorting, Size::Cm10x15).unwrap().zpl(Dpi::D203);
        assert!(zpl.contains("^FO0,0^GB800,176,176^FS"), "{zpl}");
        assert!(zpl.contains("^A0N,112,112^FR^FH\\^FDLYO-0042^FS"), "{zpl}");
    }
}

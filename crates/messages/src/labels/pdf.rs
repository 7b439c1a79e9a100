//! A label as a PDF page of its stock's size: text in Helvetica, the barcode's bars and the QR code's
//! modules as filled rectangles (vector, sharp at any printer resolution).

use super::{Label, Mark};
use crate::pdf::{PT_PER_MM, Page};

/// Text is set this far below the top of its box: Helvetica's ascent, as a share of the size.
const ASCENT: f32 = 0.78;
/// The barcode's module, at most: GS1 logistic labels ask 0.495 to 0.94 mm.
const MODULE_MAX_MM: f32 = 0.6;

pub(super) fn draw(label: &Label) -> Page {
    let pt = |mm: f32| mm * PT_PER_MM;
    let mut page = Page::new(pt(label.width_mm), pt(label.height_mm));
    for mark in &label.marks {
        match mark {
            Mark::Text { x, y, height, bold, white, text } => {
                page.text(pt(*x), pt(y + height * ASCENT), pt(*height), *bold, *white, text);
            }
            Mark::Fill { x, y, width, height } => page.fill(pt(*x), pt(*y), pt(*width), pt(*height)),
            Mark::Barcode { x, y, width, height } => {
                let modules = label.symbol.modules();
                let module = (width / (modules.len() + 20) as f32).min(MODULE_MAX_MM);
                let left = x + (width - module * (modules.len() + 20) as f32) / 2.0 + 10.0 * module;
                // One rectangle per bar: a run of dark modules.
                let mut i = 0;
                while i < modules.len() {
                    if modules[i] {
                        let start = i;
                        while i < modules.len() && modules[i] {
                            i += 1;
                        }
                        let bar_x = left + start as f32 * module;
                        page.fill(pt(bar_x), pt(*y), pt((i - start) as f32 * module), pt(*height));
                    } else {
                        i += 1;
                    }
                }
            }
            Mark::Qr { x, y, side } => {
                let Some((n, colours)) = crate::qr::colors_with_fixed_mask(&label.qr) else { continue };
                let module = side / (n + 8) as f32;
                let (left, top) = (x + 4.0 * module, y + 4.0 * module);
                for row in 0..n {
                    let mut col = 0;
                    while col < n {
                        if colours[row * n + col] == qrcode::Color::Dark {
                            let start = col;
                            while col < n && colours[row * n + col] == qrcode::Color::Dark {
                                col += 1;
                            }
                            page.fill(
                                pt(left + start as f32 * module),
                                pt(top + row as f32 * module),
                                pt((col - start) as f32 * module),
                                pt(module),
                            );
                        } else {
                            col += 1;
                        }
                    }
                }
            }
        }
    }
    page
}

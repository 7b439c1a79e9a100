//! A parcel's QR token drawn as an image the locker's scanner reads from the recipient's screen: an
//! SVG element for the recipient's page, inline in its HTML, and a PNG for e-mails (mail clients do
//! not show SVG). Drawn by the `qrcode` crate (error correction M, the standard four-module quiet
//! zone), never by hand; the PNG is written by the `png` crate.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Pixels per module: a 132-character token (version 8, 49 modules and the quiet zone) is 456 px wide,
/// sharp on any screen and scaled down by the page's CSS when needed.
const MODULE_PX: u32 = 8;

/// The token as an inline `<svg>` element (no XML declaration), dark modules on white. `None` only for a
/// text too long for any QR code (about 2,300 bytes at level M); tokens are a few dozen bytes.
pub fn qr_svg(token: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(token.as_bytes(), EcLevel::M).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(MODULE_PX, MODULE_PX)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // The renderer writes a standalone document; a page embeds the element itself.
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}

/// Pixels per module of the PNG: 4 px make a 228-pixel image of a 132-character token (version 8), sharp
/// at the 200 px the e-mail shows it; one bit a pixel, so the image is a few kilobytes to draw and
/// compress.
const PNG_MODULE_PX: usize = 4;

/// The token as a PNG image (1-bit greyscale), dark modules on white with the quiet zone. `None` only
/// for a text too long for any QR code.
pub fn qr_png(token: &str) -> Option<Vec<u8>> {
    let (modules, colors) = colors_with_fixed_mask(token)?;
    let quiet = 4;
    let side = (modules + 2 * quiet) * PNG_MODULE_PX;
    // Rows of bits, 1 for white: one row per module row, repeated for each of its pixel rows.
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0xffu8; row_bytes * side];
    for my in 0..modules {
        let mut row = vec![0xffu8; row_bytes];
        for mx in (0..modules).filter(|mx| colors[my * modules + mx] == qrcode::Color::Dark) {
            for x in (mx + quiet) * PNG_MODULE_PX..(mx + quiet + 1) * PNG_MODULE_PX {
                row[x / 8] &= !(0x80 >> (x % 8));
            }
        }
        for y in (my + quiet) * PNG_MODULE_PX..(my + quiet + 1) * PNG_MODULE_PX {
            pixels[y * row_bytes..(y + 1) * row_bytes].copy_from_slice(&row);
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).ok()?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    // Fast (fdeflate): a QR image is long runs of two values; the best compression saved a few
    // hundred bytes an e-mail for ten times the work (`relais bench notify`).
    encoder.set_compression(png::Compression::Fast);
    // Each pixel row repeats the one above it but once a module: "up" makes those rows zeros.
    encoder.set_filter(png::Filter::Up);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&pixels).ok()?;
    writer.finish().ok()?;
    Some(out)
}

/// The token's modules (width, colours row by row) with the checkerboard mask, through the `qrcode`
/// crate's own steps (encoding, error correction, drawing). The crate otherwise scores all eight masks
/// and keeps the best, which was half of what one e-mail cost to send (`relais bench notify`); the
/// specification lets an encoder choose any mask (the format information names it, and every reader
/// reads it), and the score only makes a marginal code easier to read.
pub(crate) fn colors_with_fixed_mask(token: &str) -> Option<(usize, Vec<qrcode::Color>)> {
    let bits = qrcode::bits::encode_auto(token.as_bytes(), EcLevel::M).ok()?;
    let version = bits.version();
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).ok()?;
    let mut canvas = qrcode::canvas::Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    canvas.apply_mask(qrcode::canvas::MaskPattern::Checkerboard);
    Some((usize::try_from(version.width()).ok()?, canvas.into_colors()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the image back as a scanner would: the SVG's dark rectangles painted on a white raster,
    /// then decoded by a QR reader (rxing, a port of ZXing).
    fn decode(svg: &str) -> String {
        let attribute = |name: &str| -> u32 {
            let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            svg[at..].split('"').next().unwrap().parse().unwrap()
        };
        let (width, height) = (attribute("width"), attribute("height"));
        let mut luma = vec![255u8; (width * height) as usize];
        let path = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        // Each rectangle is `M{left} {top}h{width}v{height}H{left}V{top}`.
        for rect in path.split('M').filter(|r| !r.is_empty()) {
            let numbers: Vec<u32> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().unwrap())
                .collect();
            let [left, top, w, h, ..] = numbers[..] else { panic!("{rect}") };
            for y in top..top + h {
                for x in left..left + w {
                    luma[(y * width + x) as usize] = 0;
                }
            }
        }
        rxing::helpers::detect_in_luma(luma, width, height, Some(rxing::BarcodeFormat::QR_CODE))
            .unwrap_or_else(|e| panic!("the image does not decode: {e:?}"))
            .getText()
            .to_owned()
    }

    #[test]
    fn the_image_decodes_back_to_the_token() {
        // A re-issued token's length (the longest relais issues) and a short one.
        let long = format!("RQ1.{}", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_".repeat(4)[..128].to_owned());
        for token in [long.as_str(), "RQ1.short"] {
            let svg = qr_svg(token).unwrap();
            assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "an element to embed: {svg:.60}");
            assert_eq!(decode(&svg), token);
        }
        let long_svg = qr_svg(&long).unwrap();
        assert!(long_svg.contains(" width=\"456\""), "version 8 at 8 px a module: {long_svg:.200}");
    }

    #[test]
    fn the_png_decodes_back_to_the_token() {
        for token in ["RQ1.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfG", "RQ1.short"] {
            let png = qr_png(token).unwrap();
            assert!(png.len() < 4096, "small enough to attach: {} bytes", png.len());
            let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
            // One bit a pixel, read as one byte a pixel for the QR reader.
            decoder.set_transformations(png::Transformations::EXPAND);
            let mut reader = decoder.read_info().unwrap();
            let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
            let frame = reader.next_frame(&mut pixels).unwrap();
            assert_eq!(frame.color_type, png::ColorType::Grayscale);
            pixels.truncate(frame.buffer_size());
            let text =
                rxing::helpers::detect_in_luma(pixels, frame.width, frame.height, Some(rxing::BarcodeFormat::QR_CODE))
                    .unwrap_or_else(|e| panic!("the PNG does not decode: {e:?}"))
                    .getText()
                    .to_owned();
            assert_eq!(text, token);
        }
    }

    #[test]
    fn a_text_beyond_any_qr_code_is_refused() {
        assert_eq!(qr_svg(&"x".repeat(3000)), None);
        assert_eq!(qr_png(&"x".repeat(3000)), None);
    }
}

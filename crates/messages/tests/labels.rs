//! Labels read back as a scanner reads them, and their barcodes checked against a reference encoder.
//!
//! - Code 128: the symbols relais plans are compared with zint's test vectors
//!   (`../shared/data/gs1/zint_code128_vectors.json`, read in place): the symbol characters of the SSCC
//!   (NVE-18) cases and the bars, module by module, of the GS1-128 (00) and UPU S10 figures.
//! - PDF: each size and layout is rasterised by poppler's `pdftoppm` at 300 dpi and decoded by rxing
//!   (a port of ZXing): the Code 128 gives back `00` and the SSCC, the QR code its record.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use relais_messages::labels::code128::Symbol;
use relais_messages::labels::{Label, LabelContent, Layout, Size};
use serde_json::Value;

fn vectors() -> Option<Value> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/gs1/zint_code128_vectors.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(e) => {
            assert!(std::env::var_os("RELAIS_REQUIRE_SHARED_DATA").is_none(), "{}: {e}", path.display());
            eprintln!("SKIPPED: {} not found ({e})", path.display());
            None
        }
    }
}

/// `"(14) 105 102 0 ..."`: the symbol characters zint lists.
fn codewords(expected: &str) -> Vec<u16> {
    expected.split(") ").nth(1).unwrap().split(' ').map(|v| v.parse().unwrap()).collect()
}

fn bars(symbol: &Symbol) -> String {
    symbol.modules().into_iter().map(|dark| if dark { '1' } else { '0' }).collect()
}

#[test]
fn sscc_symbols_match_zints_nve18_vectors() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for case in vectors["test_nve18_input"].as_array().unwrap() {
        let data = case["data"].as_str().unwrap();
        // The cases relais' numbers look like: 18 digits, the check digit included and right.
        if case["ret"] != 0 || data.len() != 18 || !data.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let symbol = Symbol::sscc(data).unwrap();
        let expected = codewords(case["expected"].as_str().unwrap());
        // zint lists the characters before the stop, with the check character.
        assert_eq!(&symbol.codewords()[..symbol.codewords().len() - 1], &expected[..expected.len() - 1], "{data}");
        assert_eq!(symbol.modules().len(), case["expected_width"].as_u64().unwrap() as usize, "{data}");
        checked += 1;
    }
    assert!(checked >= 2, "the NVE-18 cases with a full SSCC were found: {checked}");
}

#[test]
fn gs1_128_sscc_and_s10_bars_match_zints_figures() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for case in vectors["test_encode"].as_array().unwrap() {
        let data = case["data"].as_str().unwrap();
        let symbology = case["symbology"].as_str().unwrap();
        let symbol = match symbology {
            "BARCODE_GS1_128" if data.starts_with("[00]") && data.len() == 22 => Symbol::sscc(&data[4..]).unwrap(),
            "BARCODE_UPU_S10" => Symbol::plain(data).unwrap(),
            "BARCODE_CODE128" if data.bytes().all(|b| b.is_ascii_alphanumeric()) => Symbol::plain(data).unwrap(),
            _ => continue,
        };
        let expected = case["expected"].as_str().unwrap();
        assert_eq!(bars(&symbol), expected, "{symbology} {data} ({})", case["comment"]);
        checked += 1;
    }
    // The GS1 General Specifications' SSCC figures, the S10 figure and ISO 15417's.
    assert!(checked >= 8, "figures checked: {checked}");
}

#[test]
fn gs1_128_symbol_characters_match_zint_where_its_encodation_is_the_reference() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for case in vectors["test_gs1_128_input"].as_array().unwrap() {
        let data = case["data"].as_str().unwrap();
        // Single (00) element strings: the only GS1 data relais puts in a barcode.
        let Some(sscc) = data.strip_prefix("[00]").filter(|d| d.len() == 18 && !d.contains('[')) else { continue };
        assert_eq!(Symbol::sscc(sscc).unwrap().codewords(), codewords(case["expected"].as_str().unwrap()));
        checked += 1;
    }
    eprintln!("(00) element strings in test_gs1_128_input: {checked}");
}

fn content() -> LabelContent {
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

/// The PDF rasterised at 300 dpi in grey by `pdftoppm` (poppler), as width, height and luma.
fn rasterise(pdf: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let dir = std::env::temp_dir().join(format!("relais-label-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("label.pdf");
    std::fs::write(&input, pdf).unwrap();
    let output = dir.join("label");
    let run = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png", "-singlefile"])
        .arg(&input)
        .arg(&output)
        .status();
    match run {
        Ok(status) => assert!(status.success(), "pdftoppm refused the label"),
        Err(e) => {
            assert!(std::env::var_os("RELAIS_REQUIRE_PDFTOTEXT").is_none(), "pdftoppm is required: {e}");
            eprintln!("SKIPPED: pdftoppm not installed ({e})");
            return None;
        }
    }
    let png = std::fs::read(dir.join("label.png")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    buffer.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    let luma: Vec<u8> = buffer.chunks(channels).map(|px| px[0]).collect();
    Some((info.width, info.height, luma))
}

/// A directory name no other rasterisation in this process uses (tests run in parallel).
fn rand_suffix() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn decode(raster: &(u32, u32, Vec<u8>), format: rxing::BarcodeFormat) -> rxing::RXingResult {
    let (width, height, luma) = raster;
    let mut hints = rxing::DecodeHints::default().with(rxing::DecodeHintValue::TryHarder(true));
    rxing::helpers::detect_in_luma_with_hints(luma.clone(), *width, *height, Some(format), &mut hints)
        .unwrap_or_else(|e| panic!("no {format:?} found in the rendered label: {e:?}"))
}

#[test]
fn every_size_and_layout_decodes_back_from_the_rendered_pdf() {
    let content = content();
    for size in Size::ALL {
        for layout in Layout::ALL {
            let pdf = Label::new(&content, layout, size).unwrap().pdf();
            let Some(raster) = rasterise(&pdf) else { return };
            // 300 dpi: the stock's size in pixels (poppler rounds up).
            let (w, h) = size.mm();
            assert!(raster.0.abs_diff((w / 25.4 * 300.0).round() as u32) <= 1, "{size:?}: {}", raster.0);
            assert!(raster.1.abs_diff((h / 25.4 * 300.0).round() as u32) <= 1, "{size:?}: {}", raster.1);
            let barcode = decode(&raster, rxing::BarcodeFormat::CODE_128);
            // ZXing reports GS1 data with FNC1 as the symbology identifier ]C1 and the element string.
            assert_eq!(barcode.getText(), "00376123450000000014", "{size:?} {layout:?}");
            let metadata = format!("{:?}", barcode.getRXingResultMetadata());
            assert!(metadata.contains("]C1"), "a GS1-128 symbol (FNC1 first): {metadata}");
            let qr = decode(&raster, rxing::BarcodeFormat::QR_CODE);
            assert_eq!(qr.getText(), "RL1|376123450000000014|LYO-0042", "{size:?} {layout:?}");
        }
    }
    // An S10 number prints as plain Code 128.
    let s10 = LabelContent { parcel_number: "RR123456785FR".into(), ..content };
    let Some(raster) = rasterise(&Label::new(&s10, Layout::Standard, Size::Cm10x15).unwrap().pdf()) else { return };
    assert_eq!(decode(&raster, rxing::BarcodeFormat::CODE_128).getText(), "RR123456785FR");
}

//! `relais bench labels`: parcel labels rendered on one core (layout, Code 128 planning and bars, QR
//! sizing, ZPL and PDF writing), against a bare loop that writes the same ZPL text from fields worked
//! out beforehand (no layout, no barcode encoding). Both run on the calling thread only.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use relais_messages::labels::{Dpi, Label, LabelContent, Layout, Size};

pub struct LabelsOptions {
    pub labels: usize,
    /// PDF labels rendered (they cost more; a tenth of the ZPL ones by default).
    pub pdf_labels: usize,
}

/// Varied labels: SSCCs of a series, French names and addresses of different lengths, both layouts.
fn contents(count: usize) -> Vec<(LabelContent, Layout)> {
    const STREETS: [&str; 4] =
        ["12 rue de la République", "3 quai Saint-Antoine", "145 avenue Jean Jaurès", "7 place Bellecour"];
    const NAMES: [&str; 4] = ["Camille Martin", "Léa Dubois-Lefèvre", "Hugo Petit", "Zoé Bernard"];
    (0..count)
        .map(|i| {
            let serial = format!("37612345{:09}", i % 1_000_000_000);
            let check = relais_domain::value::gs1_check_digit(&serial).unwrap_or(0);
            let content = LabelContent {
                parcel_number: format!("{serial}{check}"),
                network_name: "Réseau Relais Lyon".into(),
                point_code: format!("LYO-{:04}", i % 5000),
                point_name: format!("Tabac de la Presqu'île n°{}", i % 97),
                point_address: vec![STREETS[i % 4].into(), "69002 Lyon FR".into()],
                sender: vec!["Boutique Exemple".into(), STREETS[(i + 1) % 4].into(), "69002 Lyon FR".into()],
                recipient_name: NAMES[i % 4].into(),
                recipient_phone: Some("+336******78".into()),
                weight_g: 200 + (i as u32 * 37) % 20_000,
                order: Some((format!("CMD-{i:06}"), 1, 1 + (i as u32 % 3))),
            };
            (content, if i % 2 == 0 { Layout::Standard } else { Layout::Sorting })
        })
        .collect()
}

/// A label's ZPL cut into what the bare loop writes: each line's command prefix and its field data.
fn fields(zpl: &str) -> Vec<(String, String)> {
    zpl.lines()
        .map(|line| match line.find("^FD") {
            Some(at) => (line[..at + 3].to_owned(), line[at + 3..].trim_end_matches("^FS").to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect()
}

/// The bare loop: the same text, from the prefixes and data, with `^FS` closing each field.
fn bare_zpl(fields: &[(String, String)]) -> String {
    let mut out = String::with_capacity(2048);
    for (prefix, data) in fields {
        if prefix.ends_with("^FD") {
            let _ = writeln!(out, "{prefix}{data}^FS");
        } else {
            let _ = writeln!(out, "{prefix}");
        }
    }
    out
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

pub fn labels(options: LabelsOptions) -> Result<String, String> {
    let inputs = contents(options.labels.max(1));
    let size = Size::Cm10x15;

    // Warm up (allocator, code paths), then ZPL through the whole pipeline.
    for (content, layout) in inputs.iter().take(200) {
        let _ = Label::new(content, *layout, size).map_err(|e| e.0)?.zpl(Dpi::D203);
    }
    let started = Instant::now();
    let mut zpl_bytes = 0usize;
    let mut rendered = Vec::with_capacity(inputs.len());
    for (content, layout) in &inputs {
        let zpl = Label::new(content, *layout, size).map_err(|e| e.0)?.zpl(Dpi::D203);
        zpl_bytes += zpl.len();
        rendered.push(zpl);
    }
    let zpl_time = started.elapsed();

    // The baseline writes the same text from its fields, cut out beforehand.
    let prepared: Vec<Vec<(String, String)>> = rendered.iter().map(|z| fields(z)).collect();
    let started = Instant::now();
    let mut bare = Vec::with_capacity(prepared.len());
    for label in &prepared {
        bare.push(bare_zpl(label));
    }
    let bare_time = started.elapsed();
    if bare != rendered {
        return Err("the bare loop must write the very same ZPL text".into());
    }

    let pdf_count = options.pdf_labels.clamp(1, inputs.len());
    let started = Instant::now();
    let mut pdf_bytes = 0usize;
    for (content, layout) in inputs.iter().take(pdf_count) {
        pdf_bytes += Label::new(content, *layout, size).map_err(|e| e.0)?.pdf().len();
    }
    let pdf_time = started.elapsed();

    let zpl_per_s = per_second(inputs.len(), zpl_time);
    let pdf_per_s = per_second(pdf_count, pdf_time);
    let bare_per_s = per_second(prepared.len(), bare_time);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ZPL: {} labels (10x15 cm, 203 dpi, both layouts) in {:.3} s on one core: {:.0} labels/s (target 2,000), {} bytes each on average",
        inputs.len(),
        zpl_time.as_secs_f64(),
        zpl_per_s,
        zpl_bytes / inputs.len()
    );
    let _ = writeln!(
        out,
        "PDF: {pdf_count} labels in {:.3} s on one core: {pdf_per_s:.0} labels/s (target 200), {} bytes each on average",
        pdf_time.as_secs_f64(),
        pdf_bytes / pdf_count
    );
    let _ = writeln!(
        out,
        "baseline: the same ZPL text from prepared fields (no layout, no barcode): {bare_per_s:.0} labels/s; relais' ZPL at {:.2} of it",
        zpl_per_s / bare_per_s
    );
    let _ = write!(out, "zpl_per_s={zpl_per_s:.0} pdf_per_s={pdf_per_s:.0} baseline_zpl_per_s={bare_per_s:.0}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bare_loop_writes_the_same_text_and_the_last_line_has_the_three_figures() {
        let out = labels(LabelsOptions { labels: 20, pdf_labels: 4 }).unwrap();
        let last = out.lines().last().unwrap();
        let figures: Vec<&str> = last.split(' ').map(|kv| kv.split('=').next().unwrap()).collect();
        assert_eq!(figures, ["zpl_per_s", "pdf_per_s", "baseline_zpl_per_s"], "{out}");
        assert!(last.split(' ').all(|kv| kv.split('=').nth(1).unwrap().parse::<f64>().unwrap() > 0.0));
        // The generated numbers are valid SSCCs.
        let (content, _) = &contents(3)[2];
        assert!(relais_domain::value::ParcelNumber::parse(&content.parcel_number).is_ok());
    }
}

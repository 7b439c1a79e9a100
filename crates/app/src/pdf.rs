//! A minimal PDF writer for printed documents (the proof of deposit): A4 pages of left-aligned lines in
//! Helvetica, nothing else. Enough for a receipt a courier or a depot files; not a layout engine, and
//! no dependency for one.

/// Lines per A4 page at 11 pt with a 14 pt leading and 2 cm margins.
const LINES_PER_PAGE: usize = 52;
const PAGE_WIDTH: u32 = 595;
const PAGE_HEIGHT: u32 = 842;
const MARGIN: u32 = 56;
const LEADING: u32 = 14;

/// A line of text and its size in points.
pub struct Line {
    pub text: String,
    pub size: u8,
}

impl Line {
    pub fn new(text: impl Into<String>) -> Line {
        Line { text: text.into(), size: 11 }
    }

    pub fn title(text: impl Into<String>) -> Line {
        Line { text: text.into(), size: 16 }
    }
}

/// The PDF file of these lines, paginated.
pub fn document(title: &str, lines: &[Line]) -> Vec<u8> {
    let pages: Vec<&[Line]> = if lines.is_empty() { vec![&[]] } else { lines.chunks(LINES_PER_PAGE).collect() };
    // Objects: 1 catalog, 2 page tree, 3 font, 4 info, then a page and its content per page.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 5 + 2 * i).collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()).into_bytes());
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
    let mut info = b"<< /Producer (relais) /Title ".to_vec();
    info.extend(pdf_string(title));
    info.extend(b" >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        let content_id = page_ids[i] + 1;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            )
            .into_bytes(),
        );
        let mut stream = Vec::new();
        let mut y = PAGE_HEIGHT - MARGIN;
        for line in page.iter() {
            stream.extend(format!("BT /F1 {} Tf {MARGIN} {y} Td ", line.size).into_bytes());
            stream.extend(pdf_string(&line.text));
            stream.extend(b" Tj ET\n");
            y = y.saturating_sub(LEADING + u32::from(line.size.saturating_sub(11)));
        }
        let mut object = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        object.extend(stream);
        object.extend(b"endstream");
        objects.push(object);
    }

    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(object);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .into_bytes(),
    );
    out
}

/// A PDF literal string in WinAnsi (Latin-1 for the letters of French and English); a character
/// outside it prints as `?`.
fn pdf_string(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            '\u{20}'..='\u{7e}' => out.push(c as u8),
            '\u{a0}'..='\u{ff}' => out.push(c as u32 as u8),
            '\u{2019}' => out.push(0x92),
            '\u{20ac}' => out.push(0x80),
            _ => out.push(b'?'),
        }
    }
    out.push(b')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let lines: Vec<Line> = (0..120).map(|i| Line::new(format!("ligne {i} (dépôt) \\ ok"))).collect();
        let pdf = document("Preuve de dépôt", &lines);
        assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle).unwrap();
        // 120 lines make 3 pages: 4 fixed objects + 2 per page.
        find(b"/Count 3");
        let tail = std::str::from_utf8(&pdf[find(b"startxref\n")..]).unwrap();
        let xref_at: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        let table = std::str::from_utf8(&pdf[xref_at..]).unwrap();
        assert!(table.starts_with("xref\n0 11\n"));
        let entries: Vec<usize> = table.lines().skip(3).take(10).map(|l| l[..10].parse().unwrap()).collect();
        for (i, offset) in entries.into_iter().enumerate() {
            assert!(pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()), "object {}", i + 1);
        }
        // Escaped parentheses and backslash, Latin-1 accents as single bytes.
        assert!(pdf.windows(16).any(|w| w == b"(ligne 0 \\(d\xe9p\xf4t"));
        assert!(pdf.windows(4).any(|w| w == b"\\\\ o"));
    }
}

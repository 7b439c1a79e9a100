//! A minimal PDF writer for printed documents: pages of text in Helvetica (regular and bold) and filled
//! rectangles, nothing else. Enough for a proof of deposit, a parcel label (its bars and QR modules are
//! rectangles) and a packing list; not a layout engine, and no dependency for one. Coordinates are in
//! points (1/72 in) from the page's top-left corner, as a label is designed; the writer turns them
//! into PDF's bottom-up space.

use std::fmt::Write as _;

/// Lines per A4 page at 11 pt with a 14 pt leading and 2 cm margins.
const LINES_PER_PAGE: usize = 52;
/// A4, in points.
pub const A4: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 56.0;
const LEADING: f32 = 14.0;

/// Points per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;

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

/// One page being drawn: its size and its content stream.
pub struct Page {
    width: f32,
    height: f32,
    content: String,
}

impl Page {
    /// A blank page of this size in points.
    pub fn new(width: f32, height: f32) -> Page {
        Page { width, height, content: String::with_capacity(8 * 1024) }
    }

    pub fn size(&self) -> (f32, f32) {
        (self.width, self.height)
    }

    /// Text whose baseline starts at (`x`, `y`) from the top-left corner, `size` points high, in black or
    /// in white (on a filled band).
    pub fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, white: bool, text: &str) {
        let font = if bold { "F2" } else { "F1" };
        let colour = if white { "1 g" } else { "0 g" };
        let _ = write!(self.content, "{colour} BT /{font} {size:.2} Tf {x:.2} {:.2} Td ", self.height - y);
        // A String holds UTF-8; the literal is WinAnsi bytes, so it goes through `pdf_string` and back
        // as Latin-1 chars (each byte one char below 256), which `write_file` writes as single bytes.
        for byte in pdf_string(text) {
            self.content.push(char::from(byte));
        }
        self.content.push_str(" Tj ET\n");
    }

    /// A black rectangle whose top-left corner is at (`x`, `y`).
    pub fn fill(&mut self, x: f32, y: f32, width: f32, height: f32) {
        let _ = writeln!(self.content, "0 g {x:.2} {:.2} {width:.2} {height:.2} re f", self.height - y - height);
    }

    /// A rectangle outline `thickness` points wide, inside the given box.
    pub fn frame(&mut self, x: f32, y: f32, width: f32, height: f32, thickness: f32) {
        let half = thickness / 2.0;
        let _ = writeln!(
            self.content,
            "0 G {thickness:.2} w {:.2} {:.2} {:.2} {:.2} re S",
            x + half,
            self.height - y - height + half,
            width - thickness,
            height - thickness
        );
    }
}

/// The PDF file of these lines, paginated on A4.
pub fn document(title: &str, lines: &[Line]) -> Vec<u8> {
    let chunks: Vec<&[Line]> = if lines.is_empty() { vec![&[]] } else { lines.chunks(LINES_PER_PAGE).collect() };
    let pages: Vec<Page> = chunks
        .iter()
        .map(|chunk| {
            let mut page = Page::new(A4.0, A4.1);
            let mut y = MARGIN;
            for line in chunk.iter() {
                page.text(MARGIN, y, f32::from(line.size), false, false, &line.text);
                y += LEADING + f32::from(line.size.saturating_sub(11));
            }
            page
        })
        .collect();
    write_file(title, &pages)
}

/// The PDF file of these pages.
pub fn write_file(title: &str, pages: &[Page]) -> Vec<u8> {
    // Objects: 1 catalog, 2 page tree, 3 and 4 fonts, 5 info, then a page and its content per page.
    let mut objects: Vec<Vec<u8>> = Vec::with_capacity(5 + 2 * pages.len());
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 6 + 2 * i).collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()).into_bytes());
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec());
    let mut info = b"<< /Producer (relais) /Title ".to_vec();
    info.extend(pdf_string(title));
    info.extend(b" >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        let content_id = page_ids[i] + 1;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {:.2} {:.2}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>",
                page.width, page.height
            )
            .into_bytes(),
        );
        // Every char of the content is below 256 (ASCII operators, Latin-1 text bytes): one byte each.
        let stream: Vec<u8> = page.content.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
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
        format!("trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
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
        // 120 lines make 3 pages: 5 fixed objects + 2 per page.
        find(b"/Count 3");
        let tail = std::str::from_utf8(&pdf[find(b"startxref\n")..]).unwrap();
        let xref_at: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        let table = std::str::from_utf8(&pdf[xref_at..]).unwrap();
        assert!(table.starts_with("xref\n0 12\n"));
        let entries: Vec<usize> = table.lines().skip(3).take(11).map(|l| l[..10].parse().unwrap()).collect();
        for (i, offset) in entries.into_iter().enumerate() {
            assert!(pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()), "object {}", i + 1);
        }
        // Escaped parentheses and backslash, Latin-1 accents as single bytes.
        assert!(pdf.windows(16).any(|w| w == b"(ligne 0 \\(d\xe9p\xf4t"));
        assert!(pdf.windows(4).any(|w| w == b"\\\\ o"));
    }
}

//! CSV rows relais writes for merchants' systems (the parcel export, packing requests), through the
//! `csv` crate that already reads their files: fields quoted when they hold a comma, a quote or a line
//! break.

/// One row, without its line break.
pub(crate) fn line(fields: &[&str]) -> String {
    line_with(fields, b',')
}

/// One row with another separator (`;` where the comma is the decimal mark).
pub(crate) fn line_with(fields: &[&str], delimiter: u8) -> String {
    let mut writer =
        csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // Writing to memory cannot fail; an empty row is the worst case.
    let _ = writer.write_record(fields);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_owned()
}

/// A field a spreadsheet will show: one starting with `=`, `+`, `-` or `@` gets a leading `'`, so it is
/// not run as a formula.
pub(crate) fn inert(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(line(&["a", "b,c", "say \"hi\"", "", "two\nlines"]), "a,\"b,c\",\"say \"\"hi\"\"\",,\"two\nlines\"");
        assert_eq!(line(&["plain"]), "plain");
        assert_eq!(inert("=1+1"), "'=1+1");
        assert_eq!(inert("LMP-042"), "LMP-042");
    }
}

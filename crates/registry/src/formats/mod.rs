//! Import formats: each operator's point file turned into [`NewPoint`] records, one per row, with the
//! rows that cannot be read reported by line and reason (a bad row never stops the others; the import
//! use case decides whether the file as a whole is acceptable).
//!
//! Adapters only translate: they map the operator's fields and hour encodings to ours and leave every
//! rule to [`crate::record::PointValidator`].

pub mod canonical;
pub mod colissimo;
pub mod dpd;
pub mod inpost;
pub mod laposte;
pub mod mondial_relay;
mod xml;

use std::fmt;

use crate::record::NewPoint;

/// The formats `relais import points --format` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// relais' own CSV (`docs/import-formats.md`).
    Csv,
    /// relais' own JSON Lines: one point object per line, same field names as the CSV.
    Jsonl,
    /// La Poste's contact points open-data CSV (`;`-separated).
    LaPoste,
    /// Mondial Relay's point search response (`WSI4_PointRelais_Recherche`, SOAP XML).
    MondialRelay,
    /// InPost's points API (`GET /v1/points`, JSON page or array).
    InPost,
    /// DPD's `GetPudoList` response (XML).
    Dpd,
    /// Colissimo's point retrait response (`findRDVPointRetraitAcheminement`, SOAP XML).
    Colissimo,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Csv,
        Format::Jsonl,
        Format::LaPoste,
        Format::MondialRelay,
        Format::InPost,
        Format::Dpd,
        Format::Colissimo,
    ];

    pub fn parse(name: &str) -> Result<Format, String> {
        Self::ALL.into_iter().find(|f| f.as_str() == name).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|f| f.as_str()).collect();
            format!("unknown format {name:?}; one of {}", names.join(", "))
        })
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::LaPoste => "laposte",
            Format::MondialRelay => "mondial_relay",
            Format::InPost => "inpost",
            Format::Dpd => "dpd",
            Format::Colissimo => "colissimo",
        }
    }

    /// Reads a whole file. `Err` when nothing of it can be read (encoding, missing columns, empty).
    pub fn read(self, bytes: &[u8], encoding: Encoding) -> Result<Parsed, FileError> {
        let text = encoding.decode(bytes)?;
        if text.trim().is_empty() {
            return Err(FileError::Empty);
        }
        match self {
            Format::Csv => canonical::read_csv(&text),
            Format::Jsonl => canonical::read_jsonl(&text),
            Format::LaPoste => laposte::read(&text),
            Format::MondialRelay => mondial_relay::read(&text),
            Format::InPost => inpost::read(&text),
            Format::Dpd => dpd::read(&text),
            Format::Colissimo => colissimo::read(&text),
        }
    }
}

/// The character encoding of a file. Operators' files are UTF-8 or, from older systems, ISO-8859-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
}

impl Encoding {
    pub const ALL: [Encoding; 2] = [Encoding::Utf8, Encoding::Latin1];

    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Latin1 => "iso-8859-1",
        }
    }

    pub fn parse(name: &str) -> Result<Encoding, String> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" => Ok(Encoding::Latin1),
            _ => Err(format!("unknown encoding {name:?}; one of utf-8, iso-8859-1")),
        }
    }

    /// The text of the file, without a UTF-8 byte-order mark. A UTF-8 file with a byte that is not UTF-8
    /// is refused with the line it is on: guessing would import mangled names.
    pub fn decode(self, bytes: &[u8]) -> Result<String, FileError> {
        match self {
            Encoding::Utf8 => {
                let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                match std::str::from_utf8(bytes) {
                    Ok(text) => Ok(text.to_owned()),
                    Err(e) => {
                        let at = e.valid_up_to();
                        let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
                        Err(FileError::Encoding { line })
                    }
                }
            }
            // ISO-8859-1 maps each byte to the code point of the same number.
            Encoding::Latin1 => Ok(bytes.iter().map(|b| char::from(*b)).collect()),
        }
    }
}

/// One record read from a file, with the line it starts on (1 = the first line of the file) and, in a
/// JSON array, its position (1 = the first item): a file on one line has every item on line 1.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    pub item: Option<usize>,
    pub point: NewPoint,
}

/// A row that could not be read or validated, or was read with a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    /// The record's position in a JSON array (1 = the first).
    pub item: Option<usize>,
    /// The operator's id of the point, when the row got that far.
    pub external_id: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item {
            Some(item) => write!(f, "item {item} (line {})", self.line)?,
            None => write!(f, "line {}", self.line)?,
        }
        match &self.external_id {
            Some(id) => write!(f, " ({id}): {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

/// What a file holds: the readable rows, and the others with their reasons.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<Row>,
    pub errors: Vec<RowError>,
    /// Rows taken with something left out (hours that could not be read): reported, not refused.
    pub warnings: Vec<RowError>,
}

impl Parsed {
    pub fn total(&self) -> usize {
        self.rows.len() + self.errors.len()
    }
}

/// A file that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    Empty,
    Encoding { line: usize },
    MissingColumns(Vec<String>),
    Corrupt { line: usize, message: String },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Empty => f.write_str("the file is empty"),
            FileError::Encoding { line } => {
                write!(f, "line {line}: the file is not valid UTF-8 (an ISO-8859-1 file? try --encoding iso-8859-1)")
            }
            FileError::MissingColumns(columns) => {
                write!(f, "line 1: the header lacks the column(s) {}", columns.join(", "))
            }
            FileError::Corrupt { line, message } => write!(f, "line {line}: {message}"),
        }
    }
}

/// Line numbers of byte offsets of one text, for offsets that mostly increase (rows in file order):
/// each call counts only the newlines since the previous one.
pub(crate) struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lines { text: text.as_bytes(), offset: 0, line: 1 }
    }

    /// The line (1-based) `byte` is on. Computed here rather than taken from the CSV reader, whose line
    /// count drifts on files with `\r\n` line ends (La Poste's).
    pub(crate) fn at(&mut self, byte: u64) -> usize {
        let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        // With `\r\n` ends the CSV reader reports a record as starting on the `\n` before it.
        while matches!(self.text.get(end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        if end < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += self.text[self.offset..end].iter().filter(|b| **b == b'\n').count();
        self.offset = end;
        self.line
    }
}

/// Reads a delimited file with a header line: checks the header has the `required` columns, then hands
/// each record and its line to `row`; records the reader cannot split are reported by line.
pub(crate) fn csv_rows(
    text: &str,
    delimiter: u8,
    required: &[&str],
    mut row: impl FnMut(&Header, &csv::StringRecord, usize, &mut Parsed),
) -> Result<Parsed, FileError> {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let header = Header::new(reader.headers().map_err(|e| FileError::Corrupt { line: 1, message: e.to_string() })?);
    header.require(required)?;
    let mut parsed = Parsed::default();
    let mut lines = Lines::new(text);
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| lines.at(p.byte()));
                row(&header, &record, line, &mut parsed);
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.at(p.byte()));
                parsed.errors.push(RowError {
                    line,
                    item: None,
                    external_id: None,
                    message: format!("unreadable row: {e}"),
                });
            }
        }
    }
    Ok(parsed)
}

/// Collects the rows of an element-per-point XML document: each record deserialised as `T`, then
/// turned into a point; a record that cannot be read or turned is a bad row with its line.
pub(crate) fn xml_rows<T: serde::de::DeserializeOwned>(
    text: &str,
    element: &str,
    point: impl Fn(&T, &mut Vec<String>) -> Result<NewPoint, String>,
) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::default();
    for record in xml::records::<T>(text, element)? {
        let line = record.line;
        let item = match record.read {
            Ok(item) => item,
            Err(message) => {
                parsed.errors.push(RowError { line, item: None, external_id: None, message });
                continue;
            }
        };
        let mut warnings = Vec::new();
        match point(&item, &mut warnings) {
            Ok(point) => {
                let external_id = Some(point.external_id.clone());
                parsed.warnings.extend(warnings.into_iter().map(|message| RowError {
                    line,
                    item: None,
                    external_id: external_id.clone(),
                    message,
                }));
                parsed.rows.push(Row { line, item: None, point });
            }
            Err(message) => parsed.errors.push(RowError { line, item: None, external_id: None, message }),
        }
    }
    Ok(parsed)
}

/// Weekly slots given as (weekday, from, to) triples, as an `opening_hours` value; `None` when the
/// source gives no slot at all (hours unknown, not "closed all week").
pub(crate) fn weekly_value(slots: &[(usize, String, String)]) -> Result<Option<String>, String> {
    if slots.is_empty() {
        return Ok(None);
    }
    let mut weekly = relais_hours::weekly::Weekly::new();
    for (day, from, to) in slots {
        weekly.add(*day, from, to).map_err(|e| format!("opening hours: {e}"))?;
    }
    Ok(Some(weekly.to_value()))
}

/// The day of a date written `YYYY-MM-DD...` (ISO, with or without a time) or `DD/MM/YYYY`.
pub(crate) fn day_of(text: &str) -> Result<String, String> {
    let text = text.trim();
    let parsed = chrono::NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%d/%m/%Y"));
    parsed.map(|d| d.to_string()).map_err(|_| format!("{text:?} is not a date"))
}

/// The IANA timezone of a country's points (the countries operators' files cover); `None` leaves the
/// validator's default.
pub fn timezone_of(country: &str) -> Option<String> {
    let zone = match country {
        "FR" | "MC" => "Europe/Paris",
        "AD" => "Europe/Andorra",
        "BE" => "Europe/Brussels",
        "LU" => "Europe/Luxembourg",
        "DE" => "Europe/Berlin",
        "NL" => "Europe/Amsterdam",
        "ES" => "Europe/Madrid",
        "PT" => "Europe/Lisbon",
        "IT" => "Europe/Rome",
        "AT" => "Europe/Vienna",
        "PL" => "Europe/Warsaw",
        "CZ" => "Europe/Prague",
        "GB" => "Europe/London",
        "IE" => "Europe/Dublin",
        "CH" => "Europe/Zurich",
        _ => return None,
    };
    Some(zone.to_owned())
}

/// ISO 3166 alpha-3 codes of the countries operators' files use, to alpha-2.
pub(crate) fn country_alpha2(code: &str) -> String {
    const ALPHA3: [(&str, &str); 16] = [
        ("FRA", "FR"),
        ("BEL", "BE"),
        ("LUX", "LU"),
        ("DEU", "DE"),
        ("NLD", "NL"),
        ("ESP", "ES"),
        ("PRT", "PT"),
        ("ITA", "IT"),
        ("AUT", "AT"),
        ("POL", "PL"),
        ("CZE", "CZ"),
        ("GBR", "GB"),
        ("IRL", "IE"),
        ("CHE", "CH"),
        ("MCO", "MC"),
        ("AND", "AD"),
    ];
    let code = code.trim().to_ascii_uppercase();
    ALPHA3.iter().find(|(a3, _)| *a3 == code).map_or(code, |(_, a2)| (*a2).to_owned())
}

/// A number written with a decimal point or a decimal comma (Mondial Relay, French spreadsheets).
pub(crate) fn decimal(field: &str, text: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{field} is missing"));
    }
    text.replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{field} {text:?} is not a number"))
}

/// The columns of a CSV header, `missing` those of `required` it lacks.
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn new(record: &csv::StringRecord) -> Header {
        Header { names: record.iter().map(|n| n.trim().trim_start_matches('#').to_owned()).collect() }
    }

    pub(crate) fn require(&self, required: &[&str]) -> Result<(), FileError> {
        let missing: Vec<String> =
            required.iter().filter(|r| !self.names.iter().any(|n| n == *r)).map(|r| (*r).to_owned()).collect();
        if missing.is_empty() { Ok(()) } else { Err(FileError::MissingColumns(missing)) }
    }

    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(Encoding::Utf8.decode("\u{feff}a;é".as_bytes()).unwrap(), "a;é");
        assert_eq!(Encoding::Utf8.decode(b"a\nb\nSaint-\xC9tienne\n"), Err(FileError::Encoding { line: 3 }));
        assert_eq!(Encoding::Latin1.decode(b"Saint-\xC9tienne").unwrap(), "Saint-Étienne");
        assert_eq!(Encoding::parse("ISO-8859-1"), Ok(Encoding::Latin1));
        assert!(Encoding::parse("cp1252").is_err());
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal("latitude", "45,764043"), Ok(45.764043));
        assert_eq!(decimal("latitude", " 4.83 "), Ok(4.83));
        assert!(decimal("latitude", "").unwrap_err().contains("missing"));
        assert!(decimal("latitude", "NaN").is_err());
        assert!(decimal("latitude", "45.1.2").is_err());
    }

    #[test]
    fn formats_by_name() {
        for format in Format::ALL {
            assert_eq!(Format::parse(format.as_str()), Ok(format));
        }
        assert!(Format::parse("xml").unwrap_err().contains("csv, jsonl"));
        assert_eq!(Format::Csv.read(b" \n", Encoding::Utf8).unwrap_err(), FileError::Empty);
    }
}

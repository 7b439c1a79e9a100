//! Parcel numbers relais issues: SSCC-18 from a merchant's GS1 company prefix, and UPU S10 numbers from
//! a postal network's range. A series hands out serials in increasing order; the serials of one
//! number are never issued twice within [`REUSE_AFTER_DAYS`] (GS1's rule for SSCCs): a series that
//! comes round to a serial issued less than that ago is exhausted, not reused.

use crate::value::{ParcelNumber, ParseError, gs1_check_digit, s10_check_digit};

/// How long a serial stays unused after it was issued, at least.
pub const REUSE_AFTER_DAYS: i64 = 366;

/// A numbering series: how a serial becomes a parcel number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Series {
    /// GS1 SSCC-18: the extension digit, the company prefix (7 to 10 digits), the serial reference
    /// (the rest of 16 digits), the check digit.
    Sscc { extension_digit: u8, company_prefix: String },
    /// UPU S10: the service indicator (2 letters), 8 digits from `first` to `last`, the check digit, the
    /// country (ISO 3166 alpha-2).
    S10 { service: String, country: String, first: u32, last: u32 },
}

impl Series {
    pub fn sscc(extension_digit: i64, company_prefix: &str) -> Result<Series, ParseError> {
        let extension_digit = u8::try_from(extension_digit)
            .ok()
            .filter(|d| *d <= 9)
            .ok_or_else(|| ParseError::new("extension_digit", "is one digit, 0 to 9"))?;
        let prefix = company_prefix.trim();
        if !(7..=10).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("company_prefix", "a GS1 company prefix is 7 to 10 digits"));
        }
        Ok(Series::Sscc { extension_digit, company_prefix: prefix.to_owned() })
    }

    pub fn s10(service: &str, country: &str, first: i64, last: i64) -> Result<Series, ParseError> {
        let service = service.trim().to_ascii_uppercase();
        if service.len() != 2 || !service.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ParseError::new("service", "a UPU service indicator is 2 letters (EE, CP, RR...)"));
        }
        let country = country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ParseError::new("country", "an ISO 3166 country code is 2 letters"));
        }
        let serial = |field, n: i64| {
            u32::try_from(n).ok().filter(|n| *n <= 99_999_999).ok_or_else(|| ParseError::new(field, "is 0 to 99999999"))
        };
        let (first, last) = (serial("first", first)?, serial("last", last)?);
        if last < first {
            return Err(ParseError::new("last", "the range ends before it starts"));
        }
        Ok(Series::S10 { service, country, first, last })
    }

    /// How many serials the series has.
    pub fn capacity(&self) -> u64 {
        match self {
            Series::Sscc { company_prefix, .. } => 10u64.pow(16 - company_prefix.len() as u32),
            Series::S10 { first, last, .. } => u64::from(last - first) + 1,
        }
    }

    /// The `index`-th number of the series (0-based, below [`Series::capacity`]).
    pub fn number(&self, index: u64) -> Option<ParcelNumber> {
        if index >= self.capacity() {
            return None;
        }
        let text = match self {
            Series::Sscc { extension_digit, company_prefix } => {
                let width = 16 - company_prefix.len();
                let data = format!("{extension_digit}{company_prefix}{index:0width$}");
                format!("{data}{}", gs1_check_digit(&data)?)
            }
            Series::S10 { service, country, first, .. } => {
                let serial = format!("{:08}", u64::from(*first) + index);
                format!("{service}{serial}{}{country}", s10_check_digit(&serial)?)
            }
        };
        ParcelNumber::parse(&text).ok()
    }

    /// The series as stored: `sscc:<extension digit>:<company prefix>` or
    /// `s10:<service>:<country>:<first>:<last>`. Two owners with one definition make the same numbers.
    pub fn definition(&self) -> String {
        match self {
            Series::Sscc { extension_digit, company_prefix } => format!("sscc:{extension_digit}:{company_prefix}"),
            Series::S10 { service, country, first, last } => format!("s10:{service}:{country}:{first}:{last}"),
        }
    }

    pub fn parse_definition(text: &str) -> Option<Series> {
        let fields: Vec<&str> = text.split(':').collect();
        match fields[..] {
            ["sscc", digit, prefix] => Series::sscc(digit.parse().ok()?, prefix).ok(),
            ["s10", service, country, first, last] => {
                Series::s10(service, country, first.parse().ok()?, last.parse().ok()?).ok()
            }
            _ => None,
        }
    }

    /// What the API calls it.
    pub fn kind(&self) -> &'static str {
        match self {
            Series::Sscc { .. } => "sscc",
            Series::S10 { .. } => "s10",
        }
    }
}

/// The block of up to `count` serials a series hands out from its next serial `next`: `(start, count)`,
/// from 0 again once the series is at its end, never past it. Whether the block's serials were taken
/// within [`REUSE_AFTER_DAYS`] is the caller's to check against the blocks it took.
pub fn take(next: u64, count: u64, capacity: u64) -> (u64, u64) {
    let start = next % capacity;
    let count = count.min(capacity - start);
    (start, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssccs_have_their_check_digit_and_their_prefix() {
        let series = Series::sscc(1, "0614141").unwrap();
        assert_eq!(series.capacity(), 1_000_000_000);
        // domain.md: 106141412345678908 is valid.
        assert_eq!(series.number(234_567_890).unwrap().as_str(), "106141412345678908");
        assert_eq!(series.number(0).unwrap().as_str(), "106141410000000002");
        assert!(series.number(1_000_000_000).is_none());
        let long_prefix = Series::sscc(0, "5703538141").unwrap();
        assert_eq!(long_prefix.capacity(), 1_000_000);
        // domain.md: 15703538141037517 -> 7 (extension 1, then 16 data digits).
        let series = Series::sscc(1, "5703538141").unwrap();
        assert_eq!(series.number(37_517).unwrap().as_str(), "157035381410375177");
        for (digit, prefix, field) in [
            (10, "0614141", "extension_digit"),
            (1, "061414", "company_prefix"),
            (1, "06141412345", "company_prefix"),
            (1, "06141A1", "company_prefix"),
        ] {
            assert_eq!(Series::sscc(digit, prefix).unwrap_err().field, field, "{digit} {prefix}");
        }
    }

    #[test]
    fn s10_numbers_have_their_check_digit_and_their_range() {
        let series = Series::s10("ew", "fr", 11_272_000, 11_272_999).unwrap();
        assert_eq!(series.capacity(), 1_000);
        // domain.md: EW112720413FR.
        assert_eq!(series.number(41).unwrap().as_str(), "EW112720413FR");
        assert!(series.number(1_000).is_none());
        assert_eq!(Series::s10("E1", "FR", 0, 1).unwrap_err().field, "service");
        assert_eq!(Series::s10("EW", "FRA", 0, 1).unwrap_err().field, "country");
        assert_eq!(Series::s10("EW", "FR", 5, 4).unwrap_err().field, "last");
        assert_eq!(Series::s10("EW", "FR", 0, 100_000_000).unwrap_err().field, "last");
        // Every check digit case, 10 -> 0 and 11 -> 5 included, parses back.
        let wide = Series::s10("RR", "DE", 0, 99_999_999).unwrap();
        for index in [0, 1, 7, 12_345_678, 99_999_999] {
            let number = wide.number(index).unwrap();
            assert_eq!(ParcelNumber::parse(number.as_str()).unwrap(), number);
        }
    }

    #[test]
    fn a_definition_reads_back_as_its_series() {
        for series in [Series::sscc(3, "0614141").unwrap(), Series::s10("EW", "FR", 5, 99).unwrap()] {
            assert_eq!(Series::parse_definition(&series.definition()), Some(series));
        }
        for bad in ["", "sscc:1", "sscc:x:0614141", "s10:EW:FR:9:1", "ean:1:2"] {
            assert_eq!(Series::parse_definition(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_block_stops_at_the_end_of_the_series() {
        assert_eq!(take(0, 100, 1_000), (0, 100));
        assert_eq!(take(950, 100, 1_000), (950, 50));
        assert_eq!(take(1_000, 100, 1_000), (0, 100), "wrapped");
    }
}

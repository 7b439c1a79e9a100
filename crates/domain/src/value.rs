//! Value types. Each one is built only through `parse` (or a checked constructor), so a value that
//! exists is valid: a `ParcelNumber` has a correct check digit, a `Dimensions` has three positive sides.

use std::fmt;

/// Why an input could not become a value: which field and what is wrong with it, in words a person can
/// act on. The HTTP layer turns it into a `validation_failed` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub field: &'static str,
    pub problem: String,
}

impl ParseError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        ParseError { field, problem: problem.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

impl std::error::Error for ParseError {}

/// A parcel number: an SSCC (18 digits, GS1 check digit), a UPU S10 number (`EW112720413FR`, mod-11 check
/// digit) or another carrier's tracking number (6 to 35 letters and digits). Stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParcelNumber(String);

impl ParcelNumber {
    pub const LENGTH_MAX: usize = 35;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let value: String = input.trim().to_ascii_uppercase();
        if value.len() < 6 || value.len() > Self::LENGTH_MAX {
            return Err(ParseError::new("parcel_number", "must be 6 to 35 characters long"));
        }
        if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::new("parcel_number", "may only contain letters and digits"));
        }
        if value.len() == 18 && value.bytes().all(|b| b.is_ascii_digit()) && !sscc_is_valid(&value) {
            return Err(ParseError::new("parcel_number", "looks like an SSCC but its check digit is wrong"));
        }
        if looks_like_s10(&value) && !s10_is_valid(&value) {
            return Err(ParseError::new("parcel_number", "looks like a UPU S10 number but its check digit is wrong"));
        }
        Ok(ParcelNumber(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParcelNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// GS1 check digit of the data digits (all but the check digit): weights 3,1,3,1... from the rightmost.
pub fn gs1_check_digit(data_digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (position, byte) in data_digits.bytes().rev().enumerate() {
        let digit = u32::from(byte.checked_sub(b'0').filter(|d| *d <= 9)?);
        sum += if position % 2 == 0 { digit * 3 } else { digit };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

fn sscc_is_valid(digits: &str) -> bool {
    let (data, check) = digits.split_at(17);
    gs1_check_digit(data) == Some(check.as_bytes()[0] - b'0')
}

fn looks_like_s10(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 13
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..11].iter().all(u8::is_ascii_digit)
        && b[11..].iter().all(u8::is_ascii_uppercase)
}

fn s10_is_valid(value: &str) -> bool {
    let b = value.as_bytes();
    s10_check_digit(&value[2..10]) == Some(b[10] - b'0')
}

/// UPU S10 check digit of the 8-digit serial: weights 8,6,4,2,3,5,9,7; `11 - sum mod 11`, 10 -> 0,
/// 11 -> 5.
pub fn s10_check_digit(serial: &str) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    if serial.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (byte, weight) in serial.bytes().zip(WEIGHTS) {
        sum += u32::from(byte.checked_sub(b'0').filter(|d| *d <= 9)?) * weight;
    }
    Some(match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c as u8,
    })
}

/// The secret digits a recipient types at a locker or tells at a counter. 6 to 10 digits.
/// It is never stored: only its keyed hash is (see `relais_app::codes`).
#[derive(Clone, PartialEq, Eq)]
pub struct PickupCode(String);

impl PickupCode {
    pub const DIGITS_MIN: usize = 6;
    pub const DIGITS_MAX: usize = 10;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let value = input.trim();
        if value.len() < Self::DIGITS_MIN || value.len() > Self::DIGITS_MAX {
            return Err(ParseError::new("code", "must be 6 to 10 digits"));
        }
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("code", "must contain digits only"));
        }
        Ok(PickupCode(value.to_owned()))
    }

    /// The code for a random number below 10^`digits`, zero-padded.
    pub fn from_number(number: u64, digits: usize) -> Self {
        let digits = digits.clamp(Self::DIGITS_MIN, Self::DIGITS_MAX);
        PickupCode(format!("{:0width$}", number % 10u64.pow(digits as u32), width = digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// The code is a secret: never print it by accident through `{:?}`.
impl fmt::Debug for PickupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PickupCode(***)")
    }
}

/// A mass in grams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Weight(u32);

impl Weight {
    /// No parcel network carries more than 70 kg; anything above is a typing error.
    pub const GRAMS_MAX: u32 = 70_000;

    pub fn from_grams(grams: i64) -> Result<Self, ParseError> {
        if grams <= 0 || grams > i64::from(Self::GRAMS_MAX) {
            return Err(ParseError::new("weight_g", "must be between 1 and 70000 grams"));
        }
        Ok(Weight(grams as u32))
    }

    pub const fn grams(self) -> u32 {
        self.0
    }
}

/// Outer dimensions of a parcel (or inner dimensions of a compartment) in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dimensions {
    length_mm: u32,
    width_mm: u32,
    height_mm: u32,
}

impl Dimensions {
    /// 3 metres: larger than any parcel or compartment; anything above is a typing error.
    pub const SIDE_MM_MAX: u32 = 3_000;

    pub fn from_mm(length_mm: i64, width_mm: i64, height_mm: i64) -> Result<Self, ParseError> {
        for side in [length_mm, width_mm, height_mm] {
            if side <= 0 || side > i64::from(Self::SIDE_MM_MAX) {
                return Err(ParseError::new("dimensions_mm", "each side must be between 1 and 3000 mm"));
            }
        }
        Ok(Dimensions { length_mm: length_mm as u32, width_mm: width_mm as u32, height_mm: height_mm as u32 })
    }

    pub const fn length_mm(self) -> u32 {
        self.length_mm
    }
    pub const fn width_mm(self) -> u32 {
        self.width_mm
    }
    pub const fn height_mm(self) -> u32 {
        self.height_mm
    }

    /// The three sides from smallest to largest.
    pub fn sorted(self) -> [u32; 3] {
        let mut sides = [self.length_mm, self.width_mm, self.height_mm];
        sides.sort_unstable();
        sides
    }

    /// Whether a box of these dimensions fits inside `inner`, in any orientation. Comparing sorted sides
    /// is exact for boxes placed square to the walls, which is how parcels go into a compartment.
    pub fn fits_inside(self, inner: Dimensions) -> bool {
        let outer = self.sorted();
        let inner = inner.sorted();
        outer.iter().zip(inner.iter()).all(|(o, i)| o <= i)
    }

    pub fn sum_mm(self) -> u32 {
        self.length_mm + self.width_mm + self.height_mm
    }
}

/// The compartment size classes (InPost's, inner height x width x depth): only the height differs among
/// A to C, D is larger in every direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SizeClass {
    A,
    B,
    C,
    D,
}

impl SizeClass {
    pub const ALL: [SizeClass; 4] = [SizeClass::A, SizeClass::B, SizeClass::C, SizeClass::D];
    /// Heaviest parcel any compartment accepts.
    pub const WEIGHT_GRAMS_MAX: u32 = 25_000;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input.trim() {
            "A" | "a" => Ok(SizeClass::A),
            "B" | "b" => Ok(SizeClass::B),
            "C" | "c" => Ok(SizeClass::C),
            "D" | "d" => Ok(SizeClass::D),
            _ => Err(ParseError::new("size", "must be one of A, B, C, D")),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            SizeClass::A => "A",
            SizeClass::B => "B",
            SizeClass::C => "C",
            SizeClass::D => "D",
        }
    }

    /// Inner dimensions: height x width x depth in millimetres.
    pub fn inner(self) -> Dimensions {
        let (h, w, d) = match self {
            SizeClass::A => (80, 380, 640),
            SizeClass::B => (190, 380, 640),
            SizeClass::C => (410, 380, 640),
            SizeClass::D => (500, 500, 800),
        };
        Dimensions { length_mm: d, width_mm: w, height_mm: h }
    }

    /// Whether these parcels fit in one compartment of this class together: laid flat, each on its
    /// largest face, one on top of another. Each must fit the floor; their thicknesses add up to at most
    /// the class's smallest inner side; their weights to at most the limit. One parcel fits exactly when
    /// [`Dimensions::fits_inside`] says so.
    pub fn holds_together(self, parcels: &[(Dimensions, Weight)]) -> bool {
        let [height, floor_short, floor_long] = self.inner().sorted();
        let grams: u64 = parcels.iter().map(|(_, w)| u64::from(w.grams())).sum();
        let thickness: u64 = parcels.iter().map(|(d, _)| u64::from(d.sorted()[0])).sum();
        let floors = parcels.iter().all(|(d, _)| {
            let [_, short, long] = d.sorted();
            short <= floor_short && long <= floor_long
        });
        floors && thickness <= u64::from(height) && grams <= u64::from(Self::WEIGHT_GRAMS_MAX)
    }

    /// The smallest class a parcel fits in, if any.
    pub fn smallest_fitting(parcel: Dimensions, weight: Weight) -> Option<SizeClass> {
        if weight.grams() > Self::WEIGHT_GRAMS_MAX {
            return None;
        }
        Self::ALL.into_iter().find(|class| parcel.fits_inside(class.inner()))
    }
}

/// A position in WGS 84 decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    latitude: f64,
    longitude: f64,
}

impl Coordinates {
    pub fn parse(latitude: f64, longitude: f64) -> Result<Self, ParseError> {
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(ParseError::new("latitude", "must be between -90 and 90"));
        }
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(ParseError::new("longitude", "must be between -180 and 180"));
        }
        Ok(Coordinates { latitude, longitude })
    }

    pub const fn latitude(self) -> f64 {
        self.latitude
    }
    pub const fn longitude(self) -> f64 {
        self.longitude
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    pub fn distance_m(self, other: Coordinates) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (lat1, lat2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.longitude - self.longitude).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

/// A phone number in E.164 form: `+`, country code, subscriber number; 8 to 15 digits, no leading zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        // People write spaces, dots and dashes between groups; they carry no meaning.
        let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
        let Some(digits) = compact.strip_prefix('+') else {
            return Err(ParseError::new(
                "phone",
                "must be in international form, starting with + and the country code",
            ));
        };
        if digits.len() < 8 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("phone", "must have 8 to 15 digits after the +"));
        }
        if digits.starts_with('0') {
            return Err(ParseError::new("phone", "country code cannot start with 0"));
        }
        Ok(Phone(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, checked for shape only (one `@`, a dotted domain, no spaces, at most 254 bytes):
/// whether the mailbox exists is only known by writing to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const LENGTH_MAX: usize = 254;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let value = input.trim();
        if value.is_empty() || value.len() > Self::LENGTH_MAX {
            return Err(ParseError::new("email", "must be 1 to 254 characters"));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(ParseError::new("email", "must contain an @"));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || !domain_ok || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError::new("email", "is not an e-mail address"));
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short free text (names, reasons, labels): trimmed, non-empty, bounded, without control characters.
pub fn parse_text(field: &'static str, input: &str, length_max: usize) -> Result<String, ParseError> {
    let value = input.trim();
    if value.is_empty() {
        return Err(ParseError::new(field, "must not be empty"));
    }
    if value.chars().count() > length_max {
        return Err(ParseError::new(field, format!("must be at most {length_max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(ParseError::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parcel_numbers() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("157035381410375177", Ok("157035381410375177")),
            ("006141411234567890", Ok("006141411234567890")),
            ("106141412345678908", Ok("106141412345678908")),
            ("106141412345678909", Err("check digit")),
            ("EW112720413FR", Ok("EW112720413FR")),
            ("ew112720413fr", Ok("EW112720413FR")),
            ("EW112720414FR", Err("check digit")),
            ("6A12345678901", Ok("6A12345678901")),
            ("1Z999AA10123456784", Ok("1Z999AA10123456784")),
            ("ABC", Err("6 to 35")),
            ("AB-123456", Err("letters and digits")),
            ("", Err("6 to 35")),
        ];
        for (input, expected) in cases {
            let got = ParcelNumber::parse(input);
            match (expected, &got) {
                (Ok(want), Ok(number)) => assert_eq!(number.as_str(), *want, "{input}"),
                (Err(part), Err(error)) => assert!(error.problem.contains(part), "{input}: {error}"),
                _ => panic!("{input}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn gs1_check_digits_from_the_domain_brief() {
        assert_eq!(gs1_check_digit("15703538141037517"), Some(7));
        assert_eq!(gs1_check_digit("00614141123456789"), Some(0));
        assert_eq!(gs1_check_digit("1061414123456789x"), None);
    }

    #[test]
    fn pickup_codes() {
        assert!(PickupCode::parse("123456").is_ok());
        assert!(PickupCode::parse(" 0012345678 ").is_ok());
        assert!(PickupCode::parse("12345").is_err());
        assert!(PickupCode::parse("12345678901").is_err());
        assert!(PickupCode::parse("12a456").is_err());
        assert_eq!(PickupCode::from_number(42, 8).as_str(), "00000042");
        assert_eq!(PickupCode::from_number(123_456_789_012, 8).as_str(), "56789012");
        assert_eq!(format!("{:?}", PickupCode::from_number(42, 8)), "PickupCode(***)");
    }

    #[test]
    fn size_class_fit_is_smallest_class_whose_height_takes_the_thinnest_side() {
        let w = Weight::from_grams(1_000).unwrap();
        let cases = [
            ((300, 200, 50), Some(SizeClass::A)),
            ((640, 380, 80), Some(SizeClass::A)),
            ((640, 380, 81), Some(SizeClass::B)),
            ((100, 100, 190), Some(SizeClass::B)),
            ((400, 300, 300), Some(SizeClass::C)),
            ((700, 450, 450), Some(SizeClass::D)),
            ((810, 100, 100), None),
            ((600, 600, 600), None),
        ];
        for ((l, wd, h), expected) in cases {
            let dims = Dimensions::from_mm(l, wd, h).unwrap();
            assert_eq!(SizeClass::smallest_fitting(dims, w), expected, "{l}x{wd}x{h}");
        }
        let heavy = Weight::from_grams(25_001).unwrap();
        assert_eq!(SizeClass::smallest_fitting(Dimensions::from_mm(10, 10, 10).unwrap(), heavy), None);
    }

    #[test]
    fn bounded_measures() {
        assert!(Weight::from_grams(0).is_err());
        assert!(Weight::from_grams(70_001).is_err());
        assert!(Dimensions::from_mm(0, 1, 1).is_err());
        assert!(Dimensions::from_mm(3_001, 1, 1).is_err());
        assert!(Coordinates::parse(91.0, 0.0).is_err());
        assert!(Coordinates::parse(0.0, -180.5).is_err());
        assert!(Coordinates::parse(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn distance_paris_lyon_is_about_392_km() {
        let paris = Coordinates::parse(48.8566, 2.3522).unwrap();
        let lyon = Coordinates::parse(45.7640, 4.8357).unwrap();
        let km = paris.distance_m(lyon) / 1000.0;
        assert!((390.0..394.0).contains(&km), "{km}");
    }

    #[test]
    fn phones_and_emails() {
        assert_eq!(Phone::parse("+33 6 12 34 56 78").unwrap().as_str(), "+33612345678");
        assert!(Phone::parse("0612345678").is_err());
        assert!(Phone::parse("+0612345678").is_err());
        assert!(Phone::parse("+3361234567890123").is_err());
        assert_eq!(Email::parse("Ana@Example.FR").unwrap().as_str(), "Ana@example.fr");
        for bad in ["", "ana", "ana@", "@example.fr", "ana@example", "a na@example.fr", "ana@ex..fr", "a@b@c.fr"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts() {
        assert_eq!(parse_text("name", "  Gare  ", 10).unwrap(), "Gare");
        assert!(parse_text("name", "   ", 10).is_err());
        assert!(parse_text("name", "abcdefghijk", 10).is_err());
        assert!(parse_text("name", "a\u{0}b", 10).is_err());
    }
}

/// The language a recipient reads their messages in: French or English, the two relais writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Fr,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Fr, Language::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    /// `fr` or `en`; a regional tag (`fr-BE`, `en_GB`) is read as its language.
    pub fn parse(input: &str) -> Result<Language, ParseError> {
        let primary = input.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Ok(Language::Fr),
            "en" => Ok(Language::En),
            _ => Err(ParseError::new("language", "must be fr or en")),
        }
    }

    /// The language of a recipient who did not say, from the country of their pickup point: French
    /// where it is spoken (France and its overseas departments, Belgium, Luxembourg, Monaco,
    /// Switzerland), English elsewhere.
    pub fn of_country(country: &str) -> Language {
        const FRENCH: [&str; 11] = ["FR", "BE", "LU", "MC", "CH", "GP", "MQ", "GF", "RE", "YT", "PM"];
        if FRENCH.iter().any(|c| c.eq_ignore_ascii_case(country)) { Language::Fr } else { Language::En }
    }
}

#[cfg(test)]
mod language_tests {
    use super::*;

    #[test]
    fn a_language_is_read_from_its_tag_or_the_points_country() {
        for (input, expected) in [
            ("fr", Some(Language::Fr)),
            ("EN", Some(Language::En)),
            ("fr-BE", Some(Language::Fr)),
            ("en_GB", Some(Language::En)),
            ("de", None),
            ("", None),
            ("french", None),
        ] {
            assert_eq!(Language::parse(input).ok(), expected, "{input:?}");
        }
        for (country, expected) in [
            ("FR", Language::Fr),
            ("be", Language::Fr),
            ("CH", Language::Fr),
            ("DE", Language::En),
            ("GB", Language::En),
        ] {
            assert_eq!(Language::of_country(country), expected, "{country}");
        }
    }
}

//! Every import format read from its fixture file (`tests/fixtures`, built from each operator's
//! documented response shape; the La Poste excerpt is real open data): the points, their hours as
//! `opening_hours` values, their closures, and each bad row reported by line and reason. Every row read
//! also passes the registry's validation, so what an adapter produces can be imported.

#![allow(clippy::unwrap_used)]

use relais_domain::Timestamp;
use relais_domain::ids::Id;
use relais_registry::formats::{Encoding, FileError, Format, Parsed};
use relais_registry::record::{Compartments, NewPoint, PointValidator};

fn read(format: Format, file: &str, encoding: Encoding) -> Parsed {
    let bytes = std::fs::read(format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    format.read(&bytes, encoding).unwrap()
}

/// The rows the registry's validation refuses, as (line, field).
fn refused(parsed: &Parsed) -> Vec<(usize, &'static str)> {
    let mut validator = PointValidator::new();
    parsed
        .rows
        .iter()
        .filter_map(|r| {
            let result = validator.validate(&r.point, Id::default(), Timestamp::default(), "t", Compartments::Optional);
            result.err().map(|e| (r.line, e.field))
        })
        .collect()
}

fn point<'a>(parsed: &'a Parsed, external_id: &str) -> &'a NewPoint {
    &parsed.rows.iter().find(|r| r.point.external_id == external_id).unwrap().point
}

fn errors(parsed: &Parsed) -> Vec<String> {
    parsed.errors.iter().map(ToString::to_string).collect()
}

#[test]
fn mondial_relay_slots_closures_and_comma_decimals() {
    let parsed = read(Format::MondialRelay, "mondial_relay_recherche.xml", Encoding::Utf8);
    assert_eq!(refused(&parsed), []);
    let shop = point(&parsed, "FR-020198");
    assert_eq!((shop.name.as_str(), shop.address_line1.as_str()), ("TABAC PRESSE DU PARC", "12 RUE DE LA REPUBLIQUE"));
    assert_eq!((shop.latitude, shop.longitude), (45.76222, 4.83576));
    assert_eq!(shop.opening_hours.as_deref(), Some("Mo-Fr 09:00-12:15,14:30-19:00; Sa 09:00-12:30"));
    assert_eq!(shop.closures, [("2026-08-03".to_owned(), "2026-08-23".to_owned())]);
    let locker = point(&parsed, "FR-066974");
    assert_eq!((locker.kind.as_str(), locker.opening_hours.as_deref()), ("locker", Some("Mo-Su 00:00-24:00")));
    assert_eq!(locker.address_line2.as_deref(), Some("CENTRE COMMERCIAL NIVEAU -1"));
    let bakery = point(&parsed, "FR-074411");
    assert_eq!(bakery.opening_hours.as_deref(), Some("Tu-Sa 07:00-13:00,15:30-19:45; Su 07:00-12:30"));
    assert_eq!(bakery.closures.len(), 2);
    assert_eq!(
        errors(&parsed),
        ["line 81: Latitude is missing", "line 91: opening hours: \"9999\" is not a time of day (HH:MM, HHMM or 9h30)",]
    );
}

#[test]
fn dpd_opening_hours_items_holidays_and_inactive_points() {
    let parsed = read(Format::Dpd, "dpd_getpudolist.xml", Encoding::Utf8);
    assert_eq!(refused(&parsed), []);
    let shop = point(&parsed, "P71543");
    assert_eq!((shop.country.as_str(), shop.latitude, shop.longitude), ("FR", 45.748913, 4.825932));
    assert_eq!(shop.opening_hours.as_deref(), Some("Mo-Fr 08:30-19:00; Sa 09:00-12:00,14:00-18:00"));
    assert_eq!(shop.closures, [("2026-08-10".to_owned(), "2026-08-24".to_owned())]);
    assert_eq!(shop.address_line2.as_deref(), Some("GALERIE MARCHANDE"));
    assert_eq!(point(&parsed, "P80210").status.as_deref(), Some("inactive"));
    assert_eq!(errors(&parsed), ["line 52: DAY_ID \"8\" is not 1 (Monday) to 7"]);
}

#[test]
fn colissimo_day_strings_conges_and_point_types() {
    let parsed = read(Format::Colissimo, "colissimo_points_retrait.xml", Encoding::Utf8);
    assert_eq!(refused(&parsed), []);
    let office = point(&parsed, "692020");
    assert_eq!((office.kind.as_str(), office.weight_max_g), ("post_office", Some(30_000)));
    assert_eq!(office.opening_hours.as_deref(), Some("Mo-Fr 08:30-19:00; Sa 09:00-12:30"));
    let shop = point(&parsed, "W23421");
    assert_eq!(shop.kind, "counter");
    assert_eq!(shop.opening_hours.as_deref(), Some("Tu-Sa 09:30-12:30,14:00-19:00"));
    assert_eq!(shop.closures, [("2026-08-01".to_owned(), "2026-08-16".to_owned())]);
    let locker = point(&parsed, "C69003");
    assert_eq!((locker.kind.as_str(), locker.services.as_deref()), ("locker", Some("collect,return")));
    assert_eq!(errors(&parsed), ["line 85: horairesOuvertureLundi: \"9h00\" is not HH:MM-HH:MM"]);
}

#[test]
fn inpost_types_statuses_functions_and_free_text_hours() {
    let parsed = read(Format::InPost, "inpost_points.json", Encoding::Utf8);
    assert_eq!(refused(&parsed), []);
    let locker = point(&parsed, "FR01234");
    assert_eq!((locker.kind.as_str(), locker.opening_hours.as_deref()), ("locker", Some("24/7")));
    assert_eq!(locker.services.as_deref(), Some("collect,send,return"));
    assert_eq!(locker.address_line1, "Grande Rue de la Guillotière 45");
    let shop = point(&parsed, "FR05678");
    assert_eq!(shop.kind, "counter");
    assert_eq!(shop.opening_hours.as_deref(), Some("Mo-Fr 09:00-13:00,15:30-19:00; Sa 09:00-12:00"));
    assert_eq!(shop.services.as_deref(), Some("collect,send,cash_on_delivery"));
    let closed = point(&parsed, "FR09999");
    assert_eq!((closed.status.as_deref(), closed.opening_hours.as_deref()), (Some("inactive"), None));
    let krakow = point(&parsed, "KRA01M");
    assert_eq!((krakow.country.as_str(), krakow.timezone.as_deref()), ("PL", Some("Europe/Warsaw")));
    let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1);
    // A JSON file names each point by its position among the items (and the line it starts on).
    assert!(
        warnings[0]
            .starts_with("item 3 (line 41) (FR09999): opening hours \"sur rendez-vous uniquement\" not understood"),
        "{}",
        warnings[0]
    );
    assert_eq!(
        errors(&parsed),
        [
            "item 5 (line 63) (FR00000): status \"Exploded\" is not one InPost documents",
            "item 6 (line 70) (FR00001): location.longitude is missing or not a number",
        ]
    );
}

#[test]
fn la_poste_real_rows() {
    let parsed = read(Format::LaPoste, "laposte_excerpt.csv", Encoding::Utf8);
    assert_eq!(refused(&parsed), []);
    assert_eq!((parsed.rows.len(), parsed.errors.len()), (12, 2));
    assert!(parsed.rows.iter().all(|r| r.point.postcode.starts_with("69")));
    assert_eq!(errors(&parsed)[0], "line 14 (10745D): the point has no coordinates (Latitude, Longitude empty)");
}

#[test]
fn canonical_csv_and_jsonl_agree() {
    let csv = read(Format::Csv, "points.csv", Encoding::Utf8);
    let jsonl = read(Format::Jsonl, "points.jsonl", Encoding::Utf8);
    for id in ["LYO-0001", "LYO-0002"] {
        let (a, b) = (point(&csv, id), point(&jsonl, id));
        assert_eq!((&a.opening_hours, &a.closures, &a.compartments), (&b.opening_hours, &b.closures, &b.compartments));
    }
    assert_eq!(point(&csv, "LYO-0002").compartments.len(), 50);
    assert_eq!(errors(&jsonl), Vec::<String>::new());
    assert_eq!(refused(&jsonl), [(3, "kind")]);
}

#[test]
fn csv_rows_that_fail_validation_are_caught_by_the_validator() {
    // The reader takes rows whose fields have the right types; the validator judges their values.
    let parsed = read(Format::Csv, "points.csv", Encoding::Utf8);
    assert_eq!(refused(&parsed), [(6, "latitude")]);
    // `Mo-Fr 9-19` is read as the reference reads it, stored in the syntax, and said.
    let mut validator = PointValidator::new();
    let row = parsed.rows.iter().find(|r| r.line == 5).unwrap();
    let point = validator.validate(&row.point, Id::default(), Timestamp::default(), "t", Compartments::Optional);
    assert_eq!(point.unwrap().opening_hours.unwrap().as_str(), "Mo-Fr 09:00-19:00");
    let warnings = validator.warnings().join(" / ");
    assert!(warnings.starts_with("opening_hours \"Mo-Fr 9-19\": hours without minutes"), "{warnings}");
    assert!(warnings.ends_with("stored as \"Mo-Fr 09:00-19:00\""), "{warnings}");
}

#[test]
fn encodings_are_named_not_guessed() {
    let path = format!("{}/tests/fixtures/points_latin1.csv", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(Format::Csv.read(&bytes, Encoding::Utf8).unwrap_err(), FileError::Encoding { line: 2 });
    let parsed = Format::Csv.read(&bytes, Encoding::Latin1).unwrap();
    assert_eq!(point(&parsed, "LYO-0001").address_line1, "12 rue de la République");
}

#[test]
fn a_file_of_another_format_is_refused_whole() {
    let bytes = std::fs::read(format!("{}/tests/fixtures/dpd_getpudolist.xml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let error = Format::MondialRelay.read(&bytes, Encoding::Utf8).unwrap_err();
    assert_eq!(error.to_string(), "line 1: no <PointRelais_Details> element: is this the right format?");
    assert!(matches!(Format::InPost.read(b"{\"count\": 0}", Encoding::Utf8), Err(FileError::Corrupt { .. })));
    assert!(matches!(Format::Dpd.read(b"<RESPONSE><PUDO_ITEMS>", Encoding::Utf8), Err(FileError::Corrupt { .. })));
}

/// A JSON file on one line (as an API returns it): each point is named by its position, not `line 1`.
#[test]
fn a_one_line_json_file_names_points_by_position() {
    let item = |name: &str, hours: &str| {
        format!(
            r#"{{"name":"{name}","type":["pop"],"status":"Operating","country":"FR","opening_hours":"{hours}","address_details":{{"post_code":"69001","city":"Lyon","street":"Rue A","building_number":"1"}},"location":{{"latitude":45.76,"longitude":4.83}}}}"#
        )
    };
    let text = format!("[{},{}]", item("FR1", "Lun-Sam 9-18"), item("FR2", "sur rendez-vous"));
    let parsed = Format::InPost.read(text.as_bytes(), Encoding::Utf8).unwrap();
    assert_eq!(point(&parsed, "FR1").opening_hours.as_deref(), Some("Mo-Sa 09:00-18:00"));
    let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("item 2 (line 1) (FR2): opening hours"), "{warnings:?}");
}

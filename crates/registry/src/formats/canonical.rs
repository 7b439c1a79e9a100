//! relais' own point file, documented in `docs/import-formats.md`: CSV (comma-separated, header line,
//! UTF-8) or JSON Lines (one object per line) with the same field names. Operators without an adapter
//! export to it; it is also what `relais` writes back.

use std::collections::HashMap;

use super::{FileError, Parsed, Row, RowError, csv_rows, decimal};
use crate::record::{NewCompartment, NewPoint};

/// Every column, in the documented order.
pub const COLUMNS: [&str; 19] = [
    "external_id",
    "kind",
    "name",
    "address_line1",
    "address_line2",
    "postcode",
    "city",
    "country",
    "latitude",
    "longitude",
    "timezone",
    "status",
    "opening_hours",
    "closures",
    "services",
    "shelf_capacity",
    "weight_max_g",
    "dimensions_sum_max_mm",
    "compartments",
];
/// Columns a file must have; the others may be absent or empty.
pub const REQUIRED: [&str; 9] =
    ["external_id", "kind", "name", "address_line1", "postcode", "city", "country", "latitude", "longitude"];

pub fn read_csv(text: &str) -> Result<Parsed, FileError> {
    csv_rows(text, b',', &REQUIRED, |header, record, line, parsed| {
        if record.len() != header.len() {
            parsed.errors.push(RowError {
                line,
                item: None,
                external_id: record.get(0).map(str::to_owned),
                message: format!("the row has {} fields, the header {}", record.len(), header.len()),
            });
            return;
        }
        let get = |name: &str| header.index(name).and_then(|i| record.get(i)).map(|v| v.trim().to_owned());
        push(parsed, line, &get);
    })
}

pub fn read_jsonl(text: &str) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => {
                parsed.errors.push(RowError {
                    line,
                    item: None,
                    external_id: None,
                    message: "not a JSON object".into(),
                });
                continue;
            }
            Err(e) => {
                parsed.errors.push(RowError { line, item: None, external_id: None, message: format!("not JSON: {e}") });
                continue;
            }
        };
        let fields: HashMap<&str, String> =
            object.iter().filter_map(|(key, value)| Some((key.as_str(), json_text(key, value)?))).collect();
        let get = |name: &str| fields.get(name).cloned();
        push(&mut parsed, line, &get);
    }
    if parsed.total() == 0 {
        return Err(FileError::Empty);
    }
    Ok(parsed)
}

/// A JSON field in the CSV's text form: numbers as written, closures `[{"first", "last"}]` as
/// `first..last;...`, compartments `{"A": 20}` as `A:20`.
fn json_text(key: &str, value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (key, value) {
        (_, Value::Null) => None,
        (_, Value::String(s)) => Some(s.trim().to_owned()),
        (_, Value::Number(n)) => Some(n.to_string()),
        ("closures", Value::Array(items)) => Some(
            items
                .iter()
                .map(|c| format!("{}..{}", c["first"].as_str().unwrap_or(""), c["last"].as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        ("services", Value::Array(items)) => {
            Some(items.iter().map(|s| s.as_str().unwrap_or("?")).collect::<Vec<_>>().join(","))
        }
        ("compartments", Value::Object(sizes)) => {
            Some(sizes.iter().map(|(size, count)| format!("{size}:{count}")).collect::<Vec<_>>().join(","))
        }
        (_, other) => Some(other.to_string()),
    }
}

fn push(parsed: &mut Parsed, line: usize, get: &dyn Fn(&str) -> Option<String>) {
    let external_id = get("external_id").filter(|id| !id.is_empty());
    match record(get) {
        Ok(point) => parsed.rows.push(Row { line, item: None, point }),
        Err(message) => parsed.errors.push(RowError { line, item: None, external_id, message }),
    }
}

fn record(get: &dyn Fn(&str) -> Option<String>) -> Result<NewPoint, String> {
    let text = |name: &str| get(name).unwrap_or_default();
    let optional = |name: &str| get(name).filter(|v| !v.is_empty());
    let number = |name: &str| -> Result<Option<i64>, String> {
        optional(name).map(|v| v.parse::<i64>().map_err(|_| format!("{name} {v:?} is not a whole number"))).transpose()
    };
    let small = |name: &str| -> Result<Option<u32>, String> {
        number(name)?.map(|n| u32::try_from(n).map_err(|_| format!("{name} {n} is out of range"))).transpose()
    };
    Ok(NewPoint {
        external_id: text("external_id"),
        kind: text("kind"),
        name: text("name"),
        address_line1: text("address_line1"),
        address_line2: optional("address_line2"),
        postcode: text("postcode"),
        city: text("city"),
        country: text("country"),
        latitude: decimal("latitude", &text("latitude"))?,
        longitude: decimal("longitude", &text("longitude"))?,
        timezone: optional("timezone"),
        status: optional("status"),
        opening_hours: optional("opening_hours"),
        closures: closures(&text("closures"))?,
        services: optional("services"),
        shelf_capacity: small("shelf_capacity")?,
        weight_max_g: number("weight_max_g")?,
        dimensions_sum_max_mm: small("dimensions_sum_max_mm")?,
        compartments: compartments(&text("compartments"))?,
        ..NewPoint::default()
    })
}

/// `2026-08-01..2026-08-15;2026-12-24..2026-12-26`; a single day may be written alone.
fn closures(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|range| match range.split_once("..") {
            Some((first, last)) => Ok((first.trim().to_owned(), last.trim().to_owned())),
            None if !range.contains('.') => Ok((range.to_owned(), range.to_owned())),
            None => Err(format!("closure {range:?} is not FIRST..LAST")),
        })
        .collect()
}

/// `A:20,B:16,C:10,D:4`: doors per size class, labelled `A01`...`A20`, `B01`...
pub fn compartments(text: &str) -> Result<Vec<NewCompartment>, String> {
    let mut doors = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (size, count) =
            part.split_once(':').ok_or_else(|| format!("compartments {part:?} is not SIZE:COUNT (A:20)"))?;
        let count: usize =
            count.trim().parse().map_err(|_| format!("compartments {part:?}: {count:?} is not a count"))?;
        if count > relais_domain::compartment::Compartment::PER_POINT_MAX {
            return Err(format!("compartments {part:?}: at most 1000 doors"));
        }
        let size = size.trim().to_ascii_uppercase();
        doors.extend((1..=count).map(|n| NewCompartment { label: format!("{size}{n:02}"), size: size.clone() }));
    }
    Ok(doors)
}

/// A point as one canonical CSV row (the columns of [`COLUMNS`]), for exports and generated files.
pub fn csv_row(point: &NewPoint) -> Vec<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for door in &point.compartments {
        match counts.iter_mut().find(|(s, _)| *s == door.size) {
            Some((_, n)) => *n += 1,
            None => counts.push((door.size.clone(), 1)),
        }
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    vec![
        point.external_id.clone(),
        point.kind.clone(),
        point.name.clone(),
        point.address_line1.clone(),
        opt(&point.address_line2),
        point.postcode.clone(),
        point.city.clone(),
        point.country.clone(),
        point.latitude.to_string(),
        point.longitude.to_string(),
        opt(&point.timezone),
        opt(&point.status),
        opt(&point.opening_hours),
        point.closures.iter().map(|(a, b)| format!("{a}..{b}")).collect::<Vec<_>>().join(";"),
        opt(&point.services),
        num(point.shelf_capacity),
        point.weight_max_g.map(|n| n.to_string()).unwrap_or_default(),
        num(point.dimensions_sum_max_mm),
        counts.iter().map(|(s, n)| format!("{s}:{n}")).collect::<Vec<_>>().join(","),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{Encoding, Format};

    const CSV: &str = "\
external_id,kind,name,address_line1,postcode,city,country,latitude,longitude,opening_hours,closures,compartments
C1,counter,Tabac du Parc,1 rue X,69001,Lyon,FR,45.76,4.83,\"Mo-Fr 09:00-12:00,14:00-19:00\",2026-08-01..2026-08-15,
L1,locker,Consigne,2 rue Y,69002,Lyon,FR,\"45,75\",4.82,24/7,,\"A:2,B:1\"
X1,counter,Bad,3 rue Z,69003,Lyon,FR,north,4.8,,,
short,row
";

    #[test]
    fn csv_rows_and_their_errors() {
        let parsed = Format::Csv.read(CSV.as_bytes(), Encoding::Utf8).unwrap();
        assert_eq!(parsed.rows.len(), 2);
        let c1 = &parsed.rows[0];
        assert_eq!((c1.line, c1.point.opening_hours.as_deref()), (2, Some("Mo-Fr 09:00-12:00,14:00-19:00")));
        assert_eq!(c1.point.closures, vec![("2026-08-01".to_owned(), "2026-08-15".to_owned())]);
        let l1 = &parsed.rows[1].point;
        assert_eq!(l1.latitude, 45.75);
        let labels: Vec<_> = l1.compartments.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["A01", "A02", "B01"]);
        assert_eq!(parsed.errors.len(), 2);
        assert_eq!(parsed.errors[0].to_string(), "line 4 (X1): latitude \"north\" is not a number");
        assert_eq!(parsed.errors[1].line, 5);
        assert!(parsed.errors[1].message.contains("2 fields"), "{}", parsed.errors[1].message);
    }

    #[test]
    fn a_csv_without_required_columns_is_refused_whole() {
        let error = Format::Csv.read(b"external_id,name\nC1,Tabac\n", Encoding::Utf8).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 1: the header lacks the column(s) kind, address_line1, postcode, city, country, latitude, longitude"
        );
    }

    #[test]
    fn jsonl_takes_the_same_fields_with_json_types() {
        let text = r#"{"external_id":"C1","kind":"counter","name":"Tabac","address_line1":"1 rue X","postcode":"69001","city":"Lyon","country":"FR","latitude":45.76,"longitude":4.83,"shelf_capacity":25,"services":["collect","return"],"closures":[{"first":"2026-08-01","last":"2026-08-02"}]}

{"external_id":"L1","kind":"locker","compartments":{"A":1,"D":1}}
[1,2]
{"external_id":
"#;
        let parsed = Format::Jsonl.read(text.as_bytes(), Encoding::Utf8).unwrap();
        let c1 = &parsed.rows[0].point;
        assert_eq!((c1.shelf_capacity, c1.services.as_deref()), (Some(25), Some("collect,return")));
        assert_eq!(c1.closures, vec![("2026-08-01".to_owned(), "2026-08-02".to_owned())]);
        let lines: Vec<_> = parsed.errors.iter().map(|e| (e.line, e.external_id.clone())).collect();
        assert_eq!(lines, [(3, Some("L1".to_owned())), (4, None), (5, None)]);
        assert_eq!(parsed.errors[0].message, "latitude is missing");
    }

    #[test]
    fn a_row_written_by_csv_row_reads_back() {
        let parsed = Format::Csv.read(CSV.as_bytes(), Encoding::Utf8).unwrap();
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(COLUMNS).unwrap();
        for row in &parsed.rows {
            out.write_record(csv_row(&row.point)).unwrap();
        }
        let again = Format::Csv.read(&out.into_inner().unwrap(), Encoding::Utf8).unwrap();
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(again.rows[1].point.compartments, parsed.rows[1].point.compartments);
        assert_eq!(again.rows[0].point.closures, parsed.rows[0].point.closures);
    }
}

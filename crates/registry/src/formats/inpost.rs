//! InPost's points API (`GET /v1/points`): a page `{"items": [...]}` or a bare array of point objects
//! with `name` (the point's id), `type[]` (`parcel_locker`, `pop` = a partner shop), `status`
//! (`Operating`, `NonOperating`, `Disabled`...), `location` {latitude, longitude}, `address_details`,
//! `functions[]` (`parcel_collect`, `parcel_send`, `parcel_reverse_return_send`...) and
//! `opening_hours` as free text (`"Lun-Ven: 9:00 - 13:00 - 15:30 - 19:00"`), read tolerantly: text that
//! cannot be read keeps the point with unknown hours and a warning. The country is `country` when
//! present, else taken from the post code (`NN-NNN` is Polish, anything else French).

use serde_json::Value;
use serde_json::value::RawValue;

use super::{FileError, Parsed, Row, RowError, timezone_of};
use crate::record::NewPoint;

pub fn read(text: &str) -> Result<Parsed, FileError> {
    let trimmed = text.trim_start();
    let items: Vec<&RawValue> = if trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(|e| corrupt(&e))?
    } else {
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            #[serde(borrow)]
            items: Vec<&'a RawValue>,
        }
        serde_json::from_str::<Page>(text).map_err(|e| corrupt(&e))?.items
    };
    let mut parsed = Parsed::default();
    let mut lines = super::Lines::new(text);
    for (n, raw) in items.into_iter().enumerate() {
        let position = Some(n + 1);
        // The item's line in the file, from where its text sits in the file.
        let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let line = lines.at(offset as u64);
        let item: Value = match serde_json::from_str(raw.get()) {
            Ok(item) => item,
            Err(e) => {
                parsed.errors.push(RowError { line, item: position, external_id: None, message: e.to_string() });
                continue;
            }
        };
        let external_id = item["name"].as_str().map(str::to_owned);
        match point(&item) {
            Ok((point, warning)) => {
                if let Some(message) = warning {
                    parsed.warnings.push(RowError { line, item: position, external_id: external_id.clone(), message });
                }
                parsed.rows.push(Row { line, item: position, point });
            }
            Err(message) => parsed.errors.push(RowError { line, item: position, external_id, message }),
        }
    }
    Ok(parsed)
}

fn corrupt(e: &serde_json::Error) -> FileError {
    FileError::Corrupt { line: e.line(), message: format!("not an InPost points page or array: {e}") }
}

fn point(item: &Value) -> Result<(NewPoint, Option<String>), String> {
    let text = |v: &Value| v.as_str().unwrap_or("").trim().to_owned();
    let id = text(&item["name"]);
    if id.is_empty() {
        return Err("name (the point id) is missing".into());
    }
    let types: Vec<String> = item["type"].as_array().map(|t| t.iter().map(text).collect()).unwrap_or_default();
    let kind = if types.iter().any(|t| t == "parcel_locker") { "locker" } else { "counter" };
    let status = match text(&item["status"]).as_str() {
        "Operating" | "Overloaded" | "" => "active",
        "NonOperating" | "Disabled" | "Created" => "inactive",
        other => return Err(format!("status {other:?} is not one InPost documents")),
    };
    let number = |v: &Value, field: &str| v.as_f64().ok_or_else(|| format!("{field} is missing or not a number"));
    let details = &item["address_details"];
    let post_code = text(&details["post_code"]);
    let street = [text(&details["street"]), text(&details["building_number"])].join(" ").trim().to_owned();
    let street = if street.is_empty() { text(&item["address"]["line1"]) } else { street };
    let country = match text(&item["country"]) {
        c if !c.is_empty() => c,
        _ if post_code.len() == 6 && post_code.as_bytes()[2] == b'-' => "PL".to_owned(),
        _ => "FR".to_owned(),
    };
    let (opening_hours, warning) = if item["location_247"].as_bool() == Some(true) {
        (Some("24/7".to_owned()), None)
    } else {
        match text(&item["opening_hours"]) {
            hours if hours.is_empty() => (None, None),
            hours => match relais_hours::freetext::parse_free_text_in(&hours, &country) {
                Ok(value) => (Some(value), None),
                Err(reason) => (None, Some(format!("opening hours {hours:?} not understood ({reason}); left unknown"))),
            },
        }
    };
    let functions: Vec<String> = item["functions"].as_array().map(|f| f.iter().map(text).collect()).unwrap_or_default();
    let mut services = Vec::new();
    if functions.is_empty() || functions.iter().any(|f| f.ends_with("_collect")) {
        services.push("collect");
    }
    if functions.iter().any(|f| f == "parcel_send" || f.ends_with("_send") && !f.contains("return")) {
        services.push("send");
    }
    if functions.iter().any(|f| f.contains("return")) {
        services.push("return");
    }
    if item["payment_available"].as_bool() == Some(true) {
        services.push("cash_on_delivery");
    }
    Ok((
        NewPoint {
            external_id: id,
            kind: kind.into(),
            name: match text(&item["location_description"]) {
                d if d.is_empty() => format!("InPost {}", text(&item["name"])),
                d => d,
            },
            address_line1: street,
            postcode: post_code,
            city: text(&details["city"]),
            country: country.clone(),
            latitude: number(&item["location"]["latitude"], "location.latitude")?,
            longitude: number(&item["location"]["longitude"], "location.longitude")?,
            timezone: timezone_of(&country),
            status: Some(status.into()),
            shelf_capacity: None,
            opening_hours,
            services: Some(services.join(",")),
            ..NewPoint::default()
        },
        warning,
    ))
}

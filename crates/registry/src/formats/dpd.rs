//! DPD's `GetPudoList` response (XML): one `PUDO_ITEM` per point (attribute `active`), with `PUDO_ID`,
//! `NAME`, `ADDRESS1`..`ADDRESS3`, `ZIPCODE`, `CITY`, `COUNTRY` (ISO alpha-3), coordinates with a
//! decimal comma, `OPENING_HOURS_ITEMS` (`DAY_ID` 1 = Monday .. 7, `START_TM`, `END_TM`) and
//! `HOLIDAY_ITEMS` (`START_DTM`, `END_DTM`, `DD/MM/YYYY`).

use serde::Deserialize;

use super::{FileError, Parsed, country_alpha2, day_of, decimal, timezone_of, weekly_value, xml_rows};
use crate::record::NewPoint;

/// One `PUDO_ITEM`, as the answer writes it (every field optional: a missing one is empty).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Item {
    #[serde(rename = "@active")]
    active: Option<String>,
    #[serde(rename = "PUDO_ID")]
    id: String,
    #[serde(rename = "NAME")]
    name: String,
    #[serde(rename = "ADDRESS1")]
    address1: String,
    #[serde(rename = "ADDRESS2")]
    address2: String,
    #[serde(rename = "ADDRESS3")]
    address3: String,
    #[serde(rename = "ZIPCODE")]
    postcode: String,
    #[serde(rename = "CITY")]
    city: String,
    #[serde(rename = "COUNTRY")]
    country: String,
    #[serde(rename = "LATITUDE")]
    latitude: String,
    #[serde(rename = "LONGITUDE")]
    longitude: String,
    #[serde(rename = "OPENING_HOURS_ITEMS")]
    hours: Hours,
    #[serde(rename = "HOLIDAY_ITEMS")]
    holidays: Holidays,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Hours {
    #[serde(rename = "OPENING_HOURS_ITEM")]
    slots: Vec<Slot>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Slot {
    #[serde(rename = "DAY_ID")]
    day: String,
    #[serde(rename = "START_TM")]
    start: String,
    #[serde(rename = "END_TM")]
    end: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Holidays {
    #[serde(rename = "HOLIDAY_ITEM")]
    periods: Vec<Holiday>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Holiday {
    #[serde(rename = "START_DTM")]
    start: String,
    #[serde(rename = "END_DTM")]
    end: String,
}

pub fn read(text: &str) -> Result<Parsed, FileError> {
    xml_rows(text, "PUDO_ITEM", |item: &Item, _| point(item))
}

fn point(item: &Item) -> Result<NewPoint, String> {
    let id = item.id.trim();
    if id.is_empty() {
        return Err("PUDO_ID is missing".into());
    }
    let mut slots = Vec::new();
    for slot in &item.hours.slots {
        let day: usize = slot
            .day
            .trim()
            .parse()
            .ok()
            .filter(|d| (1..=7).contains(d))
            .ok_or_else(|| format!("DAY_ID {:?} is not 1 (Monday) to 7", slot.day.trim()))?;
        slots.push((day - 1, slot.start.trim().to_owned(), slot.end.trim().to_owned()));
    }
    let closures = item
        .holidays
        .periods
        .iter()
        .map(|holiday| Ok((day_of(&holiday.start)?, day_of(&holiday.end)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let active = item.active.as_deref().is_none_or(|a| !a.trim().eq_ignore_ascii_case("false"));
    let country = country_alpha2(item.country.trim());
    Ok(NewPoint {
        external_id: id.to_owned(),
        kind: "counter".into(),
        name: item.name.trim().to_owned(),
        address_line1: item.address1.trim().to_owned(),
        address_line2: Some([item.address2.trim(), item.address3.trim()].join(" ").trim().to_owned())
            .filter(|s| !s.is_empty()),
        postcode: item.postcode.trim().to_owned(),
        city: item.city.trim().to_owned(),
        timezone: timezone_of(&country),
        country,
        latitude: decimal("LATITUDE", item.latitude.trim())?,
        longitude: decimal("LONGITUDE", item.longitude.trim())?,
        status: Some(if active { "active" } else { "inactive" }.into()),
        opening_hours: weekly_value(&slots)?,
        closures,
        services: Some("collect,send,return".into()),
        ..NewPoint::default()
    })
}

//! DPD's `GetPudoList` response (XML): one `PUDO_ITEM` per point (attribute `active`), with `PUDO_ID`,
//! `NAME`, `ADDRESS1`..`ADDRESS3`, `ZIPCODE`, `CITY`, `COUNTRY` (ISO alpha-3), coordinates with a
//! decimal comma, `OPENING_HOURS_ITEMS` (`DAY_ID` 1 = Monday .. 7, `START_TM`, `END_TM`) and
//! `HOLIDAY_ITEMS` (`START_DTM`, `END_DTM`, `DD/MM/YYYY`).

use super::xml::Element;
use super::{FileError, Parsed, country_alpha2, day_of, decimal, timezone_of, weekly_value, xml_rows};
use crate::record::NewPoint;

pub fn read(text: &str) -> Result<Parsed, FileError> {
    xml_rows(text, "PUDO_ITEM", |item, _| point(item))
}

fn point(item: &Element) -> Result<NewPoint, String> {
    let id = item.text_of("PUDO_ID");
    if id.is_empty() {
        return Err("PUDO_ID is missing".into());
    }
    let mut slots = Vec::new();
    if let Some(hours) = item.child("OPENING_HOURS_ITEMS") {
        for slot in &hours.children {
            let day: usize = slot
                .text_of("DAY_ID")
                .parse()
                .ok()
                .filter(|d| (1..=7).contains(d))
                .ok_or_else(|| format!("DAY_ID {:?} is not 1 (Monday) to 7", slot.text_of("DAY_ID")))?;
            slots.push((day - 1, slot.text_of("START_TM").to_owned(), slot.text_of("END_TM").to_owned()));
        }
    }
    let mut closures = Vec::new();
    if let Some(holidays) = item.child("HOLIDAY_ITEMS") {
        for holiday in &holidays.children {
            closures.push((day_of(holiday.text_of("START_DTM"))?, day_of(holiday.text_of("END_DTM"))?));
        }
    }
    let active = item.attribute("active").is_none_or(|a| !a.eq_ignore_ascii_case("false"));
    Ok(NewPoint {
        external_id: id.to_owned(),
        kind: "counter".into(),
        name: item.text_of("NAME").to_owned(),
        address_line1: item.text_of("ADDRESS1").to_owned(),
        address_line2: Some([item.text_of("ADDRESS2"), item.text_of("ADDRESS3")].join(" ").trim().to_owned())
            .filter(|s| !s.is_empty()),
        postcode: item.text_of("ZIPCODE").to_owned(),
        city: item.text_of("CITY").to_owned(),
        country: country_alpha2(item.text_of("COUNTRY")),
        latitude: decimal("LATITUDE", item.text_of("LATITUDE"))?,
        longitude: decimal("LONGITUDE", item.text_of("LONGITUDE"))?,
        status: Some(if active { "active" } else { "inactive" }.into()),
        timezone: timezone_of(&country_alpha2(item.text_of("COUNTRY"))),
        opening_hours: weekly_value(&slots)?,
        closures,
        services: Some("collect,send,return".into()),
        ..NewPoint::default()
    })
}

//! Mondial Relay's point search response (`WSI4_PointRelais_Recherche`, SOAP XML): one
//! `PointRelais_Details` per point with `Num`, `LgAdr1`..`LgAdr4`, `CP`, `Ville`, `Pays`, coordinates
//! with a decimal comma, `Horaires_Lundi`..`Horaires_Dimanche` as four `HHMM` strings (open, close,
//! open, close; `0000` = no slot) and closure periods in `Informations_Dispo/Periode` (`Debut`, `Fin`).
//! Point numbers are unique per country: the external id is `Pays-Num` (`FR-020198`).

use serde::Deserialize;

use super::{FileError, Parsed, day_of, decimal, timezone_of, weekly_value, xml_rows};
use crate::record::NewPoint;

/// One `PointRelais_Details`, as the answer writes it (every field optional: a missing one is empty).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Details {
    #[serde(rename = "Num")]
    num: String,
    #[serde(rename = "Pays")]
    country: String,
    #[serde(rename = "LgAdr1")]
    line1: String,
    #[serde(rename = "LgAdr2")]
    line2: String,
    #[serde(rename = "LgAdr3")]
    line3: String,
    #[serde(rename = "LgAdr4")]
    line4: String,
    #[serde(rename = "CP")]
    postcode: String,
    #[serde(rename = "Ville")]
    city: String,
    #[serde(rename = "Latitude")]
    latitude: String,
    #[serde(rename = "Longitude")]
    longitude: String,
    #[serde(rename = "Horaires_Lundi")]
    monday: Times,
    #[serde(rename = "Horaires_Mardi")]
    tuesday: Times,
    #[serde(rename = "Horaires_Mercredi")]
    wednesday: Times,
    #[serde(rename = "Horaires_Jeudi")]
    thursday: Times,
    #[serde(rename = "Horaires_Vendredi")]
    friday: Times,
    #[serde(rename = "Horaires_Samedi")]
    saturday: Times,
    #[serde(rename = "Horaires_Dimanche")]
    sunday: Times,
    #[serde(rename = "Informations_Dispo")]
    availability: Availability,
}

/// A day's `HHMM` strings: open, close, open, close.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Times {
    #[serde(rename = "string")]
    times: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Availability {
    #[serde(rename = "Periode")]
    periods: Vec<Period>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Period {
    #[serde(rename = "Debut")]
    first: String,
    #[serde(rename = "Fin")]
    last: String,
}

pub fn read(text: &str) -> Result<Parsed, FileError> {
    xml_rows(text, "PointRelais_Details", |item: &Details, _| point(item))
}

fn point(item: &Details) -> Result<NewPoint, String> {
    let (num, country) = (item.num.trim(), item.country.trim());
    if num.is_empty() || country.is_empty() {
        return Err("Num or Pays is missing".into());
    }
    let days =
        [&item.monday, &item.tuesday, &item.wednesday, &item.thursday, &item.friday, &item.saturday, &item.sunday];
    let mut slots = Vec::new();
    for (day, times) in days.into_iter().enumerate() {
        let times: Vec<&str> = times.times.iter().map(|t| t.trim()).collect();
        for pair in times.chunks(2) {
            if let [from, to] = pair
                && !(*from == "0000" && *to == "0000")
            {
                slots.push((day, (*from).to_owned(), (*to).to_owned()));
            }
        }
    }
    let closures = item
        .availability
        .periods
        .iter()
        .map(|period| Ok((day_of(&period.first)?, day_of(&period.last)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let name =
        [item.line1.trim(), item.line2.trim()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    let locker = name.to_ascii_uppercase().contains("LOCKER");
    Ok(NewPoint {
        external_id: format!("{country}-{num}"),
        kind: if locker { "locker" } else { "counter" }.into(),
        name,
        address_line1: item.line3.trim().to_owned(),
        address_line2: Some(item.line4.trim().to_owned()).filter(|s| !s.is_empty()),
        postcode: item.postcode.trim().to_owned(),
        city: item.city.trim().to_owned(),
        country: country.to_owned(),
        latitude: decimal("Latitude", item.latitude.trim())?,
        longitude: decimal("Longitude", item.longitude.trim())?,
        timezone: timezone_of(country),
        opening_hours: weekly_value(&slots)?,
        closures,
        services: Some("collect,send,return".into()),
        ..NewPoint::default()
    })
}

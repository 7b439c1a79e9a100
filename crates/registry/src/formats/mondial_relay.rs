//! Mondial Relay's point search response (`WSI4_PointRelais_Recherche`, SOAP XML): one
//! `PointRelais_Details` per point with `Num`, `LgAdr1`..`LgAdr4`, `CP`, `Ville`, `Pays`, coordinates
//! with a decimal comma, `Horaires_Lundi`..`Horaires_Dimanche` as four `HHMM` strings (open, close,
//! open, close; `0000` = no slot) and closure periods in `Informations_Dispo/Periode` (`Debut`, `Fin`).
//! Point numbers are unique per country: the external id is `Pays-Num` (`FR-020198`).

use super::xml::Element;
use super::{FileError, Parsed, day_of, decimal, timezone_of, weekly_value, xml_rows};
use crate::record::NewPoint;

const DAYS: [&str; 7] = [
    "Horaires_Lundi",
    "Horaires_Mardi",
    "Horaires_Mercredi",
    "Horaires_Jeudi",
    "Horaires_Vendredi",
    "Horaires_Samedi",
    "Horaires_Dimanche",
];

pub fn read(text: &str) -> Result<Parsed, FileError> {
    xml_rows(text, "PointRelais_Details", |item, _| point(item))
}

fn point(item: &Element) -> Result<NewPoint, String> {
    let num = item.text_of("Num");
    let country = item.text_of("Pays");
    if num.is_empty() || country.is_empty() {
        return Err("Num or Pays is missing".into());
    }
    let mut slots = Vec::new();
    for (day, field) in DAYS.iter().enumerate() {
        let times: Vec<&str> =
            item.child(field).map(|h| h.children.iter().map(|s| s.text.trim()).collect()).unwrap_or_default();
        for pair in times.chunks(2) {
            if let [from, to] = pair
                && !(*from == "0000" && *to == "0000")
            {
                slots.push((day, (*from).to_owned(), (*to).to_owned()));
            }
        }
    }
    let mut closures = Vec::new();
    if let Some(dispo) = item.child("Informations_Dispo") {
        for period in dispo.children.iter().filter(|p| p.name == "Periode") {
            closures.push((day_of(period.text_of("Debut"))?, day_of(period.text_of("Fin"))?));
        }
    }
    let name = [item.text_of("LgAdr1"), item.text_of("LgAdr2")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let locker = name.to_ascii_uppercase().contains("LOCKER");
    Ok(NewPoint {
        external_id: format!("{country}-{num}"),
        kind: if locker { "locker" } else { "counter" }.into(),
        name,
        address_line1: item.text_of("LgAdr3").to_owned(),
        address_line2: Some(item.text_of("LgAdr4").to_owned()).filter(|s| !s.is_empty()),
        postcode: item.text_of("CP").to_owned(),
        city: item.text_of("Ville").to_owned(),
        country: country.to_owned(),
        latitude: decimal("Latitude", item.text_of("Latitude"))?,
        longitude: decimal("Longitude", item.text_of("Longitude"))?,
        timezone: timezone_of(country),
        opening_hours: weekly_value(&slots)?,
        closures,
        services: Some("collect,send,return".into()),
        ..NewPoint::default()
    })
}

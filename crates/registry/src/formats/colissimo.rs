//! Colissimo's point retrait response (`findRDVPointRetraitAcheminement`, SOAP XML): one
//! `listePointRetraitAcheminement` per point with `identifiant`, `nom`, `adresse1`..`adresse3`,
//! `codePostal`, `localite`, `codePays`, `coordGeolocalisationLatitude`/`Longitude`, one hours string
//! per day (`horairesOuvertureLundi` = `"08:00-12:00 14:00-18:00"`, `00:00-00:00` = closed), closures in
//! `listeConges` (`calendarDeDebut`, `calendarDeFin`), `typeDePoint` (`A2P` partner shop, `BPR`/`BDP`
//! post office, `CIT`/`PCS` parcel locker) and `poidsMaxi` in grams.

use super::xml::Element;
use super::{FileError, Parsed, day_of, decimal, timezone_of, weekly_value, xml_rows};
use crate::record::NewPoint;

const DAYS: [&str; 7] = [
    "horairesOuvertureLundi",
    "horairesOuvertureMardi",
    "horairesOuvertureMercredi",
    "horairesOuvertureJeudi",
    "horairesOuvertureVendredi",
    "horairesOuvertureSamedi",
    "horairesOuvertureDimanche",
];

pub fn read(text: &str) -> Result<Parsed, FileError> {
    xml_rows(text, "listePointRetraitAcheminement", |item, _| point(item))
}

fn point(item: &Element) -> Result<NewPoint, String> {
    let id = item.text_of("identifiant");
    if id.is_empty() {
        return Err("identifiant is missing".into());
    }
    let mut slots = Vec::new();
    for (day, field) in DAYS.iter().enumerate() {
        for slot in item.text_of(field).split_whitespace() {
            let (from, to) = slot.split_once('-').ok_or_else(|| format!("{field}: {slot:?} is not HH:MM-HH:MM"))?;
            if from != to {
                slots.push((day, from.to_owned(), to.to_owned()));
            }
        }
    }
    let closures = item
        .children
        .iter()
        .filter(|c| c.name == "listeConges")
        .map(|c| Ok((day_of(c.text_of("calendarDeDebut"))?, day_of(c.text_of("calendarDeFin"))?)))
        .collect::<Result<Vec<_>, String>>()?;
    let kind = match item.text_of("typeDePoint") {
        "A2P" | "RELAIS" => "counter",
        "CIT" | "PCS" | "CMT" => "locker",
        _ => "post_office",
    };
    let weight = item.text_of("poidsMaxi");
    Ok(NewPoint {
        external_id: id.to_owned(),
        kind: kind.into(),
        name: item.text_of("nom").to_owned(),
        address_line1: item.text_of("adresse1").to_owned(),
        address_line2: Some([item.text_of("adresse2"), item.text_of("adresse3")].join(" ").trim().to_owned())
            .filter(|s| !s.is_empty()),
        postcode: item.text_of("codePostal").to_owned(),
        city: item.text_of("localite").to_owned(),
        country: item.text_of("codePays").to_owned(),
        latitude: decimal("coordGeolocalisationLatitude", item.text_of("coordGeolocalisationLatitude"))?,
        longitude: decimal("coordGeolocalisationLongitude", item.text_of("coordGeolocalisationLongitude"))?,
        weight_max_g: if weight.is_empty() {
            None
        } else {
            Some(weight.parse().map_err(|_| format!("poidsMaxi {weight:?} is not a number of grams"))?)
        },
        timezone: timezone_of(item.text_of("codePays")),
        opening_hours: weekly_value(&slots)?,
        closures,
        services: Some(if kind == "locker" { "collect,return" } else { "collect,send,return" }.into()),
        ..NewPoint::default()
    })
}

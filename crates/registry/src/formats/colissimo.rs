//! Colissimo's point retrait response (`findRDVPointRetraitAcheminement`, SOAP XML): one
//! `listePointRetraitAcheminement` per point with `identifiant`, `nom`, `adresse1`..`adresse3`,
//! `codePostal`, `localite`, `codePays`, `coordGeolocalisationLatitude`/`Longitude`, one hours string
//! per day (`horairesOuvertureLundi` = `"08:00-12:00 14:00-18:00"`, `00:00-00:00` = closed), closures in
//! `listeConges` (`calendarDeDebut`, `calendarDeFin`), `typeDePoint` (`A2P` partner shop, `BPR`/`BDP`
//! post office, `CIT`/`PCS` parcel locker) and `poidsMaxi` in grams.

use serde::Deserialize;

use super::{FileError, Parsed, day_of, decimal, timezone_of, weekly_value, xml_rows};
use crate::record::NewPoint;

/// One `listePointRetraitAcheminement`, as the answer writes it (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PointRetrait {
    identifiant: String,
    nom: String,
    adresse1: String,
    adresse2: String,
    adresse3: String,
    code_postal: String,
    localite: String,
    code_pays: String,
    coord_geolocalisation_latitude: String,
    coord_geolocalisation_longitude: String,
    horaires_ouverture_lundi: String,
    horaires_ouverture_mardi: String,
    horaires_ouverture_mercredi: String,
    horaires_ouverture_jeudi: String,
    horaires_ouverture_vendredi: String,
    horaires_ouverture_samedi: String,
    horaires_ouverture_dimanche: String,
    liste_conges: Vec<Conge>,
    type_de_point: String,
    poids_maxi: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Conge {
    calendar_de_debut: String,
    calendar_de_fin: String,
}

pub fn read(text: &str) -> Result<Parsed, FileError> {
    xml_rows(text, "listePointRetraitAcheminement", |item: &PointRetrait, _| point(item))
}

fn point(item: &PointRetrait) -> Result<NewPoint, String> {
    let id = item.identifiant.trim();
    if id.is_empty() {
        return Err("identifiant is missing".into());
    }
    let days = [
        ("horairesOuvertureLundi", &item.horaires_ouverture_lundi),
        ("horairesOuvertureMardi", &item.horaires_ouverture_mardi),
        ("horairesOuvertureMercredi", &item.horaires_ouverture_mercredi),
        ("horairesOuvertureJeudi", &item.horaires_ouverture_jeudi),
        ("horairesOuvertureVendredi", &item.horaires_ouverture_vendredi),
        ("horairesOuvertureSamedi", &item.horaires_ouverture_samedi),
        ("horairesOuvertureDimanche", &item.horaires_ouverture_dimanche),
    ];
    let mut slots = Vec::new();
    for (day, (field, text)) in days.into_iter().enumerate() {
        for slot in text.split_whitespace() {
            let (from, to) = slot.split_once('-').ok_or_else(|| format!("{field}: {slot:?} is not HH:MM-HH:MM"))?;
            if from != to {
                slots.push((day, from.to_owned(), to.to_owned()));
            }
        }
    }
    let closures = item
        .liste_conges
        .iter()
        .map(|c| Ok((day_of(&c.calendar_de_debut)?, day_of(&c.calendar_de_fin)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let kind = match item.type_de_point.trim() {
        "A2P" | "RELAIS" => "counter",
        "CIT" | "PCS" | "CMT" => "locker",
        _ => "post_office",
    };
    let weight = item.poids_maxi.trim();
    let country = item.code_pays.trim();
    Ok(NewPoint {
        external_id: id.to_owned(),
        kind: kind.into(),
        name: item.nom.trim().to_owned(),
        address_line1: item.adresse1.trim().to_owned(),
        address_line2: Some([item.adresse2.trim(), item.adresse3.trim()].join(" ").trim().to_owned())
            .filter(|s| !s.is_empty()),
        postcode: item.code_postal.trim().to_owned(),
        city: item.localite.trim().to_owned(),
        country: country.to_owned(),
        latitude: decimal("coordGeolocalisationLatitude", item.coord_geolocalisation_latitude.trim())?,
        longitude: decimal("coordGeolocalisationLongitude", item.coord_geolocalisation_longitude.trim())?,
        weight_max_g: if weight.is_empty() {
            None
        } else {
            Some(weight.parse().map_err(|_| format!("poidsMaxi {weight:?} is not a number of grams"))?)
        },
        timezone: timezone_of(country),
        opening_hours: weekly_value(&slots)?,
        closures,
        services: Some(if kind == "locker" { "collect,return" } else { "collect,send,return" }.into()),
        ..NewPoint::default()
    })
}

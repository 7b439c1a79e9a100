//! La Poste's "points de contact" open-data file (data.gouv.fr, Licence Ouverte): `;`-separated, one row
//! per post office, communal postal agency or partner shop ("Relais poste commerçant"), with
//! coordinates and no opening hours.

use super::{FileError, Parsed, Row, RowError, csv_rows, decimal};
use crate::record::NewPoint;

const ID: &str = "Identifiant_du_site";
const LABEL: &str = "Libellé_du_site";
const NATURE: &str = "Caractéristique_du_site";
const STREET: &str = "Adresse";
const COMPLEMENT: &str = "Complément_d_adresse";
const LOCALITY: &str = "Lieu_dit";
const POSTCODE: &str = "Code_postal";
const CITY: &str = "Localité";
const COUNTRY: &str = "Pays";
const LATITUDE: &str = "Latitude";
const LONGITUDE: &str = "Longitude";

pub fn read(text: &str) -> Result<Parsed, FileError> {
    let required = [ID, LABEL, NATURE, STREET, POSTCODE, CITY, LATITUDE, LONGITUDE];
    csv_rows(text, b';', &required, |header, record, line, parsed| {
        let get = |name: &'static str| header.index(name).and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
        match point(&get) {
            Ok(point) => parsed.rows.push(Row { line, item: None, point }),
            Err(message) => {
                let external_id = Some(get(ID).to_owned()).filter(|i| !i.is_empty());
                parsed.errors.push(RowError { line, item: None, external_id, message })
            }
        }
    })
}

fn point<'a>(get: &dyn Fn(&'static str) -> &'a str) -> Result<NewPoint, String> {
    let (kind, shelf) = match get(NATURE) {
        "Relais poste commerçant" => ("counter", 30),
        "Bureau de Poste" => ("post_office", 60),
        "" => return Err(format!("{NATURE} is empty")),
        // Communal, intercommunal and military postal agencies: a post-office counter run by others.
        _ => ("post_office", 20),
    };
    if get(LATITUDE).is_empty() || get(LONGITUDE).is_empty() {
        return Err("the point has no coordinates (Latitude, Longitude empty)".into());
    }
    let street = [get(STREET), get(LOCALITY), get(CITY)].into_iter().find(|s| !s.is_empty()).unwrap_or("");
    Ok(NewPoint {
        external_id: get(ID).to_owned(),
        kind: kind.into(),
        name: title(get(LABEL)),
        address_line1: street.to_owned(),
        address_line2: Some(get(COMPLEMENT).to_owned()).filter(|c| !c.is_empty()),
        postcode: get(POSTCODE).to_owned(),
        city: title(get(CITY)),
        country: match get(COUNTRY) {
            "" | "FRANCE" => "FR".to_owned(),
            other => other.to_owned(),
        },
        latitude: decimal(LATITUDE, get(LATITUDE))?,
        longitude: decimal(LONGITUDE, get(LONGITUDE))?,
        timezone: Some("Europe/Paris".into()),
        shelf_capacity: Some(shelf),
        services: Some("collect,send,return".into()),
        ..NewPoint::default()
    })
}

/// `LYON ARTAUD RP` -> `Lyon Artaud Rp`: the source is all capitals.
pub fn title(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{Encoding, Format};

    const HEADER: &str = "#Identifiant_du_site;Libellé_du_site;Caractéristique_du_site;Site_Acores_de_rattachement;Adresse;Complément_d_adresse;Lieu_dit;Code_postal;Localité;Code_INSEE;Pays;Latitude;Longitude;Précision_du_géocodage;Numéro_de_téléphone;latlong";

    #[test]
    fn kinds_names_and_missing_coordinates() {
        let text = format!(
            "{HEADER}\n\
             15015A;SARTROUVILLE PRINCIPAL BP;Bureau de Poste;;PLACE ALEXANDRE DUMAS;;;78500;SARTROUVILLE;78586;FRANCE;48.943878;2.189764;Géocodé au numéro;3631;\n\
             R1;TABAC DU COIN;Relais poste commerçant;;;;LE BOURG;01000;BOURG EN BRESSE;01053;FRANCE;46.2;5.2;;;\n\
             X9;NOWHERE;Agence postale communale;;1 RUE;;;01000;BOURG;01053;FRANCE;;;;;\n"
        );
        let parsed = Format::LaPoste.read(text.as_bytes(), Encoding::Utf8).unwrap();
        let p = &parsed.rows[0].point;
        assert_eq!(
            (p.kind.as_str(), p.name.as_str(), p.city.as_str()),
            ("post_office", "Sartrouville Principal Bp", "Sartrouville")
        );
        assert_eq!((p.country.as_str(), p.latitude, p.longitude), ("FR", 48.943878, 2.189764));
        let r = &parsed.rows[1].point;
        assert_eq!((r.kind.as_str(), r.address_line1.as_str()), ("counter", "LE BOURG"));
        assert_eq!(
            parsed.errors[0].to_string(),
            "line 4 (X9): the point has no coordinates (Latitude, Longitude empty)"
        );
    }

    #[test]
    fn another_file_is_named_by_its_missing_columns() {
        let error = Format::LaPoste.read(b"external_id,kind\nC1,counter\n", Encoding::Utf8).unwrap_err();
        assert!(matches!(error, FileError::MissingColumns(ref c) if c.len() == 8), "{error}");
    }
}

//! Offline geocoding of postcodes and city names, for searches by "69003" or "Villeurbanne" without a
//! call to an online geocoder (the checkout must answer in milliseconds and keep customers' input to
//! itself). The data (`data/gazetteer_fr.tsv`) is built by `scripts/make-gazetteer.py` from the La Poste
//! contact points (postcode centroids) and GeoNames (cities); France only for now.

use std::collections::HashMap;
use std::sync::OnceLock;

use relais_domain::value::Coordinates;

const DATA: &str = include_str!("../data/gazetteer_fr.tsv");

/// A geocoded place.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    pub postcode: Option<String>,
    pub coordinates: Coordinates,
    pub population: u32,
}

/// Why a place could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeocodeError {
    /// Only these countries have gazetteer data.
    CountryNotCovered(String),
    UnknownPostcode(String),
    UnknownCity(String),
}

impl std::fmt::Display for GeocodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeocodeError::CountryNotCovered(cc) => {
                write!(f, "no postcode or city data for country {cc:?} (covered: FR); search by latitude and longitude")
            }
            GeocodeError::UnknownPostcode(code) => write!(f, "postcode {code:?} is not known"),
            GeocodeError::UnknownCity(name) => write!(f, "no city named {name:?} is known"),
        }
    }
}

pub struct Gazetteer {
    postcodes: HashMap<String, Place>,
    /// City key -> places of that name, most populated first.
    cities: HashMap<String, Vec<Place>>,
    /// City keys in order, for prefix suggestions.
    keys: Vec<String>,
}

impl Gazetteer {
    /// The embedded French gazetteer, loaded on first use.
    pub fn france() -> &'static Gazetteer {
        static FRANCE: OnceLock<Gazetteer> = OnceLock::new();
        FRANCE.get_or_init(|| Gazetteer::from_tsv(DATA))
    }

    fn from_tsv(text: &str) -> Gazetteer {
        let mut postcodes = HashMap::new();
        let mut cities: HashMap<String, Vec<Place>> = HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            let [kind, postcode, lat, lon, population, name] = f[..] else { continue };
            let (Ok(lat), Ok(lon)) = (lat.parse(), lon.parse()) else { continue };
            let Ok(coordinates) = Coordinates::parse(lat, lon) else { continue };
            let place = Place {
                name: name.to_owned(),
                postcode: Some(postcode.to_owned()).filter(|p| !p.is_empty()),
                coordinates,
                population: population.parse().unwrap_or(0),
            };
            match kind {
                "P" => {
                    postcodes.insert(postcode.to_owned(), place);
                }
                _ => cities.entry(key(name)).or_default().push(place),
            }
        }
        for places in cities.values_mut() {
            places.sort_by_key(|p| std::cmp::Reverse(p.population));
        }
        let mut keys: Vec<String> = cities.keys().cloned().collect();
        keys.sort();
        Gazetteer { postcodes, cities, keys }
    }

    pub fn postcode(&self, country: &str, code: &str) -> Result<&Place, GeocodeError> {
        covered(country)?;
        let code = code.trim();
        self.postcodes.get(code).ok_or_else(|| GeocodeError::UnknownPostcode(code.to_owned()))
    }

    /// The best-known city of that name (`Saint-Étienne`, `ST ETIENNE` and `saint etienne` are one).
    pub fn city(&self, country: &str, name: &str) -> Result<&Place, GeocodeError> {
        covered(country)?;
        self.cities.get(&key(name)).and_then(|p| p.first()).ok_or_else(|| GeocodeError::UnknownCity(name.trim().into()))
    }

    /// A postcode (five digits) or a city name.
    pub fn locate(&self, country: &str, text: &str) -> Result<&Place, GeocodeError> {
        let text = text.trim();
        if text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) {
            self.postcode(country, text)
        } else {
            self.city(country, text)
        }
    }

    /// Cities whose name starts with `prefix`, most populated first: the widget's suggestions.
    pub fn suggest(&self, country: &str, prefix: &str, limit: usize) -> Vec<&Place> {
        if covered(country).is_err() {
            return Vec::new();
        }
        let prefix = key(prefix);
        if prefix.is_empty() {
            return Vec::new();
        }
        let start = self.keys.partition_point(|k| k.as_str() < prefix.as_str());
        let mut places: Vec<&Place> = self.keys[start..]
            .iter()
            .take_while(|k| k.starts_with(&prefix))
            .flat_map(|k| self.cities[k].iter())
            .collect();
        places.sort_by_key(|p| std::cmp::Reverse(p.population));
        places.truncate(limit);
        places
    }
}

fn covered(country: &str) -> Result<(), GeocodeError> {
    if country.trim().eq_ignore_ascii_case("FR") {
        Ok(())
    } else {
        Err(GeocodeError::CountryNotCovered(country.trim().to_owned()))
    }
}

/// The lookup key of a name: capitals without accents, words separated by one space, `ST`/`STE` spelled
/// `SAINT`/`SAINTE` (La Poste abbreviates, GeoNames does not). Same rule as `scripts/make-gazetteer.py`.
pub fn key(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_uppercase) {
        let c = fold_accent(c);
        if c.is_ascii_alphanumeric() {
            folded.push(c);
        } else if c == 'Œ' {
            folded.push_str("OE");
        } else if c == 'Æ' {
            folded.push_str("AE");
        } else {
            folded.push(' ');
        }
    }
    folded
        .split_whitespace()
        .map(|w| match w {
            "ST" => "SAINT",
            "STE" => "SAINTE",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A capital letter without its accent (the accented capitals of French and its neighbours).
pub fn fold_accent(c: char) -> char {
    match c {
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'Ç' => 'C',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'Ñ' => 'N',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'Ý' | 'Ÿ' => 'Y',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(key("Saint-Étienne"), "SAINT ETIENNE");
        assert_eq!(key("ST ETIENNE"), "SAINT ETIENNE");
        assert_eq!(key("  l'Haÿ-les-Roses "), "L HAY LES ROSES");
        assert_eq!(key("Œuilly"), "OEUILLY");
    }

    #[test]
    fn postcodes_and_cities_of_france() {
        let g = Gazetteer::france();
        let lyon3 = g.postcode("FR", "69003").unwrap();
        assert!((lyon3.coordinates.latitude() - 45.76).abs() < 0.05, "{lyon3:?}");
        let se = g.city("fr", "saint etienne").unwrap();
        assert!((se.coordinates.latitude() - 45.43).abs() < 0.1, "{se:?}");
        assert_eq!(g.locate("FR", "Villeurbanne").unwrap().name, "Villeurbanne");
        assert_eq!(g.locate("FR", "99999"), Err(GeocodeError::UnknownPostcode("99999".into())));
        assert_eq!(g.locate("FR", "Atlantis").unwrap_err().to_string(), "no city named \"Atlantis\" is known");
        assert!(matches!(g.postcode("DE", "10115"), Err(GeocodeError::CountryNotCovered(_))));
        let suggestions: Vec<_> = g.suggest("FR", "villeur", 3).iter().map(|p| p.name.as_str()).collect();
        assert_eq!(suggestions.first(), Some(&"Villeurbanne"));
    }
}

//! A point record as typed by an operator or read from an import file, and its validation into a
//! [`PickupPoint`]. The API's "create point", the demo and every import adapter go through
//! [`PointValidator::validate`]: one set of rules for every way a point enters the registry.

use std::collections::HashMap;

use relais_domain::Timestamp;
use relais_domain::ids::{NetworkId, PointId};
use relais_domain::point::{Address, Closure, OpeningHours, PickupPoint, PointKind, PointStatus, Services};
use relais_domain::value::{Coordinates, ParseError, Weight, parse_text};

/// A new pickup point, not yet validated: every field as it was given.
#[derive(Debug, Clone, Default)]
pub struct NewPoint {
    pub network_id: NetworkId,
    pub external_id: String,
    pub kind: String,
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: Option<String>,
    pub status: Option<String>,
    pub shelf_capacity: Option<u32>,
    pub weight_max_g: Option<i64>,
    pub dimensions_sum_max_mm: Option<u32>,
    /// `opening_hours` value (OpenStreetMap syntax), not yet parsed.
    pub opening_hours: Option<String>,
    /// Closures as (first day, last day), `YYYY-MM-DD`, not yet parsed.
    pub closures: Vec<(String, String)>,
    /// Comma-separated services (`collect,send,return,cash_on_delivery`); `None` = collect only.
    pub services: Option<String>,
    /// Lockers and hubs: the doors, each a label and a size class.
    pub compartments: Vec<NewCompartment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCompartment {
    pub label: String,
    pub size: String,
}

/// Bounds for a point's limits when the input gives none: locker compartments take 25 kg; a shelf point
/// takes Mondial Relay's 30 kg and 150 cm (length + width + height).
pub const LOCKER_WEIGHT_G_MAX: i64 = 25_000;
pub const SHELF_WEIGHT_G_MAX: i64 = 30_000;
pub const SHELF_DIMENSIONS_SUM_MM_MAX: u32 = 1_500;
pub const SHELF_CAPACITY_DEFAULT: u32 = 40;
/// Most closures a point carries (a shop's holidays for a few years).
pub const CLOSURES_MAX: usize = 100;
pub const DEFAULT_TIMEZONE: &str = "Europe/Paris";

/// Validates point records. Keeps the `opening_hours` values it has parsed: an import of 200,000 points
/// has a few thousand distinct values, and parsing is the costly part of validation.
#[derive(Default)]
pub struct PointValidator {
    hours: HashMap<String, Result<relais_hours::Reading, String>>,
    /// What the last record validated was read with tolerance for (its opening hours).
    warnings: Vec<String>,
    /// (timezone, country) pairs known to have a holiday calendar.
    holiday_places: std::collections::HashSet<(String, String)>,
}

/// Whether compartments are required of a locker or hub. The API requires them (relais runs the locker);
/// an operator's file may describe another network's lockers without their doors, and an import checks
/// the doors only of the points it adds (`Deferred`: [`check_doors`] is the caller's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compartments {
    Required,
    Optional,
    Deferred,
}

impl PointValidator {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the record last validated was read with tolerance for, each with the value it became
    /// (`opening_hours "Mo-Fr 9-18": ... stored as "Mo-Fr 09:00-18:00"`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The point `input` describes, with `id`, created or updated at `now`, from `source`. Compartments
    /// are checked for presence and count only; the caller builds them (they need ids).
    pub fn validate(
        &mut self,
        input: &NewPoint,
        id: PointId,
        now: Timestamp,
        source: &str,
        compartments: Compartments,
    ) -> Result<PickupPoint, ParseError> {
        self.warnings.clear();
        let kind = PointKind::parse(input.kind.trim())?;
        let status = input.status.as_deref().map(str::trim).map(PointStatus::parse).transpose()?;
        let timezone = input.timezone.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or(DEFAULT_TIMEZONE);
        if relais_hours::parse_timezone(timezone).is_err() {
            return Err(ParseError::new("timezone", "must be an IANA time zone name such as Europe/Paris"));
        }
        let (shelf_capacity, weight_default, sum_default) = if kind.has_compartments() {
            if input.shelf_capacity.unwrap_or(0) != 0 {
                return Err(ParseError::new("shelf_capacity", "a locker or hub has compartments, not a shelf"));
            }
            if input.compartments.is_empty() && compartments == Compartments::Required {
                return Err(ParseError::new("compartments", "a locker or hub needs at least one compartment"));
            }
            (0, LOCKER_WEIGHT_G_MAX, u32::MAX)
        } else {
            if !input.compartments.is_empty() {
                return Err(ParseError::new("compartments", "only lockers and hubs have compartments"));
            }
            let capacity = input.shelf_capacity.unwrap_or(SHELF_CAPACITY_DEFAULT);
            if capacity == 0 || capacity > PickupPoint::SHELF_CAPACITY_MAX {
                return Err(ParseError::new("shelf_capacity", "must be between 1 and 10000 parcel slots"));
            }
            (capacity, SHELF_WEIGHT_G_MAX, SHELF_DIMENSIONS_SUM_MM_MAX)
        };
        if compartments != Compartments::Deferred {
            check_doors(&input.compartments)?;
        }
        let dimensions_sum_mm_max = input.dimensions_sum_max_mm.unwrap_or(sum_default);
        if dimensions_sum_mm_max == 0 {
            return Err(ParseError::new("dimensions_sum_max_mm", "must be more than 0"));
        }
        let address = Address::parse(
            &input.address_line1,
            input.address_line2.as_deref(),
            &input.postcode,
            &input.city,
            &input.country,
        )?;
        let opening_hours = self.opening_hours(input.opening_hours.as_deref(), timezone, &address.country)?;
        Ok(PickupPoint {
            id,
            network_id: input.network_id,
            external_id: parse_text("external_id", &input.external_id, 64)?,
            kind,
            name: parse_text("name", &input.name, 200)?,
            address,
            coordinates: Coordinates::parse(input.latitude, input.longitude)?,
            timezone: timezone.to_owned(),
            status: status.unwrap_or(PointStatus::Active),
            shelf_capacity,
            shelf_occupied: 0,
            weight_max: Weight::from_grams(input.weight_max_g.unwrap_or(weight_default))?,
            dimensions_sum_mm_max,
            opening_hours,
            closures: parse_closures(&input.closures)?,
            services: match input.services.as_deref() {
                Some(text) => Services::parse(text)?,
                None => Services::COLLECT,
            },
            source: source.to_owned(),
            created_at: now,
            updated_at: now,
            version: 0,
        })
    }

    /// An `opening_hours` value for a point: valid, and evaluable where the point is (`PH` needs a
    /// country with a holiday calendar).
    fn opening_hours(
        &mut self,
        value: Option<&str>,
        timezone: &str,
        country: &str,
    ) -> Result<Option<OpeningHours>, ParseError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
        let parsed = match self.hours.get(value) {
            Some(parsed) => parsed,
            None => self.hours.entry(value.to_owned()).or_insert(OpeningHours::read(value).map_err(|e| e.to_string())),
        };
        let reading = parsed.clone().map_err(|message| ParseError::new("opening_hours", message))?;
        self.warnings.extend(reading.warnings.iter().map(|w| format!("opening_hours {value:?}: {w}")));
        let hours = reading.hours;
        if hours.uses_holidays() && !self.holiday_places.contains(&(timezone.to_owned(), country.to_owned())) {
            relais_hours::Place::new(timezone, Some(country))
                .map_err(|e| ParseError::new("opening_hours", e.to_string()))?;
            self.holiday_places.insert((timezone.to_owned(), country.to_owned()));
        }
        Ok(Some(hours))
    }
}

/// The doors are valid (labels, sizes) and their labels unique. Checked on the record so an import can
/// judge a row before ids are made for its doors.
pub fn check_doors(doors: &[NewCompartment]) -> Result<(), ParseError> {
    use relais_domain::compartment::Compartment;
    if doors.len() > Compartment::PER_POINT_MAX {
        return Err(ParseError::new("compartments", "a point has at most 1000 compartments"));
    }
    let mut labels = std::collections::HashSet::with_capacity(doors.len());
    for door in doors {
        let size = relais_domain::value::SizeClass::parse(&door.size)?;
        let compartment = Compartment::new(Default::default(), Default::default(), &door.label, size)?;
        if !labels.insert(compartment.label) {
            return Err(ParseError::new("compartments", format!("label {} appears twice", door.label.trim())));
        }
    }
    Ok(())
}

fn parse_closures(ranges: &[(String, String)]) -> Result<Vec<Closure>, ParseError> {
    if ranges.len() > CLOSURES_MAX {
        return Err(ParseError::new("closures", format!("at most {CLOSURES_MAX} closures per point")));
    }
    let day = |text: &str| {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| ParseError::new("closures", format!("{text:?} is not a date (YYYY-MM-DD)")))
    };
    let mut closures = ranges
        .iter()
        .map(|(first, last)| {
            let closure = Closure { first: day(first)?, last: day(last)? };
            if closure.last < closure.first {
                return Err(ParseError::new("closures", format!("{first}..{last} ends before it starts")));
            }
            Ok(closure)
        })
        .collect::<Result<Vec<_>, _>>()?;
    closures.sort_by_key(|c| c.first);
    Ok(closures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> NewPoint {
        NewPoint {
            external_id: "C1".into(),
            kind: "counter".into(),
            name: "Tabac".into(),
            address_line1: "1 rue X".into(),
            postcode: "69001".into(),
            city: "Lyon".into(),
            country: "FR".into(),
            latitude: 45.76,
            longitude: 4.83,
            ..NewPoint::default()
        }
    }

    fn validate(input: &NewPoint) -> Result<PickupPoint, ParseError> {
        PointValidator::new().validate(
            input,
            PointId::from_parts(0, [0; 10]),
            Timestamp::default(),
            "test",
            Compartments::Required,
        )
    }

    #[test]
    fn defaults_of_a_counter() {
        let point = validate(&counter()).unwrap();
        assert_eq!(point.shelf_capacity, SHELF_CAPACITY_DEFAULT);
        assert_eq!(point.weight_max.grams(), 30_000);
        assert_eq!(point.timezone, "Europe/Paris");
        assert_eq!(point.services, Services::COLLECT);
        assert_eq!(point.source, "test");
    }

    #[test]
    fn refusals_name_the_field() {
        type Change = Box<dyn Fn(&mut NewPoint)>;
        let cases: Vec<(&str, Change)> = vec![
            ("kind", Box::new(|p| p.kind = "kiosk".into())),
            ("timezone", Box::new(|p| p.timezone = Some("Europe/Lyon".into()))),
            ("opening_hours", Box::new(|p| p.opening_hours = Some("Mo-Fr 25:00-26:00".into()))),
            ("closures", Box::new(|p| p.closures = vec![("2026-08-10".into(), "2026-08-01".into())])),
            ("closures", Box::new(|p| p.closures = vec![("10/08/2026".into(), "2026-08-11".into())])),
            ("services", Box::new(|p| p.services = Some("collect,bar".into()))),
            ("latitude", Box::new(|p| p.latitude = 91.0)),
            ("shelf_capacity", Box::new(|p| p.shelf_capacity = Some(0))),
            ("compartments", Box::new(|p| p.kind = "locker".into())),
            ("country", Box::new(|p| p.country = "France".into())),
        ];
        for (field, change) in cases {
            let mut input = counter();
            change(&mut input);
            assert_eq!(validate(&input).unwrap_err().field, field, "{input:?}");
        }
    }

    #[test]
    fn imported_lockers_may_come_without_compartments() {
        let input = NewPoint { kind: "locker".into(), ..counter() };
        let point = PointValidator::new()
            .validate(&input, PointId::from_parts(0, [0; 10]), Timestamp::default(), "import", Compartments::Optional)
            .unwrap();
        assert_eq!(point.shelf_capacity, 0);
    }

    #[test]
    fn hours_are_parsed_once_per_value_and_checked_per_country() {
        let mut validator = PointValidator::new();
        let mut input = counter();
        input.opening_hours = Some(" Mo-Fr 09:00-19:00; PH off ".into());
        let a = validator
            .validate(&input, PointId::from_parts(0, [0; 10]), Timestamp::default(), "t", Compartments::Required)
            .unwrap();
        assert_eq!(a.opening_hours.unwrap().as_str(), "Mo-Fr 09:00-19:00; PH closed");
        assert_eq!(validator.hours.len(), 1);
        input.country = "ZZ".into();
        let refused = validator.validate(
            &input,
            PointId::from_parts(0, [0; 10]),
            Timestamp::default(),
            "t",
            Compartments::Required,
        );
        assert_eq!(refused.unwrap_err().field, "opening_hours");
    }
}

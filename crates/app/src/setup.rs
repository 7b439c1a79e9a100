//! Use cases that build the network: networks, merchants, pickup points with their compartments, API
//! keys; and the reads that go with them.

use relais_domain::compartment::Compartment;
use relais_domain::ids::{MerchantId, NetworkId, PointId};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::point::{Address, Closure, OpeningHours, PickupPoint, PointKind, PointStatus};
use relais_domain::value::{Coordinates, ParseError, SizeClass, Weight, parse_text};

use crate::App;
use crate::auth::{ApiKey, Caller, Permission, Role};
use crate::error::AppError;
use crate::ports::{Merchant, Page, Write};
use crate::secrets::new_api_key;

/// A new pickup point, as typed by an operator or read from an import file.
#[derive(Debug, Clone)]
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
    /// Lockers and hubs: the doors, each a label and a size class.
    pub compartments: Vec<NewCompartment>,
}

#[derive(Debug, Clone)]
pub struct NewCompartment {
    pub label: String,
    pub size: String,
}

/// An API key as created: the secret is here and nowhere else, ever.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Bounds for a point's limits when the input gives none: locker compartments take 25 kg; a shelf point
/// takes Mondial Relay's 30 kg and 150 cm (length + width + height).
const LOCKER_WEIGHT_G_MAX: i64 = 25_000;
const SHELF_WEIGHT_G_MAX: i64 = 30_000;
const SHELF_DIMENSIONS_SUM_MM_MAX: u32 = 1_500;
const SHELF_CAPACITY_DEFAULT: u32 = 40;

impl App {
    pub async fn create_network(&self, caller: &Caller, name: &str, rules: NetworkRules) -> Result<Network, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let network = Network::new(self.new_id(), name, rules.validate()?, self.now())?;
        self.store.commit(vec![Write::InsertNetwork(network.clone())]).await?;
        Ok(network)
    }

    pub async fn create_merchant(&self, caller: &Caller, name: &str) -> Result<Merchant, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let merchant = Merchant { id: self.new_id(), name: parse_text("name", name, 120)?, created_at: self.now() };
        self.store.commit(vec![Write::InsertMerchant(merchant.clone())]).await?;
        Ok(merchant)
    }

    /// Creates a point and, for lockers and hubs, its compartments, in one transaction.
    pub async fn create_point(
        &self,
        caller: &Caller,
        input: NewPoint,
    ) -> Result<(PickupPoint, Vec<Compartment>), AppError> {
        caller.require(Permission::ManageNetwork)?;
        if self.store.network(input.network_id).await?.is_none() {
            return Err(AppError::not_found("network", input.network_id));
        }
        let kind = PointKind::parse(&input.kind)?;
        let status = input.status.as_deref().map(PointStatus::parse).transpose()?.unwrap_or(PointStatus::Active);
        let timezone = input.timezone.as_deref().unwrap_or("Europe/Paris");
        if relais_hours::parse_timezone(timezone).is_err() {
            return Err(ParseError::new("timezone", "must be an IANA time zone name such as Europe/Paris").into());
        }
        let (shelf_capacity, weight_default, sum_default) = if kind.has_compartments() {
            if input.shelf_capacity.unwrap_or(0) != 0 {
                return Err(ParseError::new("shelf_capacity", "a locker or hub has compartments, not a shelf").into());
            }
            if input.compartments.is_empty() {
                return Err(ParseError::new("compartments", "a locker or hub needs at least one compartment").into());
            }
            (0, LOCKER_WEIGHT_G_MAX, u32::MAX)
        } else {
            if !input.compartments.is_empty() {
                return Err(ParseError::new("compartments", "only lockers and hubs have compartments").into());
            }
            let capacity = input.shelf_capacity.unwrap_or(SHELF_CAPACITY_DEFAULT);
            if capacity == 0 || capacity > PickupPoint::SHELF_CAPACITY_MAX {
                return Err(ParseError::new("shelf_capacity", "must be between 1 and 10000 parcel slots").into());
            }
            (capacity, SHELF_WEIGHT_G_MAX, SHELF_DIMENSIONS_SUM_MM_MAX)
        };
        if input.compartments.len() > Compartment::PER_POINT_MAX {
            return Err(ParseError::new("compartments", "a point has at most 1000 compartments").into());
        }
        let point = PickupPoint {
            id: self.new_id(),
            network_id: input.network_id,
            external_id: parse_text("external_id", &input.external_id, 64)?,
            kind,
            name: parse_text("name", &input.name, 200)?,
            address: Address::parse(
                &input.address_line1,
                input.address_line2.as_deref(),
                &input.postcode,
                &input.city,
                &input.country,
            )?,
            coordinates: Coordinates::parse(input.latitude, input.longitude)?,
            timezone: timezone.to_owned(),
            status,
            shelf_capacity,
            shelf_occupied: 0,
            weight_max: Weight::from_grams(input.weight_max_g.unwrap_or(weight_default))?,
            dimensions_sum_mm_max: input.dimensions_sum_max_mm.unwrap_or(sum_default),
            opening_hours: parse_opening_hours(input.opening_hours.as_deref(), timezone, &input.country)?,
            closures: parse_closures(&input.closures)?,
            created_at: self.now(),
            version: 0,
        };
        let mut compartments = Vec::with_capacity(input.compartments.len());
        let mut labels = std::collections::HashSet::new();
        for c in &input.compartments {
            let compartment = Compartment::new(self.new_id(), point.id, &c.label, SizeClass::parse(&c.size)?)?;
            if !labels.insert(compartment.label.clone()) {
                return Err(
                    ParseError::new("compartments", format!("label {} appears twice", compartment.label)).into()
                );
            }
            compartments.push(compartment);
        }
        let mut writes = vec![Write::InsertPoint(point.clone())];
        writes.extend(compartments.iter().cloned().map(Write::InsertCompartment));
        self.store.commit(writes).await?;
        Ok((point, compartments))
    }

    /// Issues an API key. Merchant keys name their merchant, locker device keys their point.
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        role: Role,
        merchant_id: Option<MerchantId>,
        point_id: Option<PointId>,
        label: &str,
    ) -> Result<IssuedApiKey, AppError> {
        caller.require(Permission::ManageNetwork)?;
        match (role, merchant_id, point_id) {
            (Role::Merchant, Some(merchant_id), None) => {
                if self.store.merchant(merchant_id).await?.is_none() {
                    return Err(AppError::not_found("merchant", merchant_id));
                }
            }
            (Role::LockerDevice, None, Some(point_id)) => {
                if self.store.point(point_id).await?.is_none() {
                    return Err(AppError::not_found("point", point_id));
                }
            }
            (Role::Operator | Role::Carrier, None, None) => {}
            (Role::Merchant, _, _) => {
                return Err(ParseError::new("merchant_id", "a merchant key needs merchant_id and no point_id").into());
            }
            (Role::LockerDevice, _, _) => {
                return Err(ParseError::new("point_id", "a locker device key needs point_id and no merchant_id").into());
            }
            (Role::Operator | Role::Carrier, _, _) => {
                return Err(ParseError::new("role", "operator and carrier keys take no merchant_id or point_id").into());
            }
        }
        let secret = new_api_key(role, self.random.as_ref());
        let key = ApiKey {
            id: self.new_id(),
            role,
            merchant_id,
            point_id,
            label: parse_text("label", label, 120)?,
            digest: self.secrets.api_key_digest(&secret),
            created_at: self.now(),
        };
        self.store.commit(vec![Write::InsertApiKey(key.clone())]).await?;
        Ok(IssuedApiKey { key, secret })
    }

    /// The caller behind an API key secret, or `unauthorized`.
    pub async fn authenticate(&self, secret: &str) -> Result<Caller, AppError> {
        let digest = self.secrets.api_key_digest(secret.trim());
        match self.store.api_key_by_digest(&digest).await? {
            Some(key) => Ok(Caller::from_key(&key)),
            None => Err(AppError::Unauthorized),
        }
    }

    pub async fn network(&self, caller: &Caller, id: NetworkId) -> Result<Network, AppError> {
        caller.require(Permission::ReadNetwork)?;
        self.store.network(id).await?.ok_or_else(|| AppError::not_found("network", id))
    }

    pub async fn networks(&self, caller: &Caller, page: Page<NetworkId>) -> Result<Vec<Network>, AppError> {
        caller.require(Permission::ReadNetwork)?;
        Ok(self.store.networks(Page { limit: self.page_limit(Some(page.limit)), ..page }).await?)
    }

    pub async fn point(&self, caller: &Caller, id: PointId) -> Result<(PickupPoint, Vec<Compartment>), AppError> {
        caller.require(Permission::ReadNetwork)?;
        let point = self.store.point(id).await?.ok_or_else(|| AppError::not_found("point", id))?;
        let compartments = self.store.compartments(id).await?;
        Ok((point, compartments))
    }

    pub async fn points(
        &self,
        caller: &Caller,
        network_id: Option<NetworkId>,
        page: Page<PointId>,
    ) -> Result<Vec<PickupPoint>, AppError> {
        caller.require(Permission::ReadNetwork)?;
        Ok(self.store.points(network_id, Page { limit: self.page_limit(Some(page.limit)), ..page }).await?)
    }
}

/// An `opening_hours` value for a point: valid, and evaluable where the point is (`PH` needs a country
/// with a holiday calendar).
fn parse_opening_hours(value: Option<&str>, timezone: &str, country: &str) -> Result<Option<OpeningHours>, ParseError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    let hours = OpeningHours::parse(value).map_err(|e| ParseError::new("opening_hours", e.to_string()))?;
    if hours.uses_holidays() {
        relais_hours::Place::new(timezone, Some(country))
            .and_then(|place| hours.at(&place))
            .map_err(|e| ParseError::new("opening_hours", e.to_string()))?;
    }
    Ok(Some(hours))
}

/// Most closures a point carries (a shop's holidays for a few years).
const CLOSURES_MAX: usize = 100;

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

//! Use cases that build the network: networks, merchants, pickup points with their compartments, API
//! keys; and the reads that go with them.

use relais_domain::compartment::Compartment;
use relais_domain::ids::{MerchantId, NetworkId, PointId};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::point::PickupPoint;
use relais_domain::value::{ParseError, SizeClass, parse_text};
use relais_registry::diff::ChangeKind;
use relais_registry::{Compartments, PointValidator};

use crate::App;
use crate::auth::{ApiKey, Caller, Permission, Role};
use crate::error::AppError;
use crate::ports::{Merchant, Page, PointChange, Write};
use crate::secrets::new_api_key;

pub use relais_registry::{NewCompartment, NewPoint};

/// An API key as created: the secret is here and nowhere else, ever.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

impl App {
    pub async fn create_network(&self, caller: &Caller, name: &str, rules: NetworkRules) -> Result<Network, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let network = Network::new(self.new_id(), name, rules.validate()?, self.now())?;
        self.insert(Write::InsertNetwork(network.clone())).await?;
        Ok(network)
    }

    pub async fn create_merchant(&self, caller: &Caller, name: &str) -> Result<Merchant, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let name = parse_text("name", name, Merchant::NAME_LENGTH_MAX)?;
        let merchant = Merchant { id: self.new_id(), name, created_at: self.now() };
        self.insert(Write::InsertMerchant(merchant.clone())).await?;
        Ok(merchant)
    }

    /// Creates a point and, for lockers and hubs, its compartments, in one transaction.
    pub async fn create_point(
        &self,
        caller: &Caller,
        input: NewPoint,
    ) -> Result<(PickupPoint, Vec<Compartment>), AppError> {
        caller.require(Permission::ManageNetwork)?;
        self.load_rules(input.network_id).await?;
        let point = PointValidator::new().validate(&input, self.new_id(), self.now(), "api", Compartments::Required)?;
        let compartments = self.build_compartments(point.id, &input.compartments)?;
        self.run(|| async {
            let mut tx = self.tx();
            tx.write(Write::InsertPoint(point.clone()));
            tx.write_all(compartments.iter().cloned().map(Write::InsertCompartment));
            tx.write(Write::AppendPointChange(PointChange {
                seq: 0,
                point_id: point.id,
                import_id: None,
                at: point.created_at,
                kind: ChangeKind::Added,
                fields: Vec::new(),
            }));
            Ok(tx.done(()))
        })
        .await?;
        Ok((point, compartments))
    }

    /// The doors of a new locker or hub, with fresh ids. Their labels and sizes were checked with the
    /// point (`relais_registry::record::check_doors`).
    pub(crate) fn build_compartments(
        &self,
        point_id: relais_domain::ids::PointId,
        doors: &[NewCompartment],
    ) -> Result<Vec<Compartment>, ParseError> {
        doors
            .iter()
            .map(|door| Compartment::new(self.new_id(), point_id, &door.label, SizeClass::parse(&door.size)?))
            .collect()
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
                self.load_point(point_id).await?;
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
            label: parse_text("label", label, ApiKey::LABEL_LENGTH_MAX)?,
            digest: self.secrets.api_key_digest(&secret),
            created_at: self.now(),
        };
        self.insert(Write::InsertApiKey(key.clone())).await?;
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

    /// A command that writes one new row.
    async fn insert(&self, write: Write) -> Result<(), AppError> {
        self.run(|| async {
            let mut tx = self.tx();
            tx.write(write.clone());
            Ok(tx.done(()))
        })
        .await
    }

    pub async fn network(&self, caller: &Caller, id: NetworkId) -> Result<Network, AppError> {
        caller.require(Permission::ReadNetwork)?;
        self.store.network(id).await?.ok_or_else(|| AppError::not_found("network", id))
    }

    pub async fn networks(&self, caller: &Caller, page: Page<NetworkId>) -> Result<Vec<Network>, AppError> {
        caller.require(Permission::ReadNetwork)?;
        Ok(self.store.networks(Page { limit: self.page_limit(Some(page.limit))?, ..page }).await?)
    }

    pub async fn point(&self, caller: &Caller, id: PointId) -> Result<(PickupPoint, Vec<Compartment>), AppError> {
        caller.require(Permission::ReadNetwork)?;
        let point = self.load_point(id).await?;
        let compartments = self.store.compartments(id).await?;
        Ok((point, compartments))
    }

    /// How many points the registry holds (the demo seeds an empty one only).
    pub async fn count_points(&self, caller: &Caller) -> Result<u64, AppError> {
        caller.require(Permission::ReadNetwork)?;
        Ok(self.store.count_points().await?)
    }

    pub async fn points(
        &self,
        caller: &Caller,
        network_id: Option<NetworkId>,
        page: Page<PointId>,
    ) -> Result<Vec<PickupPoint>, AppError> {
        caller.require(Permission::ReadNetwork)?;
        Ok(self.store.points(network_id, Page { limit: self.page_limit(Some(page.limit))?, ..page }).await?)
    }
}

/// `text` cut to at most `max` characters (for names of files and URLs kept in the history).
pub(crate) fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

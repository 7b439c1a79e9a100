//! Use cases that build the network: networks, merchants, carriers, pickup points with their
//! compartments; and the reads that go with them. API keys are in `keys.rs`.

use relais_domain::compartment::Compartment;
use relais_domain::ids::{CarrierId, NetworkId, PointId};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::point::PickupPoint;
use relais_domain::value::{ParseError, SizeClass, parse_text};
use relais_registry::diff::ChangeKind;
use relais_registry::{Compartments, PointValidator};

use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::error::AppError;
use crate::ports::{Carrier, Merchant, Page, PointChange, Write};

pub use relais_registry::{NewCompartment, NewPoint};

/// A point as created: its doors, and what its input was read with tolerance for.
#[derive(Debug, Clone)]
pub struct CreatedPoint {
    pub point: PickupPoint,
    pub compartments: Vec<Compartment>,
    pub warnings: Vec<String>,
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

    /// Creates a point and, for lockers and hubs, its compartments, in one transaction. What the input
    /// was read with tolerance for (its opening hours) comes back as warnings.
    pub async fn create_point(&self, caller: &Caller, input: NewPoint) -> Result<CreatedPoint, AppError> {
        caller.require(Permission::ManageNetwork)?;
        self.load_rules(input.network_id).await?;
        let mut validator = PointValidator::new();
        let point = validator.validate(&input, self.new_id(), self.now(), "api", Compartments::Required)?;
        let warnings = validator.warnings().to_vec();
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
        Ok(CreatedPoint { point, compartments, warnings })
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

    /// Creates a carrier serving `networks` (the parcels of those networks whose merchant named no
    /// carrier); its keys are created with `carrier_id`.
    pub async fn create_carrier(
        &self,
        caller: &Caller,
        name: &str,
        networks: &[NetworkId],
    ) -> Result<Carrier, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let networks = self.known_networks(networks).await?;
        let name = parse_text("name", name, Carrier::NAME_LENGTH_MAX)?;
        let carrier = Carrier { id: self.new_id(), name, networks, created_at: self.now() };
        self.insert(Write::InsertCarrier(carrier.clone())).await?;
        Ok(carrier)
    }

    /// Replaces the networks a carrier serves.
    pub async fn set_carrier_networks(
        &self,
        caller: &Caller,
        carrier_id: CarrierId,
        networks: &[NetworkId],
    ) -> Result<Carrier, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let carrier = self.load_carrier(carrier_id).await?;
        let networks = self.known_networks(networks).await?;
        self.insert(Write::SetCarrierNetworks { carrier_id, networks: networks.clone() }).await?;
        Ok(Carrier { networks, ..carrier })
    }

    pub async fn carrier(&self, caller: &Caller, carrier_id: CarrierId) -> Result<Carrier, AppError> {
        match caller.role {
            // A carrier reads its own record; operators any.
            Role::Carrier if caller.carrier_id == Some(carrier_id) => {}
            _ => caller.require(Permission::ManageNetwork)?,
        }
        self.load_carrier(carrier_id).await
    }

    pub async fn carriers(&self, caller: &Caller, page: Page<CarrierId>) -> Result<Vec<Carrier>, AppError> {
        caller.require(Permission::ManageNetwork)?;
        Ok(self.store.carriers(Page { limit: self.page_limit(Some(page.limit))?, ..page }).await?)
    }

    /// The networks named, each checked to exist, without repeats.
    async fn known_networks(&self, networks: &[NetworkId]) -> Result<Vec<NetworkId>, AppError> {
        if networks.len() > Carrier::NETWORKS_MAX {
            let problem = format!("at most {} networks", Carrier::NETWORKS_MAX);
            return Err(ParseError::new("network_ids", problem).into());
        }
        let mut known: Vec<NetworkId> = Vec::with_capacity(networks.len());
        for network_id in networks {
            self.load_rules(*network_id).await?;
            if !known.contains(network_id) {
                known.push(*network_id);
            }
        }
        Ok(known)
    }

    /// A command that writes one row, with nothing to decide.
    pub(crate) async fn insert(&self, write: Write) -> Result<(), AppError> {
        self.insert_all(vec![write]).await
    }

    /// Writes with nothing to decide, committed through the spine in one transaction (the same writes
    /// again after a lost race).
    pub(crate) async fn insert_all(&self, writes: Vec<Write>) -> Result<(), AppError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.run(|| async {
            let mut tx = self.tx();
            tx.write_all(writes.iter().cloned());
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

//! API keys: issued to a role and its scope (a merchant, a carrier, a point's device), shown once, kept
//! as a keyed digest; listed without their secret, revoked, rotated (a new secret for the same role and
//! scope, the old one revoked in the same commit). Every issue and revocation is in the audit log.

use relais_domain::ids::{ApiKeyId, CarrierId, MerchantId, PointId};
use relais_domain::parcel::ParcelEvent;
use relais_domain::value::{ParseError, parse_text};

use crate::App;
use crate::auth::{ApiKey, Caller, Permission, Role};
use crate::error::AppError;
use crate::ports::{AuditAction, AuditEntry, Page, Write};
use crate::secrets::new_api_key;

/// A key to issue: its role, the scope that role needs, a label for people.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub role: Role,
    /// Merchant keys: whose parcels.
    pub merchant_id: Option<MerchantId>,
    /// Locker device keys: which point.
    pub point_id: Option<PointId>,
    /// Carrier keys: which carrier.
    pub carrier_id: Option<CarrierId>,
    pub label: String,
}

impl NewApiKey {
    pub fn operator(label: &str) -> NewApiKey {
        NewApiKey { role: Role::Operator, merchant_id: None, point_id: None, carrier_id: None, label: label.into() }
    }
    pub fn merchant(merchant_id: MerchantId, label: &str) -> NewApiKey {
        NewApiKey { role: Role::Merchant, merchant_id: Some(merchant_id), ..NewApiKey::operator(label) }
    }
    pub fn carrier(carrier_id: CarrierId, label: &str) -> NewApiKey {
        NewApiKey { role: Role::Carrier, carrier_id: Some(carrier_id), ..NewApiKey::operator(label) }
    }
    pub fn device(point_id: PointId, label: &str) -> NewApiKey {
        NewApiKey { role: Role::LockerDevice, point_id: Some(point_id), ..NewApiKey::operator(label) }
    }
}

/// An API key as created: the secret is here and nowhere else, ever.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

impl App {
    /// Issues an API key. Merchant keys name their merchant, carrier keys their carrier, locker device
    /// keys their point; operator keys name none.
    pub async fn create_api_key(&self, caller: &Caller, input: NewApiKey) -> Result<IssuedApiKey, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let label = parse_text("label", &input.label, ApiKey::LABEL_LENGTH_MAX)?;
        match (input.role, input.merchant_id, input.point_id, input.carrier_id) {
            (Role::Merchant, Some(merchant_id), None, None) => {
                if self.store.merchant(merchant_id).await?.is_none() {
                    return Err(AppError::not_found("merchant", merchant_id));
                }
            }
            (Role::LockerDevice, None, Some(point_id), None) => {
                self.load_point(point_id).await?;
            }
            (Role::Carrier, None, None, Some(carrier_id)) => {
                self.load_carrier(carrier_id).await?;
            }
            (Role::Operator, None, None, None) => {}
            (role, ..) => {
                let (field, needs) = match role {
                    Role::Merchant => ("merchant_id", "a merchant key needs merchant_id, and nothing else"),
                    Role::LockerDevice => ("point_id", "a locker device key needs point_id, and nothing else"),
                    Role::Carrier => ("carrier_id", "a carrier key needs carrier_id, and nothing else"),
                    Role::Operator => ("role", "an operator key takes no merchant_id, point_id or carrier_id"),
                };
                return Err(ParseError::new(field, needs).into());
            }
        }
        let issued = self.new_key(input.role, input.merchant_id, input.point_id, input.carrier_id, label);
        let entry = self.key_audit(caller, AuditAction::ApiKeyCreated, &issued.key, None);
        self.run(|| async {
            let mut tx = self.tx();
            tx.write(Write::InsertApiKey(issued.key.clone()));
            tx.audit(entry.clone());
            Ok(tx.done(()))
        })
        .await?;
        Ok(issued)
    }

    /// The caller behind an API key secret, or `unauthorized`. A carrier key brings the networks its
    /// carrier serves.
    pub async fn authenticate(&self, secret: &str) -> Result<Caller, AppError> {
        let digest = self.secrets.api_key_digest(secret.trim());
        let (key, networks) = self.store.api_key_by_digest(&digest).await?.ok_or(AppError::Unauthorized)?;
        Ok(Caller::from_key(&key, networks))
    }

    /// Every key, revoked ones too, oldest first: never a secret nor a digest.
    pub async fn api_keys(&self, caller: &Caller, page: Page<ApiKeyId>) -> Result<Vec<ApiKey>, AppError> {
        caller.require(Permission::ManageNetwork)?;
        Ok(self.store.api_keys(Page { limit: self.page_limit(Some(page.limit))?, ..page }).await?)
    }

    /// Revokes a key at once: it authenticates nothing any more (and a carrier key's courier codes stop
    /// working). The reason is required and audited. A key revoked already is refused, with when.
    pub async fn revoke_api_key(&self, caller: &Caller, key_id: ApiKeyId, reason: &str) -> Result<ApiKey, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let reason = parse_text("reason", reason, ParcelEvent::REASON_LENGTH_MAX)?;
        self.run(|| async {
            let mut tx = self.tx();
            let key = self.load_live_key(key_id).await?;
            let revoked = ApiKey { revoked_at: Some(tx.now), ..key };
            tx.write(Write::RevokeApiKey { id: key_id, at: tx.now });
            tx.audit(self.key_audit(caller, AuditAction::ApiKeyRevoked, &revoked, Some(&reason)));
            Ok(tx.done(revoked))
        })
        .await
    }

    /// Rotates a key: a new secret for the same role, scope and label, and the old key revoked, in one
    /// commit. The new secret is shown once.
    pub async fn rotate_api_key(&self, caller: &Caller, key_id: ApiKeyId) -> Result<IssuedApiKey, AppError> {
        caller.require(Permission::ManageNetwork)?;
        self.run(|| async {
            let mut tx = self.tx();
            let old = self.load_live_key(key_id).await?;
            let issued = self.new_key(old.role, old.merchant_id, old.point_id, old.carrier_id, old.label.clone());
            tx.write(Write::InsertApiKey(issued.key.clone()));
            tx.write(Write::RevokeApiKey { id: key_id, at: tx.now });
            let reason = format!("rotated: replaced by {}", issued.key.id);
            tx.audit(self.key_audit(caller, AuditAction::ApiKeyRevoked, &old, Some(&reason)));
            tx.audit(self.key_audit(caller, AuditAction::ApiKeyCreated, &issued.key, Some("rotation")));
            Ok(tx.done(issued))
        })
        .await
    }

    /// A key that exists and is not revoked.
    async fn load_live_key(&self, key_id: ApiKeyId) -> Result<ApiKey, AppError> {
        let key = self.store.api_key(key_id).await?.ok_or_else(|| AppError::not_found("api key", key_id))?;
        if let Some(at) = key.revoked_at {
            let problem = format!("was revoked at {}", at.to_rfc3339());
            return Err(ParseError::new("api_key", problem).into());
        }
        Ok(key)
    }

    pub(crate) fn new_key(
        &self,
        role: Role,
        merchant_id: Option<MerchantId>,
        point_id: Option<PointId>,
        carrier_id: Option<CarrierId>,
        label: String,
    ) -> IssuedApiKey {
        let secret = new_api_key(role, self.random.as_ref());
        let key = ApiKey {
            id: self.new_id(),
            role,
            merchant_id,
            point_id,
            carrier_id,
            label,
            digest: self.secrets.api_key_digest(&secret),
            created_at: self.now(),
            revoked_at: None,
        };
        IssuedApiKey { key, secret }
    }

    pub(crate) fn key_audit(
        &self,
        caller: &Caller,
        action: AuditAction,
        key: &ApiKey,
        reason: Option<&str>,
    ) -> AuditEntry {
        let reason = match reason {
            Some(reason) => format!("key {} ({}): {reason}", key.id, key.role.as_str()),
            None => format!("key {} ({})", key.id, key.role.as_str()),
        };
        AuditEntry {
            seq: 0,
            at: self.now(),
            actor: caller.actor(),
            action,
            point_id: key.point_id,
            compartment_id: None,
            parcel_id: None,
            reason: Some(reason),
        }
    }
}

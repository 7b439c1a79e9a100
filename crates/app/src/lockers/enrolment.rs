//! A point's device enrolled from the console without typing an API key: the console starts a
//! one-time enrolment and shows its token as a QR code; the device (a locker's controller, a counter's
//! phone opening `/counter`) trades the token once, within `ENROLMENT_MINUTES`, for its own
//! `locker_device` key. Kept by the keyed digest of the token; the key's creation is audited with who
//! started the enrolment.

use base64::Engine;
use chrono::Duration;
use relais_domain::Timestamp;
use relais_domain::console::{ENROLMENT_MINUTES, Enrolment};
use relais_domain::ids::PointId;
use relais_domain::value::parse_text;

use crate::App;
use crate::auth::{ApiKey, Caller, Permission, Role};
use crate::error::AppError;
use crate::keys::IssuedApiKey;
use crate::ports::{AuditAction, ConsoleWrite, Write};

/// An enrolment just started: its token (shown once, as a QR code) and where the device goes with it.
#[derive(Debug, Clone)]
pub struct StartedEnrolment {
    pub token: String,
    /// The counter page with the token in its fragment (never sent to a server in a request line or
    /// a log): a phone opens it; a locker's controller reads the token from it.
    pub url: String,
    pub expires_at: Timestamp,
}

impl App {
    /// Starts a device's enrolment at a point (operators): `by` is the console account, for the audit.
    pub async fn start_enrolment(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        by: &str,
    ) -> Result<StartedEnrolment, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let label = parse_text("label", label, ApiKey::LABEL_LENGTH_MAX)?;
        self.load_point(point_id).await?;
        let mut bytes = [0u8; 32];
        self.random.fill(&mut bytes);
        let token = format!("re1_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let now = self.now();
        let expires_at = now + Duration::minutes(ENROLMENT_MINUTES);
        let enrolment = Enrolment {
            token_digest: self.secrets.enrolment_digest(&token),
            point_id,
            label,
            created_by: by.to_owned(),
            created_at: now,
            expires_at,
            used_at: None,
        };
        self.insert(Write::Console(ConsoleWrite::InsertEnrolment(enrolment))).await?;
        let url = format!("{}/counter#enrol={token}", self.public_url);
        Ok(StartedEnrolment { token, url, expires_at })
    }

    /// A device trades its enrolment token for its key, once: an unknown, used or expired token gets
    /// the same `not_found`, whoever asks.
    pub async fn enrol_device(&self, token: &str) -> Result<IssuedApiKey, AppError> {
        let digest = self.secrets.enrolment_digest(token.trim());
        self.run(|| async {
            let mut tx = self.tx();
            let Some(enrolment) = self.store.enrolment(&digest).await?.filter(|e| e.usable(tx.now)) else {
                return Err(AppError::not_found("enrolment", "this code").into());
            };
            let issued =
                self.new_key(Role::LockerDevice, None, Some(enrolment.point_id), None, enrolment.label.clone());
            let reason = format!("enrolled from the console by {}", enrolment.created_by);
            let entry = self.key_audit(&Caller::system(), AuditAction::ApiKeyCreated, &issued.key, Some(&reason));
            tx.write(Write::Console(ConsoleWrite::UseEnrolment { token_digest: digest, at: tx.now }));
            tx.write(Write::InsertApiKey(issued.key.clone()));
            tx.audit(entry);
            Ok(tx.done(issued))
        })
        .await
    }

    /// A point's device keys, revoked ones too (operators).
    pub async fn point_devices(&self, caller: &Caller, point_id: PointId) -> Result<Vec<ApiKey>, AppError> {
        caller.require(Permission::ManageNetwork)?;
        Ok(self.store.point_keys(point_id).await?)
    }
}

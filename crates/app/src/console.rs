//! The operator console's accounts and sessions (issue 19's foundation): accounts with a role (admin,
//! operator, read-only, merchant) and an Argon2id password; signing in with the e-mail address, ten
//! wrong passwords locking the account for a while; sessions kept by the keyed digest of their token,
//! each with a CSRF token derived from it (the instance key: nothing more to keep), ending at sign-out
//! or after `SESSION_HOURS`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use chrono::Duration;
use relais_domain::Timestamp;
use relais_domain::attempts::Admission;
use relais_domain::console::{ConsoleAccount, ConsoleRole, SESSION_HOURS, check_password, sign_in_name};
use relais_domain::ids::MerchantId;
use relais_domain::value::ParseError;

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::{AppError, Throttled};
use crate::ports::{AttemptScope, ConsoleWrite, Write};

/// A session just opened: its token (the cookie, shown once) and its CSRF token.
#[derive(Clone)]
pub struct OpenedSession {
    pub token: String,
    pub csrf: String,
    pub account: ConsoleAccount,
    pub expires_at: Timestamp,
}

/// Never shows the tokens.
impl std::fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenedSession({}, until {})", self.account.email, self.expires_at)
    }
}

/// A signed-in account, as a page sees it.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub account: ConsoleAccount,
    pub csrf: String,
}

impl ConsoleUser {
    /// Who the account acts as in the use cases: a merchant account as its merchant (its own parcels
    /// only), the others as the operator (a read-only account's pages offer no action).
    pub fn caller(&self) -> Caller {
        let caller = match self.account.merchant_id {
            Some(merchant) if self.account.role == ConsoleRole::Merchant => Caller::merchant(merchant),
            _ => Caller::system(),
        };
        Caller { console_account: Some(self.account.id), ..caller }
    }
}

/// What an account may do to a parcel from its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParcelAction {
    /// More time at the point, within the network's rules.
    Extend,
    /// Expire it now (operators; a reason kept).
    ForceExpire,
    /// Cancel it before its deposit.
    Cancel,
    /// Send a parcel that found no room to a nearby point of its network (operators).
    Relocate,
    /// Record a returning parcel back with its sender (operators).
    ReturnToSender,
}

impl ParcelAction {
    pub const ALL: [ParcelAction; 5] = [
        ParcelAction::Extend,
        ParcelAction::ForceExpire,
        ParcelAction::Cancel,
        ParcelAction::Relocate,
        ParcelAction::ReturnToSender,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParcelAction::Extend => "extend",
            ParcelAction::ForceExpire => "force_expire",
            ParcelAction::Cancel => "cancel",
            ParcelAction::Relocate => "relocate",
            ParcelAction::ReturnToSender => "return_to_sender",
        }
    }

    pub fn parse(text: &str) -> Option<ParcelAction> {
        ParcelAction::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// A hash to check a password against when the account does not exist, so that an unknown address
/// takes as long to refuse as a wrong password (the timing tells nothing).
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$cmVsYWlzLWRlY295LXNhbHQ$mpd0bLBZ8tu1a3pUtNs3hjgZr0VnrwG5ZEvZeCqkk58";

impl App {
    /// A console account (operators; the CLI's first admin). `409 console_account` when the address has
    /// one; a merchant account names its merchant.
    pub async fn create_console_account(
        &self,
        caller: &Caller,
        email: &str,
        name: &str,
        role: ConsoleRole,
        merchant_id: Option<MerchantId>,
        password: &str,
    ) -> Result<ConsoleAccount, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let email = sign_in_name(email)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(ParseError::new("name", "1 to 120 characters").into());
        }
        check_password(password)?;
        match (role, merchant_id) {
            (ConsoleRole::Merchant, Some(merchant)) => {
                self.store.merchant(merchant).await?.ok_or_else(|| AppError::not_found("merchant", merchant))?;
            }
            (ConsoleRole::Merchant, None) => {
                return Err(ParseError::new("merchant_id", "a merchant account names its merchant").into());
            }
            (_, Some(_)) => return Err(ParseError::new("merchant_id", "only a merchant account names one").into()),
            (_, None) => {}
        }
        let mut salt = [0u8; 16];
        self.random.fill(&mut salt);
        let hash = Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map_err(|e| AppError::Store(crate::ports::StoreError(format!("cannot hash a password: {e}"))))?;
        let account = ConsoleAccount {
            id: self.new_id(),
            email,
            name: name.to_owned(),
            role,
            merchant_id: if role == ConsoleRole::Merchant { merchant_id } else { None },
            password_hash: hash.to_string(),
            created_at: self.now(),
            disabled_at: None,
        };
        self.insert(Write::Console(ConsoleWrite::InsertAccount(account.clone()))).await?;
        Ok(account)
    }

    /// Signs in: `unauthorized` for an unknown address, a wrong password or a disabled account alike;
    /// `rate_limited` (`passwords`) once the account had ten wrong passwords, until the lockout ends.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<OpenedSession, AppError> {
        let account = match sign_in_name(email) {
            Ok(email) => self.store.console_account_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(account) = account else {
            let _ = Argon2::default().verify_password(password.as_bytes(), DECOY_HASH);
            return Err(AppError::Unauthorized);
        };
        let scope = AttemptScope::ConsolePassword(account.id);
        let limits = self.limits.console_attempts;
        let admission = self.check_attempts(scope, limits, Throttled::Passwords).await?;
        let good = password.chars().count() <= relais_domain::console::PASSWORD_LENGTH_MAX
            && Argon2::default().verify_password(password.as_bytes(), account.password_hash.as_str()).is_ok();
        if !good || account.disabled_at.is_some() {
            if !good {
                self.record_failure(scope, limits).await?;
            }
            return Err(AppError::Unauthorized);
        }
        if admission == Admission::Probe {
            self.record_probe(scope).await?;
        }
        let mut bytes = [0u8; 32];
        self.random.fill(&mut bytes);
        let token = format!("cs_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let now = self.now();
        let expires_at = now + Duration::hours(SESSION_HOURS);
        self.insert(Write::Console(ConsoleWrite::InsertSession {
            token_digest: self.secrets.console_session_digest(&token),
            account_id: account.id,
            created_at: now,
            expires_at,
        }))
        .await?;
        Ok(OpenedSession { csrf: self.secrets.console_csrf(&token), token, account, expires_at })
    }

    /// The account signed in with this session token: `unauthorized` when the session is unknown,
    /// over, or its account disabled.
    pub async fn console_user(&self, token: &str) -> Result<ConsoleUser, AppError> {
        let digest = self.secrets.console_session_digest(token);
        let Some((account_id, expires_at)) = self.store.console_session(&digest).await? else {
            return Err(AppError::Unauthorized);
        };
        if expires_at <= self.now() {
            return Err(AppError::Unauthorized);
        }
        match self.store.console_account(account_id).await? {
            Some(account) if account.disabled_at.is_none() => {
                Ok(ConsoleUser { account, csrf: self.secrets.console_csrf(token) })
            }
            _ => Err(AppError::Unauthorized),
        }
    }

    /// Whether a form's CSRF token is the session's (compared in constant time).
    pub fn console_csrf_ok(&self, token: &str, csrf: &str) -> bool {
        let expected = self.secrets.console_csrf(token);
        expected.len() == csrf.len() && subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), csrf.as_bytes()).into()
    }

    /// Ends a session (a form with its CSRF token): `forbidden` without the right token.
    pub async fn sign_out(&self, token: &str, csrf: &str) -> Result<(), AppError> {
        self.console_user(token).await?;
        if !self.console_csrf_ok(token, csrf) {
            return Err(AppError::CsrfRejected);
        }
        self.insert(Write::Console(ConsoleWrite::DeleteSession {
            token_digest: self.secrets.console_session_digest(token),
        }))
        .await
    }
}

impl App {
    /// The actions a console account may take on a parcel now: what its role allows and the parcel's
    /// lifecycle permits at this moment, nothing else (a read-only account: none).
    pub async fn console_actions(
        &self,
        user: &ConsoleUser,
        parcel_id: relais_domain::ids::ParcelId,
    ) -> Result<Vec<ParcelAction>, AppError> {
        let caller = user.caller();
        let parcel = self.load_visible_parcel(&caller, parcel_id).await?;
        if !user.account.role.acts() {
            return Ok(Vec::new());
        }
        let rules = self.load_rules(parcel.network_id).await?;
        let (now, actor) = (self.now(), caller.actor());
        let operator = user.account.role != ConsoleRole::Merchant;
        Ok(ParcelAction::ALL
            .into_iter()
            .filter(|action| match action {
                ParcelAction::Extend => parcel.extend(&rules, actor.clone(), now).is_ok(),
                ParcelAction::ForceExpire => operator && parcel.force_expire("check", actor.clone(), now).is_ok(),
                ParcelAction::Cancel => parcel.cancel(None, actor.clone(), now).is_ok(),
                ParcelAction::Relocate => {
                    let elsewhere = self.relocation_candidates(&parcel).into_iter().next();
                    operator && elsewhere.is_some_and(|to| parcel.relocate(to.id, actor.clone(), now).is_ok())
                }
                ParcelAction::ReturnToSender => operator && parcel.return_to_sender(actor.clone(), now).is_ok(),
            })
            .collect())
    }

    /// An action taken from a parcel's page (a form with the session's CSRF token): refused for a
    /// read-only account, or one the parcel does not allow now.
    pub async fn console_act(
        &self,
        token: &str,
        csrf: &str,
        parcel_id: relais_domain::ids::ParcelId,
        action: ParcelAction,
        reason: &str,
        to: Option<relais_domain::ids::PointId>,
    ) -> Result<(), AppError> {
        let user = self.console_user(token).await?;
        if !self.console_csrf_ok(token, csrf) {
            return Err(AppError::CsrfRejected);
        }
        if !user.account.role.acts() {
            return Err(AppError::Forbidden { role: crate::auth::Role::Operator });
        }
        let caller = user.caller();
        let reason = reason.trim();
        match action {
            ParcelAction::Extend => self.extend(&caller, parcel_id).await.map(drop),
            ParcelAction::ForceExpire | ParcelAction::Relocate | ParcelAction::ReturnToSender
                if user.account.role == ConsoleRole::Merchant =>
            {
                Err(AppError::Forbidden { role: crate::auth::Role::Merchant })
            }
            ParcelAction::Relocate => {
                let to = to.ok_or_else(|| relais_domain::value::ParseError::new("point_id", "choose the point"))?;
                self.relocate_parcel(&caller, parcel_id, to).await.map(drop)
            }
            ParcelAction::ReturnToSender => self.return_to_sender(&caller, parcel_id).await.map(drop),
            ParcelAction::ForceExpire => self.force_expire(&caller, parcel_id, reason).await.map(drop),
            ParcelAction::Cancel => {
                self.cancel(&caller, parcel_id, (!reason.is_empty()).then_some(reason)).await.map(drop)
            }
        }
    }
}

/// What an operator may do to a locker's door from its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorAction {
    /// Open it remotely (queued for the locker's next heartbeat).
    Open,
    /// Take it out of service (a `broken` fault) until repaired.
    OutOfService,
    /// Declare it repaired.
    Repair,
}

impl DoorAction {
    pub fn parse(text: &str) -> Option<DoorAction> {
        match text {
            "open" => Some(DoorAction::Open),
            "out_of_service" => Some(DoorAction::OutOfService),
            "repair" => Some(DoorAction::Repair),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DoorAction::Open => "open",
            DoorAction::OutOfService => "out_of_service",
            DoorAction::Repair => "repair",
        }
    }
}

impl App {
    /// The account behind a form that acts on the network (a door, a device, an enrolment): a live
    /// session, the form's CSRF token, and an operator's or admin's account.
    pub async fn console_operator(&self, token: &str, csrf: &str) -> Result<ConsoleUser, AppError> {
        let user = self.console_user(token).await?;
        if !self.console_csrf_ok(token, csrf) {
            return Err(AppError::CsrfRejected);
        }
        if !user.account.role.acts() || user.account.role == ConsoleRole::Merchant {
            return Err(AppError::Forbidden { role: crate::auth::Role::Operator });
        }
        Ok(user)
    }

    /// A door action from a locker's page: confirmed (the form's box), with a reason, in the account's
    /// name in the audit log.
    #[allow(clippy::too_many_arguments)]
    pub async fn console_door_act(
        &self,
        token: &str,
        csrf: &str,
        point_id: relais_domain::ids::PointId,
        door: &str,
        action: DoorAction,
        reason: &str,
        confirmed: bool,
    ) -> Result<(), AppError> {
        let user = self.console_operator(token, csrf).await?;
        if !confirmed {
            return Err(relais_domain::value::ParseError::new("confirm", "tick the box to confirm").into());
        }
        let caller = user.caller();
        match action {
            DoorAction::Open => self.open_door_remotely(&caller, point_id, door, reason).await.map(drop),
            DoorAction::OutOfService => self.take_door_out_of_service(&caller, point_id, door, reason).await.map(drop),
            DoorAction::Repair => self.repair_door(&caller, point_id, door, reason).await.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_costs_what_a_real_one_does() {
        let parsed = argon2::password_hash::phc::PasswordHash::new(DECOY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(Argon2::default().verify_password(b"anything", DECOY_HASH).is_err());
    }
}

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
        match self.account.merchant_id {
            Some(merchant) if self.account.role == ConsoleRole::Merchant => Caller::merchant(merchant),
            _ => Caller::system(),
        }
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

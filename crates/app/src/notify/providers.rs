//! What providers report after they took a message: Twilio's status callbacks (an SMS `delivered`,
//! `undelivered` or `failed` on the handset's side), checked against Twilio's signature with the
//! account's auth token and recorded on the delivery they name by its SID.

use relais_domain::delivery::Channel;
use relais_domain::value::ParseError;

use crate::App;
use crate::error::AppError;
use crate::ports::{MessageWrite, Write};

/// Where Twilio posts its status callbacks, under `public_url`.
pub const TWILIO_CALLBACK_PATH: &str = "/v1/callbacks/twilio";

/// The statuses Twilio's Messages resource gives (`message_enum_status` of its OpenAPI document).
pub const TWILIO_STATUSES: [&str; 13] = [
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "accepted",
    "scheduled",
    "read",
    "partially_delivered",
    "canceled",
];

impl App {
    /// The Twilio accounts SMS go through, (account SID, auth token): each signs its callbacks with
    /// its own token.
    pub fn with_twilio_accounts(self, accounts: Vec<(String, String)>) -> Self {
        App { twilio_accounts: std::sync::Arc::new(accounts), ..self }
    }

    /// Twilio reports an SMS's fate: `params` are the form fields it posted, `signature` its
    /// `X-Twilio-Signature`. Recorded on the delivery whose provider reference is the `MessageSid`; a SID
    /// relais does not know changes nothing.
    pub async fn twilio_status(&self, params: &[(String, String)], signature: &str) -> Result<(), AppError> {
        if self.twilio_accounts.is_empty() {
            return Err(AppError::not_found("callback", "twilio (no Twilio channel is configured)"));
        }
        // Signed with the token of the account it names; naming none of ours, it is signed by none.
        let account = params.iter().find(|(k, _)| k == "AccountSid").map(|(_, v)| v.as_str()).unwrap_or_default();
        let Some((_, token)) = self.twilio_accounts.iter().find(|(sid, _)| sid == account) else {
            return Err(AppError::InvalidSignature);
        };
        let url = format!("{}{TWILIO_CALLBACK_PATH}", self.public_url);
        if !relais_messages::twilio::verify(token, &url, params, signature) {
            return Err(AppError::InvalidSignature);
        }
        let field = |name: &'static str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| ParseError::new(name, "is required"))
        };
        let sid = field("MessageSid")?;
        if sid.is_empty() || sid.len() > 64 || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::new("MessageSid", "is not a message SID").into());
        }
        let status = field("MessageStatus")?;
        if !TWILIO_STATUSES.contains(&status) {
            return Err(
                ParseError::new("MessageStatus", format!("must be one of {}", TWILIO_STATUSES.join(", "))).into()
            );
        }
        // Why it failed, when it did (Twilio's error codes: 30003 unreachable handset, 30005 unknown number...).
        let status = match params.iter().find(|(k, _)| k == "ErrorCode").map(|(_, v)| v.as_str()) {
            Some(code) if !code.is_empty() && code.len() <= 10 && code.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{status} (error {code})")
            }
            _ => status.to_owned(),
        };
        self.insert(Write::Messages(MessageWrite::SetProviderStatus {
            channel: Channel::Sms,
            provider_ref: sid.to_owned(),
            status,
            at: self.now(),
        }))
        .await
    }
}

//! E-mail and SMS through Brevo's transactional API (v3, formerly Sendinblue): `POST /v3/smtp/email`
//! with a JSON body (`sender`, `to`, `subject`, `htmlContent`, `textContent`, `headers`, `attachment`)
//! and `POST /v3/transactionalSMS/send` (`sender`, `recipient` as digits with the country code,
//! `content`, `type`, `unicodeEnabled`, `tag`), both authenticated by the `api-key` header. An e-mail
//! carries Brevo's `idempotencyKey` header (the delivery's id), so that a retried request is one
//! message; the SMS endpoint has none, so an SMS Brevo answered 2xx is taken even when the answer
//! cannot be read.
//!
//! What Brevo answers becomes an outcome: taken (with its `messageId`), to try later (429 with
//! `Retry-After` or Brevo's `x-sib-ratelimit-reset`, 402 out of credits, 5xx, no answer) or refused
//! (any other 4xx, with Brevo's error `code` and `message`).

use std::fmt;

use base64::Engine;
use serde_json::{Value, json};

use crate::http::{Fetched, HttpClient};
use crate::mail::Mail;

/// A Brevo account.
#[derive(Clone)]
pub struct BrevoSettings {
    /// `https://api.brevo.com` (a local server in tests).
    pub base_url: String,
    pub api_key: String,
    /// The e-mail sender, `Name <address>` or a bare address (a sender Brevo has verified); empty for
    /// an account that sends SMS only.
    pub from: String,
    /// The SMS sender: at most 11 letters and digits, or 15 digits; empty for e-mail only.
    pub sms_sender: String,
}

impl fmt::Debug for BrevoSettings {
    // The API key never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrevoSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &"***")
            .field("from", &self.from)
            .field("sms_sender", &self.sms_sender)
            .finish()
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrevoOutcome {
    /// Brevo took it: its `messageId` (empty when the answer did not say).
    Accepted { message_id: String },
    /// It may work later; `retry_after`: the wait Brevo asked for, in seconds or as an HTTP date.
    Failed { error: String, retry_after: Option<String> },
    /// It never will (an invalid address or number, a bad key).
    Refused { error: String },
}

pub struct BrevoChannel {
    settings: BrevoSettings,
    /// The e-mail sender's name and address.
    sender: Option<(Option<String>, String)>,
    http: HttpClient,
}

impl BrevoChannel {
    pub fn new(settings: BrevoSettings, http: HttpClient) -> Result<BrevoChannel, String> {
        if settings.api_key.trim().is_empty() {
            return Err("brevo api_key is required".into());
        }
        let sender = match settings.from.trim() {
            "" => None,
            from => Some(split_mailbox(from).ok_or_else(|| format!("brevo from {from:?} is not an address"))?),
        };
        let s = &settings.sms_sender;
        let alphanumeric = s.len() <= 11 && s.bytes().all(|b| b.is_ascii_alphanumeric());
        let numeric = s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
        if !(s.is_empty() || alphanumeric || numeric) {
            return Err("brevo sms_sender is at most 11 letters and digits, or 15 digits".into());
        }
        Ok(BrevoChannel { settings, sender, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Fetched, String> {
        let request = self
            .http
            .inner()
            .post(self.url(path))
            .header("api-key", &self.settings.api_key)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(body.to_string());
        self.http.send(request).await.map_err(|e| e.to_string())
    }

    /// Sends an e-mail; its id (the delivery's) is Brevo's idempotency key. Inline images (the QR
    /// code) go as attachments and as `data:` images in the HTML: Brevo's API has no content ids.
    pub async fn send_email(&self, mail: &Mail) -> BrevoOutcome {
        let Some((default_name, address)) = &self.sender else {
            return BrevoOutcome::Refused { error: "no Brevo e-mail sender is configured (from)".into() };
        };
        let name = mail.from_name.clone().or_else(|| default_name.clone());
        let mut sender = json!({"email": address});
        if let Some(name) = name {
            sender["name"] = json!(name);
        }
        let mut headers = serde_json::Map::new();
        headers.insert("idempotencyKey".into(), json!(mail.id));
        for (name, value) in &mail.headers {
            headers.insert(name.clone(), json!(value));
        }
        let mut html = mail.html.clone();
        let mut attachments = Vec::new();
        for (content_id, content_type, bytes) in &mail.inline {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            if let Some(body) = html.as_mut() {
                *body = body.replace(&format!("cid:{content_id}"), &format!("data:{content_type};base64,{encoded}"));
            }
            let extension = content_type.rsplit('/').next().unwrap_or("bin");
            attachments.push(json!({"name": format!("{content_id}.{extension}"), "content": encoded}));
        }
        let mut body = json!({
            "sender": sender,
            "to": [{"email": mail.to}],
            "subject": mail.subject,
            "textContent": mail.text,
            "headers": headers,
        });
        if let Some(html) = html {
            body["htmlContent"] = json!(html);
        }
        if !attachments.is_empty() {
            body["attachment"] = json!(attachments);
        }
        match self.post("/v3/smtp/email", &body).await {
            // The idempotency key makes another try safe when the answer cannot be read.
            Ok(answer) => outcome(&answer, true),
            Err(error) => BrevoOutcome::Failed { error, retry_after: None },
        }
    }

    /// Sends an SMS to an E.164 number; `unicode` when the text is outside the GSM 7-bit alphabet;
    /// `tag`: the delivery's id, shown in Brevo's logs.
    pub async fn send_sms(&self, to: &str, content: &str, unicode: bool, tag: &str) -> BrevoOutcome {
        if self.settings.sms_sender.is_empty() {
            return BrevoOutcome::Refused { error: "no Brevo SMS sender is configured (sms_sender)".into() };
        }
        let body = json!({
            "sender": self.settings.sms_sender,
            "recipient": to.trim_start_matches('+'),
            "content": content,
            "type": "transactional",
            "tag": tag,
            "unicodeEnabled": unicode,
        });
        match self.post("/v3/transactionalSMS/send", &body).await {
            // No idempotency here: a 2xx is taken, even unreadable, rather than sent twice.
            Ok(answer) => outcome(&answer, false),
            Err(error) => BrevoOutcome::Failed { error, retry_after: None },
        }
    }
}

/// `Name <address>` or a bare address, parsed as the SMTP channel parses its sender.
fn split_mailbox(from: &str) -> Option<(Option<String>, String)> {
    let mailbox: lettre::message::Mailbox = from.trim().parse().ok()?;
    Some((mailbox.name, mailbox.email.to_string()))
}

/// What Brevo's answer means. `retry_unreadable`: whether a 2xx without a readable `messageId` may be
/// tried again (the request was idempotent).
fn outcome(answer: &Fetched, retry_unreadable: bool) -> BrevoOutcome {
    let json: Option<Value> = serde_json::from_slice(&answer.body).ok();
    let status = answer.status;
    if (200..300).contains(&status) {
        let id = json.as_ref().and_then(|j| j.get("messageId")).map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        return match (id, retry_unreadable) {
            (Some(message_id), _) => BrevoOutcome::Accepted { message_id },
            (None, true) => BrevoOutcome::Failed { error: "Brevo's answer has no messageId".into(), retry_after: None },
            (None, false) => BrevoOutcome::Accepted { message_id: String::new() },
        };
    }
    // Brevo's error body: {"code": "invalid_parameter", "message": "..."}.
    let field = |name: &str| json.as_ref().and_then(|j| j.get(name)).and_then(|v| v.as_str()).map(str::to_owned);
    let message = field("message").unwrap_or_else(|| answer.text().chars().take(200).collect());
    let error = match field("code") {
        Some(code) => format!("HTTP {status}: Brevo {code}: {message}"),
        None => format!("HTTP {status}: {message}"),
    };
    let reset =
        || answer.headers.get("x-sib-ratelimit-reset").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned());
    match status {
        429 => BrevoOutcome::Failed { error, retry_after: answer.retry_after.clone().or_else(reset) },
        // Out of credits: it works again once the account is topped up.
        402 | 408 | 425 | 500..=599 => BrevoOutcome::Failed { error, retry_after: answer.retry_after.clone() },
        _ => BrevoOutcome::Refused { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_is_a_name_and_an_address() {
        assert_eq!(
            split_mailbox("Relais <avis@relais.example>"),
            Some((Some("Relais".into()), "avis@relais.example".into()))
        );
        assert_eq!(
            split_mailbox("\"Relais\" <avis@relais.example>"),
            Some((Some("Relais".into()), "avis@relais.example".into()))
        );
        assert_eq!(split_mailbox("avis@relais.example"), Some((None, "avis@relais.example".into())));
        assert_eq!(split_mailbox("Relais"), None);
        assert_eq!(split_mailbox("<@x>"), None);
    }
}

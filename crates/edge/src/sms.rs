//! SMS through Twilio's Messages resource (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, API
//! version 2010-04-01): the form fields `To`, `From` (or `MessagingServiceSid`), `Body` and
//! `StatusCallback`, HTTP basic authentication with the account SID and its auth token, and Twilio's
//! idempotency header, so that a retried request is one message. What Twilio answers is said as an
//! outcome: taken (with the message's SID), to try later (429 with its `Retry-After`, 5xx, no answer,
//! an answer that cannot be read) or refused (any other 4xx, with Twilio's error code and message).

use std::fmt;

use crate::http::HttpClient;

/// A Twilio account, and where Twilio reports what became of each message.
#[derive(Clone)]
pub struct TwilioSettings {
    /// `https://api.twilio.com` (a local server in tests).
    pub base_url: String,
    /// `AC` and 32 hexadecimal digits.
    pub account_sid: String,
    pub auth_token: String,
    /// The sender: an E.164 number or alphanumeric sender id, or a messaging service (`MG...`).
    pub from: String,
    /// relais' status-callback URL, when Twilio should report deliveries.
    pub status_callback: Option<String>,
}

impl fmt::Debug for TwilioSettings {
    // The auth token never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"***")
            .field("from", &self.from)
            .field("status_callback", &self.status_callback)
            .finish()
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsOutcome {
    /// Twilio took it: its SID and status (`queued`, `accepted`...).
    Accepted { sid: String, status: String },
    /// It may work later; `retry_after`: Twilio's `Retry-After`, as sent.
    Failed { error: String, retry_after: Option<String> },
    /// It never will (an invalid number, a number that opted out, a bad credential).
    Refused { error: String },
}

pub struct TwilioChannel {
    settings: TwilioSettings,
    http: HttpClient,
}

impl TwilioChannel {
    pub fn new(settings: TwilioSettings, http: HttpClient) -> Result<TwilioChannel, String> {
        let sid = &settings.account_sid;
        if sid.len() != 34 || !sid.starts_with("AC") || !sid[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("twilio account_sid must be AC and 32 hexadecimal digits".into());
        }
        if settings.auth_token.is_empty() || settings.from.is_empty() {
            return Err("twilio auth_token and from are required".into());
        }
        Ok(TwilioChannel { settings, http })
    }

    /// Sends `body` to `to`; `idempotency_key` (the delivery's id) makes a retried request one message.
    pub async fn send(&self, to: &str, body: &str, idempotency_key: &str) -> SmsOutcome {
        let s = &self.settings;
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", s.base_url.trim_end_matches('/'), s.account_sid);
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("To", to);
            form.append_pair(if s.from.starts_with("MG") { "MessagingServiceSid" } else { "From" }, &s.from);
            form.append_pair("Body", body);
            if let Some(callback) = &s.status_callback {
                form.append_pair("StatusCallback", callback);
            }
            form.finish()
        };
        let request = self
            .http
            .inner()
            .post(&url)
            .basic_auth(&s.account_sid, Some(&s.auth_token))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("I-Twilio-Idempotency-Token", idempotency_key)
            .body(form);
        let answer = match self.http.send(request).await {
            Ok(answer) => answer,
            Err(e) => return SmsOutcome::Failed { error: e.to_string(), retry_after: None },
        };
        let json: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
        let field = |name: &str| json.as_ref().and_then(|j| j.get(name)).and_then(|v| v.as_str()).map(str::to_owned);
        match answer.status {
            200..=299 => match field("sid") {
                Some(sid) => SmsOutcome::Accepted { sid, status: field("status").unwrap_or_default() },
                // Taken, but the answer says nothing readable: another try is safe (idempotency).
                None => SmsOutcome::Failed { error: "Twilio's answer has no message SID".into(), retry_after: None },
            },
            status => {
                // Twilio's error body: {"code": 21211, "message": "...", "more_info": "...", "status": 400}.
                let code = json.as_ref().and_then(|j| j.get("code")).map(|c| c.to_string());
                let message = field("message").unwrap_or_else(|| answer.text().chars().take(200).collect());
                let error = match code {
                    Some(code) => format!("HTTP {status}: Twilio error {code}: {message}"),
                    None => format!("HTTP {status}: {message}"),
                };
                if status == 429 || status == 408 || status >= 500 {
                    SmsOutcome::Failed { error, retry_after: answer.retry_after }
                } else {
                    SmsOutcome::Refused { error }
                }
            }
        }
    }
}

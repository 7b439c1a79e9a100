//! The delivery worker's channels, as the configuration sets them (`[notify]`): e-mail over SMTP,
//! through Brevo or into `.eml` files, SMS through Twilio or Brevo or into text files, merchants'
//! webhooks over HTTPS; and merchants' and networks' own providers (`[[notify.providers]]`), chosen
//! message by message. Each send ends in an
//! outcome the delivery rule reads (`relais_domain::delivery`), never in an error; the worker loop
//! that drives them is here too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use relais_app::notify::providers::TWILIO_CALLBACK_PATH;
use relais_app::notify::{
    DeliverySettings, MessageScope, Outgoing, OutgoingEmail, OutgoingSms, OutgoingWebhook, Outlets,
};
use relais_app::{App, Clock};
use relais_domain::delivery::{AttemptOutcome, retry_after};
use relais_edge::brevo::{BrevoChannel, BrevoOutcome, BrevoSettings};
use relais_edge::http::{HttpClient, HttpConfig};
use relais_edge::mail::{Mail, MailOutcome, Security, SmtpChannel, SmtpSettings};
use relais_edge::sms::{SmsOutcome, TwilioChannel, TwilioSettings};

use crate::config::{Config, EmailConfig, ProviderScope, SmsConfig};

/// Most bytes of a webhook endpoint's answer read (what it says goes, clipped, into the delivery log).
const WEBHOOK_ANSWER_BYTES_MAX: u64 = 64 * 1024;

/// The channels of one process.
pub struct Channels {
    email: EmailOutlet,
    sms: SmsOutlet,
    /// Merchants' and networks' own providers, channel by channel.
    scoped: HashMap<ProviderScope, (Option<EmailOutlet>, Option<SmsOutlet>)>,
    webhooks: HttpClient,
    clock: Arc<dyn Clock>,
}

enum EmailOutlet {
    None,
    File { folder: PathBuf, from: String },
    Smtp(Box<SmtpChannel>),
    Brevo(Box<BrevoChannel>),
}

enum SmsOutlet {
    None,
    File(PathBuf),
    Twilio(Box<TwilioChannel>),
    Brevo(Box<BrevoChannel>),
}

impl Channels {
    /// The channels the configuration names; files go beside the database unless a folder is given.
    pub fn from_config(config: &Config, clock: Arc<dyn Clock>) -> Result<Channels, String> {
        let notify = &config.notify;
        let email = email_outlet(config, &notify.email).map_err(|e| format!("[notify.email] {e}"))?;
        let sms = sms_outlet(config, &notify.sms).map_err(|e| format!("[notify.sms] {e}"))?;
        let mut scoped = HashMap::new();
        for providers in &notify.providers {
            let scope = providers.scope()?;
            let failed = |e: String| format!("[[notify.providers]] {scope:?}: {e}");
            let email = providers.email.as_ref().map(|e| email_outlet(config, e)).transpose().map_err(failed)?;
            let sms = providers.sms.as_ref().map(|s| sms_outlet(config, s)).transpose().map_err(failed)?;
            scoped.insert(scope, (email, sms));
        }
        let webhooks = HttpClient::new(&HttpConfig {
            timeout_seconds: notify.webhooks.timeout_seconds.max(1),
            connect_timeout_seconds: notify.webhooks.timeout_seconds.clamp(1, 10),
            body_bytes_max: WEBHOOK_ANSWER_BYTES_MAX,
            follow_redirects: false,
            ..config.outbound.http_config()
        })
        .map_err(|e| format!("[notify.webhooks] {e}"))?;
        Ok(Channels { email, sms, scoped, webhooks, clock })
    }

    /// The merchant's own, else the network's, else the default.
    fn chosen<'a, T>(
        &'a self,
        scope: MessageScope,
        default: &'a T,
        pick: impl Fn(&'a (Option<EmailOutlet>, Option<SmsOutlet>)) -> Option<&'a T>,
    ) -> &'a T {
        let merchant = scope.merchant_id.map(|m| ProviderScope::Merchant(m.uuid()));
        let network = scope.network_id.map(|n| ProviderScope::Network(n.uuid()));
        [merchant, network].into_iter().flatten().find_map(|s| self.scoped.get(&s).and_then(&pick)).unwrap_or(default)
    }

    /// What each channel is, for the start-up lines.
    pub fn describe(&self) -> String {
        let email = match &self.email {
            EmailOutlet::None => "e-mail: none".to_owned(),
            EmailOutlet::File { folder, .. } => format!("e-mail: files in {}", folder.display()),
            EmailOutlet::Smtp(_) => "e-mail: SMTP".to_owned(),
            EmailOutlet::Brevo(_) => "e-mail: Brevo".to_owned(),
        };
        let sms = match &self.sms {
            SmsOutlet::None => "SMS: none".to_owned(),
            SmsOutlet::File(folder) => format!("SMS: files in {}", folder.display()),
            SmsOutlet::Twilio(_) => "SMS: Twilio".to_owned(),
            SmsOutlet::Brevo(_) => "SMS: Brevo".to_owned(),
        };
        let scoped = match self.scoped.len() {
            0 => String::new(),
            n => format!("; {n} merchants' or networks' own providers"),
        };
        format!("{email}; {sms}; webhooks: HTTPS{scoped}")
    }

    async fn email(&self, m: OutgoingEmail) -> AttemptOutcome {
        let outlet = self.chosen(m.scope, &self.email, |(email, _)| email.as_ref());
        let mail = mail_of(m);
        match outlet {
            EmailOutlet::None => refused("no e-mail channel is configured ([notify.email])"),
            EmailOutlet::File { folder, from } => match relais_edge::mail::formatted(&mail, from) {
                Ok(bytes) => write_file(folder, &format!("{}.eml", mail.id), &bytes).await,
                Err(e) => refused(e),
            },
            EmailOutlet::Smtp(channel) => mail_outcome(channel.send(&mail).await),
            EmailOutlet::Brevo(brevo) => self.brevo_outcome(brevo.send_email(&mail).await),
        }
    }

    async fn sms(&self, m: OutgoingSms) -> AttemptOutcome {
        match self.chosen(m.scope, &self.sms, |(_, sms)| sms.as_ref()) {
            SmsOutlet::None => refused("no SMS channel is configured ([notify.sms])"),
            SmsOutlet::File(folder) => {
                let parts = relais_app::notify::sms_parts(&m.body);
                let text = format!("To: {}\nParts: {parts}\n\n{}\n", m.to, m.body);
                write_file(folder, &format!("{}.sms.txt", m.delivery_id), text.as_bytes()).await
            }
            SmsOutlet::Twilio(twilio) => match twilio.send(&m.to, &m.body, &m.delivery_id.to_string()).await {
                SmsOutcome::Accepted { sid, .. } => AttemptOutcome::Accepted { provider_ref: Some(sid) },
                SmsOutcome::Failed { error, retry_after: wait } => {
                    let wait = wait.as_deref().and_then(|v| retry_after(v, self.clock.now()));
                    AttemptOutcome::Failed { error, retry_after: wait }
                }
                SmsOutcome::Refused { error } => AttemptOutcome::Refused { error },
            },
            SmsOutlet::Brevo(brevo) => {
                let unicode = relais_app::notify::sms_is_unicode(&m.body);
                let sent = brevo.send_sms(&m.to, &m.body, unicode, &m.delivery_id.to_string()).await;
                self.brevo_outcome(sent)
            }
        }
    }

    fn brevo_outcome(&self, outcome: BrevoOutcome) -> AttemptOutcome {
        match outcome {
            BrevoOutcome::Accepted { message_id } => {
                AttemptOutcome::Accepted { provider_ref: Some(message_id).filter(|id| !id.is_empty()) }
            }
            BrevoOutcome::Failed { error, retry_after: wait } => {
                let wait = wait.as_deref().and_then(|v| retry_after(v, self.clock.now()));
                AttemptOutcome::Failed { error, retry_after: wait }
            }
            BrevoOutcome::Refused { error } => AttemptOutcome::Refused { error },
        }
    }

    async fn webhook(&self, m: OutgoingWebhook) -> AttemptOutcome {
        let mut request = self.webhooks.inner().post(&m.url).body(m.body);
        for (name, value) in &m.headers {
            request = request.header(name, value);
        }
        match self.webhooks.send(request).await {
            Ok(answer) => {
                let wait = answer.retry_after.as_deref().and_then(|v| retry_after(v, self.clock.now()));
                let wait = wait.map(|w| w.min(chrono::Duration::days(1)));
                let text = answer.text();
                AttemptOutcome::of_http(answer.status, wait, None, &text)
            }
            Err(relais_edge::http::HttpError::TooLarge { .. }) => {
                AttemptOutcome::Failed { error: "the endpoint's answer is too large".into(), retry_after: None }
            }
            Err(e) => AttemptOutcome::Failed { error: e.to_string(), retry_after: None },
        }
    }
}

#[async_trait]
impl Outlets for Channels {
    async fn send(&self, message: Outgoing) -> AttemptOutcome {
        match message {
            Outgoing::Email(m) => self.email(m).await,
            Outgoing::Sms(m) => self.sms(m).await,
            Outgoing::Webhook(m) => self.webhook(m).await,
        }
    }
}

/// An e-mail channel as configured.
fn email_outlet(config: &Config, email: &EmailConfig) -> Result<EmailOutlet, String> {
    Ok(match email {
        EmailConfig::None => EmailOutlet::None,
        EmailConfig::File { folder, from } => EmailOutlet::File {
            folder: folder.clone().unwrap_or_else(|| config.beside_database(".messages")),
            from: from.clone(),
        },
        EmailConfig::Smtp { host, port, security, username, password, from, timeout_seconds, connections } => {
            let security = match security.as_str() {
                "tls" => Security::Tls,
                "starttls" => Security::StartTls,
                "none" => Security::None,
                _ => return Err("security must be tls, starttls or none".into()),
            };
            let settings = SmtpSettings {
                host: host.clone(),
                port: *port,
                security,
                username: username.clone(),
                password: password.as_ref().map(|p| p.0.clone()),
                from: from.clone(),
                timeout: Duration::from_secs((*timeout_seconds).max(1)),
                connections: *connections,
            };
            EmailOutlet::Smtp(Box::new(SmtpChannel::new(&settings)?))
        }
        EmailConfig::Brevo { api_key, from, base_url } => {
            let settings = BrevoSettings {
                base_url: base_url.clone(),
                api_key: api_key.0.clone(),
                from: from.clone(),
                sms_sender: String::new(),
            };
            EmailOutlet::Brevo(Box::new(BrevoChannel::new(settings, provider_client(config)?)?))
        }
    })
}

/// An SMS channel as configured.
fn sms_outlet(config: &Config, sms: &SmsConfig) -> Result<SmsOutlet, String> {
    Ok(match sms {
        SmsConfig::None => SmsOutlet::None,
        SmsConfig::File { folder } => {
            SmsOutlet::File(folder.clone().unwrap_or_else(|| config.beside_database(".messages")))
        }
        SmsConfig::Twilio { account_sid, auth_token, from, base_url, status_callback } => {
            let settings = TwilioSettings {
                base_url: base_url.clone(),
                account_sid: account_sid.clone(),
                auth_token: auth_token.0.clone(),
                from: from.clone(),
                status_callback: status_callback.then(|| format!("{}{TWILIO_CALLBACK_PATH}", config.public_url())),
            };
            SmsOutlet::Twilio(Box::new(TwilioChannel::new(settings, provider_client(config)?)?))
        }
        SmsConfig::Brevo { api_key, sender, base_url } => {
            let settings = BrevoSettings {
                base_url: base_url.clone(),
                api_key: api_key.0.clone(),
                from: String::new(),
                sms_sender: sender.clone(),
            };
            SmsOutlet::Brevo(Box::new(BrevoChannel::new(settings, provider_client(config)?)?))
        }
    })
}

/// The HTTP client of a provider's API: well within the lease (`lease_seconds`), so that a call that
/// hangs does not outlive it and another worker send the message again.
fn provider_client(config: &Config) -> Result<HttpClient, String> {
    HttpClient::new(&HttpConfig {
        timeout_seconds: crate::config::PROVIDER_TIMEOUT_SECONDS,
        connect_timeout_seconds: 10,
        body_bytes_max: WEBHOOK_ANSWER_BYTES_MAX,
        ..config.outbound.http_config()
    })
    .map_err(|e| e.to_string())
}

/// A rendered e-mail as the SMTP channel sends it, its `Message-ID` made from the delivery's id.
pub fn mail_of(m: OutgoingEmail) -> Mail {
    Mail {
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: Some(m.html),
        id: m.delivery_id.to_string(),
        headers: m.headers,
        from_name: m.from_name,
        inline: m.inline.into_iter().map(|i| (i.content_id, i.content_type, i.bytes)).collect(),
    }
}

/// What the SMTP server's answer means for the delivery.
pub fn mail_outcome(outcome: MailOutcome) -> AttemptOutcome {
    match outcome {
        MailOutcome::Accepted { reply } => AttemptOutcome::Accepted { provider_ref: Some(reply) },
        MailOutcome::Failed(error) => AttemptOutcome::Failed { error, retry_after: None },
        MailOutcome::Refused(error) => AttemptOutcome::Refused { error },
    }
}

fn refused(error: impl Into<String>) -> AttemptOutcome {
    AttemptOutcome::Refused { error: error.into() }
}

/// Writes a message to a file of its own, named by its delivery: a retried delivery writes the same
/// file again, never a second one.
async fn write_file(folder: &Path, name: &str, bytes: &[u8]) -> AttemptOutcome {
    let path = folder.join(name);
    let (folder, target, bytes) = (folder.to_owned(), path.clone(), bytes.to_vec());
    let written = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&folder)?;
        std::fs::write(&target, bytes)
    })
    .await;
    match written {
        Ok(Ok(())) => AttemptOutcome::Accepted { provider_ref: Some(path.display().to_string()) },
        Ok(Err(e)) => AttemptOutcome::Failed { error: format!("{}: {e}", path.display()), retry_after: None },
        Err(e) => AttemptOutcome::Failed { error: e.to_string(), retry_after: None },
    }
}

/// The delivery worker: `settings.loops` loops of rounds, back to back while there is work, a pause
/// when there is none; the outbox pruned every hour by the first. Runs until the task is dropped.
pub async fn deliver_forever(app: App, channels: Arc<Channels>, settings: DeliverySettings, idle: Duration) {
    let loops = (0..settings.loops.max(1)).map(|index| {
        let (app, channels, settings) = (app.clone(), Arc::clone(&channels), settings.clone());
        tokio::spawn(async move { deliver_loop(index, app, channels, settings, idle).await })
    });
    let handles: Vec<_> = loops.collect();
    // Dropping this future (the task aborted) stops the loops too.
    struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.iter().for_each(tokio::task::JoinHandle::abort);
        }
    }
    let guard = AbortOnDrop(handles);
    for handle in &guard.0 {
        while !handle.is_finished() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn deliver_loop(index: usize, app: App, channels: Arc<Channels>, settings: DeliverySettings, idle: Duration) {
    let outlets: Arc<dyn Outlets> = channels;
    let mut last_prune = tokio::time::Instant::now() - Duration::from_secs(3600);
    loop {
        if index == 0 && last_prune.elapsed() >= Duration::from_secs(3600) {
            last_prune = tokio::time::Instant::now();
            if let Err(e) = app.prune_outbox(&settings).await {
                tracing::warn!(error = %e, "outbox pruning failed; will retry");
            }
        }
        match app.deliver_round(&outlets, &settings).await {
            Ok(round) if round.is_idle() => tokio::time::sleep(idle).await,
            Ok(round) => {
                let (dispatched, delivered, retried, dead) =
                    (round.dispatched, round.delivered, round.retried, round.dead);
                tracing::debug!(dispatched, delivered, retried, dead, "delivery round");
            }
            Err(e) => {
                tracing::warn!(error = %e, "delivery round failed; will retry");
                tokio::time::sleep(idle).await;
            }
        }
    }
}

//! Endpoints (where merchants and operators receive events), merchants' branding, and the message
//! history. Endpoints are registered
//! with their signing secret shown once, rotated with an overlap, re-enabled after relais disabled
//! them; a parcel's messages and an endpoint's delivery log, read by whom they concern; a message
//! resent by an operator (a replay, with its original id: the receiver's deduplication still works).

use chrono::Duration;
use relais_domain::Timestamp;
use relais_domain::delivery::{
    Delivery, DeliveryState, ENDPOINT_TOPICS_MAX, Endpoint, EndpointTarget, valid_topic_pattern,
};
use relais_domain::ids::{DeliveryId, EndpointId, MerchantId, ParcelId};
use relais_domain::value::{Email, ParseError};
use relais_messages::webhooks::WebhookSecret;

use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::error::AppError;
use crate::ports::{Branding, DeliveryFilter, MessageWrite, Page, Write};

/// The longest endpoint URL accepted.
pub const URL_LENGTH_MAX: usize = 2_000;
/// The longest a rotated secret keeps signing beside the new one.
pub const ROTATION_OVERLAP_HOURS_MAX: i64 = 7 * 24;

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    /// Whose events: a merchant key's own (implied), or the one an operator names; `None` from an
    /// operator: the operators' (alerts).
    pub merchant_id: Option<MerchantId>,
    /// A webhook's URL, or
    pub url: Option<String>,
    /// an e-mail address (operators' alerts).
    pub email: Option<String>,
    pub topics: Vec<String>,
}

/// Which webhook URLs are accepted: `https://` to a public host unless relaxed (development, tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookRules {
    pub allow_http: bool,
    pub allow_private: bool,
}

/// An endpoint just registered, with its signing secret: shown once, here, never again.
#[derive(Debug, Clone)]
pub struct CreatedEndpoint {
    pub endpoint: Endpoint,
    pub secret: Option<String>,
}

impl App {
    pub async fn create_endpoint(&self, caller: &Caller, input: NewEndpoint) -> Result<CreatedEndpoint, AppError> {
        caller.require(Permission::ManageEndpoints)?;
        let merchant_id = owner(caller, input.merchant_id)?;
        if let Some(merchant_id) = merchant_id
            && caller.role == Role::Operator
            && self.store.merchant(merchant_id).await?.is_none()
        {
            return Err(AppError::not_found("merchant", merchant_id));
        }
        let target = match (input.url, input.email) {
            (Some(url), None) => EndpointTarget::Webhook { url: check_url(&url, self.limits.webhooks)? },
            (None, Some(email)) if merchant_id.is_none() => {
                EndpointTarget::Email { address: Email::parse(&email)?.as_str().to_owned() }
            }
            (None, Some(_)) => {
                return Err(ParseError::new("email", "is for operators' alerts; a merchant gives a url").into());
            }
            _ => return Err(ParseError::new("url", "give either a url (a webhook) or an email (alerts)").into()),
        };
        let topics = check_topics(input.topics)?;
        let id: EndpointId = self.new_id();
        let secret = matches!(target, EndpointTarget::Webhook { .. }).then(|| self.new_webhook_secret());
        let seal = secret.as_ref().map(|s| self.secrets.seal_endpoint_secret(id, s, self.random.as_ref()));
        let endpoint = Endpoint {
            id,
            merchant_id,
            target,
            topics,
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
            created_at: self.now(),
            version: 1,
        };
        self.insert(Write::Messages(MessageWrite::InsertEndpoint { endpoint: endpoint.clone(), secret_seal: seal }))
            .await?;
        Ok(CreatedEndpoint { endpoint, secret })
    }

    /// A merchant's endpoints (its own for a merchant key), or the operators' (an operator naming none).
    pub async fn endpoints(&self, caller: &Caller, merchant_id: Option<MerchantId>) -> Result<Vec<Endpoint>, AppError> {
        caller.require(Permission::ManageEndpoints)?;
        Ok(self.store.endpoints(owner(caller, merchant_id)?).await?)
    }

    /// An endpoint its caller may manage; anyone else is told it does not exist.
    pub async fn endpoint(&self, caller: &Caller, id: EndpointId) -> Result<Endpoint, AppError> {
        caller.require(Permission::ManageEndpoints)?;
        let endpoint = self.store.endpoint(id).await?.map(|(e, _)| e);
        endpoint.filter(|e| manages(caller, e)).ok_or_else(|| AppError::not_found("endpoint", id))
    }

    /// A new signing secret, and until when the current one keeps signing beside it (`overlap_hours`
    /// from now), so that the receiver can switch without losing a request.
    pub async fn rotate_endpoint_secret(
        &self,
        caller: &Caller,
        id: EndpointId,
        overlap_hours: i64,
    ) -> Result<(String, Timestamp), AppError> {
        if !(0..=ROTATION_OVERLAP_HOURS_MAX).contains(&overlap_hours) {
            let message = format!("must be between 0 and {ROTATION_OVERLAP_HOURS_MAX}");
            return Err(ParseError::new("overlap_hours", message).into());
        }
        let endpoint = self.endpoint(caller, id).await?;
        if !matches!(endpoint.target, EndpointTarget::Webhook { .. }) {
            return Err(ParseError::new("endpoint", "an e-mail endpoint has no secret").into());
        }
        let secret = self.new_webhook_secret();
        let seal = self.secrets.seal_endpoint_secret(id, &secret, self.random.as_ref());
        let previous_until = self.now() + Duration::hours(overlap_hours);
        self.insert(Write::Messages(MessageWrite::RotateEndpointSecret { id, secret_seal: seal, previous_until }))
            .await?;
        Ok((secret, previous_until))
    }

    /// Disables an endpoint (nothing is sent to it), or enables it again (after relais disabled it for
    /// failing, once the receiver is fixed).
    pub async fn set_endpoint_enabled(
        &self,
        caller: &Caller,
        id: EndpointId,
        enabled: bool,
    ) -> Result<Endpoint, AppError> {
        self.endpoint(caller, id).await?;
        self.run(|| async {
            let mut tx = self.tx();
            let Some((endpoint, _)) = self.store.endpoint(id).await? else {
                return Err(AppError::not_found("endpoint", id).into());
            };
            let changed = if enabled {
                Endpoint { disabled_at: None, disabled_reason: None, failing_since: None, ..endpoint }
            } else if endpoint.disabled_at.is_some() {
                return Ok(tx.done(endpoint));
            } else {
                Endpoint {
                    disabled_at: Some(tx.now),
                    disabled_reason: Some("disabled by its owner".into()),
                    ..endpoint
                }
            };
            tx.write(Write::Messages(MessageWrite::UpdateEndpoint(changed.clone())));
            Ok(tx.done(Endpoint { version: changed.version + 1, ..changed }))
        })
        .await
    }

    /// Every message of a parcel, newest first: channel, address, state, attempts, the provider's
    /// answer. Never their text (it may hold the code).
    pub async fn parcel_messages(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Vec<Delivery>, AppError> {
        caller.require(Permission::ReadMessages)?;
        self.load_visible_parcel(caller, parcel_id).await?;
        let filter = DeliveryFilter { parcel_id: Some(parcel_id), ..DeliveryFilter::default() };
        Ok(self.store.deliveries(&filter, Page { after: None, limit: self.limits.page_size_max }).await?)
    }

    /// An endpoint's delivery log, newest first, optionally in one state.
    pub async fn endpoint_deliveries(
        &self,
        caller: &Caller,
        id: EndpointId,
        state: Option<DeliveryState>,
        page: Page<DeliveryId>,
    ) -> Result<Vec<Delivery>, AppError> {
        self.endpoint(caller, id).await?;
        let filter = DeliveryFilter { address: Some(id.to_string()), state, ..DeliveryFilter::default() };
        Ok(self.store.deliveries(&filter, page).await?)
    }

    /// Sends a delivered or dead message again, from its first attempt: an operator's resend, or a
    /// merchant's replay of its own endpoint's webhook.
    pub async fn resend_delivery(&self, caller: &Caller, id: DeliveryId) -> Result<Delivery, AppError> {
        let not_found = || AppError::not_found("message", id);
        let delivery = self.store.delivery(id).await?.ok_or_else(not_found)?;
        match caller.role {
            Role::Operator => caller.require(Permission::ResendMessages)?,
            // A merchant replays what went to its own endpoints.
            _ => {
                let endpoint_id = delivery.address.parse::<EndpointId>().map_err(|_| not_found())?;
                let own = self.store.endpoint(endpoint_id).await?.is_some_and(|(e, _)| manages(caller, &e));
                if !own {
                    return Err(not_found());
                }
            }
        }
        if delivery.state == DeliveryState::Pending {
            return Err(AppError::NotResendable { reason: "it is still being delivered" });
        }
        if self.store.outbox_message(delivery.outbox_id).await?.is_none() {
            return Err(AppError::NotResendable { reason: "its message was pruned after the retention period" });
        }
        self.insert(Write::Messages(MessageWrite::ResendDelivery { id, at: self.now() })).await.map_err(
            |e| match e {
                // Resent by someone else meanwhile.
                AppError::Busy => AppError::NotResendable { reason: "it is still being delivered" },
                other => other,
            },
        )?;
        self.store.delivery(id).await?.ok_or_else(not_found)
    }

    /// Sets how a merchant's e-mails and labels look (its own key, or an operator's): a colour `#rrggbb`,
    /// a logo at an `https://` URL, the sender's name, the return address its labels print. A field
    /// left out is relais' own.
    pub async fn set_merchant_branding(
        &self,
        caller: &Caller,
        merchant_id: MerchantId,
        branding: Branding,
    ) -> Result<Branding, AppError> {
        caller.require(Permission::ManageEndpoints)?;
        let merchant_id = owner(caller, Some(merchant_id))?.ok_or(AppError::Forbidden { role: caller.role })?;
        let branding = check_branding(branding)?;
        if self.store.merchant_branding(merchant_id).await?.is_none() {
            return Err(AppError::not_found("merchant", merchant_id));
        }
        self.insert(Write::Messages(MessageWrite::SetMerchantBranding { merchant_id, branding: branding.clone() }))
            .await?;
        Ok(branding)
    }

    /// A new `whsec_` secret: 24 random bytes.
    fn new_webhook_secret(&self) -> String {
        let mut key = [0u8; 24];
        self.random.fill(&mut key);
        WebhookSecret::from_bytes(&key).expose()
    }
}

/// Whose endpoints a caller names: a merchant key its own merchant's; an operator the merchant it
/// names, or the operators' own.
fn owner(caller: &Caller, asked: Option<MerchantId>) -> Result<Option<MerchantId>, AppError> {
    match (caller.role, caller.merchant_id, asked) {
        (Role::Operator, _, asked) => Ok(asked),
        (Role::Merchant, Some(own), None) => Ok(Some(own)),
        (Role::Merchant, Some(own), Some(asked)) if own == asked => Ok(Some(own)),
        // Another merchant's: its existence is none of this one's business.
        (Role::Merchant, Some(_), Some(asked)) => Err(AppError::not_found("merchant", asked)),
        (role, _, _) => Err(AppError::Forbidden { role }),
    }
}

fn manages(caller: &Caller, endpoint: &Endpoint) -> bool {
    match caller.role {
        Role::Operator => true,
        Role::Merchant => endpoint.merchant_id.is_some() && endpoint.merchant_id == caller.merchant_id,
        _ => false,
    }
}

/// The longest logo URL and sender name accepted.
pub const LOGO_URL_LENGTH_MAX: usize = 500;
pub const SENDER_NAME_LENGTH_MAX: usize = 60;
/// A return address fits the sender's block of a label.
pub const RETURN_ADDRESS_LINES_MAX: usize = 3;
pub const RETURN_ADDRESS_LINE_LENGTH_MAX: usize = 60;

fn check_branding(b: Branding) -> Result<Branding, AppError> {
    let color = b.color.map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty());
    if let Some(c) = &color
        && !(c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|x| x.is_ascii_hexdigit()))
    {
        return Err(ParseError::new("brand_color", "must be #rrggbb").into());
    }
    let logo_url = b.logo_url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    if let Some(u) = &logo_url {
        let quoted = u.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'));
        if !u.starts_with("https://") || u.len() > LOGO_URL_LENGTH_MAX || quoted {
            let problem = format!("must be an https:// URL of at most {LOGO_URL_LENGTH_MAX} characters");
            return Err(ParseError::new("logo_url", problem).into());
        }
    }
    let sender_name = b.sender_name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if let Some(n) = &sender_name
        && (n.chars().count() > SENDER_NAME_LENGTH_MAX
            || n.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | '"')))
    {
        let problem = format!("must be at most {SENDER_NAME_LENGTH_MAX} characters, without <, > or quotes");
        return Err(ParseError::new("sender_name", problem).into());
    }
    let return_address = b.return_address.map(|a| a.trim().replace("\r\n", "\n")).filter(|a| !a.is_empty());
    if let Some(a) = &return_address
        && (a.lines().count() > RETURN_ADDRESS_LINES_MAX
            || a.lines().any(|l| l.trim().chars().count() > RETURN_ADDRESS_LINE_LENGTH_MAX)
            || a.chars().any(|c| c.is_control() && c != '\n'))
    {
        let problem =
            format!("must be at most {RETURN_ADDRESS_LINES_MAX} lines of {RETURN_ADDRESS_LINE_LENGTH_MAX} characters");
        return Err(ParseError::new("return_address", problem).into());
    }
    Ok(Branding { color, logo_url, sender_name, return_address })
}

fn check_topics(topics: Vec<String>) -> Result<Vec<String>, AppError> {
    if topics.len() > ENDPOINT_TOPICS_MAX {
        return Err(ParseError::new("topics", format!("at most {ENDPOINT_TOPICS_MAX}")).into());
    }
    if let Some(bad) = topics.iter().find(|t| !valid_topic_pattern(t)) {
        let bad: String = bad.chars().take(64).collect();
        let message = format!("{bad:?} is not a topic (parcel.deposited), a family (parcel.*) or *");
        return Err(ParseError::new("topics", message).into());
    }
    Ok(topics)
}

/// A webhook URL relais will post to: `https://` (or `http://` when allowed), a host that is not a
/// loopback, private or link-local address unless allowed, no credentials in it. A name that
/// resolves to a private address is not caught here (DNS may change); deployments that need that
/// guarantee send webhooks through the outbound proxy.
pub fn check_url(url: &str, rules: WebhookRules) -> Result<String, AppError> {
    let bad = |why: &str| -> AppError { ParseError::new("url", why.to_owned()).into() };
    let url = url.trim();
    if url.is_empty() || url.len() > URL_LENGTH_MAX {
        return Err(bad(&format!("must be 1 to {URL_LENGTH_MAX} characters")));
    }
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://").filter(|_| rules.allow_http) {
        rest
    } else {
        return Err(bad("must start with https://"));
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("must not carry credentials; the signature authenticates relais"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    if !rules.allow_private && is_private_host(host) {
        return Err(bad("names a loopback or private address, which relais does not call"));
    }
    Ok(url.to_owned())
}

fn is_private_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".local") || host.ends_with(".internal") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (64..128).contains(&ip.octets()[1])
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_public_https_unless_relaxed() {
        let strict = WebhookRules::default();
        let relaxed = WebhookRules { allow_http: true, allow_private: true };
        let cases = [
            ("https://shop.example/hooks/relais", true, true),
            ("https://shop.example:8443/h?x=1", true, true),
            ("http://shop.example/h", false, true),
            ("https://127.0.0.1/h", false, true),
            ("https://localhost:3000/h", false, true),
            ("https://10.1.2.3/h", false, true),
            ("https://192.168.0.10/h", false, true),
            ("https://169.254.169.254/latest/meta-data", false, true),
            ("https://[::1]:8080/h", false, true),
            ("https://[fd00::1]/h", false, true),
            ("https://100.64.0.1/h", false, true),
            ("https://user:pw@shop.example/h", false, false),
            ("ftp://shop.example/h", false, false),
            ("https://shop.example/a b", false, false),
            ("https:///h", false, false),
        ];
        for (url, strict_ok, relaxed_ok) in cases {
            assert_eq!(check_url(url, strict).is_ok(), strict_ok, "strict {url}");
            assert_eq!(check_url(url, relaxed).is_ok(), relaxed_ok, "relaxed {url}");
        }
    }

    #[test]
    fn branding_is_a_colour_an_https_logo_and_a_plain_name() {
        let ok = check_branding(Branding {
            color: Some(" #1D4ED8 ".into()),
            logo_url: Some("https://shop.example/logo.png".into()),
            sender_name: Some("Boutique Lumière".into()),
            return_address: Some(" 3 quai Saint-Antoine\r\n69002 Lyon ".into()),
        })
        .unwrap();
        assert_eq!(ok.color.as_deref(), Some("#1d4ed8"));
        assert_eq!(ok.return_address.as_deref(), Some("3 quai Saint-Antoine\n69002 Lyon"));
        assert_eq!(check_branding(Branding::default()).unwrap(), Branding::default(), "relais' own");
        let empty = Branding { color: Some("  ".into()), ..Branding::default() };
        assert_eq!(check_branding(empty).unwrap(), Branding::default());
        for bad in [
            Branding { color: Some("blue".into()), ..Branding::default() },
            Branding { color: Some("#12345g".into()), ..Branding::default() },
            Branding { logo_url: Some("http://shop.example/logo.png".into()), ..Branding::default() },
            Branding { logo_url: Some("https://x.example/a\"onerror=\"x".into()), ..Branding::default() },
            Branding { sender_name: Some("Shop\r\nBcc: all@example.org".into()), ..Branding::default() },
            Branding { sender_name: Some("x".repeat(61)), ..Branding::default() },
            Branding { return_address: Some("1\n2\n3\n4".into()), ..Branding::default() },
            Branding { return_address: Some("x".repeat(61)), ..Branding::default() },
            Branding { return_address: Some("a\tb".into()), ..Branding::default() },
        ] {
            assert!(check_branding(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn topics_are_patterns_and_bounded() {
        assert_eq!(check_topics(vec!["parcel.*".into(), "point.door_fault".into()]).unwrap().len(), 2);
        assert!(check_topics(vec!["Parcel Deposited".into()]).is_err());
        assert!(check_topics(vec!["parcel.*".into(); ENDPOINT_TOPICS_MAX + 1]).is_err());
    }
}

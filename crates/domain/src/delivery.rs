//! When a message that could not be delivered is tried again, and when relais gives up on it.
//!
//! A delivery is one message on one channel to one address (an SMS to the recipient, an e-mail, a
//! merchant's webhook endpoint). Each attempt ends in one of three ways. Accepted: the provider took
//! it, and it is never sent again. Refused for good: a 4xx other than 408 and 429, an address that does
//! not exist; that is a dead letter at once. Failed for now: a refused connection, a timeout, a 5xx, a
//! 429 or an answer that cannot be read; the message is tried again later, on the channel's schedule.
//!
//! Schedules:
//! - Webhooks follow the Standard Webhooks practice (Svix's schedule): at once, then 5 s, 5 min, 30 min,
//!   2 h, 5 h, 10 h and 10 h, about 28 hours in all. A merchant's server that is down for a night still
//!   gets its events.
//! - SMS and e-mail back off exponentially: 10 s, doubled at each failure, up to 30 minutes, 12
//!   attempts in all (2 h 12 min of waiting). A parcel's message is no use a day late.
//!
//! Every delay but the first is spread by up to ±20 %, so that a provider coming back up is not hit by
//! every held message in the same second. A provider's `Retry-After` is honoured when it asks for
//! longer than the schedule, up to a day. The jitter comes in as an argument (a number in [0, 1)), as
//! time does: the rule stays a plain function.
//!
//! No SMS reaches a recipient in their quiet hours (`QuietHours`, 21:00 to 08:00 by default, in the
//! point's timezone): it is held until they end. E-mail is not held, since it does not ring.
//!
//! Who hears of a message (the fan-out, ADR 15): the recipient, on the channels its `Notice` calls
//! for and they have not opted out of; every endpoint subscribed to its topic (a merchant's webhooks
//! for its parcels' events, the operators' for alerts).

use chrono::{Duration, NaiveTime, TimeZone, Utc};

use crate::Timestamp;
use crate::ids::{DeliveryId, EndpointId, MerchantId, OutboxId, ParcelId};
use crate::parcel::EventKind;

/// The ways a message leaves relais.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Sms,
    Email,
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Sms, Channel::Email, Channel::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// How its failed messages are tried again.
    pub fn schedule(self) -> RetrySchedule {
        match self {
            Channel::Webhook => RetrySchedule::webhooks(),
            Channel::Sms | Channel::Email => RetrySchedule::messages(),
        }
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// To send, now or at `next_attempt_at`.
    Pending,
    /// A provider accepted it: never sent again, unless an operator resends it.
    Delivered,
    /// Given up on, with the last error: a dead letter.
    Dead,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One outbox message on one channel to one address: the unit that is sent, retried and recorded.
/// Its id is the idempotency key the providers see (`webhook-id`, the e-mail's `Message-ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub outbox_id: OutboxId,
    pub topic: String,
    pub parcel_id: Option<ParcelId>,
    pub channel: Channel,
    /// A phone number (SMS), an e-mail address, or the id of a webhook endpoint.
    pub address: String,
    pub state: DeliveryState,
    /// Attempts started so far (counted when an attempt is claimed, so one that crashed counts too).
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    /// The provider's id of the message (Twilio's SID, the SMTP server's queue id).
    pub provider_ref: Option<String>,
    /// What the provider reported after accepting it (Twilio's status callback: `delivered`,
    /// `undelivered`...).
    pub provider_status: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Delivery {
    /// The longest error text kept: enough to read what happened, never a whole answer body.
    pub const ERROR_LENGTH_MAX: usize = 300;

    /// A new delivery, due at `due`.
    pub fn new(
        id: DeliveryId,
        outbox_id: OutboxId,
        topic: &str,
        parcel_id: Option<ParcelId>,
        to: Destination,
        now: Timestamp,
        due: Timestamp,
    ) -> Delivery {
        Delivery {
            id,
            outbox_id,
            topic: topic.to_owned(),
            parcel_id,
            channel: to.channel,
            address: to.address,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: due,
            last_error: None,
            provider_ref: None,
            provider_status: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The delivery after its attempt (the `attempts`-th) ended in `outcome` at `now`, on its channel's
    /// schedule: delivered, due again (keeping what went wrong, for whoever looks at it meanwhile), or
    /// dead. `jitter` as for [`after_attempt`].
    pub fn attempted(self, outcome: AttemptOutcome, now: Timestamp, jitter: f64) -> Delivery {
        let failure = match &outcome {
            AttemptOutcome::Failed { error, .. } => Some(clip(error)),
            _ => None,
        };
        let step = after_attempt(&self.channel.schedule(), self.attempts, outcome, now, jitter);
        let mut next = self.after(step, now);
        if next.state == DeliveryState::Pending {
            next.last_error = failure;
        }
        next
    }

    /// The delivery after its attempt (the `attempts`-th) ended in `step` at `now`.
    pub fn after(mut self, step: NextStep, now: Timestamp) -> Delivery {
        match step {
            NextStep::Delivered { provider_ref } => {
                self.state = DeliveryState::Delivered;
                self.provider_ref = provider_ref.map(|r| clip(&r));
                self.last_error = None;
            }
            NextStep::RetryAt(at) => self.next_attempt_at = at,
            NextStep::Dead { error } => {
                self.state = DeliveryState::Dead;
                self.last_error = Some(clip(&error));
            }
        }
        self.updated_at = now;
        self
    }
}

/// `text` cut to [`Delivery::ERROR_LENGTH_MAX`] characters.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(Delivery::ERROR_LENGTH_MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// One destination of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    pub channel: Channel,
    pub address: String,
}

/// What a parcel event tells its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// The merchant announced the parcel to the point the recipient chose.
    Announced,
    /// It waits at the point: the code, the QR, the hours, the deadline.
    ReadyForPickup,
    /// A reminder that it waits.
    Reminder,
    /// The last reminder: the deadline is near.
    ExpiringSoon,
    Extended,
    /// The deadline passed: it goes back to the sender.
    Expired,
    /// The chosen point had no room: it waits at another for a day.
    Relocated,
    /// The carrier will be late (issue 18 raises it).
    Delayed,
    /// The recipient took it: the receipt, with the satisfaction survey.
    Collected,
    /// A new code replaced a lost one.
    CodeReissued,
}

impl Notice {
    pub const ALL: [Notice; 10] = [
        Notice::Announced,
        Notice::ReadyForPickup,
        Notice::Reminder,
        Notice::ExpiringSoon,
        Notice::Extended,
        Notice::Expired,
        Notice::Relocated,
        Notice::Delayed,
        Notice::Collected,
        Notice::CodeReissued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Announced => "announced",
            Notice::ReadyForPickup => "ready_for_pickup",
            Notice::Reminder => "reminder",
            Notice::ExpiringSoon => "expiring_soon",
            Notice::Extended => "extended",
            Notice::Expired => "expired",
            Notice::Relocated => "relocated",
            Notice::Delayed => "delayed",
            Notice::Collected => "collected",
            Notice::CodeReissued => "code_reissued",
        }
    }

    pub fn parse(s: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.as_str() == s)
    }

    /// What an event tells the recipient, if anything. `last_reminder`: a reminder after which none
    /// is left.
    pub fn of_event(kind: EventKind, last_reminder: bool) -> Option<Notice> {
        Some(match kind {
            EventKind::Announced => Notice::Announced,
            EventKind::Deposited => Notice::ReadyForPickup,
            EventKind::Reminded if last_reminder => Notice::ExpiringSoon,
            EventKind::Reminded => Notice::Reminder,
            EventKind::Extended => Notice::Extended,
            EventKind::Expired => Notice::Expired,
            EventKind::Relocated => Notice::Relocated,
            EventKind::Collected => Notice::Collected,
            EventKind::CodeReissued => Notice::CodeReissued,
            _ => return None,
        })
    }

    /// Whether the recipient must act on it soon: then it goes by SMS and e-mail both; otherwise by
    /// e-mail, or SMS when relais has no e-mail address. A receipt goes by e-mail only.
    fn reach(self) -> Reach {
        match self {
            Notice::ReadyForPickup | Notice::ExpiringSoon | Notice::Relocated | Notice::CodeReissued => Reach::Both,
            Notice::Collected => Reach::EmailOnly,
            Notice::Announced | Notice::Reminder | Notice::Extended | Notice::Expired | Notice::Delayed => {
                Reach::EmailElseSms
            }
        }
    }

    /// Whether the message carries the pickup code (its delivery opens the seal, ADR 14): the notices
    /// of a parcel waiting at its point. A relocated parcel is not there yet: its code comes with the
    /// ready notice of its new point.
    pub fn carries_code(self) -> bool {
        matches!(self, Notice::ReadyForPickup | Notice::Reminder | Notice::ExpiringSoon | Notice::CodeReissued)
    }
}

enum Reach {
    Both,
    EmailElseSms,
    EmailOnly,
}

/// Who the recipient of a parcel is for the fan-out.
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    /// The channels they asked never to be used again.
    pub opted_out: &'a [Channel],
}

/// The recipient's deliveries of a notice: the channels it calls for, among those they can be reached
/// on and have not opted out of.
pub fn recipient_deliveries(notice: Notice, contacts: Contacts<'_>) -> Vec<Destination> {
    let allowed = |c: Channel| !contacts.opted_out.contains(&c);
    let sms = contacts
        .phone
        .filter(|_| allowed(Channel::Sms))
        .map(|p| Destination { channel: Channel::Sms, address: p.to_owned() });
    let email = contacts
        .email
        .filter(|_| allowed(Channel::Email))
        .map(|e| Destination { channel: Channel::Email, address: e.to_owned() });
    match notice.reach() {
        Reach::Both => email.into_iter().chain(sms).collect(),
        Reach::EmailElseSms => email.or(sms).into_iter().collect(),
        Reach::EmailOnly => email.into_iter().collect(),
    }
}

/// Somewhere a merchant or the operators receive events: a webhook (signed, Standard Webhooks) or an
/// e-mail address (operators' alerts). Its signing secrets are kept sealed by the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: EndpointId,
    /// The merchant whose parcels' events it receives; `None`: the operators' (alerts and every event).
    pub merchant_id: Option<MerchantId>,
    pub target: EndpointTarget,
    /// The topics it receives (`parcel.deposited`, `parcel.*`, `point.*`); empty: all of its owner's.
    pub topics: Vec<String>,
    /// When it was disabled (by its owner, or after failing for [`ENDPOINT_FAILING_DAYS_MAX`] days).
    pub disabled_at: Option<Timestamp>,
    pub disabled_reason: Option<String>,
    /// Since when every delivery to it has failed; `None` when the last one succeeded.
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointTarget {
    Webhook { url: String },
    Email { address: String },
}

/// After this many days of failures, an endpoint is disabled and its owner told.
pub const ENDPOINT_FAILING_DAYS_MAX: i64 = 5;
/// Most topics one endpoint lists.
pub const ENDPOINT_TOPICS_MAX: usize = 50;

impl Endpoint {
    /// Whether it receives messages of `topic`: enabled, the topic is its owner's to see (a merchant's
    /// parcels' events only), and it subscribed to it.
    pub fn wants(&self, topic: &str, merchant_of_message: Option<MerchantId>) -> bool {
        if self.disabled_at.is_some() {
            return false;
        }
        if self.merchant_id.is_some_and(|own| merchant_of_message != Some(own)) {
            return false;
        }
        self.topics.is_empty() || self.topics.iter().any(|t| topic_matches(t, topic))
    }

    /// Its destination for the fan-out.
    pub fn destination(&self) -> Destination {
        match &self.target {
            EndpointTarget::Webhook { .. } => Destination { channel: Channel::Webhook, address: self.id.to_string() },
            EndpointTarget::Email { address } => Destination { channel: Channel::Email, address: address.clone() },
        }
    }

    /// Whether a failure at `now` disables it: it has failed without a success since
    /// [`ENDPOINT_FAILING_DAYS_MAX`] days.
    pub fn fails_for_too_long(&self, now: Timestamp) -> bool {
        self.failing_since.is_some_and(|since| now - since >= Duration::days(ENDPOINT_FAILING_DAYS_MAX))
    }
}

/// `pattern` is a topic (`parcel.deposited`), a family (`parcel.*`) or everything (`*`).
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => topic.starts_with(prefix),
        None => pattern == topic,
    }
}

/// Whether a topic pattern is one an endpoint may list: lowercase words and dots, optionally ending in
/// `*`.
pub fn valid_topic_pattern(pattern: &str) -> bool {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    (1..=64).contains(&pattern.len())
        && body.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
        && (pattern == "*" || !body.is_empty())
}

/// The longest a provider's `Retry-After` can hold a message back.
pub const RETRY_AFTER_MAX_SECONDS: i64 = 24 * 3600;
/// How far jitter moves a delay, either way.
const JITTER_FRACTION: f64 = 0.2;

/// How a channel's failed messages are tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrySchedule {
    /// The wait before each retry, in seconds: the first entry before the second attempt, and so on.
    /// There are as many attempts as entries, plus one.
    Fixed(Vec<i64>),
    /// `first_seconds`, doubled after each failure up to `cap_seconds`, for `attempts` attempts in all.
    Exponential { first_seconds: i64, cap_seconds: i64, attempts: u32 },
}

impl RetrySchedule {
    /// Webhooks: about 28 hours of retries (Standard Webhooks, Svix's schedule).
    pub fn webhooks() -> RetrySchedule {
        RetrySchedule::Fixed(vec![5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600])
    }

    /// SMS and e-mail: 10 s doubled up to 30 minutes, 12 attempts.
    pub fn messages() -> RetrySchedule {
        RetrySchedule::Exponential { first_seconds: 10, cap_seconds: 30 * 60, attempts: 12 }
    }

    /// How many attempts a message gets before it is a dead letter.
    pub fn attempts(&self) -> u32 {
        match self {
            RetrySchedule::Fixed(delays) => u32::try_from(delays.len()).unwrap_or(u32::MAX).saturating_add(1),
            RetrySchedule::Exponential { attempts, .. } => *attempts,
        }
    }

    /// The wait after the `failed`-th failed attempt (1 for the first), before jitter; `None` once no
    /// attempt is left.
    pub fn delay_after(&self, failed: u32) -> Option<Duration> {
        if failed == 0 || failed >= self.attempts() {
            return None;
        }
        let seconds = match self {
            RetrySchedule::Fixed(delays) => delays[(failed - 1) as usize],
            RetrySchedule::Exponential { first_seconds, cap_seconds, .. } => {
                let doubled = first_seconds.saturating_mul(1i64 << (failed - 1).min(40));
                doubled.min(*cap_seconds)
            }
        };
        Some(Duration::seconds(seconds))
    }
}

/// The hours in which no SMS is sent to a recipient, in the point's local time. `start` after `end`
/// spans midnight (21:00 to 08:00); `start == end` means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> QuietHours {
        QuietHours {
            start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
        }
    }
}

impl QuietHours {
    /// When an SMS due at `at` may leave, with `zone` the point's timezone: `at` itself outside the
    /// quiet hours, their end otherwise. Should that end not exist on that day (a clock moved forward
    /// over it), the first instant after the gap.
    pub fn release<Z: TimeZone>(&self, at: Timestamp, zone: &Z) -> Timestamp {
        let local = at.with_timezone(zone).naive_local();
        let time = local.time();
        let (quiet, ends_tomorrow) = if self.start == self.end {
            (false, false)
        } else if self.start < self.end {
            (time >= self.start && time < self.end, false)
        } else {
            (time >= self.start || time < self.end, time >= self.start)
        };
        if !quiet {
            return at;
        }
        let day = if ends_tomorrow { local.date().succ_opt().unwrap_or(local.date()) } else { local.date() };
        let end = day.and_time(self.end);
        zone.from_local_datetime(&end)
            .earliest()
            .or_else(|| zone.from_local_datetime(&(end + Duration::hours(1))).earliest())
            .map_or(at, |t| t.with_timezone(&Utc))
    }
}

/// How many messages one recipient gets on one channel in a window: a bound on what a misbehaving
/// merchant, a loop of events or an attacker announcing parcels to someone can make their phone do.
/// A message over the bound is held until the window lets it through, never dropped: it may carry the
/// pickup code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientLimit {
    pub messages: u32,
    pub window: Duration,
}

impl Default for RecipientLimit {
    fn default() -> RecipientLimit {
        RecipientLimit { messages: 10, window: Duration::hours(24) }
    }
}

impl RecipientLimit {
    /// When a message due at `due` may leave, given when the recipient's earlier messages on the
    /// channel left or will leave (`sent`, in any order): the first instant from `due` at which fewer
    /// than `messages` of them fall in the window ending then. `messages == 0` means no limit.
    pub fn release(&self, due: Timestamp, sent: &[Timestamp]) -> Timestamp {
        if self.messages == 0 {
            return due;
        }
        let mut sent = sent.to_vec();
        sent.sort_unstable();
        let limit = self.messages as usize;
        let mut at = due;
        loop {
            let in_window: Vec<Timestamp> =
                sent.iter().copied().filter(|t| *t > at - self.window && *t <= at).collect();
            if in_window.len() < limit {
                return at;
            }
            // Wait for the oldest that must leave the window to do so.
            at = in_window[in_window.len() - limit] + self.window;
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The provider took the message; its reference, if it gave one (Twilio's message SID...).
    Accepted { provider_ref: Option<String> },
    /// It may work later. `retry_after`: what the provider asked for (`Retry-After`), if anything.
    Failed { error: String, retry_after: Option<Duration> },
    /// It will never work: a refusal of the message itself or of its address.
    Refused { error: String },
}

impl AttemptOutcome {
    /// What an HTTP answer means (a webhook endpoint, an SMS or e-mail provider's API): a 2xx took
    /// it; a 408, 425, 429 or 5xx may work later (after the provider's `Retry-After`); any other status
    /// is a refusal for good, a 3xx included (a webhook follows no redirect). `detail`: what the
    /// answer said, kept clipped.
    pub fn of_http(
        status: u16,
        retry_after: Option<Duration>,
        provider_ref: Option<String>,
        detail: &str,
    ) -> AttemptOutcome {
        let error = || {
            let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
            if detail.is_empty() { format!("HTTP {status}") } else { clip(&format!("HTTP {status}: {detail}")) }
        };
        match status {
            200..=299 => AttemptOutcome::Accepted { provider_ref },
            408 | 425 | 429 | 500..=599 => AttemptOutcome::Failed { error: error(), retry_after },
            _ => AttemptOutcome::Refused { error: error() },
        }
    }
}

/// A `Retry-After` header's wait: a number of seconds, or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`)
/// counted from `now`. `None` when it is neither, or in the past.
pub fn retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return (seconds >= 0).then(|| Duration::seconds(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    (at > now).then(|| at - now)
}

/// What to do with a message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    Delivered {
        provider_ref: Option<String>,
    },
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// A dead letter: kept with the last error for an operator to see and resend.
    Dead {
        error: String,
    },
}

/// The next step after the `attempt`-th attempt (1 for the first) ended in `outcome` at `now`.
/// `jitter` is a number in [0, 1); 0.5 leaves the delay as the schedule says.
pub fn after_attempt(
    schedule: &RetrySchedule,
    attempt: u32,
    outcome: AttemptOutcome,
    now: Timestamp,
    jitter: f64,
) -> NextStep {
    let (error, retry_after) = match outcome {
        AttemptOutcome::Accepted { provider_ref } => return NextStep::Delivered { provider_ref },
        AttemptOutcome::Refused { error } => return NextStep::Dead { error },
        AttemptOutcome::Failed { error, retry_after } => (error, retry_after),
    };
    let Some(delay) = schedule.delay_after(attempt) else {
        return NextStep::Dead { error: format!("{error} (after {attempt} attempts)") };
    };
    // A jitter out of range (or not a number) cannot stretch a delay beyond the fifth.
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.5 };
    let factor = 1.0 + JITTER_FRACTION * (2.0 * jitter - 1.0);
    let spread = Duration::milliseconds((delay.num_milliseconds() as f64 * factor).round() as i64);
    let asked = retry_after.map(|d| d.min(Duration::seconds(RETRY_AFTER_MAX_SECONDS)));
    NextStep::RetryAt(now + asked.map_or(spread, |asked| asked.max(spread)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    fn failed(retry_after: Option<i64>) -> AttemptOutcome {
        AttemptOutcome::Failed { error: "HTTP 503".into(), retry_after: retry_after.map(Duration::seconds) }
    }

    #[test]
    fn the_schedules_span_what_they_promise() {
        let total = |s: &RetrySchedule| (1..s.attempts()).map(|n| s.delay_after(n).unwrap().num_seconds()).sum::<i64>();
        let webhooks = RetrySchedule::webhooks();
        assert_eq!(webhooks.attempts(), 8);
        assert_eq!(total(&webhooks), 5 + 300 + 1800 + 7200 + 18000 + 36000 + 36000, "about 28 hours");
        let messages = RetrySchedule::messages();
        let delays: Vec<i64> = (1..12).map(|n| messages.delay_after(n).unwrap().num_seconds()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800, 1800]);
        assert_eq!(messages.delay_after(12), None);
        assert_eq!(messages.delay_after(0), None);
        assert_eq!(total(&messages), 7950, "2 h 12 min of waiting over 12 attempts");
    }

    #[test]
    fn each_outcome_leads_to_its_step() {
        let webhooks = RetrySchedule::webhooks();
        let messages = RetrySchedule::messages();
        let accepted = AttemptOutcome::Accepted { provider_ref: Some("SM123".into()) };
        let refused = AttemptOutcome::Refused { error: "HTTP 400 invalid phone".into() };
        // (schedule, attempt, outcome, jitter, expected)
        let cases = [
            (&messages, 1, accepted.clone(), 0.5, NextStep::Delivered { provider_ref: Some("SM123".into()) }),
            (&messages, 12, accepted, 0.5, NextStep::Delivered { provider_ref: Some("SM123".into()) }),
            (&messages, 1, refused.clone(), 0.5, NextStep::Dead { error: "HTTP 400 invalid phone".into() }),
            // The schedule's delay, then spread by at most a fifth either way.
            (&messages, 1, failed(None), 0.5, NextStep::RetryAt(at(10))),
            (&messages, 3, failed(None), 0.0, NextStep::RetryAt(at(32))),
            (&messages, 3, failed(None), 0.999_999, NextStep::RetryAt(at(48))),
            (&webhooks, 1, failed(None), 0.5, NextStep::RetryAt(at(5))),
            (&webhooks, 7, failed(None), 0.5, NextStep::RetryAt(at(36000))),
            // A Retry-After longer than the schedule is honoured, up to a day; a shorter one is not.
            (&messages, 1, failed(Some(120)), 0.5, NextStep::RetryAt(at(120))),
            (&messages, 5, failed(Some(1)), 0.5, NextStep::RetryAt(at(160))),
            (&messages, 1, failed(Some(7 * 24 * 3600)), 0.5, NextStep::RetryAt(at(RETRY_AFTER_MAX_SECONDS))),
            // The last attempt failed: a dead letter that says how it ended.
            (&messages, 12, failed(None), 0.5, NextStep::Dead { error: "HTTP 503 (after 12 attempts)".into() }),
            (&webhooks, 8, failed(Some(5)), 0.5, NextStep::Dead { error: "HTTP 503 (after 8 attempts)".into() }),
        ];
        for (schedule, attempt, outcome, jitter, expected) in cases {
            let got = after_attempt(schedule, attempt, outcome.clone(), at(0), jitter);
            assert_eq!(got, expected, "attempt {attempt} {outcome:?} jitter {jitter}");
        }
    }

    #[test]
    fn an_sms_in_the_quiet_hours_waits_for_the_morning_in_the_points_timezone() {
        let paris = relais_hours::parse_timezone("Europe/Paris").unwrap();
        let utc = |s: &str| s.parse::<Timestamp>().unwrap();
        let night = QuietHours::default();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let lunch = QuietHours { start: t(12, 0), end: t(14, 0) };
        let none = QuietHours { start: t(9, 0), end: t(9, 0) };
        let early_gap = QuietHours { start: t(22, 0), end: t(2, 30) };
        // (quiet hours, due at, released at); Paris is UTC+1 in winter, UTC+2 in summer.
        let cases = [
            (night, "2026-12-07T12:00:00Z", "2026-12-07T12:00:00Z"),
            (night, "2026-12-07T19:59:59Z", "2026-12-07T19:59:59Z"),
            (night, "2026-12-07T20:00:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-12-07T21:30:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-12-08T06:59:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-12-08T07:00:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-07-01T19:30:00Z", "2026-07-02T06:00:00Z"),
            // The night the clocks go forward (28 March 2027): 08:00 is already summer time.
            (night, "2027-03-27T22:00:00Z", "2027-03-28T06:00:00Z"),
            // And back (31 October 2027): 08:00 is winter time again.
            (night, "2027-10-30T22:00:00Z", "2027-10-31T07:00:00Z"),
            (lunch, "2026-12-07T11:30:00Z", "2026-12-07T13:00:00Z"),
            (lunch, "2026-12-07T13:00:00Z", "2026-12-07T13:00:00Z"),
            (none, "2026-12-07T08:00:00Z", "2026-12-07T08:00:00Z"),
            // Quiet until 02:30, which does not exist on 28 March 2027: 03:30 summer time.
            (early_gap, "2027-03-27T23:00:00Z", "2027-03-28T01:30:00Z"),
        ];
        for (quiet, due, released) in cases {
            assert_eq!(quiet.release(utc(due), &paris), utc(released), "{quiet:?} due {due}");
        }
    }

    #[test]
    fn jitter_stays_within_a_fifth_whatever_it_is_given() {
        let messages = RetrySchedule::messages();
        for jitter in [-3.0, 0.0, 0.25, 0.5, 0.75, 0.999, 1.0, 7.0, f64::NAN] {
            let NextStep::RetryAt(when) = after_attempt(&messages, 9, failed(None), at(0), jitter) else {
                panic!("{jitter}");
            };
            let waited = (when - at(0)).num_milliseconds();
            assert!((1_440_000..=2_160_000).contains(&waited), "{jitter}: {waited} ms for a 1,800 s delay");
        }
    }

    #[test]
    fn an_http_answer_is_taken_retried_or_refused() {
        let wait = Some(Duration::seconds(30));
        let cases = [
            (200, AttemptOutcome::Accepted { provider_ref: Some("SM1".into()) }),
            (204, AttemptOutcome::Accepted { provider_ref: Some("SM1".into()) }),
            (429, AttemptOutcome::Failed { error: "HTTP 429: slow down".into(), retry_after: wait }),
            (503, AttemptOutcome::Failed { error: "HTTP 503: slow down".into(), retry_after: wait }),
            (408, AttemptOutcome::Failed { error: "HTTP 408: slow down".into(), retry_after: wait }),
            (400, AttemptOutcome::Refused { error: "HTTP 400: slow down".into() }),
            (301, AttemptOutcome::Refused { error: "HTTP 301: slow down".into() }),
            (410, AttemptOutcome::Refused { error: "HTTP 410: slow down".into() }),
        ];
        for (status, expected) in cases {
            assert_eq!(
                AttemptOutcome::of_http(status, wait, Some("SM1".into()), " slow\n down "),
                expected,
                "{status}"
            );
        }
        assert_eq!(
            AttemptOutcome::of_http(500, None, None, ""),
            AttemptOutcome::Failed { error: "HTTP 500".into(), retry_after: None }
        );
        let long = AttemptOutcome::of_http(400, None, None, &"x".repeat(5000));
        assert!(matches!(long, AttemptOutcome::Refused { error } if error.len() < 400));
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 10, 21, 7, 0, 0).unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::seconds(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::zero()));
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now), Some(Duration::minutes(28)));
        assert_eq!(retry_after("Wed, 21 Oct 2026 06:28:00 GMT", now), None, "in the past");
        assert_eq!(retry_after("-5", now), None);
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn each_notice_reaches_the_recipient_on_its_channels() {
        let phone = Some("+33612345678");
        let email = Some("ana@example.org");
        let sms = || Destination { channel: Channel::Sms, address: "+33612345678".into() };
        let mail = || Destination { channel: Channel::Email, address: "ana@example.org".into() };
        let contacts = |phone, email, opted_out| Contacts { phone, email, opted_out };
        // (notice, contacts, expected)
        let cases: Vec<(Notice, Contacts<'_>, Vec<Destination>)> = vec![
            (Notice::ReadyForPickup, contacts(phone, email, &[]), vec![mail(), sms()]),
            (Notice::ReadyForPickup, contacts(phone, None, &[]), vec![sms()]),
            (Notice::ReadyForPickup, contacts(phone, email, &[Channel::Sms]), vec![mail()]),
            (Notice::Reminder, contacts(phone, email, &[]), vec![mail()]),
            (Notice::Reminder, contacts(phone, None, &[]), vec![sms()]),
            (Notice::Reminder, contacts(phone, email, &[Channel::Email]), vec![sms()]),
            (Notice::ExpiringSoon, contacts(phone, email, &[]), vec![mail(), sms()]),
            (Notice::Collected, contacts(phone, email, &[]), vec![mail()]),
            (Notice::Collected, contacts(phone, None, &[]), vec![]),
            (Notice::Announced, contacts(None, None, &[]), vec![]),
            (Notice::Relocated, contacts(phone, email, &[Channel::Sms, Channel::Email]), vec![]),
        ];
        for (notice, contacts, expected) in cases {
            assert_eq!(recipient_deliveries(notice, contacts), expected, "{notice:?} {contacts:?}");
        }
    }

    #[test]
    fn events_map_to_their_notices() {
        assert_eq!(Notice::of_event(EventKind::Deposited, false), Some(Notice::ReadyForPickup));
        assert_eq!(Notice::of_event(EventKind::Reminded, false), Some(Notice::Reminder));
        assert_eq!(Notice::of_event(EventKind::Reminded, true), Some(Notice::ExpiringSoon));
        assert_eq!(Notice::of_event(EventKind::Moved, false), None);
        assert_eq!(Notice::of_event(EventKind::CompartmentFault, false), None);
        for notice in Notice::ALL {
            assert_eq!(Notice::parse(notice.as_str()), Some(notice));
        }
    }

    fn endpoint(merchant: Option<MerchantId>, topics: &[&str]) -> Endpoint {
        Endpoint {
            id: crate::ids::Id::from_uuid(uuid::Uuid::from_u128(7)),
            merchant_id: merchant,
            target: EndpointTarget::Webhook { url: "https://shop.example/hooks".into() },
            topics: topics.iter().map(|t| t.to_string()).collect(),
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
            created_at: at(0),
            version: 1,
        }
    }

    #[test]
    fn an_endpoint_hears_only_its_owners_topics() {
        let shop = crate::ids::Id::from_uuid(uuid::Uuid::from_u128(1));
        let other = crate::ids::Id::from_uuid(uuid::Uuid::from_u128(2));
        let all = endpoint(Some(shop), &[]);
        assert!(all.wants("parcel.deposited", Some(shop)));
        assert!(!all.wants("parcel.deposited", Some(other)), "another merchant's parcel");
        assert!(!all.wants("point.occupancy_high", None), "an operators' alert is not a merchant's");
        let some = endpoint(Some(shop), &["parcel.collected", "parcel.exp*"]);
        assert!(some.wants("parcel.collected", Some(shop)) && some.wants("parcel.expired", Some(shop)));
        assert!(!some.wants("parcel.deposited", Some(shop)));
        let operators = endpoint(None, &["point.*"]);
        assert!(operators.wants("point.door_fault", None) && !operators.wants("parcel.deposited", Some(shop)));
        let disabled = Endpoint { disabled_at: Some(at(0)), ..endpoint(Some(shop), &[]) };
        assert!(!disabled.wants("parcel.deposited", Some(shop)));
        for (pattern, valid) in [
            ("parcel.deposited", true),
            ("parcel.*", true),
            ("*", true),
            ("Parcel", false),
            ("", false),
            (".*x", false),
        ] {
            assert_eq!(valid_topic_pattern(pattern), valid, "{pattern:?}");
        }
    }

    #[test]
    fn an_endpoint_failing_for_days_is_disabled() {
        let failing = |days| Endpoint { failing_since: Some(at(0) - Duration::days(days)), ..endpoint(None, &[]) };
        assert!(!endpoint(None, &[]).fails_for_too_long(at(0)));
        assert!(!failing(4).fails_for_too_long(at(0)));
        assert!(failing(ENDPOINT_FAILING_DAYS_MAX).fails_for_too_long(at(0)));
    }

    #[test]
    fn a_delivery_moves_on_after_each_attempt() {
        let id = crate::ids::Id::from_uuid(uuid::Uuid::from_u128(9));
        let outbox = crate::ids::Id::from_uuid(uuid::Uuid::from_u128(10));
        let to = Destination { channel: Channel::Sms, address: "+33612345678".into() };
        let fresh = Delivery::new(id, outbox, "parcel.deposited", None, to, at(0), at(0));
        let retried = fresh.clone().after(NextStep::RetryAt(at(10)), at(1));
        assert_eq!((retried.state, retried.next_attempt_at), (DeliveryState::Pending, at(10)));
        let dead = fresh.clone().after(NextStep::Dead { error: "x".repeat(1000) }, at(1));
        assert_eq!(dead.state, DeliveryState::Dead);
        assert_eq!(dead.last_error.unwrap().chars().count(), Delivery::ERROR_LENGTH_MAX + 3, "clipped");
        let done = fresh.clone().after(NextStep::Delivered { provider_ref: Some("SM1".into()) }, at(2));
        assert_eq!((done.state, done.provider_ref.as_deref()), (DeliveryState::Delivered, Some("SM1")));
        // Through the channel's schedule: a failure keeps its error while the message waits.
        let first = Delivery { attempts: 1, ..fresh };
        let waiting =
            first.clone().attempted(AttemptOutcome::Failed { error: "HTTP 503".into(), retry_after: None }, at(0), 0.5);
        assert_eq!(
            (waiting.state, waiting.next_attempt_at, waiting.last_error.as_deref()),
            (DeliveryState::Pending, at(10), Some("HTTP 503"))
        );
        let taken = waiting.attempted(AttemptOutcome::Accepted { provider_ref: None }, at(11), 0.5);
        assert_eq!((taken.state, taken.last_error), (DeliveryState::Delivered, None));
    }

    #[test]
    fn a_recipient_gets_at_most_the_limit_in_any_window_and_the_rest_waits() {
        let limit = RecipientLimit { messages: 3, window: Duration::seconds(100) };
        let cases: [(&[i64], i64, i64); 7] = [
            // (earlier messages, due, released at)
            (&[], 5, 5),
            (&[1, 2], 5, 5),
            (&[1, 2, 3], 5, 101),
            // Out of order, and one that has left the window already.
            (&[50, -200, 10, 30], 60, 110),
            (&[1, 2, 3], 200, 200),
            // A burst: each waits for the oldest that must leave.
            (&[0, 0, 0, 0, 0], 1, 100),
            // Messages already held into the future are not counted before they leave.
            (&[1, 2, 500], 5, 5),
        ];
        for (sent, due, expected) in cases {
            let sent: Vec<Timestamp> = sent.iter().map(|s| at(*s)).collect();
            assert_eq!(limit.release(at(due), &sent), at(expected), "{sent:?} due {due}");
        }
        // Held messages counted in turn: ten due at once leave three per window.
        let mut sent = Vec::new();
        for _ in 0..10 {
            let t = limit.release(at(0), &sent);
            sent.push(t);
        }
        let secs: Vec<i64> = sent.iter().map(|t| (*t - at(0)).num_seconds()).collect();
        assert_eq!(secs, [0, 0, 0, 100, 100, 100, 200, 200, 200, 300]);
        let unlimited = RecipientLimit { messages: 0, ..limit };
        assert_eq!(unlimited.release(at(7), &sent), at(7));
    }
}

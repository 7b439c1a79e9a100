//! The recipient's side: the page a recipient opens from the link in their messages (where the
//! parcel is, until when, how to collect it) and the one extension they may ask for there.
//!
//! The link's token is the capability: keyed by the instance and naming one parcel (ADR 9), it shows
//! that parcel's page to whoever holds it, as a shop's paper notice would. It reaches the recipient in
//! the same messages as their pickup code, so while the parcel waits for them the page shows the code
//! and its QR image too, opened from the parcel's seal (ADR 14), so that a phone opens the locker. It
//! never shows a phone number or an e-mail address.
//!
//! From the same link the recipient stops a channel (`/stop`, the opt-out link of every message) and,
//! once the parcel is collected, answers the satisfaction survey (`/survey`).

use std::sync::Arc;

use relais_domain::Timestamp;
use relais_domain::delivery::Channel;
use relais_domain::parcel::{Actor, ActorKind, Parcel, ParcelState, TransitionError};
use relais_domain::point::PickupPoint;
use relais_domain::survey::SurveyAnswer;
use relais_domain::value::PickupCode;

use crate::App;
use crate::auth::Caller;
use crate::error::AppError;
use crate::ports::{MessageWrite, Write};

/// What the recipient's page shows.
#[derive(Debug, Clone)]
pub struct RecipientView {
    pub parcel: Parcel,
    pub point: Arc<PickupPoint>,
    /// The deadline an extension would give now, or why there is none.
    pub extension: Result<Timestamp, TransitionError>,
    /// The pickup code and QR token, while the parcel is ready for pickup (and was announced since
    /// codes are sealed).
    pub pickup: Option<(PickupCode, String)>,
    /// Its journey: its carrier's events and relais' own, oldest first.
    pub timeline: Vec<crate::tracking::TimelineEntry>,
    /// Whether it is followed at a carrier (a damaged parcel can then be reported from the page), and
    /// why it is late if the recipient was told so.
    pub followed: bool,
    pub delay_reason: Option<String>,
}

impl App {
    /// The parcel a recipient link names, as its recipient may see it. A bad or forged link is
    /// `not_found`, like an unknown parcel.
    pub async fn recipient_view(&self, token: &str) -> Result<RecipientView, AppError> {
        let parcel = self.parcel_of_link(token).await?;
        let point = self.indexed_point(parcel.point_id).await?;
        let rules = self.load_rules(parcel.network_id).await?;
        let extension =
            parcel.extend(&rules, recipient(), self.now()).map(|t| t.parcel.pickup_deadline.unwrap_or_default());
        // Before the deposit the code opens nothing yet; after the collection its seal is gone.
        let pickup = match parcel.state {
            ParcelState::ReadyForPickup => {
                let sealed = self.store.pickup_seal(parcel.id).await?;
                sealed.and_then(|sealed| self.secrets.open_pickup(parcel.id, &sealed))
            }
            _ => None,
        };
        let timeline = self.parcel_timeline(&Caller::system(), parcel.id).await?;
        let (followed, delay_reason) = match &timeline.tracking {
            Some(t) => (true, t.delay_reason.clone()),
            None => (false, None),
        };
        Ok(RecipientView { parcel, point, extension, pickup, timeline: timeline.entries, followed, delay_reason })
    }

    /// The recipient reports their parcel damaged from their page, with a photo: the damage claim is
    /// opened (once) with their words, the photo added to its evidence (checked as any other).
    pub async fn report_damage_by_recipient(
        &self,
        token: &str,
        description: Option<String>,
        content_type: &str,
        photo: Vec<u8>,
    ) -> Result<relais_domain::claims::Claim, AppError> {
        let parcel = self.parcel_of_link(token).await?;
        // The photo checked first: a file that is not one opens no claim.
        let evidence = crate::claims::checked_evidence(content_type, photo)?;
        let claims = self.store.claims_of(parcel.id).await?;
        let claim = match claims.into_iter().find(|c| c.kind == relais_domain::claims::ClaimKind::Damaged) {
            Some(claim) => claim,
            None => {
                let words = description
                    .map(|d| d.trim().to_owned())
                    .filter(|d| !d.is_empty())
                    .map(|d| format!("Recipient: {d}"));
                self.open_claim(&Caller::system(), parcel.id, relais_domain::claims::ClaimKind::Damaged, None, words)
                    .await?
            }
        };
        self.attach_evidence(&claim, evidence, "recipient").await?;
        Ok(claim)
    }

    /// The recipient asks for the extension from their page, within the network's rules.
    pub async fn extend_by_recipient(&self, token: &str) -> Result<Parcel, AppError> {
        let parcel_id = self.parcel_of_link(token).await?.id;
        // The link is the capability: whoever holds it acts as the recipient.
        let holder = Caller::system();
        self.transition_parcel(&holder, parcel_id, |parcel, rules, now| parcel.extend(rules, recipient(), now)).await
    }

    /// The recipient stops a channel (or both) from the link in their messages: later messages about
    /// any of their parcels skip it (ADR 15). Kept by the keyed digest of their phone number or e-mail
    /// address; the channels stopped. Their page and their parcel are unchanged.
    pub async fn opt_out_by_recipient(&self, token: &str, channels: &[Channel]) -> Result<Vec<Channel>, AppError> {
        let parcel = self.parcel_of_link(token).await?;
        let now = self.now();
        let mut writes = Vec::new();
        let mut stopped = Vec::new();
        for channel in channels {
            let contact = match channel {
                Channel::Sms => parcel.recipient.phone.as_ref().map(|p| p.as_str()),
                Channel::Email => parcel.recipient.email.as_ref().map(|e| e.as_str()),
                Channel::Webhook => None,
            };
            if let Some(contact) = contact {
                let contact_digest = self.secrets.contact_digest(contact);
                writes.push(Write::Messages(MessageWrite::OptOut { contact_digest, channel: *channel, at: now }));
                stopped.push(*channel);
            }
        }
        self.insert_all(writes).await?;
        tracing::info!(parcel = %parcel.id, channels = ?stopped, "a recipient stopped messages");
        Ok(stopped)
    }

    /// The survey's state for the page: the answer already given, if any.
    pub async fn survey_of_link(&self, token: &str) -> Result<(RecipientView, Option<SurveyAnswer>), AppError> {
        let view = self.recipient_view(token).await?;
        let answer = self.store.survey_answer(view.parcel.id).await?;
        Ok((view, answer))
    }

    /// The recipient's answer to the satisfaction survey (collected parcels, for
    /// [`relais_domain::survey::SURVEY_OPEN_DAYS`] days); a second answer replaces the first.
    pub async fn answer_survey(
        &self,
        token: &str,
        score: i64,
        comment: Option<&str>,
        publish: bool,
    ) -> Result<SurveyAnswer, AppError> {
        let parcel = self.parcel_of_link(token).await?;
        // A collected parcel changes no more: its last change is its collection.
        let collected_at = (parcel.state == ParcelState::Collected).then_some(parcel.updated_at);
        let answer = SurveyAnswer::new(&parcel, collected_at, score, comment, publish, self.now())?
            .map_err(AppError::SurveyRefused)?;
        self.insert(Write::Messages(MessageWrite::AnswerSurvey(answer.clone()))).await?;
        Ok(answer)
    }

    async fn parcel_of_link(&self, token: &str) -> Result<Parcel, AppError> {
        let not_found = || AppError::not_found("parcel", "this link");
        if token.len() > LINK_TOKEN_LENGTH_MAX {
            return Err(not_found());
        }
        let parcel_id = self.secrets.parcel_of_link_token(token).ok_or_else(not_found)?;
        self.store.parcel(parcel_id).await?.ok_or_else(not_found)
    }
}

/// Longer than any link relais issues (`RL2.` and 43 characters, or `RL1.` and 107): anything longer is
/// refused before any work.
const LINK_TOKEN_LENGTH_MAX: usize = 200;

fn recipient() -> Actor {
    Actor { kind: ActorKind::Recipient, reference: Some("recipient link".to_owned()) }
}

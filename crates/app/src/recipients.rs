//! The recipient's side: the page a recipient opens from the link in their messages (where the
//! parcel is, until when, how to collect it) and the one extension they may ask for there.
//!
//! The link's token is the capability: keyed by the instance and naming one parcel (ADR 9), it shows
//! that parcel's page to whoever holds it, as a shop's paper notice would. It shows nothing a notice
//! would not: no code, no phone, no e-mail.

use std::sync::Arc;

use relais_domain::Timestamp;
use relais_domain::parcel::{Actor, ActorKind, Parcel, TransitionError};
use relais_domain::point::PickupPoint;

use crate::App;
use crate::auth::Caller;
use crate::error::AppError;

/// What the recipient's page shows.
#[derive(Debug, Clone)]
pub struct RecipientView {
    pub parcel: Parcel,
    pub point: Arc<PickupPoint>,
    /// The deadline an extension would give now, or why there is none.
    pub extension: Result<Timestamp, TransitionError>,
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
        Ok(RecipientView { parcel, point, extension })
    }

    /// The recipient asks for the extension from their page, within the network's rules.
    pub async fn extend_by_recipient(&self, token: &str) -> Result<Parcel, AppError> {
        let parcel_id = self.parcel_of_link(token).await?.id;
        // The link is the capability: whoever holds it acts as the recipient.
        let holder = Caller::system();
        self.transition_parcel(&holder, parcel_id, |parcel, rules, now| parcel.extend(rules, recipient(), now)).await
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

//! The partner shop's counter: parcels scanned in against the shelf's capacity, and handed over with
//! the pickup code and an identity check that is recorded (what document, that the name matched).
//! The counter's terminal (or the shop page on a phone, `/counter`) uses a device key of its point.

use relais_domain::ids::PointId;
use relais_domain::parcel::Parcel;
use relais_domain::value::{ParcelNumber, ParseError};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::parcels::{Collected, DepositOutcome};

/// Identity documents a counter may check.
pub const ID_DOCUMENTS: [&str; 5] = ["id_card", "passport", "driving_licence", "residence_permit", "other"];

/// What the staff checked before handing a parcel over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCheck {
    /// One of [`ID_DOCUMENTS`].
    pub document: String,
    /// The name on the document is the recipient's (or their proxy's, with the proxy's document).
    pub name_matches: bool,
    /// The last four characters of the document's number, kept as evidence; optional.
    pub number_last4: Option<String>,
}

impl IdentityCheck {
    pub(crate) fn validated(&self) -> Result<IdentityCheck, ParseError> {
        let document = self.document.trim();
        if !ID_DOCUMENTS.contains(&document) {
            return Err(ParseError::new("identity.document", format!("must be one of {}", ID_DOCUMENTS.join(", "))));
        }
        let last4 = self.number_last4.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let Some(last4) = last4
            && (last4.chars().count() != 4 || !last4.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(ParseError::new(
                "identity.number_last4",
                "must be the last 4 letters or digits of the document",
            ));
        }
        Ok(IdentityCheck {
            document: document.to_owned(),
            name_matches: self.name_matches,
            number_last4: last4.map(str::to_uppercase),
        })
    }

    /// How the check is written on the collection event and in the audit log.
    pub(crate) fn note(&self) -> String {
        match &self.number_last4 {
            Some(last4) => format!("identity_checked:{}:****{last4}", self.document),
            None => format!("identity_checked:{}", self.document),
        }
    }
}

impl App {
    /// The shop scans in a parcel the courier hands over: it takes a shelf slot (or fails with
    /// `shelf_full`, and the parcel becomes `deposit_failed`).
    pub async fn counter_scan_in(
        &self,
        caller: &Caller,
        point_id: PointId,
        parcel_number: &str,
    ) -> Result<DepositOutcome, AppError> {
        caller.require(Permission::DropOffAt(point_id))?;
        let parcel = self.parcel_at(point_id, parcel_number).await?;
        let point = self.load_point(point_id).await?;
        if point.kind.has_compartments() {
            return Err(ParseError::new("point_id", "is a locker: couriers deposit through a drop-off session").into());
        }
        self.deposit_checked(caller, parcel.id).await
    }

    /// The shop hands a parcel over, found by the number on its label: the recipient tells the code,
    /// the staff checks an identity document (see [`App::pickup_parcel`]).
    pub async fn counter_hand_over(
        &self,
        caller: &Caller,
        point_id: PointId,
        parcel_number: &str,
        code: &str,
        identity: &IdentityCheck,
    ) -> Result<Collected, AppError> {
        caller.require(Permission::PickupAt(point_id))?;
        let parcel = self.parcel_at(point_id, parcel_number).await?;
        self.pickup_parcel(caller, parcel.id, code, Some(identity)).await
    }

    /// The parcel with this number announced to this point; `not_found` for another point's (a
    /// counter does not learn about other points' parcels).
    async fn parcel_at(&self, point_id: PointId, parcel_number: &str) -> Result<Parcel, AppError> {
        let number = ParcelNumber::parse(parcel_number)?;
        self.parcel_numbered_at(&number, point_id, |_| true).await
    }
}

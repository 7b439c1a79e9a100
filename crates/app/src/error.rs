//! The errors a use case returns. Each maps to one stable API error code (see `code`), listed with its
//! HTTP status in docs/api/errors.md. Storage failures are kept apart from rule violations.

use relais_domain::Timestamp;
use relais_domain::compartment::NoFit;
use relais_domain::parcel::TransitionError;
use relais_domain::value::ParseError;

use crate::auth::Role;
use crate::ports::{CommitError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Validation(#[from] ParseError),
    #[error("{entity} {id} was not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{0}")]
    InvalidTransition(#[from] TransitionError),
    /// A claim cannot move so (filed twice, accepted before it was filed).
    #[error("a claim that is {from} cannot be {to}")]
    InvalidClaimTransition { from: &'static str, to: &'static str },
    #[error("no compartment can take this parcel: {}", .0.message())]
    NoFittingCompartment(NoFit),
    #[error("too many wrong {}; try again after {}", .what.as_str(), .until.to_rfc3339())]
    RateLimited {
        what: Throttled,
        until: Timestamp,
        /// Seconds from now to `until`, at least 1 (the API's `Retry-After`).
        retry_after_seconds: u64,
    },
    #[error("the pickup code or QR token is not valid for a parcel waiting here")]
    InvalidPickupCode,
    #[error("the name on the identity document is not the recipient's: the parcel stays here")]
    IdentityMismatch,
    #[error("this courier code does not open this locker today")]
    InvalidCourierCode,
    #[error("this drop-off session was closed at {}", .closed_at.to_rfc3339())]
    SessionClosed { closed_at: Timestamp },
    #[error("door {label} was not opened by relais: nothing to close")]
    DoorNotOpen { label: String },
    #[error("this parcel has no door assigned in this session ({state})")]
    NotAssigned { state: &'static str },
    #[error("a valid API key is required")]
    Unauthorized,
    #[error("an API key with role {} may not do this", .role.as_str())]
    Forbidden { role: Role },
    #[error("{what} already exists")]
    AlreadyExists { what: &'static str },
    /// A provider's callback whose signature does not match.
    #[error("the request's signature does not match")]
    InvalidSignature,
    /// A console form without its session's CSRF token.
    #[error("the form is not from this session's page; reload the page and try again")]
    CsrfRejected,
    /// A message that cannot be sent again now.
    #[error("this message cannot be resent: {reason}")]
    NotResendable { reason: &'static str },
    /// An operator's template that does not render with the sample data: not saved.
    #[error("the {part} template does not render: {message}")]
    TemplateInvalid { part: &'static str, line: Option<usize>, message: String },
    /// A survey answer about a parcel not collected, or collected too long ago.
    #[error("{}", match .0 {
        relais_domain::survey::SurveyRefusal::NotCollected => "this parcel has not been collected: there is nothing to rate yet",
        relais_domain::survey::SurveyRefusal::Closed => "this survey is closed",
    })]
    SurveyRefused(relais_domain::survey::SurveyRefusal),
    /// An `Idempotency-Key` sent again with another request.
    #[error("this Idempotency-Key was used for another request: use a new key for a new order")]
    IdempotencyKeyReused,
    /// A numbering series that would issue a serial it issued less than a year ago.
    #[error("the {series} series has issued all its numbers in the last year: extend its range or add a series")]
    NumbersExhausted { series: String },
    /// No numbering series of that kind is set for the owner.
    #[error("{owner} has no {kind} numbering series: set one, or give the parcel number")]
    NoNumberSeries { owner: String, kind: &'static str },
    /// A label or document asked for something with nothing to print (an order on hold has no parcel).
    #[error("nothing to print: {reason}")]
    NothingToPrint { reason: String },
    /// A postcode or city the gazetteer does not know (or a country it does not cover).
    #[error("{0}")]
    PlaceNotFound(relais_registry::gazetteer::GeocodeError),
    /// Too many concurrent changes to the same rows; the request may be retried as is.
    #[error("the resource is busy with concurrent changes; retry")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was tried too often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    PickupCodes,
    CourierCodes,
    Passwords,
}

impl Throttled {
    /// Its name in the API (`details.what` of a `rate_limited`).
    pub const fn code(self) -> &'static str {
        match self {
            Throttled::PickupCodes => "pickup_codes",
            Throttled::CourierCodes => "courier_codes",
            Throttled::Passwords => "passwords",
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Throttled::PickupCodes => "pickup codes",
            Throttled::CourierCodes => "courier codes",
            Throttled::Passwords => "passwords",
        }
    }
}

impl AppError {
    /// The stable error code of the API.
    pub const fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::NotFound { .. } => "not_found",
            AppError::InvalidTransition(_) | AppError::InvalidClaimTransition { .. } => "invalid_transition",
            AppError::NoFittingCompartment(_) => "no_fitting_compartment",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::InvalidPickupCode => "invalid_pickup_code",
            AppError::InvalidCourierCode => "invalid_courier_code",
            AppError::IdentityMismatch => "identity_mismatch",
            AppError::SessionClosed { .. } => "session_closed",
            AppError::DoorNotOpen { .. } => "door_not_open",
            AppError::NotAssigned { .. } => "not_assigned",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden { .. } => "forbidden",
            AppError::AlreadyExists { .. } => "already_exists",
            AppError::NotResendable { .. } => "not_resendable",
            AppError::InvalidSignature => "invalid_signature",
            AppError::CsrfRejected => "csrf_rejected",
            AppError::TemplateInvalid { .. } => "template_invalid",
            AppError::NumbersExhausted { .. } => "numbers_exhausted",
            AppError::IdempotencyKeyReused => "idempotency_key_reused",
            AppError::NoNumberSeries { .. } => "no_number_series",
            AppError::SurveyRefused(relais_domain::survey::SurveyRefusal::NotCollected) => "not_collected",
            AppError::SurveyRefused(relais_domain::survey::SurveyRefusal::Closed) => "survey_closed",
            AppError::NothingToPrint { .. } => "nothing_to_print",
            AppError::PlaceNotFound(_) => "place_not_found",
            AppError::Busy => "busy",
            AppError::Store(_) => "unavailable",
        }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        AppError::NotFound { entity, id: id.to_string() }
    }
}

impl From<relais_domain::dropoff::SessionClosed> for AppError {
    fn from(closed: relais_domain::dropoff::SessionClosed) -> Self {
        AppError::SessionClosed { closed_at: closed.closed_at }
    }
}

impl From<CommitError> for AppError {
    fn from(error: CommitError) -> Self {
        match error {
            // Reaching here means the retry loop gave up.
            CommitError::Conflict => AppError::Busy,
            CommitError::Duplicate { what } => AppError::AlreadyExists { what },
            CommitError::Store(e) => AppError::Store(e),
        }
    }
}

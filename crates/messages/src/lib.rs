//! What relais says to recipients, merchants and operators, rendered for each channel. Pure: no I/O,
//! no clock; the delivery worker (in the binary) and the channels' clients (`relais-edge`) do the
//! sending (ADR 13).
//!
//! - `sms`: how a text travels as SMS, in the GSM 7-bit alphabet when it can (160 characters) and in
//!   UCS-2 when it must (70), split into concatenated parts that phones join again.
//! - `qr`: a QR token drawn as an image for the recipient's page.
//! - `templates`: what each event says, per part and language, editable by operators and checked.
//! - `webhooks`: requests signed in the Standard Webhooks convention, with secret rotation.
//! - `twilio`: the signature Twilio puts on its status callbacks, checked.

pub mod labels;
pub mod pdf;
pub mod qr;
pub mod shops;
pub mod sms;
pub mod templates;
pub mod twilio;
pub mod webhooks;

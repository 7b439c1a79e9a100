//! The edge: relais' calls to the outside world. Everything that leaves the process over the network
//! goes through here, so timeouts, size limits, the proxy and the trusted certificates are set once.
//!
//! Today: [`http`], the one HTTP client (point files fetched from operators' servers), and [`mail`],
//! e-mail over SMTP. The coming capabilities put their I/O beside them (docs/adr/0013): the other
//! delivery channels (SMS providers, signed webhooks), carrier tracking fetchers and push
//! receivers, shop platforms' APIs. What they parse and render stays in pure crates; this crate only
//! moves bytes.

pub mod brevo;
pub mod http;
pub mod mail;
pub mod sms;
#[cfg(feature = "testing")]
pub mod testing;

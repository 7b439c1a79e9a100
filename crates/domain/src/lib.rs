//! The pure domain of relais: identifiers, value types, networks and their rules, pickup points,
//! compartments, courier drop-off sessions and door commands, and the parcel state machine.
//!
//! Nothing here does I/O, reads the clock, draws random numbers or knows about JSON or SQL: time and
//! randomness come in as arguments, so every rule is a plain function that a table test can check.
//! Wire formats live in `relais-http`, persistence in `relais-store`.

pub mod alert;
pub mod attempts;
pub mod claims;
pub mod compartment;
pub mod console;
pub mod delivery;
pub mod dropoff;
pub mod ids;
pub mod kpi;
pub mod network;
pub mod numbering;
pub mod occupancy;
pub mod order;
pub mod parcel;
pub mod point;
pub mod promise;
pub mod survey;
pub mod value;

/// An instant, always in UTC. Local wall-clock time only appears at the edges (opening hours, display).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

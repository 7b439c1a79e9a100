//! The pickup-point registry: every network's points, kept current from the operators' files, and
//! searched in microseconds.
//!
//! - [`record`]: a point as given (API, file row) and its validation: one set of rules for every entry.
//! - [`formats`]: the operators' files (relais CSV/JSON Lines, La Poste, ...) read into records, bad rows
//!   reported by line.
//! - [`diff`]: what an import changes (added, changed, moved, closed, reopened, removed).
//! - [`index`]: the in-memory spatial index and its filters (open on arrival, size, free capacity).
//! - [`gazetteer`]: offline geocoding of postcodes and cities.
//!
//! Pure: no I/O, no clock. The use cases in `relais-app` load, decide with these, and commit.

pub mod diff;
pub mod formats;
pub mod gazetteer;
pub mod index;
pub mod record;
pub mod today;

pub use record::{Compartments, NewCompartment, NewPoint, PointValidator};

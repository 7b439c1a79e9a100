//! The pieces of the `relais` binary that tests and benchmarks reuse: configuration, the demo network,
//! and a small HTTP/1.1 client (for the load generator and the multi-process tests, so the project needs
//! no HTTP client dependency).

pub mod bench;
pub mod bench_network;
pub mod bench_points;
pub mod client;
pub mod config;
pub mod demo;
pub mod hours;
pub mod locker_sim;
pub mod points;
pub mod receipt;

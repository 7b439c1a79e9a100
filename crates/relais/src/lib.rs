//! The pieces of the `relais` binary that tests and benchmarks reuse: configuration, the demo network,
//! and a client of the relais API (the load generator, the simulator, the multi-process tests) built on
//! the outgoing HTTP client of `relais-edge`.

pub mod bench;
pub mod bench_console;
pub mod bench_labels;
pub mod bench_network;
pub mod bench_notify;
pub mod bench_points;
pub mod client;
pub mod config;
pub mod demo;
pub mod hours;
pub mod locker_sim;
pub mod orders;
pub mod outbound;
pub mod outlets;
pub mod points;
pub mod receipt;
pub mod shops;

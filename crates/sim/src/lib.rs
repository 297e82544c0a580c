//! rumor-sim: a deterministic discrete-event simulator for rumor's sans-I/O
//! membership core.
//!
//! It runs hundreds or thousands of [`rumor_membership::Membership`] cores on
//! one virtual clock, connects them through a modelled network (latency with
//! jitter, in-transit loss, one-way and two-way partitions), injects faults
//! (crashes, restarts under a new version, voluntary leaves, changes of loss)
//! on a timetable, and checks every event the cores emit against the ground
//! truth: how long each crash took to be detected by the first node and by
//! every live node, which live nodes were wrongly declared failed, how many
//! messages and bytes each node sent per second.
//!
//! The same scenario and seed always give the same report, byte for byte
//! (wall-clock time aside): all randomness is derived from the run seed, and
//! steps due at the same virtual instant run in the order they were scheduled.
//!
//! What it is not: a packet-level network simulator (no congestion, no
//! bandwidth limits, no reordering beyond what jitter gives), nor a driver for
//! real processes — the daemon is the driver of real sockets.
//!
//! ```
//! use std::time::Duration;
//! use rumor_sim::{RunOptions, Scenario, registry, run};
//!
//! let scenario = Scenario {
//!     nodes: 5,
//!     detector: Some("gossip".into()),
//!     fail: 1,
//!     warmup: Duration::from_secs(5),
//!     duration: Duration::from_secs(15),
//!     ..Scenario::default()
//! };
//! let outcome = run(&scenario, 7, &registry(), RunOptions::default()).unwrap();
//! let crash = &outcome.report.crashes[0];
//! assert!(crash.all_member_s.unwrap() < 6.0, "{crash:?}");
//! assert_eq!(outcome.report.false_positives, 0);
//! ```
//!
//! The command line is `rumor-sim` ([`Cli`]); see the crate's README for the
//! measured figures and the commands that produced them.

#![forbid(unsafe_code)]

mod cli;
mod error;
mod event_log;
mod event_queue;
mod ledger;
mod network;
mod output;
mod report;
mod rng;
mod scenario;
mod simulation;
mod traffic;

pub use cli::Cli;
pub use error::SimError;
pub use event_log::to_jsonl as events_to_jsonl;
pub use event_queue::EventQueue;
pub use network::{Cut, JitterShape, Network, NetworkConfig, SlotSet};
pub use output::Report;
pub use report::{CrashOutcome, Drops, LeaveOutcome, RunReport, Spread, Summary};
pub use rng::{DetRng, derive_seed};
pub use scenario::{Action, ActionKind, ActionSpec, Bootstrap, Scenario};
pub use simulation::{PORT, RunOptions, RunOutcome, run, slot_addr};

/// Every detector the simulator knows: the core's built-ins (`gossip`,
/// `swim`, `phi`) and the out-of-tree example plugin (`all-to-all`).
pub fn registry() -> rumor_membership::DetectorRegistry {
    let mut registry = rumor_membership::DetectorRegistry::with_builtins();
    rumor_example_all_to_all::register(&mut registry);
    registry
}

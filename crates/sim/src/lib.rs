//! rumor-sim: a deterministic discrete-event simulator for rumor's sans-I/O
//! membership core.
//!
//! It runs hundreds or thousands of [`rumor_membership::Membership`] cores on
//! one virtual clock, connects them through a modelled network (latency with
//! jitter, in-transit loss, one-way and two-way partitions, flapping links),
//! injects faults (crashes, restarts under a new version, voluntary leaves,
//! changes of loss) on a timetable, and checks every event the cores emit
//! against the ground truth: how long each crash took to be detected by the
//! first node and by every live node, which live nodes were wrongly declared
//! failed (across a partition, or genuinely), how long the cluster took to
//! become one full membership again after each heal and how many rejoins
//! that took ([`HealOutcome`]), how many messages and bytes each node sent
//! per second.
//!
//! The cores own joins, rejoins and healing; the simulator only carries
//! their datagrams and join requests, and notes when a core takes a new
//! version.
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
//! let mut scenario = Scenario::default();
//! scenario.nodes = 5;
//! scenario.detector = Some("gossip".into());
//! scenario.fail = 1;
//! scenario.warmup = Duration::from_secs(5);
//! scenario.duration = Duration::from_secs(15);
//! let outcome = run(&scenario, 7, &registry(), RunOptions::default()).unwrap();
//! let crash = &outcome.report.crashes[0];
//! assert!(crash.all_member_s.unwrap() < 6.0, "{crash:?}");
//! assert_eq!(outcome.report.false_positives, 0);
//! ```
//!
//! The same world is a library: [`Cluster`] is an in-memory cluster a
//! caller drives step by step — run until a time or until a condition
//! holds, start a node held back, crash, restart, cut, heal, pause, hand a
//! node a message or call its core, look at views, events, notices and
//! counters; its builder sets nodes up as a program would (metadata, an
//! admission check). It is the harness of the membership core's
//! own tests and of detectors written outside this workspace, which come in
//! through the caller's [`rumor_membership::DetectorRegistry`].
//!
//! The command line is `rumor-sim` ([`Cli`], [`cli_main`]); see the crate's
//! README for the measured figures and the commands that produced them.

#![forbid(unsafe_code)]

mod action;
mod cli;
pub mod contract;
mod error;
mod event_log;
mod event_queue;
mod foca_node;
mod heal_report;
mod ledger;
mod network;
mod notices;
mod output;
mod pause;
mod report;
mod rng;
mod scenario;
mod simulation;
pub mod sweep;
mod sweep_cli;
mod traffic;

pub use action::{Action, ActionKind, ActionSpec};
pub use cli::{Cli, cli_main};
pub use error::SimError;
pub use event_log::to_jsonl as events_to_jsonl;
pub use event_queue::EventQueue;
pub use foca_node::{FocaPreset, FocaSettings};
pub use heal_report::HealOutcome;
pub use network::{Cut, Cuts, JitterShape, Network, NetworkConfig, SlotSet};
pub use notices::NoticeCounts;
pub use output::Report;
pub use pause::{PauseCount, PauseSpec};
pub use report::{CrashOutcome, Drops, LeaveOutcome, RunReport, Spread, Summary};
pub use rng::{DetRng, derive_seed};
pub use scenario::{Bootstrap, Scenario};
pub use simulation::{
    Cluster, ClusterBuilder, ClusterStats, PORT, RunOptions, RunOutcome, run, slot_addr,
};
pub use sweep_cli::SweepArgs;

/// The detectors the `rumor-sim` binary knows: the core's built-ins
/// (`gossip`, `swim`, `phi`). `foca` is the simulator's own and needs no
/// registration. A caller with a detector of its own registers it into
/// this registry (or any other) and passes that to [`run`], [`Cluster`] or
/// [`cli_main`]; `examples/all-to-all` does so for its binary.
pub fn registry() -> rumor_membership::DetectorRegistry {
    rumor_membership::DetectorRegistry::with_builtins()
}

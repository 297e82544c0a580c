//! The rumor agent and its tools: the `rumor` binary's library.
//!
//! `rumor agent` turns the sans-I/O membership core ([`rumor_membership`])
//! into a process on real sockets: the main thread reads the UDP socket
//! itself, the TCP service ([`rumor_transport::TcpService`]) feeds its
//! inbound channel ([`inbox`]), and the main thread, woken by either or by
//! its next deadline, drives the core and its timers, sends datagrams
//! fire-and-forget, and writes every membership event to `events.jsonl`
//! ([`event_log`], the schema of docs/events.md) and `agent.log`, and
//! serves Prometheus metrics ([`metrics`]). `rumor members`, `leave`,
//! `monitor`, `info`, `join`, `force-leave`, `why` and `broadcast` talk to
//! a running agent ([`control`], [`commands`]); `rumor demo`
//! shows a crash being detected ([`demo`]); the benchmarks measure detection
//! times and resource use ([`bench`](mod@bench)); [`cluster`] runs agent processes for
//! all of them and for the multi-process tests.
//!
//! What this crate is not: the protocol. Who is suspected when, and how news
//! spreads, is decided by the core; this crate only moves bytes, keeps time
//! and writes logs.
//!
//! Reading an agent's event log:
//!
//! ```
//! use rumor_daemon::event_log::{EventLog, EventRecord, EventTail};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("events.jsonl");
//! let mut log = EventLog::open(&path).unwrap();
//! log.append(&EventRecord {
//!     ts_ms: 1763900000123,
//!     observer: "127.0.0.2:4000#1".parse().unwrap(),
//!     event: "failed".into(),
//!     member: "127.0.0.3:4000#2".parse().unwrap(),
//!     incarnation: 0,
//!     detector: "gossip".into(),
//! }).unwrap();
//! let records = EventTail::new(&path).poll();
//! assert_eq!(records[0].event, "failed");
//! ```

#![forbid(unsafe_code)]

pub mod agent;
pub mod agent_log;
pub mod bench;
pub mod bench_traffic;
pub mod cli;
pub mod cli_client;
pub mod cluster;
pub mod commands;
pub mod completions;
pub mod control;
pub mod demo;
pub mod dgrep_server;
mod driver;
mod error;
pub mod event_log;
pub mod flood;
pub mod inbox;
pub mod keys;
pub mod keys_cli;
pub mod log_file;
pub mod metrics;
pub mod metrics_server;
pub mod monitor;
pub mod outbox;
pub mod proc_stats;
pub mod reload;
pub mod requester;
pub mod resolve;
pub mod scale;
pub mod settings;
pub mod signals;
pub mod snapshot;
pub mod sockets;
pub mod views;

pub use driver::DriverStats;
pub use error::DaemonError;

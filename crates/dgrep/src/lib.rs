//! rumor-dgrep: a membership-aware distributed grep.
//!
//! One command searches the logs of every live member of a rumor cluster, the
//! way grep searches one machine. The crate has three parts:
//!
//! - the **engine** ([`Engine`]): ripgrep's searcher and regex matcher
//!   ([`LineMatcher`]) with grep's flags (`-i -v -c -n -F -E -w -x -m -A -B
//!   -C`, several `-e`), reporting selected and context lines to a
//!   [`LineSink`];
//! - the **server side** ([`answer`]): what an agent runs when a
//!   [`DgrepRequest`](rumor_wire::DgrepRequest) arrives. It searches only the
//!   files its [`ServeConfig`] names (a request carries patterns and flags,
//!   never a path or a command; a matched path that resolves outside what
//!   its glob allows is refused) and streams the lines back in bounded
//!   chunks on the connection the request came on
//!   ([`rumor_transport::Reply`]), sealed when the cluster is keyed: an
//!   answer can reach nobody but whoever asked. An agent with the
//!   `dgrep-worker` binary beside its own hands each search to a
//!   [`SearchWorkers`] process that memory-maps the files, so that a file
//!   truncated under a map (SIGBUS) kills the worker, not the agent;
//! - the **client** ([`client`], [`members`], [`output`], [`time_order`],
//!   [`report`], [`client_sealer`], and the `dgrep` binary): checks the
//!   patterns, asks an agent for the live members, asks each one (or those
//!   `--members` names) on a connection of its own (with the cluster's
//!   keyring when it has one), and prints the answers as grep would (`-o`,
//!   `--color`, context separators and `-l`/`-L` are the client's work, with
//!   the same [`LineMatcher`]), as they arrive or merged by time, then a
//!   per-node summary.
//!
//! It is not a log shipper or an index: every query reads the files afresh,
//! and nothing is kept between queries. Back-references are not supported:
//! the engine is linear-time by design.
//!
//! The engine on its own, reporting to an in-memory [`Collector`]:
//!
//! ```
//! use rumor_dgrep::{Collector, Engine};
//! use rumor_wire::GrepFlags;
//!
//! let mut flags = GrepFlags::default();
//! flags.ignore_case = true;
//! flags.line_number = true;
//! let mut engine = Engine::new(&["failed".to_string()], &flags).unwrap();
//! let mut found = Collector::default();
//! let log = b"joined a\nFAILED b\nalive c\n";
//! let outcome = engine.search_slice(log, "agent.log", &mut found).unwrap();
//! assert_eq!(outcome.selected, 1);
//! assert_eq!(found.lines[0].line_number, Some(2));
//! assert_eq!(found.lines[0].text, b"FAILED b");
//! ```

// `deny`, not `forbid`: mapped.rs allows the one `unsafe` (a memory map), made
// only in the search worker process.
#![deny(unsafe_code)]

mod chunk_frame;
pub mod client;
pub mod colour;
mod engine;
mod error;
mod keyring;
mod mapped;
mod matcher;
mod member_answer;
pub mod members;
pub mod output;
pub mod posix;
pub mod report;
mod search_workers;
mod serve;
mod serve_config;
mod sink;
pub mod time_order;
pub mod worker;

pub use chunk_frame::{Chunk, LineRef};
pub use engine::{Engine, FileOutcome, MAX_LINE_BYTES};
pub use error::DgrepError;
pub use keyring::client_sealer;
pub use matcher::{LineMatcher, NEVER};
pub use search_workers::SearchWorkers;
pub use serve::answer;
pub use serve_config::{OWN_LOGS, ServeConfig, Served};
pub use sink::{CollectedLine, Collector, LineSink};

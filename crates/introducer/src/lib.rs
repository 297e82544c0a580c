//! How a node gets into a rumor cluster: the TCP service every agent runs on
//! its `--bind` port, and the join client a newcomer uses.
//!
//! **Joins are fire-and-forget.** The newcomer sends
//! [`Message::JoinRequest`](rumor_wire::Message::JoinRequest) over one TCP
//! connection and closes it; the introducer answers with a new connection to
//! the newcomer's own listening address. Any live member can introduce, so
//! the [`JoinClient`] asks each address of its list in turn, round after round
//! with [`Backoff`], logging one line per attempt, until the agent raises the
//! [`JoinSignal`] or the budget runs out.
//!
//! **The service is hardened.** [`TcpService`] reads exactly one frame per
//! connection against one deadline (slow and silent clients), refuses frames
//! above a maximum before allocating, refuses message kinds it does not take
//! over TCP, and serves with a fixed pool of handler threads: a flood of
//! connections is closed at the door. Each refusal is counted and logged
//! (through `tracing`), and the service goes on.
//!
//! What this crate is not: it knows nothing of the member list. The agent's
//! handler passes join requests to the membership core and sends its answer;
//! the core decides who is admitted.
//!
//! ```
//! use std::net::TcpListener;
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use rumor_introducer::{JoinClient, JoinOutcome, JoinSignal, ServiceConfig, TcpService};
//! use rumor_wire::{Envelope, Message, NodeId};
//!
//! // An "introducer" whose handler admits every joiner by answering on a new
//! // connection to the joiner's listener.
//! let introducer_listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let introducer_addr = introducer_listener.local_addr().unwrap();
//! let introducer = NodeId::new(introducer_addr, rumor_wire::Version(1));
//! let _service = TcpService::spawn(introducer_listener, ServiceConfig::default(), Arc::new(move |d: rumor_introducer::Delivery<'_>| {
//!     if let Message::JoinRequest { .. } = d.envelope.body {
//!         let answer = Message::JoinResponse { introducer, members: vec![] };
//!         rumor_wire::tcp::send(d.envelope.from, &Envelope::new(introducer_addr, answer), Duration::from_secs(1))
//!             .map_err(|e| e.to_string())?;
//!     }
//!     Ok(())
//! })).unwrap();
//!
//! // The joiner's listener raises the signal when the answer arrives.
//! let joiner_listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let me = NodeId::new(joiner_listener.local_addr().unwrap(), rumor_wire::Version(2));
//! let signal = Arc::new(JoinSignal::new());
//! let raise = Arc::clone(&signal);
//! let _joiner = TcpService::spawn(joiner_listener, ServiceConfig::default(), Arc::new(move |d: rumor_introducer::Delivery<'_>| {
//!     if let Message::JoinResponse { introducer, .. } = d.envelope.body {
//!         raise.raise(JoinOutcome::Admitted { introducer });
//!     }
//!     Ok(())
//! })).unwrap();
//!
//! let admitted_by = JoinClient::new(vec![introducer_addr]).join(me, &signal).unwrap();
//! assert_eq!(admitted_by, introducer);
//! ```

#![forbid(unsafe_code)]

mod backoff;
mod deadline;
mod error;
mod frame_auth;
mod join_client;
mod join_signal;
mod service;

pub use backoff::Backoff;
pub use deadline::DeadlineReader;
pub use error::IntroducerError;
pub use frame_auth::{FrameAuth, send_frame};
pub use join_client::JoinClient;
pub use join_signal::{JoinOutcome, JoinSignal};
pub use service::{Delivery, Handler, ServiceConfig, ServiceStats, TcpService};

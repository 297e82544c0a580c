//! rumor-transport: the TCP side of a rumor agent. Every request (a join,
//! a member query, a leave command, a dgrep query) is one frame on a new
//! connection, and its answers come back on that same connection: an
//! answer can only reach whoever asked, and a request works through NAT,
//! an SSH tunnel or a TCP forwarder.
//!
//! With a cluster keyring ([`rumor_seal::Sealer`]) every frame, both ways,
//! is sealed with authenticated encryption and nothing unsealed is
//! accepted; a cluster without one speaks in the clear. Frames are a
//! 4-byte big-endian length prefix and one encoded
//! [`Envelope`](rumor_wire::Envelope) (sealed or not), checked against a
//! maximum before anything is allocated.
//!
//! The [`TcpService`] reads every connection from one thread without
//! blocking, so silent and trickling clients cost a file descriptor and
//! the bytes they sent, never a handler thread; per-source limits
//! ([`SourceLimits`]) cap the connections one address holds open and the
//! requests it makes a second.
//!
//! What this crate is not: it knows nothing of membership. The agent
//! decides what each request means and what to answer.
//!
//! ```
//! use std::net::TcpListener;
//! use std::sync::Arc;
//! use std::time::Duration;
//! use rumor_transport::{Delivery, ServiceConfig, TcpService, request};
//! use rumor_wire::{Control, Envelope, Message, NodeId};
//!
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! let me = NodeId::new(addr, rumor_wire::Version(1));
//! // A service that answers every member query with an empty list, on the
//! // connection the query came on.
//! let _service = TcpService::spawn(listener, ServiceConfig::default(), Arc::new(move |mut d: Delivery| {
//!     let answer = Envelope::new(addr, Control::MemberList { node: me, members: vec![] });
//!     d.reply.send(&answer, Duration::from_secs(1)).map_err(|e| e.to_string())
//! })).unwrap();
//!
//! let asked = Envelope::new("127.0.0.1:9".parse().unwrap(), Control::MemberQuery);
//! let answer = request(addr, &asked, None, Duration::from_secs(2)).unwrap();
//! assert!(matches!(answer.body, Message::Control(Control::MemberList { node, .. }) if node == me));
//! ```

#![forbid(unsafe_code)]

mod client;
mod error;
pub mod frame;
mod limits;
mod reply;
mod service;
mod throttle;

pub use client::{Exchange, request};
pub use error::TransportError;
pub use limits::SourceLimits;
pub use reply::Reply;
pub use service::{Delivery, Handler, ServiceConfig, ServiceStats, TcpService};

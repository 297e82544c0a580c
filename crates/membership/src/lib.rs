//! rumor-membership: the sans-I/O membership core of rumor, with pluggable
//! failure detectors.
//!
//! A [`Membership`] is one node's view of the cluster as a pure state
//! machine, in the manner of quinn-proto or foca. The driver (the `rumor`
//! daemon, the `rumor-sim` simulator, or your own program) feeds it every
//! message received with [`Membership::handle`] and calls
//! [`Membership::tick`] when [`Membership::poll_timeout`] says so; after each
//! call it drains [`Membership::poll_transmit`] (the encoded messages to
//! send, each with how it must travel) and
//! [`Membership::poll_event`] (`joined`, `suspected`, `alive`, `failed`,
//! `left`, `removed`) and [`Membership::poll_notice`] (joins, refusals,
//! rejoins). Time and a seed come from the driver, so the same code
//! runs on a monotonic clock in the daemon and on a virtual clock for ten
//! thousand nodes in the simulator, and a run replays from its seed.
//!
//! The core owns the member list (keyed by [`NodeId`], with incarnation
//! numbers and the alive → suspected → failed → removed and alive → left →
//! removed states), dissemination, anti-entropy (a push-pull of bucket
//! digests, [`Gossip::Digest`]), joins, leaves and events. It also carries
//! what the embedding program adds: each member's [`Metadata`] (a small
//! map of text, [`Membership::set_metadata`], readable in
//! [`Membership::members`]), user broadcasts delivered once to every
//! member ([`Membership::broadcast`], [`Membership::poll_broadcast`]), and
//! a check of joiners ([`Admission`]). A
//! [`FailureDetector`] plugin, picked by name from a [`DetectorRegistry`],
//! watches members and reports opinions; it carries its own messages as the
//! opaque payload of [`Gossip::Detector`]. Built in: `gossip` (default),
//! `swim` and `phi`. `docs/protocol.md` explains each one and the timing
//! arithmetic behind the [`Config`] defaults.
//!
//! What this crate is not: it opens no socket, starts no thread, reads no
//! clock and draws no OS randomness. Encoding, sending, receiving and fault
//! injection belong to the driver ([`ReceiverDrop`] is the drop layer both
//! drivers put in front of the core).
//!
//! ```
//! use std::time::Duration;
//! use rumor_membership::{Channel, Config, DetectorRegistry, DetectorSettings, EventKind, Gossip, Membership, Message};
//!
//! let config = Config::default();
//! let registry = DetectorRegistry::with_builtins();
//! let gossip = || registry.create("gossip", &DetectorSettings::new(&config)).unwrap();
//! let a_id = "127.0.0.1:4001#1".parse().unwrap();
//! let b_id = "127.0.0.1:4002#1".parse().unwrap();
//! let now = Duration::ZERO;
//! let mut a = Membership::new(a_id, config.clone(), gossip(), 1, now).unwrap();
//! let mut b = Membership::new(b_id, config.clone(), gossip(), 2, now).unwrap();
//!
//! // b asks a to join: the core says what to send and how (a request over
//! // a stream, TCP in the agent), as the bytes to send; a answers on the
//! // same stream.
//! b.join(now, vec![a_id.addr]);
//! let mut buf = Vec::new();
//! let request = b.poll_transmit(&mut buf).unwrap();
//! assert_eq!((request.to, request.channel), (a_id.addr, Channel::Request));
//! let envelope = rumor_wire::decode(&buf).unwrap();
//! let Message::Gossip(request) = envelope.body else { unreachable!() };
//! let answer = a.handle_request(now, request).expect("a join request is answered");
//! b.handle(now, a_id.addr, answer);
//!
//! let joined: Vec<_> = std::iter::from_fn(|| b.poll_event())
//!     .filter(|e| e.kind == EventKind::Joined)
//!     .map(|e| e.member)
//!     .collect();
//! assert_eq!(joined, vec![b_id, a_id]);
//! assert_eq!(a.members().len(), 2);
//! assert!(!b.is_joining());
//! ```

#![forbid(unsafe_code)]

mod admission;
mod anti_entropy;
mod broadcasts;
mod builder;
mod config;
mod core;
pub mod detector;
mod dissemination;
mod error;
mod event;
mod force_leave;
mod healing;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
mod joining;
mod joins;
mod journal;
mod lifecycle;
mod member_list;
mod membership;
mod metadata;
mod node;
mod notice;
mod outbox;
mod own_entry;
pub mod payload;
mod piggyback;
mod plausibility;
mod provenance;
mod receiver_drop;
mod reconnect;
mod removals;
mod room;
mod rules;
mod stats;
mod suspicion;
mod suspicions;
mod timers;
mod transmit;
mod view;

pub use admission::Admission;
pub use broadcasts::{BROADCAST_QUEUE, BroadcastError};
pub use builder::Builder;
pub use config::Config;
pub use detector::{
    DetectorContext, DetectorFactory, DetectorRegistry, DetectorSettings, FailureDetector,
    MemberChange,
};
pub use error::MembershipError;
pub use event::{Event, EventKind, EventRecord, record_kind};
pub use force_leave::ForceLeaveError;
pub use membership::Membership;
pub use metadata::SetMetadataError;
pub use notice::{Notice, RejoinCause};
pub use provenance::{Accuser, Clue, DetectorNote, RING as PROVENANCE_RING, Trace, Verdict};
pub use receiver_drop::ReceiverDrop;
pub use rumor_wire::{
    BROADCAST_LIMIT, Extras, Gossip, Incarnation, JoinRetry, METADATA_LIMIT, MemberInfo,
    MemberMetadata, MemberState, MemberUpdate, Message, Metadata, MetadataError, NodeId,
    UserBroadcast, Version,
};
pub use stats::Stats;
pub use transmit::{Channel, Outbound, Transmit};

/// Time since the driver's epoch: monotonic; virtual in the simulator.
pub type Time = std::time::Duration;

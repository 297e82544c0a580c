//! The failure-detector plugin point.
//!
//! A detector watches members and reports its opinion of them (suspect,
//! alive, failed) to the core through a [`DetectorContext`]; the core owns the
//! member list, dissemination, joins, leaves and events. A detector's own
//! protocol messages travel as opaque bytes inside
//! [`rumor_wire::Gossip::Detector`], so a plugin defines its messages
//! without changing the wire crate; the core adds membership news to every
//! such message and applies what arrives on them, so a detector never
//! handles membership changes itself.

mod awareness;
mod context;
pub mod gossip;
pub mod heartbeat;
mod heartbeat_table;
mod heartbeat_tags;
pub mod phi;
mod registry;
mod round_trips;
pub mod swim;

pub use context::DetectorContext;
pub use registry::{DetectorFactory, DetectorRegistry, DetectorSettings};

use std::time::Duration;

use rumor_wire::NodeId;

use crate::{MembershipError, Time};

/// A change in the member list the detector is told about, after the core
/// applied it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberChange {
    /// A new member (never this node itself): start watching it.
    Joined,
    /// The member is suspected (by this node's detector or by another
    /// member's): a detector may look harder. With `member` equal to this
    /// node: others suspected this node and it refuted (a hint that the
    /// trouble may be local, as Lifeguard uses it).
    Suspected,
    /// A suspicion of the member was refuted.
    Refuted,
    /// The member failed, left, was superseded or was removed: stop watching
    /// it and forget it.
    Down,
}

/// A failure detector: the plugin trait. Object-safe; the core holds a
/// `Box<dyn FailureDetector>`. Only [`name`](FailureDetector::name) and
/// [`handle`](FailureDetector::handle) must be written; every other method
/// has a default for a detector with nothing to do there.
///
/// The contract an implementor keeps:
///
/// - **Sans-I/O.** No socket, thread, clock or OS randomness: time is
///   [`DetectorContext::now`], randomness [`DetectorContext::rng`], and
///   messages go out through [`DetectorContext::send`].
/// - **Opinions, not state.** Report with [`DetectorContext::suspect`],
///   [`DetectorContext::alive`] and [`DetectorContext::fail`]; the core
///   decides what changes, emits events, disseminates, and tells the
///   detector back through [`FailureDetector::member_changed`].
/// - **Payloads only.** Membership news rides on every detector message,
///   added and applied by the core; a detector's payload carries only its
///   own protocol, within [`DetectorContext::payload_limit`] (larger ones
///   are not sent, and counted).
/// - **Bounded work.** `handle` and `tick` must not scan the whole member
///   list per message; keep per-member state in maps keyed by [`NodeId`].
/// - **Untrusted payloads.** `handle` returns an error for a payload that does
///   not decode (the core counts and drops it) and never panics.
pub trait FailureDetector: Send {
    /// The registered name; it tags this detector's messages and every event.
    fn name(&self) -> &str;

    /// The member list changed. Default: nothing.
    fn member_changed(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        member: NodeId,
        change: MemberChange,
    ) {
        let _ = (ctx, member, change);
    }

    /// A payload of this detector's protocol arrived from `sender`, a live
    /// member (the core drops messages from members it knows are gone, and
    /// has applied the news they carried).
    fn handle(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        sender: NodeId,
        payload: &[u8],
    ) -> Result<(), MembershipError>;

    /// Time passed; do whatever is due at [`DetectorContext::now`].
    /// Default: nothing.
    fn tick(&mut self, ctx: &mut DetectorContext<'_>) {
        let _ = ctx;
    }

    /// The next time [`FailureDetector::tick`] must run, if any. Default:
    /// none.
    fn next_deadline(&self) -> Option<Time> {
        None
    }

    /// This node itself did not run for `gap`, past the deadline it asked
    /// for (a stopped process, a GC pause, a starved CPU): what it could
    /// not receive in that time is no evidence against anyone. A detector
    /// that times silences should not count the gap. Default: nothing.
    fn stalled(&mut self, ctx: &mut DetectorContext<'_>, gap: Duration) {
        let _ = (ctx, gap);
    }
}

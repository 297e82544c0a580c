//! The membership protocol's own messages: joins, dissemination, failure
//! detection and anti-entropy. Only members and joiners send these.

use serde::{Deserialize, Serialize};

use crate::{Extras, Incarnation, NodeId};

/// A member's state as one node sees it, as disseminated on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberState {
    /// Believed alive.
    Alive,
    /// Suspected of having failed; it may refute with a higher incarnation.
    Suspect,
    /// Declared failed. Final for this version of the member.
    Failed,
    /// Left voluntarily. Final for this version of the member.
    Left,
}

/// One member's state and incarnation: the unit of dissemination, and one
/// entry of a member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberUpdate {
    /// The member this is about.
    pub node: NodeId,
    /// Its state as the sender sees it.
    pub state: MemberState,
    /// The member's incarnation the state refers to.
    pub incarnation: Incarnation,
}

/// What a refused joiner should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum JoinRetry {
    /// Ask another member: this one is leaving, rejoining itself, full, or
    /// cannot admit the joiner at its address.
    Elsewhere,
    /// Join again under a version newer than this one: a version of the
    /// joiner's address at least this new is already gone.
    NewerThan(crate::Version),
}

/// A message of the membership protocol. Detector protocols travel inside
/// [`Gossip::Detector`] as opaque bytes, so a plugin carries its own
/// messages without this enum knowing them.
///
/// On the wire each variant is named by a short tag (one or two letters),
/// since these are the messages every datagram carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Gossip {
    /// A newcomer asks an introducer to join, naming itself. Travels over
    /// a reliable stream; the answer comes back on the same stream.
    #[serde(rename = "jq")]
    JoinRequest {
        /// The newcomer's identity (listening address and join version).
        node: NodeId,
        /// A random number the answer must echo: the joiner accepts only the
        /// answer to the request it is waiting for.
        nonce: u64,
        /// The joiner's own metadata, if it has any (its only record; what
        /// an introducer's admission check sees). Left out when empty.
        #[serde(
            default,
            skip_serializing_if = "Extras::is_empty",
            with = "crate::extras::compact"
        )]
        extras: Extras,
    },
    /// The introducer admits the newcomer and hands it the member list.
    #[serde(rename = "js")]
    JoinResponse {
        /// The introducer that answered.
        introducer: NodeId,
        /// The nonce of the request this answers.
        nonce: u64,
        /// Every member the introducer knows, with state and incarnation.
        #[serde(with = "crate::compact::updates")]
        members: Vec<MemberUpdate>,
        /// The metadata of listed members that have any, and the user
        /// broadcasts the introducer is still passing on. Left out when
        /// empty.
        #[serde(
            default,
            skip_serializing_if = "Extras::is_empty",
            with = "crate::extras::compact"
        )]
        extras: Extras,
    },
    /// The introducer refuses the join (for instance, a version not newer
    /// than one already declared failed).
    #[serde(rename = "jr")]
    JoinRefused {
        /// The nonce of the request this answers.
        nonce: u64,
        /// Why, in words.
        reason: String,
        /// What the joiner should do next.
        retry: JoinRetry,
    },
    /// The receiver is gone in the sender's view (declared failed, or
    /// superseded by a newer version of its address): the answer to any
    /// message from a member the sender holds dead. The receiver either
    /// rejoins under a new version or, when its own view is the larger
    /// one, answers with a `Gone` of its own so that the sender rejoins
    /// instead (how two sides of a healed partition merge; see the
    /// membership crate's protocol notes).
    #[serde(rename = "g")]
    Gone {
        /// The sender's identity.
        sender: NodeId,
        /// The receiver as the sender holds it.
        member: MemberUpdate,
        /// Live members in the sender's view, itself included.
        live: u32,
        /// Whether this answers another `Gone` (it then gets none back).
        reply: bool,
    },
    /// A member announces its voluntary departure.
    #[serde(rename = "l")]
    Leave {
        /// The member leaving.
        node: NodeId,
        /// Its incarnation at the time of leaving.
        incarnation: Incarnation,
    },
    /// Membership changes disseminated by gossip or piggybacking.
    #[serde(rename = "u")]
    Updates {
        /// The sender's identity.
        sender: NodeId,
        /// The changes, newest first.
        #[serde(with = "crate::compact::updates")]
        updates: Vec<MemberUpdate>,
        /// Metadata of members these updates are about, and user
        /// broadcasts. Left out when empty.
        #[serde(
            default,
            skip_serializing_if = "Extras::is_empty",
            with = "crate::extras::compact"
        )]
        extras: Extras,
    },
    /// A failure detector's own protocol message, opaque to everyone else.
    #[serde(rename = "d")]
    Detector {
        /// The registered name of the detector that understands `payload`.
        detector: String,
        /// The sender's identity.
        sender: NodeId,
        /// The detector's encoded message.
        #[serde(with = "serde_bytes")]
        payload: Vec<u8>,
        /// Membership changes the sender's core piggybacked in the room the
        /// payload left (detectors never see them).
        #[serde(with = "crate::compact::updates")]
        updates: Vec<MemberUpdate>,
        /// Metadata of members these updates are about, and user
        /// broadcasts, piggybacked likewise. Left out when empty.
        #[serde(
            default,
            skip_serializing_if = "Extras::is_empty",
            with = "crate::extras::compact"
        )]
        extras: Extras,
    },
    /// Anti-entropy: a summary of part of the sender's member list. The
    /// receiver compares it with its own and sends back, as
    /// [`Gossip::Updates`], its members of every bucket that differs, and,
    /// unless this digest is itself a reply, its own digest of the same
    /// buckets (a push-pull: both sides repair in one exchange).
    #[serde(rename = "a")]
    Digest {
        /// The sender's identity.
        sender: NodeId,
        /// Whether this digest answers another one (then it gets updates
        /// back, never a digest).
        reply: bool,
        /// How many buckets the list is split into by address hash (a power
        /// of two); see the membership crate's protocol notes.
        buckets: u32,
        /// The first bucket summarised.
        first: u32,
        /// One 4-byte big-endian summary per bucket, from `first` on.
        #[serde(with = "serde_bytes")]
        summaries: Vec<u8>,
    },
}

impl Gossip {
    /// A short name of the kind, for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Gossip::JoinRequest { .. } => "join_request",
            Gossip::JoinResponse { .. } => "join_response",
            Gossip::JoinRefused { .. } => "join_refused",
            Gossip::Gone { .. } => "gone",
            Gossip::Leave { .. } => "leave",
            Gossip::Updates { .. } => "updates",
            Gossip::Detector { .. } => "detector",
            Gossip::Digest { .. } => "digest",
        }
    }
}

//! Notices: what the core tells its driver beside the membership events of
//! the event log: its own standing (joins, refusals, rejoins) and changes
//! of members' metadata. Drivers log them; they change nothing in the
//! member list.

use std::net::SocketAddr;

use rumor_wire::{Metadata, NodeId};

/// Why a member rejoins under a new version.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejoinCause {
    /// A member told this node that it was declared failed (or left).
    DeclaredFailed {
        /// Where the news came from.
        by: SocketAddr,
    },
    /// A member holds this node dead and its view is the larger one (see
    /// [`rumor_wire::Gossip::Gone`]).
    Gone {
        /// The member that holds this node dead.
        by: NodeId,
        /// Live members in its view.
        its_view: u32,
        /// Live members in this node's view.
        our_view: u32,
    },
    /// A newer version of this node's own address was seen.
    NewerVersion {
        /// That version.
        seen: NodeId,
    },
}

impl std::fmt::Display for RejoinCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejoinCause::DeclaredFailed { by } => {
                write!(f, "{by} says this node was declared failed")
            }
            RejoinCause::Gone {
                by,
                its_view,
                our_view,
            } => write!(
                f,
                "{by} holds this node dead and its view ({its_view} live) outweighs ours ({our_view} live)"
            ),
            RejoinCause::NewerVersion { seen } => {
                write!(f, "a newer version of this address was seen: {seen}")
            }
        }
    }
}

/// Something the driver may want to log: this node's own standing, or a
/// member's new metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A join request went out to `introducer`.
    JoinAsked {
        /// Who was asked.
        introducer: SocketAddr,
        /// Whether this is a rejoin (the node was a member before).
        rejoin: bool,
    },
    /// The join was admitted.
    Joined {
        /// Who admitted it.
        introducer: NodeId,
        /// Members the join response listed.
        members: usize,
    },
    /// An introducer refused the join; the core tries again (elsewhere, or
    /// under a newer version).
    JoinRefused {
        /// Who refused.
        by: SocketAddr,
        /// Its reason, in words.
        reason: String,
    },
    /// An introducer did not answer in time (or could not be reached).
    JoinUnanswered {
        /// Who was asked.
        introducer: SocketAddr,
    },
    /// A rejoin found nobody to admit it: the node goes on as a cluster of
    /// one, and its reconnect attempts look for the others.
    Alone,
    /// This node takes a new version and rejoins.
    Rejoining {
        /// The version that is over.
        old: NodeId,
        /// The new one.
        new: NodeId,
        /// Why.
        cause: RejoinCause,
    },
    /// A member that holds this node dead was told to rejoin instead,
    /// because this node's view is the larger one.
    OutweighedPeer {
        /// The member told.
        peer: NodeId,
        /// Live members in its view.
        its_view: u32,
        /// Live members in this node's view.
        our_view: u32,
    },
    /// A known member set new metadata (a member learnt with its metadata
    /// has its `joined` event instead).
    MetadataChanged {
        /// The member.
        member: NodeId,
        /// Its metadata now (empty: it cleared it).
        metadata: Metadata,
    },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::JoinAsked { introducer, rejoin } => {
                let what = if *rejoin { "rejoin" } else { "join" };
                write!(f, "asked {introducer} to {what}")
            }
            Notice::Joined {
                introducer,
                members,
            } => write!(f, "admitted by {introducer} ({members} members listed)"),
            Notice::JoinRefused { by, reason } => write!(f, "join refused by {by}: {reason}"),
            Notice::JoinUnanswered { introducer } => {
                write!(f, "no answer to the join request from {introducer}")
            }
            Notice::Alone => write!(
                f,
                "no member answered the rejoin: going on alone, looking for the others"
            ),
            Notice::Rejoining { old, new, cause } => {
                write!(f, "{old} is over ({cause}): rejoining as {new}")
            }
            Notice::OutweighedPeer {
                peer,
                its_view,
                our_view,
            } => write!(
                f,
                "{peer} holds this node dead, but our view ({our_view} live) outweighs its ({its_view} live): told it to rejoin"
            ),
            Notice::MetadataChanged { member, metadata } if metadata.is_empty() => {
                write!(f, "{member} cleared its metadata")
            }
            Notice::MetadataChanged { member, metadata } => {
                write!(f, "{member} set its metadata to {metadata}")
            }
        }
    }
}

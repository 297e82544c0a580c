//! Where this node stands in its cluster: joining (a first join or a
//! rejoin waiting to be admitted), a member, leaving, or a version that is
//! over and must rejoin under a new one. This part owns those flags and
//! the join under way, and steps the join along, leaving notices in the
//! journal and handing back the requests to send.

use std::net::SocketAddr;

use rand::Rng;

use crate::joining::{JoinStep, Joining};
use crate::journal::Journal;
use crate::{Notice, RejoinCause, Time};

/// Why and through whom this node rejoins.
#[derive(Debug, Clone)]
pub(crate) struct Rejoin {
    pub(crate) cause: RejoinCause,
    /// The member to ask first: the one that told us.
    pub(crate) via: Option<SocketAddr>,
}

/// This node's standing.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    /// A member of a cluster (its own, or one that admitted it). False
    /// while a first join or a rejoin waits for its answer: the node then
    /// takes part in nothing else.
    waiting: bool,
    left: bool,
    /// This version is over (declared failed, or superseded): the core
    /// rejoins under a new version at the end of the current call.
    must_rejoin: Option<Rejoin>,
    /// The join exchange under way, if any.
    joining: Option<Joining>,
    /// After a leave: when the news is next gossiped.
    next_leave_gossip: Option<Time>,
}

impl Lifecycle {
    /// Whether this node is a member of a cluster (not waiting to be
    /// admitted).
    pub(crate) fn is_member(&self) -> bool {
        !self.waiting
    }

    /// Whether this node left.
    pub(crate) fn has_left(&self) -> bool {
        self.left
    }

    /// Whether this version is over and a rejoin is pending.
    pub(crate) fn must_rejoin(&self) -> bool {
        self.must_rejoin.is_some()
    }

    /// A member that has neither left nor must rejoin: one that takes part.
    pub(crate) fn is_active(&self) -> bool {
        !self.waiting && !self.left && self.must_rejoin.is_none()
    }

    /// Starts a join through `candidates` at `now`; `first` when this node
    /// lists only itself (it then waits to be admitted before anything
    /// else).
    pub(crate) fn start_join(&mut self, candidates: Vec<SocketAddr>, first: bool, now: Time) {
        if first {
            self.waiting = true;
        }
        self.joining = Some(Joining::new(candidates, !first, now));
    }

    /// Starts a rejoin through `candidates` at `now` (a new version waits
    /// to be admitted).
    pub(crate) fn start_rejoin(&mut self, candidates: Vec<SocketAddr>, now: Time) {
        self.waiting = true;
        self.joining = Some(Joining::new(candidates, true, now));
    }

    /// Moves the join under way along at `now`: notes timeouts, gives a
    /// rejoin up for a cluster of one, and returns the request to send
    /// (to whom, with which nonce), if one is due.
    pub(crate) fn step_join(
        &mut self,
        now: Time,
        rng: &mut impl Rng,
        journal: &mut Journal,
    ) -> Option<(SocketAddr, u64)> {
        while let Some(joining) = &mut self.joining {
            match joining.step(now, rng) {
                JoinStep::Wait => return None,
                JoinStep::Ask { to, nonce } => {
                    let rejoin = joining.is_rejoin() && self.waiting;
                    journal.notice(Notice::JoinAsked {
                        introducer: to,
                        rejoin,
                    });
                    return Some((to, nonce));
                }
                JoinStep::TimedOut { to } => {
                    journal.notice(Notice::JoinUnanswered { introducer: to });
                }
                JoinStep::GoAlone => {
                    self.joining = None;
                    if self.waiting {
                        self.waiting = false;
                        journal.notice(Notice::Alone);
                    }
                    return None;
                }
            }
        }
        None
    }

    /// The join waiting for `to` gives up on it (refused, unreachable);
    /// whether one was waiting.
    pub(crate) fn give_up_on(&mut self, to: SocketAddr) -> bool {
        self.joining.as_mut().is_some_and(|j| j.give_up_on(to))
    }

    /// The join under way, if an answer from `from` with `nonce` answers
    /// its request.
    pub(crate) fn awaiting(&mut self, from: SocketAddr, nonce: u64) -> Option<&mut Joining> {
        self.joining.as_mut().filter(|j| j.answers(from, nonce))
    }

    /// The join was admitted.
    pub(crate) fn admitted(&mut self) {
        self.joining = None;
        self.waiting = false;
    }

    /// When the join under way next needs a step.
    pub(crate) fn join_deadline(&self) -> Option<Time> {
        self.joining.as_ref().map(Joining::deadline)
    }

    /// This version is over: rejoin once the current call ends (the first
    /// cause given stands).
    pub(crate) fn request_rejoin(&mut self, cause: RejoinCause, via: Option<SocketAddr>) {
        if self.must_rejoin.is_none() {
            self.must_rejoin = Some(Rejoin { cause, via });
        }
    }

    /// The pending rejoin, taken.
    pub(crate) fn take_rejoin(&mut self) -> Option<Rejoin> {
        self.must_rejoin.take()
    }

    /// This node leaves. Returns whether it was a member with something to
    /// announce (a node still waiting to be admitted just stops joining).
    pub(crate) fn leave(&mut self) -> bool {
        self.left = true;
        if self.waiting {
            self.joining = None;
            return false;
        }
        true
    }

    /// The leave's gossip goes out next at `at` (`None`: it is done).
    pub(crate) fn set_leave_gossip(&mut self, at: Option<Time>) {
        self.next_leave_gossip = at;
    }

    /// When the leave's gossip next goes out.
    pub(crate) fn leave_gossip(&self) -> Option<Time> {
        self.next_leave_gossip
    }
}

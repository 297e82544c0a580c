//! User broadcasts: messages the embedding program sends to every member.
//!
//! A broadcast is queued here and piggybacked on this node's detector
//! messages beside the membership news, fewest-sent first, each sent at
//! most λ·log n times like a membership change; every member that hears
//! it for the first time hands it to its program once and passes it on the
//! same way. Duplicates are recognised by (origin, sequence number) in a
//! window of the 64 newest numbers per origin, for the 4,096 origins seen
//! last: a broadcast older than its origin's window counts as heard
//! already. Everything is bounded: the payload ([`BROADCAST_LIMIT`]), this
//! node's own broadcasts still being sent ([`BROADCAST_QUEUE`], refused
//! beyond), the broadcasts passed on for others (256, the most-sent one
//! dropped beyond), and those waiting for the program (1,024, the oldest
//! dropped beyond; both drops counted).

use std::collections::VecDeque;

use rumor_wire::{BROADCAST_LIMIT, NodeId, UserBroadcast};

use crate::Stats;
use crate::member_list::Map;
use crate::node::Node;
use crate::room::{Room, split};

/// This node's own broadcasts that may be in the queue at once.
pub const BROADCAST_QUEUE: usize = 16;
/// Broadcasts in the queue at once, this node's and others'.
const QUEUE_LIMIT: usize = 256;
/// Broadcasts waiting for the program to poll them.
const INBOX_LIMIT: usize = 1024;
/// Origins whose sequence numbers are remembered.
const ORIGINS: usize = 4096;
/// Sequence numbers remembered per origin, below its highest.
const WINDOW: u64 = 64;

/// Why a broadcast was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BroadcastError {
    /// The payload exceeds what one broadcast carries here: the protocol's
    /// [`BROADCAST_LIMIT`], or less when this node's datagrams are small.
    #[error("a broadcast of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// The payload's size.
        size: usize,
        /// The most a broadcast may carry here.
        limit: usize,
    },
    /// [`BROADCAST_QUEUE`] broadcasts of this node are still being sent.
    #[error("{limit} broadcasts of this node are still being sent; try again later")]
    QueueFull {
        /// The bound.
        limit: usize,
    },
    /// This node left the cluster.
    #[error("this node has left the cluster")]
    Left,
}

/// A broadcast being passed on.
#[derive(Debug)]
struct Queued {
    broadcast: UserBroadcast,
    transmits: u32,
    own: bool,
}

/// The 64 newest sequence numbers of one origin: bit `i` is `highest - i`.
#[derive(Debug, Clone, Copy)]
struct Window {
    highest: u64,
    bits: u64,
}

impl Window {
    /// Records `seq`; false if it was seen already or is older than the
    /// window.
    fn insert(&mut self, seq: u64) -> bool {
        if seq > self.highest {
            let shift = seq - self.highest;
            self.bits = if shift >= WINDOW {
                0
            } else {
                self.bits << shift
            };
            self.bits |= 1;
            self.highest = seq;
            return true;
        }
        let back = self.highest - seq;
        if back >= WINDOW || self.bits & (1 << back) != 0 {
            return false;
        }
        self.bits |= 1 << back;
        true
    }
}

/// The queue of broadcasts to pass on, what was seen, and what waits for
/// the program.
#[derive(Debug, Default)]
pub(crate) struct Broadcasts {
    queue: Vec<Queued>,
    /// This node's next sequence number.
    next_seq: u64,
    seen: Map<NodeId, Window>,
    /// Origins in the order first seen, to forget the oldest.
    origins: VecDeque<NodeId>,
    inbox: VecDeque<UserBroadcast>,
}

impl Broadcasts {
    /// Whether nothing waits to be passed on.
    pub(crate) fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes of the records waiting to be passed on.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queue.iter().map(|q| q.broadcast.record_len()).sum()
    }

    /// The broadcasts still being passed on (a join response carries them
    /// to the joiner).
    pub(crate) fn pending(&self) -> impl Iterator<Item = &UserBroadcast> {
        self.queue.iter().map(|q| &q.broadcast)
    }

    /// A broadcast of `payload` from `node`, whose datagrams have `room`:
    /// queued, and handed to this node's own program too. Returns its
    /// sequence number.
    pub(crate) fn send(
        &mut self,
        node: &mut Node,
        payload: Vec<u8>,
        room: &Room,
    ) -> Result<u64, BroadcastError> {
        if node.lifecycle().has_left() {
            return Err(BroadcastError::Left);
        }
        let room = split(room.news(), true);
        let (me, stats) = (node.me(), node.stats_mut());
        self.send_within(me, payload, room, stats)
    }

    /// [`Broadcasts::send`] for a node `me` whose news may take `room`
    /// bytes of records.
    fn send_within(
        &mut self,
        me: NodeId,
        payload: Vec<u8>,
        room: usize,
        stats: &mut Stats,
    ) -> Result<u64, BroadcastError> {
        let overhead = UserBroadcast::new(me, 0, Vec::new()).record_len();
        let limit = BROADCAST_LIMIT.min(room.saturating_sub(overhead));
        if payload.len() > limit {
            let size = payload.len();
            return Err(BroadcastError::TooLarge { size, limit });
        }
        if self.queue.iter().filter(|q| q.own).count() >= BROADCAST_QUEUE {
            let limit = BROADCAST_QUEUE;
            return Err(BroadcastError::QueueFull { limit });
        }
        self.next_seq += 1;
        let broadcast = UserBroadcast::new(me, self.next_seq, payload);
        self.remember(me, self.next_seq);
        stats.broadcasts_sent += 1;
        self.deliver(broadcast.clone(), stats);
        self.make_room(stats);
        self.queue.push(Queued {
            broadcast,
            transmits: 0,
            own: true,
        });
        Ok(self.next_seq)
    }

    /// Broadcasts another member passed on: each one not seen before is
    /// handed to the program and passed on in turn.
    pub(crate) fn receive(&mut self, broadcasts: Vec<UserBroadcast>, stats: &mut Stats) {
        for broadcast in broadcasts {
            if !self.remember(broadcast.origin, broadcast.seq) {
                stats.broadcast_duplicates += 1;
                continue;
            }
            stats.broadcasts_received += 1;
            self.deliver(broadcast.clone(), stats);
            if self.make_room(stats) {
                self.queue.push(Queued {
                    broadcast,
                    transmits: 0,
                    own: false,
                });
            }
        }
    }

    /// The next broadcast for the program.
    pub(crate) fn pop(&mut self) -> Option<UserBroadcast> {
        self.inbox.pop_front()
    }

    /// Broadcasts to piggyback whose records take at most `budget` bytes,
    /// fewest-sent first; each counts a transmit and leaves the queue after
    /// `limit`. Returns the bytes taken.
    pub(crate) fn pick(
        &mut self,
        budget: usize,
        limit: u32,
        out: &mut Vec<UserBroadcast>,
    ) -> usize {
        if self.queue.is_empty() {
            return 0;
        }
        // Stable: among equals, the oldest first.
        self.queue.sort_by_key(|q| q.transmits);
        let mut used = 0;
        for queued in &mut self.queue {
            let size = queued.broadcast.record_len();
            if used + size > budget {
                continue;
            }
            used += size;
            queued.transmits += 1;
            out.push(queued.broadcast.clone());
        }
        self.queue.retain(|q| q.transmits < limit.max(1));
        used
    }

    /// Records (origin, seq) as seen; false if it was already.
    fn remember(&mut self, origin: NodeId, seq: u64) -> bool {
        if let Some(window) = self.seen.get_mut(&origin) {
            return window.insert(seq);
        }
        if self.origins.len() >= ORIGINS {
            if let Some(oldest) = self.origins.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.origins.push_back(origin);
        let window = Window {
            highest: seq,
            bits: 1,
        };
        self.seen.insert(origin, window);
        true
    }

    /// Hands a broadcast to the program, dropping the oldest waiting one
    /// when the program does not keep up.
    fn deliver(&mut self, broadcast: UserBroadcast, stats: &mut Stats) {
        if self.inbox.len() >= INBOX_LIMIT {
            self.inbox.pop_front();
            stats.broadcasts_dropped += 1;
        }
        self.inbox.push_back(broadcast);
    }

    /// Makes room for one more in the queue, dropping the most-sent of the
    /// others' broadcasts if it is full; false if there is none to drop.
    fn make_room(&mut self, stats: &mut Stats) -> bool {
        if self.queue.len() < QUEUE_LIMIT {
            return true;
        }
        let most_sent = (0..self.queue.len())
            .filter(|&i| !self.queue[i].own)
            .max_by_key(|&i| self.queue[i].transmits);
        stats.broadcasts_dropped += 1;
        match most_sent {
            Some(i) => {
                self.queue.swap_remove(i);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(port: u16) -> NodeId {
        format!("10.0.0.1:{port}#1").parse().unwrap()
    }

    #[test]
    fn a_window_takes_each_number_once_and_forgets_the_old() {
        let mut w = Window {
            highest: 10,
            bits: 1,
        };
        assert!(!w.insert(10));
        assert!(w.insert(8));
        assert!(!w.insert(8));
        assert!(w.insert(12));
        assert!(!w.insert(8), "still remembered after a shift");
        assert!(w.insert(11));
        assert!(w.insert(12 + WINDOW));
        assert!(!w.insert(12), "older than the window: taken as seen");
        assert!(w.insert(13 + WINDOW));
    }

    #[test]
    fn own_broadcasts_are_bounded_and_delivered_here_too() {
        let (mut b, mut stats) = (Broadcasts::default(), Stats::default());
        let err = b.send_within(node(1), vec![0; BROADCAST_LIMIT + 1], 1400, &mut stats);
        assert_eq!(
            err,
            Err(BroadcastError::TooLarge {
                size: BROADCAST_LIMIT + 1,
                limit: BROADCAST_LIMIT
            })
        );
        let small_room = b.send_within(node(1), vec![0; 300], 200, &mut stats);
        assert!(matches!(small_room, Err(BroadcastError::TooLarge { .. })));
        for i in 0..BROADCAST_QUEUE {
            assert_eq!(
                b.send_within(node(1), vec![1], 1400, &mut stats),
                Ok(i as u64 + 1)
            );
        }
        let full = b.send_within(node(1), vec![1], 1400, &mut stats);
        assert_eq!(
            full,
            Err(BroadcastError::QueueFull {
                limit: BROADCAST_QUEUE
            })
        );
        assert_eq!(stats.broadcasts_sent, BROADCAST_QUEUE as u64);
        assert_eq!(std::iter::from_fn(|| b.pop()).count(), BROADCAST_QUEUE);
        // Sent out to the limit, they leave the queue and make room.
        let mut out = Vec::new();
        for _ in 0..3 {
            b.pick(1400, 3, &mut out);
        }
        assert!(b.is_idle());
        assert!(b.send_within(node(1), vec![1], 1400, &mut stats).is_ok());
    }

    #[test]
    fn received_broadcasts_are_delivered_once_and_passed_on() {
        let (mut b, mut stats) = (Broadcasts::default(), Stats::default());
        let one = UserBroadcast::new(node(2), 5, b"one".to_vec());
        b.receive(vec![one.clone(), one.clone()], &mut stats);
        b.receive(vec![one.clone()], &mut stats);
        assert_eq!(b.pop(), Some(one.clone()));
        assert_eq!(b.pop(), None);
        assert_eq!(
            (stats.broadcasts_received, stats.broadcast_duplicates),
            (1, 2)
        );
        let mut out = Vec::new();
        let used = b.pick(one.record_len() - 1, 4, &mut out);
        assert_eq!((used, out.len()), (0, 0), "it does not fit");
        assert_eq!(b.pick(1400, 4, &mut out), one.record_len());
        assert_eq!(out, vec![one]);
    }
}

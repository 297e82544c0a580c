//! Join requests over modelled streams, as the agent carries them over TCP.
//!
//! A core's [`Channel::Request`](rumor_membership::Channel::Request) opens
//! a stream to its target: the request arrives after connection set-up, the
//! target's core answers with `handle_request` (the request whole, the
//! joiner's metadata with it), and the answer comes back on the same
//! stream to the asking core's `handle`, never lost. A target that is down
//! refuses the connection, which the asker learns one round trip later; a
//! target behind a partition never answers, which the asker learns when
//! its connection attempt times out ([`STREAM_TIMEOUT`]). Either way its
//! core hears `handle_unreachable` and moves on by itself.

use std::net::SocketAddr;
use std::time::Duration;

use rumor_membership::Gossip;
use rumor_wire::{Envelope, Message, encoded_len};

use super::engine::{Outgoing, Payload};
use super::{Step, World, slot_addr};

/// How long a stream to a host behind a partition takes to fail: a TCP
/// connection to an unreachable host hangs until the agent's timeout.
const STREAM_TIMEOUT: Duration = Duration::from_secs(1);

impl World<'_> {
    /// A request from the node in `src`, listening on `from`, opens a stream.
    pub(super) fn request(&mut self, src: usize, transmit: Outgoing) {
        let now = self.now;
        let to = transmit.to;
        if self.traffic.counting(now) {
            self.traffic.on_send(src, transmit.len);
        }
        let generation = self.slots[src].generation;
        let Payload::Rumor(Gossip::JoinRequest {
            node,
            nonce,
            extras,
        }) = transmit.payload
        else {
            // Only join requests travel as requests; the simulator has no
            // target to ask about any other kind, so it goes nowhere.
            self.drops.unroutable += 1;
            return;
        };
        self.slots[src].last_request = Some((to, nonce));
        let failed = Step::Unreachable {
            slot: src as u32,
            generation,
            to,
            nonce,
        };
        let Some(dst) = self.slot_of(to) else {
            self.drops.unroutable += 1;
            self.queue.push(now + STREAM_TIMEOUT, failed);
            return;
        };
        match self.network.stream(src, dst) {
            Err(_) => {
                self.drops.partitioned += 1;
                self.queue.push(now + STREAM_TIMEOUT, failed);
            }
            Ok(_) if self.slots[dst].process.is_none() => {
                self.drops.node_down += 1;
                let refused = self.network.round_trip(src, dst);
                self.queue.push(now + refused, failed);
            }
            Ok(delay) => self.queue.push(
                now + delay,
                Step::Request {
                    target: dst as u32,
                    requester: src as u32,
                    generation,
                    node,
                    nonce,
                    extras,
                },
            ),
        }
    }

    /// A join request (from the process `generation` of `requester`)
    /// reaches `target`.
    pub(super) fn answer_request(
        &mut self,
        target: usize,
        (requester, generation): (usize, u64),
        request: Gossip,
    ) {
        let Gossip::JoinRequest { nonce, .. } = request else {
            unreachable!("only join requests travel as requests")
        };
        let now = self.now;
        let to = slot_addr(target);
        let Some(core) = self.slots[target]
            .process
            .as_mut()
            .and_then(|p| p.core.rumor())
        else {
            // It crashed while the connection opened: the stream resets.
            self.drops.node_down += 1;
            let reset = self
                .network
                .answer(target, requester)
                .unwrap_or(STREAM_TIMEOUT);
            let failed = Step::Unreachable {
                slot: requester as u32,
                generation,
                to,
                nonce,
            };
            self.queue.push(now + reset, failed);
            return;
        };
        let answer = core
            .handle_request(now, request)
            .expect("a join request is answered");
        self.flush(target, false);
        let envelope = Envelope::new(to, answer);
        if self.traffic.counting(now) {
            self.traffic.on_send(target, encoded_len(&envelope));
        }
        let Message::Gossip(answer) = envelope.body else {
            return; // a join answer is always gossip
        };
        let answer = match &mut self.wire {
            Some(wire) => match wire.round_trip(to, answer) {
                Some(answer) => answer,
                // The asker reads nothing it can use: its wait times out.
                None => {
                    let failed = Step::Unreachable {
                        slot: requester as u32,
                        generation,
                        to,
                        nonce,
                    };
                    self.queue.push(now + STREAM_TIMEOUT, failed);
                    return;
                }
            },
            None => answer,
        };
        match self.network.answer(target, requester) {
            Ok(delay) => self.queue.push(
                now + delay,
                Step::Answer {
                    to: requester as u32,
                    generation,
                    from: to,
                    message: answer,
                },
            ),
            Err(_) => {
                // A cut came while the request was on its way: the asker
                // waits in vain until its timeout.
                self.drops.partitioned += 1;
                let failed = Step::Unreachable {
                    slot: requester as u32,
                    generation,
                    to,
                    nonce,
                };
                self.queue.push(now + STREAM_TIMEOUT, failed);
            }
        }
    }

    /// The answer to a join request reaches the process in `slot` that
    /// asked, if it still runs (its stream died with it otherwise).
    pub(super) fn take_answer(
        &mut self,
        slot: usize,
        generation: u64,
        from: SocketAddr,
        message: Gossip,
    ) {
        let now = self.now;
        let s = &mut self.slots[slot];
        if s.generation != generation {
            self.drops.node_down += 1;
            return;
        }
        let Some(p) = &mut s.process else {
            self.drops.node_down += 1;
            return;
        };
        if matches!(message, Gossip::JoinRefused { .. }) {
            self.joins_refused += 1;
        }
        s.last_request = None;
        p.core.handle(now, from, Payload::Rumor(message));
        self.flush(slot, false);
    }

    /// The stream of the request `nonce` from `slot` to `to` failed.
    pub(super) fn request_failed(
        &mut self,
        slot: usize,
        generation: u64,
        to: SocketAddr,
        nonce: u64,
    ) {
        let now = self.now;
        let s = &mut self.slots[slot];
        if s.generation != generation || s.last_request != Some((to, nonce)) {
            return;
        }
        s.last_request = None;
        if let Some(core) = s.process.as_mut().and_then(|p| p.core.rumor()) {
            core.handle_unreachable(now, to);
            self.flush(slot, false);
        }
    }

    /// [`crate::Bootstrap::Sync`]: one more join exchange with the
    /// introducer, alongside membership, for a node already admitted.
    pub(super) fn resync(&mut self, slot: usize) {
        let now = self.now;
        let Some(introducer) = self.introducer_for(slot) else {
            return;
        };
        let Some(core) = self.slots[slot]
            .process
            .as_mut()
            .and_then(|p| p.core.rumor())
        else {
            return; // foca has no member-list exchange of its own
        };
        if core.is_joining() {
            return; // still on its first join: that one brings the list
        }
        core.join(now, vec![slot_addr(introducer)]);
        self.flush(slot, false);
    }

    /// Node 0 if it runs, else the lowest-numbered running node.
    fn introducer_for(&self, joiner: usize) -> Option<usize> {
        std::iter::once(0)
            .chain(0..self.slots.len())
            .find(|&s| s != joiner && self.slots[s].process.is_some())
    }
}

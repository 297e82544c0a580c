//! Messages in and out of a process: a datagram delivered to its core, the
//! core drained afterwards (transmits to the network, events to the
//! ledger, notices counted, a new version caught up with, its timer
//! re-armed), and each transmit sent on its way.

use std::net::SocketAddr;

use rumor_membership::{Channel, Event, EventKind};

use super::engine::{Outgoing, Payload};
use super::{MIN_TICK_STEP, Step, World};
use crate::network::Cut;

impl World<'_> {
    pub(super) fn deliver(&mut self, to: usize, from: SocketAddr, payload: Payload, len: usize) {
        let Some(p) = &mut self.slots[to].process else {
            self.drops.node_down += 1;
            return;
        };
        if !p.drop.admit() {
            self.drops.receiver += 1;
            return;
        }
        if self.slots[to].paused.is_some() {
            self.buffer(to, from, payload, len);
            return;
        }
        let Some(p) = &mut self.slots[to].process else {
            unreachable!("checked above");
        };
        p.core.handle(self.now, from, payload);
        self.flush(to, false);
    }

    /// Drains the core in `slot`: transmits into the network, events into
    /// the ledger, notices into their counts (and the slot's log, when
    /// kept); catches up with a new version the core took; re-arms its
    /// timer.
    pub(super) fn flush(&mut self, slot: usize, ticked: bool) {
        let now = self.now;
        let mut transmits = std::mem::take(&mut self.transmits);
        let mut events = std::mem::take(&mut self.events);
        let s = &mut self.slots[slot];
        let Some(p) = &mut s.process else {
            self.transmits = transmits;
            self.events = events;
            return;
        };
        let mut wire = self.wire.as_mut();
        transmits.extend(std::iter::from_fn(|| {
            p.core.poll_outgoing(wire.as_deref_mut())
        }));
        events.extend(std::iter::from_fn(|| p.core.poll_event()));
        let log = self.record_notices.then_some(&mut s.notices);
        p.core.drain_notices(&mut self.notices, log);
        let current = p.core.id();
        let renewed = (current != p.id).then(|| std::mem::replace(&mut p.id, current));
        let rejoins = p.core.rejoins() - p.rejoins;
        p.rejoins += rejoins;
        let from = current.addr;
        let deadline = p.core.poll_timeout();
        if let Some(old) = renewed {
            // The process runs on under its new version: the old one is
            // over for the ledger, as a stopped process would be.
            s.version = s.version.max(current.version.0);
            self.ledger.on_retire(old);
            self.ledger.on_start(current, now);
        }
        if rejoins > 0 {
            self.rejoins += rejoins;
            self.heals.on_rejoins(rejoins);
        }
        for event in events.drain(..) {
            self.record(event);
        }
        for t in transmits.drain(..) {
            self.send(slot, from, t);
        }
        self.transmits = transmits;
        self.events = events;
        let s = &mut self.slots[slot];
        match deadline {
            Some(d) => {
                let d = if ticked && d <= now {
                    now + MIN_TICK_STEP
                } else {
                    d.max(now)
                };
                if s.tick_at != Some(d) {
                    s.tick_at = Some(d);
                    self.queue.push(
                        d,
                        Step::Tick {
                            slot: slot as u32,
                            generation: s.generation,
                        },
                    );
                }
            }
            None => s.tick_at = None,
        }
    }

    /// Hands one event to the ledger, a `failed` with the partition's share
    /// in it settled.
    pub(super) fn record(&mut self, event: Event) {
        let partition_caused = event.kind == EventKind::Failed
            && match (
                self.slot_of(event.observer.addr),
                self.slot_of(event.member.addr),
            ) {
                (Some(observer), Some(member)) => {
                    self.heals
                        .partition_caused(observer, member, event.member, self.network.cuts())
                }
                _ => false,
            };
        if let Some(partition) = self.ledger.on_event(event, partition_caused) {
            self.heals.on_false_positive(partition);
        }
    }

    /// Sends one transmit of the node in `src`, listening on `from`: a
    /// datagram through the network, a request as a stream exchange.
    pub(super) fn send(&mut self, src: usize, from: SocketAddr, transmit: Outgoing) {
        if transmit.channel != Channel::Datagram {
            self.request(src, transmit);
            return;
        }
        let bytes = transmit.len;
        self.datagrams.on_datagram(bytes);
        if bytes > self.config.datagram_limit {
            self.drops.oversized += 1;
            return;
        }
        let Some(dst) = self.slot_of(transmit.to) else {
            self.drops.unroutable += 1;
            return;
        };
        if self.traffic.counting(self.now) {
            self.traffic.on_send(src, bytes);
        }
        match self.network.datagram(src, dst) {
            Ok(delay) => self.queue.push(
                self.now + delay,
                Step::Deliver {
                    to: dst as u32,
                    from,
                    len: u32::try_from(bytes).unwrap_or(u32::MAX),
                    payload: transmit.payload,
                },
            ),
            Err(Cut::Lost) => self.drops.in_transit += 1,
            Err(Cut::Partitioned) => self.drops.partitioned += 1,
        }
    }
}

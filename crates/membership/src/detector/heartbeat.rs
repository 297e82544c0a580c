//! Gossip-style heartbeating (van Renesse, Minsky and Hayden): one detector
//! with a pluggable verdict rule, registered as `gossip` (a fixed silence)
//! and as `phi` (φ accrual).
//!
//! Every `heartbeat` a node raises its own counter and sends its heartbeat
//! table — its own counter, then a rotating slice of the others' that fits
//! beside the membership news its core piggybacks, each named by a short
//! tag (see `heartbeat_tags`) — to `fanout` random members. A receiver keeps the highest counter per member and
//! when it last rose; the [`Verdict`] decides when a silence means a
//! suspicion. A rise clears the suspicion at once. A silence shorter than
//! the floor a live member's counter can plausibly show is never a
//! suspicion: in large clusters tables travel in slices, and a given
//! member's counter reaches an observer only now and then (see
//! `HeartbeatTable::silence_floor`).

use std::fmt::Debug;
use std::time::Duration;

use rand::Rng;
use rumor_wire::{MemberState, NodeId, encoded_len};
use serde::{Deserialize, Serialize};

use super::heartbeat_table::{Beat, HeartbeatTable};
use super::heartbeat_tags;
use super::{DetectorContext, FailureDetector, MemberChange};
use crate::{Config, MembershipError, Time, payload};

/// A heartbeat message: the payload of `gossip` and `phi` messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct HeartbeatMessage {
    /// The sender's own counter.
    pub(crate) own: u64,
    /// Others' counters, each a 32-bit tag of the member's identity and
    /// the counter as LEB128 (`heartbeat_tags`).
    #[serde(with = "serde_bytes")]
    pub(crate) packed: Vec<u8>,
    /// Others' counters by full identity: members whose tag another member
    /// in the sender's table shares.
    pub(crate) named: Vec<(NodeId, u64)>,
}

/// When a member's silence becomes a suspicion.
pub trait Verdict: Debug + Send + 'static {
    /// What the rule remembers per member besides the last rise.
    type History: Debug + Default + Send;

    /// The name the detector registers and tags its messages with.
    fn name(&self) -> &'static str;

    /// The member's counter rose after `interval` (not called for the
    /// rise that ends a suspicion: that gap was not a normal interval).
    fn rose(&self, history: &mut Self::History, interval: Duration, config: &Config) {
        let _ = (history, interval, config);
    }

    /// Whether `silence` since the last rise means the member may have
    /// failed; `floor` is the shortest silence that may ever mean it.
    fn is_late(
        &self,
        history: &Self::History,
        silence: Duration,
        floor: Duration,
        config: &Config,
    ) -> bool;
}

/// The heartbeat detector with verdict rule `V`.
#[derive(Debug)]
pub struct Heartbeat<V: Verdict> {
    verdict: V,
    table: HeartbeatTable<V::History>,
    next_beat: Option<Time>,
}

impl<V: Verdict> Heartbeat<V> {
    /// A heartbeat detector judging silences by `verdict`.
    pub fn new(verdict: V) -> Heartbeat<V> {
        Heartbeat {
            verdict,
            table: HeartbeatTable::new(),
            next_beat: None,
        }
    }

    /// Builds one message for one target: this node's counter and a slice
    /// of others' that leaves room for the news the core piggybacks (at
    /// most half the datagram).
    fn message(&mut self, ctx: &DetectorContext<'_>) -> Vec<u8> {
        let limit = ctx.payload_limit();
        let own = self.table.own();
        // The header with its largest length prefixes: a `bin 32` for the
        // packed entries and an `array 32` for the named ones.
        let header = encoded_len(&HeartbeatMessage {
            own,
            ..HeartbeatMessage::default()
        }) + 8;
        let room = limit
            .saturating_sub(ctx.news_bytes().min(limit / 2))
            .saturating_sub(header);
        let mut message = HeartbeatMessage {
            own,
            ..HeartbeatMessage::default()
        };
        self.table
            .fill(room, &mut message.packed, &mut message.named, |e| {
                encoded_len(e)
            });
        payload::encode(&message)
    }

    /// Takes one counter heard for `member`: a rise refutes a standing
    /// suspicion and feeds the verdict rule.
    fn heard(&mut self, ctx: &mut DetectorContext<'_>, member: NodeId, counter: u64) {
        let now = ctx.now();
        let Some(previous) = self.table.observe(&member, counter, now) else {
            return;
        };
        let beat: &mut Beat<V::History> = self
            .table
            .get_mut(&member)
            .expect("observe found the member");
        let was_suspected = beat.suspected;
        if !was_suspected {
            self.verdict
                .rose(&mut beat.extra, now.saturating_sub(previous), ctx.config());
        }
        beat.suspected = false;
        if was_suspected || matches!(ctx.state(&member), Some((MemberState::Suspect, _))) {
            ctx.alive(member);
        }
    }

    fn check(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let config = ctx.config();
        let floor = self
            .table
            .silence_floor(config.heartbeat, config.fanout.get());
        let mut late = Vec::new();
        for (id, beat) in self.table.iter_mut() {
            let silence = now.saturating_sub(beat.last_rise);
            if !beat.suspected && self.verdict.is_late(&beat.extra, silence, floor, config) {
                beat.suspected = true;
                late.push(*id);
            }
        }
        late.sort();
        for id in late {
            ctx.suspect(id);
        }
    }
}

impl<V: Verdict> FailureDetector for Heartbeat<V> {
    fn name(&self) -> &str {
        self.verdict.name()
    }

    fn member_changed(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        member: NodeId,
        change: MemberChange,
    ) {
        self.table.member_changed(member, change, ctx.now());
    }

    fn handle(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        sender: NodeId,
        payload: &[u8],
    ) -> Result<(), MembershipError> {
        let message: HeartbeatMessage = payload::decode(self.verdict.name(), payload)?;
        // Check the packed entries whole before believing any of them.
        if heartbeat_tags::entries(&message.packed).any(|e| e.is_err()) {
            return Err(MembershipError::MalformedPayload {
                detector: self.verdict.name().to_string(),
                reason: "a packed heartbeat entry is cut short or too long".into(),
            });
        }
        self.heard(ctx, sender, message.own);
        for (tag, counter) in heartbeat_tags::entries(&message.packed).flatten() {
            // A tag that names none or several of this node's members
            // (a member it does not track, or a collision) is skipped.
            if let Some(member) = self.table.resolve(tag) {
                self.heard(ctx, member, counter);
            }
        }
        for (member, counter) in message.named {
            self.heard(ctx, member, counter);
        }
        let implausible = self.table.take_implausible();
        if implausible > 0 {
            ctx.count_implausible(implausible);
        }
        Ok(())
    }

    fn tick(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let period = ctx.config().heartbeat;
        let Some(due) = self.next_beat else {
            let first = period.mul_f64(ctx.rng().random_range(0.0..1.0));
            self.next_beat = Some(now + first);
            return;
        };
        if now < due {
            return;
        }
        self.next_beat = Some(now + period);
        self.table.beat();
        let targets = ctx.random_members(ctx.config().fanout.get(), &[]);
        for to in targets {
            let payload = self.message(ctx);
            // Built within payload_limit; an error here is counted by the core.
            let _ = ctx.send(to, payload);
        }
        self.check(ctx);
    }

    fn next_deadline(&self) -> Option<Time> {
        self.next_beat
    }

    fn stalled(&mut self, ctx: &mut DetectorContext<'_>, gap: Duration) {
        self.table.forgive(gap, ctx.now());
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use rumor_wire::Version;

    use super::*;
    use crate::detector::heartbeat_table::HeartbeatTable;

    #[test]
    fn a_heartbeat_entry_costs_a_tag_and_a_short_counter() {
        // Nine others with the counters of a day-old cluster (100 ms beats).
        let mut table: HeartbeatTable<()> = HeartbeatTable::new();
        let members: Vec<NodeId> = (1..10)
            .map(|i| {
                let addr = SocketAddr::from(([10, 0, 0, i], 4000));
                NodeId::new(addr, Version(1_763_900_000_000 + u64::from(i)))
            })
            .collect();
        for (i, m) in members.iter().enumerate() {
            table.add(*m, Time::ZERO);
            let counter = 864_000 + i as u64;
            table.observe(m, counter, Time::from_millis(1));
        }
        let mut message = HeartbeatMessage {
            own: 864_000,
            ..HeartbeatMessage::default()
        };
        table.fill(1_000, &mut message.packed, &mut message.named, |e| {
            encoded_len(e)
        });
        let bytes = payload::encode(&message);
        // 4-byte tag + 3-byte counter each, plus a small header; by full
        // identity each entry took 20 bytes.
        assert!(bytes.len() <= 9 * 7 + 10, "{} bytes", bytes.len());
        let back: HeartbeatMessage = payload::decode("gossip", &bytes).unwrap();
        let heard: Vec<(NodeId, u64)> = heartbeat_tags::entries(&back.packed)
            .map(|e| {
                let (tag, counter) = e.unwrap();
                (table.resolve(tag).unwrap(), counter)
            })
            .collect();
        assert_eq!(heard.len(), 9);
        for (i, m) in members.iter().enumerate() {
            assert!(heard.contains(&(*m, 864_000 + i as u64)), "{m}");
        }
    }
}

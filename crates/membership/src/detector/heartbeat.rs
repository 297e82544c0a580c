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
//!
//! A late member is not suspected at once: from two `probe_timeout_min`
//! before it turns late, it is asked directly for a heartbeat (a message
//! with `ask` set, which it answers at once with a fresh counter), and
//! again `probe_timeout_min` later; only if neither ask brings a rise is
//! it suspected, when it turns late, as it would have been without asks.
//! A live member whose counter merely went unseen costs two datagrams
//! instead of a suspicion and its refutation, which lets heartbeats go out
//! less often for the same detection time.

use std::fmt::Debug;
use std::time::Duration;

use rand::Rng;
use rumor_wire::{MemberState, NodeId, encoded_len};
use serde::{Deserialize, Serialize};

use super::heartbeat_table::{Beat, Confirm, HeartbeatTable};
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
    /// The sender heard no rise of the receiver's counter for a while:
    /// answer at once with a fresh one. Left out of the encoding when
    /// false, so that ordinary heartbeats keep their size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) ask: bool,
}

/// Asks sent to a late member before it is suspected.
const ASKS: u32 = 2;

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

    /// The silence after which [`Verdict::is_late`] will say late, if the
    /// rule knows it in advance: the detector then checks at that moment
    /// rather than at its next heartbeat. `None` (the default): checked at
    /// heartbeats only.
    fn late_after(
        &self,
        history: &Self::History,
        floor: Duration,
        config: &Config,
    ) -> Option<Duration> {
        let _ = (history, floor, config);
        None
    }
}

/// The heartbeat detector with verdict rule `V`.
#[derive(Debug)]
pub struct Heartbeat<V: Verdict> {
    verdict: V,
    table: HeartbeatTable<V::History>,
    next_beat: Option<Time>,
    /// When a member next turns late, or a late one is due another ask or
    /// its suspicion.
    next_check: Option<Time>,
    /// When an ask last raised this node's own counter out of turn.
    last_extra_beat: Option<Time>,
}

impl<V: Verdict> Heartbeat<V> {
    /// A heartbeat detector judging silences by `verdict`.
    pub fn new(verdict: V) -> Heartbeat<V> {
        Heartbeat {
            verdict,
            table: HeartbeatTable::new(),
            next_beat: None,
            next_check: None,
            last_extra_beat: None,
        }
    }

    /// Builds one message for one target: this node's counter and a slice
    /// of others' that leaves room for the news the core piggybacks (at
    /// most half the datagram).
    fn message(&mut self, ctx: &DetectorContext<'_>, ask: bool) -> Vec<u8> {
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
            ask,
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
        beat.confirm = None;
        if !was_suspected {
            self.verdict
                .rose(&mut beat.extra, now.saturating_sub(previous), ctx.config());
        }
        beat.suspected = false;
        if was_suspected || matches!(ctx.state(&member), Some((MemberState::Suspect, _))) {
            ctx.alive(member);
        }
    }

    /// Finds the late members: asks each for a heartbeat, asks again, and
    /// suspects it once every ask went unanswered; notes when to look next.
    fn check(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let config = ctx.config();
        let wait = config.probe_timeout_min;
        // Asks start that much before the member turns late, so that one
        // that stays silent is suspected when it turns late, as without
        // asks.
        let lead = wait * ASKS;
        let floor = self
            .table
            .silence_floor(config.heartbeat, config.fanout.get());
        let mut ask = Vec::new();
        let mut late = Vec::new();
        let mut next: Option<Time> = None;
        for (id, beat) in self.table.iter_mut() {
            if beat.suspected {
                continue;
            }
            let silence = now.saturating_sub(beat.last_rise) + lead;
            if !self.verdict.is_late(&beat.extra, silence, floor, config) {
                beat.confirm = None;
                if let Some(after) = self.verdict.late_after(&beat.extra, floor, config) {
                    let at = beat.last_rise + after.saturating_sub(lead);
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
                continue;
            }
            match beat.confirm.as_mut() {
                None => {
                    beat.confirm = Some(Confirm {
                        asks: 1,
                        next: now + wait,
                    });
                    ask.push(*id);
                }
                Some(confirm) if now >= confirm.next => {
                    if confirm.asks < ASKS {
                        confirm.asks += 1;
                        confirm.next = now + wait;
                        ask.push(*id);
                    } else {
                        beat.confirm = None;
                        beat.suspected = true;
                        late.push(*id);
                    }
                }
                Some(_) => {}
            }
            if let Some(confirm) = beat.confirm {
                next = Some(next.map_or(confirm.next, |n| n.min(confirm.next)));
            }
        }
        // In a large cluster some member is nearly always about to turn
        // late: look again no sooner than a quarter of the asks' spacing,
        // so that the checks between heartbeats cost at most four scans of
        // the table per `wait`.
        self.next_check = next.map(|at| at.max(now + wait / 4));
        ask.sort();
        for id in ask {
            let payload = self.message(ctx, true);
            let _ = ctx.send(id, payload);
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
        if message.ask {
            // A fresh counter, so that the answer is a rise; at most once
            // per `probe_timeout_min`, so that a flood of asks (forged, in
            // the clear) cannot push the counter faster than receivers
            // believe a counter rises and make this node look silent.
            let now = ctx.now();
            let spacing = ctx.config().probe_timeout_min;
            if self
                .last_extra_beat
                .is_none_or(|at| now.saturating_sub(at) >= spacing)
            {
                self.table.beat();
                self.last_extra_beat = Some(now);
            }
            let payload = self.message(ctx, false);
            let _ = ctx.send(sender, payload);
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
            if self.next_check.is_some_and(|at| now >= at) {
                self.check(ctx);
            }
            return;
        }
        self.next_beat = Some(now + period);
        self.table.beat();
        let targets = ctx.random_members(ctx.config().fanout.get(), &[]);
        for to in targets {
            let payload = self.message(ctx, false);
            // Built within payload_limit; an error here is counted by the core.
            let _ = ctx.send(to, payload);
        }
        self.check(ctx);
    }

    fn next_deadline(&self) -> Option<Time> {
        [self.next_beat, self.next_check]
            .into_iter()
            .flatten()
            .min()
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

    fn id(port: u16) -> NodeId {
        NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(1))
    }

    /// A `gossip` core on port 1 that knows the members on ports 2 to 5.
    fn gossip_core() -> crate::Membership {
        let config = Config::default();
        let mut core = crate::Membership::new(
            id(1),
            config,
            super::super::gossip::detector(),
            3,
            Time::ZERO,
        )
        .expect("a valid configuration");
        let members = (2..6)
            .map(|port| rumor_wire::MemberUpdate {
                node: id(port),
                state: MemberState::Alive,
                incarnation: rumor_wire::Incarnation(0),
            })
            .collect();
        crate::membership::admit(&mut core, Time::ZERO, id(2), members);
        core
    }

    fn heartbeat(core: &mut crate::Membership, now: Time, from: NodeId, own: u64, ask: bool) {
        let message = HeartbeatMessage {
            own,
            ask,
            ..HeartbeatMessage::default()
        };
        core.handle(
            now,
            from.addr,
            rumor_wire::Gossip::Detector {
                detector: "gossip".to_string(),
                sender: from,
                payload: payload::encode(&message),
                updates: Vec::new(),
                extras: Default::default(),
            },
        );
    }

    /// The heartbeat messages `core` sent, by destination.
    fn sent(core: &mut crate::Membership) -> Vec<(SocketAddr, HeartbeatMessage)> {
        std::iter::from_fn(|| core.poll_message())
            .filter_map(|out| match out.message {
                rumor_wire::Gossip::Detector { payload, .. } => {
                    Some((out.to, payload::decode("gossip", &payload).unwrap()))
                }
                _ => None,
            })
            .collect()
    }

    /// Runs `core` for a second in 10 ms steps: the members on ports 2, 4
    /// and 5 beat every 100 ms; the one on port 3 never does, but answers
    /// each ask at once if `answers`. Returns when asks went to port 3 and
    /// when it was suspected.
    fn run_with_a_silent_member(answers: bool) -> (Vec<Time>, Option<Time>) {
        let mut core = gossip_core();
        let (mut asks, mut suspected) = (Vec::new(), None);
        let mut counter = 0;
        let mut now = Time::ZERO;
        while now < Time::from_millis(1_000) {
            now += Duration::from_millis(10);
            if now.as_millis() % 100 == 0 {
                counter += 1;
                for port in [2, 4, 5] {
                    heartbeat(&mut core, now, id(port), counter, false);
                }
            }
            core.tick(now);
            for (to, message) in sent(&mut core) {
                assert!(!message.ask || to == id(3).addr, "asked {to}");
                if message.ask {
                    asks.push(now);
                    if answers {
                        heartbeat(&mut core, now, id(3), asks.len() as u64, false);
                    }
                }
            }
            for event in std::iter::from_fn(|| core.poll_event()) {
                if event.kind == crate::EventKind::Suspected {
                    assert_eq!(event.member, id(3), "only the silent member");
                    suspected = suspected.or(Some(event.at));
                }
            }
        }
        (asks, suspected)
    }

    #[test]
    fn a_late_member_is_asked_twice_then_suspected() {
        let config = Config::default();
        let (asks, suspected) = run_with_a_silent_member(false);
        let wait = config.probe_timeout_min;
        assert_eq!(asks.len(), 2, "{asks:?}");
        assert!(asks[0] >= Time::ZERO + config.t_fail - wait * 2, "{asks:?}");
        assert!(asks[1] - asks[0] >= wait, "{asks:?}");
        let suspected = suspected.expect("suspected in the end");
        assert!(suspected - asks[1] >= wait);
        // Suspected when it turns late (the test steps 10 ms at a time),
        // not at the next heartbeat, and not later for the asks.
        let late = Time::ZERO + config.t_fail;
        assert!(
            suspected >= late && suspected <= late + Duration::from_millis(20),
            "{suspected:?}"
        );
    }

    #[test]
    fn a_late_member_that_answers_is_not_suspected() {
        let (asks, suspected) = run_with_a_silent_member(true);
        assert!(!asks.is_empty());
        assert_eq!(suspected, None, "asked at {asks:?}");
    }

    #[test]
    fn an_ask_is_answered_at_once_with_a_risen_counter() {
        let mut core = gossip_core();
        let now = Time::from_millis(50);
        core.tick(now);
        let before = sent(&mut core)
            .iter()
            .map(|(_, m)| m.own)
            .max()
            .unwrap_or(0);
        heartbeat(&mut core, now, id(2), 7, true);
        let answers = sent(&mut core);
        assert_eq!(answers.len(), 1, "{answers:?}");
        let (to, answer) = &answers[0];
        assert_eq!(*to, id(2).addr);
        assert!(answer.own > before && !answer.ask, "{answer:?}");
        // A flood of asks is answered, but raises the counter once per
        // `probe_timeout_min` at most.
        for _ in 0..100 {
            heartbeat(&mut core, now, id(2), 7, true);
        }
        let flood = sent(&mut core);
        assert_eq!(flood.len(), 100);
        assert!(flood.iter().all(|(_, m)| m.own == answer.own), "{flood:?}");
        let later = now + Config::default().probe_timeout_min;
        heartbeat(&mut core, later, id(2), 7, true);
        assert_eq!(sent(&mut core)[0].1.own, answer.own + 1);
        // An ordinary heartbeat encodes as before: no room for `ask`.
        let plain = payload::encode(&HeartbeatMessage::default());
        let asking = payload::encode(&HeartbeatMessage {
            ask: true,
            ..HeartbeatMessage::default()
        });
        assert_eq!(asking.len(), plain.len() + 1);
    }

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

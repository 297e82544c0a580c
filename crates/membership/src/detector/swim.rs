//! `swim`: SWIM (Das, Gupta and Motivala) with Lifeguard's local health
//! awareness and probe timeouts learned from measured round trips.
//!
//! Every protocol period (`probe_interval`) a node probes one member, taken
//! in a randomized round-robin order (see `round`), so every member is
//! probed by every other within about n periods, and the detector keeps no
//! per-member state beyond a bounded table of round trips (which matters
//! when a simulator holds ten thousand nodes of ten thousand members). A
//! member learned during a round is inserted at a random step of the rest
//! of the round, as SWIM inserts newcomers at a random position of its
//! probe list, so it is probed within the current round rather than the
//! next.
//!
//! A probe is a `Ping` answered by an `Ack`. The timeout T for a peer is
//! learned (see `round_trips`): its smoothed round trip plus four
//! deviations, between `probe_timeout_min` and `probe_timeout`. Without an
//! ack within T, the node pings the target directly again and waits
//! another T, up to twice (a lost datagram is the usual cause, and a direct
//! round trip the cheapest second chance: two messages where the indirect
//! probe costs thirteen), while the period leaves room for that and the
//! indirect probe after it. Still no ack: it asks `indirect_probes` random
//! members to probe the target on its behalf (`PingReq`); they relay the
//! target's ack, or answer `Nack` when they got none. When every helper has answered, or
//! their round trips and the target's have passed (and at the latest
//! halfway to the end of the period), it pings the target directly a last
//! time. Still no ack within T, or by the end of the period: the target is
//! suspected, and the core declares it failed unless it refutes with a
//! higher incarnation in time. Judging a probe as soon as its last chance
//! has passed, rather than at the end of the period, is what learned
//! timeouts buy: with long periods (few bytes) a crash is suspected a few
//! round trips after its probe, not a period after it.
//!
//! Periods end on a fixed grid; a node awake anyway for a SWIM message late
//! in a period whose probe was answered starts the next one early, saving
//! the timer's wake-up without changing the probe rate.
//!
//! Membership changes ride piggybacked on every message, each at most
//! λ·log n times (see the dissemination queue), so the load per node is
//! constant in the cluster size. Missed acks and nacks, and having to
//! refute a suspicion of itself, raise the local health multiplier, which stretches the probe timeout (Lifeguard), up to
//! two thirds of the period; successful probes lower it.

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng;
use rumor_wire::NodeId;
use serde::{Deserialize, Serialize};

use super::awareness::Awareness;
use super::round_trips::RoundTrips;
use super::{DetectorContext, FailureDetector, MemberChange};
use crate::member_list::Map;
use crate::node::jitter;
use crate::{Config, DetectorNote, MembershipError, Time, payload};

/// The registered name.
pub const NAME: &str = "swim";

/// The SWIM protocol messages (the core adds membership news to each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum SwimMessage {
    /// Are you alive? Answer `Ack` with the same `seq`.
    Ping { seq: u32 },
    /// Answer to a ping (or a relayed answer to a ping-req).
    Ack { seq: u32 },
    /// Please ping `target` for me and relay its ack with my `seq`.
    PingReq { seq: u32, target: NodeId },
    /// The relay got no ack from the target in time (Lifeguard).
    Nack { seq: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the direct ack until the deadline.
    Direct(Time),
    /// Pinged a second time; waiting for either ack until the deadline.
    Retry(Time),
    /// Ping-reqs sent; the last direct ping is due at this time.
    Indirect(Time),
    /// The last direct ping sent; judged at this time (or at the end of
    /// the period, if that comes first).
    Last(Time),
}

#[derive(Debug, Clone)]
struct Probe {
    target: NodeId,
    seq: u32,
    /// When the first ping went out (round trips are measured from it).
    sent: Time,
    phase: Phase,
    acked: bool,
    /// Direct pings sent to the target.
    pings: u32,
    nacks_expected: u32,
    nacks: u32,
}

#[derive(Debug, Clone, Copy)]
struct Relay {
    origin: NodeId,
    origin_seq: u32,
    target: NodeId,
    sent: Time,
}

/// Members learned during a round wait here, each at a random step of the
/// rest of the round (SWIM inserts a newcomer at a random position of the
/// probe order). More than this many at once (a join storm) starts a fresh
/// round instead, which covers them all without per-member state.
const MAX_PENDING: usize = 64;

/// How much of a period, before its end, a node already awake for a SWIM
/// message may start the next period (when the probe in flight is
/// answered): the period after it still ends on the regular grid, so the
/// probe rate is unchanged, and the wake-up the timer would have cost is
/// saved. With the defaults (100 ms periods, about ten pings a second
/// arriving at random), about half the timer wake-ups fold into a ping's.
const EARLY_START_NUM: u32 = 3;
const EARLY_START_DEN: u32 = 4;

/// Direct pings sent again, each after a timeout, before any helper is
/// asked (when the period leaves room). With datagrams lost at random (the
/// usual cause of a missing ack), each costs two messages where an indirect
/// probe costs thirteen: at 10 % loss a ping and its ack are lost together
/// one time in five, twice in a row one in twenty-seven, three times one in
/// 145. A crashed member is asked this many timeouts later, a few round
/// trips.
const DIRECT_RETRIES: u32 = 2;

/// The SWIM detector.
#[derive(Debug)]
pub struct Swim {
    round: Round,
    /// Members learned during this round and the round step at which each
    /// is probed.
    pending: Vec<(usize, NodeId)>,
    probe: Option<Probe>,
    next_period: Option<Time>,
    next_seq: u32,
    relays: Map<u32, Relay>,
    relay_deadlines: VecDeque<(Time, u32)>,
    health: Awareness,
    round_trips: RoundTrips,
}

impl Swim {
    /// A SWIM detector with the configuration's Lifeguard ceiling.
    pub fn new(config: &Config) -> Swim {
        Swim {
            round: Round::default(),
            pending: Vec::new(),
            probe: None,
            next_period: None,
            next_seq: 0,
            relays: Map::default(),
            relay_deadlines: VecDeque::new(),
            health: Awareness::new(config.awareness_max),
            round_trips: RoundTrips::default(),
        }
    }

    /// The registry constructor.
    pub fn boxed(config: &Config) -> Box<dyn FailureDetector> {
        Box::new(Swim::new(config))
    }

    /// The current local health multiplier (0 = healthy).
    pub fn local_health(&self) -> u32 {
        self.health.score()
    }

    /// How long to wait for `peer`'s ack: its learned timeout stretched by
    /// local health, leaving at least a third of the period for the
    /// indirect probes.
    fn probe_timeout(&self, ctx: &DetectorContext<'_>, peer: &NodeId) -> Duration {
        let config = ctx.config();
        let learned =
            self.round_trips
                .timeout(peer, config.probe_timeout_min, config.probe_timeout);
        self.health
            .scale(learned)
            .min(config.probe_interval * 2 / 3)
    }

    fn seq(&mut self) -> u32 {
        self.next_seq = self.next_seq.wrapping_add(1);
        self.next_seq
    }

    /// The next member to probe in randomized round-robin order.
    fn next_target(&mut self, ctx: &mut DetectorContext<'_>) -> Option<NodeId> {
        // Two rounds at most: the rest of this one, then a fresh one.
        for _ in 0..2 {
            loop {
                // A newcomer whose step has come goes first.
                let due = self
                    .pending
                    .iter()
                    .enumerate()
                    .filter(|(_, (step, _))| *step <= self.round.step())
                    .min_by_key(|(_, (step, _))| *step)
                    .map(|(at, _)| at);
                if let Some(at) = due {
                    let (_, member) = self.pending.swap_remove(at);
                    if ctx.is_live(&member) {
                        return Some(member);
                    }
                    continue;
                }
                let Some(pos) = self.round.next_position() else {
                    break;
                };
                if let Some(member) = ctx.live_member(pos) {
                    return Some(member);
                }
            }
            let n = ctx.live_others();
            // A fresh round covers everyone listed now.
            self.pending.clear();
            if n == 0 {
                return None;
            }
            self.round = Round::new(n, ctx.rng());
        }
        None
    }

    fn send(&mut self, ctx: &mut DetectorContext<'_>, to: NodeId, message: SwimMessage) {
        // A few bytes, far within payload_limit; the core adds the news.
        let _ = ctx.send(to, payload::encode(&message));
    }

    /// The end of a period: judge the finished probe, start the next one,
    /// which ends a period after `base` (the timer's firing time, or the
    /// grid point a period started early skipped).
    fn new_period(&mut self, ctx: &mut DetectorContext<'_>, base: Time) {
        let now = ctx.now();
        self.judge(ctx);
        // The period stays fixed: stretching it under local trouble (as
        // Lifeguard also allows) would slow detection most exactly when many
        // members fail at once and every prober sees failed probes.
        let period = ctx.config().probe_interval;
        self.next_period = Some(base + period);
        let Some(target) = self.next_target(ctx) else {
            return;
        };
        let seq = self.seq();
        let timeout = self.probe_timeout(ctx, &target);
        self.probe = Some(Probe {
            target,
            seq,
            sent: now,
            phase: Phase::Direct(now + timeout),
            acked: false,
            pings: 1,
            nacks_expected: 0,
            nacks: 0,
        });
        ctx.note(DetectorNote::Probe);
        self.send(ctx, target, SwimMessage::Ping { seq });
    }

    /// The probe in flight, if any, is over: an ack lowers the local health
    /// score; none suspects the target.
    fn judge(&mut self, ctx: &mut DetectorContext<'_>) {
        let Some(probe) = self.probe.take() else {
            return;
        };
        if probe.acked {
            self.health.apply(-1);
        } else {
            // Lifeguard (as memberlist applies it): with helpers asked, each
            // missing nack says the trouble may be ours; if every helper
            // answered, the target is the one in trouble.
            let delta = if probe.nacks_expected > 0 {
                probe.nacks_expected.saturating_sub(probe.nacks)
            } else {
                1
            };
            self.health.apply(delta as i32);
            let (direct, indirect) = (probe.pings, probe.nacks_expected);
            ctx.note(DetectorNote::Unanswered {
                target: probe.target,
                direct,
                indirect,
                nacks: probe.nacks,
            });
            ctx.suspect(probe.target);
        }
        ctx.note(DetectorNote::LocalHealth(self.health.score()));
    }

    /// No ack in time: ping directly once more and wait another timeout if
    /// fewer than [`DIRECT_RETRIES`] retries went out and the period leaves
    /// room for that and for the indirect probe after it (loss takes the
    /// cheap way out: two messages); otherwise go indirect.
    fn direct_timeout(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let Some(probe) = self.probe.as_ref() else {
            return;
        };
        let (target, retries) = (probe.target, probe.pings.saturating_sub(1));
        // Planned from the deadline, not from when the timer fired: a
        // driver's timers fire a little late, and the plan must not
        // depend on it.
        let (due, first) = match probe.phase {
            Phase::Direct(due) => (due, true),
            Phase::Retry(due) => (due, false),
            _ => (now, false),
        };
        let timeout = self.probe_timeout(ctx, &target);
        let period_end = self.next_period.unwrap_or(now);
        // The indirect probe after the retry gets at least half a timeout
        // (with the defaults, 100 ms periods and 40 ms timeouts: 20 ms,
        // many round trips on a LAN).
        if retries < DIRECT_RETRIES && due + timeout + timeout / 2 <= period_end {
            if let Some(probe) = self.probe.as_mut() {
                probe.phase = Phase::Retry(due + timeout);
            }
            self.ping_again(ctx);
        } else {
            // Straight from the first ping, the indirect probe goes with a
            // direct one; after a retry, that retry was it.
            self.go_indirect(ctx, first);
        }
    }

    /// Ask k members to probe the target, ping it directly now unless a
    /// retry just did, and a last time once the helpers' answers are due
    /// (a helper's round trip and the target's), at the latest halfway to
    /// the end of the period.
    fn go_indirect(&mut self, ctx: &mut DetectorContext<'_>, ping_now: bool) {
        let now = ctx.now();
        let Some(target) = self.probe.as_ref().map(|p| p.target) else {
            return;
        };
        let helpers = ctx.random_members(ctx.config().indirect_probes, &[target]);
        let slowest_helper = helpers
            .iter()
            .map(|helper| self.probe_timeout(ctx, helper))
            .max()
            .unwrap_or_default();
        let answers_due = now + slowest_helper + self.probe_timeout(ctx, &target);
        let period_end = self.next_period.unwrap_or(now);
        let halfway = now + period_end.saturating_sub(now) / 2;
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        probe.phase = Phase::Indirect(answers_due.min(halfway));
        let seq = probe.seq;
        probe.nacks_expected = helpers.len() as u32;
        let helpers_asked = probe.nacks_expected;
        ctx.note(DetectorNote::IndirectProbe {
            helpers: helpers_asked,
        });
        for helper in helpers {
            self.send(ctx, helper, SwimMessage::PingReq { seq, target });
        }
        if ping_now {
            self.ping_again(ctx);
        }
    }

    /// The helpers' answers are in or overdue: ping the target a last time
    /// and judge the probe one timeout later.
    fn last_ping(&mut self, ctx: &mut DetectorContext<'_>, due: Time) {
        let Some(target) = self.probe.as_ref().map(|p| p.target) else {
            return;
        };
        let timeout = self.probe_timeout(ctx, &target);
        if let Some(probe) = self.probe.as_mut() {
            probe.phase = Phase::Last(due + timeout);
        }
        self.ping_again(ctx);
    }

    fn ping_again(&mut self, ctx: &mut DetectorContext<'_>) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        probe.pings += 1;
        let (target, seq) = (probe.target, probe.seq);
        self.send(ctx, target, SwimMessage::Ping { seq });
    }

    /// Awake for a message anyway: if the period ends within
    /// [`EARLY_START_NUM`]/[`EARLY_START_DEN`] of a period and its probe
    /// was answered (nothing is left to judge), start the next period now
    /// instead of waking for it; the one after still ends on the grid.
    fn start_early(&mut self, ctx: &mut DetectorContext<'_>) {
        let Some(period_end) = self.next_period else {
            return;
        };
        let now = ctx.now();
        let window = ctx.config().probe_interval * EARLY_START_NUM / EARLY_START_DEN;
        if now >= period_end || now + window < period_end {
            return;
        }
        if self.probe.as_ref().is_some_and(|probe| !probe.acked) {
            return;
        }
        self.new_period(ctx, period_end);
    }

    fn expire_relays(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        while let Some(&(deadline, seq)) = self.relay_deadlines.front() {
            if deadline > now {
                break;
            }
            self.relay_deadlines.pop_front();
            if let Some(relay) = self.relays.remove(&seq) {
                self.send(
                    ctx,
                    relay.origin,
                    SwimMessage::Nack {
                        seq: relay.origin_seq,
                    },
                );
            }
        }
    }
}

impl FailureDetector for Swim {
    fn name(&self) -> &str {
        NAME
    }

    fn member_changed(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        member: NodeId,
        change: MemberChange,
    ) {
        // Probe order comes from the core's live list; what the detector
        // tracks per member is only the probe in flight. Being suspected
        // ourselves counts against local health (Lifeguard).
        if change == MemberChange::Suspected && member == ctx.me() {
            self.health.apply(1);
        }
        // A member learned during a round joins it at a random step of the
        // rest of the round, so it is probed within this round, not the
        // next (which at n members is n periods away).
        if change == MemberChange::Joined && self.round.step() < self.round.len() {
            if self.pending.len() >= MAX_PENDING {
                self.pending.clear();
                self.round.finish();
            } else {
                let step = ctx.rng().random_range(self.round.step()..=self.round.len());
                self.pending.push((step, member));
            }
        }
        if change == MemberChange::Down {
            self.round_trips.forget(&member);
        }
    }

    fn handle(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        sender: NodeId,
        payload: &[u8],
    ) -> Result<(), MembershipError> {
        let message: SwimMessage = payload::decode(NAME, payload)?;
        match message {
            SwimMessage::Ping { seq, .. } => {
                self.send(ctx, sender, SwimMessage::Ack { seq });
            }
            SwimMessage::PingReq { seq, target, .. } => {
                let relay_seq = self.seq();
                let now = ctx.now();
                let deadline = now + self.probe_timeout(ctx, &target);
                self.relays.insert(
                    relay_seq,
                    Relay {
                        origin: sender,
                        origin_seq: seq,
                        target,
                        sent: now,
                    },
                );
                self.relay_deadlines.push_back((deadline, relay_seq));
                self.send(ctx, target, SwimMessage::Ping { seq: relay_seq });
            }
            SwimMessage::Ack { seq, .. } => {
                // Probes and relays draw their numbers from one counter, so
                // an ack answers one or the other; the probe is checked
                // first (it is at hand; the relay map is out in memory).
                let now = ctx.now();
                if let Some(probe) = self.probe.as_mut().filter(|p| p.seq == seq) {
                    if !probe.acked {
                        probe.acked = true;
                        let target = probe.target;
                        // Karn's rule: after a retry the ack may answer
                        // either ping; only a lone ping measures.
                        if probe.pings == 1 && sender == target {
                            self.round_trips.sample(target, now - probe.sent);
                        }
                        ctx.alive(target);
                    }
                } else if let Some(relay) = self.relays.remove(&seq) {
                    if sender == relay.target {
                        self.round_trips.sample(relay.target, now - relay.sent);
                    }
                    self.send(
                        ctx,
                        relay.origin,
                        SwimMessage::Ack {
                            seq: relay.origin_seq,
                        },
                    );
                }
            }
            SwimMessage::Nack { seq, .. } => {
                if let Some(probe) = self.probe.as_mut().filter(|p| p.seq == seq) {
                    probe.nacks += 1;
                    // Every helper gave up: the last ping need not wait.
                    if probe.nacks >= probe.nacks_expected
                        && !probe.acked
                        && matches!(probe.phase, Phase::Indirect(_))
                    {
                        let now = ctx.now();
                        self.last_ping(ctx, now);
                    }
                }
            }
        }
        self.start_early(ctx);
        Ok(())
    }

    fn tick(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        self.expire_relays(ctx);
        let Some(period_end) = self.next_period else {
            let interval = ctx.config().probe_interval;
            let first = jitter(ctx.rng(), interval);
            self.next_period = Some(now + first);
            return;
        };
        if now >= period_end {
            self.new_period(ctx, now);
            return;
        }
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        if probe.acked {
            return;
        }
        match probe.phase {
            Phase::Direct(deadline) if now >= deadline => self.direct_timeout(ctx),
            Phase::Retry(deadline) if now >= deadline => self.direct_timeout(ctx),
            Phase::Indirect(due) if now >= due => self.last_ping(ctx, due),
            // Its last chance passed before the period's end: judged now.
            Phase::Last(deadline) if now >= deadline => self.judge(ctx),
            _ => {}
        }
    }

    fn stalled(&mut self, ctx: &mut DetectorContext<'_>, _gap: Duration) {
        // The probe in flight timed out while this node was not running:
        // its ack may be unread in the socket buffer. It is judged by no
        // one; a fresh period starts.
        self.probe = None;
        let interval = ctx.config().probe_interval;
        self.next_period = Some(ctx.now() + interval);
    }

    fn next_deadline(&self) -> Option<Time> {
        let direct = self.probe.as_ref().and_then(|p| match p.phase {
            Phase::Direct(at) | Phase::Retry(at) | Phase::Indirect(at) | Phase::Last(at)
                if !p.acked =>
            {
                Some(at)
            }
            _ => None,
        });
        let relay = self.relay_deadlines.front().map(|(t, _)| *t);
        [self.next_period, direct, relay]
            .into_iter()
            .flatten()
            .min()
    }
}

mod round;
use round::Round;

#[cfg(test)]
mod tests;

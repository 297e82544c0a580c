//! `gossip`: gossip-style heartbeating (van Renesse, Minsky and Hayden), the
//! default detector.
//!
//! Every `heartbeat` a node raises its own counter and sends its heartbeat
//! table (its own counter first, then a rotating slice of the others' that
//! fits the datagram) to `fanout` random members, with membership changes
//! piggybacked. A receiver keeps the highest counter per member and when it
//! last rose. A member whose counter has not risen for `t_fail` is
//! suspected (for large clusters, whose tables travel in slices, `t_fail`
//! is raised to the silence a live member's counter cannot plausibly show:
//! see `HeartbeatTable::silence_floor`); the core declares it failed unless it refutes within the
//! suspicion timeout. A rise seen while suspected clears the suspicion.

use rumor_wire::{MemberState, MemberUpdate, NodeId, encoded_len};
use serde::{Deserialize, Serialize};

use super::heartbeat_table::HeartbeatTable;
use super::{DetectorContext, FailureDetector, MemberChange};
use crate::membership::jitter;
use crate::{Config, MembershipError, Time, payload};

/// The registered name.
pub const NAME: &str = "gossip";

/// A heartbeat message: the payload of `gossip` (and `phi`) messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct HeartbeatMessage {
    /// `(member, counter)`, the sender's own first.
    pub(crate) heartbeats: Vec<(NodeId, u64)>,
    /// Piggybacked membership changes.
    pub(crate) updates: Vec<MemberUpdate>,
}

/// Builds a heartbeat message for one target: piggybacked changes take at
/// most half the room, heartbeats fill the rest.
pub(crate) fn heartbeat_message<T: Default>(
    ctx: &mut DetectorContext<'_>,
    table: &mut HeartbeatTable<T>,
) -> Vec<u8> {
    let limit = ctx.payload_limit();
    // Two array headers of up to 3 bytes each, plus the outer array.
    let room = limit.saturating_sub(encoded_len(&HeartbeatMessage::default()) + 6);
    let updates = ctx.piggyback(room / 2);
    let used = encoded_len(&updates);
    let mut heartbeats = Vec::new();
    table.fill(ctx.me(), room.saturating_sub(used), &mut heartbeats);
    payload::encode(&HeartbeatMessage {
        heartbeats,
        updates,
    })
}

/// The gossip-style heartbeat detector.
#[derive(Debug)]
pub struct Gossip {
    table: HeartbeatTable<()>,
    next_beat: Option<Time>,
}

impl Gossip {
    /// A gossip detector (its knobs are read from the context's config).
    pub fn new() -> Gossip {
        Gossip {
            table: HeartbeatTable::new(),
            next_beat: None,
        }
    }

    /// The registry constructor.
    pub fn boxed(_config: &Config) -> Box<dyn FailureDetector> {
        Box::new(Gossip::new())
    }

    fn check_timeouts(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let config = ctx.config();
        let floor = self.table.silence_floor(config.heartbeat, config.fanout);
        let t_fail = config.t_fail.max(floor);
        let mut late = Vec::new();
        for (id, beat) in self.table.iter_mut() {
            if !beat.suspected && now.saturating_sub(beat.last_rise) >= t_fail {
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

impl Default for Gossip {
    fn default() -> Gossip {
        Gossip::new()
    }
}

impl FailureDetector for Gossip {
    fn name(&self) -> &str {
        NAME
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
        let message: HeartbeatMessage = payload::decode(NAME, payload)?;
        ctx.apply_updates(&sender, &message.updates);
        let now = ctx.now();
        for (member, counter) in message.heartbeats {
            if self.table.observe(&member, counter, now).is_some() {
                let beat = self
                    .table
                    .get_mut(&member)
                    .expect("observe found the member");
                let was_suspected = beat.suspected;
                beat.suspected = false;
                if was_suspected || matches!(ctx.state(&member), Some((MemberState::Suspect, _))) {
                    ctx.alive(member);
                }
            }
        }
        let implausible = std::mem::take(&mut self.table.implausible);
        if implausible > 0 {
            ctx.count_implausible(implausible);
        }
        Ok(())
    }

    fn tick(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let period = ctx.config().heartbeat;
        let Some(due) = self.next_beat else {
            self.next_beat = Some(now + jitter(ctx.rng(), period));
            return;
        };
        if now < due {
            return;
        }
        self.next_beat = Some(now + period);
        self.table.beat();
        let targets = ctx.random_members(ctx.config().fanout, &[]);
        for to in targets {
            let payload = heartbeat_message(ctx, &mut self.table);
            // Built within payload_limit; an error here is counted by the core.
            let _ = ctx.send(to, payload);
        }
        self.check_timeouts(ctx);
    }

    fn next_deadline(&self) -> Option<Time> {
        self.next_beat
    }

    fn stalled(&mut self, ctx: &mut DetectorContext<'_>, gap: std::time::Duration) {
        self.table.forgive(gap, ctx.now());
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use rumor_wire::{Incarnation, Message, Version};

    use super::*;
    use crate::{EventKind, Membership};

    fn id(port: u16) -> NodeId {
        NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(1))
    }

    fn beat(core: &mut Membership, now: Time, from: NodeId, counter: u64) {
        let message = HeartbeatMessage {
            heartbeats: vec![(from, counter)],
            updates: vec![],
        };
        core.handle(
            now,
            from.addr,
            Message::Detector {
                detector: NAME.to_string(),
                sender: from,
                payload: payload::encode(&message),
            },
        );
    }

    #[test]
    fn silence_for_t_fail_suspects_and_a_rise_clears_it() {
        let config = Config::default();
        let mut core =
            Membership::new(id(1), config.clone(), Gossip::boxed(&config), 1, Time::ZERO);
        let x = id(2);
        beat(&mut core, Time::ZERO, x, 1);
        let mut now = Time::ZERO;
        // Beats keep it alive well past t_fail.
        while now < config.t_fail * 3 {
            now += config.heartbeat;
            beat(&mut core, now, x, now.as_millis() as u64);
            core.tick(now);
        }
        let kinds = |core: &mut Membership| -> Vec<EventKind> {
            std::iter::from_fn(|| core.poll_event())
                .filter(|e| e.member == x)
                .map(|e| e.kind)
                .collect()
        };
        assert_eq!(kinds(&mut core), vec![EventKind::Joined]);
        // Then silence: suspected once t_fail passed (checked each heartbeat).
        let silent_from = now;
        while now < silent_from + config.t_fail + config.heartbeat {
            now += Duration::from_millis(10);
            core.tick(now);
        }
        assert_eq!(kinds(&mut core), vec![EventKind::Suspected]);
        // A leap no member could beat is ignored; a plausible rise clears
        // the suspicion at once.
        beat(&mut core, now, x, u64::MAX);
        assert!(kinds(&mut core).is_empty());
        assert_eq!(core.stats().absurd_updates, 1);
        beat(&mut core, now, x, now.as_millis() as u64);
        assert_eq!(kinds(&mut core), vec![EventKind::Alive]);
        let info = core.members().into_iter().find(|m| m.node == x).unwrap();
        assert_eq!(info.incarnation, Incarnation(0));
    }
}

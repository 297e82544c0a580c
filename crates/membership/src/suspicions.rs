//! Suspicions: the stage between alive and failed. This part owns every
//! suspicion this node holds (a [`Suspicion`] each: its start, deadline and
//! confirmations) and the marks of direct evidence of life that make it
//! ignore stale suspicions.
//!
//! A suspicion lasts the suspicion timeout: `t_suspect`, or longer in
//! clusters of more than a thousand members, where news takes longer to
//! reach everyone; with `Config::suspicion_max_mult` above 1 it starts that
//! many times longer and shrinks back as independent accusers confirm it
//! (Lifeguard). The node whose own detector raised it tells the suspect at
//! once and [`SUSPECT_NOTICE_RETRIES`] more times over that span; the
//! suspect answers with a higher incarnation. Fresh direct evidence of life
//! (a heartbeat, an ack) clears a suspicion locally.

use std::net::SocketAddr;
use std::time::Duration;

use rumor_wire::{Incarnation, NodeId};

use crate::member_list::Map;
use crate::suspicion::Suspicion;
use crate::{Config, Time};

/// How long news takes to reach every member, per decade of cluster size.
const DISSEMINATION_PER_DECADE: Duration = Duration::from_millis(500);

/// Direct "you are suspected" notices sent to a member this node suspects:
/// one at once and this many more, spread over the suspicion timeout.
pub(crate) const SUSPECT_NOTICE_RETRIES: u8 = 3;

/// Every suspicion this node holds.
#[derive(Debug, Clone)]
pub(crate) struct Suspicions {
    t_suspect: Duration,
    max_mult: u32,
    expected: u32,
    active: Map<NodeId, Suspicion>,
    /// Suspicions at or below this incarnation are ignored: this node saw
    /// direct evidence of life after them.
    cleared: Map<NodeId, Incarnation>,
}

impl Suspicions {
    /// No suspicions, with the timing of `config`.
    pub(crate) fn new(config: &Config) -> Suspicions {
        Suspicions {
            t_suspect: config.t_suspect,
            max_mult: config.suspicion_max_mult.get(),
            expected: config.suspicion_confirmations,
            active: Map::default(),
            cleared: Map::default(),
        }
    }

    /// The suspicion timeout for a cluster of `live` members (the shortest,
    /// once confirmed): `t_suspect`, or the time news needs to reach
    /// everyone in a large cluster if that is longer (`500 ms · log10 n`:
    /// 1.5 s at 1,000 members, 2 s at 10,000).
    pub(crate) fn timeout(&self, live: usize) -> Duration {
        let n = live as f64;
        self.t_suspect
            .max(DISSEMINATION_PER_DECADE.mul_f64(n.log10().max(0.0)))
    }

    /// Starts suspecting `id` at `now` in a cluster of `live` members, on
    /// the word of `accuser` (`local`: this node's own detector). Returns
    /// the deadline. Confirmations are expected from at most the members
    /// other than the suspect and the accuser.
    pub(crate) fn start(
        &mut self,
        id: NodeId,
        now: Time,
        live: usize,
        accuser: Option<SocketAddr>,
        local: bool,
    ) -> Time {
        let min = self.timeout(live);
        let max = min * self.max_mult;
        let others = u32::try_from(live.saturating_sub(2)).unwrap_or(u32::MAX);
        let suspicion = Suspicion::new(now, min, max, self.expected.min(others), accuser, local);
        let deadline = suspicion.deadline();
        self.active.insert(id, suspicion);
        deadline
    }

    /// `accuser` suspects `id` too: the new deadline if that shortened the
    /// suspicion.
    pub(crate) fn confirm(&mut self, id: &NodeId, accuser: SocketAddr) -> Option<Time> {
        self.active.get_mut(id)?.confirm(accuser)
    }

    /// The suspicion of `id` is over (refuted, turned into a failure, or
    /// the member is gone).
    pub(crate) fn end(&mut self, id: &NodeId) {
        self.active.remove(id);
    }

    /// When the suspicion of `id` runs out, if it is suspected.
    pub(crate) fn deadline(&self, id: &NodeId) -> Option<Time> {
        self.active.get(id).map(Suspicion::deadline)
    }

    /// The timeout the suspicion of `id` runs on, when it can shrink (see
    /// [`Suspicion::timeout`]); `None` for a flat one or no suspicion.
    pub(crate) fn timeout_of(&self, id: &NodeId) -> Option<Duration> {
        self.active.get(id).and_then(Suspicion::timeout)
    }

    /// Whether this node's own detector raised the suspicion of `id`.
    pub(crate) fn is_local(&self, id: &NodeId) -> bool {
        self.active.get(id).is_some_and(Suspicion::is_local)
    }

    /// Sets the deadline of the suspicion of `id` outright (a last chance,
    /// a stall's grace).
    pub(crate) fn pin(&mut self, id: &NodeId, at: Time) {
        if let Some(suspicion) = self.active.get_mut(id) {
            suspicion.pin(at);
        }
    }

    /// Suspected members whose suspicion runs out before `until`.
    pub(crate) fn due_before(&self, until: Time) -> Vec<NodeId> {
        self.active
            .iter()
            .filter(|(_, s)| s.deadline() < until)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every suspicion with its deadline, and whether it is this node's own.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NodeId, Time, bool)> + '_ {
        self.active
            .iter()
            .map(|(id, s)| (*id, s.deadline(), s.is_local()))
    }

    /// Suspicions of `id` at or below this incarnation are ignored.
    pub(crate) fn cleared_upto(&self, id: &NodeId) -> Option<Incarnation> {
        self.cleared.get(id).copied()
    }

    /// Direct evidence that `id` lives at `incarnation`: ignore suspicions
    /// up to it.
    pub(crate) fn clear_upto(&mut self, id: NodeId, incarnation: Incarnation) {
        self.cleared.insert(id, incarnation);
    }

    /// `id` is alive at `incarnation`: an older cleared mark is moot.
    pub(crate) fn alive_at(&mut self, id: &NodeId, incarnation: Incarnation) {
        if incarnation > Incarnation(0) && self.cleared.get(id).is_some_and(|c| *c < incarnation) {
            self.cleared.remove(id);
        }
    }

    /// `id` left the list: forget everything about it.
    pub(crate) fn forget(&mut self, id: &NodeId) {
        self.active.remove(id);
        self.cleared.remove(id);
    }

    /// The suspicions `peer` holds, as this node would hold them having
    /// only heard of them: no cleared marks (that evidence was the peer's).
    pub(crate) fn as_hearsay(&self) -> Suspicions {
        Suspicions {
            active: self
                .active
                .iter()
                .map(|(id, s)| (*id, s.as_hearsay()))
                .collect(),
            cleared: Map::default(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn id(port: u16) -> NodeId {
        NodeId::new(
            SocketAddr::from(([10, 0, 0, 1], port)),
            rumor_wire::Version(1),
        )
    }

    #[test]
    fn the_timeout_grows_with_the_cluster_beyond_a_thousand() {
        let s = Suspicions::new(&Config::default());
        assert_eq!(s.timeout(10), Duration::from_millis(1500));
        assert_eq!(s.timeout(1_000), Duration::from_millis(1500));
        assert_eq!(s.timeout(10_000), Duration::from_secs(2));
    }

    #[test]
    fn by_default_confirmations_change_nothing() {
        let mut s = Suspicions::new(&Config::default());
        let deadline = s.start(id(1), Time::ZERO, 100, Some(id(2).addr), false);
        assert_eq!(deadline, Time::ZERO + s.timeout(100));
        for port in 3..10 {
            assert_eq!(s.confirm(&id(1), id(port).addr), None);
        }
        assert_eq!(s.deadline(&id(1)), Some(deadline));
        assert_eq!(s.timeout_of(&id(1)), None);
    }

    #[test]
    fn with_lifeguard_knobs_confirmations_shorten_a_suspicion_to_the_timeout() {
        let config = Config {
            suspicion_max_mult: NonZeroU32::new(4).unwrap(),
            suspicion_confirmations: 2,
            ..Config::default()
        };
        let mut s = Suspicions::new(&config);
        let min = s.timeout(100);
        let first = s.start(id(1), Time::ZERO, 100, Some(id(2).addr), false);
        assert_eq!(first, Time::ZERO + 4 * min);
        assert_eq!(s.timeout_of(&id(1)), Some(4 * min));
        let second = s.confirm(&id(1), id(3).addr).expect("shorter");
        assert!(second < first && second > Time::ZERO + min);
        assert_eq!(s.confirm(&id(1), id(4).addr), Some(Time::ZERO + min));
        // In a cluster of three, only one member can confirm.
        s.start(id(5), Time::ZERO, 3, Some(id(2).addr), false);
        assert_eq!(s.confirm(&id(5), id(3).addr), Some(Time::ZERO + min));
    }

    #[test]
    fn cleared_marks_last_until_a_newer_incarnation_or_removal() {
        let mut s = Suspicions::new(&Config::default());
        s.clear_upto(id(1), Incarnation(2));
        s.alive_at(&id(1), Incarnation(2));
        assert_eq!(s.cleared_upto(&id(1)), Some(Incarnation(2)));
        s.alive_at(&id(1), Incarnation(3));
        assert_eq!(s.cleared_upto(&id(1)), None);
        s.clear_upto(id(1), Incarnation(3));
        s.start(id(1), Time::ZERO, 10, None, true);
        assert!(s.as_hearsay().cleared_upto(&id(1)).is_none());
        assert!(s.as_hearsay().iter().all(|(_, _, local)| !local));
        s.forget(&id(1));
        assert_eq!(s.cleared_upto(&id(1)), None);
        assert_eq!(s.deadline(&id(1)), None);
    }
}

//! Learned probe timeouts: round-trip times measured to each peer, smoothed
//! as TCP smooths them (RFC 6298: `srtt`, `rttvar`, a timeout of
//! `srtt + 4·rttvar`), so a probe waits about as long as an answer from
//! that peer takes rather than one fixed value for every peer and network.
//!
//! Samples come only from pings sent once and answered (Karn's rule: an
//! ack after a retry could answer either ping). A peer never measured gets
//! the node-wide estimate over every sample; with no sample at all, the
//! configured ceiling. At most [`PEERS`] peers are remembered, so the state
//! stays small however large the cluster (at ten thousand members a node
//! measures each peer once a round of ten thousand periods anyway, and the
//! node-wide estimate is what most probes use there).

use std::time::Duration;

use rumor_wire::NodeId;

use crate::member_list::Map;

/// Most peers with an estimate of their own.
pub(crate) const PEERS: usize = 256;

/// A smoothed round-trip time and its mean deviation (RFC 6298, with its
/// gains of 1/8 and 1/4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Estimate {
    srtt: Duration,
    rttvar: Duration,
}

impl Estimate {
    fn first(sample: Duration) -> Estimate {
        Estimate {
            srtt: sample,
            rttvar: sample / 2,
        }
    }

    fn update(&mut self, sample: Duration) {
        let deviation = self.srtt.abs_diff(sample);
        self.rttvar = (self.rttvar * 3 + deviation) / 4;
        self.srtt = (self.srtt * 7 + sample) / 8;
    }

    fn timeout(&self) -> Duration {
        self.srtt + self.rttvar * 4
    }
}

/// Round trips measured by one node.
#[derive(Debug, Default)]
pub(crate) struct RoundTrips {
    peers: Map<NodeId, Estimate>,
    all: Option<Estimate>,
}

impl RoundTrips {
    /// A ping to `peer`, sent once, was answered after `rtt`.
    pub(crate) fn sample(&mut self, peer: NodeId, rtt: Duration) {
        match self.all.as_mut() {
            Some(all) => all.update(rtt),
            None => self.all = Some(Estimate::first(rtt)),
        }
        if let Some(estimate) = self.peers.get_mut(&peer) {
            estimate.update(rtt);
        } else if self.peers.len() < PEERS {
            self.peers.insert(peer, Estimate::first(rtt));
        }
    }

    /// `peer` is gone: its estimate makes room for another.
    pub(crate) fn forget(&mut self, peer: &NodeId) {
        self.peers.remove(peer);
    }

    /// How long to wait for `peer`'s answer: its estimate (or the node-wide
    /// one), at least `floor` and at most `ceiling`; `ceiling` while
    /// nothing was measured.
    pub(crate) fn timeout(&self, peer: &NodeId, floor: Duration, ceiling: Duration) -> Duration {
        match self.peers.get(peer).or(self.all.as_ref()) {
            Some(estimate) => estimate.timeout().max(floor).min(ceiling),
            None => ceiling,
        }
    }

    /// Peers with an estimate of their own.
    #[cfg(test)]
    pub(crate) fn peers(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> NodeId {
        NodeId::new(
            std::net::SocketAddr::from(([10, 0, 0, 1], port)),
            rumor_wire::Version(1),
        )
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn nothing_measured_waits_the_ceiling_and_a_sample_sets_the_timeout() {
        let mut rtts = RoundTrips::default();
        assert_eq!(rtts.timeout(&peer(1), MS, MS * 40), MS * 40);
        rtts.sample(peer(1), MS * 2);
        // srtt 2 ms, rttvar 1 ms: 6 ms, within [1 ms, 40 ms].
        assert_eq!(rtts.timeout(&peer(1), MS, MS * 40), MS * 6);
        // The floor and the ceiling hold.
        assert_eq!(rtts.timeout(&peer(1), MS * 10, MS * 40), MS * 10);
        assert_eq!(rtts.timeout(&peer(1), MS, MS * 5), MS * 5);
    }

    #[test]
    fn steady_round_trips_tighten_and_a_slow_peer_keeps_its_own() {
        let mut rtts = RoundTrips::default();
        for _ in 0..50 {
            rtts.sample(peer(1), MS * 2);
            rtts.sample(peer(2), MS * 2);
        }
        // Steady samples shrink the deviation: the timeout nears the rtt.
        let near = rtts.timeout(&peer(1), Duration::ZERO, MS * 100);
        assert!(near >= MS * 2 && near < MS * 3, "{near:?}");
        // A peer far away measures its own, larger timeout.
        for _ in 0..50 {
            rtts.sample(peer(3), MS * 30);
        }
        let far = rtts.timeout(&peer(3), Duration::ZERO, MS * 100);
        assert!(far >= MS * 30 && far < MS * 40, "{far:?}");
        assert!(rtts.timeout(&peer(1), Duration::ZERO, MS * 100) < MS * 4);
        // A peer never measured takes the node-wide estimate, which has
        // seen both kinds: longer than the near peers' timeout.
        let unknown = rtts.timeout(&peer(9), Duration::ZERO, MS * 100);
        assert!(unknown > near * 2, "{unknown:?} against {near:?}");
    }

    #[test]
    fn a_jump_in_round_trips_widens_the_timeout_at_once() {
        let mut rtts = RoundTrips::default();
        for _ in 0..50 {
            rtts.sample(peer(1), MS * 2);
        }
        rtts.sample(peer(1), MS * 20);
        // One sample 18 ms late raises rttvar by 18/4 ms: 4·rttvar ≥ 18 ms.
        let after = rtts.timeout(&peer(1), Duration::ZERO, MS * 100);
        assert!(after >= MS * 20, "{after:?}");
    }

    #[test]
    fn the_peers_remembered_are_bounded_and_forgotten_ones_make_room() {
        let mut rtts = RoundTrips::default();
        for port in 0..(PEERS as u16 + 50) {
            rtts.sample(peer(port), MS);
        }
        assert_eq!(rtts.peers(), PEERS);
        rtts.forget(&peer(0));
        assert_eq!(rtts.peers(), PEERS - 1);
        rtts.sample(peer(60_000), MS * 50);
        assert_eq!(rtts.peers(), PEERS);
        assert_eq!(
            rtts.timeout(&peer(60_000), Duration::ZERO, MS * 500),
            MS * 150
        );
    }
}

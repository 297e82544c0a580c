//! The network between simulated nodes: latency, in-transit loss and
//! partitions, as a layer the simulator asks about every message.
//!
//! Nodes are numbered slots `0..N`. A datagram may be lost in transit or cut
//! by a partition; a stream (the TCP exchange of a join request and its
//! answer) is never lost, only cut by a partition, and takes a few round
//! trips longer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rng::DetRng;

/// How the jitter on top of each link's base latency is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum JitterShape {
    /// Uniform in `[0, jitter)`.
    #[default]
    Uniform,
    /// Exponential with mean `jitter` (a long tail of slow messages).
    Exponential,
}

/// The network's settings: the `[network]` table of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NetworkConfig {
    /// One-way latency every message pays.
    #[serde(with = "humantime_serde")]
    pub latency: Duration,
    /// Random extra latency per message (see `jitter_shape`).
    #[serde(with = "humantime_serde")]
    pub jitter: Duration,
    /// Distribution of the jitter.
    pub jitter_shape: JitterShape,
    /// Each directed link gets a fixed extra latency in `[0, link_spread)`,
    /// derived from the run seed: some pairs of nodes are farther apart.
    #[serde(with = "humantime_serde")]
    pub link_spread: Duration,
    /// Probability a datagram is lost in transit (before the receiver-side drop).
    pub loss: f64,
    /// Round trips a stream exchange costs before its message arrives
    /// (connection set-up), on top of one one-way latency.
    pub stream_round_trips: u32,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency: Duration::from_micros(500),
            jitter: Duration::from_micros(500),
            jitter_shape: JitterShape::Uniform,
            link_spread: Duration::ZERO,
            loss: 0.0,
            stream_round_trips: 1,
        }
    }
}

/// Why the network did not deliver a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cut {
    /// Lost in transit (datagrams only).
    Lost,
    /// Blocked by a partition.
    Partitioned,
}

/// A set of slots, as a bit set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSet {
    bits: Vec<u64>,
}

impl SlotSet {
    /// The set of `slots`, in a universe of `n` slots (larger slots are ignored).
    pub fn new(n: usize, slots: impl IntoIterator<Item = usize>) -> SlotSet {
        let mut bits = vec![0u64; n.div_ceil(64)];
        for s in slots.into_iter().filter(|&s| s < n) {
            bits[s / 64] |= 1 << (s % 64);
        }
        SlotSet { bits }
    }

    /// Every slot of a universe of `n` not in `self`.
    pub fn complement(&self, n: usize) -> SlotSet {
        SlotSet::new(n, (0..n).filter(|&s| !self.contains(s)))
    }

    /// Whether `slot` is in the set.
    pub fn contains(&self, slot: usize) -> bool {
        self.bits
            .get(slot / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }
}

/// A cut between two groups of slots; one-way cuts block `from → to` only.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partition {
    from: SlotSet,
    to: SlotSet,
    two_way: bool,
}

impl Partition {
    fn blocks(&self, src: usize, dst: usize) -> bool {
        (self.from.contains(src) && self.to.contains(dst))
            || (self.two_way && self.to.contains(src) && self.from.contains(dst))
    }
}

/// The partitions a heal lifted: what the heal's report still holds nodes
/// responsible for until the cluster is whole again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cuts {
    partitions: Vec<Partition>,
}

impl Cuts {
    /// Whether `a` and `b` were on two sides of one of these cuts, in
    /// either direction.
    pub fn separate(&self, a: usize, b: usize) -> bool {
        self.partitions
            .iter()
            .any(|p| p.blocks(a, b) || p.blocks(b, a))
    }

    /// True when there was nothing to heal.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }
}

/// The network state of one run.
pub struct Network {
    config: NetworkConfig,
    rng: DetRng,
    link_salt: u64,
    cuts: Cuts,
}

impl Network {
    /// A network with `config`, drawing from `seed`.
    pub fn new(config: NetworkConfig, seed: u64) -> Network {
        let mut rng = DetRng::new(seed);
        let link_salt = rng.next_u64();
        Network {
            config,
            rng,
            link_salt,
            cuts: Cuts::default(),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Changes the in-transit loss probability.
    pub fn set_loss(&mut self, loss: f64) {
        self.config.loss = loss;
    }

    /// Cuts `from → to` (and `to → from` unless `one_way`).
    pub fn partition(&mut self, from: SlotSet, to: SlotSet, one_way: bool) {
        self.cuts.partitions.push(Partition {
            from,
            to,
            two_way: !one_way,
        });
    }

    /// Heals every partition; returns the cuts lifted.
    pub fn heal(&mut self) -> Cuts {
        std::mem::take(&mut self.cuts)
    }

    /// The partitions in force.
    pub fn cuts(&self) -> &Cuts {
        &self.cuts
    }

    /// Whether some partition blocks `src → dst`.
    pub fn is_blocked(&self, src: usize, dst: usize) -> bool {
        self.cuts.partitions.iter().any(|p| p.blocks(src, dst))
    }

    /// The fate of one datagram `src → dst`: its one-way delay, or why it is cut.
    pub fn datagram(&mut self, src: usize, dst: usize) -> Result<Duration, Cut> {
        if self.is_blocked(src, dst) {
            return Err(Cut::Partitioned);
        }
        if self.rng.chance(self.config.loss) {
            return Err(Cut::Lost);
        }
        Ok(self.one_way(src, dst))
    }

    /// The fate of one stream exchange `src → dst` (reliable unless partitioned).
    pub fn stream(&mut self, src: usize, dst: usize) -> Result<Duration, Cut> {
        if self.is_blocked(src, dst) || self.is_blocked(dst, src) {
            return Err(Cut::Partitioned);
        }
        let mut delay = self.one_way(src, dst);
        for _ in 0..self.config.stream_round_trips {
            delay += self.one_way(src, dst) + self.one_way(dst, src);
        }
        Ok(delay)
    }

    /// The delay of an answer `src → dst` on a stream already open (one
    /// one-way latency), or why it cannot get through.
    pub fn answer(&mut self, src: usize, dst: usize) -> Result<Duration, Cut> {
        if self.is_blocked(src, dst) {
            return Err(Cut::Partitioned);
        }
        Ok(self.one_way(src, dst))
    }

    /// One round trip `src → dst → src`: what a refused connection costs
    /// before the refusal comes back.
    pub fn round_trip(&mut self, src: usize, dst: usize) -> Duration {
        self.one_way(src, dst) + self.one_way(dst, src)
    }

    fn one_way(&mut self, src: usize, dst: usize) -> Duration {
        let c = &self.config;
        let mut nanos = c.latency.as_nanos() as f64;
        let spread = c.link_spread.as_nanos() as u64;
        if spread > 0 {
            let link = crate::rng::derive_seed(self.link_salt, src as u64, dst as u64);
            nanos += (link % spread) as f64;
        }
        let jitter = c.jitter.as_nanos() as f64;
        if jitter > 0.0 {
            let u = self.rng.next_f64();
            nanos += match c.jitter_shape {
                JitterShape::Uniform => u * jitter,
                // 1 - u is in (0, 1], so the logarithm is finite.
                JitterShape::Exponential => -(1.0 - u).ln() * jitter,
            };
        }
        Duration::from_nanos(nanos as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> NetworkConfig {
        NetworkConfig {
            latency: Duration::from_millis(2),
            jitter: Duration::ZERO,
            ..NetworkConfig::default()
        }
    }

    #[test]
    fn latency_is_base_plus_bounded_jitter() {
        let mut net = Network::new(
            NetworkConfig {
                latency: Duration::from_millis(1),
                jitter: Duration::from_millis(4),
                ..NetworkConfig::default()
            },
            9,
        );
        for _ in 0..1000 {
            let d = net.datagram(0, 1).unwrap();
            assert!(
                d >= Duration::from_millis(1) && d < Duration::from_millis(5),
                "{d:?}"
            );
        }
    }

    #[test]
    fn link_spread_is_fixed_per_link() {
        let mut net = Network::new(
            NetworkConfig {
                link_spread: Duration::from_millis(10),
                ..quiet()
            },
            1,
        );
        let a = net.datagram(3, 4).unwrap();
        assert_eq!(net.datagram(3, 4).unwrap(), a);
        let others: Vec<_> = (5..20).map(|d| net.datagram(3, d).unwrap()).collect();
        assert!(
            others.iter().any(|&d| d != a),
            "every link got the same spread"
        );
    }

    #[test]
    fn loss_applies_to_datagrams_not_streams() {
        let mut net = Network::new(
            NetworkConfig {
                loss: 1.0,
                ..quiet()
            },
            1,
        );
        assert_eq!(net.datagram(0, 1), Err(Cut::Lost));
        assert_eq!(net.stream(0, 1), Ok(Duration::from_millis(6)));
    }

    #[test]
    fn partitions_block_and_heal() {
        let n = 6;
        let mut net = Network::new(quiet(), 1);
        let a = SlotSet::new(n, [0, 1, 2]);
        let b = a.complement(n);
        net.partition(a.clone(), b.clone(), true);
        assert_eq!(net.datagram(0, 4), Err(Cut::Partitioned));
        assert!(
            net.datagram(4, 0).is_ok(),
            "one-way cut blocked the reverse"
        );
        assert!(net.datagram(0, 1).is_ok());
        // A stream needs both directions.
        assert_eq!(net.stream(4, 0), Err(Cut::Partitioned));
        assert!(net.cuts().separate(4, 0) && net.cuts().separate(0, 4));
        assert!(!net.cuts().separate(0, 1));
        let lifted = net.heal();
        assert!(lifted.separate(4, 0), "the heal returns what it lifted");
        assert!(net.cuts().is_empty());
        net.partition(a, b, false);
        assert_eq!(net.datagram(4, 0), Err(Cut::Partitioned));
        assert_eq!(net.answer(4, 0), Err(Cut::Partitioned));
        net.heal();
        assert!(net.datagram(0, 4).is_ok());
        assert_eq!(net.answer(0, 4), Ok(Duration::from_millis(2)));
        assert_eq!(net.round_trip(0, 4), Duration::from_millis(4));
    }
}

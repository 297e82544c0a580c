//! A moment's picture of a running agent: what `rumor info` prints and the
//! Prometheus endpoint exports, taken on the main thread (the only one that
//! sees the core) and handed to whoever asked.

use rumor_membership::Stats;
use rumor_transport::ServiceStats;
use rumor_wire::{MemberState, NodeId};

use crate::driver::DriverStats;

/// Members per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberCounts {
    /// Alive.
    pub alive: u64,
    /// Suspected.
    pub suspected: u64,
    /// Failed (listed until `t_delete`).
    pub failed: u64,
    /// Left (listed until `t_delete`).
    pub left: u64,
}

impl MemberCounts {
    /// Counts the states of `states`.
    pub fn of(states: impl IntoIterator<Item = MemberState>) -> MemberCounts {
        let mut counts = MemberCounts::default();
        for state in states {
            match state {
                MemberState::Alive => counts.alive += 1,
                MemberState::Suspect => counts.suspected += 1,
                MemberState::Failed => counts.failed += 1,
                MemberState::Left => counts.left += 1,
            }
        }
        counts
    }

    /// `(state name, count)` pairs, names as `rumor members` prints them.
    pub fn named(&self) -> [(&'static str, u64); 4] {
        [
            ("alive", self.alive),
            ("suspected", self.suspected),
            ("failed", self.failed),
            ("left", self.left),
        ]
    }
}

/// Everything counted about an agent at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The agent.
    pub node: NodeId,
    /// Whether it is a member of a cluster (not joining, not leaving).
    pub joined: bool,
    /// Members by state, itself included.
    pub members: MemberCounts,
    /// The core's counters.
    pub core: Stats,
    /// The main thread's datagram counters.
    pub driver: DriverStats,
    /// Bytes waiting in the UDP socket's receive buffer for the main
    /// thread, as the kernel counts them (with each datagram's overhead).
    pub queue_depth: u64,
    /// Datagrams the kernel dropped because that buffer was full.
    pub queue_full: u64,
    /// The detector's local health score (0 is healthy).
    pub local_health: u32,
    /// The TCP service's counters.
    pub service: ServiceStats,
}

impl Snapshot {
    /// Every figure by name, as `rumor info` lists them.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .members
            .named()
            .iter()
            .map(|(state, n)| (format!("members_{state}"), *n))
            .collect();
        let c = &self.core;
        let d = &self.driver;
        let s = &self.service;
        let figures: [(&str, u64); 34] = [
            ("datagrams_received", d.datagrams),
            ("datagrams_sent", d.sent),
            ("bytes_received", d.bytes_in),
            ("bytes_sent", d.bytes_out),
            ("send_errors", d.send_errors),
            ("dropped_malformed", d.malformed),
            ("dropped_unauthenticated", d.unauthenticated),
            ("dropped_wrong_kind", d.wrong_kind),
            ("dropped_queue_full", self.queue_full),
            ("dropped_receiver_drop", d.injected_drops),
            ("config_reloads", d.reloads),
            ("config_reloads_failed", d.reloads_failed),
            ("queue_depth", self.queue_depth),
            ("suspicions_raised", c.suspicions),
            ("suspicions_refuted", c.refutations),
            ("self_refutations", c.self_refutations),
            ("failures_declared", c.failures_declared),
            ("probes", c.probes),
            ("indirect_probes", c.indirect_probes),
            ("anti_entropy_exchanges", c.anti_entropy),
            ("anti_entropy_repairs", c.digest_repairs),
            ("rejoins", c.rejoins),
            ("reconnect_attempts", c.reconnect_attempts),
            ("stalls", c.stalls),
            ("metadata_updates", c.metadata_updates),
            ("broadcasts_sent", c.broadcasts_sent),
            ("broadcasts_received", c.broadcasts_received),
            ("broadcast_duplicates", c.broadcast_duplicates),
            ("broadcasts_dropped", c.broadcasts_dropped),
            ("local_health", u64::from(self.local_health)),
            ("tcp_accepted", s.accepted),
            ("tcp_requests", s.delivered),
            (
                "tcp_refused",
                s.refused_busy + s.refused_source + s.rate_limited,
            ),
            ("tcp_unauthenticated", s.unauthenticated),
        ];
        out.extend(figures.iter().map(|(name, n)| (name.to_string(), *n)));
        out
    }
}

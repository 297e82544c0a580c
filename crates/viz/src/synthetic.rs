//! Synthetic cluster histories, for benchmarks, demos and tests that need
//! more events than one writes by hand.
//!
//! Members join one after another; observers (the members that keep a log)
//! record every join, then some members crash (suspected, failed, removed by
//! every live observer), some leave, and refuted false suspicions fill the
//! rest of the event budget. Deterministic for a given seed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rumor_wire::{Incarnation, NodeId, Version};

use crate::{EventKind, LogEvent, VizError, input::EVENTS_FILE};

/// The shape of a synthetic history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticCluster {
    /// Members that join.
    pub members: usize,
    /// How many of them keep a log (the first ones to join).
    pub observers: usize,
    /// Members that crash (non-observers first).
    pub crashes: usize,
    /// Members that leave voluntarily.
    pub leaves: usize,
    /// Event budget: refuted suspicions are added until the history has this
    /// many events (never fewer than the joins, crashes and leaves need).
    pub events: usize,
    /// Seed of the generator.
    pub seed: u64,
}

/// Unix ms of the first join.
const ORIGIN_MS: u64 = 1_763_900_000_000;

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

impl SyntheticCluster {
    /// The id of member `i`.
    pub fn node(&self, i: usize) -> NodeId {
        let ip = Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250 + 1) as u8);
        let addr = SocketAddr::new(IpAddr::V4(ip), 4000);
        NodeId::new(addr, Version(ORIGIN_MS + self.join_at(i)))
    }

    fn join_gap(&self) -> u64 {
        (20_000 / self.members.max(1) as u64).clamp(1, 500)
    }

    fn join_at(&self, i: usize) -> u64 {
        i as u64 * self.join_gap()
    }

    /// The events of every observer, merged by time.
    pub fn generate(&self) -> Vec<LogEvent> {
        let n = self.members;
        let observers = self.observers.min(n);
        let mut rng = SplitMix(self.seed);
        let joins_end = self.join_at(n.saturating_sub(1)) + 1_000;
        let quiet = 20_000;
        let end = joins_end + quiet + 10_000 * (self.crashes + self.leaves).clamp(1, 4) as u64;
        // Who crashes and who leaves: non-observers first, never member 0.
        let mut order: Vec<usize> = (observers.max(1)..n)
            .chain((1..observers.min(n)).rev())
            .collect();
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let mut gone_at: Vec<Option<u64>> = vec![None; n];
        let mut fates = Vec::new();
        let window = end - joins_end - 12_000;
        for (k, &member) in order.iter().take(self.crashes + self.leaves).enumerate() {
            let at = joins_end + 2_000 + rng.below(window);
            gone_at[member] = Some(at);
            fates.push((member, at, k < self.crashes));
        }
        let alive_at = |m: usize, t: u64, gone_at: &[Option<u64>]| {
            self.join_at(m) <= t && gone_at[m].is_none_or(|g| t < g)
        };

        let mut events: Vec<(u64, usize, EventKind, usize)> = Vec::new();
        let push = |events: &mut Vec<_>, t: u64, o: usize, kind: EventKind, m: usize| {
            events.push((t, o, kind, m));
        };
        for o in 0..observers {
            push(&mut events, self.join_at(o), o, EventKind::Joined, o);
            for m in 0..n {
                if m == o {
                    continue;
                }
                let t = self.join_at(m).max(self.join_at(o)) + 20 + rng.below(400);
                if alive_at(o, t, &gone_at) {
                    push(&mut events, t, o, EventKind::Joined, m);
                }
            }
        }
        for &(member, at, crashed) in &fates {
            for o in 0..observers {
                if o == member {
                    continue;
                }
                if crashed {
                    let suspected = at + 800 + rng.below(1_200);
                    let failed = suspected + 400 + rng.below(1_600);
                    if alive_at(o, failed, &gone_at) && self.join_at(o) < at {
                        push(&mut events, suspected, o, EventKind::Suspected, member);
                        push(&mut events, failed, o, EventKind::Failed, member);
                        push(&mut events, failed + 5_000, o, EventKind::Removed, member);
                    }
                } else {
                    let left = at + 20 + rng.below(300);
                    if alive_at(o, left, &gone_at) && self.join_at(o) < at {
                        push(&mut events, left, o, EventKind::Left, member);
                        push(&mut events, left + 5_000, o, EventKind::Removed, member);
                    }
                }
            }
            if !crashed && member < observers {
                push(&mut events, at, member, EventKind::Left, member);
            }
        }
        let mut attempts = 0;
        while events.len() + 1 < self.events && attempts < self.events * 4 && observers > 0 {
            attempts += 1;
            let o = rng.below(observers as u64) as usize;
            let m = rng.below(n as u64) as usize;
            let t = joins_end + rng.below(end - joins_end - 3_000);
            if o == m || !alive_at(o, t + 2_000, &gone_at) || !alive_at(m, t + 2_000, &gone_at) {
                continue;
            }
            push(&mut events, t, o, EventKind::Suspected, m);
            push(
                &mut events,
                t + 200 + rng.below(1_500),
                o,
                EventKind::Alive,
                m,
            );
        }
        events.sort_by_key(|&(t, o, _, _)| (t, o));
        let detector: Arc<str> = Arc::from("gossip");
        events
            .into_iter()
            .map(|(t, o, kind, m)| LogEvent {
                ts_ms: ORIGIN_MS + t,
                observer: self.node(o),
                kind,
                member: self.node(m),
                incarnation: Incarnation(0),
                detector: detector.clone(),
            })
            .collect()
    }

    /// Writes the history as one `events.jsonl` per observer, in
    /// `dir/node-N/`, the way agents' data directories hold them. Returns the
    /// number of events written.
    pub fn write_logs(&self, dir: &Path) -> Result<usize, VizError> {
        let events = self.generate();
        let mut logs: Vec<String> = vec![String::new(); self.observers.min(self.members)];
        let index = |id: &NodeId| -> usize {
            let [_, _, hi, lo] = match id.addr.ip() {
                IpAddr::V4(ip) => ip.octets(),
                IpAddr::V6(_) => unreachable!("synthetic nodes are IPv4"),
            };
            hi as usize * 250 + lo as usize - 1
        };
        for e in &events {
            let log = &mut logs[index(&e.observer)];
            log.push_str(&e.to_json_line());
            log.push('\n');
        }
        for (i, log) in logs.iter().enumerate() {
            let node_dir = dir.join(format!("node-{i:04}"));
            let write = |source| VizError::Read {
                path: node_dir.clone(),
                source,
            };
            std::fs::create_dir_all(&node_dir).map_err(write)?;
            std::fs::write(node_dir.join(EVENTS_FILE), log).map_err(write)?;
        }
        Ok(events.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Replay;

    #[test]
    fn meets_the_budget_and_crashes_are_detected_by_all() {
        let cluster = SyntheticCluster {
            members: 50,
            observers: 10,
            crashes: 3,
            leaves: 2,
            events: 2_000,
            seed: 7,
        };
        let events = cluster.generate();
        assert!(
            events.len() >= 1_990 && events.len() <= 2_000,
            "{}",
            events.len()
        );
        assert!(events.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
        let replay = Replay::new(&events).unwrap();
        assert_eq!(replay.members().len(), 50);
        assert_eq!(replay.crashes().len(), 3);
        for crash in replay.crashes() {
            assert_eq!(crash.reports.len(), crash.expected as usize);
        }
        assert_eq!(cluster.generate(), events, "deterministic");
    }
}

//! Messages and bytes each node sends, per second of its life inside the
//! measurement window (from the end of warm-up to the end of the run).

use rumor_membership::Time;

use crate::report::secs;

/// What one slot sent.
#[derive(Default, Clone, Copy)]
struct Sent {
    messages: u64,
    bytes: u64,
}

#[derive(Default, Clone, Copy)]
struct SlotTraffic {
    live: Time,
    live_since: Option<Time>,
}

/// Per-slot send counters. The counters bumped on every send sit apart
/// from the lifetimes, 16 bytes a node, so that at 10,000 nodes they stay
/// in cache.
pub(crate) struct Traffic {
    window_start: Time,
    slots: Vec<SlotTraffic>,
    /// Messages and bytes sent, per slot.
    sent: Vec<Sent>,
}

/// Rates over the measurement window.
pub(crate) struct Rates {
    pub messages_per_node_s: f64,
    pub bytes_per_node_s: f64,
    pub max_bytes_per_node_s: f64,
}

impl Traffic {
    pub fn new(nodes: usize, window_start: Time) -> Traffic {
        Traffic {
            window_start,
            slots: vec![SlotTraffic::default(); nodes],
            sent: vec![Sent::default(); nodes],
        }
    }

    /// Whether sends at `now` count (the bytes need computing only then).
    pub fn counting(&self, now: Time) -> bool {
        now >= self.window_start
    }

    pub fn on_send(&mut self, slot: usize, bytes: usize) {
        let sent = &mut self.sent[slot];
        sent.messages += 1;
        sent.bytes += bytes as u64;
    }

    pub fn on_start(&mut self, slot: usize, now: Time) {
        self.slots[slot].live_since = Some(now);
    }

    pub fn on_stop(&mut self, slot: usize, now: Time) {
        let start = self.window_start;
        let s = &mut self.slots[slot];
        if let Some(since) = s.live_since.take() {
            let from = since.max(start);
            if now > from {
                s.live += now - from;
            }
        }
    }

    /// Closes every live slot at `end` and computes the rates.
    pub fn finish(&mut self, end: Time) -> Rates {
        for slot in 0..self.slots.len() {
            self.on_stop(slot, end);
        }
        let live: f64 = self.slots.iter().map(|s| secs(s.live)).sum();
        let messages: u64 = self.sent.iter().map(|s| s.messages).sum();
        let bytes: u64 = self.sent.iter().map(|s| s.bytes).sum();
        let per = |x: u64| if live > 0.0 { x as f64 / live } else { 0.0 };
        // Nodes that lived less than a second in the window give noisy rates.
        let max_bytes = self
            .slots
            .iter()
            .zip(&self.sent)
            .filter(|(s, _)| secs(s.live) >= 1.0)
            .map(|(s, sent)| sent.bytes as f64 / secs(s.live))
            .fold(0.0, f64::max);
        Rates {
            messages_per_node_s: per(messages),
            bytes_per_node_s: per(bytes),
            max_bytes_per_node_s: max_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rates_count_only_the_window_and_live_time() {
        let s = Duration::from_secs;
        let mut t = Traffic::new(2, s(10));
        t.on_start(0, s(0));
        t.on_start(1, s(0));
        assert!(!t.counting(s(5)));
        assert!(t.counting(s(10)));
        for _ in 0..10 {
            t.on_send(0, 100);
        }
        t.on_stop(1, s(15)); // node 1 lives 5 s of the window
        t.on_send(1, 500);
        let r = t.finish(s(20)); // node 0 lives 10 s of it
        assert!((r.messages_per_node_s - 11.0 / 15.0).abs() < 1e-9);
        assert!((r.bytes_per_node_s - 1500.0 / 15.0).abs() < 1e-9);
        assert!((r.max_bytes_per_node_s - 100.0).abs() < 1e-9);
    }
}

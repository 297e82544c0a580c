//! Per-source limits: how many connections one address may hold open, and
//! how many requests it may make, so that one noisy or hostile source
//! cannot starve everyone else's joins and queries.
//!
//! Connections are counted per IP address (the port changes with every
//! connection). Requests are metered per IP by a token bucket: `rate` a
//! second on average, bursts of `burst`. The table of sources is bounded:
//! past `max_sources` addresses, idle entries (no open connection, bucket
//! full again) are dropped first, and a source that finds the table full
//! of busy ones is refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// The limits themselves.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SourceLimits {
    /// Connections one IP may hold open at once.
    pub connections_per_source: usize,
    /// Requests one IP may make per second, on average.
    pub requests_per_second: f64,
    /// Requests one IP may make at once after being idle.
    pub burst: f64,
    /// Sources tracked at most.
    pub max_sources: usize,
}

impl Default for SourceLimits {
    /// 16 connections and 50 requests a second (bursts of 100) per source,
    /// 4,096 sources.
    fn default() -> SourceLimits {
        SourceLimits {
            connections_per_source: 16,
            requests_per_second: 50.0,
            burst: 100.0,
            max_sources: 4096,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Source {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

/// The per-source accounting of one service.
#[derive(Debug)]
pub(crate) struct Sources {
    limits: SourceLimits,
    table: HashMap<IpAddr, Source>,
}

impl Sources {
    pub(crate) fn new(limits: SourceLimits) -> Sources {
        Sources {
            limits,
            table: HashMap::new(),
        }
    }

    fn entry(&mut self, ip: IpAddr, now: Instant) -> Option<&mut Source> {
        if !self.table.contains_key(&ip) && self.table.len() >= self.limits.max_sources {
            let burst = self.limits.burst;
            let rate = self.limits.requests_per_second;
            self.table.retain(|_, s| {
                let refill = now.saturating_duration_since(s.refilled).as_secs_f64() * rate;
                s.open > 0 || s.tokens + refill < burst
            });
            if self.table.len() >= self.limits.max_sources {
                return None;
            }
        }
        let burst = self.limits.burst;
        Some(self.table.entry(ip).or_insert(Source {
            open: 0,
            tokens: burst,
            refilled: now,
        }))
    }

    /// A connection from `ip` wants in: true (and counted) if it may.
    pub(crate) fn open(&mut self, ip: IpAddr, now: Instant) -> bool {
        let most = self.limits.connections_per_source;
        match self.entry(ip, now) {
            Some(source) if source.open < most => {
                source.open += 1;
                true
            }
            _ => false,
        }
    }

    /// A connection from `ip` ended.
    pub(crate) fn close(&mut self, ip: IpAddr) {
        if let Some(source) = self.table.get_mut(&ip) {
            source.open = source.open.saturating_sub(1);
        }
    }

    /// A request from `ip`: true (and metered) if it may be served.
    pub(crate) fn request(&mut self, ip: IpAddr, now: Instant) -> bool {
        let (rate, burst) = (self.limits.requests_per_second, self.limits.burst);
        let Some(source) = self.entry(ip, now) else {
            return false;
        };
        let refill = now.saturating_duration_since(source.refilled).as_secs_f64() * rate;
        source.tokens = (source.tokens + refill).min(burst);
        source.refilled = now;
        if source.tokens >= 1.0 {
            source.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Sources tracked now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn connections_per_source_are_capped_and_freed_on_close() {
        let limits = SourceLimits {
            connections_per_source: 2,
            ..SourceLimits::default()
        };
        let mut s = Sources::new(limits);
        let now = Instant::now();
        assert!(s.open(ip(1), now));
        assert!(s.open(ip(1), now));
        assert!(!s.open(ip(1), now), "a third from the same source");
        assert!(s.open(ip(2), now), "another source is not affected");
        s.close(ip(1));
        assert!(s.open(ip(1), now));
    }

    #[test]
    fn requests_are_metered_by_a_token_bucket() {
        let limits = SourceLimits {
            requests_per_second: 10.0,
            burst: 5.0,
            ..SourceLimits::default()
        };
        let mut s = Sources::new(limits);
        let now = Instant::now();
        let served = (0..20).filter(|_| s.request(ip(1), now)).count();
        assert_eq!(served, 5, "a burst, then nothing");
        assert!(s.request(ip(2), now), "another source has its own bucket");
        let later = now + Duration::from_millis(500);
        let served = (0..20).filter(|_| s.request(ip(1), later)).count();
        assert_eq!(served, 5, "half a second at 10/s refills 5");
    }

    #[test]
    fn the_table_is_bounded_and_forgets_idle_sources_first() {
        let limits = SourceLimits {
            max_sources: 3,
            ..SourceLimits::default()
        };
        let mut s = Sources::new(limits);
        let now = Instant::now();
        assert!(s.open(ip(1), now));
        assert!(s.open(ip(2), now));
        assert!(s.open(ip(3), now));
        assert!(!s.open(ip(4), now), "full of sources with open connections");
        s.close(ip(2));
        assert!(s.open(ip(4), now), "the idle one made room");
        assert_eq!(s.len(), 3);
    }
}

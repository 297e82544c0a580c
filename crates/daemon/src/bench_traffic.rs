//! What agents send while nothing happens: bytes and datagrams per agent
//! per second, as the agents count them, with the IP and UDP headers each
//! datagram carries on the wire added (`rumor bench-detect` reports it
//! beside detection times, so a point of the detection-per-byte frontier
//! comes from one command).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::DaemonError;
use crate::control::query_info;

/// IPv4 (20 bytes) and UDP (8 bytes) headers of one datagram.
pub const IPV4_UDP_HEADERS: u64 = 28;

/// One agent's send counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    datagrams: u64,
    bytes: u64,
}

/// Per-agent send rates over a window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Traffic {
    /// The window measured, in seconds.
    pub seconds: f64,
    /// Bytes per second each agent sent, IP and UDP headers included, sorted.
    pub bytes_per_second: Vec<f64>,
    /// Datagrams per second each agent sent, sorted.
    pub datagrams_per_second: Vec<f64>,
}

impl Traffic {
    /// The median of the per-agent bytes per second.
    pub fn median_bytes(&self) -> f64 {
        median(&self.bytes_per_second)
    }

    /// The median of the per-agent datagrams per second.
    pub fn median_datagrams(&self) -> f64 {
        median(&self.datagrams_per_second)
    }
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn sample(agent: SocketAddr) -> Result<Sample, DaemonError> {
    let info = query_info(agent, None, Duration::from_secs(2))?;
    let counter = |name: &str| {
        info.counters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| DaemonError::Cluster(format!("{agent} reports no {name} counter")))
    };
    Ok(Sample {
        at: Instant::now(),
        datagrams: counter("datagrams_sent")?,
        bytes: counter("bytes_sent")?,
    })
}

/// Samples every agent's send counters, waits `window`, samples again.
pub fn measure(agents: &[SocketAddr], window: Duration) -> Result<Traffic, DaemonError> {
    let before = agents
        .iter()
        .map(|a| sample(*a))
        .collect::<Result<Vec<_>, _>>()?;
    std::thread::sleep(window);
    let mut bytes_per_second = Vec::new();
    let mut datagrams_per_second = Vec::new();
    for (agent, before) in agents.iter().zip(before) {
        let after = sample(*agent)?;
        let seconds = after.at.duration_since(before.at).as_secs_f64().max(1e-3);
        let datagrams = after.datagrams.saturating_sub(before.datagrams);
        let bytes = after.bytes.saturating_sub(before.bytes) + datagrams * IPV4_UDP_HEADERS;
        bytes_per_second.push(bytes as f64 / seconds);
        datagrams_per_second.push(datagrams as f64 / seconds);
    }
    bytes_per_second.sort_by(f64::total_cmp);
    datagrams_per_second.sort_by(f64::total_cmp);
    Ok(Traffic {
        seconds: window.as_secs_f64(),
        bytes_per_second,
        datagrams_per_second,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[1.0, 5.0, 9.0]), 5.0);
        assert_eq!(median(&[1.0, 3.0, 5.0, 9.0]), 4.0);
    }
}

//! The agent's Prometheus metrics (`--metrics-addr`), with the Prometheus
//! project's Rust client (`prometheus-client`): the registry, the metric
//! families, and how a [`Snapshot`] and each event update them.
//!
//! Counters the core and the driver keep anyway are copied from a snapshot
//! taken at each scrape; events and the detection latency are counted as
//! they happen. Names follow Prometheus conventions: the `rumor_` prefix,
//! `_total` on counters, units in names (`_seconds`, `_bytes`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use rumor_membership::EventRecord;
use rumor_wire::NodeId;

use crate::snapshot::Snapshot;

type Labels = [(&'static str, &'static str); 1];

/// Upper bounds of the detection-latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0, 30.0,
];

/// Every metric an agent exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    members: Family<Labels, Gauge>,
    events: Family<Labels, Counter>,
    drops: Family<Labels, Counter>,
    broadcasts: Family<Labels, Counter>,
    latency: Histogram,
    joined: Gauge,
    datagrams_in: Counter,
    datagrams_out: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    send_errors: Counter,
    queue_depth: Gauge,
    suspicions: Counter,
    refutations: Counter,
    failures: Counter,
    probes: Counter,
    indirect: Counter,
    health: Gauge,
    rejoins: Counter,
    anti_entropy: Counter,
    repairs: Counter,
    metadata_updates: Counter,
    tcp_requests: Counter,
    /// When each member currently suspected here was suspected (ms).
    suspected_at: Mutex<HashMap<NodeId, u64>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every family registered and at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let members = Family::<Labels, Gauge>::default();
        let events = Family::<Labels, Counter>::default();
        let drops = Family::<Labels, Counter>::default();
        let broadcasts = Family::<Labels, Counter>::default();
        let latency = Histogram::new(LATENCY_BUCKETS);
        let m = Metrics {
            registry: Registry::default(),
            members,
            events,
            drops,
            broadcasts,
            latency,
            joined: Gauge::default(),
            datagrams_in: Counter::default(),
            datagrams_out: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            send_errors: Counter::default(),
            queue_depth: Gauge::default(),
            suspicions: Counter::default(),
            refutations: Counter::default(),
            failures: Counter::default(),
            probes: Counter::default(),
            indirect: Counter::default(),
            health: Gauge::default(),
            rejoins: Counter::default(),
            anti_entropy: Counter::default(),
            repairs: Counter::default(),
            metadata_updates: Counter::default(),
            tcp_requests: Counter::default(),
            suspected_at: Mutex::new(HashMap::new()),
        };
        let r = &mut registry;
        r.register(
            "rumor_members",
            "Members this agent lists, by state (itself included)",
            m.members.clone(),
        );
        r.register(
            "rumor_events",
            "Membership events this agent recorded in events.jsonl, by kind",
            m.events.clone(),
        );
        r.register(
            "rumor_datagrams_dropped",
            "Incoming datagrams dropped, by cause (malformed, unauthenticated, wrong_kind, queue_full, receiver_drop)",
            m.drops.clone(),
        );
        r.register_with_unit(
            "rumor_detection_latency",
            "From this agent's suspicion of a member to its verdict (failed)",
            Unit::Seconds,
            m.latency.clone(),
        );
        r.register(
            "rumor_joined",
            "1 while this agent is a member of a cluster, 0 while joining or leaving",
            m.joined.clone(),
        );
        r.register(
            "rumor_datagrams_received",
            "Datagrams received (those dropped by --drop-rate not included)",
            m.datagrams_in.clone(),
        );
        r.register(
            "rumor_datagrams_sent",
            "Datagrams sent",
            m.datagrams_out.clone(),
        );
        r.register_with_unit(
            "rumor_received",
            "Bytes of datagrams received",
            Unit::Bytes,
            m.bytes_in.clone(),
        );
        r.register_with_unit(
            "rumor_sent",
            "Bytes of datagrams sent",
            Unit::Bytes,
            m.bytes_out.clone(),
        );
        r.register(
            "rumor_send_errors",
            "Datagrams that could not be sealed or sent",
            m.send_errors.clone(),
        );
        r.register(
            "rumor_queue_depth",
            "Bytes waiting in the UDP socket's receive buffer, as the kernel counts them",
            m.queue_depth.clone(),
        );
        r.register(
            "rumor_suspicions_raised",
            "Suspicions this agent's own detector raised",
            m.suspicions.clone(),
        );
        r.register(
            "rumor_suspicions_refuted",
            "Suspicions of other members this agent saw refuted",
            m.refutations.clone(),
        );
        r.register(
            "rumor_failures_declared",
            "Members this agent declared failed on its own timer or detector",
            m.failures.clone(),
        );
        r.register(
            "rumor_probes",
            "Direct probes (pings) sent by the detector (swim)",
            m.probes.clone(),
        );
        r.register(
            "rumor_indirect_probes",
            "Members asked to probe another on this agent's behalf (swim ping-req)",
            m.indirect.clone(),
        );
        r.register(
            "rumor_local_health",
            "The detector's local health score (Lifeguard; 0 is healthy)",
            m.health.clone(),
        );
        r.register(
            "rumor_rejoins",
            "Times this agent rejoined under a new version",
            m.rejoins.clone(),
        );
        r.register(
            "rumor_anti_entropy_exchanges",
            "Anti-entropy exchanges this agent started (a digest to one member)",
            m.anti_entropy.clone(),
        );
        r.register(
            "rumor_anti_entropy_repairs",
            "Anti-entropy digests answered with members the sender lacked",
            m.repairs.clone(),
        );
        r.register(
            "rumor_broadcasts",
            "User broadcasts, by kind: sent (by this agent), received (from others, each once), duplicate (heard again), dropped (a bounded queue was full)",
            m.broadcasts.clone(),
        );
        r.register(
            "rumor_metadata_updates",
            "Members' tags learnt or replaced by newer ones from news",
            m.metadata_updates.clone(),
        );
        r.register(
            "rumor_tcp_requests",
            "Requests the TCP service handed to the agent (joins, control, dgrep)",
            m.tcp_requests.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts an event as it is written to the log, and times each verdict
    /// from this agent's suspicion of the member.
    pub fn observe_event(&self, record: &EventRecord) {
        let kind: &'static str = match record.event.as_str() {
            "joined" => "joined",
            "suspected" => "suspected",
            "alive" => "alive",
            "failed" => "failed",
            "left" => "left",
            "removed" => "removed",
            _ => "other",
        };
        self.events.get_or_create(&[("kind", kind)]).inc();
        let mut suspected = self
            .suspected_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match kind {
            "suspected" => {
                suspected.entry(record.member).or_insert(record.ts_ms);
            }
            "failed" => {
                if let Some(at) = suspected.remove(&record.member) {
                    let seconds = record.ts_ms.saturating_sub(at) as f64 / 1000.0;
                    self.latency.observe(seconds);
                }
            }
            _ => {
                suspected.remove(&record.member);
            }
        }
    }

    /// Copies the figures of `snapshot`.
    pub fn update(&self, snapshot: &Snapshot) {
        for (state, n) in snapshot.members.named() {
            self.members
                .get_or_create(&[("state", state)])
                .set(n as i64);
        }
        let d = &snapshot.driver;
        let c = &snapshot.core;
        for (cause, n) in [
            ("malformed", d.malformed),
            ("unauthenticated", d.unauthenticated),
            ("wrong_kind", d.wrong_kind),
            ("queue_full", snapshot.queue_full),
            ("receiver_drop", d.injected_drops),
        ] {
            set(&self.drops.get_or_create(&[("cause", cause)]), n);
        }
        for (kind, n) in [
            ("sent", c.broadcasts_sent),
            ("received", c.broadcasts_received),
            ("duplicate", c.broadcast_duplicates),
            ("dropped", c.broadcasts_dropped),
        ] {
            set(&self.broadcasts.get_or_create(&[("kind", kind)]), n);
        }
        self.joined.set(i64::from(snapshot.joined));
        self.queue_depth.set(snapshot.queue_depth as i64);
        self.health.set(i64::from(snapshot.local_health));
        for (counter, n) in [
            (&self.datagrams_in, d.datagrams),
            (&self.datagrams_out, d.sent),
            (&self.bytes_in, d.bytes_in),
            (&self.bytes_out, d.bytes_out),
            (&self.send_errors, d.send_errors),
            (&self.suspicions, c.suspicions),
            (&self.refutations, c.refutations),
            (&self.failures, c.failures_declared),
            (&self.probes, c.probes),
            (&self.indirect, c.indirect_probes),
            (&self.rejoins, c.rejoins),
            (&self.anti_entropy, c.anti_entropy),
            (&self.repairs, c.digest_repairs),
            (&self.metadata_updates, c.metadata_updates),
            (&self.tcp_requests, snapshot.service.delivered),
        ] {
            set(counter, n);
        }
    }

    /// The text exposition (OpenMetrics text, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Sets a counter that mirrors a count kept elsewhere (which only grows).
fn set(counter: &Counter, value: u64) {
    counter.inner().fetch_max(value, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions_and_latency_is_timed() {
        let metrics = Metrics::new();
        let node: NodeId = "127.0.0.1:3000#1".parse().unwrap();
        let record = |ts_ms, event: &str| EventRecord {
            ts_ms,
            observer: node,
            event: event.into(),
            member: "127.0.0.2:3000#1".parse().unwrap(),
            incarnation: 0,
            detector: "swim".into(),
        };
        metrics.observe_event(&record(1000, "suspected"));
        metrics.observe_event(&record(2500, "failed"));
        let text = metrics.encode();
        for line in [
            "rumor_events_total{kind=\"suspected\"} 1",
            "rumor_events_total{kind=\"failed\"} 1",
            "rumor_detection_latency_seconds_count 1",
            "rumor_detection_latency_seconds_sum 1.5",
            "# TYPE rumor_received_bytes counter",
            "rumor_probes_total 0",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}

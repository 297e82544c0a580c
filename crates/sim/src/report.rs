//! What a run measured, and the aggregate over many runs.

use std::time::Duration;

use serde::Serialize;

use crate::heal_report::HealOutcome;
use crate::notices::NoticeCounts;

/// A duration in seconds, as reports print them.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// How one crash was detected.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CrashOutcome {
    /// The crashed node.
    pub node: String,
    /// Its slot (0-based node number).
    pub slot: usize,
    /// When it crashed, seconds from the start.
    pub at_s: f64,
    /// Seconds until the first node marked it failed, if one did.
    pub first_detection_s: Option<f64>,
    /// Seconds until every required observer had marked it failed, if all did.
    pub all_member_s: Option<f64>,
    /// Observers required: running at the crash and still live at the end.
    pub observers_required: usize,
    /// How many of them marked it failed.
    pub observers_detected: usize,
}

/// How one voluntary leave was seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LeaveOutcome {
    /// The node that left.
    pub node: String,
    /// Its slot.
    pub slot: usize,
    /// When it left, seconds from the start.
    pub at_s: f64,
    /// Observers required: running at the leave and still live at the end.
    pub observers_required: usize,
    /// How many of them recorded `left`.
    pub observers_marked_left: usize,
    /// `failed` events about it (any is an accuracy violation).
    pub marked_failed: u64,
}

/// Messages the network or the receivers did not deliver, by cause.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Drops {
    /// Receiver-side drop (`--loss`).
    pub receiver: u64,
    /// Lost in transit (network loss).
    pub in_transit: u64,
    /// Cut by a partition.
    pub partitioned: u64,
    /// Addressed to a node that was down.
    pub node_down: u64,
    /// Datagrams above the datagram limit (a core bug: never sent).
    pub oversized: u64,
    /// Datagrams for a paused node that its full receive buffer dropped.
    pub receive_buffer: u64,
    /// Addressed to no node of the simulation.
    pub unroutable: u64,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RunReport {
    /// The run's seed.
    pub seed: u64,
    /// Every crash, in order.
    pub crashes: Vec<CrashOutcome>,
    /// Every voluntary leave, in order.
    pub leaves: Vec<LeaveOutcome>,
    /// Every heal (`heal` actions and the off-phases of flaps), in order.
    pub heals: Vec<HealOutcome>,
    /// Distinct live members marked failed by someone, partition-caused
    /// marks aside (with no partition in the run: every one).
    pub false_positives: usize,
    /// `failed` events about live members, partition-caused ones aside.
    pub false_positive_marks: u64,
    /// Pauses (one node stopping once; a pause that extends another counts).
    pub pauses: u64,
    /// Of `false_positives`: members that had been paused.
    pub pause_false_positives: usize,
    /// Of `false_positive_marks`: marks of members that had been paused.
    pub pause_false_positive_marks: u64,
    /// Distinct live members marked failed because of a partition: by an
    /// observer across a cut, or after such a mark (see [`HealOutcome`]).
    pub partition_false_positives: usize,
    /// `failed` events about live members caused by a partition.
    pub partition_false_positive_marks: u64,
    /// `failed` events about members that had left.
    pub left_marked_failed: u64,
    /// Seconds until every node had seen every node join (absent if a fault
    /// came first or it never happened).
    pub full_view_s: Option<f64>,
    /// Datagrams and stream messages sent per live node per second (window).
    pub messages_per_node_s: f64,
    /// Encoded envelope bytes sent per live node per second (window).
    pub bytes_per_node_s: f64,
    /// The busiest node's bytes per second (window).
    pub max_bytes_per_node_s: f64,
    /// `suspected` events (with foca: the suspicions each node raised, as
    /// foca tells no others).
    pub suspicions: u64,
    /// Suspicions the nodes' own detectors raised (heard-of ones aside):
    /// the figure that compares across rumor's detectors and foca.
    pub suspicions_raised: u64,
    /// `alive` events (suspicions refuted).
    pub refutations: u64,
    /// `joined` events.
    pub joined_events: u64,
    /// `removed` events.
    pub removed_events: u64,
    /// `left` events about members that did not leave.
    pub spurious_left: u64,
    /// Events about members no process of the run ever was.
    pub unknown_member_events: u64,
    /// New versions the cores took to rejoin (declared failed, outweighed
    /// by a larger view, or superseded), from their counters.
    pub rejoins: u64,
    /// Join answers that were refusals.
    pub joins_refused: u64,
    /// Calls foca refused (malformed input, or a probe cycle the runtime
    /// broke): none is expected.
    pub engine_errors: u64,
    /// Notices the cores gave, by kind.
    pub notices: NoticeCounts,
    /// Undelivered messages by cause.
    pub drops: Drops,
    /// Simulation steps processed (deliveries, timers, actions).
    pub steps: u64,
    /// Wall-clock seconds the run took (absent when not measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_time_s: Option<f64>,
}

/// Min, median, 99th percentile and max (nearest-rank) of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Smallest value.
    pub min: f64,
    /// Nearest-rank 50th percentile.
    pub median: f64,
    /// Nearest-rank 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
    /// Sample size.
    pub count: usize,
}

impl Spread {
    /// The spread of `values`, or `None` when empty.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Spread {
            min: v[0],
            median: rank(0.5),
            p99: rank(0.99),
            max: v[v.len() - 1],
            count: v.len(),
        })
    }
}

/// The aggregate over every run of an invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Runs aggregated.
    pub runs: usize,
    /// Crashes over all runs.
    pub crashes: usize,
    /// Crashes no node ever marked failed.
    pub crashes_undetected: usize,
    /// Crashes some required observer never marked failed.
    pub crashes_not_seen_by_all: usize,
    /// First-detection latency over detected crashes, seconds.
    pub first_detection_s: Option<Spread>,
    /// All-member detection latency over crashes seen by all, seconds.
    pub all_member_s: Option<Spread>,
    /// Sum of per-run distinct false positives (partition-caused aside).
    pub false_positives: usize,
    /// Sum of `failed` events about live members (partition-caused aside).
    pub false_positive_marks: u64,
    /// Sum of pauses.
    pub pauses: u64,
    /// Sum of per-run distinct false positives that had been paused.
    pub pause_false_positives: usize,
    /// Sum of false-positive marks of members that had been paused.
    pub pause_false_positive_marks: u64,
    /// Sum of per-run distinct partition-caused false positives.
    pub partition_false_positives: usize,
    /// Sum of partition-caused `failed` events about live members.
    pub partition_false_positive_marks: u64,
    /// Heals over all runs.
    pub heals: usize,
    /// Heals never followed by full membership (the run ended, or a new
    /// cut came first).
    pub heals_not_healed: usize,
    /// Time from heal to full membership over the heals that got there,
    /// seconds.
    pub heal_s: Option<Spread>,
    /// Sum of rejoins between heals and full membership.
    pub heal_rejoins: u64,
    /// Voluntary leaves over all runs.
    pub leaves: usize,
    /// Leaves every required observer recorded as `left`.
    pub leaves_seen_by_all: usize,
    /// Sum of `failed` events about members that left.
    pub left_marked_failed: u64,
    /// Per-run time to a full view, over the runs that reached one.
    pub full_view_s: Option<Spread>,
    /// Runs that never reached a full view before the first fault.
    pub runs_without_full_view: usize,
    /// Per-run messages per node per second.
    pub messages_per_node_s: Option<Spread>,
    /// Per-run bytes per node per second.
    pub bytes_per_node_s: Option<Spread>,
    /// The busiest node of any run, bytes per second.
    pub max_bytes_per_node_s: f64,
    /// Per-run suspicions.
    pub suspicions: Option<Spread>,
    /// Per-run refutations.
    pub refutations: Option<Spread>,
    /// Per-run suspicions raised by the nodes' own detectors.
    pub suspicions_raised: Option<Spread>,
    /// Sum of rejoins.
    pub rejoins: u64,
    /// Notices of every run, summed.
    pub notices: NoticeCounts,
    /// Sum of oversized datagrams.
    pub oversized: u64,
    /// Wall-clock seconds of all runs (absent when not measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_time_s: Option<f64>,
}

impl Summary {
    /// Aggregates `runs`.
    pub fn of(runs: &[RunReport]) -> Summary {
        let crashes = || runs.iter().flat_map(|r| &r.crashes);
        let leaves = || runs.iter().flat_map(|r| &r.leaves);
        let heals = || runs.iter().flat_map(|r| &r.heals);
        let per_run = |f: fn(&RunReport) -> f64| Spread::of(runs.iter().map(f));
        Summary {
            runs: runs.len(),
            crashes: crashes().count(),
            crashes_undetected: crashes().filter(|c| c.first_detection_s.is_none()).count(),
            crashes_not_seen_by_all: crashes().filter(|c| c.all_member_s.is_none()).count(),
            first_detection_s: Spread::of(crashes().filter_map(|c| c.first_detection_s)),
            all_member_s: Spread::of(crashes().filter_map(|c| c.all_member_s)),
            false_positives: runs.iter().map(|r| r.false_positives).sum(),
            false_positive_marks: runs.iter().map(|r| r.false_positive_marks).sum(),
            pauses: runs.iter().map(|r| r.pauses).sum(),
            pause_false_positives: runs.iter().map(|r| r.pause_false_positives).sum(),
            pause_false_positive_marks: runs.iter().map(|r| r.pause_false_positive_marks).sum(),
            partition_false_positives: runs.iter().map(|r| r.partition_false_positives).sum(),
            partition_false_positive_marks: runs
                .iter()
                .map(|r| r.partition_false_positive_marks)
                .sum(),
            heals: heals().count(),
            heals_not_healed: heals().filter(|h| h.healed_s.is_none()).count(),
            heal_s: Spread::of(heals().filter_map(|h| h.healed_s)),
            heal_rejoins: heals().map(|h| h.rejoins).sum(),
            leaves: leaves().count(),
            leaves_seen_by_all: leaves()
                .filter(|l| l.observers_marked_left == l.observers_required)
                .count(),
            left_marked_failed: runs.iter().map(|r| r.left_marked_failed).sum(),
            full_view_s: Spread::of(runs.iter().filter_map(|r| r.full_view_s)),
            runs_without_full_view: runs.iter().filter(|r| r.full_view_s.is_none()).count(),
            messages_per_node_s: per_run(|r| r.messages_per_node_s),
            bytes_per_node_s: per_run(|r| r.bytes_per_node_s),
            max_bytes_per_node_s: runs
                .iter()
                .map(|r| r.max_bytes_per_node_s)
                .fold(0.0, f64::max),
            suspicions: per_run(|r| r.suspicions as f64),
            refutations: per_run(|r| r.refutations as f64),
            suspicions_raised: per_run(|r| r.suspicions_raised as f64),
            rejoins: runs.iter().map(|r| r.rejoins).sum(),
            notices: runs
                .iter()
                .fold(NoticeCounts::default(), |sum, r| sum.plus(&r.notices)),
            oversized: runs.iter().map(|r| r.drops.oversized).sum(),
            wall_time_s: runs.iter().map(|r| r.wall_time_s).sum::<Option<f64>>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Spread::of((1..=100).map(f64::from)).unwrap();
        assert_eq!(
            (s.min, s.median, s.p99, s.max, s.count),
            (1.0, 50.0, 99.0, 100.0, 100)
        );
        let one = Spread::of([2.5]).unwrap();
        assert_eq!(
            (one.min, one.median, one.p99, one.max),
            (2.5, 2.5, 2.5, 2.5)
        );
        let three = Spread::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((three.median, three.p99), (2.0, 3.0));
        assert!(Spread::of([]).is_none());
    }
}

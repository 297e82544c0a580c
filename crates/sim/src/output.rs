//! The three faces of a report: a human table, JSON and CSV.

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::{RunReport, Spread, Summary};
use crate::scenario::Scenario;

/// A whole invocation: the scenario, every run, and the aggregate.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The scenario as run (its `detector` resolved).
    pub scenario: Scenario,
    /// One report per seed, in seed order.
    pub runs: Vec<RunReport>,
    /// The aggregate over the runs.
    pub summary: Summary,
}

impl Report {
    /// Assembles the report of `runs` of `scenario`.
    pub fn new(scenario: &Scenario, runs: Vec<RunReport>) -> Report {
        let mut scenario = scenario.clone();
        scenario.detector = Some(scenario.detector_name().to_owned());
        let summary = Summary::of(&runs);
        Report {
            scenario,
            runs,
            summary,
        }
    }

    /// Pretty JSON, one trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .expect("reports hold only strings, numbers and options, which always serialize");
        s.push('\n');
        s
    }

    /// CSV, one row per run.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "seed,nodes,detector,loss,full_view_s,crashes,crashes_seen_by_all,first_detection_max_s,\
             all_member_max_s,false_positives,false_positive_marks,left_marked_failed,\
             leaves,leaves_seen_by_all,messages_per_node_s,bytes_per_node_s,\
             max_bytes_per_node_s,suspicions,refutations,rejoins,oversized,\
             partition_false_positives,partition_false_positive_marks,heals,heals_healed,\
             heal_max_s,heal_rejoins,suspicions_raised,pauses,pause_false_positives,\
             pause_false_positive_marks",
        );
        // Wall time stays out of CSV: rows compare byte for byte across runs.
        out.push('\n');
        let opt = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
        for r in &self.runs {
            let first = r
                .crashes
                .iter()
                .filter_map(|c| c.first_detection_s)
                .reduce(f64::max);
            let all = if r.crashes.iter().all(|c| c.all_member_s.is_some()) {
                r.crashes
                    .iter()
                    .filter_map(|c| c.all_member_s)
                    .reduce(f64::max)
            } else {
                None
            };
            let healed = r.heals.iter().filter(|h| h.healed_s.is_some()).count();
            let heal_max = if healed == r.heals.len() {
                r.heals.iter().filter_map(|h| h.healed_s).reduce(f64::max)
            } else {
                None
            };
            let _ = write!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.1},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                r.seed,
                self.scenario.nodes,
                self.scenario.detector_name(),
                self.scenario.loss,
                opt(r.full_view_s),
                r.crashes.len(),
                r.crashes
                    .iter()
                    .filter(|c| c.all_member_s.is_some())
                    .count(),
                opt(first),
                opt(all),
                r.false_positives,
                r.false_positive_marks,
                r.left_marked_failed,
                r.leaves.len(),
                r.leaves
                    .iter()
                    .filter(|l| l.observers_marked_left == l.observers_required)
                    .count(),
                r.messages_per_node_s,
                r.bytes_per_node_s,
                r.max_bytes_per_node_s,
                r.suspicions,
                r.refutations,
                r.rejoins,
                r.drops.oversized,
                r.partition_false_positives,
                r.partition_false_positive_marks,
                r.heals.len(),
                healed,
                opt(heal_max),
                r.heals.iter().map(|h| h.rejoins).sum::<u64>(),
                r.suspicions_raised,
                r.pauses,
                r.pause_false_positives,
                r.pause_false_positive_marks,
            );
            out.push('\n');
        }
        out
    }

    /// The human table.
    pub fn to_table(&self) -> String {
        let sc = &self.scenario;
        let s = &self.summary;
        let mut out = String::new();
        let first = self.runs.first().map_or(sc.seed, |r| r.seed);
        let last = self.runs.last().map_or(sc.seed, |r| r.seed);
        let _ = writeln!(
            out,
            "rumor-sim: {} nodes, detector {}, loss {}%, duration {}, seed{} {} ({} run{})",
            sc.nodes,
            sc.detector_name(),
            sc.loss * 100.0,
            humantime::format_duration(sc.duration),
            if first == last { "" } else { "s" },
            if first == last {
                first.to_string()
            } else {
                format!("{first}..={last}")
            },
            s.runs,
            if s.runs == 1 { "" } else { "s" },
        );
        let _ = writeln!(
            out,
            "crashes: {} ({} undetected, {} not seen by every live member); leaves: {} ({} seen as left by all)",
            s.crashes,
            s.crashes_undetected,
            s.crashes_not_seen_by_all,
            s.leaves,
            s.leaves_seen_by_all
        );
        let _ = writeln!(
            out,
            "{:<30}{:>10}{:>10}{:>10}{:>10}",
            "", "min", "median", "p99", "max"
        );
        row(&mut out, "full view reached at (s)", s.full_view_s, 3);
        row(&mut out, "first detection (s)", s.first_detection_s, 3);
        row(&mut out, "all-member detection (s)", s.all_member_s, 3);
        row(
            &mut out,
            "messages sent / node / s",
            s.messages_per_node_s,
            1,
        );
        row(&mut out, "bytes sent / node / s", s.bytes_per_node_s, 0);
        row(&mut out, "suspicions / run", s.suspicions, 0);
        row(&mut out, "refutations / run", s.refutations, 0);
        row(&mut out, "suspicions raised / run", s.suspicions_raised, 0);
        if s.pauses > 0 {
            let _ = writeln!(
                out,
                "pauses: {}; false positives among paused members: {} (marks: {})",
                s.pauses, s.pause_false_positives, s.pause_false_positive_marks
            );
        }
        let partitioned = s.heals > 0 || s.partition_false_positive_marks > 0;
        if partitioned {
            row(&mut out, "heal to full membership (s)", s.heal_s, 3);
        }
        let _ = writeln!(
            out,
            "false positives: {} (failed marks of live members: {}); leavers marked failed: {}",
            s.false_positives, s.false_positive_marks, s.left_marked_failed
        );
        if partitioned {
            let _ = writeln!(
                out,
                "heals: {} ({} not healed); rejoins after heals: {}; partition-caused false positives: {} (marks: {})",
                s.heals,
                s.heals_not_healed,
                s.heal_rejoins,
                s.partition_false_positives,
                s.partition_false_positive_marks
            );
        }
        let _ = writeln!(
            out,
            "busiest node: {:.0} B/s; rejoins: {}; oversized datagrams: {}; runs without a full view before the first fault: {}",
            s.max_bytes_per_node_s, s.rejoins, s.oversized, s.runs_without_full_view
        );
        if self.runs.len() == 1 {
            for c in &self.runs[0].crashes {
                let _ = writeln!(
                    out,
                    "  crash {} at {:.3}s: first {}, all-member {} ({}/{} observers)",
                    c.node,
                    c.at_s,
                    seconds(c.first_detection_s),
                    seconds(c.all_member_s),
                    c.observers_detected,
                    c.observers_required
                );
            }
            for l in &self.runs[0].leaves {
                let _ = writeln!(
                    out,
                    "  leave {} at {:.3}s: left at {}/{} observers, failed marks {}",
                    l.node, l.at_s, l.observers_marked_left, l.observers_required, l.marked_failed
                );
            }
            for h in &self.runs[0].heals {
                let healed = match (h.healed_s, h.cut_again_s) {
                    (Some(t), _) => format!("full membership after {t:.3}s"),
                    (None, Some(t)) => format!("not healed: cut again after {t:.3}s"),
                    (None, None) => "not healed by the end".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "  heal at {:.3}s of a {:.3}s cut: {healed}; rejoins {} (during the cut {}); false positive marks {} partition-caused, {} genuine",
                    h.at_s,
                    h.cut_s,
                    h.rejoins,
                    h.rejoins_during_cut,
                    h.partition_false_positive_marks,
                    h.genuine_false_positive_marks
                );
            }
        }
        let n = &s.notices;
        let _ = writeln!(
            out,
            "notices: {} join requests, {} admitted, {} refused, {} unanswered, {} rejoining, {} alone, {} outweighed peers",
            n.join_asked,
            n.joined,
            n.join_refused,
            n.join_unanswered,
            n.rejoining,
            n.alone,
            n.outweighed_peer
        );
        if let Some(wall) = s.wall_time_s {
            let _ = writeln!(
                out,
                "wall time: {wall:.3} s ({:.3} s per run)",
                wall / s.runs.max(1) as f64
            );
        }
        out
    }
}

fn seconds(v: Option<f64>) -> String {
    v.map_or_else(|| "never".to_owned(), |x| format!("{x:.3}s"))
}

fn row(out: &mut String, name: &str, spread: Option<Spread>, decimals: usize) {
    match spread {
        Some(s) => {
            let _ = writeln!(
                out,
                "{name:<30}{:>10.d$}{:>10.d$}{:>10.d$}{:>10.d$}",
                s.min,
                s.median,
                s.p99,
                s.max,
                d = decimals
            );
        }
        None => {
            let _ = writeln!(out, "{name:<30}{:>10}", "-");
        }
    }
}

//! Failure detections of one member and how fast the news spread.
//!
//! The logs do not contain the moment a process was killed. What they do
//! contain: the last event the member logged itself (the crash came after it)
//! and the first suspicion or failure report about it by anyone else (the
//! crash came before it). Latencies here count from that first report, so
//! they are lower bounds on the time from the kill; the spread from the first
//! to the last `failed` report is exact.

use crate::Millis;

/// One member declared failed, with its detection timing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The member (index into [`crate::Replay::members`]).
    pub member: u32,
    /// The last event the member logged itself, if it kept a log: the crash
    /// happened after this.
    pub last_own_event: Option<Millis>,
    /// The earliest `suspected` or `failed` report about the member (after
    /// any refuted suspicion): the reference the latencies count from.
    pub first_report: Millis,
    /// The first `failed` report: the first detection.
    pub first_failed: Millis,
    /// The last `failed` report so far.
    pub last_failed: Millis,
    /// When each observer that reported it failed did so, in time order.
    pub reports: Vec<Millis>,
    /// Observers live when the first detection happened, other than the
    /// member and its other versions: the ones expected to report it.
    pub expected: u32,
}

impl Crash {
    /// Time from the first report to the first detection.
    pub fn first_latency(&self) -> Millis {
        self.first_failed - self.first_report
    }

    /// How many observers had reported it failed by `at`.
    pub fn reporters_at(&self, at: Millis) -> u32 {
        self.reports.partition_point(|&t| t <= at) as u32
    }

    /// Time from the first report until every expected observer had reported
    /// it failed, if they all did by `at`.
    pub fn all_latency_at(&self, at: Millis) -> Option<Millis> {
        let all = self.expected as usize;
        if all == 0 || self.reports.len() < all {
            return None;
        }
        let done = self.reports[all - 1];
        (done <= at).then(|| done - self.first_report)
    }

    /// Time from the first to the last `failed` report by `at` (exact: both
    /// ends are in the logs).
    pub fn spread_at(&self, at: Millis) -> Option<Millis> {
        let n = self.reporters_at(at) as usize;
        (n > 0).then(|| self.reports[n - 1] - self.first_failed)
    }
}

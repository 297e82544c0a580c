//! `gossip`, the default detector: heartbeating with a fixed silence. A
//! member whose counter has not risen for `t_fail` (or the silence floor
//! of large clusters, if longer) is asked for a heartbeat, and suspected if
//! it does not answer (see [`Heartbeat`](super::heartbeat::Heartbeat)); the
//! core declares it failed
//! unless it refutes within the suspicion timeout. See
//! [`Heartbeat`](super::heartbeat::Heartbeat) for how heartbeats travel.

use std::time::Duration;

use super::FailureDetector;
use super::heartbeat::{Heartbeat, Verdict};
use crate::Config;

/// The registered name.
pub const NAME: &str = "gossip";

/// The verdict of `gossip`: a silence of `t_fail` is a suspicion.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silence;

impl Verdict for Silence {
    type History = ();

    fn name(&self) -> &'static str {
        NAME
    }

    fn is_late(&self, _history: &(), silence: Duration, floor: Duration, config: &Config) -> bool {
        silence >= config.t_fail.max(floor)
    }

    fn late_after(&self, _history: &(), floor: Duration, config: &Config) -> Option<Duration> {
        Some(config.t_fail.max(floor))
    }
}

/// The gossip-style heartbeat detector.
pub type Gossip = Heartbeat<Silence>;

/// A `gossip` detector (its knobs are read from the core's config).
pub fn detector() -> Box<dyn FailureDetector> {
    Box::new(Heartbeat::new(Silence))
}

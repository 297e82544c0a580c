//! How a simulated foca is configured: from one of its presets, scaled to
//! another probe period, or with rumor's `swim` timing (`--match-timing`).

use std::num::NonZeroU32;
use std::time::Duration;

use rumor_membership::Config;
use serde::{Deserialize, Serialize};

use crate::SimError;

/// How long news takes to reach every member per decade of cluster size in
/// rumor's core: its suspicion timeout is at least this times `log10 n`.
const RUMOR_DISSEMINATION_PER_DECADE: Duration = Duration::from_millis(500);

/// foca's configuration presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FocaPreset {
    /// `foca::Config::new_lan(n)`: probe every 1 s, 500 ms round trip,
    /// suspicion 4 s · max(1, log10 n), gossip to 3 members every 200 ms.
    #[default]
    Lan,
    /// `foca::Config::new_wan(n)`: probe every 5 s, 3 s round trip,
    /// suspicion 6 × 5 s · max(1, log10 n), gossip to 4 every 500 ms.
    Wan,
}

/// The `[foca]` table of a scenario: which foca configuration the nodes run
/// when the detector is `foca`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FocaSettings {
    /// The preset everything starts from (built for the run's cluster size).
    pub preset: FocaPreset,
    /// Probe, probe timeout and suspicion as rumor's `swim` has them in the
    /// scenario's `[config]`: `probe_interval`, `probe_timeout`, and the
    /// suspicion budget (`t_suspect`, at least 500 ms · log10 n, as the
    /// core stretches it in large clusters).
    pub match_timing: bool,
    /// Another probe period: the preset's probe round trip, suspicion
    /// timeout and gossip interval scale with it (ignored with
    /// `match_timing`).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub probe_period: Option<Duration>,
    /// Overrides the preset's `notify_down_members` (on in both): whether
    /// foca tells a member it holds down (`TurnUndead`). foca 1.0 sends it
    /// also when the suspicion's timer fires after the member refuted, and
    /// the member then renews its identity; `false` shows foca without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_down_members: Option<bool>,
}

impl FocaSettings {
    /// The foca configuration of a node in a cluster of `nodes`, given the
    /// scenario's rumor configuration.
    pub fn config(&self, nodes: usize, rumor: &Config) -> Result<foca::Config, SimError> {
        let n = NonZeroU32::new(u32::try_from(nodes.max(1)).unwrap_or(u32::MAX))
            .expect("at least one node");
        let mut c = match self.preset {
            FocaPreset::Lan => foca::Config::new_lan(n),
            FocaPreset::Wan => foca::Config::new_wan(n),
        };
        c.max_packet_size = rumor
            .datagram_limit
            .try_into()
            .map_err(|_| SimError::Invalid("datagram_limit must be positive".into()))?;
        if self.match_timing {
            c.probe_period = rumor.probe_interval;
            c.probe_rtt = rumor.probe_timeout;
            c.suspect_to_down_after = rumor_suspicion_budget(rumor, nodes);
        } else if let Some(period) = self.probe_period {
            if period.is_zero() {
                return Err(SimError::Invalid(
                    "foca.probe_period must be positive".into(),
                ));
            }
            let scale = period.as_secs_f64() / c.probe_period.as_secs_f64();
            c.probe_period = period;
            c.probe_rtt = c.probe_rtt.mul_f64(scale);
            c.suspect_to_down_after = c.suspect_to_down_after.mul_f64(scale);
            if let Some(gossip) = &mut c.periodic_gossip {
                gossip.frequency = gossip.frequency.mul_f64(scale);
            }
        }
        if let Some(notify) = self.notify_down_members {
            c.notify_down_members = notify;
        }
        if c.probe_rtt.is_zero() || c.probe_rtt >= c.probe_period {
            return Err(SimError::Invalid(format!(
                "foca needs a probe timeout ({}) shorter than its probe period ({})",
                humantime::format_duration(c.probe_rtt),
                humantime::format_duration(c.probe_period)
            )));
        }
        if c.suspect_to_down_after.is_zero() {
            return Err(SimError::Invalid(
                "foca's suspicion timeout must be positive".into(),
            ));
        }
        Ok(c)
    }
}

/// The suspicion timeout rumor's core uses in a cluster of `nodes`.
pub(crate) fn rumor_suspicion_budget(rumor: &Config, nodes: usize) -> Duration {
    let decades = (nodes.max(1) as f64).log10();
    rumor
        .t_suspect
        .max(RUMOR_DISSEMINATION_PER_DECADE.mul_f64(decades))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_scale_and_match() {
        let rumor = Config::default();
        let lan = FocaSettings::default().config(10, &rumor).unwrap();
        assert_eq!(lan.probe_period, Duration::from_secs(1));
        assert_eq!(lan.probe_rtt, Duration::from_millis(500));
        assert_eq!(lan.suspect_to_down_after, Duration::from_secs(4));
        let half = FocaSettings {
            probe_period: Some(Duration::from_millis(500)),
            ..FocaSettings::default()
        }
        .config(10, &rumor)
        .unwrap();
        assert_eq!(half.probe_rtt, Duration::from_millis(250));
        assert_eq!(half.suspect_to_down_after, Duration::from_secs(2));
        assert_eq!(
            half.periodic_gossip.unwrap().frequency,
            Duration::from_millis(100)
        );
        let matched = FocaSettings {
            match_timing: true,
            ..FocaSettings::default()
        };
        let m = matched.config(10, &rumor).unwrap();
        assert_eq!(
            (m.probe_period, m.probe_rtt, m.suspect_to_down_after),
            (rumor.probe_interval, rumor.probe_timeout, rumor.t_suspect)
        );
        let big = matched.config(10_000, &rumor).unwrap();
        assert_eq!(big.suspect_to_down_after, Duration::from_secs(2));
        let wan = FocaSettings {
            preset: FocaPreset::Wan,
            ..FocaSettings::default()
        };
        assert_eq!(
            wan.config(10, &rumor).unwrap().probe_period,
            Duration::from_secs(5)
        );
    }

    #[test]
    fn a_timeout_as_long_as_the_period_is_refused() {
        let mut rumor = Config::default();
        rumor.probe_interval = Duration::from_millis(100);
        rumor.probe_timeout = Duration::from_millis(100);
        let matched = FocaSettings {
            match_timing: true,
            ..FocaSettings::default()
        };
        let e = matched.config(10, &rumor).unwrap_err().to_string();
        assert!(e.contains("shorter than its probe period"), "{e}");
    }
}

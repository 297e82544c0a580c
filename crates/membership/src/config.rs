//! The knobs of the membership core and its detectors, each with a unit and a
//! default that meets the timing contract (see `docs/protocol.md`).

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Configuration of one membership core.
///
/// Deserializes from TOML or JSON with every key optional (missing keys take
/// their default) and unknown keys refused; durations are humantime strings
/// (`"1.5s"`, `"250ms"`).
///
/// Which detector reads which knob is listed on each field; the timing
/// arithmetic behind the defaults is in `docs/protocol.md`. New knobs come
/// with new releases, so the struct is built from [`Config::default`] (or
/// a file) and its fields set one by one:
///
/// ```
/// use std::time::Duration;
/// use rumor_membership::Config;
///
/// let mut config = Config::default();
/// config.probe_interval = Duration::from_millis(200);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Heartbeat interval of the heartbeat detectors (`gossip`, `phi`): every
    /// interval a node raises its counter and gossips to `fanout` members.
    /// Default 200 ms (a late member is asked directly before it is
    /// suspected, so slower heartbeats do not mean slower detection).
    #[serde(with = "humantime_serde")]
    pub heartbeat: Duration,
    /// `gossip`: a member whose heartbeat counter has not risen for this long
    /// is suspected, unless one of the two asks for a heartbeat sent to it
    /// in the last `2 · probe_timeout_min` brought one. Default 500 ms.
    #[serde(with = "humantime_serde")]
    pub t_fail: Duration,
    /// Every detector: how long a suspected member has to refute the
    /// suspicion before it is declared failed; at least `500 ms · log10 n`.
    /// Default 1.5 s: a member stopped for 1.2 s (a GC pause, a starved
    /// CPU) refutes in time, and a crash is still declared within the 3 s
    /// contract (see `docs/protocol.md`).
    #[serde(with = "humantime_serde")]
    pub t_suspect: Duration,
    /// Every detector (Lifeguard's dynamic suspicion timeout): a suspicion
    /// starts this many times the suspicion timeout and shrinks back to it
    /// as `suspicion_confirmations` other members (or this node's own
    /// detector) independently suspect the same member:
    /// `timeout = max − (max − min) · log(C + 1) / log(k + 1)`, as
    /// memberlist applies it. Between 1 and 60. Default 1: every suspicion
    /// lasts the suspicion timeout, confirmed or not.
    pub suspicion_max_mult: NonZeroU32,
    /// Every detector: independent confirmations (k) after which a
    /// suspicion lasts only the suspicion timeout (fewer in clusters too
    /// small to give that many: members other than the suspect and the
    /// first accuser). Read only with `suspicion_max_mult` above 1; 0 means
    /// no wait for confirmations. At most 1,000. Default 3.
    pub suspicion_confirmations: u32,
    /// How long a failed or left member stays in the list before it is
    /// removed. Default 30 s.
    #[serde(with = "humantime_serde")]
    pub t_delete: Duration,
    /// `gossip`, `phi`: members each heartbeat round is sent to. Default 3.
    pub fanout: NonZeroUsize,
    /// Every detector: members that news of a failure, a leave or a
    /// refutation is pushed to at once, in an `Updates` datagram, by each
    /// node that learns it, rather than waiting for the detector's next
    /// messages to carry it (suspicions ride the piggyback); each push
    /// counts against the news' retransmit budget like a piggyback. 0
    /// leaves all news to the piggyback. Default 3.
    pub news_fanout: usize,
    /// The largest datagram the core produces, in bytes, envelope included.
    /// Default 1400 ([`rumor_wire::DEFAULT_DATAGRAM_LIMIT`]).
    pub datagram_limit: usize,
    /// `swim`: the protocol period; one member is probed per period.
    /// Default 100 ms.
    #[serde(with = "humantime_serde")]
    pub probe_interval: Duration,
    /// `swim`: the longest wait for a direct ack before pinging again and
    /// asking `indirect_probes` members to probe on our behalf, and the wait
    /// for a peer whose round trips are not yet measured (see
    /// `probe_timeout_min`). Stretched by local health up to two thirds of
    /// `probe_interval`. Default 40 ms.
    #[serde(with = "humantime_serde")]
    pub probe_timeout: Duration,
    /// `swim`: the shortest probe timeout. Each peer's timeout is learned
    /// from the round trips measured to it (smoothed round trip plus four
    /// deviations, as TCP computes its retransmission timeout), at least
    /// this and at most `probe_timeout`; set it equal to `probe_timeout` for
    /// one fixed timeout. The floor keeps a busy host's scheduling delays
    /// from passing for lost datagrams. Default 20 ms.
    #[serde(with = "humantime_serde")]
    pub probe_timeout_min: Duration,
    /// `swim`: members asked to probe indirectly (k). Default 3.
    pub indirect_probes: usize,
    /// Every detector: each disseminated change is piggybacked at most
    /// `retransmit_mult · ceil(log2(n + 1))` times by each member (λ log n).
    /// Default 4.
    pub retransmit_mult: NonZeroU32,
    /// Every detector: most membership changes piggybacked on one message;
    /// bounds per-message size, and so bandwidth, at large n. Default 8.
    pub max_piggyback: NonZeroUsize,
    /// Every detector: anti-entropy period; each interval a member sends a
    /// digest of its member list to one random member, which answers with
    /// its members of every part that differs: joins, failures and leaves
    /// lost to drop are repaired. Default 2 s.
    #[serde(with = "humantime_serde")]
    pub sync_interval: Duration,
    /// `phi`: suspicion threshold on φ. Default 8.
    pub phi_threshold: f64,
    /// `phi`: heartbeat inter-arrival samples kept per member. Default 100.
    pub phi_window: usize,
    /// `phi`: floor on the standard deviation of inter-arrival times, so a
    /// very regular history does not make φ jump. Default 50 ms.
    #[serde(with = "humantime_serde")]
    pub phi_min_std_dev: Duration,
    /// `swim`: the largest local-health score (Lifeguard); the probe
    /// timeout stretches up to `(1 + this)` times under local trouble
    /// (capped at two thirds of the period). Default 8.
    pub awareness_max: u32,
    /// Largest encoded member list in a join response (sent over TCP), in
    /// bytes. Default 1 MiB (about 25,000 members).
    pub join_response_limit: usize,
    /// Most members a node lists (any state, itself included); news of
    /// members beyond it is refused and counted, and joins are refused.
    /// Default 10,000.
    pub max_members: usize,
    /// Healing: how long a member declared failed is remembered after the
    /// verdict, and tried again now and then, so that two sides of a
    /// partition find each other. Default 24 h.
    #[serde(with = "humantime_serde")]
    pub reconnect_window: Duration,
    /// Healing: most failed members remembered. Default 1,024.
    pub reconnect_limit: usize,
    /// Healing: the period of reconnect attempts (jittered to between half
    /// and one and a half of it); each tries one remembered member, or a
    /// seed address while the view is in trouble. Default 2 s.
    #[serde(with = "humantime_serde")]
    pub reconnect_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            heartbeat: Duration::from_millis(200),
            t_fail: Duration::from_millis(500),
            t_suspect: Duration::from_millis(1500),
            suspicion_max_mult: NonZeroU32::new(1).expect("1 is not zero"),
            suspicion_confirmations: 3,
            t_delete: Duration::from_secs(30),
            fanout: NonZeroUsize::new(3).expect("3 is not zero"),
            news_fanout: 3,
            datagram_limit: rumor_wire::DEFAULT_DATAGRAM_LIMIT,
            probe_interval: Duration::from_millis(100),
            probe_timeout: Duration::from_millis(40),
            probe_timeout_min: Duration::from_millis(20),
            indirect_probes: 3,
            retransmit_mult: NonZeroU32::new(4).expect("4 is not zero"),
            max_piggyback: NonZeroUsize::new(8).expect("8 is not zero"),
            sync_interval: Duration::from_secs(2),
            phi_threshold: 8.0,
            phi_window: 100,
            phi_min_std_dev: Duration::from_millis(50),
            awareness_max: 8,
            join_response_limit: 1 << 20,
            max_members: 10_000,
            reconnect_window: Duration::from_secs(24 * 3600),
            reconnect_limit: 1024,
            reconnect_interval: Duration::from_secs(2),
        }
    }
}

/// The shortest period the core accepts: a zero period would make a
/// driver spin.
pub(crate) const MIN_PERIOD: Duration = Duration::from_millis(1);

/// The least room a datagram must leave for the core's envelope.
pub(crate) const MIN_DATAGRAM_ROOM: usize = 512;

impl Config {
    /// Checks every value is in its meaningful range, naming the first one
    /// that is not. [`crate::Membership::new`] calls it.
    pub fn validate(&self) -> Result<(), crate::MembershipError> {
        let bad = |key, problem| Err(crate::MembershipError::InvalidConfig { key, problem });
        for (key, period) in [
            ("heartbeat", self.heartbeat),
            ("probe_interval", self.probe_interval),
            ("sync_interval", self.sync_interval),
            ("reconnect_interval", self.reconnect_interval),
        ] {
            if period < MIN_PERIOD {
                return bad(key, "must be at least 1ms");
            }
        }
        if self.probe_timeout >= self.probe_interval {
            return bad("probe_timeout", "must be shorter than probe_interval");
        }
        if self.probe_timeout_min > self.probe_timeout {
            return bad("probe_timeout_min", "must be at most probe_timeout");
        }
        if self.datagram_limit < 512 {
            return bad("datagram_limit", "must be at least 512 bytes");
        }
        if self.phi_threshold.is_nan() || self.phi_threshold <= 0.0 {
            return bad("phi_threshold", "must be positive");
        }
        if self.suspicion_max_mult.get() > 60 {
            return bad("suspicion_max_mult", "must be at most 60");
        }
        if self.suspicion_confirmations > 1_000 {
            return bad("suspicion_confirmations", "must be at most 1000");
        }
        if self.max_members < 2 {
            return bad("max_members", "must be at least 2");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_toml_gives_defaults() {
        let config: Config = toml::from_str("").unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn toml_keys_and_humantime_durations() {
        let config: Config =
            toml::from_str("heartbeat = \"250ms\"\nt_fail = \"1.5s\"\nfanout = 5\n").unwrap();
        assert_eq!(config.heartbeat, Duration::from_millis(250));
        assert_eq!(config.t_fail, Duration::from_millis(1500));
        assert_eq!(config.fanout.get(), 5);
        assert_eq!(config.t_suspect, Config::default().t_suspect);
    }

    #[test]
    fn defaults_are_valid_and_nonsense_is_not() {
        Config::default().validate().unwrap();
        let zero = Config {
            heartbeat: Duration::ZERO,
            ..Config::default()
        };
        assert!(zero.validate().is_err());
        let timeout = Config {
            probe_timeout: Duration::from_secs(1),
            ..Config::default()
        };
        assert!(timeout.validate().is_err());
        let floor = Config {
            probe_timeout_min: Duration::from_millis(41),
            ..Config::default()
        };
        let err = floor.validate().unwrap_err().to_string();
        assert!(err.contains("probe_timeout_min"), "{err}");
        let tiny = Config {
            datagram_limit: 100,
            ..Config::default()
        };
        assert!(tiny.validate().is_err());
        let stretched = Config {
            suspicion_max_mult: NonZeroU32::new(61).unwrap(),
            ..Config::default()
        };
        assert!(stretched.validate().is_err());
        let many = Config {
            suspicion_confirmations: 1_001,
            ..Config::default()
        };
        assert!(many.validate().is_err());
        let lifeguard: Config =
            toml::from_str("suspicion_max_mult = 6\nsuspicion_confirmations = 2\n").unwrap();
        lifeguard.validate().unwrap();
        assert_eq!(lifeguard.suspicion_max_mult.get(), 6);
        // Zero where zero means nothing does not even parse.
        for key in [
            "fanout",
            "retransmit_mult",
            "max_piggyback",
            "suspicion_max_mult",
        ] {
            let err = toml::from_str::<Config>(&format!("{key} = 0")).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("t_fial = \"1s\"").is_err());
    }
}

//! An example failure detector written outside `rumor-membership`: plain
//! all-to-all heartbeating, with settings of its own.
//!
//! It shows what a plugin needs: implement
//! [`rumor_membership::FailureDetector`] (only `name` and `handle` are
//! required), define your own messages (carried as the opaque payload of
//! `Gossip::Detector`; the core adds membership news to each and applies
//! what arrives), and register a factory by name into a
//! [`DetectorRegistry`], which reads the detector's own section of the
//! configuration. The core does the rest: member list, suspicion and
//! refutation, dissemination, joins, leaves and events.
//!
//! The protocol: every `interval` each node sends an empty heartbeat to
//! every live member directly. A member not heard from directly for
//! `silence` is suspected. Simple and accurate, but the load grows as n²
//! across the cluster, so it suits small clusters only; the built-in
//! `gossip` and `swim` scale.
//!
//! What this crate is not: a detector anyone should run on a large cluster.
//!
//! Its tests run it in the simulator's in-memory harness
//! (`rumor_sim::Cluster`) and hold it to the contract the built-in
//! detectors meet (`rumor_sim::contract`); its binary
//! `rumor-sim-all-to-all` is the simulator's command line with it
//! registered:
//!
//! ```sh
//! cargo run --release -p rumor-example-all-to-all --bin rumor-sim-all-to-all -- \
//!     --nodes 10 --detector all-to-all --fail 1 --seeds 20
//! ```
//!
//! ```
//! use rumor_membership::{Config, DetectorRegistry, DetectorSettings};
//!
//! let mut registry = DetectorRegistry::with_builtins();
//! rumor_example_all_to_all::register(&mut registry);
//! let section: toml::Table = toml::from_str("interval = \"50ms\"").unwrap();
//! let config = Config::default();
//! let detector = registry
//!     .create("all-to-all", &DetectorSettings::with_section(&config, &section))
//!     .unwrap();
//! assert_eq!(detector.name(), "all-to-all");
//! let bad: toml::Table = toml::from_str("intervall = \"50ms\"").unwrap();
//! assert!(registry.create("all-to-all", &DetectorSettings::with_section(&config, &bad)).is_err());
//! ```

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use rumor_membership::{
    DetectorContext, DetectorRegistry, FailureDetector, MemberChange, MembershipError, NodeId, Time,
};
use serde::Deserialize;

/// The name this detector registers under.
pub const NAME: &str = "all-to-all";

/// The detector's own settings: its section of the configuration file
/// (`[detector.all-to-all]` in the agent's).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// How often every member is sent a heartbeat. Default 100 ms.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// A member not heard from for this long is suspected. Default 500 ms.
    #[serde(with = "humantime_serde")]
    pub silence: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            interval: Duration::from_millis(100),
            silence: Duration::from_millis(500),
        }
    }
}

/// Registers the all-to-all detector as `"all-to-all"`.
pub fn register(registry: &mut DetectorRegistry) {
    registry.register(NAME, |settings| {
        let settings: Settings = settings.parse(NAME)?;
        Ok(Box::new(AllToAll::new(settings)))
    });
}

/// All-to-all heartbeating.
#[derive(Debug)]
pub struct AllToAll {
    settings: Settings,
    /// When each watched member was last heard from directly, and whether
    /// this detector already suspects it.
    last_heard: BTreeMap<NodeId, (Time, bool)>,
    next_beat: Option<Time>,
}

impl AllToAll {
    /// A fresh detector.
    pub fn new(settings: Settings) -> AllToAll {
        AllToAll {
            settings,
            last_heard: BTreeMap::new(),
            next_beat: None,
        }
    }
}

impl FailureDetector for AllToAll {
    fn name(&self) -> &str {
        NAME
    }

    fn member_changed(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        member: NodeId,
        change: MemberChange,
    ) {
        match change {
            MemberChange::Joined | MemberChange::Refuted => {
                self.last_heard.insert(member, (ctx.now(), false));
            }
            MemberChange::Down => {
                self.last_heard.remove(&member);
            }
            _ => {}
        }
    }

    fn handle(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        sender: NodeId,
        payload: &[u8],
    ) -> Result<(), MembershipError> {
        if !payload.is_empty() {
            return Err(MembershipError::MalformedPayload {
                detector: NAME.into(),
                reason: format!("a heartbeat is empty, this is {} bytes", payload.len()),
            });
        }
        if let Some(entry) = self.last_heard.get_mut(&sender) {
            let was_suspected = entry.1;
            *entry = (ctx.now(), false);
            if was_suspected {
                ctx.alive(sender);
            }
        }
        Ok(())
    }

    fn tick(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        if self.next_beat.is_some_and(|due| now < due) {
            return;
        }
        self.next_beat = Some(now + self.settings.interval);
        for to in ctx.live_members() {
            let _ = ctx.send(to, Vec::new());
        }
        let mut late = Vec::new();
        for (member, (heard, suspected)) in self.last_heard.iter_mut() {
            if !*suspected && now.saturating_sub(*heard) >= self.settings.silence {
                *suspected = true;
                late.push(*member);
            }
        }
        for member in late {
            ctx.suspect(member);
        }
    }

    fn next_deadline(&self) -> Option<Time> {
        self.next_beat
    }
}

//! An example failure detector written outside `rumor-membership`: plain
//! all-to-all heartbeating.
//!
//! It shows what a plugin needs: implement
//! [`rumor_membership::FailureDetector`], define your own messages (carried
//! as the opaque payload of `Message::Detector`), and register a constructor
//! by name into a [`DetectorRegistry`]. The core does the rest: member list,
//! suspicion and refutation, dissemination, joins, leaves and events.
//!
//! The protocol: every `heartbeat` each node sends a heartbeat to every live
//! member directly, with membership changes piggybacked. A member not heard
//! from directly for `t_fail` is suspected. Simple and accurate, but the
//! load grows as n² across the cluster, so it suits small clusters only;
//! the built-in `gossip` and `swim` scale.
//!
//! What this crate is not: a detector anyone should run on a large cluster.
//!
//! ```
//! use rumor_membership::{Config, DetectorRegistry};
//!
//! let mut registry = DetectorRegistry::with_builtins();
//! rumor_example_all_to_all::register(&mut registry);
//! let detector = registry.create("all-to-all", &Config::default()).unwrap();
//! assert_eq!(detector.name(), "all-to-all");
//! ```

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use rumor_membership::{
    Config, DetectorContext, DetectorRegistry, FailureDetector, MemberChange, MemberUpdate,
    MembershipError, NodeId, Time, payload,
};
use serde::{Deserialize, Serialize};

/// The name this detector registers under.
pub const NAME: &str = "all-to-all";

/// Registers the all-to-all detector as `"all-to-all"`.
pub fn register(registry: &mut DetectorRegistry) {
    registry.register(NAME, AllToAll::boxed);
}

/// The one message of the protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Heartbeat {
    /// Membership changes riding along.
    updates: Vec<MemberUpdate>,
}

/// All-to-all heartbeating.
#[derive(Debug, Default)]
pub struct AllToAll {
    /// When each watched member was last heard from directly, and whether
    /// this detector already suspects it.
    last_heard: BTreeMap<NodeId, (Time, bool)>,
    next_beat: Option<Time>,
}

impl AllToAll {
    /// A fresh detector.
    pub fn new() -> AllToAll {
        AllToAll::default()
    }

    /// The registry constructor.
    pub fn boxed(_config: &Config) -> Box<dyn FailureDetector> {
        Box::new(AllToAll::new())
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
            MemberChange::Joined => {
                self.last_heard.insert(member, (ctx.now(), false));
            }
            MemberChange::Down => {
                self.last_heard.remove(&member);
            }
            MemberChange::Refuted => {
                self.last_heard.insert(member, (ctx.now(), false));
            }
            MemberChange::Suspected => {}
        }
    }

    fn handle(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        sender: NodeId,
        bytes: &[u8],
    ) -> Result<(), MembershipError> {
        let heartbeat: Heartbeat = payload::decode(NAME, bytes)?;
        ctx.apply_updates(&sender, &heartbeat.updates);
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
        let Some(due) = self.next_beat else {
            self.next_beat = Some(now);
            return;
        };
        if now < due {
            return;
        }
        self.next_beat = Some(now + ctx.config().heartbeat);
        let room = ctx.payload_limit().saturating_sub(8);
        for to in ctx.live_members() {
            let updates = ctx.piggyback(room);
            let _ = ctx.send(to, payload::encode(&Heartbeat { updates }));
        }
        let t_fail = ctx.config().t_fail;
        let mut late = Vec::new();
        for (member, (heard, suspected)) in self.last_heard.iter_mut() {
            if !*suspected && now.saturating_sub(*heard) >= t_fail {
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

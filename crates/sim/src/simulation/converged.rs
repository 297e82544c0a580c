//! [`Bootstrap::Converged`](crate::Bootstrap::Converged): a cluster formed
//! long ago, without a message on the network.

use rumor_membership::{Incarnation, MemberState, MemberUpdate, Membership, NodeId};
use rumor_wire::Gossip;

use super::engine::Engine;
use super::{EngineKind, World};
use crate::rng::{derive_seed, stream};

impl World<'_> {
    /// Every node starts now already listing every node alive. A prototype
    /// of node 0 (not itself a node of the run) is admitted by node 1 with
    /// a join answer naming everyone; every node then adopts a copy of its
    /// member list, one memory copy per node where n join answers of n
    /// members would take n² lookups. Nothing is news, so the bootstrap
    /// records no `joined` events; the ledger counts the full view reached
    /// now. Slots the cluster's builder holds back stay empty.
    pub(super) fn form_converged(&mut self) {
        for slot in 0..self.slots.len() {
            if !self.setup.later.contains(&slot) {
                self.spawn(slot);
            }
        }
        let ids: Vec<NodeId> = self
            .slots
            .iter()
            .filter_map(|s| s.process.as_ref().map(|p| p.id))
            .collect();
        if matches!(self.engine, EngineKind::Foca(_)) {
            let now = self.now;
            for s in &mut self.slots {
                if let Some(Engine::Foca(f)) = s.process.as_mut().map(|p| &mut p.core) {
                    f.adopt(now, &ids);
                }
            }
        } else if let [founder, introducer, ..] = ids[..] {
            let prototype = self.prototype(founder, introducer, &ids);
            let now = self.now;
            for s in &mut self.slots {
                if let Some(core) = s.process.as_mut().and_then(|p| p.core.rumor()) {
                    let adopted = core.adopt_view(now, &prototype);
                    assert!(
                        adopted,
                        "a fresh node listed alive by the prototype adopts its view"
                    );
                }
            }
        }
        for slot in 0..self.slots.len() {
            self.flush(slot, false);
        }
        self.ledger.on_converged(self.now);
    }

    /// A core of `founder` admitted by `introducer` with a join answer
    /// listing `ids` alive. It answers the core's own request, nonce and
    /// all: a core accepts no other.
    fn prototype(&self, founder: NodeId, introducer: NodeId, ids: &[NodeId]) -> Membership {
        let now = self.now;
        let EngineKind::Rumor(name) = &self.engine else {
            unreachable!("only rumor cores are formed from a prototype")
        };
        let detector = self
            .registry
            .create(name, &rumor_membership::DetectorSettings::new(&self.config))
            .expect("the detector was created once at the start of the run");
        let mut prototype = Membership::new(
            founder,
            self.config.clone(),
            detector,
            derive_seed(self.seed, stream::CORE, u64::MAX),
            now,
        )
        .expect("the configuration was checked at the start of the run");
        prototype.join(now, vec![introducer.addr]);
        let nonce = std::iter::from_fn(|| prototype.poll_message())
            .find_map(|t| match t.message {
                Gossip::JoinRequest { nonce, .. } => Some(nonce),
                _ => None,
            })
            .expect("a fresh core joining asks its introducer");
        let members = ids
            .iter()
            .map(|&node| MemberUpdate {
                node,
                state: MemberState::Alive,
                incarnation: Incarnation(0),
            })
            .collect();
        let answer = Gossip::JoinResponse {
            introducer,
            nonce,
            members,
            extras: Default::default(),
        };
        prototype.handle(now, introducer.addr, answer);
        assert!(!prototype.is_joining(), "the prototype was admitted");
        prototype
    }
}

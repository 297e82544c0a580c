//! What a [`ClusterBuilder`](super::ClusterBuilder) adds to a scenario's
//! nodes, as a program embedding the core would before it starts its
//! node: metadata per slot, calls on every rumor core as it is created,
//! and slots left empty until the caller starts them. A plain run
//! ([`super::run`]) has none of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rumor_membership::{DetectorSettings, Membership, Metadata, NodeId, Time, Version};

use super::{EngineKind, VERSION_EPOCH_MS, slot_addr};
use crate::SimError;

/// A call on a new core: its slot, the core, the virtual time.
pub(super) type SetupCall = dyn Fn(usize, &mut Membership, Time) + Send + Sync;

/// The additions of one cluster.
#[derive(Clone, Default)]
pub(super) struct NodeSetup {
    /// Each slot's metadata, given to every process of it from its start.
    pub metadata: BTreeMap<usize, Metadata>,
    /// Calls on every rumor core as it is created, in order.
    pub calls: Vec<Arc<SetupCall>>,
    /// Slots that do not start with the cluster.
    pub later: BTreeSet<usize>,
}

impl NodeSetup {
    /// Checks the additions against a cluster of `nodes` running `engine`:
    /// slots in range, never slot 0 held back (it founds the cluster),
    /// metadata only for rumor cores and only what their datagrams carry.
    pub fn validate(
        &self,
        nodes: usize,
        engine: &EngineKind,
        registry: &rumor_membership::DetectorRegistry,
        config: &rumor_membership::Config,
    ) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Invalid(m));
        if let Some(&slot) = self
            .metadata
            .keys()
            .chain(&self.later)
            .find(|&&s| s >= nodes)
        {
            return bad(format!("node {slot} is out of range for {nodes} nodes"));
        }
        if self.later.contains(&0) {
            return bad("node 0 founds the cluster: it cannot start later".into());
        }
        let EngineKind::Rumor(name) = engine else {
            if self.metadata.is_empty() {
                return Ok(());
            }
            return bad("metadata is for rumor cores; foca carries none".into());
        };
        for (&slot, metadata) in &self.metadata {
            let detector = registry
                .create(name, &DetectorSettings::new(config))
                .map_err(|e| SimError::Membership(e.to_string()))?;
            // Versions look alike in size (Unix milliseconds), so what fits
            // this one fits every version the slot takes.
            let me = NodeId::new(slot_addr(slot), Version(VERSION_EPOCH_MS));
            Membership::builder(me, detector)
                .config(config.clone())
                .metadata(metadata.clone())
                .start(Time::ZERO)
                .map_err(|e| SimError::Membership(format!("metadata of node {slot}: {e}")))?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for NodeSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSetup")
            .field("metadata", &self.metadata)
            .field("calls", &self.calls.len())
            .field("later", &self.later)
            .finish()
    }
}

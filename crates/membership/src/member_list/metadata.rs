//! Members' metadata as the list keeps it: beside the table, only for
//! members that ever set some (a cluster without metadata keeps this map
//! empty, and its entries stay 32 bytes). Each holds the incarnation at
//! which the member set it (its stamp), which the member's digest
//! fingerprint includes while it is live.

use rumor_wire::{Incarnation, Metadata, NodeId};

use super::Map;

/// Metadata by member, with the incarnation it was set at.
#[derive(Debug, Clone, Default)]
pub(super) struct MetadataStore {
    by_member: Map<NodeId, (Incarnation, Metadata)>,
}

impl MetadataStore {
    /// Whether no member has metadata.
    pub(super) fn is_empty(&self) -> bool {
        self.by_member.is_empty()
    }

    /// `id`'s metadata and its stamp.
    pub(super) fn get(&self, id: &NodeId) -> Option<(Incarnation, &Metadata)> {
        if self.by_member.is_empty() {
            return None;
        }
        self.by_member.get(id).map(|(at, m)| (*at, m))
    }

    /// `id`'s stamp, if it has metadata.
    pub(super) fn stamp(&self, id: &NodeId) -> Option<Incarnation> {
        self.get(id).map(|(at, _)| at)
    }

    /// Sets `id`'s metadata, stamped `at`.
    pub(super) fn set(&mut self, id: NodeId, at: Incarnation, metadata: Metadata) {
        self.by_member.insert(id, (at, metadata));
    }

    /// Forgets `id`'s metadata.
    pub(super) fn remove(&mut self, id: &NodeId) {
        if !self.by_member.is_empty() {
            self.by_member.remove(id);
        }
    }
}

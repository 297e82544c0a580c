//! Failed and left members stay listed for `t_delete` after the verdict,
//! so late gossip about them is recognised, then are deleted. This part
//! keeps when each one is due; the timer that fires then checks it.

use rumor_wire::NodeId;

use crate::Time;
use crate::member_list::Map;

/// When each failed or left member is deleted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Removals {
    due: Map<NodeId, Time>,
}

impl Removals {
    /// `id` is deleted at `at`.
    pub(crate) fn schedule(&mut self, id: NodeId, at: Time) {
        self.due.insert(id, at);
    }

    /// Whether the removal of `id` is due at `at` (a timer for an older
    /// deadline is stale).
    pub(crate) fn is_due(&self, id: &NodeId, at: Time) -> bool {
        self.due.get(id) == Some(&at)
    }

    /// `id` is deleted or gone: nothing to do any more.
    pub(crate) fn forget(&mut self, id: &NodeId) {
        self.due.remove(id);
    }

    /// Every pending removal.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NodeId, Time)> + '_ {
        self.due.iter().map(|(id, at)| (*id, *at))
    }
}

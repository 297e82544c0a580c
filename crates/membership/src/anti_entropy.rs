//! Anti-entropy: every `sync_interval` a member sends one random member its
//! own entry and the next slice of its member list, in rotation, filling a
//! datagram. It repairs what dissemination lost (a join or a leave whose
//! every message was dropped) at one datagram per member per interval.

use rumor_wire::encoded_len;

use crate::dissemination::array_header_len;
use crate::membership::Core;

impl Core {
    /// Anti-entropy: one random member gets this node's own entry and a
    /// rotating slice of the member list.
    pub(crate) fn sync(&mut self) {
        let mut target = Vec::new();
        self.list.choose_live(&mut self.rng, 1, &[], &mut target);
        let Some(to) = target.first().copied() else {
            return;
        };
        let budget = self.updates_budget();
        let me = self
            .list
            .get(&self.me)
            .expect("this node is always listed")
            .update();
        let mut updates = vec![me];
        let used = array_header_len(self.list.len()) + encoded_len(&me);
        self.list
            .fill_sync_slice(budget.saturating_sub(used), &mut updates);
        self.send_updates(to.addr, updates);
    }
}

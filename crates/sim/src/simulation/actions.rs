//! Scenario actions applied to the running world.

use rumor_membership::ReceiverDrop;

use super::{Step, World};
use crate::action::Action;
use crate::network::SlotSet;
use crate::rng::{derive_seed, stream};

impl World<'_> {
    pub(super) fn act(&mut self, action: Action) {
        let now = self.now;
        let n = self.slots.len();
        match action {
            Action::Crash(slots) => {
                for slot in slots {
                    if let Some(id) = self.stop(slot) {
                        self.ledger.on_crash(slot, id, now);
                    }
                }
            }
            Action::Restart(slots) => {
                let slots = if slots.is_empty() {
                    (0..n)
                        .filter(|&s| self.slots[s].process.is_none() && self.slots[s].version > 0)
                        .collect()
                } else {
                    slots
                };
                for slot in slots {
                    if let Some(id) = self.stop(slot) {
                        self.ledger.on_crash(slot, id, now);
                    }
                    self.start(slot);
                }
            }
            Action::Leave(slots) => {
                for slot in slots {
                    let Some(p) = &mut self.slots[slot].process else {
                        continue;
                    };
                    let id = p.id;
                    self.ledger.on_leave(slot, id, now);
                    p.core.leave(now);
                    self.flush(slot, false);
                    // It keeps running a little, as an agent does, so the
                    // core can finish gossiping its departure.
                    let generation = self.slots[slot].generation;
                    self.queue.push(
                        now + self.leave_linger,
                        Step::Stop {
                            slot: slot as u32,
                            generation,
                        },
                    );
                }
            }
            Action::Partition { from, to, one_way } => {
                let from = SlotSet::new(n, from);
                let to = match to {
                    Some(to) => SlotSet::new(n, to),
                    None => from.complement(n),
                };
                self.heals.on_cut(now, !self.network.cuts().is_empty());
                self.network.partition(from, to, one_way);
            }
            Action::Heal => {
                let lifted = self.network.heal();
                self.heals.on_heal(now, lifted);
                self.arm_heal_check(now);
            }
            Action::Pause { nodes, lasting } => self.pause(nodes, lasting),
            Action::SetLoss { receiver, network } => {
                if let Some(loss) = network {
                    self.network.set_loss(loss);
                }
                if let Some(loss) = receiver {
                    self.loss = loss;
                    self.loss_changes += 1;
                    for (slot, s) in self.slots.iter_mut().enumerate() {
                        if let Some(p) = &mut s.process {
                            let seed = derive_seed(
                                derive_seed(self.seed, stream::RECEIVER_DROP, slot as u64),
                                self.loss_changes,
                                s.generation,
                            );
                            p.drop = ReceiverDrop::new(loss, seed);
                        }
                    }
                }
            }
        }
    }
}

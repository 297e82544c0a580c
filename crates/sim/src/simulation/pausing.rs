//! Paused processes: a paused node runs nothing — no timer fires, no
//! datagram is handled, nothing is sent — while datagrams for it wait in
//! its receive buffer (up to [`crate::Scenario::receive_buffer`] bytes;
//! more are dropped, as the kernel drops them) and join exchanges that
//! reach it wait with them. When it resumes it reads the backlog in arrival
//! order, then runs whatever timers fell due meanwhile, as a process does
//! after a garbage-collection pause or a starved CPU.

use std::net::SocketAddr;
use std::time::Duration;

use super::engine::Payload;
use super::{Step, World};

/// What a paused slot keeps.
#[derive(Default)]
pub(super) struct Paused {
    /// When the pause ends (a later pause extends it).
    pub until: Duration,
    /// Datagrams in arrival order, and their bytes.
    pub backlog: Vec<(SocketAddr, Payload)>,
    pub backlog_bytes: usize,
    /// Join exchanges that reached it, replayed at the resume.
    pub deferred: Vec<Step>,
}

impl World<'_> {
    /// Pauses the processes of `slots` for `lasting` from now.
    pub(super) fn pause(&mut self, slots: Vec<usize>, lasting: Duration) {
        let until = self.now + lasting;
        for slot in slots {
            let s = &mut self.slots[slot];
            let Some(p) = &s.process else { continue };
            let id = p.id;
            let paused = s.paused.get_or_insert_with(Box::default);
            if paused.until >= until {
                continue;
            }
            paused.until = until;
            let generation = s.generation;
            self.pauses += 1;
            self.ledger.on_pause(id);
            self.queue.push(
                until,
                Step::Resume {
                    slot: slot as u32,
                    generation,
                },
            );
        }
    }

    /// Whether the process of `slot` is paused now.
    pub(super) fn is_paused(&self, slot: usize) -> bool {
        self.slots[slot].paused.is_some()
    }

    /// A step for a paused slot that must wait for the resume.
    pub(super) fn defer(&mut self, slot: usize, step: Step) {
        if let Some(paused) = &mut self.slots[slot].paused {
            paused.deferred.push(step);
        }
    }

    /// A datagram of `len` bytes reached the paused process of `slot`:
    /// it waits in the receive buffer if there is room.
    pub(super) fn buffer(&mut self, slot: usize, from: SocketAddr, payload: Payload, len: usize) {
        let capacity = self.receive_buffer;
        let Some(paused) = &mut self.slots[slot].paused else {
            return;
        };
        if paused.backlog_bytes + len > capacity {
            self.drops.receive_buffer += 1;
            return;
        }
        paused.backlog_bytes += len;
        paused.backlog.push((from, payload));
    }

    /// The end of a pause: the backlog is handled in order, deferred join
    /// exchanges go back on the agenda, and the timer is re-armed (at once
    /// if its deadline passed).
    pub(super) fn resume(&mut self, slot: usize, generation: u64) {
        let now = self.now;
        let s = &mut self.slots[slot];
        if s.generation != generation || s.paused.as_ref().is_none_or(|p| p.until != now) {
            return; // a later pause extended this one, or the process is gone
        }
        let paused = s.paused.take().expect("checked above");
        for (from, payload) in paused.backlog {
            let Some(p) = &mut self.slots[slot].process else {
                break;
            };
            p.core.handle(now, from, payload);
            self.flush(slot, false);
        }
        for step in paused.deferred {
            self.queue.push(now, step);
        }
        self.flush(slot, false);
    }
}

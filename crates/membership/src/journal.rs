//! What the core has to say: membership events for the driver's event log,
//! notes for the detector (the changes it must hear of), and notices about
//! this node's own standing. Three queues, filled by the core's parts and
//! drained by the driver and the detector.

use std::collections::VecDeque;
use std::sync::Arc;

use rumor_wire::{Incarnation, NodeId};

use crate::detector::MemberChange;
use crate::{Event, EventKind, Notice, Time};

/// The core's outgoing queues of events, detector notes and notices.
#[derive(Debug)]
pub(crate) struct Journal {
    /// This node, the observer of every event (a new one after a rejoin).
    observer: NodeId,
    detector: Arc<str>,
    events: VecDeque<Event>,
    notes: VecDeque<(NodeId, MemberChange)>,
    notices: VecDeque<Notice>,
}

impl Journal {
    /// Empty queues for `observer`, watched by `detector`.
    pub(crate) fn new(observer: NodeId, detector: Arc<str>) -> Journal {
        Journal {
            observer,
            detector,
            events: VecDeque::new(),
            notes: VecDeque::new(),
            notices: VecDeque::new(),
        }
    }

    /// The detector's name, as events carry it.
    pub(crate) fn detector(&self) -> &Arc<str> {
        &self.detector
    }

    /// Events from now on are observed by `observer` (a new version).
    pub(crate) fn set_observer(&mut self, observer: NodeId) {
        self.observer = observer;
    }

    /// Records an event at `at`.
    pub(crate) fn emit(
        &mut self,
        at: Time,
        kind: EventKind,
        member: NodeId,
        incarnation: Incarnation,
    ) {
        self.events.push_back(Event {
            at,
            observer: self.observer,
            kind,
            member,
            incarnation,
            detector: self.detector.clone(),
        });
    }

    /// Queues a change for the detector.
    pub(crate) fn note(&mut self, member: NodeId, change: MemberChange) {
        self.notes.push_back((member, change));
    }

    /// Queues a notice for the driver.
    pub(crate) fn notice(&mut self, notice: Notice) {
        self.notices.push_back(notice);
    }

    /// Grows the event and note queues for `additional` more at once (a
    /// join response of thousands of members).
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.events.reserve(additional);
        self.notes.reserve(additional);
    }

    /// The next event, if any.
    pub(crate) fn pop_event(&mut self) -> Option<Event> {
        let next = self.events.pop_front();
        if next.is_none() {
            shrink_idle(&mut self.events);
        }
        next
    }

    /// The next change for the detector, if any.
    pub(crate) fn pop_note(&mut self) -> Option<(NodeId, MemberChange)> {
        let next = self.notes.pop_front();
        if next.is_none() {
            shrink_idle(&mut self.notes);
        }
        next
    }

    /// Drops every change not yet told to the detector.
    pub(crate) fn clear_notes(&mut self) {
        self.notes.clear();
    }

    /// The next notice, if any.
    pub(crate) fn pop_notice(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }
}

/// Gives back the memory of a queue that a burst (a join response of
/// thousands of members) grew, once it is empty again.
pub(crate) fn shrink_idle<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > 256 {
        queue.shrink_to(16);
    }
}

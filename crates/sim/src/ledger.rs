//! The ground truth of a run against what the nodes reported.
//!
//! The simulator knows which process crashed, left or still runs; the ledger
//! checks every event the cores emit against it: a `failed` about a crashed
//! node is a detection, about a live one a false positive (partition-caused
//! or genuine, as the driver says: see [`crate::HealOutcome`]), about a node
//! that left an accuracy violation of its own.

use std::collections::{BTreeSet, HashMap, HashSet};

use rumor_membership::{Event, EventKind, NodeId, Time};

use crate::report::{CrashOutcome, LeaveOutcome, secs};

/// What became of one process (one version of one slot).
#[derive(Debug, Clone, Copy)]
enum Life {
    Live {
        since: Time,
    },
    Crashed {
        track: usize,
    },
    Left {
        track: usize,
    },
    /// A version its core gave up for a new one (a rejoin), the process
    /// running on.
    Retired,
}

struct CrashTrack {
    slot: usize,
    node: NodeId,
    at: Time,
    marks: HashMap<NodeId, Time>,
}

struct LeaveTrack {
    slot: usize,
    node: NodeId,
    at: Time,
    left_marks: HashMap<NodeId, Time>,
    failed_marks: u64,
}

/// Event counts of a run.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EventCounts {
    pub joined: u64,
    pub suspected: u64,
    pub alive: u64,
    pub failed: u64,
    pub left: u64,
    pub removed: u64,
    /// Events about a node no process of this run ever was.
    pub unknown_member: u64,
    /// `left` about a member that did not leave.
    pub spurious_left: u64,
}

/// Ground truth and detections of one run.
#[derive(Default)]
pub(crate) struct Ledger {
    lives: HashMap<NodeId, Life>,
    crashes: Vec<CrashTrack>,
    leaves: Vec<LeaveTrack>,
    false_positive_members: BTreeSet<NodeId>,
    false_positive_marks: u64,
    partition_false_positive_members: BTreeSet<NodeId>,
    /// Versions that have been paused at least once.
    paused: HashSet<NodeId>,
    pause_false_positive_members: BTreeSet<NodeId>,
    pause_false_positive_marks: u64,
    partition_false_positive_marks: u64,
    /// Live members some nodes marked failed (mostly across a partition),
    /// and by whom: should such a member crash later, those nodes know
    /// already.
    held_failed: HashMap<NodeId, Vec<NodeId>>,
    left_marked_failed: u64,
    pub counts: EventCounts,
    recorded: Option<Vec<Event>>,
    /// `joined` events that make a full view: every node knows every node.
    full_view_joins: u64,
    full_view_at: Option<Time>,
    /// A fault happened: the full-view count no longer means anything.
    disturbed: bool,
}

impl Ledger {
    /// A ledger for `nodes` nodes that also keeps every event when `record` is set.
    pub fn new(nodes: usize, record: bool) -> Ledger {
        Ledger {
            recorded: record.then(Vec::new),
            full_view_joins: (nodes as u64).pow(2),
            ..Ledger::default()
        }
    }

    /// When every node had first seen every node join (before any fault).
    pub fn full_view_at(&self) -> Option<Time> {
        self.full_view_at
    }

    /// Every node was handed a full view at `now` (a converged bootstrap,
    /// which records no `joined` events).
    pub fn on_converged(&mut self, now: Time) {
        if !self.disturbed {
            self.full_view_at = Some(now);
        }
    }

    pub fn on_start(&mut self, node: NodeId, now: Time) {
        self.lives.insert(node, Life::Live { since: now });
    }

    /// `node` in `slot` crashed at `now`. Nodes that held it failed
    /// already (a partition's false positive) detected it at the crash:
    /// they will never mark it failed again.
    pub fn on_crash(&mut self, slot: usize, node: NodeId, now: Time) {
        self.disturbed = true;
        let track = self.crashes.len();
        let marks = self
            .held_failed
            .remove(&node)
            .unwrap_or_default()
            .into_iter()
            .map(|observer| (observer, now))
            .collect();
        self.crashes.push(CrashTrack {
            slot,
            node,
            at: now,
            marks,
        });
        self.lives.insert(node, Life::Crashed { track });
    }

    pub fn on_leave(&mut self, slot: usize, node: NodeId, now: Time) {
        self.disturbed = true;
        let track = self.leaves.len();
        self.leaves.push(LeaveTrack {
            slot,
            node,
            at: now,
            left_marks: HashMap::new(),
            failed_marks: 0,
        });
        self.lives.insert(node, Life::Left { track });
    }

    /// `node` paused (it runs on: a `failed` mark of it is a false positive).
    pub fn on_pause(&mut self, node: NodeId) {
        self.paused.insert(node);
    }

    /// A core gave up the version `node` for a new one.
    pub fn on_retire(&mut self, node: NodeId) {
        self.disturbed = true;
        self.lives.insert(node, Life::Retired);
        // A retired version never crashes: who held it failed is moot.
        self.held_failed.remove(&node);
    }

    /// Checks one event; a `failed` is `partition_caused` when the driver
    /// says so. Returns whether the event was a false positive, and of
    /// which kind (true: partition-caused).
    pub fn on_event(&mut self, event: Event, partition_caused: bool) -> Option<bool> {
        let mut false_positive = None;
        let c = &mut self.counts;
        match event.kind {
            EventKind::Joined => {
                c.joined += 1;
                if c.joined == self.full_view_joins && !self.disturbed {
                    self.full_view_at = Some(event.at);
                }
            }
            EventKind::Suspected => c.suspected += 1,
            EventKind::Alive => c.alive += 1,
            EventKind::Removed => c.removed += 1,
            EventKind::Failed => {
                c.failed += 1;
                match self.lives.get(&event.member) {
                    Some(Life::Crashed { track }) => {
                        self.crashes[*track]
                            .marks
                            .entry(event.observer)
                            .or_insert(event.at);
                    }
                    Some(Life::Left { track }) => {
                        self.left_marked_failed += 1;
                        self.leaves[*track].failed_marks += 1;
                    }
                    Some(Life::Live { .. } | Life::Retired) if partition_caused => {
                        self.partition_false_positive_marks += 1;
                        self.partition_false_positive_members.insert(event.member);
                        self.held_failed
                            .entry(event.member)
                            .or_default()
                            .push(event.observer);
                        false_positive = Some(true);
                    }
                    Some(Life::Live { .. } | Life::Retired) => {
                        self.false_positive_marks += 1;
                        self.false_positive_members.insert(event.member);
                        if self.paused.contains(&event.member) {
                            self.pause_false_positive_marks += 1;
                            self.pause_false_positive_members.insert(event.member);
                        }
                        self.held_failed
                            .entry(event.member)
                            .or_default()
                            .push(event.observer);
                        false_positive = Some(false);
                    }
                    None => c.unknown_member += 1,
                }
            }
            EventKind::Left => {
                c.left += 1;
                match self.lives.get(&event.member) {
                    Some(Life::Left { track }) => {
                        self.leaves[*track]
                            .left_marks
                            .entry(event.observer)
                            .or_insert(event.at);
                    }
                    Some(_) => c.spurious_left += 1,
                    None => c.unknown_member += 1,
                }
            }
            // A kind this ledger does not know yet is recorded, not counted.
            _ => {}
        }
        if let Some(events) = &mut self.recorded {
            events.push(event);
        }
        false_positive
    }

    /// Distinct live members some node marked failed, partitions aside.
    pub fn false_positives(&self) -> usize {
        self.false_positive_members.len()
    }

    /// `failed` events about live members, partitions aside.
    pub fn false_positive_marks(&self) -> u64 {
        self.false_positive_marks
    }

    /// Of the false positives: distinct members that had been paused.
    pub fn pause_false_positives(&self) -> usize {
        self.pause_false_positive_members.len()
    }

    /// Of the false-positive marks: marks of members that had been paused.
    pub fn pause_false_positive_marks(&self) -> u64 {
        self.pause_false_positive_marks
    }

    /// Distinct live members marked failed because of a partition.
    pub fn partition_false_positives(&self) -> usize {
        self.partition_false_positive_members.len()
    }

    /// `failed` events about live members caused by a partition.
    pub fn partition_false_positive_marks(&self) -> u64 {
        self.partition_false_positive_marks
    }

    /// `failed` events about members that left.
    pub fn left_marked_failed(&self) -> u64 {
        self.left_marked_failed
    }

    /// The observers a fault at `at` must be seen by: processes still live at
    /// the end that were already running at `at`.
    fn required(&self, at: Time) -> impl Iterator<Item = &NodeId> {
        self.lives
            .iter()
            .filter_map(move |(node, life)| match life {
                Life::Live { since } if *since <= at => Some(node),
                _ => None,
            })
    }

    pub fn crash_outcomes(&self) -> Vec<CrashOutcome> {
        self.crashes
            .iter()
            .map(|c| {
                let first = c.marks.values().min().map(|t| secs(*t - c.at));
                let mut required = 0;
                let mut detected = 0;
                let mut last = c.at;
                for node in self.required(c.at) {
                    required += 1;
                    if let Some(t) = c.marks.get(node) {
                        detected += 1;
                        last = last.max(*t);
                    }
                }
                CrashOutcome {
                    node: c.node.to_string(),
                    slot: c.slot,
                    at_s: secs(c.at),
                    first_detection_s: first,
                    all_member_s: (detected == required).then(|| secs(last - c.at)),
                    observers_required: required,
                    observers_detected: detected,
                }
            })
            .collect()
    }

    pub fn leave_outcomes(&self) -> Vec<LeaveOutcome> {
        self.leaves
            .iter()
            .map(|l| {
                let mut required = 0;
                let mut marked = 0;
                for node in self.required(l.at) {
                    required += 1;
                    marked += usize::from(l.left_marks.contains_key(node));
                }
                LeaveOutcome {
                    node: l.node.to_string(),
                    slot: l.slot,
                    at_s: secs(l.at),
                    observers_required: required,
                    observers_marked_left: marked,
                    marked_failed: l.failed_marks,
                }
            })
            .collect()
    }

    /// The events recorded so far (none unless recording was asked for).
    pub fn events(&self) -> &[Event] {
        self.recorded.as_deref().unwrap_or_default()
    }

    /// Every event, when recording was asked for.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.recorded.take().unwrap_or_default()
    }
}

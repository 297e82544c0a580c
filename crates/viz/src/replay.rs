//! A cluster's history indexed for replay: members, observers, ring slots,
//! timeline markers and failure detections, all computed once from the
//! merged event list.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use rumor_wire::NodeId;

use crate::{Crash, EventKind, LogEvent, Marker, MarkerKind, VizError};

/// Replay time: milliseconds since the earliest event of the replay.
pub type Millis = u64;

/// One event with its time made relative and its nodes made indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayEvent {
    /// Replay time.
    pub at: Millis,
    /// The observer (index into [`Replay::members`]).
    pub observer: u32,
    /// The member the event is about (index into [`Replay::members`]).
    pub member: u32,
    /// What was recorded.
    pub kind: EventKind,
}

/// A node that appears in the logs, as observer or as member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its identity.
    pub id: NodeId,
    /// Its place on the ring (index into [`Replay::slots`]): one per address,
    /// shared by every version of the node.
    pub slot: u32,
    /// Whether an earlier version of the same address appears in the logs:
    /// this is a restarted node.
    pub restarted: bool,
    /// When it first appears in any event.
    pub first_seen: Millis,
    /// Its row among the observers, if it kept a log.
    pub observer: Option<u32>,
}

/// A cluster's history, ready to replay.
#[derive(Clone, Debug)]
pub struct Replay {
    origin_ms: u64,
    events: Vec<ReplayEvent>,
    members: Vec<Member>,
    slots: Vec<SocketAddr>,
    slot_versions: Vec<Vec<u32>>,
    observers: Vec<u32>,
    started_at: Vec<Millis>,
    dead_at: Vec<Option<Millis>>,
    failed_events: Vec<u32>,
    markers: Vec<Marker>,
    crashes: Vec<Crash>,
    detectors: Vec<Arc<str>>,
}

impl Replay {
    /// Indexes `events`, which must be ordered by `ts_ms` (as
    /// [`crate::LoadedEvents::merge_by_time`] leaves them).
    pub fn new(events: &[LogEvent]) -> Result<Replay, VizError> {
        let first = events.first().ok_or(VizError::NoEvents)?;
        let origin_ms = first.ts_ms;

        // Every node, sorted by identity so indices do not depend on input order.
        let mut ids: Vec<NodeId> = events.iter().flat_map(|e| [e.observer, e.member]).collect();
        ids.sort();
        ids.dedup();
        let index: HashMap<NodeId, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let mut slots: Vec<SocketAddr> = ids.iter().map(|id| id.addr).collect();
        slots.sort();
        slots.dedup();
        let slot_of: HashMap<SocketAddr, u32> = slots
            .iter()
            .enumerate()
            .map(|(i, a)| (*a, i as u32))
            .collect();

        let mut observer_ids: Vec<NodeId> = events.iter().map(|e| e.observer).collect();
        observer_ids.sort();
        observer_ids.dedup();
        let observers: Vec<u32> = observer_ids.iter().map(|id| index[id]).collect();

        let mut members: Vec<Member> = ids
            .iter()
            .map(|id| Member {
                id: *id,
                slot: slot_of[&id.addr],
                restarted: false,
                first_seen: Millis::MAX,
                observer: None,
            })
            .collect();
        for (row, &m) in observers.iter().enumerate() {
            members[m as usize].observer = Some(row as u32);
        }
        let mut slot_versions: Vec<Vec<u32>> = vec![Vec::new(); slots.len()];
        for (i, member) in members.iter_mut().enumerate() {
            let versions = &mut slot_versions[member.slot as usize];
            // ids are sorted by (addr, version): earlier versions came first.
            member.restarted = !versions.is_empty();
            versions.push(i as u32);
        }

        let mut replay_events = Vec::with_capacity(events.len());
        for e in events {
            let at = e.ts_ms.saturating_sub(origin_ms);
            let (observer, member) = (index[&e.observer], index[&e.member]);
            for m in [observer, member] {
                let seen = &mut members[m as usize].first_seen;
                *seen = (*seen).min(at);
            }
            replay_events.push(ReplayEvent {
                at,
                observer,
                member,
                kind: e.kind,
            });
        }

        let mut detectors: Vec<Arc<str>> = events.iter().map(|e| e.detector.clone()).collect();
        detectors.sort();
        detectors.dedup();
        detectors.retain(|d| !d.is_empty());

        let mut replay = Replay {
            origin_ms,
            events: replay_events,
            members,
            slots,
            slot_versions,
            observers,
            started_at: Vec::new(),
            dead_at: Vec::new(),
            failed_events: Vec::new(),
            markers: Vec::new(),
            crashes: Vec::new(),
            detectors,
        };
        replay.index_lifetimes();
        replay.index_markers_and_crashes();
        Ok(replay)
    }

    /// When each observer started (its first own event) and died (the first
    /// report by anyone that it failed, left or was removed).
    fn index_lifetimes(&mut self) {
        let rows = self.observers.len();
        self.started_at = vec![Millis::MAX; rows];
        self.dead_at = vec![None; rows];
        for e in &self.events {
            if let Some(row) = self.members[e.observer as usize].observer {
                let start = &mut self.started_at[row as usize];
                *start = (*start).min(e.at);
            }
            if matches!(
                e.kind,
                EventKind::Failed | EventKind::Left | EventKind::Removed
            ) {
                if let Some(row) = self.members[e.member as usize].observer {
                    self.dead_at[row as usize].get_or_insert(e.at);
                }
            }
        }
    }

    fn index_markers_and_crashes(&mut self) {
        let n = self.members.len();
        let mut joined = vec![false; n];
        let mut left = vec![false; n];
        let mut crash_of: Vec<Option<usize>> = vec![None; n];
        let mut reported: HashSet<(u32, u32)> = HashSet::new();
        // The open suspicion episode of each member: the earliest suspected
        // or failed report not refuted since.
        let mut episode: Vec<Option<Millis>> = vec![None; n];
        let mut last_own: Vec<Option<Millis>> = vec![None; n];

        for (i, e) in self.events.iter().enumerate() {
            let m = e.member as usize;
            last_own[e.observer as usize] = Some(e.at);
            match e.kind {
                EventKind::Joined if !joined[m] => {
                    joined[m] = true;
                    self.markers.push(Marker {
                        at: e.at,
                        kind: MarkerKind::Join,
                        member: e.member,
                    });
                }
                EventKind::Left if !left[m] => {
                    left[m] = true;
                    self.markers.push(Marker {
                        at: e.at,
                        kind: MarkerKind::Leave,
                        member: e.member,
                    });
                }
                EventKind::Alive if crash_of[m].is_none() => {
                    episode[m] = None;
                }
                EventKind::Suspected if e.observer != e.member => {
                    episode[m].get_or_insert(e.at);
                }
                EventKind::Failed => {
                    self.failed_events.push(i as u32);
                    self.markers.push(Marker {
                        at: e.at,
                        kind: MarkerKind::Detection,
                        member: e.member,
                    });
                    if !reported.insert((e.observer, e.member)) {
                        continue;
                    }
                    match crash_of[m] {
                        Some(c) => {
                            let crash = &mut self.crashes[c];
                            crash.last_failed = e.at;
                            crash.reports.push(e.at);
                        }
                        None => {
                            self.markers.push(Marker {
                                at: e.at,
                                kind: MarkerKind::Crash,
                                member: e.member,
                            });
                            let first_report = *episode[m].get_or_insert(e.at);
                            let expected = self
                                .observers
                                .iter()
                                .enumerate()
                                // Not the member, nor another version of it.
                                .filter(|&(row, &om)| {
                                    self.members[om as usize].slot != self.members[m].slot
                                        && self.live_at(row as u32, e.at)
                                })
                                .count() as u32;
                            crash_of[m] = Some(self.crashes.len());
                            self.crashes.push(Crash {
                                member: e.member,
                                last_own_event: last_own[m],
                                first_report,
                                first_failed: e.at,
                                last_failed: e.at,
                                reports: vec![e.at],
                                expected,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        self.markers.sort_by_key(|m| (m.at, m.kind));
    }

    /// Unix time in milliseconds of replay time 0 (the earliest event).
    pub fn origin_ms(&self) -> u64 {
        self.origin_ms
    }

    /// Replay time of the last event.
    pub fn duration(&self) -> Millis {
        self.events.last().map_or(0, |e| e.at)
    }

    /// Every event, in time order.
    pub fn events(&self) -> &[ReplayEvent] {
        &self.events
    }

    /// Every node that appears, sorted by identity.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The index of `id` in [`Replay::members`].
    pub fn member_index(&self, id: &NodeId) -> Option<u32> {
        self.members
            .binary_search_by(|m| m.id.cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    /// Ring slots: one per distinct listening address, sorted.
    pub fn slots(&self) -> &[SocketAddr] {
        &self.slots
    }

    /// The label of `slot` on the ring: its address, or only `:PORT` when
    /// every slot shares one IP.
    pub fn slot_label(&self, slot: u32) -> String {
        let addr = self.slots[slot as usize];
        let one_ip = self.slots.iter().all(|a| a.ip() == addr.ip());
        if one_ip && self.slots.len() > 1 {
            format!(":{}", addr.port())
        } else {
            addr.to_string()
        }
    }

    /// The member shown in `slot` at `at`: the newest version of that address
    /// that has appeared by then.
    pub fn slot_member_at(&self, slot: u32, at: Millis) -> Option<u32> {
        self.slot_versions[slot as usize]
            .iter()
            .rev()
            .copied()
            .find(|&m| self.members[m as usize].first_seen <= at)
    }

    /// Every version of the node in `slot`, oldest first (indices into [`Replay::members`]).
    pub fn slot_members(&self, slot: u32) -> &[u32] {
        &self.slot_versions[slot as usize]
    }

    /// Observers (nodes that kept a log), as indices into [`Replay::members`].
    pub fn observers(&self) -> &[u32] {
        &self.observers
    }

    /// Whether observer `row` is live at `at`: it has logged something and
    /// nobody has reported it failed, left or removed.
    pub fn live_at(&self, row: u32, at: Millis) -> bool {
        let row = row as usize;
        self.started_at[row] <= at && self.dead_at[row].is_none_or(|dead| at < dead)
    }

    /// Indices into [`Replay::events`] of every `failed` report, in time order.
    pub fn failed_events(&self) -> &[u32] {
        &self.failed_events
    }

    /// Timeline markers, in time order.
    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }

    /// Every member declared failed, in order of first detection.
    pub fn crashes(&self) -> &[Crash] {
        &self.crashes
    }

    /// The failure detectors named in the logs.
    pub fn detectors(&self) -> &[Arc<str>] {
        &self.detectors
    }
}

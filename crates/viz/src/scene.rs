//! The state of the cluster at one moment of the replay: what each observer
//! sees, and what the majority of live observers sees.
//!
//! [`Scene`] applies events forward as time advances; seeking backwards
//! starts again from the beginning (a 100,000-event replay re-applies in a
//! few milliseconds).

use crate::{EventKind, Millis, Replay, Status};

/// Whose eyes the replay shows the cluster through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Viewpoint {
    /// For each member, the status most live observers hold (ties go to the
    /// later stage of the lifecycle, so news shows as soon as half know it).
    #[default]
    Majority,
    /// One observer's own log (a row of [`Replay::observers`]).
    Observer(u32),
}

/// What every observer believes at one moment.
#[derive(Clone, Debug)]
pub struct Scene {
    at: Millis,
    applied: usize,
    members: usize,
    /// observers × members: the status each observer last recorded.
    views: Vec<Option<Status>>,
    /// Per member, how many live observers hold each status.
    tallies: Vec<[u32; Status::ALL.len()]>,
    started: Vec<bool>,
    dead: Vec<bool>,
}

impl Scene {
    /// The scene before the first event.
    pub fn new(replay: &Replay) -> Scene {
        let members = replay.members().len();
        let rows = replay.observers().len();
        Scene {
            at: 0,
            applied: 0,
            members,
            views: vec![None; rows * members],
            tallies: vec![[0; Status::ALL.len()]; members],
            started: vec![false; rows],
            dead: vec![false; rows],
        }
    }

    /// The replay time the scene shows.
    pub fn at(&self) -> Millis {
        self.at
    }

    /// Moves the scene to `at`: every event at or before `at` applied, none after.
    pub fn seek(&mut self, replay: &Replay, at: Millis) {
        if at < self.at {
            *self = Scene::new(replay);
        }
        self.at = at;
        let events = replay.events();
        while let Some(e) = events.get(self.applied) {
            if e.at > at {
                break;
            }
            self.apply(replay, e.observer, e.member, e.kind);
            self.applied += 1;
        }
    }

    fn apply(&mut self, replay: &Replay, observer: u32, member: u32, kind: EventKind) {
        let members = replay.members();
        let row = members[observer as usize]
            .observer
            .expect("every event's observer has an observer row (Replay::new indexes them)")
            as usize;
        // The report kills the member's own row as an observer (fail-stop:
        // once anyone declared it failed or gone it must rejoin as a new version).
        if matches!(
            kind,
            EventKind::Failed | EventKind::Left | EventKind::Removed
        ) {
            if let Some(dead_row) = members[member as usize].observer {
                self.kill(dead_row as usize);
            }
        }
        if !self.started[row] && !self.dead[row] {
            self.started[row] = true;
        }
        let live = self.started[row] && !self.dead[row];
        let cell = &mut self.views[row * self.members + member as usize];
        let Some(new) = Status::after(kind) else {
            return;
        };
        if live {
            if let Some(old) = *cell {
                self.tallies[member as usize][old as usize] -= 1;
            }
            self.tallies[member as usize][new as usize] += 1;
        }
        *cell = Some(new);
    }

    fn kill(&mut self, row: usize) {
        if self.dead[row] {
            return;
        }
        let was_live = self.started[row];
        self.dead[row] = true;
        if !was_live {
            return;
        }
        let base = row * self.members;
        for (member, cell) in self.views[base..base + self.members].iter().enumerate() {
            if let Some(status) = cell {
                self.tallies[member][*status as usize] -= 1;
            }
        }
    }

    /// Whether observer `row` is live now: it logged something and nobody
    /// reported it failed, left or removed.
    pub fn is_live(&self, row: u32) -> bool {
        self.started[row as usize] && !self.dead[row as usize]
    }

    /// How many observers are live now.
    pub fn live_observers(&self) -> usize {
        self.started
            .iter()
            .zip(&self.dead)
            .filter(|&(s, d)| *s && !*d)
            .count()
    }

    /// `member`'s status from `viewpoint`, or `None` if that view does not
    /// know it.
    pub fn status(&self, viewpoint: Viewpoint, member: u32) -> Option<Status> {
        match viewpoint {
            Viewpoint::Observer(row) => self.views[row as usize * self.members + member as usize],
            Viewpoint::Majority => {
                let tally = &self.tallies[member as usize];
                let mut best: Option<Status> = None;
                for status in Status::ALL {
                    let n = tally[status as usize];
                    if n > 0 && best.is_none_or(|b| n >= tally[b as usize]) {
                        best = Some(status);
                    }
                }
                best
            }
        }
    }

    /// How many live observers hold each status of `member` (indexed by `Status as usize`).
    pub fn tally(&self, member: u32) -> [u32; Status::ALL.len()] {
        self.tallies[member as usize]
    }

    /// How many members the view holds in each status (indexed by `Status as usize`).
    pub fn counts(&self, viewpoint: Viewpoint) -> [u32; Status::ALL.len()] {
        let mut counts = [0; Status::ALL.len()];
        for member in 0..self.members as u32 {
            if let Some(status) = self.status(viewpoint, member) {
                counts[status as usize] += 1;
            }
        }
        counts
    }
}

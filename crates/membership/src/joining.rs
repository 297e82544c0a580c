//! Getting into a cluster: the joiner's side of a join, as a state machine
//! the core drives with its own timers.
//!
//! A join asks candidate introducers in turn, one request at a time, each a
//! [`Channel::Request`](crate::Channel::Request) whose answer must echo the
//! request's nonce and come from the member asked: an answer from anyone
//! else, or to an earlier request, is counted and dropped, so a forged
//! refusal or member list cannot steer a join. A request unanswered within
//! [`ANSWER_TIMEOUT`] (or reported unreachable by the driver) moves on to
//! the next candidate; after a round of all of them the joiner pauses with
//! exponential, jittered backoff and starts the next round.
//!
//! A first join never gives up by itself: the driver decides how long a new
//! node may try (`rumor agent --join-timeout`). A *rejoin* (a member that
//! learned it was declared failed, under a new version) goes on alone after
//! one round without an answer, so a member that loses the cluster keeps
//! running as a cluster of one, and its reconnect attempts find the others
//! again when they can be reached.

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng;

use crate::Time;

/// How long an introducer has to answer one join request.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause after the first round of candidates; doubled every round.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// The longest pause between rounds.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// A join under way.
#[derive(Debug, Clone)]
pub(crate) struct Joining {
    candidates: Vec<SocketAddr>,
    /// The next candidate to ask.
    next: usize,
    /// The request waiting for its answer: whom, its nonce, and until when.
    asked: Option<Asked>,
    /// Rounds of every candidate completed.
    round: u32,
    /// No request before this time (the pause between rounds).
    resume_at: Time,
    /// A rejoin goes on alone after one unanswered round.
    rejoin: bool,
    /// Times the version was renewed for a stale-version refusal this
    /// round, so a refusing introducer cannot keep it in a loop.
    renewals: u32,
}

#[derive(Debug, Clone, Copy)]
struct Asked {
    to: SocketAddr,
    nonce: u64,
    until: Time,
}

/// What the join wants done now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinStep {
    /// Nothing before the next deadline.
    Wait,
    /// Send a join request to `to` carrying `nonce`.
    Ask { to: SocketAddr, nonce: u64 },
    /// The request to `to` got no answer in time.
    TimedOut { to: SocketAddr },
    /// A rejoin found nobody to answer: go on as a cluster of one.
    GoAlone,
}

impl Joining {
    /// A join through `candidates`, asked in order from `now`.
    pub(crate) fn new(candidates: Vec<SocketAddr>, rejoin: bool, now: Time) -> Joining {
        Joining {
            candidates,
            next: 0,
            asked: None,
            round: 0,
            resume_at: now,
            rejoin,
            renewals: 0,
        }
    }

    /// Whether the join is a rejoin (the node was a member before).
    pub(crate) fn is_rejoin(&self) -> bool {
        self.rejoin
    }

    /// Whether an answer from `from` with `nonce` answers the request that
    /// is waiting.
    pub(crate) fn answers(&self, from: SocketAddr, nonce: u64) -> bool {
        self.asked.is_some_and(|a| a.to == from && a.nonce == nonce)
    }

    /// The next deadline: the answer timeout of the waiting request, or the
    /// end of the pause.
    pub(crate) fn deadline(&self) -> Time {
        match self.asked {
            Some(asked) => asked.until,
            None => self.resume_at,
        }
    }

    /// What is due at `now`.
    pub(crate) fn step(&mut self, now: Time, rng: &mut impl Rng) -> JoinStep {
        if let Some(asked) = self.asked {
            if now < asked.until {
                return JoinStep::Wait;
            }
            self.asked = None;
            return JoinStep::TimedOut { to: asked.to };
        }
        if now < self.resume_at {
            return JoinStep::Wait;
        }
        if self.next >= self.candidates.len() {
            if self.rejoin || self.candidates.is_empty() {
                return JoinStep::GoAlone;
            }
            self.next = 0;
            self.renewals = 0;
            let pause = pause(self.round, rng);
            self.round = self.round.saturating_add(1);
            self.resume_at = now + pause;
            return JoinStep::Wait;
        }
        let to = self.candidates[self.next];
        self.next += 1;
        let nonce = rng.random();
        self.asked = Some(Asked {
            to,
            nonce,
            until: now + ANSWER_TIMEOUT,
        });
        JoinStep::Ask { to, nonce }
    }

    /// The request to `from` failed at once (refused elsewhere, or the
    /// stream could not be opened): the next candidate is asked at the
    /// next step.
    pub(crate) fn give_up_on(&mut self, from: SocketAddr) -> bool {
        if self.asked.is_some_and(|a| a.to == from) {
            self.asked = None;
            return true;
        }
        false
    }

    /// The introducer refused our version as stale: ask it again, under a
    /// newer version, at the next step. False (ask the next candidate
    /// instead) once that happened a few times this round.
    pub(crate) fn ask_again(&mut self) -> bool {
        self.asked = None;
        if self.renewals >= 3 {
            return false;
        }
        self.renewals += 1;
        self.next = self.next.saturating_sub(1);
        true
    }
}

/// The pause after round `round`: 0.5 s doubled each round up to 5 s, then
/// jittered to between half and all of it, so joiners refused together do
/// not come back together.
fn pause(round: u32, rng: &mut impl Rng) -> Duration {
    let full = FIRST_PAUSE
        .saturating_mul(1u32 << round.min(8))
        .min(MAX_PAUSE);
    full.mul_f64(rng.random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn asks_each_candidate_in_turn_then_pauses_and_starts_again() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut join = Joining::new(vec![addr(1), addr(2)], false, Time::ZERO);
        let t = Time::ZERO;
        let JoinStep::Ask { to, nonce } = join.step(t, &mut rng) else {
            panic!("asks at once")
        };
        assert_eq!(to, addr(1));
        assert!(join.answers(addr(1), nonce));
        assert!(!join.answers(addr(2), nonce), "only from the member asked");
        assert!(!join.answers(addr(1), nonce ^ 1), "only for this request");
        assert_eq!(
            join.step(t + Duration::from_secs(1), &mut rng),
            JoinStep::Wait
        );
        let t = t + ANSWER_TIMEOUT;
        assert_eq!(join.step(t, &mut rng), JoinStep::TimedOut { to: addr(1) });
        assert!(matches!(join.step(t, &mut rng), JoinStep::Ask { to, .. } if to == addr(2)));
        assert!(join.give_up_on(addr(2)));
        // A round is over: a pause of 0.25-0.5 s, then the first again.
        assert_eq!(join.step(t, &mut rng), JoinStep::Wait);
        assert!(join.deadline() > t && join.deadline() <= t + FIRST_PAUSE);
        let t = join.deadline();
        assert!(matches!(join.step(t, &mut rng), JoinStep::Ask { to, .. } if to == addr(1)));
    }

    #[test]
    fn a_rejoin_goes_alone_after_one_unanswered_round() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut join = Joining::new(vec![addr(1)], true, Time::ZERO);
        assert!(matches!(
            join.step(Time::ZERO, &mut rng),
            JoinStep::Ask { .. }
        ));
        assert!(join.give_up_on(addr(1)));
        assert_eq!(join.step(Time::ZERO, &mut rng), JoinStep::GoAlone);
    }

    #[test]
    fn a_stale_version_is_renewed_a_few_times_per_round_only() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut join = Joining::new(vec![addr(1), addr(2)], false, Time::ZERO);
        for _ in 0..3 {
            assert!(
                matches!(join.step(Time::ZERO, &mut rng), JoinStep::Ask { to, .. } if to == addr(1))
            );
            assert!(join.ask_again());
        }
        assert!(
            matches!(join.step(Time::ZERO, &mut rng), JoinStep::Ask { to, .. } if to == addr(1))
        );
        assert!(!join.ask_again());
        assert!(
            matches!(join.step(Time::ZERO, &mut rng), JoinStep::Ask { to, .. } if to == addr(2))
        );
    }

    #[test]
    fn pauses_double_up_to_five_seconds() {
        let mut rng = SmallRng::seed_from_u64(4);
        for round in 0..20 {
            let p = pause(round, &mut rng);
            let full = FIRST_PAUSE.saturating_mul(1 << round.min(8)).min(MAX_PAUSE);
            assert!(p >= full / 2 && p <= full, "round {round}: {p:?}");
        }
    }
}

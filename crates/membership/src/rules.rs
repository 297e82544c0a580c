//! The precedence rules of the member list (the table of
//! `docs/protocol.md`): what news about a listed member does to what this
//! node holds, and which step of the member's history (its provenance)
//! the news makes. Pure functions; the view carries the decision out.

use std::net::SocketAddr;

use rumor_wire::{Incarnation, MemberState, MemberUpdate};

use crate::provenance::{Accuser, Clue, Verdict};

/// What to do with news about a listed member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Exactly what this node holds: the news is spreading (feedback for
    /// dissemination; for a suspicion, a confirmation).
    HeardAgain,
    /// The member left, and someone missed it: announce the leave again,
    /// at this incarnation, so that no one records it as failed.
    ReannounceLeft(Incarnation),
    /// A member held failed was forced out (`rumor force-leave`): record
    /// it left, the one transition out of `failed`.
    LeftAfterFailure,
    /// A failure declared on a suspicion the member has since refuted.
    StaleFailure,
    /// The member failed or left (final for its version).
    Final(MemberState, Incarnation),
    /// Same state at a newer incarnation: record it and pass it on (for a
    /// suspicion, the timer keeps running; the news confirms it).
    NewIncarnation,
    /// Suspect the member (the update's incarnation).
    Suspect,
    /// The suspect refuted (the update's incarnation).
    Refute,
    /// Old or superseded news: nothing.
    Ignore,
}

impl Decision {
    /// The step of the member's history this news makes, heard from `from`
    /// (`None`: a join response) about a member held in `held`: a
    /// suspicion and who passed it on, a confirmation of the one held, a
    /// refutation, a verdict heard from others, a forced leave passed on.
    pub(crate) fn clue(&self, held: MemberState, from: Option<SocketAddr>) -> Option<Clue> {
        match self {
            Decision::HeardAgain if held == MemberState::Suspect => Some(Clue::Confirmed { from }),
            Decision::Suspect => Some(Clue::Suspected {
                accuser: Accuser::Hearsay { from },
            }),
            Decision::Refute => Some(Clue::Refuted { from }),
            Decision::Final(MemberState::Failed, _) => Some(Clue::Failed {
                verdict: Verdict::Hearsay { from },
            }),
            Decision::LeftAfterFailure if from.is_some() => Some(Clue::Left { forced: true }),
            _ => None,
        }
    }
}

/// What `update` does to a member held in `state` at `current`;
/// `cleared`: this node saw direct evidence of life up to that incarnation.
pub(crate) fn decide(
    state: MemberState,
    current: Incarnation,
    update: &MemberUpdate,
    cleared: Option<Incarnation>,
) -> Decision {
    if state == update.state && current == update.incarnation {
        return Decision::HeardAgain;
    }
    let newer = update.incarnation > current;
    match (state, update.state) {
        (MemberState::Failed, MemberState::Left) => Decision::LeftAfterFailure,
        (MemberState::Failed, _) => Decision::Ignore,
        (MemberState::Left, MemberState::Suspect | MemberState::Failed) => {
            Decision::ReannounceLeft(current)
        }
        (MemberState::Left, _) => Decision::Ignore,
        // Declared on a suspicion the member has since refuted: stale
        // (memberlist drops it too). The one member that declared it holds
        // it as final; the member hears so when it next talks to that one,
        // and rejoins under a new version.
        (_, MemberState::Failed) if update.incarnation < current => Decision::StaleFailure,
        (_, MemberState::Failed | MemberState::Left) => {
            Decision::Final(update.state, update.incarnation)
        }
        (MemberState::Alive, MemberState::Alive) | (MemberState::Suspect, MemberState::Suspect) => {
            if newer {
                Decision::NewIncarnation
            } else {
                Decision::Ignore
            }
        }
        (MemberState::Alive, MemberState::Suspect) => {
            let cleared = cleared.is_some_and(|c| c >= update.incarnation);
            if update.incarnation >= current && !cleared {
                Decision::Suspect
            } else {
                Decision::Ignore
            }
        }
        (MemberState::Suspect, MemberState::Alive) => {
            if newer {
                Decision::Refute
            } else {
                Decision::Ignore
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::NodeId;

    fn news(state: MemberState, incarnation: u64) -> MemberUpdate {
        let node: NodeId = "10.0.0.1:4000#1".parse().unwrap();
        MemberUpdate {
            node,
            state,
            incarnation: Incarnation(incarnation),
        }
    }

    use Decision::*;
    use MemberState::{Alive, Failed, Left, Suspect};

    fn d(state: MemberState, current: u64, update: MemberUpdate) -> Decision {
        decide(state, Incarnation(current), &update, None)
    }

    #[test]
    fn the_protocol_table() {
        // We hold alive(1).
        assert_eq!(d(Alive, 1, news(Alive, 1)), HeardAgain);
        assert_eq!(d(Alive, 1, news(Alive, 0)), Ignore);
        assert_eq!(d(Alive, 1, news(Alive, 2)), NewIncarnation);
        assert_eq!(d(Alive, 1, news(Suspect, 0)), Ignore);
        assert_eq!(d(Alive, 1, news(Suspect, 1)), Decision::Suspect);
        assert_eq!(d(Alive, 1, news(Failed, 0)), StaleFailure);
        assert_eq!(d(Alive, 1, news(Failed, 1)), Final(Failed, Incarnation(1)));
        assert_eq!(d(Alive, 1, news(Left, 0)), Final(Left, Incarnation(0)));
        // We hold suspected(1).
        assert_eq!(d(Suspect, 1, news(Alive, 1)), Ignore);
        assert_eq!(d(Suspect, 1, news(Alive, 2)), Refute);
        assert_eq!(d(Suspect, 1, news(Suspect, 1)), HeardAgain);
        assert_eq!(d(Suspect, 1, news(Suspect, 2)), NewIncarnation);
        assert_eq!(
            d(Suspect, 1, news(Failed, 1)),
            Final(Failed, Incarnation(1))
        );
        // Failed and left are final but for a forced leave; a missed leave
        // is announced again.
        for update in [news(Alive, 5), news(Suspect, 5)] {
            assert_eq!(d(Failed, 1, update), Ignore);
        }
        assert_eq!(d(Failed, 1, news(Left, 5)), LeftAfterFailure);
        assert_eq!(d(Failed, 1, news(Left, 0)), LeftAfterFailure);
        assert_eq!(d(Left, 3, news(Suspect, 4)), ReannounceLeft(Incarnation(3)));
        assert_eq!(d(Left, 3, news(Failed, 4)), ReannounceLeft(Incarnation(3)));
        assert_eq!(d(Left, 3, news(Alive, 4)), Ignore);
    }

    #[test]
    fn direct_evidence_of_life_outweighs_suspicions_up_to_its_incarnation() {
        let cleared = Some(Incarnation(2));
        let decide = |inc| decide(Alive, Incarnation(2), &news(Suspect, inc), cleared);
        assert_eq!(decide(2), Ignore);
        assert_eq!(decide(3), Decision::Suspect);
    }

    #[test]
    fn news_makes_the_steps_of_a_history() {
        let from = Some(std::net::SocketAddr::from(([10, 0, 0, 2], 4000)));
        let clue = |state, current, update| d(state, current, update).clue(state, from);
        assert_eq!(
            clue(Suspect, 1, news(Suspect, 1)),
            Some(Clue::Confirmed { from })
        );
        assert_eq!(
            clue(Alive, 1, news(Alive, 1)),
            None,
            "alive again is no step"
        );
        let accuser = Accuser::Hearsay { from };
        assert_eq!(
            clue(Alive, 1, news(Suspect, 1)),
            Some(Clue::Suspected { accuser })
        );
        assert_eq!(
            clue(Suspect, 1, news(Alive, 2)),
            Some(Clue::Refuted { from })
        );
        let verdict = Verdict::Hearsay { from };
        assert_eq!(
            clue(Suspect, 1, news(Failed, 1)),
            Some(Clue::Failed { verdict })
        );
        assert_eq!(clue(Alive, 1, news(Failed, 0)), None, "stale");
        assert_eq!(clue(Alive, 1, news(Left, 1)), None, "a leave of its own");
        let forced = Some(Clue::Left { forced: true });
        assert_eq!(clue(Failed, 1, news(Left, 1)), forced);
        assert_eq!(LeftAfterFailure.clue(Failed, None), None, "a join response");
    }
}

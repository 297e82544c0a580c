//! The joiner's side: ask each introducer in turn until one admits us.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumor_wire::{Envelope, Message, NodeId};

use crate::{Backoff, FrameAuth, IntroducerError, JoinOutcome, JoinSignal, send_frame};

/// Whom to ask, and how patiently.
#[derive(Debug, Clone)]
pub struct JoinClient {
    /// Introducers, asked in this order every round.
    pub introducers: Vec<SocketAddr>,
    /// Time allowed to connect to one introducer and write the request.
    pub connect_timeout: Duration,
    /// Time to wait for the answer after a request was delivered.
    pub answer_timeout: Duration,
    /// Pause between rounds.
    pub backoff: Backoff,
    /// Total time before giving up.
    pub budget: Duration,
    /// The cluster key, if any: requests are sealed under it.
    pub auth: Option<Arc<dyn FrameAuth>>,
}

impl JoinClient {
    /// A client with default timeouts (1 s to connect, 2 s for the answer,
    /// default backoff, 30 s in all) and no key.
    pub fn new(introducers: Vec<SocketAddr>) -> JoinClient {
        JoinClient {
            introducers,
            connect_timeout: Duration::from_secs(1),
            answer_timeout: Duration::from_secs(2),
            backoff: Backoff::default(),
            budget: Duration::from_secs(30),
            auth: None,
        }
    }

    /// Asks the introducers in turn, round after round with backoff, to admit
    /// `me`, whose listener (at `me.addr`) receives the answer; the agent
    /// raises `signal` when it arrives. Logs one line per attempt.
    ///
    /// Returns the introducer that admitted us, or an error once an
    /// introducer refused or the budget ran out.
    pub fn join(&self, me: NodeId, signal: &JoinSignal) -> Result<NodeId, IntroducerError> {
        if self.introducers.is_empty() {
            return Err(IntroducerError::NoIntroducers);
        }
        let started = Instant::now();
        let give_up = started + self.budget;
        let request = Envelope::new(me.addr, Message::JoinRequest { node: me });
        let mut attempts = 0u32;
        let mut round = 0u32;
        loop {
            for &introducer in &self.introducers {
                if let Some(outcome) = signal.outcome() {
                    return finish(outcome);
                }
                if Instant::now() >= give_up {
                    return Err(self.timed_out(attempts));
                }
                attempts += 1;
                let connect_timeout = self
                    .connect_timeout
                    .min(give_up.saturating_duration_since(Instant::now()))
                    .max(Duration::from_millis(10));
                if let Err(e) =
                    send_frame(introducer, &request, self.auth.as_deref(), connect_timeout)
                {
                    tracing::warn!(
                        "join attempt {attempts}: introducer {introducer} unreachable: {e}"
                    );
                    continue;
                }
                let deadline = (Instant::now() + self.answer_timeout).min(give_up);
                match signal.wait_until(deadline) {
                    Some(outcome) => {
                        if let JoinOutcome::Admitted { introducer: who } = &outcome {
                            tracing::info!(
                                "join attempt {attempts}: admitted by {who} after {} ms",
                                started.elapsed().as_millis()
                            );
                        }
                        return finish(outcome);
                    }
                    None => tracing::warn!(
                        "join attempt {attempts}: introducer {introducer} took the request but sent no answer within {:?}",
                        self.answer_timeout
                    ),
                }
            }
            let pause = self
                .backoff
                .pause(round)
                .min(give_up.saturating_duration_since(Instant::now()));
            if pause.is_zero() {
                round = round.saturating_add(1);
                continue;
            }
            tracing::warn!(
                "no introducer admitted {me} yet; next round in {} ms",
                pause.as_millis()
            );
            // An answer to an earlier request may still arrive during the pause.
            if let Some(outcome) = signal.wait_until(Instant::now() + pause) {
                return finish(outcome);
            }
            round = round.saturating_add(1);
        }
    }

    fn timed_out(&self, attempts: u32) -> IntroducerError {
        IntroducerError::JoinTimedOut {
            budget: self.budget,
            attempts,
            tried: self
                .introducers
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn finish(outcome: JoinOutcome) -> Result<NodeId, IntroducerError> {
    match outcome {
        JoinOutcome::Admitted { introducer } => Ok(introducer),
        JoinOutcome::Refused { by, reason } => Err(IntroducerError::JoinRefused { by, reason }),
    }
}

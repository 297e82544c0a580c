//! The agent's join in the background: the join client runs on a thread of
//! its own, while the main thread keeps driving the core (the introducer's
//! answer reaches the core through the main thread's queue).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rumor_introducer::{FrameAuth, IntroducerError, JoinClient, JoinSignal};
use rumor_msgqueue::Producer;
use rumor_wire::NodeId;

use crate::inbox::Control;

/// What a finished join reports: who admitted us, or why nobody did.
pub type JoinResult = Result<NodeId, IntroducerError>;

/// Runs joins on a background thread and hands their results to the main thread.
#[derive(Debug)]
pub struct Joiner {
    signal: Arc<JoinSignal>,
    result: Arc<Mutex<Option<JoinResult>>>,
    producer: Producer,
    joining: bool,
}

impl Joiner {
    /// A joiner that wakes the main thread through `producer` when a join ends.
    pub fn new(producer: Producer) -> Joiner {
        Joiner {
            signal: Arc::new(JoinSignal::new()),
            result: Arc::new(Mutex::new(None)),
            producer,
            joining: false,
        }
    }

    /// The signal the main thread raises when an introducer's answer arrives.
    pub fn signal(&self) -> &JoinSignal {
        &self.signal
    }

    /// Whether a join is under way.
    pub fn is_joining(&self) -> bool {
        self.joining
    }

    /// Starts joining as `me` through `introducers`, giving up after
    /// `budget`; requests are sealed under `auth` if given.
    pub fn start(
        &mut self,
        me: NodeId,
        introducers: Vec<SocketAddr>,
        budget: Duration,
        auth: Option<Arc<dyn FrameAuth>>,
    ) -> std::io::Result<()> {
        self.signal.reset();
        let mut client = JoinClient::new(introducers);
        client.budget = budget;
        client.auth = auth;
        tracing::info!(
            "joining as {me} through {}",
            client
                .introducers
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let signal = Arc::clone(&self.signal);
        let slot = Arc::clone(&self.result);
        let producer = self.producer.clone();
        std::thread::Builder::new()
            .name("join".into())
            .spawn(move || {
                let result = client.join(me, &signal);
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
                // Only a wake-up: if the queue is full, the main thread still
                // finds the result on its next turn through `poll`.
                let _ = producer.push(
                    SocketAddr::from(([0, 0, 0, 0], 0)),
                    &Control::JoinDone.entry(),
                );
            })?;
        self.joining = true;
        Ok(())
    }

    /// The result of the join, once it has finished (returned once).
    pub fn poll(&mut self) -> Option<JoinResult> {
        if !self.joining {
            return None;
        }
        let result = self
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        self.joining = false;
        Some(result)
    }
}

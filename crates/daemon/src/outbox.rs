//! Fire-and-forget TCP sends off the main thread.
//!
//! Answers to joins and queries go out as new TCP connections. Connecting can
//! take up to the connect timeout, which the main thread must never wait on:
//! it hands the message to a small pool of sender threads through a bounded
//! channel, and drops (with a log line) what does not fit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use rumor_introducer::{FrameAuth, send_frame};
use rumor_wire::{Envelope, Message};

/// The pool of TCP sender threads.
#[derive(Debug, Clone)]
pub struct Outbox {
    queue: Sender<(SocketAddr, Envelope)>,
}

impl Outbox {
    /// Starts `workers` sender threads with room for `capacity` waiting
    /// messages; each send gets `timeout` to connect and write.
    /// With `auth`, join answers go out sealed under the cluster key.
    pub fn spawn(
        workers: usize,
        capacity: usize,
        timeout: Duration,
        auth: Option<Arc<dyn FrameAuth>>,
    ) -> std::io::Result<Outbox> {
        let (queue, pending) = crossbeam_channel::bounded::<(SocketAddr, Envelope)>(capacity);
        for index in 0..workers.max(1) {
            let pending = pending.clone();
            let auth = auth.clone();
            std::thread::Builder::new()
                .name(format!("tcp-sender-{index}"))
                .spawn(move || {
                    while let Ok((to, envelope)) = pending.recv() {
                        let seal = matches!(
                            envelope.body,
                            Message::JoinResponse { .. } | Message::JoinRefused { .. }
                        );
                        let auth = auth.as_deref().filter(|_| seal);
                        if let Err(e) = send_frame(to, &envelope, auth, timeout) {
                            tracing::warn!("could not send {} to {to}: {e}", envelope.body.kind());
                        }
                    }
                })?;
        }
        Ok(Outbox { queue })
    }

    /// Queues `message` from `from` (our listening address) to `to`.
    pub fn send(&self, from: SocketAddr, to: SocketAddr, message: Message) {
        let kind = message.kind();
        match self.queue.try_send((to, Envelope::new(from, message))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("dropped {kind} to {to}: too many TCP sends waiting")
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!("dropped {kind} to {to}: TCP senders stopped")
            }
        }
    }
}

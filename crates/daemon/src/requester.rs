//! The core's requests over TCP, off the main thread.
//!
//! When the membership core asks for a [`Channel::Request`] (a join), a
//! requester thread opens a connection, sends it, and waits for the answer
//! on the same connection; the answer, or the news that there was none,
//! goes back to the main thread through its inbound channel, and a wake-up
//! entry in its queue. Connecting can take up to the timeout, which the
//! main thread must never wait on.
//!
//! [`Channel::Request`]: rumor_membership::Channel::Request

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use rumor_seal::Sealer;
use rumor_wire::{Envelope, Message};

use crate::inbox::Inbound;
use crate::inbox::Waker;

/// The pool of requester threads.
#[derive(Debug, Clone)]
pub struct Requester {
    queue: Sender<(SocketAddr, Envelope)>,
    inbound: Sender<Inbound>,
    waker: Waker,
    from: SocketAddr,
}

impl Requester {
    /// Starts `workers` requester threads; each request gets `timeout` in
    /// all. Requests name `from` (the agent's listening address) and are
    /// sealed by `sealer` when the cluster has a keyring.
    pub fn spawn(
        workers: usize,
        timeout: Duration,
        from: SocketAddr,
        sealer: Option<Arc<Sealer>>,
        inbound: Sender<Inbound>,
        waker: Waker,
    ) -> std::io::Result<Requester> {
        let (queue, pending) = crossbeam_channel::bounded::<(SocketAddr, Envelope)>(256);
        for index in 0..workers.max(1) {
            let pending = pending.clone();
            let sealer = sealer.clone();
            let inbound = inbound.clone();
            let waker = waker.clone();
            std::thread::Builder::new()
                .name(format!("tcp-requester-{index}"))
                .spawn(move || {
                    while let Ok((to, envelope)) = pending.recv() {
                        let kind = envelope.body.kind();
                        let result =
                            rumor_transport::request(to, &envelope, sealer.as_deref(), timeout);
                        let answer = match result {
                            Ok(answer) if answer.from == to => Inbound::Answer {
                                from: to,
                                message: answer.body,
                            },
                            Ok(answer) => {
                                tracing::debug!(
                                    "{kind} to {to} was answered in the name of {}: ignored",
                                    answer.from
                                );
                                Inbound::Unreachable(to)
                            }
                            Err(e) => {
                                tracing::debug!("{kind} to {to}: {e}");
                                Inbound::Unreachable(to)
                            }
                        };
                        if inbound.send(answer).is_err() {
                            return;
                        }
                        waker.wake();
                    }
                })?;
        }
        Ok(Requester {
            queue,
            inbound,
            waker,
            from,
        })
    }

    /// Sends `message` to `to` and brings its answer back.
    pub fn request(&self, to: SocketAddr, message: Message) {
        match self.queue.try_send((to, Envelope::new(self.from, message))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                tracing::warn!("too many requests waiting: {to} counts as unreachable");
                let _ = self.inbound.try_send(Inbound::Unreachable(to));
                self.waker.wake();
            }
        }
    }
}

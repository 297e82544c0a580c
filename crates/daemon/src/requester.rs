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
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use rumor_seal::Sealer;

use crate::inbox::Inbound;
use crate::inbox::Waker;

/// The pool of requester threads.
#[derive(Debug, Clone)]
pub struct Requester {
    queue: Sender<(SocketAddr, Vec<u8>)>,
    inbound: Sender<Inbound>,
    waker: Waker,
}

impl Requester {
    /// Starts `workers` requester threads; each request gets `timeout` in
    /// all and is sealed by `sealer` when the cluster has a keyring.
    pub fn spawn(
        workers: usize,
        timeout: Duration,
        sealer: Option<Arc<Sealer>>,
        inbound: Sender<Inbound>,
        waker: Waker,
    ) -> std::io::Result<Requester> {
        let (queue, pending) = crossbeam_channel::bounded::<(SocketAddr, Vec<u8>)>(256);
        for index in 0..workers.max(1) {
            let pending = pending.clone();
            let sealer = sealer.clone();
            let inbound = inbound.clone();
            let waker = waker.clone();
            std::thread::Builder::new()
                .name(format!("tcp-requester-{index}"))
                .spawn(move || {
                    while let Ok((to, body)) = pending.recv() {
                        let deadline = Instant::now() + timeout;
                        let result = rumor_transport::Exchange::open_encoded(
                            to,
                            &body,
                            sealer.as_deref(),
                            timeout,
                        )
                        .and_then(|mut exchange| exchange.next(deadline))
                        .and_then(|answer| {
                            answer.ok_or(rumor_transport::TransportError::NoAnswer { peer: to })
                        });
                        let answer = match result {
                            Ok(rumor_wire::Envelope {
                                from,
                                body: rumor_wire::Message::Gossip(message),
                                ..
                            }) if from == to => Inbound::Answer { from, message },
                            Ok(answer) if answer.from == to => {
                                tracing::info!(
                                    "{to} answered with a {} message: ignored",
                                    answer.body.kind()
                                );
                                Inbound::Unreachable(to)
                            }
                            Ok(answer) => {
                                tracing::debug!(
                                    "request to {to} was answered in the name of {}: ignored",
                                    answer.from
                                );
                                Inbound::Unreachable(to)
                            }
                            Err(e) => {
                                tracing::info!("no answer from {to}: {e}");
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
        })
    }

    /// Sends `body` (an encoded envelope, as the core hands it out) to `to`
    /// and brings its answer back.
    pub fn request(&self, to: SocketAddr, body: Vec<u8>) {
        match self.queue.try_send((to, body)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                tracing::warn!("too many requests waiting: {to} counts as unreachable");
                let _ = self.inbound.try_send(Inbound::Unreachable(to));
                self.waker.wake();
            }
        }
    }
}

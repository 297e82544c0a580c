//! The TCP service every agent runs on its `--bind` port: it accepts
//! connections, reads one frame from each under a deadline, checks the
//! message kind, and hands what passes to the agent.
//!
//! Hostile or broken clients are refused with a log line and cost bounded
//! resources: a fixed pool of handler threads (a connection that finds them
//! all busy is closed at once), one deadline per connection (slow and silent
//! clients), a maximum frame size checked before anything is allocated, and
//! a list of message kinds the agent expects over TCP.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TrySendError};

use rumor_wire::{Envelope, WireError};

use crate::{DeadlineReader, FrameAuth};

/// Time a connection that already waited out its read timeout in the
/// backlog still gets to deliver a frame.
const BACKLOG_GRACE: Duration = Duration::from_millis(50);

/// The limits of a [`TcpService`].
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Largest frame accepted; a longer length prefix is refused unread.
    pub max_frame: usize,
    /// Time a client has, from accept, to deliver its whole frame.
    pub read_timeout: Duration,
    /// Handler threads: the number of connections served at once.
    pub workers: usize,
    /// Accepted connections that may wait for a handler; beyond it a new
    /// connection is closed at once.
    pub backlog: usize,
    /// Message kinds ([`rumor_wire::Message::kind`]) accepted; others are refused.
    pub accepted_kinds: Vec<&'static str>,
    /// The cluster key, if the cluster has one: frames sealed under it are
    /// opened, and the kinds in `sealed_kinds` are refused unless sealed.
    pub auth: Option<Arc<dyn FrameAuth>>,
    /// Kinds that must be sealed when `auth` is set: by default the join
    /// request and its answers, so only key holders join or admit.
    pub sealed_kinds: Vec<&'static str>,
}

impl Default for ServiceConfig {
    /// 1 MiB frames, 2 s per connection, 4 handlers with 64 waiting, and the
    /// kinds an agent takes over TCP: joins, member queries, leave commands,
    /// dgrep requests.
    fn default() -> ServiceConfig {
        ServiceConfig {
            max_frame: 1 << 20,
            read_timeout: Duration::from_secs(2),
            workers: 4,
            backlog: 64,
            accepted_kinds: vec![
                "join_request",
                "join_response",
                "join_refused",
                "member_query",
                "leave_command",
                "dgrep_request",
            ],
            auth: None,
            sealed_kinds: vec!["join_request", "join_response", "join_refused"],
        }
    }
}

/// One message that passed the service's checks.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The TCP peer (the connection's source address, not the reply address).
    pub peer: SocketAddr,
    /// The decoded envelope; `envelope.from` is where replies go.
    pub envelope: &'a Envelope,
    /// The encoded envelope exactly as received (without the length prefix,
    /// and without the tag of a sealed frame).
    pub frame: &'a [u8],
}

/// What the agent does with each accepted message. An `Err` is logged as a
/// refusal (for instance, the agent's queue was full).
pub type Handler = dyn Fn(Delivery<'_>) -> Result<(), String> + Send + Sync;

/// Counters of a running [`TcpService`].
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    delivered: AtomicU64,
    refused_busy: AtomicU64,
    refused_kind: AtomicU64,
    refused_by_handler: AtomicU64,
    oversized: AtomicU64,
    malformed: AtomicU64,
    timed_out: AtomicU64,
    unauthenticated: AtomicU64,
}

/// A snapshot of a [`TcpService`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Messages handed to the handler, which took them.
    pub delivered: u64,
    /// Connections closed at once because every handler was busy.
    pub refused_busy: u64,
    /// Messages of a kind the service does not take over TCP.
    pub refused_kind: u64,
    /// Messages the handler refused.
    pub refused_by_handler: u64,
    /// Frames whose length prefix exceeded the maximum.
    pub oversized: u64,
    /// Frames that did not decode, or connections that closed mid-frame.
    pub malformed: u64,
    /// Clients that did not deliver a frame before the deadline.
    pub timed_out: u64,
    /// Frames refused because they were not sealed under the cluster key.
    pub unauthenticated: u64,
}

/// The running service: an acceptor thread and a pool of handler threads.
///
/// Dropping it stops accepting and joins the threads.
pub struct TcpService {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for TcpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpService")
            .field("addr", &self.addr)
            .field("stats", &self.stats())
            .finish()
    }
}

impl TcpService {
    /// Starts serving `listener` (already bound and listening) with `handler`.
    pub fn spawn(
        listener: TcpListener,
        config: ServiceConfig,
        handler: Arc<Handler>,
    ) -> std::io::Result<TcpService> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let config = Arc::new(config);
        let (queue, pending) =
            crossbeam_channel::bounded::<(TcpStream, SocketAddr, Instant)>(config.backlog.max(1));
        let mut threads = Vec::new();
        for index in 0..config.workers.max(1) {
            let pending = pending.clone();
            let config = Arc::clone(&config);
            let counters = Arc::clone(&counters);
            let handler = Arc::clone(&handler);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("tcp-handler-{index}"))
                    .spawn(move || serve_connections(&pending, &config, &counters, &*handler))?,
            );
        }
        let acceptor = {
            let stop = Arc::clone(&stop);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name("tcp-acceptor".into())
                .spawn(move || {
                    let mut last_busy_log: Option<Instant> = None;
                    let mut busy_since_log = 0u64;
                    loop {
                        let accepted = listener.accept();
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let (stream, peer) = match accepted {
                            Ok(pair) => pair,
                            Err(e) => {
                                // EMFILE and friends: back off instead of spinning.
                                tracing::warn!("tcp service on {addr}: accept failed: {e}");
                                std::thread::sleep(Duration::from_millis(50));
                                continue;
                            }
                        };
                        counters.accepted.fetch_add(1, Ordering::Relaxed);
                        match queue.try_send((stream, peer, Instant::now())) {
                            Ok(()) => {}
                            Err(TrySendError::Full((stream, peer, _))) => {
                                drop(stream);
                                counters.refused_busy.fetch_add(1, Ordering::Relaxed);
                                busy_since_log += 1;
                                // One line per second at most during a flood.
                                if last_busy_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                                    tracing::warn!(
                                        "tcp service on {addr}: refused {busy_since_log} connection(s), latest from {peer}: every handler busy"
                                    );
                                    busy_since_log = 0;
                                    last_busy_log = Some(Instant::now());
                                }
                            }
                            Err(TrySendError::Disconnected(_)) => return,
                        }
                    }
                })?
        };
        threads.push(acceptor);
        Ok(TcpService {
            addr,
            stop,
            counters,
            threads,
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters so far.
    pub fn stats(&self) -> ServiceStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServiceStats {
            accepted: get(&c.accepted),
            delivered: get(&c.delivered),
            refused_busy: get(&c.refused_busy),
            refused_kind: get(&c.refused_kind),
            refused_by_handler: get(&c.refused_by_handler),
            oversized: get(&c.oversized),
            malformed: get(&c.malformed),
            timed_out: get(&c.timed_out),
            unauthenticated: get(&c.unauthenticated),
        }
    }
}

impl Drop for TcpService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the acceptor out of accept(2); it sees the flag and returns,
        // dropping the queue, which ends the handlers.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn serve_connections(
    pending: &Receiver<(TcpStream, SocketAddr, Instant)>,
    config: &ServiceConfig,
    counters: &Counters,
    handler: &Handler,
) {
    let mut buf = Vec::new();
    while let Ok((stream, peer, accepted_at)) = pending.recv() {
        serve_one(
            &stream,
            peer,
            accepted_at,
            config,
            counters,
            handler,
            &mut buf,
        );
        // Do not keep a megabyte around because one client sent one.
        if buf.capacity() > 64 << 10 {
            buf = Vec::new();
        }
    }
}

fn serve_one(
    stream: &TcpStream,
    peer: SocketAddr,
    accepted_at: Instant,
    config: &ServiceConfig,
    counters: &Counters,
    handler: &Handler,
    buf: &mut Vec<u8>,
) {
    // The clock starts at accept. A client that waited in the backlog behind
    // slow ones past its time still gets a short grace: an honest client sent
    // its frame at once and it is waiting in the socket buffer, while a silent
    // one is dropped quickly, so a flood of silent connections drains fast.
    let deadline = (accepted_at + config.read_timeout).max(Instant::now() + BACKLOG_GRACE);
    let mut reader = DeadlineReader::new(stream, deadline);
    match rumor_wire::read_frame_bytes(&mut reader, buf, config.max_frame) {
        Ok(true) => {}
        Ok(false) => {
            // Connected and closed without a byte: a port probe, or our own wake-up.
            return;
        }
        Err(WireError::FrameTooLarge { size, max }) => {
            counters.oversized.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("refused frame from {peer}: {size} bytes exceeds the maximum of {max}");
            return;
        }
        Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            counters.timed_out.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "refused client {peer}: no complete frame within {:?}",
                config.read_timeout
            );
            return;
        }
        Err(e) => {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("refused frame from {peer}: {e}");
            return;
        }
    }
    // A sealed body never decodes as it is (the tag is trailing bytes), so
    // plain first, then opened under the key.
    let (envelope, body_len, sealed) = match rumor_wire::decode(buf) {
        Ok(envelope) => (envelope, buf.len(), false),
        Err(plain_error) => match config.auth.as_deref().and_then(|auth| auth.open(buf)) {
            Some(body) => match rumor_wire::decode(body) {
                Ok(envelope) => (envelope, body.len(), true),
                Err(e) => {
                    counters.malformed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("refused sealed frame from {peer}: {e}");
                    return;
                }
            },
            None if config.auth.is_some() => {
                counters.unauthenticated.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "refused frame from {peer}: neither a message nor sealed under the cluster key ({plain_error})"
                );
                return;
            }
            None => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("refused frame from {peer}: {plain_error}");
                return;
            }
        },
    };
    let kind = envelope.body.kind();
    if !config.accepted_kinds.contains(&kind) {
        counters.refused_kind.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("refused {kind} message from {peer}: not accepted over TCP");
        return;
    }
    if config.auth.is_some() && !sealed && config.sealed_kinds.contains(&kind) {
        counters.unauthenticated.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("refused {kind} message from {peer}: not sealed under the cluster key");
        return;
    }
    let delivery = Delivery {
        peer,
        envelope: &envelope,
        frame: &buf[..body_len],
    };
    match handler(delivery) {
        Ok(()) => {
            counters.delivered.fetch_add(1, Ordering::Relaxed);
        }
        Err(reason) => {
            counters.refused_by_handler.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("refused {kind} message from {peer}: {reason}");
        }
    }
}

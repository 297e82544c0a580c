//! The TCP service every agent runs on its `--bind` port.
//!
//! One I/O thread accepts connections and reads every one of them without
//! blocking, a frame at a time, each against a deadline fixed at accept; a
//! small pool of handler threads opens (with a keyring), decodes and
//! checks each complete frame and hands it, with the connection to answer
//! on, to the agent. A silent or trickling client therefore costs one file
//! descriptor and the bytes it actually sent, never a handler thread, and
//! per-source limits (connections open, requests a second) keep one source
//! from crowding out the others. Every refusal is counted and logged (at
//! most a line a second per kind during a flood), and the service goes on.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TrySendError};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use rumor_seal::Sealer;
use rumor_wire::{Envelope, WireError};

use crate::frame::{PartialFrame, Progress};
use crate::limits::{SourceLimits, Sources};
use crate::throttle::RefusalLog;
use crate::{Reply, TransportError, frame};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONNECTION: usize = 2;

/// The limits and keys of a [`TcpService`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// Largest frame accepted; a longer length prefix is refused unread.
    pub max_frame: usize,
    /// Time a client has, from accept, to deliver its whole request.
    pub read_timeout: Duration,
    /// Handler threads.
    pub workers: usize,
    /// Complete requests that may wait for a handler; beyond it a request
    /// is refused.
    pub queue: usize,
    /// Connections being read at once, from all sources.
    pub max_connections: usize,
    /// Per-source limits.
    pub limits: SourceLimits,
    /// Message kinds ([`rumor_wire::Message::kind`]) accepted; others are
    /// refused.
    pub accepted_kinds: Vec<&'static str>,
    /// The cluster's keyring, if it has one: every frame must then be
    /// sealed under it, and answers are sealed too.
    pub sealer: Option<Arc<Sealer>>,
}

impl Default for ServiceConfig {
    /// 1 MiB frames, 2 s to deliver a request, 4 handlers with 64 waiting,
    /// 1,024 connections, the default [`SourceLimits`], the kinds an agent
    /// takes over TCP, and no keyring.
    fn default() -> ServiceConfig {
        ServiceConfig {
            max_frame: 1 << 20,
            read_timeout: Duration::from_secs(2),
            workers: 4,
            queue: 64,
            max_connections: 1024,
            limits: SourceLimits::default(),
            accepted_kinds: vec![
                "join_request",
                "member_query",
                "leave_command",
                "keys_request",
                "dgrep_request",
            ],
            sealer: None,
        }
    }
}

/// One request that passed the service's checks, with the connection to
/// answer on.
#[derive(Debug)]
pub struct Delivery {
    /// The TCP peer: where the request really came from.
    pub peer: SocketAddr,
    /// The decoded envelope.
    pub envelope: Envelope,
    /// The way back.
    pub reply: Reply,
}

/// What the agent does with each accepted request. An `Err` is logged as a
/// refusal (for instance, the agent's queue was full).
pub type Handler = dyn Fn(Delivery) -> Result<(), String> + Send + Sync;

/// Counters of a running [`TcpService`].
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    delivered: AtomicU64,
    refused_busy: AtomicU64,
    refused_source: AtomicU64,
    rate_limited: AtomicU64,
    refused_kind: AtomicU64,
    refused_by_handler: AtomicU64,
    oversized: AtomicU64,
    malformed: AtomicU64,
    timed_out: AtomicU64,
    unauthenticated: AtomicU64,
}

/// A snapshot of a [`TcpService`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Requests handed to the handler, which took them.
    pub delivered: u64,
    /// Connections or requests refused because the service was full
    /// (connections, or the queue of requests waiting for a handler).
    pub refused_busy: u64,
    /// Connections refused because their source held too many open.
    pub refused_source: u64,
    /// Requests refused because their source asked too often.
    pub rate_limited: u64,
    /// Requests of a kind the service does not take.
    pub refused_kind: u64,
    /// Requests the handler refused.
    pub refused_by_handler: u64,
    /// Frames whose length prefix exceeded the maximum.
    pub oversized: u64,
    /// Frames that did not decode, or connections that closed mid-frame.
    pub malformed: u64,
    /// Clients that did not deliver a request before the deadline.
    pub timed_out: u64,
    /// Frames that did not open under the cluster's keyring.
    pub unauthenticated: u64,
}

/// The running service: an I/O thread and a pool of handler threads.
/// Dropping it stops accepting and joins the threads.
pub struct TcpService {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
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

/// A complete request on its way to a handler.
struct Pending {
    stream: TcpStream,
    peer: SocketAddr,
    body: Vec<u8>,
}

impl TcpService {
    /// Starts serving `listener` (already bound and listening) with `handler`.
    pub fn spawn(
        listener: TcpListener,
        config: ServiceConfig,
        handler: Arc<Handler>,
    ) -> io::Result<TcpService> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let config = Arc::new(config);
        let (queue, pending) = crossbeam_channel::bounded::<Pending>(config.queue.max(1));
        let refusals = Arc::new(RefusalLog::new(addr));
        let mut threads = Vec::new();
        for index in 0..config.workers.max(1) {
            let pending = pending.clone();
            let refusals = Arc::clone(&refusals);
            let config = Arc::clone(&config);
            let counters = Arc::clone(&counters);
            let handler = Arc::clone(&handler);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("tcp-handler-{index}"))
                    .spawn(move || {
                        serve_requests(&pending, &config, &counters, &refusals, &*handler)
                    })?,
            );
        }
        let io = IoLoop {
            poll,
            listener,
            addr,
            config: Arc::clone(&config),
            counters: Arc::clone(&counters),
            stop: Arc::clone(&stop),
            queue,
            sources: Sources::new(config.limits),
            connections: HashMap::new(),
            next_token: FIRST_CONNECTION,
            refusals: Arc::clone(&refusals),
        };
        threads.push(
            std::thread::Builder::new()
                .name("tcp-io".into())
                .spawn(move || io.run())?,
        );
        Ok(TcpService {
            addr,
            stop,
            waker,
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
            refused_source: get(&c.refused_source),
            rate_limited: get(&c.rate_limited),
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
        let _ = self.waker.wake();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// A connection whose request is still arriving.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    frame: PartialFrame,
    deadline: Instant,
}

struct IoLoop {
    poll: Poll,
    listener: TcpListener,
    addr: SocketAddr,
    config: Arc<ServiceConfig>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    queue: crossbeam_channel::Sender<Pending>,
    sources: Sources,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    refusals: Arc<RefusalLog>,
}

impl IoLoop {
    fn run(mut self) {
        let fd = self.listener.as_raw_fd();
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut SourceFd(&fd), LISTENER, Interest::READABLE)
        {
            tracing::error!(
                "tcp service on {}: cannot watch the listener: {e}",
                self.addr
            );
            return;
        }
        let mut events = Events::with_capacity(256);
        let mut backoff_until: Option<Instant> = None;
        while !self.stop.load(Ordering::Relaxed) {
            // Sleep until the next connection's deadline, the end of an
            // accept back-off, or an event; an idle service sleeps until a
            // connection arrives (or the waker says stop).
            let now = Instant::now();
            let next = self
                .connections
                .values()
                .map(|c| c.deadline)
                .chain(backoff_until)
                .min()
                .map(|d| d.saturating_duration_since(now));
            if let Err(e) = self.poll.poll(&mut events, next) {
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::warn!("tcp service on {}: poll failed: {e}", self.addr);
                    std::thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => {
                        if backoff_until.is_none_or(|t| Instant::now() >= t) {
                            backoff_until = self.accept_all();
                        }
                    }
                    WAKER => {}
                    token => self.read(token),
                }
            }
            if backoff_until.is_some_and(|t| Instant::now() >= t) {
                backoff_until = self.accept_all();
            }
            self.expire();
        }
    }

    /// Accepts every waiting connection; returns when to try again after
    /// an accept error (descriptors exhausted), instead of spinning.
    fn accept_all(&mut self) -> Option<Instant> {
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.refusals
                        .refuse("accept", || format!("accept failed: {e}"));
                    return Some(Instant::now() + Duration::from_millis(50));
                }
            };
            self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            if self.connections.len() >= self.config.max_connections {
                self.counters.refused_busy.fetch_add(1, Ordering::Relaxed);
                self.refusals.refuse("busy", || {
                    format!(
                        "refused connection from {peer}: {} being read",
                        self.config.max_connections
                    )
                });
                continue;
            }
            if !self.sources.open(peer.ip(), now) {
                self.counters.refused_source.fetch_add(1, Ordering::Relaxed);
                self.refusals.refuse("source", || {
                    format!(
                        "refused connection from {peer}: {} already open from that address",
                        self.config.limits.connections_per_source
                    )
                });
                continue;
            }
            let token = Token(self.next_token);
            self.next_token = self.next_token.wrapping_add(1).max(FIRST_CONNECTION);
            let fd = stream.as_raw_fd();
            let registered = stream.set_nonblocking(true).and_then(|()| {
                self.poll
                    .registry()
                    .register(&mut SourceFd(&fd), token, Interest::READABLE)
            });
            if let Err(e) = registered {
                self.sources.close(peer.ip());
                tracing::warn!("tcp service on {}: cannot watch {peer}: {e}", self.addr);
                continue;
            }
            self.connections.insert(
                token,
                Connection {
                    stream,
                    peer,
                    frame: PartialFrame::default(),
                    deadline: now + self.config.read_timeout,
                },
            );
            // Data may already be waiting (edge-triggered readiness).
            self.read(token);
        }
    }

    fn read(&mut self, token: Token) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return;
        };
        let progress = conn.frame.advance(&mut conn.stream, self.config.max_frame);
        match progress {
            Ok(Progress::Pending) => {}
            Ok(Progress::Closed) => {
                // Connected and closed without a byte: a port probe.
                self.drop_connection(token);
            }
            Ok(Progress::Complete(body)) => {
                let conn = self.drop_connection(token).expect("looked up just above");
                self.complete(conn, body);
            }
            Err(WireError::FrameTooLarge { size, max }) => {
                let peer = conn.peer;
                self.drop_connection(token);
                self.counters.oversized.fetch_add(1, Ordering::Relaxed);
                self.refusals.refuse("oversized", || {
                    format!("refused frame from {peer}: {size} bytes exceeds the maximum of {max}")
                });
            }
            Err(e) => {
                let peer = conn.peer;
                self.drop_connection(token);
                self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                self.refusals
                    .refuse("malformed", || format!("refused frame from {peer}: {e}"));
            }
        }
    }

    /// A whole request arrived: metered per source, then queued for a
    /// handler.
    fn complete(&mut self, conn: Connection, body: Vec<u8>) {
        let peer = conn.peer;
        if !self.sources.request(peer.ip(), Instant::now()) {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            self.refusals.refuse("rate", || {
                format!("refused request from {peer}: that address asks too often")
            });
            return;
        }
        if let Err(e) = conn.stream.set_nonblocking(false) {
            tracing::debug!("tcp service: {peer} went away: {e}");
            return;
        }
        let pending = Pending {
            stream: conn.stream,
            peer,
            body,
        };
        match self.queue.try_send(pending) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.counters.refused_busy.fetch_add(1, Ordering::Relaxed);
                self.refusals.refuse("busy", || {
                    format!("refused request from {peer}: every handler busy")
                });
            }
            Err(TrySendError::Disconnected(_)) => self.stop.store(true, Ordering::Relaxed),
        }
    }

    fn drop_connection(&mut self, token: Token) -> Option<Connection> {
        let conn = self.connections.remove(&token)?;
        let fd = conn.stream.as_raw_fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        self.sources.close(conn.peer.ip());
        Some(conn)
    }

    /// Closes connections past their deadline.
    fn expire(&mut self) {
        let now = Instant::now();
        let late: Vec<Token> = self
            .connections
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in late {
            if let Some(conn) = self.drop_connection(token) {
                self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                self.refusals.refuse("timeout", || {
                    format!(
                        "refused client {}: no complete request within {:?}",
                        conn.peer, self.config.read_timeout
                    )
                });
            }
        }
    }
}

fn serve_requests(
    pending: &Receiver<Pending>,
    config: &ServiceConfig,
    counters: &Counters,
    refusals: &RefusalLog,
    handler: &Handler,
) {
    while let Ok(request) = pending.recv() {
        serve_one(request, config, counters, refusals, handler);
    }
}

fn serve_one(
    request: Pending,
    config: &ServiceConfig,
    counters: &Counters,
    refusals: &RefusalLog,
    handler: &Handler,
) {
    let Pending { stream, peer, body } = request;
    let envelope = match frame::decode_body(&body, config.sealer.as_deref(), peer) {
        Ok(envelope) => envelope,
        Err(TransportError::Unsealed { cause, .. }) => {
            counters.unauthenticated.fetch_add(1, Ordering::Relaxed);
            refusals.refuse("unauthenticated", || {
                format!(
                    "refused frame from {peer}: not sealed under the cluster's keyring ({cause})"
                )
            });
            return;
        }
        Err(e) => {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            refusals.refuse("malformed", || format!("refused frame from {peer}: {e}"));
            return;
        }
    };
    let kind = envelope.body.kind();
    if !config.accepted_kinds.contains(&kind) {
        counters.refused_kind.fetch_add(1, Ordering::Relaxed);
        refusals.refuse("kind", || {
            format!("refused {kind} message from {peer}: not accepted over TCP")
        });
        return;
    }
    let reply = Reply::new(stream, peer, config.sealer.clone(), config.max_frame);
    match handler(Delivery {
        peer,
        envelope,
        reply,
    }) {
        Ok(()) => {
            counters.delivered.fetch_add(1, Ordering::Relaxed);
        }
        Err(reason) => {
            counters.refused_by_handler.fetch_add(1, Ordering::Relaxed);
            refusals.refuse("handler", || {
                format!("refused {kind} message from {peer}: {reason}")
            });
        }
    }
}

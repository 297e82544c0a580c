//! The agent's main thread: one loop that waits for datagrams, requests and
//! deadlines, drives the membership core, and carries out what it says.
//! It reads the UDP socket itself, so a datagram costs one wake-up.
//! Operators' requests are answered in [`control`].

mod control;
mod hangup;
mod receive_batch;
mod report;
mod stats;
mod wait_point;
mod why;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rumor_membership::{
    Channel, Event, EventKind, Membership, Notice, ReceiverDrop, Time, Transmit,
};
use rumor_transport::{Delivery, Reply, TcpService};
use rumor_wire::{Dgrep, Gossip, JoinRetry, Message, NodeId};

use crate::DaemonError;
use crate::dgrep_server::DgrepServer;
use crate::event_log::EventLog;
use crate::inbox::{Inbound, Signalled, Waker};
use crate::keys::KeyService;
use crate::log_file::LogFile;
use crate::metrics::Metrics;
use crate::monitor::Monitors;
use crate::outbox::Outbox;
use crate::requester::Requester;
use crate::settings::AgentSettings;
use crate::snapshot::{MemberCounts, Snapshot};

pub use self::stats::DriverStats;

use self::receive_batch::ReceiveBatch;
use self::wait_point::WaitPoint;

/// How often a line of counters goes to agent.log.
const STATS_EVERY: Duration = Duration::from_secs(60);
/// The longest wait when nothing at all is due.
const IDLE_WAIT: Duration = Duration::from_secs(3600);
/// Datagrams read in one turn at most: under a flood, timers, requests and
/// signals are still served between turns (the rest wait in the socket).
const RECEIVE_BATCH: usize = 64;
/// How long the socket is left unread after a receive error other than
/// "nothing ready", so a lasting error cannot turn the loop into a spin.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// The main thread's state.
pub(crate) struct Driver {
    settings: AgentSettings,
    membership: Membership,
    /// The identity last seen, to log rejoins.
    me: NodeId,
    epoch: Instant,
    epoch_unix_ms: u64,
    /// The gossip socket (non-blocking): read and written by this thread only.
    udp: UdpSocket,
    /// Receiving buffers: each one byte over the datagram limit, so an
    /// oversized datagram shows as longer than the limit and fails to
    /// decode.
    received: ReceiveBatch,
    /// Set after a receive error: the socket is not watched until then.
    udp_paused_until: Option<Time>,
    /// Encoding buffer of outgoing datagrams, and the sealed copy.
    plain: Vec<u8>,
    sealed: Vec<u8>,
    /// Opening buffer of incoming sealed datagrams.
    opened: Vec<u8>,
    outbox: Outbox,
    requester: Requester,
    inbound: Receiver<Inbound>,
    /// Rung by whoever puts something in `inbound` or raises a flag in
    /// `signalled`.
    waker: Waker,
    signalled: Arc<Signalled>,
    events: EventLog,
    drop: ReceiverDrop,
    stats: DriverStats,
    /// Until when a new agent's first join may try; `None` once admitted
    /// (or for an agent that starts a cluster).
    first_join_until: Option<Time>,
    /// Introducers named by host wait for their first addresses: until
    /// then the agent counts as joining.
    awaiting_introducers: bool,
    /// The reason of the latest join refusal, for the exit line.
    last_refusal: Option<String>,
    leave_by: Option<Time>,
    dgrep: DgrepServer,
    keys: KeyService,
    /// The TCP service, for its counters.
    service: Option<TcpService>,
    /// agent.log, reopened on SIGHUP.
    log: Option<LogFile>,
    /// The Prometheus metrics, when served.
    metrics: Option<Arc<Metrics>>,
    /// `rumor monitor` streams.
    monitors: Monitors,
    /// The introducers' addresses (looked up when named by host).
    introducers: Vec<SocketAddr>,
    /// The thread looking the introducers' host names up, if any.
    resolver: Option<crate::resolve::Resolver>,
    /// Where a resolver started later puts the addresses it finds.
    inbound_tx: Sender<Inbound>,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        settings: AgentSettings,
        membership: Membership,
        epoch_unix_ms: u64,
        udp: UdpSocket,
        events: EventLog,
        outbox: Outbox,
        requester: Requester,
        inbound: (Sender<Inbound>, Receiver<Inbound>),
        waker: Waker,
        signalled: Arc<Signalled>,
        dgrep: DgrepServer,
    ) -> Driver {
        let (inbound_tx, inbound) = inbound;
        let me = membership.id();
        let awaiting_introducers =
            !settings.join.is_empty() && !crate::resolve::all_literal(&settings.join);
        let first_join_until =
            (membership.is_joining() || awaiting_introducers).then_some(settings.join_timeout);
        let keys = KeyService::new(
            settings.sealer.clone(),
            settings.keyring_path.clone(),
            settings.advertise,
        );
        Driver {
            service: None,
            log: None,
            metrics: None,
            monitors: Monitors::default(),
            introducers: Vec::new(),
            resolver: None,
            inbound_tx,
            keys,
            drop: ReceiverDrop::new(settings.drop_rate, me.version.0 ^ 0x5eed),
            received: ReceiveBatch::new(RECEIVE_BATCH, settings.membership.datagram_limit),
            udp_paused_until: None,
            plain: Vec::with_capacity(settings.membership.datagram_limit),
            sealed: Vec::with_capacity(settings.membership.datagram_limit),
            opened: Vec::with_capacity(settings.membership.datagram_limit),
            me,
            membership,
            epoch: Instant::now(),
            epoch_unix_ms,
            udp,
            outbox,
            requester,
            inbound,
            waker,
            signalled,
            events,
            stats: DriverStats::default(),
            first_join_until,
            awaiting_introducers,
            last_refusal: None,
            leave_by: None,
            dgrep,
            settings,
        }
    }

    /// Hands the driver what it reports on and reopens: the TCP service,
    /// agent.log, and the metrics when they are served.
    pub(crate) fn attach(
        &mut self,
        service: TcpService,
        log: LogFile,
        metrics: Option<Arc<Metrics>>,
        resolver: Option<crate::resolve::Resolver>,
    ) {
        self.resolver = resolver;
        self.service = Some(service);
        self.log = Some(log);
        self.metrics = metrics;
    }

    fn now(&self) -> Time {
        self.epoch.elapsed()
    }

    /// The agent's figures now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let members = MemberCounts::of(self.membership.members().into_iter().map(|m| m.state));
        let queue = crate::sockets::receive_queue(&self.udp).unwrap_or_default();
        Snapshot {
            node: self.membership.id(),
            joined: !self.membership.is_joining() && self.leave_by.is_none(),
            members,
            core: self.membership.stats().clone(),
            driver: self.stats,
            queue_depth: queue.waiting_bytes,
            queue_full: queue.drops,
            local_health: self.membership.local_health(),
            service: self.service.as_ref().map(|s| s.stats()).unwrap_or_default(),
        }
    }

    pub(crate) fn run(&mut self) -> Result<(), DaemonError> {
        let mut wait_point = WaitPoint::new(&self.udp, &self.waker)
            .map_err(|e| DaemonError::io("cannot set up the main thread's wait", e))?;
        let mut next_report = self.now() + STATS_EVERY;
        loop {
            self.flush_outputs();
            let now = self.now();
            if now >= next_report {
                self.report();
                next_report += STATS_EVERY;
            }
            if let Some(by) = self.leave_by {
                if now >= by {
                    tracing::info!("left the cluster");
                    return Ok(());
                }
            }
            self.check_first_join(now)?;
            if self.udp_paused_until.is_some_and(|until| until <= now) {
                self.udp_paused_until = None;
            }
            // Sleep until the next deadline, a datagram or a ring: an idle
            // agent wakes only for its own timers and once per datagram.
            let mut next = self.membership.poll_timeout();
            for at in [self.leave_by, self.first_join_until, self.udp_paused_until]
                .into_iter()
                .flatten()
            {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            wait_point
                .watch_udp(&self.udp, self.udp_paused_until.is_none())
                .map_err(|e| DaemonError::io("cannot watch the UDP socket", e))?;
            let wait = next.map_or(IDLE_WAIT, |t| t.saturating_sub(now));
            let ready = wait_point
                .wait(wait)
                .map_err(|e| DaemonError::io("cannot wait for datagrams", e))?;
            let mut now = self.now();
            if ready.datagrams {
                self.receive(now);
            }
            if ready.rung {
                self.on_ring();
                if self.signalled.leave.swap(false, Ordering::SeqCst) {
                    if self.leave_by.is_some() {
                        tracing::info!("second signal: stopping without waiting");
                        return Ok(());
                    }
                    now = self.now();
                    self.leave(now);
                }
                now = self.now();
            }
            if self.membership.poll_timeout().is_some_and(|t| t <= now) {
                self.membership.tick(now);
            }
        }
    }

    /// Reads the datagrams ready on the socket, [`RECEIVE_BATCH`] at most
    /// in one system call (the rest wait for the next turn), and hands each
    /// to the core.
    fn receive(&mut self, now: Time) {
        let mut batch = std::mem::replace(&mut self.received, ReceiveBatch::new(0, 0));
        match batch.read(&self.udp) {
            Ok(n) => {
                for i in 0..n {
                    self.on_datagram(now, batch.datagram(i));
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!("udp receive failed: {e}");
                self.udp_paused_until = Some(now + RECEIVE_ERROR_PAUSE);
            }
        }
        self.received = batch;
    }

    /// The waker rang: SIGHUP's flag, then everything in the inbound
    /// channel. (The leave flag is the caller's: it may end the loop.)
    fn on_ring(&mut self) {
        // First: whatever was put in before a ring this answer absorbs is
        // visible from here on.
        self.waker.answer();
        if self.signalled.reopen.swap(false, Ordering::SeqCst) {
            let now = self.now();
            self.on_hangup(now);
        }
        while let Ok(inbound) = self.inbound.try_recv() {
            let now = self.now();
            match inbound {
                Inbound::Request(delivery) => self.on_request(now, delivery),
                Inbound::Answer { from, message } => self.membership.handle(now, from, message),
                Inbound::Unreachable(to) => self.membership.handle_unreachable(now, to),
                Inbound::Snapshot(to) => {
                    self.flush_outputs();
                    let _ = to.try_send(self.snapshot());
                }
                Inbound::Introducers(addrs) => self.on_introducers(now, addrs),
            }
        }
    }

    /// A new agent whose first join found nobody to admit it within
    /// `--join-timeout` gives up with one line; after that, nothing about
    /// joins is fatal.
    fn check_first_join(&mut self, now: Time) -> Result<(), DaemonError> {
        let Some(until) = self.first_join_until else {
            return Ok(());
        };
        if !self.membership.is_joining() && !self.awaiting_introducers {
            self.first_join_until = None;
            return Ok(());
        }
        if now < until {
            return Ok(());
        }
        let tried: Vec<String> = self.settings.join.clone();
        let why = match &self.last_refusal {
            Some(reason) => format!("last refusal: {reason}"),
            None if self.awaiting_introducers => "no introducer's name resolved".to_string(),
            None => "no introducer answered".to_string(),
        };
        Err(DaemonError::Join(format!(
            "no introducer admitted {} within {:?} (tried {}; {why})",
            self.me,
            self.settings.join_timeout,
            tried.join(", ")
        )))
    }

    fn on_datagram(&mut self, now: Time, bytes: &[u8]) {
        if !self.drop.admit() {
            self.stats.injected_drops += 1;
            return;
        }
        self.stats.datagrams += 1;
        self.stats.bytes_in += bytes.len() as u64;
        let bytes = match &self.settings.sealer {
            None => bytes,
            Some(sealer) => {
                self.opened.clear();
                let (me, len) = recipient(self.settings.advertise);
                let opened = sealer.open_for(
                    bytes,
                    &mut self.opened,
                    rumor_seal::unix_millis(),
                    &me[..len],
                );
                if let Err(cause) = opened {
                    self.stats.unauthenticated += 1;
                    tracing::debug!("dropped a datagram that did not open: {cause}");
                    return;
                }
                &self.opened[..]
            }
        };
        let limit = self.settings.membership.datagram_limit;
        let envelope = match rumor_wire::decode_datagram(bytes, limit) {
            Ok(envelope) => envelope,
            Err(e) => {
                self.stats.malformed += 1;
                tracing::debug!("dropped malformed datagram: {e}");
                return;
            }
        };
        match envelope.body {
            Message::Gossip(
                message @ (Gossip::Updates { .. }
                | Gossip::Detector { .. }
                | Gossip::Leave { .. }
                | Gossip::Digest { .. }
                | Gossip::Gone { .. }),
            ) => self.membership.handle(now, envelope.from, message),
            other => {
                self.stats.wrong_kind += 1;
                tracing::debug!(
                    "dropped {} datagram from {}: not taken over UDP",
                    other.kind(),
                    envelope.from
                );
            }
        }
    }

    fn on_request(&mut self, now: Time, delivery: Delivery) {
        let Delivery {
            peer,
            envelope,
            reply,
        } = delivery;
        let me = self.membership.id();
        match envelope.body {
            Message::Gossip(request @ Gossip::JoinRequest { .. }) => {
                self.on_join_request(now, request, reply);
            }
            Message::Control(control) => self.on_control(now, peer, control, reply),
            Message::Dgrep(Dgrep::Request(request)) => {
                // Results stream back on the request's own connection: never
                // to an address the envelope names.
                if let Some((reply, refusal)) = self.dgrep.serve(request, reply, me) {
                    self.outbox.reply(reply, refusal);
                }
            }
            other => {
                // The TCP service filters kinds; keep the main thread honest anyway.
                tracing::warn!("ignored {} message from {peer} over TCP", other.kind());
            }
        }
    }

    fn on_join_request(&mut self, now: Time, request: Gossip, reply: Reply) {
        let me = self.membership.id();
        let Gossip::JoinRequest { node, nonce, .. } = request else {
            return;
        };
        let answer = if self.leave_by.is_some() {
            Gossip::JoinRefused {
                nonce,
                reason: format!("{me} is leaving the cluster"),
                retry: JoinRetry::Elsewhere,
            }
        } else {
            match self.membership.handle_request(now, request) {
                Some(answer) => answer,
                None => return,
            }
        };
        match &answer {
            Gossip::JoinResponse { members, .. } => {
                tracing::info!("introduced {node} (sent {} members)", members.len())
            }
            Gossip::JoinRefused { reason, .. } => {
                tracing::warn!("refused join of {node}: {reason}")
            }
            _ => {}
        }
        self.outbox.reply(reply, answer);
    }

    fn leave(&mut self, now: Time) {
        if self.leave_by.is_some() {
            return;
        }
        self.membership.leave(now);
        // Keep driving the core for a few heartbeats so the Leave messages go out
        // (and are repeated, as the core decides) before the process ends.
        let linger = (self.settings.membership.heartbeat * 3).max(Duration::from_millis(300));
        self.leave_by = Some(now + linger);
        tracing::info!(
            "leaving the cluster (lingering {} ms to spread the news)",
            linger.as_millis()
        );
    }

    fn flush_outputs(&mut self) {
        let mut plain = std::mem::take(&mut self.plain);
        while let Some(transmit) = self.membership.poll_transmit(&mut plain) {
            self.transmit(transmit, &plain);
        }
        self.plain = plain;
        while let Some(event) = self.membership.poll_event() {
            self.record(&event);
        }
        while let Some(notice) = self.membership.poll_notice() {
            self.note(notice);
        }
        while let Some(broadcast) = self.membership.poll_broadcast() {
            // One line whatever the bytes: escaped, quoted.
            let text = String::from_utf8_lossy(&broadcast.payload);
            let (origin, seq) = (broadcast.origin, broadcast.seq);
            tracing::info!("broadcast #{seq} from {origin}: {text:?}");
        }
        self.me = self.membership.id();
    }

    /// Sends what the core encoded into `bytes`, the way it says: a
    /// request to the requester threads, a datagram sealed (with a
    /// keyring) and sent.
    fn transmit(&mut self, transmit: Transmit, bytes: &[u8]) {
        if transmit.channel == Channel::Request {
            // A join attempt: introducers named by host are looked up again.
            if let Some(resolver) = &self.resolver {
                resolver.look_up_now();
            }
            self.requester.request(transmit.to, bytes.to_vec());
            return;
        }
        let datagram = match &self.settings.sealer {
            None => bytes,
            Some(sealer) => {
                self.sealed.clear();
                let (to, to_len) = recipient(transmit.to);
                let sealed = sealer.seal_for(
                    bytes,
                    &mut self.sealed,
                    rumor_seal::unix_millis(),
                    &to[..to_len],
                );
                if let Err(e) = sealed {
                    self.stats.send_errors += 1;
                    tracing::warn!("could not seal a datagram: {e}");
                    return;
                }
                &self.sealed[..]
            }
        };
        match self.udp.send_to(datagram, transmit.to) {
            Ok(n) => {
                self.stats.sent += 1;
                self.stats.bytes_out += n as u64;
            }
            Err(e) => {
                self.stats.send_errors += 1;
                tracing::debug!("udp send to {} failed: {e}", transmit.to);
            }
        }
    }

    /// Logs a notice about this node's own standing.
    fn note(&mut self, notice: Notice) {
        match &notice {
            Notice::JoinAsked { .. } => tracing::info!("{notice}"),
            Notice::Joined { .. } => tracing::info!("{notice}"),
            Notice::JoinRefused { reason, .. } => {
                self.last_refusal = Some(reason.clone());
                tracing::warn!("{notice}; trying again")
            }
            Notice::JoinUnanswered { .. } => tracing::warn!("{notice}"),
            Notice::Rejoining { .. } | Notice::Alone | Notice::OutweighedPeer { .. } => {
                tracing::warn!("{notice}")
            }
            _ => tracing::info!("{notice}"),
        }
    }

    fn record(&mut self, event: &Event) {
        let record = event.record(self.epoch_unix_ms);
        if let Err(e) = self.events.append(&record) {
            tracing::error!("cannot write {}: {e}", self.events.path().display());
        }
        if let Some(metrics) = &self.metrics {
            metrics.observe_event(&record);
        }
        self.monitors.publish(&record);
        let member = event.member;
        let inc = event.incarnation;
        match event.kind {
            EventKind::Joined if member == event.observer => {
                tracing::info!("started as {member}")
            }
            EventKind::Joined => tracing::info!("member {member} joined"),
            EventKind::Suspected => tracing::warn!("member {member} suspected (incarnation {inc})"),
            EventKind::Alive => {
                tracing::info!("member {member} refuted suspicion (incarnation {inc})")
            }
            EventKind::Failed => tracing::warn!("member {member} failed"),
            EventKind::Left => tracing::info!("member {member} left"),
            EventKind::Removed => tracing::info!("member {member} removed from the list"),
            kind => tracing::info!("member {member}: {kind}"),
        }
    }
}

/// A datagram's recipient as sealed into it: the destination's address,
/// IP then port, so a datagram captured on its way to one member opens
/// nowhere else.
fn recipient(addr: SocketAddr) -> ([u8; 18], usize) {
    let mut out = [0u8; 18];
    let len = match addr.ip() {
        std::net::IpAddr::V4(ip) => {
            out[..4].copy_from_slice(&ip.octets());
            4
        }
        std::net::IpAddr::V6(ip) => {
            out[..16].copy_from_slice(&ip.octets());
            16
        }
    };
    out[len..len + 2].copy_from_slice(&addr.port().to_be_bytes());
    (out, len + 2)
}

//! `rumor agent`: one member of a cluster, driving the sans-I/O membership
//! core with real sockets, threads and clocks.
//!
//! Threads: the UDP listener and the TCP service push into one
//! [`rumor_msgqueue`] queue (see [`crate::inbox`]); the main thread waits on
//! it until something arrives or the core's next deadline, swaps, decodes,
//! drives the core, sends its datagrams with `send_to`, and writes its events.
//! TCP answers go through the [`Outbox`] so the main thread never waits on a
//! connect.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumor_dgrep::ServeConfig;
use rumor_introducer::{Delivery, FrameAuth, JoinOutcome, ServiceConfig, TcpService};
use rumor_membership::{DetectorRegistry, Event, EventKind, Membership, ReceiverDrop, Time};
use rumor_msgqueue::Limits;
use rumor_wire::{Envelope, MemberState, Message, NodeId, Version};

use crate::dgrep_server::DgrepServer;
use crate::event_log::{EventLog, EventRecord};
use crate::inbox::{self, Control, Entry, TAG_TCP};
use crate::joiner::Joiner;
use crate::outbox::Outbox;
use crate::settings::AgentSettings;
use crate::{DaemonError, agent_log, signals, sockets};

/// Longest the main thread sleeps without looking at its flags.
const MAX_WAIT: Duration = Duration::from_millis(500);
/// How often a line of counters goes to agent.log.
const STATS_EVERY: Duration = Duration::from_secs(60);
/// dgrep searches served at once.
const MAX_DGREP: usize = 4;
/// Time allowed to connect and write one TCP answer.
const TCP_SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Unix time in milliseconds now.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Counters of the driver itself (the core and the queue keep their own).
#[derive(Debug, Default, Clone, Copy)]
pub struct DriverStats {
    /// Datagrams received (those dropped by `--drop-rate` not included).
    pub datagrams: u64,
    /// Datagrams dropped by `--drop-rate`.
    pub injected_drops: u64,
    /// Datagrams that did not decode (counted and dropped).
    pub malformed: u64,
    /// Datagrams of a kind not taken over UDP.
    pub wrong_kind: u64,
    /// Datagrams without a valid `--key-file` tag.
    pub unauthenticated: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Transmits that could not be encoded or sent.
    pub send_errors: u64,
}

/// The main thread's state.
struct Driver {
    settings: AgentSettings,
    registry: DetectorRegistry,
    me: NodeId,
    membership: Membership,
    epoch: Instant,
    epoch_unix_ms: u64,
    udp: UdpSocket,
    datagram: Vec<u8>,
    outbox: Outbox,
    events: EventLog,
    drop: ReceiverDrop,
    stats: DriverStats,
    joiner: Joiner,
    leave_by: Option<Time>,
    shutdown: Arc<AtomicBool>,
    dgrep: DgrepServer,
    frame_auth: Option<Arc<dyn FrameAuth>>,
}

/// Runs an agent until it leaves (signal or `rumor leave`). Every mistake in
/// the settings, and a failed join, is an error before or instead of running.
pub fn run(settings: AgentSettings) -> Result<(), DaemonError> {
    let registry = DetectorRegistry::with_builtins();
    // An unknown detector is a usage mistake: refuse it before binding anything.
    registry.create(&settings.membership.detector, &settings.membership)?;

    let tcp = sockets::bind_tcp(settings.bind)?;
    let udp = sockets::bind_udp(settings.bind, settings.udp_recv_buffer)?;
    std::fs::create_dir_all(&settings.data_dir).map_err(|source| DaemonError::DataDir {
        path: settings.data_dir.clone(),
        source,
    })?;
    let events_path = settings.data_dir.join("events.jsonl");
    let events = EventLog::open(&events_path).map_err(|source| DaemonError::DataDir {
        path: events_path,
        source,
    })?;
    let log_path = settings.data_dir.join("agent.log");
    agent_log::install(&log_path, settings.quiet).map_err(|source| DaemonError::DataDir {
        path: log_path,
        source,
    })?;

    let (producer, consumer) = rumor_msgqueue::channel(Limits::default());

    // Before any other thread exists, so all of them inherit the blocked mask.
    let shutdown = Arc::new(AtomicBool::new(false));
    {
        let shutdown = Arc::clone(&shutdown);
        let producer = producer.clone();
        signals::watch(move |signal| {
            tracing::info!("received {signal}: leaving the cluster");
            shutdown.store(true, Ordering::SeqCst);
            let _ = producer.push(
                SocketAddr::from(([0, 0, 0, 0], 0)),
                &Control::Shutdown.entry(),
            );
        })
        .map_err(|e| DaemonError::io("cannot watch for signals", e))?;
    }

    let frame_auth: Option<Arc<dyn FrameAuth>> = settings
        .auth
        .clone()
        .map(|auth| Arc::new(auth) as Arc<dyn FrameAuth>);
    let outbox = Outbox::spawn(2, 1024, TCP_SEND_TIMEOUT, frame_auth.clone())
        .map_err(|e| DaemonError::io("cannot start TCP senders", e))?;
    let service = {
        let producer = producer.clone();
        let handler = move |d: Delivery<'_>| {
            let mut entry = Vec::with_capacity(1 + d.frame.len());
            entry.push(TAG_TCP);
            entry.extend_from_slice(d.frame);
            producer
                .push(d.peer, &entry)
                .map_err(|full| format!("agent queue full: {full}"))
        };
        let config = ServiceConfig {
            auth: frame_auth.clone(),
            ..ServiceConfig::default()
        };
        TcpService::spawn(tcp, config, Arc::new(handler))
            .map_err(|e| DaemonError::io("cannot start the TCP service", e))?
    };
    let datagram_limit = settings.wire_datagram_limit;
    sockets::spawn_udp_listener(
        udp.try_clone()
            .map_err(|e| DaemonError::io("cannot share the UDP socket", e))?,
        producer.clone(),
        datagram_limit,
    )
    .map_err(|e| DaemonError::io("cannot start the UDP listener", e))?;

    let epoch = Instant::now();
    let epoch_unix_ms = unix_ms();
    let me = NodeId::new(settings.bind, Version(epoch_unix_ms));
    let membership = new_membership(&registry, &settings, me, Duration::ZERO)?;
    tracing::info!(
        "agent {me} up: detector {}, heartbeat {:?}, t_fail {:?}, t_suspect {:?}, drop rate {}, data dir {}",
        settings.membership.detector,
        settings.membership.heartbeat,
        settings.membership.t_fail,
        settings.membership.t_suspect,
        settings.membership.drop_rate,
        settings.data_dir.display()
    );

    let mut driver = Driver {
        drop: ReceiverDrop::new(settings.membership.drop_rate, me.version.0 ^ 0x5eed),
        datagram: vec![0u8; datagram_limit],
        registry,
        me,
        membership,
        epoch,
        epoch_unix_ms,
        udp,
        outbox,
        events,
        stats: DriverStats::default(),
        joiner: Joiner::new(producer),
        frame_auth,
        leave_by: None,
        shutdown,
        dgrep: DgrepServer::new(
            ServeConfig::new(settings.grep_paths.clone(), settings.data_dir.clone()),
            MAX_DGREP,
        ),
        settings,
    };
    if driver.settings.join.is_empty() {
        tracing::info!("no --join given: starting a new cluster");
    } else {
        let introducers = driver.settings.join.clone();
        driver.start_join(introducers)?;
    }
    let result = driver.run(consumer);
    let counts = driver.stats;
    tracing::info!(
        "agent {} stopped: {} datagrams in ({} dropped by --drop-rate, {} unauthenticated, {} malformed, {} of a wrong kind), {} out ({} failed); tcp service {:?}",
        driver.me,
        counts.datagrams,
        counts.injected_drops,
        counts.unauthenticated,
        counts.malformed,
        counts.wrong_kind,
        counts.sent,
        counts.send_errors,
        service.stats()
    );
    if let Err(e) = &result {
        tracing::error!(target: "rumor::exit", "{e}");
    }
    result
}

/// Whether a command that changes the agent (leave) may come from `peer`:
/// only from the agent's own host, that is loopback or the agent's own IP.
pub fn accepts_commands_from(peer: IpAddr, bind: IpAddr) -> bool {
    peer.is_loopback() || peer == bind
}

fn new_membership(
    registry: &DetectorRegistry,
    settings: &AgentSettings,
    me: NodeId,
    now: Time,
) -> Result<Membership, DaemonError> {
    let detector = registry.create(&settings.membership.detector, &settings.membership)?;
    let seed = me.version.0 ^ (u64::from(me.addr.port()) << 48);
    Ok(Membership::new(
        me,
        settings.membership.clone(),
        detector,
        seed,
        now,
    ))
}

impl Driver {
    fn now(&self) -> Time {
        self.epoch.elapsed()
    }

    fn run(&mut self, mut consumer: rumor_msgqueue::Consumer) -> Result<(), DaemonError> {
        let mut next_report = Instant::now() + STATS_EVERY;
        loop {
            self.flush_outputs();
            if Instant::now() >= next_report {
                self.report(&consumer);
                next_report += STATS_EVERY;
            }
            let now = self.now();
            if let Some(by) = self.leave_by {
                if now >= by {
                    tracing::info!("left the cluster");
                    return Ok(());
                }
            }
            let mut wait = self
                .membership
                .poll_timeout()
                .map_or(MAX_WAIT, |t| t.saturating_sub(now))
                .min(MAX_WAIT);
            if let Some(by) = self.leave_by {
                wait = wait.min(by.saturating_sub(now));
            }
            if !wait.is_zero() {
                consumer.wait(wait);
            }
            let batch = consumer.swap();
            let now = self.now();
            for (from, entry) in batch.iter() {
                match inbox::parse(entry) {
                    Entry::Udp(bytes) => self.on_datagram(now, bytes),
                    Entry::Tcp(bytes) => self.on_tcp(now, from, bytes),
                    // Wake-ups only: the join result and the shutdown flag
                    // are looked at below, every turn.
                    Entry::Control(Control::JoinDone | Control::Shutdown) => {}
                    Entry::Unknown => self.stats.malformed += 1,
                }
            }
            drop(batch);
            self.check_join()?;
            if self.shutdown.swap(false, Ordering::SeqCst) {
                if self.leave_by.is_some() {
                    tracing::info!("second signal: stopping without waiting");
                    return Ok(());
                }
                self.leave(now);
            }
            let now = self.now();
            if self.membership.poll_timeout().is_some_and(|t| t <= now) {
                self.membership.tick(now);
            }
            if self.leave_by.is_none() && !self.joiner.is_joining() && self.membership.must_rejoin()
            {
                self.rejoin(now)?;
            }
        }
    }

    /// One line of counters, every [`STATS_EVERY`], for operators.
    fn report(&self, consumer: &rumor_msgqueue::Consumer) {
        let members = self.membership.members();
        let alive = members
            .iter()
            .filter(|m| m.state == MemberState::Alive)
            .count();
        let core = self.membership.stats();
        let queue = consumer.stats();
        let d = &self.stats;
        tracing::info!(
            "stats: {} members ({alive} alive); datagrams in {} (dropped: {} by --drop-rate, {} unauthenticated, {} malformed, {} wrong kind, {} queue full), out {} ({} failed); suspicions raised {}, refuted {}",
            members.len(),
            d.datagrams,
            d.injected_drops,
            d.unauthenticated,
            d.malformed,
            d.wrong_kind,
            queue.dropped,
            d.sent,
            d.send_errors,
            core.suspicions,
            core.refutations
        );
    }

    fn on_datagram(&mut self, now: Time, bytes: &[u8]) {
        if !self.drop.admit() {
            self.stats.injected_drops += 1;
            return;
        }
        self.stats.datagrams += 1;
        let bytes = match &self.settings.auth {
            None => bytes,
            Some(auth) => match auth.open(bytes) {
                Some(body) => body,
                None => {
                    self.stats.unauthenticated += 1;
                    tracing::debug!("dropped a datagram without a valid tag");
                    return;
                }
            },
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
            Message::Updates { .. }
            | Message::Detector { .. }
            | Message::Leave { .. }
            | Message::Digest { .. } => self.membership.handle(now, envelope.from, envelope.body),
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

    fn on_tcp(&mut self, now: Time, peer: SocketAddr, bytes: &[u8]) {
        // The TCP service already decoded this frame once; it cannot fail now.
        let Ok(envelope) = rumor_wire::decode(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        let reply_to = envelope.from;
        match envelope.body {
            Message::JoinRequest { node } => {
                if self.leave_by.is_some() {
                    let refusal = Message::JoinRefused {
                        reason: format!("{} is leaving the cluster", self.me),
                    };
                    self.outbox.send(self.me.addr, reply_to, refusal);
                    return;
                }
                let answer = self.membership.handle_join_request(now, node);
                match &answer {
                    Message::JoinResponse { members, .. } => {
                        tracing::info!("introduced {node} (sent {} members)", members.len())
                    }
                    Message::JoinRefused { reason } => {
                        tracing::warn!("refused join of {node}: {reason}")
                    }
                    _ => {}
                }
                self.outbox.send(self.me.addr, reply_to, answer);
            }
            body @ Message::JoinResponse { .. } => {
                let Message::JoinResponse { introducer, .. } = &body else {
                    unreachable!("matched a JoinResponse")
                };
                let introducer = *introducer;
                self.membership.handle(now, reply_to, body);
                self.joiner
                    .signal()
                    .raise(JoinOutcome::Admitted { introducer });
            }
            Message::JoinRefused { reason } => {
                self.joiner.signal().raise(JoinOutcome::Refused {
                    by: reply_to,
                    reason: reason.clone(),
                });
                self.membership
                    .handle(now, reply_to, Message::JoinRefused { reason });
            }
            Message::MemberQuery => {
                let list = Message::MemberList {
                    node: self.me,
                    members: self.membership.members(),
                };
                self.outbox.send(self.me.addr, reply_to, list);
            }
            Message::LeaveCommand => {
                if accepts_commands_from(peer.ip(), self.settings.bind.ip()) {
                    tracing::info!("leave requested from {peer}");
                    let ack = Message::MemberList {
                        node: self.me,
                        members: self.membership.members(),
                    };
                    self.outbox.send(self.me.addr, reply_to, ack);
                    self.leave(now);
                } else {
                    tracing::warn!(
                        "refused leave command from {peer}: only accepted from this host"
                    );
                    let refusal = Message::Error {
                        reason: "leave is only accepted from the agent's own host".into(),
                    };
                    self.outbox.send(self.me.addr, reply_to, refusal);
                }
            }
            Message::DgrepRequest(request) => {
                if let Some(refusal) = self.dgrep.serve(request, reply_to, self.me) {
                    self.outbox.send(self.me.addr, reply_to, refusal);
                }
            }
            other => {
                // The TCP service filters kinds; keep the main thread honest anyway.
                tracing::warn!("ignored {} message from {peer} over TCP", other.kind());
            }
        }
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

    fn start_join(&mut self, introducers: Vec<SocketAddr>) -> Result<(), DaemonError> {
        self.joiner
            .start(
                self.me,
                introducers,
                self.settings.join_timeout,
                self.frame_auth.clone(),
            )
            .map_err(|e| DaemonError::io("cannot start the join thread", e))
    }

    /// Looks for a finished join; a failed one ends the agent.
    fn check_join(&mut self) -> Result<(), DaemonError> {
        match self.joiner.poll() {
            None => Ok(()),
            Some(Ok(introducer)) => {
                tracing::info!("joined the cluster through {introducer}");
                Ok(())
            }
            Some(Err(e)) => Err(DaemonError::Join(e)),
        }
    }

    /// The cluster declared us failed (fail-stop): start over as a new version,
    /// joining through the members we knew and the configured introducers.
    fn rejoin(&mut self, now: Time) -> Result<(), DaemonError> {
        let mut introducers: Vec<SocketAddr> = self
            .membership
            .members()
            .into_iter()
            .filter(|m| m.node != self.me && m.state == MemberState::Alive)
            .map(|m| m.node.addr)
            .collect();
        for addr in &self.settings.join {
            if !introducers.contains(addr) {
                introducers.push(*addr);
            }
        }
        let version = Version(unix_ms().max(self.me.version.0 + 1));
        let old = self.me;
        self.me = NodeId::new(self.settings.bind, version);
        tracing::warn!(
            "the cluster declared {old} failed: rejoining as {}",
            self.me
        );
        self.membership = new_membership(&self.registry, &self.settings, self.me, now)?;
        if introducers.is_empty() {
            tracing::warn!("no other member known: continuing as a new cluster");
            Ok(())
        } else {
            self.start_join(introducers)
        }
    }

    fn flush_outputs(&mut self) {
        while let Some(transmit) = self.membership.poll_transmit() {
            let envelope = Envelope::new(self.me.addr, transmit.message);
            let limit = self.settings.membership.datagram_limit;
            let sealed =
                rumor_wire::encode_datagram(&envelope, &mut self.datagram, limit).map(|len| {
                    match &self.settings.auth {
                        None => Some(len),
                        Some(auth) => auth.seal(&mut self.datagram, len),
                    }
                });
            match sealed {
                Ok(Some(len)) => match self.udp.send_to(&self.datagram[..len], transmit.to) {
                    Ok(_) => self.stats.sent += 1,
                    Err(e) => {
                        self.stats.send_errors += 1;
                        tracing::debug!("udp send to {} failed: {e}", transmit.to);
                    }
                },
                Ok(None) => {
                    self.stats.send_errors += 1;
                    tracing::warn!(
                        "no room for the datagram tag: {} to {}",
                        envelope.body.kind(),
                        transmit.to
                    );
                }
                Err(e) => {
                    self.stats.send_errors += 1;
                    tracing::warn!(
                        "could not encode {} for {}: {e}",
                        envelope.body.kind(),
                        transmit.to
                    );
                }
            }
        }
        while let Some(event) = self.membership.poll_event() {
            self.record(&event);
        }
    }

    fn record(&mut self, event: &Event) {
        let record = EventRecord::from_event(event, self.epoch_unix_ms);
        if let Err(e) = self.events.append(&record) {
            tracing::error!("cannot write {}: {e}", self.events.path().display());
        }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::accepts_commands_from;

    #[test]
    fn commands_only_from_the_own_host() {
        let bind = "10.1.2.3".parse().unwrap();
        for own in ["127.0.0.1", "127.9.9.9", "::1", "10.1.2.3"] {
            assert!(accepts_commands_from(own.parse().unwrap(), bind), "{own}");
        }
        for other in ["10.1.2.4", "192.168.0.1", "fe80::1"] {
            assert!(
                !accepts_commands_from(other.parse().unwrap(), bind),
                "{other}"
            );
        }
    }
}

//! `rumor agent`: one member of a cluster, driving the sans-I/O membership
//! core with real sockets, threads and clocks.
//!
//! Threads: the main thread reads the UDP socket itself, so a datagram
//! costs one wake-up; the TCP service ([`rumor_transport::TcpService`]) and
//! the requester threads put requests and answers in an inbound channel and
//! ring the main thread's [`Waker`]. The main thread waits in one
//! `epoll_wait` on the socket and the waker until something arrives or the
//! core's next deadline, drives the core, sends its datagrams with
//! `send_to` (sealed under the keyring when there is one), hands its
//! requests to the requester threads and its answers to the writer
//! threads, and writes its events. It never waits on a connection.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumor_dgrep::ServeConfig;
use rumor_membership::{DetectorRegistry, DetectorSettings, Membership, Time};
use rumor_transport::{ServiceConfig, TcpService};
use rumor_wire::{NodeId, Version};

use crate::dgrep_server::DgrepServer;
use crate::driver::Driver;
use crate::event_log::EventLog;
use crate::inbox::{Inbound, Signalled, Waker};
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::requester::Requester;
use crate::settings::AgentSettings;
use crate::{DaemonError, agent_log, metrics_server, resolve, signals, sockets};

/// dgrep searches served at once.
const MAX_DGREP: usize = 4;
/// Time allowed to write one answer, or to connect, ask and hear back.
const TCP_TIMEOUT: Duration = Duration::from_secs(2);

/// Unix time in milliseconds now.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs an agent until it leaves (signal or `rumor leave`). Every mistake in
/// the settings, and a first join that finds nobody, is an error before or
/// instead of running.
pub fn run(settings: AgentSettings) -> Result<(), DaemonError> {
    let registry = DetectorRegistry::with_builtins();
    // An unknown detector, or bad settings for it, is a usage mistake:
    // refuse it before binding anything.
    create_detector(&registry, &settings)?;

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
    let log =
        agent_log::install(&log_path, settings.quiet, settings.log_max_size).map_err(|source| {
            DaemonError::DataDir {
                path: log_path,
                source,
            }
        })?;
    if settings.sealer.is_none() {
        let line = "no --keyring: running in the clear (traffic is neither encrypted nor authenticated; anyone who reaches this port can join, query and forge)";
        if settings.quiet {
            eprintln!("rumor: {line}");
        }
        tracing::warn!("{line}");
    }

    let waker =
        Waker::new().map_err(|e| DaemonError::io("cannot create the wake-up eventfd", e))?;

    // Before any other thread exists, so all of them inherit the blocked mask.
    let signalled = Arc::new(Signalled::default());
    {
        let signalled = Arc::clone(&signalled);
        let waker = waker.clone();
        signals::watch(move |signal| {
            if signal == nix::sys::signal::Signal::SIGHUP {
                tracing::info!(
                    "received {signal}: reopening the log files (and reading the config file again)"
                );
                signalled.reopen.store(true, Ordering::SeqCst);
            } else {
                tracing::info!("received {signal}: leaving the cluster");
                signalled.leave.store(true, Ordering::SeqCst);
            }
            waker.wake();
        })
        .map_err(|e| DaemonError::io("cannot watch for signals", e))?;
    }

    let sealer = settings.sealer.clone();
    let (inbound_tx, inbound) = crossbeam_channel::bounded::<Inbound>(1024);
    let outbox = Outbox::spawn(2, 1024, TCP_TIMEOUT, settings.advertise)
        .map_err(|e| DaemonError::io("cannot start TCP writers", e))?;
    let requester = Requester::spawn(
        2,
        TCP_TIMEOUT,
        sealer.clone(),
        inbound_tx.clone(),
        waker.clone(),
    )
    .map_err(|e| DaemonError::io("cannot start TCP requesters", e))?;
    let service = {
        let inbound_tx = inbound_tx.clone();
        let waker = waker.clone();
        let handler = move |delivery: rumor_transport::Delivery| {
            inbound_tx
                .try_send(Inbound::Request(delivery))
                .map_err(|_| "agent busy: too many requests waiting".to_string())?;
            waker.wake();
            Ok(())
        };
        let mut config = ServiceConfig::default();
        config.sealer = sealer.clone();
        config.accepted_kinds.extend([
            "monitor_request",
            "info_query",
            "join_command",
            "force_leave",
            "why_query",
            "broadcast",
        ]);
        TcpService::spawn(tcp, config, Arc::new(handler))
            .map_err(|e| DaemonError::io("cannot start the TCP service", e))?
    };
    let started_unix_ms = unix_ms();
    let metrics = match settings.metrics_addr {
        Some(addr) => {
            let metrics = Arc::new(Metrics::new());
            metrics_server::spawn(
                addr,
                Arc::clone(&metrics),
                inbound_tx.clone(),
                waker.clone(),
            )?;
            Some(metrics)
        }
        None => None,
    };
    let me = NodeId::new(settings.advertise, Version(started_unix_ms));
    let mut membership = new_membership(&registry, &settings, me, Duration::ZERO)?;
    tracing::info!(
        "agent {me} up: detector {}, heartbeat {:?}, t_fail {:?}, t_suspect {:?}, drop rate {}, {}, data dir {}",
        settings.detector,
        settings.membership.heartbeat,
        settings.membership.t_fail,
        settings.membership.t_suspect,
        settings.drop_rate,
        match &settings.sealer {
            Some(s) => format!("sealed (cluster {:?})", s.label()),
            None => "in the clear".to_string(),
        },
        settings.data_dir.display()
    );
    let mut resolver = None;
    if settings.join.is_empty() {
        tracing::info!("no --join given: starting a new cluster");
    } else if resolve::all_literal(&settings.join) {
        let introducers = resolve::resolve_all(&settings.join);
        membership.set_seeds(introducers.clone());
        membership.join(Duration::ZERO, introducers);
    } else {
        // Host names: the resolver thread looks them up (again and again)
        // and the driver joins with the first addresses found.
        let thread = resolve::spawn(settings.join.clone(), inbound_tx.clone(), waker.clone())
            .map_err(|e| DaemonError::io("cannot start the resolver", e))?;
        resolver = Some(thread);
    }

    let dgrep = DgrepServer::new(
        ServeConfig::new(settings.grep_paths.clone(), settings.data_dir.clone()),
        MAX_DGREP,
    );
    let mut driver = Driver::new(
        settings,
        membership,
        started_unix_ms,
        udp,
        events,
        outbox,
        requester,
        (inbound_tx, inbound),
        waker,
        signalled,
        dgrep,
    );
    driver.attach(service, log, metrics, resolver);
    let result = driver.run();
    driver.log_final_counts();
    if let Err(e) = &result {
        tracing::error!(target: "rumor::exit", "{e}");
    }
    result
}

/// Checks what can be checked without starting: the detector and its
/// settings, and a core built from the configuration.
pub fn check(settings: &AgentSettings) -> Result<(), DaemonError> {
    let registry = DetectorRegistry::with_builtins();
    let me = NodeId::new(settings.advertise, Version(unix_ms()));
    new_membership(&registry, settings, me, Duration::ZERO).map(drop)
}

/// Whether a command that changes the agent (leave) may come from `peer`:
/// only from the agent's own host, that is loopback or the agent's own IP.
pub fn accepts_commands_from(peer: IpAddr, bind: IpAddr) -> bool {
    peer.is_loopback() || peer == bind
}

/// The detector the settings name, with its own settings.
fn create_detector(
    registry: &DetectorRegistry,
    settings: &AgentSettings,
) -> Result<Box<dyn rumor_membership::FailureDetector>, DaemonError> {
    let detector_settings = match &settings.detector_section {
        Some(section) => DetectorSettings::with_section(&settings.membership, section),
        None => DetectorSettings::new(&settings.membership),
    };
    Ok(registry.create(&settings.detector, &detector_settings)?)
}

/// The membership core for `me` with the agent's settings and tags, seeded
/// from its identity; every datagram leaves room for the seal.
pub(crate) fn new_membership(
    registry: &DetectorRegistry,
    settings: &AgentSettings,
    me: NodeId,
    now: Time,
) -> Result<Membership, DaemonError> {
    let detector = create_detector(registry, settings)?;
    let seed = me.version.0 ^ (u64::from(me.addr.port()) << 48);
    Ok(Membership::builder(me, detector)
        .config(settings.membership.clone())
        .seed(seed)
        .packet_overhead(settings.packet_overhead)
        .metadata(settings.metadata.clone())
        .start(now)?)
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

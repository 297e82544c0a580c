//! `rumor bench-flood`: bad input at a live cluster, bounded in count and
//! time, on loopback only.
//!
//! A few agents form a cluster (with a keyring, or in the clear). A pseudo
//! member joins to capture real traffic off the wire; then one thread
//! sends random datagrams and mutated copies of the captured ones (bit
//! flips, truncations, extensions, splices, exact replays) at every agent,
//! while another opens bad TCP connections (huge length prefixes, random
//! bytes, half-open, slowloris, silent). Afterwards it checks that no agent
//! exited, how far memory grew, how long until the cluster is one full
//! membership again, and (read from each agent's final counters) that with
//! a keyring nothing forged got past the sealer to the decoder.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rumor_seal::{Keyring, Sealer, SealerConfig};
use rumor_wire::{Envelope, Gossip, MemberState, NodeId, Version};

use crate::DaemonError;
use crate::cluster::{LocalCluster, wait_for};
use crate::proc_stats;

/// What to throw, and at how many agents.
#[derive(Debug, Clone)]
pub struct FloodConfig {
    /// The `rumor` executable the agents run.
    pub exe: PathBuf,
    /// Agents in the cluster.
    pub nodes: usize,
    /// Bad datagrams in all.
    pub datagrams: u64,
    /// Bad TCP connections in all.
    pub connections: u64,
    /// Whether the cluster has a keyring.
    pub keyed: bool,
    /// Third octet of the agents' loopback addresses.
    pub net: u8,
    /// The agents' port.
    pub port: u16,
    /// Seed of the generators.
    pub seed: u64,
    /// Keep the agents' data here (a temporary directory if `None`).
    pub dir: Option<PathBuf>,
}

/// What happened.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FloodReport {
    /// Datagrams sent, per kind.
    pub datagrams: BTreeMap<&'static str, u64>,
    /// Seconds the datagram flood took.
    pub datagram_seconds: f64,
    /// TCP connections attempted, per kind.
    pub connections: BTreeMap<&'static str, u64>,
    /// Agents that exited during the flood.
    pub exited: usize,
    /// Largest resident memory of any agent before the flood, KiB.
    pub rss_before_kib: u64,
    /// Largest resident memory of any agent during or after it, KiB.
    pub rss_peak_kib: u64,
    /// Seconds from the end of the flood to one full membership (`None`:
    /// not within 15 s).
    pub heal_seconds: Option<f64>,
    /// Why the cluster was not one full membership in time, if it was not.
    pub heal_problem: Option<String>,
    /// Per agent, its final counter line (the agent's own words).
    pub final_counts: Vec<String>,
    /// Datagrams that reached the decoder and failed it, all agents (with
    /// a keyring this must be 0: nothing forged opens).
    pub reached_decoder_malformed: u64,
    /// Datagrams refused by the sealer, all agents.
    pub refused_by_sealer: u64,
}

/// Runs the flood; returns what it saw. The cluster is torn down at the end.
pub fn run(config: &FloodConfig) -> Result<FloodReport, DaemonError> {
    let mut cluster = LocalCluster::new(&config.exe, config.dir.clone())?;
    let keyring = config
        .keyed
        .then(|| -> Result<PathBuf, DaemonError> {
            let path = cluster.root().join("cluster.keys");
            let key =
                rumor_seal::generate_key().map_err(|e| DaemonError::Cluster(e.to_string()))?;
            Keyring::new(key)
                .save(&path)
                .map_err(|e| DaemonError::Cluster(e.to_string()))?;
            Ok(path)
        })
        .transpose()?;
    let addrs: Vec<SocketAddr> = (0..config.nodes)
        .map(|i| SocketAddr::from((Ipv4Addr::new(127, 0, config.net, 1 + i as u8), config.port)))
        .collect();
    let mut args: Vec<String> = Vec::new();
    if let Some(path) = &keyring {
        args.push("--keyring".into());
        args.push(path.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for (i, addr) in addrs.iter().enumerate() {
        cluster.add(&format!("agent-{i}"), *addr, &addrs[..i.min(1)], &args)?;
    }
    let all: Vec<usize> = (0..config.nodes).collect();
    wait_for(Duration::from_secs(30), Duration::from_millis(100), || {
        cluster.all_see_all(&all)
    })
    .map_err(|why| DaemonError::Cluster(format!("the cluster did not form: {why}")))?;
    let sealer = match &keyring {
        Some(path) => Some(Arc::new(
            Sealer::new(
                Keyring::load(path).map_err(|e| DaemonError::Cluster(e.to_string()))?,
                rumor_seal::DEFAULT_LABEL,
                SealerConfig::default(),
            )
            .map_err(|e| DaemonError::Cluster(e.to_string()))?,
        )),
        None => None,
    };
    let spy_addr = SocketAddr::from((Ipv4Addr::new(127, 0, config.net, 250), config.port));
    let captured = capture(addrs[0], spy_addr, sealer.as_deref())?;

    let mut report = FloodReport::default();
    let pids: Vec<u32> = cluster.agents.iter().filter_map(|a| a.pid()).collect();
    let rss = |pids: &[u32]| {
        pids.iter()
            .filter_map(|&p| proc_stats::sample(p))
            .map(|s| s.rss_kib)
            .max()
            .unwrap_or(0)
    };
    report.rss_before_kib = rss(&pids);

    let tcp = {
        let (addrs, count, seed, net) =
            (addrs.clone(), config.connections, config.seed, config.net);
        std::thread::spawn(move || tcp_flood(&addrs, count, seed, net))
    };
    let started = Instant::now();
    let udp_source = UdpSocket::bind(SocketAddr::from((
        Ipv4Addr::new(127, 0, config.net, 251),
        0,
    )))
    .map_err(|e| DaemonError::io("cannot bind the flood's socket", e))?;
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let mut buf = Vec::with_capacity(2048);
    for i in 0..config.datagrams {
        let kind = bad_datagram(&mut rng, &captured, &mut buf);
        *report.datagrams.entry(kind).or_default() += 1;
        let to = addrs[(i % addrs.len() as u64) as usize];
        // A full socket buffer drops, as a real flood would.
        let _ = udp_source.send_to(&buf, to);
        if i % 2048 == 0 {
            report.rss_peak_kib = report.rss_peak_kib.max(rss(&pids));
            // Leave the agents' threads a little room on a small machine.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    report.datagram_seconds = started.elapsed().as_secs_f64();
    report.connections = tcp
        .join()
        .map_err(|_| DaemonError::Cluster("the TCP flood panicked".into()))?;
    report.rss_peak_kib = report.rss_peak_kib.max(rss(&pids));
    let flood_end = Instant::now();
    let healed = wait_for(Duration::from_secs(15), Duration::from_millis(100), || {
        one_membership(&addrs, sealer.as_deref())
    });
    match healed {
        Ok(()) => report.heal_seconds = Some(flood_end.elapsed().as_secs_f64()),
        Err(why) => report.heal_problem = Some(why),
    }
    report.exited = (0..config.nodes)
        .filter(|&i| !cluster.is_running(i))
        .count();
    report.rss_peak_kib = report.rss_peak_kib.max(rss(&pids));
    for i in 0..config.nodes {
        if !cluster.is_running(i) {
            continue;
        }
        cluster.signal_leave(i);
        cluster.reap(i, Duration::from_secs(10));
        let log = std::fs::read_to_string(cluster.agents[i].data_dir.join("agent.log"))
            .unwrap_or_default();
        if let Some(line) = log.lines().rev().find(|l| l.contains(" stopped: ")) {
            report.reached_decoder_malformed += number_before(line, " malformed,");
            report.refused_by_sealer += number_before(line, " unauthenticated,");
            report.final_counts.push(line.to_string());
        }
    }
    Ok(report)
}

/// The number just before `marker` in `line` (0 if none).
fn number_before(line: &str, marker: &str) -> u64 {
    line.split(marker)
        .next()
        .and_then(|head| head.rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Joins as a pseudo member at `spy` and records what the agents send it.
fn capture(
    agent: SocketAddr,
    spy: SocketAddr,
    sealer: Option<&Sealer>,
) -> Result<Vec<Vec<u8>>, DaemonError> {
    let udp = UdpSocket::bind(spy).map_err(|e| DaemonError::io("cannot bind the spy", e))?;
    let me = NodeId::new(spy, Version(rumor_seal::unix_millis()));
    let request = Envelope::new(
        me.addr,
        Gossip::JoinRequest {
            node: me,
            nonce: 1,
            extras: Default::default(),
        },
    );
    rumor_transport::request(agent, &request, sealer, Duration::from_secs(3))
        .map_err(|e| DaemonError::Cluster(format!("the spy could not join: {e}")))?;
    udp.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| DaemonError::io("spy", e))?;
    let mut captured = Vec::new();
    let mut buf = [0u8; 2048];
    while captured.len() < 64 {
        match udp.recv_from(&mut buf) {
            Ok((len, _)) => captured.push(buf[..len].to_vec()),
            Err(_) if !captured.is_empty() => break,
            Err(e) => return Err(DaemonError::io("nothing captured", e)),
        }
    }
    Ok(captured)
}

/// Writes one bad datagram into `out`; returns its kind.
fn bad_datagram(rng: &mut SmallRng, captured: &[Vec<u8>], out: &mut Vec<u8>) -> &'static str {
    out.clear();
    let real = &captured[rng.random_range(0..captured.len())];
    match rng.random_range(0..6u8) {
        0 | 1 => {
            let len = rng.random_range(0..1500);
            out.extend((0..len).map(|_| rng.random::<u8>()));
            "random"
        }
        2 => {
            out.extend_from_slice(real);
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..out.len().max(1));
                if let Some(byte) = out.get_mut(at) {
                    *byte ^= 1 << rng.random_range(0..8);
                }
            }
            "bit_flipped"
        }
        3 => {
            let keep = rng.random_range(0..real.len().max(1));
            out.extend_from_slice(&real[..keep]);
            "truncated"
        }
        4 => {
            let other = &captured[rng.random_range(0..captured.len())];
            let cut = rng.random_range(0..real.len().min(other.len()).max(1));
            out.extend_from_slice(&real[..cut]);
            out.extend_from_slice(&other[cut.min(other.len())..]);
            out.extend((0..rng.random_range(0..64)).map(|_| rng.random::<u8>()));
            "spliced"
        }
        _ => {
            out.extend_from_slice(real);
            "replayed"
        }
    }
}

/// Opens `count` bad connections to the agents, from many loopback
/// sources; returns how many of each kind.
fn tcp_flood(addrs: &[SocketAddr], count: u64, seed: u64, net: u8) -> BTreeMap<&'static str, u64> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x7c9);
    let mut kinds = BTreeMap::new();
    let mut held = Vec::new();
    for i in 0..count {
        let to = addrs[(i % addrs.len() as u64) as usize];
        let source = Ipv4Addr::new(127, 0, net, 100 + (i % 100) as u8);
        let Ok(mut stream) = connect_from(source, to) else {
            *kinds.entry("refused_at_connect").or_default() += 1;
            continue;
        };
        let kind = match rng.random_range(0..5u8) {
            0 => {
                let _ = stream.write_all(&u32::MAX.to_be_bytes());
                "huge_prefix"
            }
            1 => {
                let junk: Vec<u8> = (0..rng.random_range(1..512))
                    .map(|_| rng.random())
                    .collect();
                let _ = stream.write_all(&junk);
                "random_bytes"
            }
            2 => {
                let _ = stream.shutdown(std::net::Shutdown::Write);
                "half_open"
            }
            3 => {
                let _ = stream.write_all(&100u32.to_be_bytes());
                let _ = stream.write_all(&[0x93]);
                held.push(stream);
                "slowloris"
            }
            _ => {
                held.push(stream);
                "silent"
            }
        };
        *kinds.entry(kind).or_default() += 1;
        // Keep at most a few hundred held open; the oldest go first.
        if held.len() > 300 {
            held.remove(0);
        }
    }
    kinds
}

fn connect_from(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((from, 0)).into())?;
    socket.connect_timeout(&to.into(), Duration::from_millis(500))?;
    let stream: TcpStream = socket.into();
    stream.set_write_timeout(Some(Duration::from_millis(200)))?;
    Ok(stream)
}

/// Every agent lists exactly the agents' current ids as live.
fn one_membership(addrs: &[SocketAddr], sealer: Option<&Sealer>) -> Result<(), String> {
    let mut views = Vec::new();
    for &agent in addrs {
        let (me, members) = crate::control::query_members(agent, sealer, Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        let live: Vec<NodeId> = members
            .into_iter()
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .map(|m| m.node)
            .collect();
        views.push((me, live));
    }
    let ids: std::collections::BTreeSet<NodeId> = views.iter().map(|(me, _)| *me).collect();
    for (me, live) in &views {
        let live: std::collections::BTreeSet<NodeId> = live.iter().copied().collect();
        if live != ids {
            return Err(format!(
                "{me} lists {} live, expected {}",
                live.len(),
                ids.len()
            ));
        }
    }
    Ok(())
}

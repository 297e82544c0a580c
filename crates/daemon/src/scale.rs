//! `rumor bench-scale`: hundreds of real agents on one host.
//!
//! Starts N `rumor agent` processes on loopback addresses (joining through
//! the first three), waits until every one of them lists all N as live,
//! samples their CPU and memory while idle, SIGKILLs a few at once and
//! measures how long until the first and the last survivor marked each
//! failed, then keeps watching until the run's end for false positives.
//! Figures, not assertions: it is a benchmark (crates/daemon/README.md
//! records a 300-agent run).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rumor_wire::{MemberState, NodeId};

use crate::DaemonError;
use crate::agent::unix_ms;
use crate::cluster::LocalCluster;
use crate::event_log::{EventRecord, EventTail};
use crate::proc_stats::{self, TICKS_PER_SECOND};

/// What to run.
#[derive(Debug, Clone)]
pub struct ScaleConfig {
    /// Agents.
    pub nodes: usize,
    /// Failure detector.
    pub detector: String,
    /// Agents SIGKILLed at once.
    pub kill: usize,
    /// The whole run, from formation to the end (false positives are
    /// watched throughout).
    pub duration: Duration,
    /// How long CPU and memory are sampled while idle.
    pub idle_sample: Duration,
    /// The agents' port.
    pub port: u16,
    /// Third octet of the first agents' addresses (the next one too, past
    /// 250 agents).
    pub net: u8,
    /// Where the data directories go (a temporary directory if `None`).
    pub dir: Option<PathBuf>,
    /// A config file every agent runs with (`--config`).
    pub agent_config: Option<PathBuf>,
}

/// The figures.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScaleReport {
    /// Seconds from the first start to every agent listing every other.
    pub formed_seconds: f64,
    /// Mean and largest CPU use per agent while idle, percent of a core.
    pub idle_cpu_mean_percent: f64,
    /// See `idle_cpu_mean_percent`.
    pub idle_cpu_max_percent: f64,
    /// Mean wake-ups per agent per second while idle (voluntary context
    /// switches of all its threads).
    pub idle_wakeups_per_second: f64,
    /// Mean and largest resident memory per agent, KiB.
    pub rss_mean_kib: u64,
    /// See `rss_mean_kib`.
    pub rss_max_kib: u64,
    /// Per victim: ms from the kill to the first and to the last survivor
    /// marking it failed, and how many survivors did.
    pub detections: Vec<(String, Option<u64>, Option<u64>, usize)>,
    /// Survivors that should mark each victim.
    pub survivors: usize,
    /// `failed` events about members that were never killed.
    pub false_positives: usize,
    /// `suspected` events over the whole run.
    pub suspicions: usize,
    /// Agents that exited by themselves.
    pub exited: usize,
}

fn addr_of(config: &ScaleConfig, i: usize) -> SocketAddr {
    let net = config.net.wrapping_add((i / 250) as u8);
    SocketAddr::from((Ipv4Addr::new(127, 0, net, 1 + (i % 250) as u8), config.port))
}

/// Runs the benchmark, printing progress lines, and returns the figures.
pub fn run(config: &ScaleConfig) -> Result<ScaleReport, DaemonError> {
    if !(4..=1000).contains(&config.nodes) || config.kill >= config.nodes {
        return Err(DaemonError::Usage(format!(
            "bad --nodes {} / --kill {}: 4 to 1,000 agents, fewer killed than run",
            config.nodes, config.kill
        )));
    }
    let exe = std::env::current_exe()
        .map_err(|e| DaemonError::io("cannot find the rumor executable", e))?;
    let mut cluster = LocalCluster::new(exe, config.dir.clone())?;
    cluster.leave_on_signal()?;
    let addrs: Vec<SocketAddr> = (0..config.nodes).map(|i| addr_of(config, i)).collect();
    let started = Instant::now();
    let agent_config = config
        .agent_config
        .as_ref()
        .map(|c| c.display().to_string());
    let mut args = vec!["--detector", config.detector.as_str()];
    if let Some(file) = &agent_config {
        args.extend(["--config", file.as_str()]);
    }
    for (i, addr) in addrs.iter().enumerate() {
        cluster.add(&format!("a{i}"), *addr, &addrs[..i.min(3)], &args)?;
        // A few at a time, so the introducers are not asked by hundreds at once.
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    println!(
        "bench-scale: {} agents started in {:.1} s",
        config.nodes,
        started.elapsed().as_secs_f64()
    );
    let mut report = ScaleReport::default();
    let ids = await_formed(&addrs, Duration::from_secs(300))?;
    report.formed_seconds = started.elapsed().as_secs_f64();
    println!(
        "  one full membership of {} after {:.1} s",
        ids.len(),
        report.formed_seconds
    );
    let watch_from = Instant::now();

    // Idle CPU and memory.
    let pids: Vec<u32> = cluster.agents.iter().filter_map(|a| a.pid()).collect();
    let before: BTreeMap<u32, (u64, u64)> = pids
        .iter()
        .filter_map(|&p| {
            Some((
                p,
                (proc_stats::sample(p)?.cpu_ticks, proc_stats::wakeups(p)?),
            ))
        })
        .collect();
    let sample_start = Instant::now();
    std::thread::sleep(config.idle_sample);
    let seconds = sample_start.elapsed().as_secs_f64();
    let mut cpu = Vec::new();
    let mut rss = Vec::new();
    let mut wakeups = Vec::new();
    for &pid in &pids {
        let (Some(&(ticks, woken)), Some(a), Some(w)) = (
            before.get(&pid),
            proc_stats::sample(pid),
            proc_stats::wakeups(pid),
        ) else {
            continue;
        };
        cpu.push((a.cpu_ticks - ticks) as f64 / TICKS_PER_SECOND / seconds * 100.0);
        rss.push(a.rss_kib);
        wakeups.push(w.saturating_sub(woken) as f64 / seconds);
    }
    report.idle_cpu_mean_percent = cpu.iter().sum::<f64>() / cpu.len().max(1) as f64;
    report.idle_cpu_max_percent = cpu.iter().copied().fold(0.0, f64::max);
    report.rss_mean_kib = rss.iter().sum::<u64>() / rss.len().max(1) as u64;
    report.rss_max_kib = rss.iter().copied().max().unwrap_or(0);
    report.idle_wakeups_per_second = wakeups.iter().sum::<f64>() / wakeups.len().max(1) as f64;
    println!(
        "  idle over {seconds:.0} s: CPU per agent mean {:.3} %, max {:.3} % of a core; {:.1} wake-ups a second; RSS mean {} KiB, max {} KiB",
        report.idle_cpu_mean_percent,
        report.idle_cpu_max_percent,
        report.idle_wakeups_per_second,
        report.rss_mean_kib,
        report.rss_max_kib
    );

    // Crashes, spread over the address range.
    let step = config.nodes / (config.kill + 1);
    let victims: Vec<usize> = (1..=config.kill).map(|k| k * step).collect();
    let killed_at = unix_ms();
    for &v in &victims {
        cluster.kill(v);
    }
    let victim_ids: BTreeSet<NodeId> = victims.iter().map(|v| ids[v]).collect();
    let survivors: BTreeSet<NodeId> = ids
        .iter()
        .filter(|(i, _)| !victims.contains(i))
        .map(|(_, id)| *id)
        .collect();
    report.survivors = survivors.len();
    let mut tails: Vec<EventTail> = cluster
        .agents
        .iter()
        .map(|a| EventTail::new(a.events_path()))
        .collect();
    let mut failed: Vec<EventRecord> = Vec::new();
    let mut suspected = 0usize;
    let poll =
        |tails: &mut Vec<EventTail>, failed: &mut Vec<EventRecord>, suspected: &mut usize| {
            for tail in tails.iter_mut() {
                for r in tail.poll() {
                    match r.event.as_str() {
                        "failed" => failed.push(r),
                        "suspected" => *suspected += 1,
                        _ => {}
                    }
                }
            }
        };
    let detect_until = Instant::now() + Duration::from_secs(20);
    loop {
        poll(&mut tails, &mut failed, &mut suspected);
        let complete = victim_ids.iter().all(|v| {
            failed
                .iter()
                .filter(|r| r.member == *v && survivors.contains(&r.observer))
                .map(|r| r.observer)
                .collect::<BTreeSet<_>>()
                .len()
                == survivors.len()
        });
        if complete || Instant::now() >= detect_until {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    for v in &victim_ids {
        let times: BTreeMap<NodeId, u64> = failed
            .iter()
            .filter(|r| r.member == *v && survivors.contains(&r.observer))
            .fold(BTreeMap::new(), |mut m, r| {
                m.entry(r.observer).or_insert(r.ts_ms);
                m
            });
        let first = times.values().min().map(|t| t.saturating_sub(killed_at));
        let last = (times.len() == survivors.len())
            .then(|| times.values().max().map(|t| t.saturating_sub(killed_at)))
            .flatten();
        println!(
            "  {v}: first marked failed after {} ms, by every survivor after {} ({} of {})",
            first.map_or("-".into(), |t| t.to_string()),
            last.map_or("never".into(), |t| format!("{t} ms")),
            times.len(),
            survivors.len()
        );
        report
            .detections
            .push((v.to_string(), first, last, times.len()));
    }

    // Watch the rest of the run for false positives.
    while watch_from.elapsed() < config.duration {
        std::thread::sleep(Duration::from_secs(1));
        poll(&mut tails, &mut failed, &mut suspected);
        if watch_from.elapsed().as_secs() % 60 == 0 {
            let fp = failed
                .iter()
                .filter(|r| !victim_ids.contains(&r.member))
                .count();
            println!(
                "  after {:>3} s: {fp} false positives, {suspected} suspicions",
                watch_from.elapsed().as_secs()
            );
        }
    }
    poll(&mut tails, &mut failed, &mut suspected);
    report.false_positives = failed
        .iter()
        .filter(|r| !victim_ids.contains(&r.member))
        .count();
    report.suspicions = suspected;
    report.exited = (0..config.nodes)
        .filter(|i| !victims.contains(i))
        .filter(|&i| !cluster.is_running(i))
        .count();
    println!(
        "  {} false positives, {} suspicions, {} agents exited by themselves over {:.0} s",
        report.false_positives,
        report.suspicions,
        report.exited,
        watch_from.elapsed().as_secs_f64()
    );
    cluster.leave_all(Duration::from_secs(30));
    Ok(report)
}

/// Waits until every agent lists exactly all agents as live, asking each
/// for its member list; returns each one's id by index.
fn await_formed(
    addrs: &[SocketAddr],
    limit: Duration,
) -> Result<BTreeMap<usize, NodeId>, DaemonError> {
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < deadline {
        match views(addrs) {
            Ok(ids) => return Ok(ids),
            Err(why) => last = why,
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Err(DaemonError::Cluster(format!(
        "no full membership within {limit:?}: {last}"
    )))
}

fn views(addrs: &[SocketAddr]) -> Result<BTreeMap<usize, NodeId>, String> {
    let mut ids = BTreeMap::new();
    for (i, &agent) in addrs.iter().enumerate() {
        let (me, members) = crate::control::query_members(agent, None, Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        let live = members
            .iter()
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .count();
        if live != addrs.len() {
            return Err(format!("{me} lists {live} of {} live", addrs.len()));
        }
        ids.insert(i, me);
    }
    Ok(ids)
}

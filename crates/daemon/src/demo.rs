//! `rumor demo`: a small cluster on loopback, one crash, and the membership
//! timeline as the survivors notice it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use rumor_wire::NodeId;

use crate::DaemonError;
use crate::agent::unix_ms;
use crate::cli::DemoArgs;
use crate::cluster::{LocalCluster, wait_for};
use crate::event_log::EventTail;

/// Terminal styling, off when stdout is not a terminal.
struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    fn red(&self, t: &str) -> String {
        self.paint("1;31", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
}

/// Checks every argument before anything starts: each mistake is one line.
pub fn check(args: &DemoArgs) -> Result<(), DaemonError> {
    if !(2..=50).contains(&args.nodes) {
        return Err(DaemonError::Usage(format!(
            "bad --nodes {}: the demo runs 2 to 50 nodes",
            args.nodes
        )));
    }
    if !(0.0..=1.0).contains(&args.drop_rate) {
        return Err(DaemonError::Usage(format!(
            "bad --drop-rate {}: expected a probability from 0 to 1",
            args.drop_rate
        )));
    }
    if args.port == 0 {
        return Err(DaemonError::Usage(
            "bad --port 0: name a port every node listens on".into(),
        ));
    }
    let config = rumor_membership::Config::default();
    let registry = rumor_membership::DetectorRegistry::with_builtins();
    registry
        .create(
            &args.detector,
            &rumor_membership::DetectorSettings::new(&config),
        )
        .map_err(|e| DaemonError::Usage(format!("bad --detector: {e}")))?;
    if let Some(dir) = &args.dir {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries.count(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                return Err(DaemonError::io(
                    format!("cannot use --dir {}", dir.display()),
                    e,
                ));
            }
        };
        if entries > 0 && !args.force {
            return Err(DaemonError::Usage(format!(
                "--dir {} is not empty: give an empty or new directory, or --force to reuse it",
                dir.display()
            )));
        }
    }
    for i in 0..args.nodes {
        let addr = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 11 + i as u8), args.port));
        std::net::TcpListener::bind(addr).map_err(|e| {
            DaemonError::Usage(format!("cannot use --port {}: {addr}: {e}", args.port))
        })?;
    }
    Ok(())
}

/// With `--dir` and `--force`: the node directories of an earlier run are
/// emptied, so every log starts fresh.
fn clear_earlier_runs(args: &DemoArgs) -> Result<(), DaemonError> {
    let Some(dir) = &args.dir else {
        return Ok(());
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("node-") && entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path()).map_err(|e| {
                DaemonError::io(format!("cannot clear {}", entry.path().display()), e)
            })?;
        }
    }
    Ok(())
}

/// Runs the demo; returns once every child has been reaped.
pub fn run(args: &DemoArgs) -> Result<(), DaemonError> {
    check(args)?;
    clear_earlier_runs(args)?;
    let s = Style {
        on: std::io::stdout().is_terminal(),
    };
    let exe = std::env::current_exe()
        .map_err(|e| DaemonError::io("cannot find the rumor executable", e))?;
    let mut cluster = LocalCluster::new(exe, args.dir.clone())?;
    cluster.leave_on_signal()?;
    let addr = |i: usize| SocketAddr::from((Ipv4Addr::new(127, 0, 0, 11 + i as u8), args.port));
    let addrs: Vec<SocketAddr> = (0..args.nodes).map(addr).collect();
    let short = |id: &NodeId| -> String {
        addrs
            .iter()
            .position(|a| *a == id.addr)
            .map_or_else(|| id.to_string(), |i| format!("node {}", i + 1))
    };
    let drop_rate = args.drop_rate.to_string();
    let common = [
        "--detector",
        args.detector.as_str(),
        "--drop-rate",
        drop_rate.as_str(),
        "--join-timeout",
        "10s",
    ];

    println!(
        "{} {} agents on loopback, detector {}, receiver drop {:.0} %",
        s.bold("rumor demo:"),
        args.nodes,
        s.bold(&args.detector),
        args.drop_rate * 100.0
    );
    match &args.dir {
        Some(dir) => println!("  data dirs under {}", dir.display()),
        None => println!(
            "  data dirs under {} {}",
            cluster.root().display(),
            s.dim("(removed at exit; --dir DIR keeps them)")
        ),
    }
    println!();
    println!("{}", s.bold("1. Forming the cluster"));
    let started = Instant::now();
    for i in 0..args.nodes {
        // Two introducers where there are two: either one can admit a newcomer.
        let join: Vec<SocketAddr> = addrs[..i.min(2)].to_vec();
        cluster.add(&format!("node-{}", i + 1), addrs[i], &join, &common)?;
        let how = if i == 0 {
            "starts the cluster (introducer)".to_string()
        } else {
            format!(
                "joins through {}",
                join.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        println!(
            "   node {}  {:<17} {}",
            i + 1,
            addrs[i].to_string(),
            s.dim(&how)
        );
    }
    let all: Vec<usize> = (0..args.nodes).collect();
    let formed = wait_for(Duration::from_secs(20), Duration::from_millis(25), || {
        for i in 0..cluster.agents.len() {
            if !cluster.is_running(i) {
                let agent = &cluster.agents[i];
                let said = std::fs::read_to_string(agent.data_dir.join("stderr.log"))
                    .unwrap_or_default()
                    .lines()
                    .rfind(|l| !l.starts_with("rumor: no --keyring"))
                    .unwrap_or("")
                    .to_string();
                return Err(format!("{} exited ({said})", agent.name));
            }
        }
        cluster.all_see_all(&all)
    });
    let ids = match formed {
        Ok(ids) => ids,
        Err(why) => {
            // The logs that say what went wrong stay where this says they are.
            let kept = cluster.keep_root().display().to_string();
            cluster.leave_all(Duration::from_secs(2));
            return Err(DaemonError::Cluster(format!(
                "the cluster did not form: {why}; the nodes' logs are kept in {kept}/node-*/"
            )));
        }
    };
    println!(
        "   {} every node lists all {} members after {} ms",
        s.green("✓"),
        args.nodes,
        started.elapsed().as_millis()
    );

    // Crash a node that is not the introducer, so the story is not about it.
    let victim = args.nodes / 2;
    let victim_id = ids[&victim];
    let survivors: Vec<usize> = all.iter().copied().filter(|&i| i != victim).collect();
    let observers: BTreeSet<NodeId> = survivors.iter().map(|i| ids[i]).collect();
    let mut tails: Vec<EventTail> = survivors
        .iter()
        .map(|&i| {
            let mut tail = EventTail::new(cluster.agents[i].events_path());
            tail.poll(); // skip the history: only what follows the crash matters
            tail
        })
        .collect();
    println!();
    println!(
        "{} {} ({}) with SIGKILL",
        s.bold("2. Crashing"),
        s.bold(&format!("node {}", victim + 1)),
        victim_id
    );
    let killed_at = cluster.kill(victim);
    println!("   {}", s.dim("time since the crash, who noticed what:"));

    let mut failed_by: BTreeMap<NodeId, u64> = BTreeMap::new();
    let mut suspected_by: BTreeMap<NodeId, u64> = BTreeMap::new();
    let mut false_alarms = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while failed_by.len() < observers.len() && Instant::now() < deadline {
        let mut fresh: Vec<_> = tails.iter_mut().flat_map(EventTail::poll).collect();
        fresh.sort_by_key(|r| r.ts_ms);
        for r in fresh {
            let after = r.ts_ms.saturating_sub(killed_at);
            let when = format!("{:>+7} ms", after as i64);
            if r.member != victim_id {
                if matches!(r.event.as_str(), "failed" | "suspected") {
                    false_alarms.push(format!(
                        "{} {} {}",
                        short(&r.observer),
                        r.event,
                        short(&r.member)
                    ));
                }
                continue;
            }
            match r.event.as_str() {
                "suspected" => {
                    suspected_by.entry(r.observer).or_insert(r.ts_ms);
                    println!(
                        "   {}  {} suspects {}",
                        when,
                        short(&r.observer),
                        short(&r.member)
                    );
                }
                "alive" => println!(
                    "   {}  {} hears {} is alive again (refuted)",
                    when,
                    short(&r.observer),
                    short(&r.member)
                ),
                "failed" => {
                    failed_by.entry(r.observer).or_insert(r.ts_ms);
                    println!(
                        "   {}  {} declares {} {}",
                        s.yellow(&when),
                        short(&r.observer),
                        short(&r.member),
                        s.red("FAILED")
                    );
                }
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let first = failed_by
        .values()
        .min()
        .map(|t| t.saturating_sub(killed_at));
    let last = failed_by
        .values()
        .max()
        .map(|t| t.saturating_sub(killed_at));
    match (first, last) {
        (Some(first), Some(last)) if failed_by.len() == observers.len() => println!(
            "   {} all {} survivors agree: first detection after {first} ms, the last after {last} ms {}",
            s.green("✓"),
            observers.len(),
            s.dim("(contract: 3000 ms / 6000 ms)")
        ),
        _ => println!(
            "   {} only {} of {} survivors marked node {} failed within 15 s",
            s.red("✗"),
            failed_by.len(),
            observers.len(),
            victim + 1
        ),
    }
    if !false_alarms.is_empty() {
        println!(
            "   {} also seen: {}",
            s.yellow("!"),
            false_alarms.join("; ")
        );
    }

    println!();
    println!("{}", s.bold("3. Graceful leave"));
    let leaver = *survivors
        .last()
        .expect("at least two nodes, so one survivor");
    let leaver_id = ids[&leaver];
    let stay: BTreeSet<NodeId> = survivors
        .iter()
        .filter(|&&i| i != leaver)
        .map(|i| ids[i])
        .collect();
    let left_at = unix_ms();
    cluster.signal_leave(leaver);
    let status = cluster.reap(leaver, Duration::from_secs(5));
    let left_seen = wait_for(Duration::from_secs(5), Duration::from_millis(20), || {
        let events = cluster.all_events();
        let seen: BTreeMap<NodeId, u64> =
            crate::cluster::first_per_observer(&events, "left", leaver_id, &stay);
        if seen.len() == stay.len() {
            Ok(seen)
        } else {
            Err(format!("{} of {}", seen.len(), stay.len()))
        }
    });
    let exit = match status {
        Some(st) if st.success() => "exited cleanly".to_string(),
        Some(st) => format!("exited with {st}"),
        None => "did not exit in time (killed)".to_string(),
    };
    match left_seen {
        Ok(seen) => println!(
            "   node {} got SIGTERM, {exit}; all {} others recorded it as left within {} ms",
            leaver + 1,
            seen.len(),
            seen.values().max().map_or(0, |t| t.saturating_sub(left_at))
        ),
        Err(how_many) => println!(
            "   node {} got SIGTERM, {exit}; only {how_many} others recorded it as left",
            leaver + 1
        ),
    }
    let clean = cluster.leave_all(Duration::from_secs(5));
    println!(
        "   the other {} nodes left too ({} exited cleanly); every child reaped",
        survivors.len() - 1,
        clean
    );
    println!();
    match &args.dir {
        Some(dir) => println!(
            "Event logs: {}/node-*/events.jsonl (human-readable: agent.log beside each)",
            dir.display()
        ),
        None => println!(
            "{}",
            s.dim("Run with --dir DIR to keep the event logs (for rumor-viz).")
        ),
    }
    Ok(())
}

//! The operator's agent on real processes: a Prometheus scrape of ten
//! agents agrees with their event logs; `members`, `info` and `monitor`
//! work through a TCP forwarder; `join`, `force-leave` and `why` do what
//! they say; bad input is one line. Each test has its own loopback net
//! (127.0.51.x to 127.0.53.x).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{RUMOR, addr, await_all_see_all, form, ok, rumor};
use rumor_daemon::cluster::{LocalCluster, wait_for};
use rumor_daemon::event_log::EventRecord;
use rumor_wire::NodeId;

/// Runs `rumor args`, expects failure with one line on stderr holding `expect`.
fn one_line_error(args: &[&str], expect: &str) {
    let out = rumor(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.starts_with("rumor: ") && stderr.contains(expect),
        "{args:?}: {stderr}"
    );
}

/// `GET path` over HTTP/1.0: the status code and the body.
fn try_http_get(to: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut stream =
        TcpStream::connect_timeout(&to, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: rumor\r\n\r\n").map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

fn http_get(to: SocketAddr, path: &str) -> (u16, String) {
    try_http_get(to, path).unwrap_or_else(|e| panic!("GET http://{to}{path}: {e}"))
}

/// The value of the sample `name` (with its labels, as printed).
fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        .map(|v| v as u64)
}

/// Events per kind in `records`.
fn by_kind(records: &[EventRecord]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for r in records {
        *counts.entry(r.event.clone()).or_default() += 1;
    }
    counts
}

/// Failed events that followed a suspicion of the same member, as the
/// detection-latency histogram counts them.
fn timed_verdicts(records: &[EventRecord]) -> u64 {
    let mut suspected = std::collections::BTreeSet::new();
    let mut n = 0;
    for r in records {
        match r.event.as_str() {
            "suspected" => {
                suspected.insert(r.member);
            }
            "failed" => n += u64::from(suspected.remove(&r.member)),
            _ => {
                suspected.remove(&r.member);
            }
        }
    }
    n
}

#[test]
fn a_scrape_of_ten_agents_agrees_with_their_event_logs() {
    let (net, port, metrics_port) = (51, 7051, 9051);
    let mut cluster = LocalCluster::new(RUMOR, None).expect("a temporary directory");
    let metrics: Vec<SocketAddr> = (0..10).map(|i| addr(net, i, metrics_port)).collect();
    for (i, m) in metrics.iter().enumerate() {
        let join: Vec<SocketAddr> = (0..i.min(2)).map(|j| addr(net, j, port)).collect();
        let m = m.to_string();
        cluster
            .add(
                &format!("agent-{i}"),
                addr(net, i, port),
                &join,
                &["--detector", "swim", "--metrics-addr", &m],
            )
            .expect("rumor agent spawns");
    }
    let all: Vec<usize> = (0..10).collect();
    let ids = await_all_see_all(&mut cluster, &all);
    // One that waits to join nobody is not healthy yet.
    let lonely_metrics = addr(net, 20, metrics_port);
    let lonely = cluster
        .add(
            "lonely",
            addr(net, 20, port),
            &[addr(net, 21, port)],
            &["--metrics-addr", &lonely_metrics.to_string()],
        )
        .unwrap();
    let health = wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        try_http_get(lonely_metrics, "/health")
    })
    .expect("the joining agent serves /health");
    assert_eq!(health.0, 503, "{}", health.1);
    cluster.kill(lonely);

    let victim = ids[&9];
    cluster.kill(9);
    let survivors: Vec<usize> = (0..9).collect();
    wait_for(Duration::from_secs(15), Duration::from_millis(50), || {
        for &i in &survivors {
            let failed = cluster.agents[i]
                .events()
                .iter()
                .any(|r| r.event == "failed" && r.member == victim);
            if !failed {
                return Err(format!("agent {i} has not marked {victim} failed"));
            }
        }
        Ok(())
    })
    .expect("every survivor marks the victim failed");

    let started = Instant::now();
    for &i in &survivors {
        assert_eq!(http_get(metrics[i], "/health").0, 200);
        // Read the log, scrape, read again: an event between the two reads
        // (a late refutation) is retried, never judged.
        let agreed = wait_for(Duration::from_secs(10), Duration::from_millis(100), || {
            let before = cluster.agents[i].events();
            let (status, text) = http_get(metrics[i], "/metrics");
            let after = cluster.agents[i].events();
            if status != 200 || before != after {
                return Err(format!("status {status}, or the log moved"));
            }
            for (kind, n) in by_kind(&after) {
                let got = sample(&text, &format!("rumor_events_total{{kind=\"{kind}\"}}"));
                if got != Some(n) {
                    return Err(format!("{kind}: scrape {got:?}, log {n}\n{text}"));
                }
            }
            let latency = sample(&text, "rumor_detection_latency_seconds_count");
            if latency != Some(timed_verdicts(&after)) {
                return Err(format!("latency count {latency:?}\n{text}"));
            }
            Ok(text)
        })
        .unwrap_or_else(|why| panic!("agent {i}: {why}"));
        assert_eq!(sample(&agreed, "rumor_members{state=\"alive\"}"), Some(9));
        assert_eq!(sample(&agreed, "rumor_members{state=\"failed\"}"), Some(1));
        assert_eq!(sample(&agreed, "rumor_joined"), Some(1));
        for counter in [
            "rumor_probes_total",
            "rumor_datagrams_received_total",
            "rumor_datagrams_sent_total",
            "rumor_received_bytes_total",
            "rumor_sent_bytes_total",
            "rumor_anti_entropy_exchanges_total",
        ] {
            assert!(sample(&agreed, counter) > Some(0), "{counter}\n{agreed}");
        }
        for present in [
            "rumor_indirect_probes_total",
            "rumor_suspicions_raised_total",
            "rumor_suspicions_refuted_total",
            "rumor_datagrams_dropped_total{cause=\"malformed\"}",
            "rumor_datagrams_dropped_total{cause=\"unauthenticated\"}",
            "rumor_datagrams_dropped_total{cause=\"wrong_kind\"}",
            "rumor_datagrams_dropped_total{cause=\"queue_full\"}",
            "rumor_datagrams_dropped_total{cause=\"receiver_drop\"}",
            "rumor_queue_depth",
            "rumor_local_health",
            "rumor_rejoins_total",
        ] {
            assert!(sample(&agreed, present).is_some(), "{present}\n{agreed}");
        }
    }
    // The suspicions this cluster raised: at least one survivor's own.
    let raised: u64 = survivors
        .iter()
        .map(|&i| {
            sample(
                &http_get(metrics[i], "/metrics").1,
                "rumor_suspicions_raised_total",
            )
            .unwrap()
        })
        .sum();
    assert!(raised >= 1);
    eprintln!(
        "scraped and checked 9 agents in {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(http_get(metrics[0], "/nowhere").0, 404);
}

/// A TCP forwarder: every connection to the returned address is relayed,
/// both ways, to `to` (as a tunnel or a NAT would).
fn forwarder(at: SocketAddr, to: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind(at).expect("the forwarder binds");
    let local = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(agent) = TcpStream::connect(to) else {
                continue;
            };
            let (mut c2, mut a2) = (client.try_clone().unwrap(), agent.try_clone().unwrap());
            let (mut c1, mut a1) = (client, agent);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut a1);
                let _ = a1.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut a2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    local
}

/// Starts `rumor monitor` and waits until the agent at `log` has opened
/// its stream (the agent logs each one).
fn monitor(args: &[&str], log: &std::path::Path) -> std::process::Child {
    let opened = || {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .matches("monitor stream opened")
            .count()
    };
    let before = opened();
    let child = Command::new(RUMOR)
        .arg("monitor")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rumor monitor runs");
    wait_for(Duration::from_secs(10), Duration::from_millis(20), || {
        if opened() > before {
            Ok(())
        } else {
            Err("the stream is not open yet".to_string())
        }
    })
    .expect("the agent opens the stream");
    child
}

#[test]
fn members_info_and_monitor_through_a_forwarder_and_join_and_force_leave() {
    let (net, port) = (52, 7052);
    let (mut cluster, ids) = form(net, port, 3, &[]);
    let fwd = forwarder(addr(net, 100, port), addr(net, 0, port)).to_string();
    let log0 = cluster.agents[0].data_dir.join("agent.log");

    let members: serde_json::Value =
        serde_json::from_str(&ok(&["members", "--agent", &fwd, "--format", "json"])).unwrap();
    assert_eq!(members.as_array().unwrap().len(), 3, "{members}");
    let only: serde_json::Value = serde_json::from_str(&ok(&[
        "members",
        "--agent",
        &fwd,
        "--format",
        "json",
        "--status",
        "alive",
        "--name",
        r"\.2:7052#",
    ]))
    .unwrap();
    assert_eq!(only.as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only[0]["node"], ids[&1].to_string());
    let table = ok(&["members", "--agent", &fwd, "--status", "failed,left"]);
    assert!(table.contains("0 members"), "{table}");

    let info: serde_json::Value =
        serde_json::from_str(&ok(&["info", "--agent", &fwd, "--format", "json"])).unwrap();
    assert_eq!(info["node"], ids[&0].to_string());
    assert_eq!(info["joined"], true);
    assert_eq!(info["counters"]["members_alive"], 3);
    assert!(
        info["config"].as_str().unwrap().contains("bind = "),
        "{info}"
    );
    assert!(ok(&["info", "--agent", &fwd]).contains("configuration in force"));

    // The past: the log's own records, filtered, through the forwarder.
    let joined: Vec<EventRecord> = cluster.agents[0]
        .events()
        .into_iter()
        .filter(|r| r.event == "joined")
        .collect();
    let past = ok(&[
        "monitor", "--agent", &fwd, "--since", "1h", "--kind", "joined", "--count", "3",
        "--format", "json",
    ]);
    let lines: Vec<String> = joined.iter().take(3).map(|r| r.to_json_line()).collect();
    assert_eq!(past, lines.join("\n") + "\n");

    // Live: a crash, streamed as it is recorded.
    let victim = ids[&2];
    let stream = monitor(
        &[
            "--agent",
            &fwd,
            "--kind",
            "failed",
            "--member",
            &victim.addr.to_string(),
            "--count",
            "1",
            "--format",
            "json",
        ],
        &log0,
    );
    cluster.kill(2);
    let out = stream.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let streamed = EventRecord::parse_line(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let logged: Vec<EventRecord> = cluster.agents[0]
        .events()
        .into_iter()
        .filter(|r| r.event == "failed")
        .collect();
    assert_eq!(logged, vec![streamed]);

    // force-leave: the failed member is recorded left here, then elsewhere.
    let agent0 = addr(net, 0, port).to_string();
    one_line_error(
        &["force-leave", &ids[&1].addr.to_string(), "--agent", &agent0],
        "alive",
    );
    let said = ok(&["force-leave", &victim.to_string(), "--agent", &agent0]);
    assert!(said.contains("recorded left"), "{said}");
    wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        let left = cluster.agents[1]
            .events()
            .iter()
            .any(|r| r.event == "left" && r.member == victim);
        if left {
            Ok(())
        } else {
            Err("agent 1 has not heard".to_string())
        }
    })
    .expect("the forced leave spreads");

    // join: a lone agent merges with the cluster at runtime.
    let lone = cluster.add("lone", addr(net, 5, port), &[], &[]).unwrap();
    let lone_addr = addr(net, 5, port).to_string();
    wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        cluster.all_see_all(&[lone]).map(drop)
    })
    .expect("the lone agent runs");
    let merged = ok(&["join", &agent0, "--agent", &lone_addr, "--format", "json"]);
    let merged: serde_json::Value = serde_json::from_str(&merged).unwrap();
    assert!(
        merged["summary"].as_str().unwrap().starts_with("merged"),
        "{merged}"
    );
    await_all_see_all(&mut cluster, &[0, 1, lone]);

    one_line_error(
        &["monitor", "--agent", &fwd, "--kind", "exploded"],
        "exploded",
    );
    one_line_error(
        &["monitor", "--agent", &fwd, "--since", "yesterday-ish"],
        "--since",
    );
    one_line_error(&["why", "nonsense", "--agent", &fwd], "nonsense");
    one_line_error(&["members", "--agent", &fwd, "--name", "("], "--name");
    one_line_error(&["join", "nohost:0", "--agent", &fwd], "bad address");
}

#[test]
fn why_names_the_first_accuser_and_the_unanswered_probes() {
    let (net, port) = (53, 7053);
    let (mut cluster, ids) = form(net, port, 5, &["--detector", "swim"]);
    let victim = ids[&4];
    cluster.kill(4);
    let survivors: Vec<usize> = (0..4).collect();
    let survivor_addrs: Vec<String> = survivors
        .iter()
        .map(|&i| ids[&i].addr.to_string())
        .collect();
    wait_for(Duration::from_secs(15), Duration::from_millis(50), || {
        for &i in &survivors {
            if !cluster.agents[i]
                .events()
                .iter()
                .any(|r| r.event == "failed" && r.member == victim)
            {
                return Err(format!("agent {i} has not marked it failed"));
            }
        }
        Ok(())
    })
    .expect("every survivor marks the victim failed");

    let mut own_accusers = 0;
    for &i in &survivors {
        let agent = addr(net, i, port).to_string();
        let why: serde_json::Value = serde_json::from_str(&ok(&[
            "why",
            &victim.addr.to_string(),
            "--agent",
            &agent,
            "--format",
            "json",
        ]))
        .unwrap();
        let steps = why["steps"].as_array().unwrap();
        let whats: Vec<&str> = steps.iter().map(|s| s["what"].as_str().unwrap()).collect();
        assert!(whats.contains(&"failed"), "agent {i}: {why}");
        assert_eq!(why["state"], "failed", "agent {i}: {why}");
        let accuser = why["first_accuser"].as_str().expect("a first accuser");
        let first = steps.iter().find(|s| s["what"] == "suspected").unwrap();
        if first["by"] == "self" {
            own_accusers += 1;
            assert!(accuser.starts_with("this agent"), "{accuser}");
            // The probes that went unanswered came before the accusation.
            let before: Vec<&serde_json::Value> = steps
                .iter()
                .take_while(|s| s["what"] != "suspected")
                .filter(|s| s["what"] == "probe-unanswered")
                .collect();
            assert!(!before.is_empty(), "agent {i}: {why}");
            assert!(
                before[0]["detail"].as_str().unwrap().contains("no ack"),
                "{why}"
            );
            assert!(accuser.contains("unanswered probe"), "{accuser}");
        } else {
            let from = first["by"].as_str().unwrap();
            assert!(
                survivor_addrs.iter().any(|a| a == from),
                "agent {i}: accused by {from}"
            );
            assert_eq!(accuser, format!("hearsay from {from}"));
        }
        let text = ok(&["why", &victim.to_string(), "--agent", &agent]);
        assert!(
            text.contains("first accuser: ") && text.contains("unanswered probes: "),
            "{text}"
        );
    }
    assert!(own_accusers >= 1, "no survivor accused the victim itself");
    let node: NodeId = ids[&0];
    let quiet = ok(&[
        "why",
        &node.to_string(),
        "--agent",
        &addr(net, 1, port).to_string(),
    ]);
    assert!(quiet.contains("no suspicion of it on record"), "{quiet}");
}

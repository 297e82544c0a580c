//! The agent as an attacker on the same network meets it: sealed traffic
//! captured off the wire and replayed, truncated, mutated, sealed under
//! another key or for another cluster; and, in a cluster without a
//! keyring, forged versions, verdicts, refusals, leaves and floods of
//! members. No packet stops an agent; with a keyring no forged packet
//! reaches the core; a live key rotation causes no false positive.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{RUMOR, addr, await_all_see_all, dump, form, keyring_file, rumor};
use rumor_daemon::cluster::{LocalCluster, wait_for};
use rumor_seal::{Cipher, Keyring, OVERHEAD, Sealer, SealerConfig};
use rumor_wire::{
    Envelope, Gossip, Incarnation, JoinRetry, MemberState, MemberUpdate, Message, NodeId, Version,
};

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A keyed cluster of `n` agents, each with a copy of its own of the
/// keyring (agents rewrite their file on rotation); returns the copies and
/// the operator's own.
fn keyed(
    dir: &Path,
    net: u8,
    port: u16,
    n: usize,
) -> (LocalCluster, Vec<NodeId>, Vec<PathBuf>, PathBuf) {
    let operator = keyring_file(dir, "operator.keys", 1);
    let ring = Keyring::load(&operator).unwrap();
    let mut cluster = LocalCluster::new(RUMOR, None).unwrap();
    let mut rings = Vec::new();
    for i in 0..n {
        let path = dir.join(format!("agent-{i}.keys"));
        ring.save(&path).unwrap();
        let join: Vec<SocketAddr> = (0..i.min(2)).map(|j| addr(net, j, port)).collect();
        let keyring = path.to_str().unwrap().to_string();
        cluster
            .add(
                &format!("agent-{i}"),
                addr(net, i, port),
                &join,
                &["--keyring", &keyring],
            )
            .unwrap();
        rings.push(path);
    }
    let all: Vec<usize> = (0..n).collect();
    let ids = await_all_see_all(&mut cluster, &all);
    (cluster, ids.into_values().collect(), rings, operator)
}

fn sealer(path: &Path, label: &str) -> Sealer {
    Sealer::new(Keyring::load(path).unwrap(), label, SealerConfig::default()).unwrap()
}

/// The counters an agent logs when it stops, as text.
fn stop_and_read_counts(cluster: &mut LocalCluster, index: usize) -> String {
    cluster.signal_leave(index);
    cluster
        .reap(index, Duration::from_secs(10))
        .expect("the agent exits after SIGTERM");
    let log = std::fs::read_to_string(cluster.agents[index].data_dir.join("agent.log")).unwrap();
    log.lines()
        .rev()
        .find(|l| l.contains(" stopped: "))
        .unwrap_or_else(|| panic!("no final counters in agent.log:\n{log}"))
        .to_string()
}

/// The value of `name: N` in a counters line.
fn counter(line: &str, name: &str) -> u64 {
    let key = format!("{name}: ");
    line.split(&key)
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

#[test]
fn a_live_rotation_on_ten_agents_moves_everyone_to_the_new_key_with_no_false_positive() {
    let (net, port) = (42, 7042);
    let dir = tempfile::tempdir().unwrap();
    let (mut cluster, ids, rings, operator) = keyed(dir.path(), net, port, 10);
    let old = std::fs::read_to_string(&operator)
        .unwrap()
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .unwrap()
        .to_string();
    let new = ok(&rumor(&["keygen"])).trim().to_string();
    let agent = addr(net, 3, port).to_string();
    let ring = operator.to_str().unwrap();
    let started = Instant::now();
    for step in [["install", &new], ["use", &new], ["remove", &old]] {
        let out = ok(&rumor(&[
            "keys",
            step[0],
            step[1],
            "--agent",
            &agent,
            "--keyring",
            ring,
        ]));
        assert!(out.contains("10 of 10 members acknowledged"), "{out}");
    }
    let took = started.elapsed();
    eprintln!("rotation (install, use, remove) on 10 agents took {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Every agent's file now holds the new key only, and so does the
    // operator's.
    let new_only = Keyring::parse(&format!("{new}\n")).unwrap();
    for path in rings.iter().chain([&operator]) {
        assert_eq!(Keyring::load(path).unwrap(), new_only, "{}", path.display());
    }
    // The old key is refused everywhere: a member query sealed with it
    // gets no answer; the new one does.
    let old_ring = keyring_file(dir.path(), "old.keys", 1);
    Keyring::parse(&format!("{old}\n"))
        .unwrap()
        .save(&old_ring)
        .unwrap();
    let refused = rumor(&[
        "members",
        "--agent",
        &agent,
        "--keyring",
        old_ring.to_str().unwrap(),
        "--timeout",
        "1s",
    ]);
    assert!(!refused.status.success());
    let listed = ok(&rumor(&["members", "--agent", &agent, "--keyring", ring]));
    assert!(listed.contains("10 members, 10 alive"), "{listed}");
    // A restarted agent keeps the rotated ring.
    cluster.kill(5);
    cluster.restart(5, None).unwrap();
    let all: Vec<usize> = (0..10).collect();
    await_all_see_all(&mut cluster, &all);
    // Not one suspicion in the whole run, rotation included, but for the
    // restarted agent's old version.
    let events = cluster.all_events();
    let wrong: Vec<_> = events
        .iter()
        .filter(|r| matches!(r.event.as_str(), "suspected" | "failed"))
        .filter(|r| r.member != ids[5])
        .cloned()
        .collect();
    assert!(wrong.is_empty(), "suspicions:\n{}", dump(&wrong));
}

/// Joins the cluster through `agent` as a pseudo member listening on
/// `udp`, so that the agents gossip to it: what arrives is real sealed
/// traffic, captured off the wire.
fn capture(agent: SocketAddr, udp: &UdpSocket, ring: &Sealer, count: usize) -> Vec<Vec<u8>> {
    let me = NodeId::new(
        udp.local_addr().unwrap(),
        Version(rumor_seal::unix_millis()),
    );
    let request = Envelope::new(
        me.addr,
        Gossip::JoinRequest {
            node: me,
            nonce: 7,
            extras: Default::default(),
        },
    );
    let answer =
        rumor_transport::request(agent, &request, Some(ring), Duration::from_secs(2)).unwrap();
    assert!(matches!(
        answer.body,
        Message::Gossip(Gossip::JoinResponse { .. })
    ));
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut captured = Vec::new();
    let mut buf = [0u8; 2048];
    while captured.len() < count {
        let (len, _) = udp
            .recv_from(&mut buf)
            .expect("the agents gossip to a member");
        captured.push(buf[..len].to_vec());
    }
    captured
}

#[test]
fn forged_replayed_and_other_cluster_traffic_never_reaches_the_core() {
    let (net, port) = (43, 7043);
    let dir = tempfile::tempdir().unwrap();
    let (mut cluster, _ids, _rings, operator) = keyed(dir.path(), net, port, 3);
    let ring = sealer(&operator, rumor_seal::DEFAULT_LABEL);
    let spy = UdpSocket::bind(addr(net, 9, port)).unwrap();
    let captured = capture(addr(net, 0, port), &spy, &ring, 30);
    // Nothing on the wire names a member or a message kind.
    for datagram in &captured {
        let text = String::from_utf8_lossy(datagram);
        assert!(!text.contains("gossip") && !text.contains("Detector"));
        for i in 0..3u8 {
            let ip = [127, 0, net, 1 + i];
            assert!(
                !datagram.windows(4).any(|w| w == ip),
                "a member's address in clear on the wire"
            );
        }
    }
    let victim = addr(net, 1, port);
    let attacker = UdpSocket::bind(addr(net, 8, port)).unwrap();
    let mut sent = std::collections::BTreeMap::<&str, u64>::new();
    let mut send = |what: &'static str, bytes: &[u8]| {
        attacker.send_to(bytes, victim).unwrap();
        *sent.entry(what).or_default() += 1;
    };
    // Genuine packets meant for someone else, replayed to the victim
    // (twice each): sealed for their recipient, they open nowhere else.
    for datagram in &captured {
        send("replayed", datagram);
        send("replayed", datagram);
    }
    for datagram in &captured {
        // Up to one byte short of the overhead of the cipher that sealed it
        // (the agents seal with AES-256-GCM where the CPU has AES
        // instructions, 45 bytes, XChaCha20-Poly1305 elsewhere, 57).
        let overhead = Cipher::of_packet(datagram).map_or(OVERHEAD, Cipher::overhead);
        for cut in [0, 10, 40, overhead - 1] {
            send("truncated", &datagram[..cut.min(datagram.len())]);
        }
        for at in [45, datagram.len() / 2, datagram.len() - 1] {
            let mut flipped = datagram.clone();
            flipped[at] ^= 0x20;
            send("bad_tag", &flipped);
        }
    }
    let plain = rumor_wire::encode_to_vec;
    let mut body = Vec::new();
    let forged = Envelope::new(
        addr(net, 8, port),
        Gossip::Updates {
            sender: NodeId::new(addr(net, 8, port), Version(1)),
            updates: vec![],
            extras: Default::default(),
        },
    );
    plain(&forged, &mut body, 1400).unwrap();
    let other_key = sealer(
        &keyring_file(dir.path(), "x.keys", 1),
        rumor_seal::DEFAULT_LABEL,
    );
    let other_cluster = sealer(&operator, "another-cluster");
    for _ in 0..20 {
        let mut out = Vec::new();
        other_key.seal_now(&body, &mut out).unwrap();
        send("wrong_key", &out);
        out.clear();
        other_cluster.seal_now(&body, &mut out).unwrap();
        send("other_cluster", &out);
        out.clear();
        ring.seal_into(&body, &mut out, rumor_seal::unix_millis() - 10 * 60_000)
            .unwrap();
        send("stale", &out);
        send("clear", &body);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(cluster.is_running(1), "the victim is running");
    let counts = stop_and_read_counts(&mut cluster, 1);
    eprintln!("victim: {counts}\nsent: {sent:?}");
    // Every forgery was refused before the core, each counted by cause.
    assert!(
        counter(&counts, "truncated") >= sent["truncated"],
        "{counts}"
    );
    assert!(
        counter(&counts, "bad_tag") >= sent["bad_tag"] + sent["replayed"],
        "{counts}"
    );
    assert!(
        counter(&counts, "wrong_key") >= sent["wrong_key"],
        "{counts}"
    );
    assert!(
        counter(&counts, "other_cluster") >= sent["other_cluster"],
        "{counts}"
    );
    assert!(counter(&counts, "stale") >= sent["stale"], "{counts}");
    let refused = sent["replayed"]
        + sent["truncated"]
        + sent["bad_tag"]
        + sent["wrong_key"]
        + sent["other_cluster"]
        + sent["stale"]
        + sent["clear"];
    let unauthenticated: u64 = counts
        .split(" unauthenticated,")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no datagram counters in {counts}"));
    assert_eq!(unauthenticated, refused, "{counts}");
    // The cluster never noticed.
    for i in [0, 2] {
        assert!(cluster.is_running(i));
    }
}

/// A UDP datagram from `from` (any socket: the agent checks only what the
/// envelope claims, which is the point of a forgery in a clear cluster).
fn forge(socket: &UdpSocket, to: SocketAddr, from: SocketAddr, body: impl Into<Message>) {
    let mut bytes = Vec::new();
    rumor_wire::encode_to_vec(&Envelope::new(from, body), &mut bytes, 1400).unwrap();
    socket.send_to(&bytes, to).unwrap();
}

fn update(node: NodeId, state: MemberState) -> MemberUpdate {
    MemberUpdate {
        node,
        state,
        incarnation: Incarnation(0),
    }
}

#[test]
fn in_the_clear_no_forged_packet_stops_an_agent() {
    let (net, port) = (44, 7044);
    let (mut cluster, ids) = form(net, port, 3, &[]);
    let (a, b, c) = (ids[&0], ids[&1], ids[&2]);
    let attacker = UdpSocket::bind(addr(net, 8, port)).unwrap();
    let fake = NodeId::new(addr(net, 8, port), Version(1));
    // A newer version at 2^64 − 1 of live members' addresses, to them and
    // to others: implausible, ignored.
    for (to, about) in [(b, b), (a, c)] {
        forge(
            &attacker,
            to.addr,
            fake.addr,
            Gossip::Updates {
                sender: fake,
                updates: vec![update(
                    NodeId::new(about.addr, Version(u64::MAX)),
                    MemberState::Alive,
                )],
                extras: Default::default(),
            },
        );
    }
    // A forged refusal over UDP and over TCP, and a forged leave of c sent
    // in someone else's name.
    forge(
        &attacker,
        a.addr,
        fake.addr,
        Gossip::JoinRefused {
            nonce: 1,
            reason: "go away".into(),
            retry: JoinRetry::Elsewhere,
        },
    );
    let refusal = Envelope::new(
        fake.addr,
        Gossip::JoinRefused {
            nonce: 1,
            reason: "go away".into(),
            retry: JoinRetry::Elsewhere,
        },
    );
    let _ = rumor_transport::request(a.addr, &refusal, None, Duration::from_millis(500));
    forge(
        &attacker,
        b.addr,
        fake.addr,
        Gossip::Leave {
            node: c,
            incarnation: Incarnation(0),
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let all: Vec<usize> = (0..3).collect();
    let now = await_all_see_all(&mut cluster, &all);
    assert_eq!(now[&0], a, "a kept its version");
    assert_eq!(now[&1], b, "b kept its version");
    assert_eq!(
        now[&2], c,
        "c kept its version, and nobody recorded it as left"
    );
    assert!(
        cluster.all_events().iter().all(|r| r.event != "left"),
        "a forged leave was believed"
    );
    // A forged verdict about b, and a forged claim of a much larger view
    // that holds a dead: in the clear both are believed, and the members
    // rejoin under new versions; neither exits.
    forge(
        &attacker,
        b.addr,
        fake.addr,
        Gossip::Updates {
            sender: fake,
            updates: vec![update(b, MemberState::Failed)],
            extras: Default::default(),
        },
    );
    forge(
        &attacker,
        a.addr,
        fake.addr,
        Gossip::Gone {
            sender: fake,
            member: update(a, MemberState::Failed),
            live: 1000,
            reply: true,
        },
    );
    let later = wait_for(Duration::from_secs(15), Duration::from_millis(100), || {
        let ids = cluster.all_see_all(&all)?;
        if ids[&0] != a && ids[&1] != b {
            Ok(ids)
        } else {
            Err("not rejoined yet".to_string())
        }
    })
    .unwrap_or_else(|why| panic!("{why}\n{}", dump(&cluster.all_events())));
    for i in 0..3 {
        assert!(cluster.is_running(i), "agent {i} exited");
    }
    eprintln!("rejoined as {} and {}", later[&0], later[&1]);
}

#[test]
fn a_refused_rejoin_is_retried_elsewhere_and_never_ends_the_agent() {
    let (net, port) = (45, 7045);
    let (mut cluster, ids) = form(net, port, 3, &[]);
    let b = ids[&1];
    // An "introducer" that refuses every join.
    let listener = std::net::TcpListener::bind(addr(net, 9, port)).unwrap();
    let fake = NodeId::new(addr(net, 9, port), Version(1));
    let refusals = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Arc::clone(&refusals);
    let _service = rumor_transport::TcpService::spawn(
        listener,
        rumor_transport::ServiceConfig::default(),
        Arc::new(move |mut d: rumor_transport::Delivery| {
            if let Message::Gossip(Gossip::JoinRequest { nonce, .. }) = d.envelope.body {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let no = Gossip::JoinRefused {
                    nonce,
                    reason: "this introducer admits nobody".into(),
                    retry: JoinRetry::Elsewhere,
                };
                let _ = d
                    .reply
                    .send(&Envelope::new(fake.addr, no), Duration::from_secs(1));
            }
            Ok(())
        }),
    )
    .unwrap();
    // b hears, in the fake's name, that it was declared failed: it rejoins
    // through the fake first, is refused, and goes on to its --join list.
    let socket = UdpSocket::bind(addr(net, 9, port)).unwrap();
    forge(
        &socket,
        b.addr,
        fake.addr,
        Gossip::Updates {
            sender: fake,
            updates: vec![update(b, MemberState::Failed)],
            extras: Default::default(),
        },
    );
    let all: Vec<usize> = (0..3).collect();
    let ids = wait_for(Duration::from_secs(15), Duration::from_millis(100), || {
        let ids = cluster.all_see_all(&all)?;
        if ids[&1] != b {
            Ok(ids)
        } else {
            Err("b has not rejoined".to_string())
        }
    })
    .unwrap_or_else(|why| panic!("{why}"));
    assert!(cluster.is_running(1), "the refusal ended the agent");
    assert!(
        refusals.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the fake was asked"
    );
    let log = std::fs::read_to_string(cluster.agents[1].data_dir.join("agent.log")).unwrap();
    assert!(
        log.contains(&format!("join refused by {}", fake.addr)),
        "{log}"
    );
    assert!(log.contains("admitted by"), "{log}");
    eprintln!("{b} rejoined as {} after a refusal", ids[&1]);
}

#[test]
fn a_flood_of_forged_members_stays_under_the_cap_and_fails_away() {
    let (net, port) = (46, 7046);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("capped.toml");
    std::fs::write(&config, "[timing]\nmax_members = 100\n").unwrap();
    let config = config.to_str().unwrap().to_string();
    let (mut cluster, ids) = form(net, port, 3, &["--config", &config, "--t-delete", "3s"]);
    let attacker = UdpSocket::bind(addr(net, 8, port)).unwrap();
    let fake = NodeId::new(addr(net, 8, port), Version(1));
    let victim = ids[&0].addr;
    // 2,000 forged members, 50 to a datagram.
    for batch in 0..40u16 {
        let updates = (0..50u16)
            .map(|i| {
                let ip = std::net::Ipv4Addr::new(10, 99, (batch % 250) as u8, (1 + i) as u8);
                update(
                    NodeId::new(SocketAddr::from((ip, 4000 + batch)), Version(1)),
                    MemberState::Alive,
                )
            })
            .collect();
        forge(
            &attacker,
            victim,
            fake.addr,
            Gossip::Updates {
                sender: fake,
                updates,
                extras: Default::default(),
            },
        );
    }
    let members = |cluster: &LocalCluster| -> usize {
        let out = rumor(&["members", "--agent", &victim.to_string(), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = cluster;
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
            .unwrap()
            .len()
    };
    let mut peak = 0;
    let gone = wait_for(Duration::from_secs(20), Duration::from_millis(200), || {
        let n = members(&cluster);
        peak = peak.max(n);
        assert!(n <= 100, "{n} members listed, over the cap of 100");
        if n <= 3 {
            Ok(n)
        } else {
            Err(format!("{n} still listed"))
        }
    });
    eprintln!("forged members: at most {peak} listed; {gone:?}");
    assert!(peak > 3, "the flood was taken in at all");
    assert!(
        gone.is_ok(),
        "forged members were not failed and removed in time: {gone:?}"
    );
    let all: Vec<usize> = (0..3).collect();
    await_all_see_all(&mut cluster, &all);
    let real: BTreeSet<NodeId> = ids.values().copied().collect();
    assert!(
        cluster
            .all_events()
            .iter()
            .filter(|r| r.event == "failed")
            .all(|r| !real.contains(&r.member)),
        "a real member was declared failed"
    );
}

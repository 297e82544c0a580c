//! Captures the fuzz targets' seed corpus from real agents.
//!
//! ```sh
//! cargo build --release -p rumor-daemon
//! cargo run --release --manifest-path fuzz/Cargo.toml --example capture -- \
//!     --exe target/release/rumor --out fuzz/corpus
//! ```
//!
//! For each cluster of `rumor_fuzz::SETUPS` in turn (gossip, swim and phi
//! in the clear, gossip sealed with the fuzz keyring written by
//! `rumor_seal`), it starts three `rumor agent`s on 127.0.NET.1-3, joins
//! a pseudo member at 127.0.NET.250 (a `JoinRequest` over TCP, as
//! `rumor bench-flood` does, under the fixed version the targets give their
//! core) and records what the agents send it over UDP: heartbeats, probes,
//! updates and digests while it is new, the news of one agent leaving
//! and another SIGKILLed, and, since it never answers, its own suspicion
//! and failure, after which one word from it is answered `Gone`. It also
//! records raw TCP frames (the join request and its answer, a member query
//! and its list, a keys request and its answer), each agent's
//! `events.jsonl`, and keyring files.
//!
//! It then replaces the files under `OUT/<target>/` with a small selection
//! (tens of files per target, each at most 2 KiB): a few of each message
//! kind per cluster, in each target's input layout. Everything runs on
//! loopback and stops by itself within about a minute.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rumor_daemon::cluster::{LocalCluster, wait_for};
use rumor_fuzz::{SETUPS, SPY_HOST, Setup, fuzz_key, fuzz_sealer, host_addr, recipient, spy};
use rumor_seal::{Key, Keyring, Sealer};
use rumor_transport::frame::{encode_frame, read_body};
use rumor_wire::{Control, DEFAULT_MAX_FRAME, Envelope, Gossip, KeyOp, Message, decode_datagram};

/// No corpus file is larger: seeds are kept small so libFuzzer's
/// mutations stay cheap, and the repository stays light.
const MAX_FILE: usize = 2048;
/// Seeds kept per message kind and cluster.
const PER_KIND: usize = 3;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// What one cluster gave.
#[derive(Default)]
struct Capture {
    /// Datagrams as received (sealed, for the keyed cluster).
    datagrams: Vec<Vec<u8>>,
    /// Each TCP exchange: the request frame, then the answer frames.
    exchanges: Vec<(&'static str, Vec<Vec<u8>>)>,
    /// Each agent's `events.jsonl`.
    event_logs: Vec<String>,
}

fn main() -> Result<()> {
    let mut exe = PathBuf::from("target/release/rumor");
    let mut out = PathBuf::from("fuzz/corpus");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exe" => exe = args.next().ok_or("--exe takes a path")?.into(),
            "--out" => out = args.next().ok_or("--out takes a directory")?.into(),
            other => return Err(format!("unknown argument {other} (--exe PATH, --out DIR)").into()),
        }
    }
    if !exe.is_file() {
        return Err(format!(
            "{} is missing: cargo build --release -p rumor-daemon",
            exe.display()
        )
        .into());
    }
    let work = tempfile::tempdir()?;
    let keyring_path = work.path().join("cluster.keys");
    Keyring::new(fuzz_key()).save(&keyring_path)?;

    let mut corpus = Corpus::default();
    for (index, setup) in SETUPS.iter().enumerate() {
        eprintln!(
            "capturing {} ({}) on 127.0.{}.0/24",
            setup.detector,
            if setup.keyed { "keyed" } else { "clear" },
            setup.net
        );
        let capture = capture(&exe, *setup, &keyring_path, work.path())?;
        eprintln!(
            "  {} datagrams, {} exchanges, {} event lines",
            capture.datagrams.len(),
            capture.exchanges.len(),
            capture
                .event_logs
                .iter()
                .map(|l| l.lines().count())
                .sum::<usize>()
        );
        select(index as u8, *setup, &capture, &mut corpus)?;
    }
    keyrings(&keyring_path, &mut corpus)?;
    corpus.write(&out)
}

/// Runs one cluster, captures, and tears it down.
fn capture(exe: &Path, setup: Setup, keyring: &Path, work: &Path) -> Result<Capture> {
    let mut cluster = LocalCluster::new(exe, Some(work.join(format!("net-{}", setup.net))))?;
    let addrs: Vec<SocketAddr> = (1..=3).map(|host| host_addr(setup, host)).collect();
    let keyring = keyring.display().to_string();
    let mut args = vec!["--detector", setup.detector];
    if setup.keyed {
        args.extend(["--keyring", &keyring]);
    }
    for (i, addr) in addrs.iter().enumerate() {
        cluster.add(
            &format!("agent-{}", i + 1),
            *addr,
            &addrs[..i.min(1)],
            &args,
        )?;
    }
    wait_for(Duration::from_secs(30), Duration::from_millis(100), || {
        cluster.all_see_all(&[0, 1, 2])
    })
    .map_err(|why| format!("the cluster did not form: {why}"))?;
    let sealer = setup.keyed.then(fuzz_sealer);
    let sealer = sealer.as_ref();

    let me = spy(setup);
    let udp = UdpSocket::bind(me.addr)?;
    udp.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut captured = Capture::default();
    let join = Envelope::new(me.addr, Gossip::JoinRequest { node: me, nonce: 7, extras: Default::default() });
    captured
        .exchanges
        .push(("join", exchange(addrs[0], &join, sealer)?));

    // Traffic to a new member; one agent leaving gracefully (its `Leave`),
    // another crashing; then, since the pseudo member never answers, its
    // suspicion and failure, after which a word from it is answered `Gone`.
    listen(&udp, Duration::from_secs(3), &mut captured.datagrams);
    cluster.signal_leave(1);
    listen(&udp, Duration::from_secs(1), &mut captured.datagrams);
    cluster.kill(2);
    listen(&udp, Duration::from_secs(8), &mut captured.datagrams);
    let hello = Envelope::new(
        me.addr,
        Gossip::Updates {
            sender: me,
            updates: Vec::new(),
            extras: Default::default(),
        },
    );
    let mut plain = vec![0u8; rumor_wire::DEFAULT_DATAGRAM_LIMIT];
    let len = rumor_wire::encode_datagram(&hello, &mut plain, rumor_wire::DEFAULT_DATAGRAM_LIMIT)?;
    let datagram = match sealer {
        None => plain[..len].to_vec(),
        Some(sealer) => {
            let mut sealed = Vec::new();
            let to = recipient(addrs[0]);
            sealer.seal_for(&plain[..len], &mut sealed, rumor_seal::unix_millis(), &to)?;
            sealed
        }
    };
    udp.send_to(&datagram, addrs[0])?;
    listen(&udp, Duration::from_secs(1), &mut captured.datagrams);

    let query = Envelope::new(host_addr(setup, SPY_HOST), Control::MemberQuery);
    captured
        .exchanges
        .push(("members", exchange(addrs[0], &query, sealer)?));
    let keys = Envelope::new(
        host_addr(setup, SPY_HOST),
        Control::KeysRequest {
            op: KeyOp::List,
            fan_out: false,
        },
    );
    captured
        .exchanges
        .push(("keys", exchange(addrs[0], &keys, sealer)?));

    cluster.leave_all(Duration::from_secs(10));
    for agent in &cluster.agents {
        captured
            .event_logs
            .push(std::fs::read_to_string(agent.events_path()).unwrap_or_default());
    }
    Ok(captured)
}

/// Reads datagrams for `how_long`.
fn listen(udp: &UdpSocket, how_long: Duration, into: &mut Vec<Vec<u8>>) {
    let until = Instant::now() + how_long;
    let mut buf = [0u8; 2048];
    while Instant::now() < until {
        if let Ok((len, _)) = udp.recv_from(&mut buf) {
            into.push(buf[..len].to_vec());
        }
    }
}

/// Sends one request frame and reads the answer frame, both kept whole
/// (length prefix included).
fn exchange(to: SocketAddr, envelope: &Envelope, sealer: Option<&Sealer>) -> Result<Vec<Vec<u8>>> {
    let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(3))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut request = Vec::new();
    encode_frame(envelope, sealer, DEFAULT_MAX_FRAME, &mut request)?;
    stream.write_all(&request)?;
    let mut frames = vec![request];
    let mut body = Vec::new();
    if read_body(&mut stream, &mut body, DEFAULT_MAX_FRAME)? {
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        frames.push(frame);
    }
    Ok(frames)
}

/// The files to write, per target.
#[derive(Default)]
struct Corpus {
    files: BTreeMap<&'static str, Vec<(String, Vec<u8>)>>,
}

impl Corpus {
    fn add(&mut self, target: &'static str, name: String, bytes: Vec<u8>) {
        if bytes.len() <= MAX_FILE {
            self.files.entry(target).or_default().push((name, bytes));
        }
    }

    /// Replaces every target's seed files with the new selection.
    fn write(&self, out: &Path) -> Result<()> {
        for (target, files) in &self.files {
            let dir = out.join(target);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            std::fs::create_dir_all(&dir)?;
            for (name, bytes) in files {
                std::fs::write(dir.join(name), bytes)?;
            }
            eprintln!("{}: {} files", dir.display(), files.len());
        }
        Ok(())
    }
}

/// Picks a few datagrams of each kind, frames, and event lines from one
/// cluster, in each target's input layout.
fn select(index: u8, setup: Setup, capture: &Capture, corpus: &mut Corpus) -> Result<()> {
    let tag = format!(
        "{}-{}{}",
        index,
        setup.detector,
        if setup.keyed { "-keyed" } else { "" }
    );
    // The keyed cluster's datagrams open as its pseudo member (each is
    // sealed for its recipient); the targets behind the sealer get the
    // plaintext.
    let opener = fuzz_sealer();
    let me = recipient(spy(setup).addr);
    let mut per_kind: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut payloads = 0;
    let mut sealed = 0;
    for packet in &capture.datagrams {
        let plain = if setup.keyed {
            let mut plain = Vec::new();
            let Some(sent) = packet.get(9..17) else {
                continue;
            };
            let sent = u64::from_be_bytes(sent.try_into()?);
            if opener.open_for(packet, &mut plain, sent, &me).is_err() {
                continue;
            }
            if sealed < 8 {
                corpus.add(
                    "sealed",
                    format!("{tag}-datagram-{sealed}"),
                    [&[0], &packet[..]].concat(),
                );
                if sealed < 7 {
                    // Mutation seeds: operation `sealed`, at a position in
                    // the header, the body and the tag in turn.
                    let at = [3u16, 20, 45, 60, 1000, 12, 0][sealed];
                    let head = [1, sealed as u8, (at >> 8) as u8, at as u8, 0x5a];
                    corpus.add(
                        "sealed",
                        format!("{tag}-mutate-{sealed}"),
                        [&head[..], &plain].concat(),
                    );
                }
                sealed += 1;
            }
            plain
        } else {
            packet.clone()
        };
        let Ok(envelope) = decode_datagram(&plain, rumor_wire::DEFAULT_DATAGRAM_LIMIT) else {
            continue;
        };
        let kind = envelope.body.kind();
        let seen = per_kind.entry(kind).or_default();
        if *seen < PER_KIND {
            // Vary how long the core runs afterwards from seed to seed.
            let n = *seen as u8 + 1;
            let selector = index | (n << 2) | (n << 5);
            corpus.add(
                "datagram",
                format!("{tag}-{kind}-{seen}"),
                [&[selector], &plain[..]].concat(),
            );
            *seen += 1;
        }
        if let Message::Gossip(Gossip::Detector {
            sender, payload, ..
        }) = &envelope.body
        {
            if payloads < 4 {
                let host = match sender.addr.ip() {
                    std::net::IpAddr::V4(ip) => ip.octets()[3],
                    std::net::IpAddr::V6(_) => 1,
                };
                let selector = index | ((payloads as u8 + 1) << 2) | (1 << 5);
                let mut seed = vec![selector, host];
                seed.extend_from_slice(&sender.version.0.to_be_bytes());
                seed.extend_from_slice(payload);
                corpus.add("detector_payload", format!("{tag}-{payloads}"), seed);
                payloads += 1;
            }
        }
    }
    for (name, frames) in &capture.exchanges {
        let stream: Vec<u8> = frames.concat();
        if setup.keyed {
            corpus.add(
                "frame",
                format!("{tag}-{name}-sealed"),
                [&[1], &stream[..]].concat(),
            );
        } else {
            corpus.add(
                "frame",
                format!("{tag}-{name}"),
                [&[0], &stream[..]].concat(),
            );
            corpus.add(
                "frame",
                format!("{tag}-{name}-resealed"),
                [&[2], &stream[..]].concat(),
            );
        }
    }
    for (agent, log) in capture.event_logs.iter().enumerate() {
        // The log's first lines, up to one file's worth.
        let mut chunk = String::new();
        for line in log.lines() {
            if 1 + chunk.len() + line.len() + 1 > MAX_FILE {
                break;
            }
            chunk.push_str(line);
            chunk.push('\n');
        }
        corpus.add(
            "event_log",
            format!("{tag}-agent{}", agent + 1),
            event_seed(&chunk),
        );
    }
    Ok(())
}

/// An `event_log` input: the cut between the tail's two polls (mid-file),
/// then the file.
fn event_seed(text: &str) -> Vec<u8> {
    [&[128u8], text.as_bytes()].concat()
}

/// Keyring files as `rumor_seal` writes them: the capture's own, one of
/// two keys, one with comments and blank lines by hand, and a full one.
fn keyrings(cluster_keys: &Path, corpus: &mut Corpus) -> Result<()> {
    corpus.add(
        "keyring",
        "cluster-keys".into(),
        std::fs::read(cluster_keys)?,
    );
    let fresh = || rumor_seal::generate_key().map_err(|e| e.to_string());
    let two = Keyring::from_keys([fresh()?, fuzz_key()])?;
    corpus.add("keyring", "two-keys".into(), two.to_text().into_bytes());
    let by_hand = format!(
        "# the cluster's keys\n\n  {}  \n# retired next week\n{}\n",
        fresh()?.to_base64(),
        fuzz_key().to_base64()
    );
    corpus.add("keyring", "by-hand".into(), by_hand.into_bytes());
    let full: Vec<Key> = (0..rumor_seal::MAX_KEYS)
        .map(|_| fresh())
        .collect::<std::result::Result<_, _>>()?;
    corpus.add(
        "keyring",
        "full".into(),
        Keyring::from_keys(full)?.to_text().into_bytes(),
    );
    Ok(())
}

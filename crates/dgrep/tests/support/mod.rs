//! In-test stand-ins for rumor agents: TCP listeners that read one frame per
//! connection, answer `MemberQuery` with the cluster's member list and
//! `DgrepRequest` with `rumor_dgrep::answer`, and can be told to misbehave.

#![allow(dead_code)]

use std::io::BufReader;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rumor_dgrep::{ServeConfig, answer};
use rumor_wire::{
    DEFAULT_MAX_FRAME, DgrepChunk, Envelope, GrepLine, MemberInfo, MemberState, Message, NodeId,
    Version, read_frame, write_frame,
};

/// How a test node answers a dgrep request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Searches and streams its answer, as an agent does.
    Answer,
    /// Takes the request and never answers (a hung agent).
    Silent,
    /// Sends one chunk, then the connection drops without a `DgrepDone`
    /// (an agent killed mid-answer).
    DiesMidAnswer,
}

/// One stand-in agent.
pub struct TestNode {
    pub id: NodeId,
    pub config: ServeConfig,
}

/// Starts one stand-in agent per config, all listing each other as alive.
/// Returns their ids in order; the first is the one to ask for members.
pub fn start_cluster(configs: Vec<(ServeConfig, Behaviour)>) -> Vec<NodeId> {
    let members: Arc<Mutex<Vec<MemberInfo>>> = Arc::default();
    let mut ids = Vec::new();
    for (i, (config, behaviour)) in configs.into_iter().enumerate() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let id = NodeId {
            addr: listener
                .local_addr()
                .expect("bound listener has an address"),
            version: Version(1_763_899_990_000 + i as u64),
        };
        members.lock().unwrap().push(MemberInfo {
            node: id,
            state: MemberState::Alive,
            incarnation: Default::default(),
        });
        let members = members.clone();
        thread::spawn(move || serve(listener, id, config, behaviour, members));
        ids.push(id);
    }
    ids
}

fn serve(
    listener: TcpListener,
    id: NodeId,
    config: ServeConfig,
    behaviour: Behaviour,
    members: Arc<Mutex<Vec<MemberInfo>>>,
) {
    let config = Arc::new(config);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        let Ok(Some(envelope)) = read_frame(&mut reader, &mut buf, DEFAULT_MAX_FRAME) else {
            continue;
        };
        match envelope.body {
            Message::MemberQuery => {
                let list = Message::MemberList {
                    node: id,
                    members: members.lock().unwrap().clone(),
                };
                let reply = Envelope::new(id.addr, list);
                let _ = rumor_wire::tcp::send(envelope.from, &reply, Duration::from_secs(5));
            }
            Message::DgrepRequest(request) => {
                let config = config.clone();
                let to = envelope.from;
                // Keep the hung connection's socket alive for the test's life.
                let held = reader;
                thread::spawn(move || match behaviour {
                    Behaviour::Answer => {
                        let _ = answer(request, to, id, &config);
                    }
                    Behaviour::Silent => {
                        let _held = held;
                        thread::park();
                    }
                    Behaviour::DiesMidAnswer => {
                        let Ok(mut out) = std::net::TcpStream::connect(to) else {
                            return;
                        };
                        let chunk = DgrepChunk {
                            query: request.query,
                            node: id,
                            lines: vec![GrepLine {
                                file: "agent.log".into(),
                                line_number: None,
                                text: b"a line before the crash".to_vec(),
                            }],
                        };
                        let env = Envelope::new(id.addr, Message::DgrepChunk(chunk));
                        let _ = write_frame(&mut out, &env, &mut Vec::new(), DEFAULT_MAX_FRAME);
                    }
                });
            }
            _ => {}
        }
    }
}

/// The built `dgrep` binary.
pub fn dgrep() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dgrep"));
    command.env("LC_ALL", "C");
    command
}

/// Runs `dgrep ARGS --agent AGENT`.
pub fn run_dgrep(agent: SocketAddr, args: &[&str]) -> Output {
    dgrep()
        .args(args)
        .arg("--agent")
        .arg(agent.to_string())
        .output()
        .expect("dgrep runs")
}

/// What GNU grep prints for `args` over `files` (relative to `dir`), turned
/// into dgrep's line format for `node`, and grep's exit status. Flags must
/// be given one per argument (`-c`, `-n`), so the format can be told.
pub fn gnu_grep(node: &NodeId, dir: &Path, files: &[&str], args: &[&str]) -> (Vec<String>, i32) {
    let out = Command::new("/usr/bin/grep")
        .env("LC_ALL", "C")
        .current_dir(dir)
        .arg("-H")
        .args(args)
        .arg("--")
        .args(files)
        .output()
        .expect("/usr/bin/grep runs");
    let count = args.contains(&"-c");
    let numbered = args.contains(&"-n");
    let text = String::from_utf8(out.stdout).expect("generated logs are UTF-8");
    let lines = text
        .lines()
        .map(|line| {
            let (file, rest) = line.split_once(':').expect("grep -H prefixes the file");
            if count {
                format!("{node} {file}:{rest}")
            } else if numbered {
                let (n, text) = rest
                    .split_once(':')
                    .expect("grep -n prefixes the line number");
                format!("{node} {file}:{n}: {text}")
            } else {
                format!("{node} {file}: {rest}")
            }
        })
        .collect();
    (lines, out.status.code().unwrap_or(-1))
}

/// dgrep's stdout split by node, in order of appearance within each node.
pub fn by_node(stdout: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in String::from_utf8_lossy(stdout).lines() {
        let (node, _) = line
            .split_once(' ')
            .expect("every line starts with a node id");
        map.entry(node.to_owned())
            .or_default()
            .push(line.to_owned());
    }
    map
}

/// A fresh data directory.
pub fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// Where a served file of `dir` lives.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A small deterministic generator, so the logs are the same on every run.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Writes a node's `agent.log` and `events.jsonl` with known line
/// frequencies: INFO ~70 %, WARN ~20 %, ERROR ~7 %, `Error` ~2 %, a rare
/// `panic` ~0.1 %, and (when `needle`) a few lines no other node has.
pub fn write_logs(dir: &Path, seed: u64, lines: usize, needle: bool) {
    use std::fmt::Write as _;
    let mut rng = Lcg(seed);
    let users = ["alice", "bob", "carol", "dave"];
    let mut log = String::new();
    for i in 0..lines {
        let roll = rng.next() % 1000;
        let level = match roll {
            0 => "PANIC",
            1..=20 => "Error",
            21..=90 => "ERROR",
            91..=290 => "WARN",
            _ => "INFO",
        };
        let user = users[(rng.next() % 4) as usize];
        let id = rng.next() % 100_000;
        let ms = rng.next() % 2000;
        let _ = write!(
            log,
            "2026-11-23T10:{:02}:{:02}.{:03}Z {level} request id={id} user={user} ms={ms}",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            i % 1000
        );
        if level == "PANIC" {
            log.push_str(" panic: disk full");
        }
        if needle && i % 4000 == 17 {
            log.push_str(" needle-only-here");
        }
        log.push('\n');
    }
    std::fs::write(dir.join("agent.log"), log).expect("write agent.log");
    let mut events = String::new();
    let kinds = ["joined", "suspected", "alive", "failed", "left", "removed"];
    for i in 0..lines / 10 {
        let kind = kinds[(rng.next() % 6) as usize];
        let _ = writeln!(
            events,
            "{{\"ts_ms\":{},\"observer\":\"127.0.0.1:4000#1\",\"event\":\"{kind}\",\
             \"member\":\"127.0.0.{}:4000#2\",\"incarnation\":0,\"detector\":\"gossip\"}}",
            1_763_900_000_000u64 + i as u64,
            rng.next() % 8
        );
    }
    std::fs::write(dir.join("events.jsonl"), events).expect("write events.jsonl");
}

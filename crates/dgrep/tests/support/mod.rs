//! In-test stand-ins for rumor agents: TCP services (rumor-transport, as
//! agents run) that answer `MemberQuery` with the cluster's member list and
//! `DgrepRequest` with `rumor_dgrep::answer`, on the request's connection,
//! sealed when given a keyring, and can be told to misbehave.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rumor_dgrep::{ServeConfig, answer};
use rumor_seal::Sealer;
use rumor_transport::{Delivery, Exchange, Reply, ServiceConfig, TcpService};
use rumor_wire::{
    Control, Dgrep, DgrepChunk, Envelope, GrepLine, MemberInfo, MemberState, Message, Metadata,
    NodeId, Version,
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
    /// Answers with a well-framed frame of nonsense.
    Garbage,
}

/// The service settings of a stand-in: the transport's defaults, sealed
/// under `sealer` if given, without per-source limits (every test asks from
/// 127.0.0.1, many times a second).
pub fn service_config(sealer: Option<Arc<Sealer>>) -> ServiceConfig {
    let mut config = ServiceConfig::default();
    config.sealer = sealer;
    config.limits.connections_per_source = 4096;
    config.limits.requests_per_second = 1e9;
    config.limits.burst = 1e9;
    config
}

/// Starts one stand-in agent per config, all listing each other as alive.
/// Returns their ids in order; the first is the one to ask for members.
pub fn start_cluster(configs: Vec<(ServeConfig, Behaviour)>) -> Vec<NodeId> {
    start_keyed_cluster(configs, None)
}

/// As [`start_cluster`], every stand-in sealing under `sealer` when given
/// (and dropping whatever is not sealed).
pub fn start_keyed_cluster(
    configs: Vec<(ServeConfig, Behaviour)>,
    sealer: Option<Arc<Sealer>>,
) -> Vec<NodeId> {
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
        // Tags as agents started with `--tag role=… --tag n=…` carry them:
        // node 2 is the `db`, the others `web`.
        let role = if i == 2 { "db" } else { "web" };
        let tags = Metadata::from_pairs([("role", role.to_string()), ("n", i.to_string())])
            .expect("two short tags fit");
        members
            .lock()
            .unwrap()
            .push(MemberInfo::new(id, MemberState::Alive, Default::default()).with_metadata(tags));
        let members = members.clone();
        let config = Arc::new(config);
        let handler = move |d: Delivery| {
            serve(d, id, &config, behaviour, &members);
            Ok(())
        };
        let service =
            TcpService::spawn(listener, service_config(sealer.clone()), Arc::new(handler))
                .expect("the stand-in's service starts");
        // Serves for the rest of the test process.
        std::mem::forget(service);
        ids.push(id);
    }
    ids
}

fn serve(
    delivery: Delivery,
    id: NodeId,
    config: &Arc<ServeConfig>,
    behaviour: Behaviour,
    members: &Mutex<Vec<MemberInfo>>,
) {
    let Delivery {
        envelope,
        mut reply,
        ..
    } = delivery;
    match envelope.body {
        Message::Control(Control::MemberQuery) => {
            let list = Control::MemberList {
                node: id,
                members: members.lock().unwrap().clone(),
            };
            let _ = reply.send(&Envelope::new(id.addr, list), Duration::from_secs(5));
        }
        Message::Dgrep(Dgrep::Request(request)) => {
            let config = config.clone();
            thread::spawn(move || match behaviour {
                Behaviour::Answer => {
                    let _ = answer(request, reply, id, &config);
                }
                Behaviour::Silent => {
                    // Keep the hung connection open for the test's life.
                    let _held = reply;
                    thread::park();
                }
                Behaviour::DiesMidAnswer => {
                    let chunk = DgrepChunk {
                        query: request.query,
                        node: id,
                        lines: vec![GrepLine {
                            file: "agent.log".into(),
                            line_number: None,
                            text: b"a line before the crash".to_vec(),
                        }],
                    };
                    let env = Envelope::new(id.addr, Dgrep::Chunk(chunk));
                    let _ = reply.send(&env, Duration::from_secs(5));
                }
                Behaviour::Garbage => {
                    let _ = reply.send_encoded(b"\x93not an envelope", Duration::from_secs(5));
                    thread::sleep(Duration::from_secs(1));
                }
            });
        }
        _ => {}
    }
}

/// A service of this test process's own that hands each request it gets,
/// with its [`Reply`], to the test: the test plays the agent.
pub struct Desk {
    service: TcpService,
    deliveries: Mutex<Receiver<Delivery>>,
}

impl Desk {
    /// A desk on a loopback port.
    pub fn new() -> Desk {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let (tx, rx) = channel();
        let tx = Mutex::new(tx);
        let handler = move |d: Delivery| tx.lock().unwrap().send(d).map_err(|e| e.to_string());
        let service = TcpService::spawn(listener, service_config(None), Arc::new(handler))
            .expect("the desk's service starts");
        Desk {
            service,
            deliveries: Mutex::new(rx),
        }
    }

    /// Sends `body` to the desk as a client would: the client's side of the
    /// connection, and the desk's reply to answer on.
    pub fn request(&self, body: impl Into<Message>) -> (Exchange<'static>, Reply) {
        let to = self.service.addr();
        let envelope = Envelope::new(to, body);
        let exchange =
            Exchange::open(to, &envelope, None, Duration::from_secs(5)).expect("the desk is up");
        let delivery = self
            .deliveries
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(5))
            .expect("the request is delivered");
        (exchange, delivery.reply)
    }

    /// The desk's address.
    pub fn addr(&self) -> SocketAddr {
        self.service.addr()
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
/// into dgrep's line format for `node`, and grep's exit status. grep runs
/// with `-H` first (dgrep's default: several files), so `-h` in `args`
/// overrides it. Flags must be given one per argument (`-c`, `-n`), so the
/// layout can be told.
pub fn gnu_grep(node: &NodeId, dir: &Path, files: &[&str], args: &[&str]) -> (Vec<String>, i32) {
    let out = Command::new("/usr/bin/grep")
        .env("LC_ALL", "C")
        // grep's default colours, as dgrep's.
        .env_remove("GREP_COLORS")
        .env_remove("GREP_COLOR")
        .current_dir(dir)
        .arg("-H")
        .args(args)
        .arg("--")
        .args(files)
        .output()
        .expect("/usr/bin/grep runs");
    let layout = Layout::of(args);
    let text = String::from_utf8(out.stdout).expect("generated logs are UTF-8");
    let lines = text
        .lines()
        .map(|line| layout.as_dgrep(node, line, files))
        .collect();
    (lines, out.status.code().unwrap_or(-1))
}

/// How grep lays its output lines out, as its arguments say.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Lines (selected, context, `--`), rather than counts or file names.
    lines: bool,
    file_names: bool,
    numbers: bool,
    colour: bool,
}

/// grep's `--` between groups, coloured.
const COLOURED_SEPARATOR: &str = "\x1b[36m\x1b[K--\x1b[m\x1b[K";

impl Layout {
    fn of(args: &[&str]) -> Layout {
        let last = |flags: &[&str]| args.iter().rposition(|a| flags.contains(a));
        Layout {
            lines: !args.iter().any(|a| ["-c", "-l", "-L", "-q"].contains(a)),
            file_names: last(&["-h"]) < last(&["-H"]) || last(&["-h"]).is_none(),
            numbers: args.contains(&"-n"),
            colour: args.contains(&"--color=always"),
        }
    }

    /// grep's `line` as dgrep prints it: the member first, and a space
    /// between grep's prefix (file, line number, separators) and the text.
    fn as_dgrep(self, node: &NodeId, line: &str, files: &[&str]) -> String {
        if !self.lines || line == "--" || line == COLOURED_SEPARATOR {
            return format!("{node} {line}");
        }
        let mut rest = line;
        if self.file_names {
            let file = |s: &str| {
                files
                    .iter()
                    .filter(|f| s.starts_with(*f))
                    .map(|f| f.len())
                    .max()
                    .expect("grep -H prefixes the file")
            };
            rest = self.token(rest, file);
            rest = self.token(rest, |_| 1);
        }
        if self.numbers {
            rest = self.token(rest, |s| s.bytes().take_while(u8::is_ascii_digit).count());
            rest = self.token(rest, |_| 1);
        }
        let prefix = &line[..line.len() - rest.len()];
        if prefix.is_empty() {
            format!("{node} {rest}")
        } else {
            format!("{node} {prefix} {rest}")
        }
    }

    /// `s` after one part of grep's prefix, `len` bytes long (wrapped in
    /// its colour when colouring).
    fn token(self, s: &str, len: impl Fn(&str) -> usize) -> &str {
        if !self.colour {
            return &s[len(s)..];
        }
        let start = s.find("m\x1b[K").expect("a coloured prefix part") + 4;
        let s = &s[start..];
        s[len(s)..]
            .strip_prefix("\x1b[m\x1b[K")
            .expect("a coloured part ends with a reset")
    }
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

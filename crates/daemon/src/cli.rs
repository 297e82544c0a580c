//! The `rumor` command line (its commands and flags are documented in the
//! README and `crates/daemon/README.md`; the layers in `docs/architecture.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use crate::cli_client::{
    AgentTarget, BroadcastArgs, ForceLeaveArgs, Format, InfoArgs, JoinArgs, MembersArgs,
    MonitorArgs, Status, WhyArgs,
};

/// The agent's default address, also the well-known introducer port.
pub const DEFAULT_AGENT: &str = "127.0.0.1:3000";

/// rumor: cluster group membership. Every node knows, within seconds, who is
/// in the cluster, who left and who failed.
#[derive(Debug, Parser)]
#[command(name = "rumor", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a member: join (or start) a cluster and keep its member list.
    Agent(Box<AgentArgs>),
    /// Print a running agent's member list.
    Members(MembersArgs),
    /// Stream a running agent's membership events live.
    Monitor(MonitorArgs),
    /// Print a running agent's version, configuration and counters.
    Info(InfoArgs),
    /// Ask a running agent on this host to merge with another cluster.
    Join(JoinArgs),
    /// Ask a running agent on this host to mark a failed member left at once.
    ForceLeave(ForceLeaveArgs),
    /// Print a member's recent history as one agent saw it: who suspected
    /// it first and on what evidence, refutations, the verdict.
    Why(WhyArgs),
    /// Ask a running agent on this host to leave the cluster gracefully.
    Leave(LeaveArgs),
    /// Send a message to every member of the cluster, through a running
    /// agent on this host: each agent writes it to its agent.log.
    Broadcast(BroadcastArgs),
    /// Print a new random cluster key (32 bytes, base64) for a keyring file.
    Keygen,
    /// List or change the keyring of every live member, through one agent.
    Keys(KeysArgs),
    /// Start a five-node cluster on loopback, crash one node, and show who noticed when.
    Demo(DemoArgs),
    /// Measure detection times and false positives over repeated crashes (benchmark).
    BenchDetect(BenchDetectArgs),
    /// Measure resident memory and idle CPU of agents in a local cluster (benchmark).
    BenchResources(BenchResourcesArgs),
    /// Run hundreds of agents on this host: formation, idle CPU and memory,
    /// crashes detected, false positives over the run (benchmark).
    BenchScale(BenchScaleArgs),
    /// Throw bad datagrams and bad TCP connections at a local cluster and
    /// check that it stays up and whole (benchmark, loopback only).
    BenchFlood(BenchFloodArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (rumor.1 and one per subcommand) into a directory.
    Man {
        /// Where to write them (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

/// `rumor agent`.
#[derive(Debug, Args, Clone)]
pub struct AgentArgs {
    /// Address to listen on, UDP (gossip) and TCP (joins, queries) alike
    /// (or `bind` in the config file); a host name is resolved at start.
    #[arg(long, value_name = "IP:PORT|HOST:PORT", value_parser = parse_host_port)]
    pub bind: Option<String>,
    /// The address other members reach this agent at, when it differs
    /// from --bind (NAT, a wildcard bind): the node id names it.
    #[arg(long, value_name = "IP:PORT", value_parser = parse_addr)]
    pub advertise: Option<SocketAddr>,
    /// An introducer to join through; repeat for fallbacks, asked in order.
    /// A host name is looked up again at each join attempt, every 5 s and on
    /// SIGHUP, so an introducer that moves is still found. Without any, the
    /// agent starts a new cluster.
    #[arg(long = "join", value_name = "IP:PORT|HOST:PORT", value_parser = parse_host_port)]
    pub join: Vec<String>,
    /// Serve Prometheus metrics on http://IP:PORT/metrics, and /health
    /// (200 while a member, 503 otherwise).
    #[arg(long, value_name = "IP:PORT", value_parser = parse_addr)]
    pub metrics_addr: Option<SocketAddr>,
    /// Rotate agent.log when it would grow past this size (e.g. 10MiB,
    /// 500k, 1048576); agent.log.1 to .3 are kept.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub log_max_size: Option<u64>,
    /// A tag of this member, KEY=VALUE (repeatable): every member learns
    /// it, `rumor members` shows it and filters by it. At most 512 bytes in
    /// all (each tag counts 3 bytes besides its key and value).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tag: Vec<(String, String)>,
    /// Where events.jsonl and agent.log go
    /// [default: $XDG_STATE_HOME/rumor/IP-PORT or ~/.local/state/rumor/IP-PORT].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Failure detector: gossip, swim, phi, or a registered name [default: gossip].
    #[arg(long, value_name = "NAME")]
    pub detector: Option<String>,
    /// Receiver-side drop probability for incoming datagrams, 0 to 1 (fault injection).
    #[arg(long, value_name = "P")]
    pub drop_rate: Option<f64>,
    /// Files dgrep may search on this agent (glob; repeatable)
    /// [default: this agent's own logs].
    #[arg(long = "grep-path", value_name = "GLOB")]
    pub grep_path: Vec<String>,
    /// TOML config file: every flag as a key (bind, advertise, join,
    /// data_dir, detector, drop_rate, grep_path, keyring, cluster_label,
    /// join_timeout, udp_recv_buffer, metrics_addr, log_max_size, quiet),
    /// the tags in a `[tags]` table, the core's knobs in a
    /// `[timing]` section, a detector's own in `[detectors.NAME]`; flags
    /// override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the configuration (file and flags), print what the agent would
    /// run with, and exit.
    #[arg(long)]
    pub check_config: bool,
    /// The cluster's keyring: one base64 32-byte key per line (`rumor
    /// keygen`), the first the primary, used to seal; every key opens. Every
    /// datagram and TCP frame is then encrypted and authenticated
    /// (AES-256-GCM where the CPU has AES instructions, XChaCha20-Poly1305
    /// elsewhere; both are opened) and nothing else is accepted. The file must not
    /// be readable by group or others. Without it the agent runs in the
    /// clear [env: RUMOR_KEYRING].
    #[arg(long, value_name = "FILE", env = "RUMOR_KEYRING")]
    pub keyring: Option<PathBuf>,
    /// The cluster's name, bound into every sealed packet so that two
    /// clusters sharing a key do not mix (with --keyring) [default: rumor].
    #[arg(long, value_name = "NAME")]
    pub cluster_label: Option<String>,
    /// Heartbeat interval (gossip, phi), e.g. 200ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub heartbeat: Option<Duration>,
    /// Time without a heartbeat before a member is suspected (gossip).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub t_fail: Option<Duration>,
    /// Time a suspected member has to refute before it is declared failed.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub t_suspect: Option<Duration>,
    /// Time a failed or departed member stays listed before removal.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub t_delete: Option<Duration>,
    /// How long a new agent keeps trying the introducers before giving up
    /// [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub join_timeout: Option<Duration>,
    /// UDP receive buffer to ask the kernel for, in bytes (capped by
    /// net.core.rmem_max) [default: 4 MiB].
    #[arg(long, value_name = "BYTES")]
    pub udp_recv_buffer: Option<usize>,
    /// Do not copy log lines to standard error (agent.log still gets them).
    #[arg(long, short)]
    pub quiet: bool,
}

/// How a client command reaches a keyed cluster.
#[derive(Debug, Args, Clone)]
pub struct ClientKeys {
    /// The cluster's keyring, when it has one: requests are sealed under
    /// its primary key and answers opened with any of its keys
    /// [env: RUMOR_KEYRING].
    #[arg(long, global = true, value_name = "FILE", env = "RUMOR_KEYRING")]
    pub keyring: Option<PathBuf>,
    /// The cluster's name (with --keyring).
    #[arg(long, global = true, value_name = "NAME", default_value = rumor_seal::DEFAULT_LABEL)]
    pub cluster_label: String,
}

/// `rumor keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: KeysAction,
    /// The agent to ask; it passes the change on to every live member.
    #[arg(long, global = true, value_name = "IP:PORT", default_value = DEFAULT_AGENT, value_parser = parse_addr)]
    pub agent: SocketAddr,
    /// Keys of the cluster (required: a keyring is what is being changed).
    #[command(flatten)]
    pub keys: ClientKeys,
    /// How long to wait for every member's answer.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, default_value = "15s")]
    pub timeout: Duration,
}

/// `rumor keys` actions.
#[derive(Debug, Subcommand, Clone)]
pub enum KeysAction {
    /// Every key in use, with how many members hold it and use it as primary.
    List,
    /// Add KEY (base64) to every member's keyring: it opens, but does not seal yet.
    Install {
        /// The key, as `rumor keygen` prints it.
        key: String,
    },
    /// Make KEY, installed everywhere, the primary: every member seals with it.
    Use {
        /// The key.
        key: String,
    },
    /// Remove KEY from every member's keyring (refused while it is the primary).
    Remove {
        /// The key.
        key: String,
    },
}

/// `rumor leave`.
#[derive(Debug, Args)]
pub struct LeaveArgs {
    /// The agent to ask (it must run on this host).
    #[arg(long, value_name = "IP:PORT", default_value = DEFAULT_AGENT, value_parser = parse_addr)]
    pub agent: SocketAddr,
    /// Keys of a keyed cluster.
    #[command(flatten)]
    pub keys: ClientKeys,
    /// How long to wait for the agent to acknowledge.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
    pub timeout: Duration,
}

/// `rumor demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Nodes in the demo cluster (2 to 50).
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Port every node listens on; node i gets 127.0.0.(10+i).
    #[arg(long, default_value_t = 7400)]
    pub port: u16,
    /// Failure detector the nodes run.
    #[arg(long, default_value = "gossip")]
    pub detector: String,
    /// Receiver-side drop probability on every node.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Keep the nodes' data (events.jsonl, agent.log) in this directory
    /// instead of a temporary one removed at exit (it must be empty or
    /// missing, unless --force).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// With --dir: use the directory even if it is not empty (earlier runs'
    /// node directories are emptied first).
    #[arg(long, requires = "dir")]
    pub force: bool,
}

/// `rumor bench-detect`.
#[derive(Debug, Args)]
pub struct BenchDetectArgs {
    /// Agents in the cluster.
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Crashes to measure, one at a time; each victim is restarted (a new version) afterwards.
    #[arg(long, default_value_t = 20)]
    pub crashes: usize,
    /// Receiver-side drop probability on every agent.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Failure detector.
    #[arg(long, default_value = "gossip")]
    pub detector: String,
    /// A config file every agent runs with (its `[timing]` section sets the
    /// core's knobs: a point of the detection-per-byte frontier).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How long the formed cluster's traffic is measured before the first
    /// crash (bytes and datagrams each agent sends per second).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub traffic_window: Duration,
    /// Port every agent listens on; agent i gets 127.0.NET.(1+i), NET from `--net`.
    #[arg(long, default_value_t = 7500)]
    pub port: u16,
    /// Third octet of the agents' loopback addresses.
    #[arg(long, default_value_t = 200)]
    pub net: u8,
    /// Keep the agents' data in this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print one JSON object with every measurement instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `rumor bench-resources`.
#[derive(Debug, Args)]
pub struct BenchResourcesArgs {
    /// Agents in the cluster.
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// How long to sample after the cluster formed.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub duration: Duration,
    /// Receiver-side drop probability on every agent.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Failure detector.
    #[arg(long, default_value = "gossip")]
    pub detector: String,
    /// Port every agent listens on.
    #[arg(long, default_value_t = 7600)]
    pub port: u16,
    /// Third octet of the agents' loopback addresses.
    #[arg(long, default_value_t = 201)]
    pub net: u8,
    /// Keep the agents' data in this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `rumor bench-scale`.
#[derive(Debug, Args)]
pub struct BenchScaleArgs {
    /// Agents.
    #[arg(long, default_value_t = 300)]
    pub nodes: usize,
    /// Failure detector.
    #[arg(long, default_value = "swim")]
    pub detector: String,
    /// Agents SIGKILLed at once after the idle sample.
    #[arg(long, default_value_t = 3)]
    pub kill: usize,
    /// The whole run after formation, watched for false positives.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m")]
    pub duration: Duration,
    /// How long idle CPU and memory are sampled.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub idle_sample: Duration,
    /// A config file every agent runs with (its `[timing]` section sets the
    /// core's knobs, e.g. a longer `probe_interval`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Port every agent listens on.
    #[arg(long, default_value_t = 7800)]
    pub port: u16,
    /// Third octet of the agents' loopback addresses (and the next one past 250 agents).
    #[arg(long, default_value_t = 60)]
    pub net: u8,
    /// Keep the agents' data in this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print one JSON object with the figures at the end.
    #[arg(long)]
    pub json: bool,
}

/// `rumor bench-flood`.
#[derive(Debug, Args)]
pub struct BenchFloodArgs {
    /// Agents in the cluster.
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Bad datagrams in all (random, and mutated copies of captured ones).
    #[arg(long, default_value_t = 1_000_000)]
    pub datagrams: u64,
    /// Bad TCP connections in all (huge prefixes, random bytes, half-open,
    /// slowloris, silent).
    #[arg(long, default_value_t = 10_000)]
    pub connections: u64,
    /// Run the cluster with a keyring (sealed traffic).
    #[arg(long)]
    pub keyed: bool,
    /// Port every agent listens on.
    #[arg(long, default_value_t = 7700)]
    pub port: u16,
    /// Third octet of the agents' loopback addresses.
    #[arg(long, default_value_t = 202)]
    pub net: u8,
    /// Seed of the generators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the agents' data in this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Parses `IP:PORT`, saying what is wrong in one line.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("bad address {s:?}: expected IP:PORT, e.g. 127.0.0.1:3000"))
}

/// Parses `IP:PORT` or `HOST:PORT` (not looked up yet), saying what is
/// wrong in one line.
pub fn parse_host_port(s: &str) -> Result<String, String> {
    crate::resolve::check_host_port(s).map_err(|why| format!("bad address {s:?}: {why}"))?;
    Ok(s.to_string())
}

/// Parses a size in bytes: a number, optionally with k, M, G (powers of
/// 1024; `KiB`, `MiB`, `GiB`, `kB`, `MB`, `GB` read alike).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("bad size {s:?}: expected bytes, e.g. 1048576, 500k or 10MiB");
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    match n.checked_mul(factor) {
        Some(0) | None => Err(bad()),
        Some(bytes) => Ok(bytes),
    }
}

/// Parses a tag, `KEY=VALUE` (split at the first `=`; the value may be
/// empty), saying what is wrong in one line.
pub fn parse_tag(s: &str) -> Result<(String, String), String> {
    let bad = |why: &str| format!("bad tag {s:?}: {why} (expected KEY=VALUE, e.g. role=web)");
    let (key, value) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
    if key.is_empty() {
        return Err(bad("empty key"));
    }
    if key.len() > rumor_wire::METADATA_KEY_LIMIT {
        return Err(bad("a key of more than 255 bytes"));
    }
    if s.chars().any(char::is_control) {
        return Err(bad("a control character"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Parses a humantime duration (`1.5s`, `250ms`), saying what is wrong in one line.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("bad duration {s:?}: {e} (expected e.g. 250ms or 1.5s)"))
}

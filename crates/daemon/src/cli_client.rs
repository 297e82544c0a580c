//! The command lines of the commands that ask a running agent: `members`,
//! `monitor`, `info`, `join`, `force-leave`, `why`, `broadcast`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::cli::{
    ClientKeys, DEFAULT_AGENT, parse_addr, parse_duration, parse_host_port, parse_tag,
};

/// The agent a command asks, and how.
#[derive(Debug, Args, Clone)]
pub struct AgentTarget {
    /// The agent to ask (directly, or through a tunnel or forwarder that
    /// leads to it).
    #[arg(long, value_name = "IP:PORT", default_value = DEFAULT_AGENT, value_parser = parse_addr)]
    pub agent: SocketAddr,
    /// Keys of a keyed cluster.
    #[command(flatten)]
    pub keys: ClientKeys,
    /// How long to wait for the answer.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
    pub timeout: Duration,
}

/// How a command prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people (a table where there is one).
    #[value(alias = "text")]
    Table,
    /// JSON for programs.
    Json,
}

/// A member state, as `--status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// Alive.
    Alive,
    /// Suspected of having failed.
    #[value(alias = "suspect")]
    Suspected,
    /// Declared failed.
    Failed,
    /// Left gracefully (or forced out).
    Left,
}

/// `rumor members`.
#[derive(Debug, Args)]
pub struct MembersArgs {
    /// The agent.
    #[command(flatten)]
    pub target: AgentTarget,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Same as --format json (an array of {node, state, incarnation, tags}).
    #[arg(long)]
    pub json: bool,
    /// Only members in these states (repeatable, or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub status: Vec<Status>,
    /// Only members whose `IP:PORT#VERSION` matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub name: Option<String>,
    /// Only members with this tag, KEY=VALUE (repeatable: every one).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tag: Vec<(String, String)>,
}

/// `rumor monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The agent.
    #[command(flatten)]
    pub target: AgentTarget,
    /// Only events of these kinds: joined, suspected, alive, failed, left,
    /// removed (repeatable, or comma-separated).
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Only events about members whose `IP:PORT#VERSION` contains this
    /// (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub member: Vec<String>,
    /// First print the events of this recent past: a duration (10m) or a
    /// time (2026-11-26T02:00:00Z).
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Output format: table prints one line per event, json the event
    /// log's own lines (docs/events.md).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `rumor info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The agent.
    #[command(flatten)]
    pub target: AgentTarget,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `rumor join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// Members of the other cluster (IP:PORT or HOST:PORT), asked in order.
    #[arg(required = true, value_name = "ADDR", value_parser = parse_host_port)]
    pub addrs: Vec<String>,
    /// The agent (it must run on this host, or be reached through a tunnel).
    #[command(flatten)]
    pub target: AgentTarget,
    /// How long to wait for the merge to show in the agent's member list.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub wait: Duration,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `rumor force-leave`.
#[derive(Debug, Args)]
pub struct ForceLeaveArgs {
    /// The failed member: IP:PORT#VERSION, or IP:PORT for the one listed there.
    #[arg(value_name = "NODE")]
    pub node: String,
    /// The agent (it must run on this host, or be reached through a tunnel).
    #[command(flatten)]
    pub target: AgentTarget,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `rumor why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The member: IP:PORT#VERSION, or IP:PORT for the one listed there.
    #[arg(value_name = "MEMBER")]
    pub member: String,
    /// The agent whose view to explain.
    #[command(flatten)]
    pub target: AgentTarget,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `rumor broadcast`.
#[derive(Debug, Args)]
pub struct BroadcastArgs {
    /// The message: text, at most 512 bytes.
    #[arg(value_name = "TEXT")]
    pub text: String,
    /// The agent (it must run on this host, or be reached through a tunnel).
    #[command(flatten)]
    pub target: AgentTarget,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

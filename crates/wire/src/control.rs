//! Requests to one agent from its operator's tools, and their answers:
//! member queries, a graceful leave, keyring changes, a live event stream,
//! the agent's information, a merge with another cluster, forcing a failed
//! member out, and a member's history. They travel over TCP only, each
//! answered on the connection it came on.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{EventRecord, Incarnation, MemberState, Metadata, NodeId};

/// What a `rumor monitor` stream carries: the events whose kind and member
/// pass both filters (an empty filter passes everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MonitorRequest {
    /// Event kinds (`joined`, `suspected`, ...) to pass.
    pub kinds: Vec<String>,
    /// Members to pass: an event passes when its member's `IP:PORT#VERSION`
    /// contains one of these.
    pub members: Vec<String>,
    /// First replay the agent's event log from this Unix time (ms) on.
    #[serde(default)]
    pub since_ms: Option<u64>,
}

/// An agent's answer to [`Control::InfoQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentInfo {
    /// The answering agent.
    pub node: NodeId,
    /// Its program version.
    pub version: String,
    /// Its failure detector.
    pub detector: String,
    /// Whether it is a member of a cluster (false while a join waits).
    pub joined: bool,
    /// The configuration in force, as a config file (TOML) that gives it.
    pub config: String,
    /// Counters and gauges by name (members by state, datagrams, drops,
    /// suspicions, probes...).
    pub counters: Vec<(String, u64)>,
    /// Its own metadata (tags).
    #[serde(default)]
    pub metadata: Metadata,
}

impl AgentInfo {
    /// The answer of `node`, running program `version` with `detector`;
    /// no configuration text and no counters yet.
    pub fn new(node: NodeId, version: String, detector: String, joined: bool) -> AgentInfo {
        AgentInfo {
            node,
            version,
            detector,
            joined,
            config: String::new(),
            counters: Vec::new(),
            metadata: Metadata::default(),
        }
    }
}

/// One step of a member's history as an agent saw it (`rumor why`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyStep {
    /// Unix time in milliseconds.
    pub ts_ms: u64,
    /// What happened: `probe-unanswered`, `suspected`, `confirmed`,
    /// `refuted`, `last-chance`, `failed`, `left`.
    pub what: String,
    /// The member's incarnation then.
    pub incarnation: u64,
    /// The agent's local health score then (0 is healthy).
    pub local_health: u32,
    /// Who it came from: `self` for the agent's own detector or timer, an
    /// `IP:PORT` for news from another member.
    pub by: Option<String>,
    /// The particulars, in words.
    pub detail: String,
}

/// An agent's answer to [`Control::WhyQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyAnswer {
    /// The answering agent.
    pub node: NodeId,
    /// The member asked about, as listed now (absent once removed).
    pub member: Option<MemberInfo>,
    /// Its recent history, oldest first.
    pub steps: Vec<WhyStep>,
}

/// A change to a cluster's keyring, or a request to list it. Keys travel
/// as base64 text, always inside a sealed frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyOp {
    /// List the keys.
    List,
    /// Add a key (it opens; the primary still seals).
    Install(String),
    /// Make an installed key the primary (it seals from now on).
    Use(String),
    /// Remove a key that is not the primary.
    Remove(String),
}

/// One member's answer to a [`Control::KeysRequest`], or, with `fan_out`,
/// the asked agent's summary of every member's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysAnswer {
    /// The agent that answered.
    pub node: NodeId,
    /// Members asked (1 without fan-out).
    pub asked: u32,
    /// Members that acknowledged (applied the change, or listed).
    pub acked: u32,
    /// Per key (base64): members holding it, and members using it as
    /// their primary.
    pub keys: Vec<(String, u32, u32)>,
    /// What went wrong, one line per member that refused or did not answer.
    pub errors: Vec<String>,
}

/// One member as reported to `rumor members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemberInfo {
    /// The member.
    pub node: NodeId,
    /// Its state as the answering agent sees it.
    pub state: MemberState,
    /// Its incarnation as the answering agent sees it.
    pub incarnation: Incarnation,
    /// Its metadata as the answering agent knows it (empty if none).
    #[serde(default)]
    pub metadata: Metadata,
}

impl MemberInfo {
    /// `node` in `state` at `incarnation`, without metadata.
    pub fn new(node: NodeId, state: MemberState, incarnation: Incarnation) -> MemberInfo {
        MemberInfo {
            node,
            state,
            incarnation,
            metadata: Metadata::new(),
        }
    }

    /// The same member with `metadata`.
    pub fn with_metadata(mut self, metadata: Metadata) -> MemberInfo {
        self.metadata = metadata;
        self
    }
}

/// A control request or its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Control {
    /// Ask an agent for its member list.
    MemberQuery,
    /// An agent's answer to [`Control::MemberQuery`].
    MemberList {
        /// The answering agent.
        node: NodeId,
        /// Every member it knows, itself included.
        members: Vec<MemberInfo>,
    },
    /// Ask an agent to leave the cluster gracefully (accepted from its own host only).
    LeaveCommand,
    /// Ask an agent to change its cluster keyring, or list it; with `fan_out`,
    /// the agent asks every live member in turn and reports who acknowledged.
    KeysRequest {
        /// What to do.
        op: KeyOp,
        /// Whether the receiver passes the request on to every live member.
        fan_out: bool,
    },
    /// The answer to [`Control::KeysRequest`].
    KeysAnswer(KeysAnswer),
    /// A refusal or failure answer to any request over TCP (control, dgrep).
    Error {
        /// What went wrong, in words.
        reason: String,
    },
    /// Stream events as they happen, on this connection, until it closes.
    Monitor(MonitorRequest),
    /// Events of a [`Control::Monitor`] stream (none: a keep-alive).
    Events(Vec<EventRecord>),
    /// Ask an agent for its version, configuration and counters.
    InfoQuery,
    /// The answer to [`Control::InfoQuery`].
    Info(AgentInfo),
    /// Ask a running agent to merge with the cluster at these addresses
    /// (accepted from its own host only).
    JoinCommand {
        /// Members of the other cluster, asked in order.
        addrs: Vec<SocketAddr>,
    },
    /// Ask an agent to mark a failed member left at once; the news spreads
    /// (accepted from its own host only).
    ForceLeave {
        /// The member: `IP:PORT#VERSION`, or `IP:PORT` for the one listed there.
        member: String,
    },
    /// A command carried out: what was done, in words.
    Done {
        /// The answering agent.
        node: NodeId,
        /// What was done.
        message: String,
    },
    /// Ask an agent for a member's recent history (`rumor why`).
    WhyQuery {
        /// The member: `IP:PORT#VERSION`, or `IP:PORT`.
        member: String,
    },
    /// The answer to [`Control::WhyQuery`].
    Why(WhyAnswer),
    /// Ask an agent to send a user broadcast to every member of its
    /// cluster (accepted from its own host only); answered with
    /// [`Control::Done`].
    Broadcast {
        /// The bytes, at most [`crate::BROADCAST_LIMIT`].
        #[serde(with = "serde_bytes")]
        payload: Vec<u8>,
    },
}

impl Control {
    /// A short name of the kind, for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Control::MemberQuery => "member_query",
            Control::MemberList { .. } => "member_list",
            Control::LeaveCommand => "leave_command",
            Control::KeysRequest { .. } => "keys_request",
            Control::KeysAnswer(_) => "keys_answer",
            Control::Error { .. } => "error",
            Control::Monitor(_) => "monitor_request",
            Control::Events(_) => "events",
            Control::InfoQuery => "info_query",
            Control::Info(_) => "info",
            Control::JoinCommand { .. } => "join_command",
            Control::ForceLeave { .. } => "force_leave",
            Control::Done { .. } => "done",
            Control::WhyQuery { .. } => "why_query",
            Control::Why(_) => "why",
            Control::Broadcast { .. } => "broadcast",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Envelope, Message, decode, encode_to_vec};

    #[test]
    fn new_requests_and_answers_round_trip() {
        let node: NodeId = "127.0.0.1:3000#1".parse().unwrap();
        let record = EventRecord {
            ts_ms: 5,
            observer: node,
            event: "joined".into(),
            member: node,
            incarnation: 0,
            detector: "swim".into(),
        };
        for control in [
            Control::Monitor(MonitorRequest {
                kinds: vec!["failed".into()],
                members: vec!["127.0.0.2".into()],
                since_ms: Some(7),
            }),
            Control::Events(vec![record]),
            Control::InfoQuery,
            Control::JoinCommand {
                addrs: vec!["127.0.0.9:3000".parse().unwrap()],
            },
            Control::ForceLeave {
                member: "127.0.0.2:3000".into(),
            },
            Control::Broadcast {
                payload: b"deploy 42".to_vec(),
            },
            Control::MemberList {
                node,
                members: vec![
                    MemberInfo::new(node, MemberState::Alive, Incarnation(2))
                        .with_metadata(Metadata::from_pairs([("role", "web")]).unwrap()),
                ],
            },
            Control::Why(WhyAnswer {
                node,
                member: None,
                steps: vec![WhyStep {
                    ts_ms: 1,
                    what: "suspected".into(),
                    incarnation: 0,
                    local_health: 0,
                    by: Some("self".into()),
                    detail: String::new(),
                }],
            }),
        ] {
            let envelope = Envelope::new(node.addr, Message::Control(control));
            let mut bytes = Vec::new();
            encode_to_vec(&envelope, &mut bytes, 1 << 20).unwrap();
            assert_eq!(decode(&bytes).unwrap(), envelope);
        }
    }
}

//! Requests to one agent from its operator's tools, and their answers:
//! member queries, a graceful leave, keyring changes. They travel over TCP
//! only, each answered on the connection it came on.

use serde::{Deserialize, Serialize};

use crate::{Incarnation, MemberState, NodeId};

/// A change to a cluster's keyring, or a request to list it. Keys travel
/// as base64 text, always inside a sealed frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct MemberInfo {
    /// The member.
    pub node: NodeId,
    /// Its state as the answering agent sees it.
    pub state: MemberState,
    /// Its incarnation as the answering agent sees it.
    pub incarnation: Incarnation,
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
        }
    }
}

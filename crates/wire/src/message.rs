//! The message union every rumor process speaks, and the envelope around it.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{Incarnation, NodeId};

/// The protocol version this build speaks; carried in every [`Envelope`].
pub const PROTOCOL_VERSION: u8 = 3;

/// What travels in one datagram or one TCP frame.
///
/// There is no socket or connection in a message: `from` is the sender's
/// listening address, and a reply is a new message sent there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's protocol version ([`PROTOCOL_VERSION`] for this build).
    pub protocol: u8,
    /// Where the sender listens; replies go here.
    #[serde(with = "crate::compact::addr")]
    pub from: SocketAddr,
    /// The message itself.
    pub body: Message,
}

impl Envelope {
    /// An envelope of this build's protocol version.
    pub fn new(from: SocketAddr, body: Message) -> Envelope {
        Envelope {
            protocol: PROTOCOL_VERSION,
            from,
            body,
        }
    }
}

/// A member's state as one node sees it, as disseminated on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberState {
    /// Believed alive.
    Alive,
    /// Suspected of having failed; it may refute with a higher incarnation.
    Suspect,
    /// Declared failed. Final for this version of the member.
    Failed,
    /// Left voluntarily. Final for this version of the member.
    Left,
}

/// One member's state and incarnation: the unit of dissemination, and one
/// entry of a member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberUpdate {
    /// The member this is about.
    pub node: NodeId,
    /// Its state as the sender sees it.
    pub state: MemberState,
    /// The member's incarnation the state refers to.
    pub incarnation: Incarnation,
}

/// grep options a dgrep request carries. A request names a pattern and flags,
/// never a path or a command: each agent searches only the files it was
/// configured to serve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrepFlags {
    /// `-i`: case-insensitive.
    pub ignore_case: bool,
    /// `-v`: select non-matching lines.
    pub invert: bool,
    /// `-c`: count matching lines per file instead of printing them.
    pub count: bool,
    /// `-n`: report line numbers.
    pub line_number: bool,
    /// `-F`: patterns are fixed strings, not regular expressions.
    pub fixed_strings: bool,
    /// `-w`: match whole words only.
    pub word: bool,
    /// `-x`: match whole lines only.
    pub line: bool,
    /// `-m NUM`: stop after NUM selected lines per file.
    pub max_count: Option<u64>,
    /// `-B NUM`, `-A NUM` (`-C NUM` for both): lines of context to send
    /// before and after each selected line, as `(before, after)`; ignored
    /// with `count`. Context lines travel as result lines like the selected
    /// ones (the client tells them apart by matching them itself). After
    /// `max_count` selected lines, the lines that follow within `after` are
    /// context, whether they match or not, as in grep.
    ///
    /// Added after the first release: absent (`None`) it is not encoded at
    /// all, so a request without context reads the same to agents built
    /// before the field, and a request from an older client reads as `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<(u64, u64)>,
}

/// A dgrep query sent to one agent. The agent streams its results back on
/// the connection the query came on, each tagged with `query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DgrepRequest {
    /// The client's identifier for this query; echoed in every reply.
    pub query: u64,
    /// One or more patterns (`-e PATTERN`...); a line matches if any does.
    pub patterns: Vec<String>,
    /// grep options.
    pub flags: GrepFlags,
}

/// One selected line of a dgrep result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrepLine {
    /// The file name as the agent reports it (relative to its data dir where possible).
    pub file: String,
    /// 1-based line number, when `-n` was asked for.
    pub line_number: Option<u64>,
    /// The line without its terminator. Bytes, since logs need not be UTF-8.
    #[serde(with = "serde_bytes")]
    pub text: Vec<u8>,
}

/// A batch of result lines from one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DgrepChunk {
    /// The query this answers.
    pub query: u64,
    /// The agent that searched.
    pub node: NodeId,
    /// Selected lines, in file order.
    pub lines: Vec<GrepLine>,
}

/// Per-file selected-line count, reported at the end of a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCount {
    /// The file name as the agent reports it.
    pub file: String,
    /// Selected lines in it.
    pub count: u64,
}

/// The last reply of one agent to a dgrep query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DgrepDone {
    /// The query this answers.
    pub query: u64,
    /// The agent that searched.
    pub node: NodeId,
    /// Selected lines per file searched.
    pub counts: Vec<FileCount>,
    /// Bytes searched.
    pub bytes_searched: u64,
    /// Time the search took on the agent, in milliseconds.
    pub elapsed_ms: u64,
    /// Why the agent could not search (bad pattern, oversized request...), if so.
    pub error: Option<String>,
}

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

/// One member's answer to a [`Message::KeysRequest`], or, with `fan_out`,
/// the asked agent's summary of every member's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysAnswer {
    /// The agent that answered.
    pub node: crate::NodeId,
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

/// What a refused joiner should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinRetry {
    /// Ask another member: this one is leaving, rejoining itself, full, or
    /// cannot admit the joiner at its address.
    Elsewhere,
    /// Join again under a version newer than this one: a version of the
    /// joiner's address at least this new is already gone.
    NewerThan(crate::Version),
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

/// Every message kind rumor speaks. Detector protocols travel inside
/// [`Message::Detector`] as opaque bytes, so a plugin carries its own messages
/// without this enum knowing them.
///
/// A kind this build does not know (sent by a newer peer) fails to decode
/// with [`crate::WireError::UnknownKind`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A newcomer asks an introducer to join, naming itself. Travels over
    /// a reliable stream; the answer comes back on the same stream.
    JoinRequest {
        /// The newcomer's identity (listening address and join version).
        node: NodeId,
        /// A random number the answer must echo: the joiner accepts only the
        /// answer to the request it is waiting for.
        nonce: u64,
    },
    /// The introducer admits the newcomer and hands it the member list.
    JoinResponse {
        /// The introducer that answered.
        introducer: NodeId,
        /// The nonce of the request this answers.
        nonce: u64,
        /// Every member the introducer knows, with state and incarnation.
        #[serde(with = "crate::compact::updates")]
        members: Vec<MemberUpdate>,
    },
    /// The introducer refuses the join (for instance, a version not newer
    /// than one already declared failed).
    JoinRefused {
        /// The nonce of the request this answers.
        nonce: u64,
        /// Why, in words.
        reason: String,
        /// What the joiner should do next.
        retry: JoinRetry,
    },
    /// The receiver is gone in the sender's view (declared failed, or
    /// superseded by a newer version of its address): the answer to any
    /// message from a member the sender holds dead. The receiver either
    /// rejoins under a new version or, when its own view is the larger
    /// one, answers with a `Gone` of its own so that the sender rejoins
    /// instead (how two sides of a healed partition merge; see the
    /// membership crate's protocol notes).
    Gone {
        /// The sender's identity.
        sender: NodeId,
        /// The receiver as the sender holds it.
        member: MemberUpdate,
        /// Live members in the sender's view, itself included.
        live: u32,
        /// Whether this answers another `Gone` (it then gets none back).
        reply: bool,
    },
    /// A member announces its voluntary departure.
    Leave {
        /// The member leaving.
        node: NodeId,
        /// Its incarnation at the time of leaving.
        incarnation: Incarnation,
    },
    /// Membership changes disseminated by gossip or piggybacking.
    Updates {
        /// The sender's identity.
        sender: NodeId,
        /// The changes, newest first.
        #[serde(with = "crate::compact::updates")]
        updates: Vec<MemberUpdate>,
    },
    /// A failure detector's own protocol message, opaque to everyone else.
    Detector {
        /// The registered name of the detector that understands `payload`.
        detector: String,
        /// The sender's identity.
        sender: NodeId,
        /// The detector's encoded message.
        #[serde(with = "serde_bytes")]
        payload: Vec<u8>,
        /// Membership changes the sender's core piggybacked in the room the
        /// payload left (detectors never see them).
        #[serde(with = "crate::compact::updates")]
        updates: Vec<MemberUpdate>,
    },
    /// A distributed grep query.
    DgrepRequest(DgrepRequest),
    /// A batch of dgrep result lines.
    DgrepChunk(DgrepChunk),
    /// The end of one agent's dgrep answer.
    DgrepDone(DgrepDone),
    /// Ask an agent for its member list.
    MemberQuery,
    /// An agent's answer to [`Message::MemberQuery`].
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
    /// The answer to [`Message::KeysRequest`].
    KeysAnswer(KeysAnswer),
    /// A generic refusal or failure answer on a TCP exchange.
    Error {
        /// What went wrong, in words.
        reason: String,
    },
    /// Anti-entropy: a summary of part of the sender's member list. The
    /// receiver compares it with its own and sends back, as
    /// [`Message::Updates`], its members of every bucket that differs, and,
    /// unless this digest is itself a reply, its own digest of the same
    /// buckets (a push-pull: both sides repair in one exchange).
    Digest {
        /// The sender's identity.
        sender: NodeId,
        /// Whether this digest answers another one (then it gets updates
        /// back, never a digest).
        reply: bool,
        /// How many buckets the list is split into by address hash (a power
        /// of two); see the membership crate's protocol notes.
        buckets: u32,
        /// The first bucket summarised.
        first: u32,
        /// One 4-byte big-endian summary per bucket, from `first` on.
        #[serde(with = "serde_bytes")]
        summaries: Vec<u8>,
    },
}

impl Message {
    /// A short name of the kind, for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::JoinRequest { .. } => "join_request",
            Message::JoinResponse { .. } => "join_response",
            Message::JoinRefused { .. } => "join_refused",
            Message::Leave { .. } => "leave",
            Message::Updates { .. } => "updates",
            Message::Detector { .. } => "detector",
            Message::DgrepRequest(_) => "dgrep_request",
            Message::DgrepChunk(_) => "dgrep_chunk",
            Message::DgrepDone(_) => "dgrep_done",
            Message::MemberQuery => "member_query",
            Message::MemberList { .. } => "member_list",
            Message::LeaveCommand => "leave_command",
            Message::KeysRequest { .. } => "keys_request",
            Message::KeysAnswer(_) => "keys_answer",
            Message::Error { .. } => "error",
            Message::Digest { .. } => "digest",
            Message::Gone { .. } => "gone",
        }
    }
}

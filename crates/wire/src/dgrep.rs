//! Distributed grep: a query to one agent and the stream of its answers.
//! A request names patterns and flags, never a path or a command.

use serde::{Deserialize, Serialize};

use crate::NodeId;

/// grep options a dgrep request carries. A request names a pattern and flags,
/// never a path or a command: each agent searches only the files it was
/// configured to serve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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

impl DgrepDone {
    /// The end of `node`'s answer to `query`, before any count: no file,
    /// nothing searched, no error. Set the fields that apply.
    pub fn new(query: u64, node: NodeId) -> DgrepDone {
        DgrepDone {
            query,
            node,
            counts: Vec::new(),
            bytes_searched: 0,
            elapsed_ms: 0,
            error: None,
        }
    }
}

/// A dgrep query or one of its answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Dgrep {
    /// A distributed grep query.
    Request(DgrepRequest),
    /// A batch of result lines.
    Chunk(DgrepChunk),
    /// The end of one agent's answer.
    Done(DgrepDone),
}

impl Dgrep {
    /// A short name of the kind, for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Dgrep::Request(_) => "dgrep_request",
            Dgrep::Chunk(_) => "dgrep_chunk",
            Dgrep::Done(_) => "dgrep_done",
        }
    }
}

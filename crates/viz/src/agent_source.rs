//! Fetching every member's event log from a running cluster, through dgrep.
//!
//! Asks one agent for its member list (`MemberQuery`), then sends every live
//! member a dgrep request for the fixed string `event` with line numbers,
//! and keeps the lines that come from files named `events.jsonl`. Replies
//! arrive as new connections to a listener of our own (fire-and-forget, as
//! everywhere in rumor): `DgrepChunk` frames, then one `DgrepDone` per member.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rumor_wire::tcp::{ReplyListener, send};
use rumor_wire::{
    DEFAULT_MAX_FRAME, DgrepRequest, Envelope, GrepFlags, MemberState, Message, NodeId, read_frame,
};

use crate::input::EVENTS_FILE;
use crate::{LoadedEvents, VizError};

/// What a fetch brought back.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The events, merged by time, with malformed lines noted per member and file.
    pub loaded: LoadedEvents,
    /// Members that answered completely.
    pub answered: Vec<NodeId>,
    /// Members that could not be asked, or did not finish before the timeout, and why.
    pub missing: Vec<(NodeId, String)>,
}

enum Reply {
    Lines(NodeId, Vec<rumor_wire::GrepLine>),
    Done(NodeId, Option<String>),
}

/// The fixed string asked for: every line of an event log contains it.
pub const EVENT_PATTERN: &str = "event";

type LinesByFile = BTreeMap<(NodeId, String), Vec<(u64, Vec<u8>)>>;

fn absorb(
    reply: Reply,
    lines: &mut LinesByFile,
    waiting: &mut HashSet<NodeId>,
    fetched: &mut Fetched,
) {
    match reply {
        Reply::Lines(node, batch) => {
            for line in batch {
                if Path::new(&line.file)
                    .file_name()
                    .is_some_and(|f| f == EVENTS_FILE)
                {
                    let number = line.line_number.unwrap_or(0);
                    lines
                        .entry((node, line.file))
                        .or_default()
                        .push((number, line.text));
                }
            }
        }
        Reply::Done(node, error) => {
            if waiting.remove(&node) {
                match error {
                    Some(why) => fetched
                        .missing
                        .push((node, format!("search failed: {why}"))),
                    None => fetched.answered.push(node),
                }
            }
        }
    }
}

/// Fetches the event logs of every live member known to `agent`, waiting at
/// most `timeout` in all.
pub fn fetch_events(agent: SocketAddr, timeout: Duration) -> Result<Fetched, VizError> {
    let deadline = Instant::now() + timeout;
    let agent_error = |why: String| VizError::Agent { agent, why };
    let query = Envelope::new(agent, Message::MemberQuery);
    let answer = rumor_transport::request(agent, &query, None, timeout)
        .map_err(|e| agent_error(e.to_string()))?;
    let members = match answer.body {
        Message::MemberList { members, .. } => members,
        Message::Error { reason } => return Err(agent_error(reason)),
        other => {
            return Err(agent_error(format!(
                "answered {} to member_query",
                other.kind()
            )));
        }
    };
    let mut addresses = HashSet::new();
    let targets: Vec<NodeId> = members
        .iter()
        .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
        .map(|m| m.node)
        .filter(|node| addresses.insert(node.addr))
        .collect();

    let listener = ReplyListener::bind_toward(agent).map_err(|e| agent_error(e.to_string()))?;
    let query = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let body = Message::DgrepRequest(DgrepRequest {
        query,
        patterns: vec![EVENT_PATTERN.to_string()],
        flags: GrepFlags {
            fixed_strings: true,
            line_number: true,
            ..GrepFlags::default()
        },
    });
    let envelope = Envelope::new(listener.addr(), body);
    let mut fetched = Fetched::default();
    let mut waiting: HashSet<NodeId> = HashSet::new();
    for node in &targets {
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        match send(node.addr, &envelope, budget) {
            Ok(()) => {
                waiting.insert(*node);
            }
            Err(e) => fetched.missing.push((*node, format!("not asked: {e}"))),
        }
    }

    let mut lines = LinesByFile::new();
    let (tx, rx) = mpsc::channel::<Reply>();
    std::thread::scope(|scope| {
        while !waiting.is_empty() && Instant::now() < deadline {
            // Accept in short slices so finished readers are noticed promptly.
            let slice = (Instant::now() + Duration::from_millis(50)).min(deadline);
            if let Ok(Some(mut stream)) = listener.accept(slice) {
                let tx = tx.clone();
                scope.spawn(move || {
                    let mut buf = Vec::new();
                    // A broken or foreign frame ends this connection only.
                    while let Ok(Some(envelope)) =
                        read_frame(&mut stream, &mut buf, DEFAULT_MAX_FRAME)
                    {
                        let reply = match envelope.body {
                            Message::DgrepChunk(chunk) if chunk.query == query => {
                                Reply::Lines(chunk.node, chunk.lines)
                            }
                            Message::DgrepDone(done) if done.query == query => {
                                Reply::Done(done.node, done.error)
                            }
                            _ => continue,
                        };
                        if tx.send(reply).is_err() {
                            return;
                        }
                    }
                });
            }
            for reply in rx.try_iter() {
                absorb(reply, &mut lines, &mut waiting, &mut fetched);
            }
        }
        drop(tx);
    });
    // Readers have all finished: take what they sent after the last look.
    for reply in rx.try_iter() {
        absorb(reply, &mut lines, &mut waiting, &mut fetched);
    }
    for node in waiting {
        fetched
            .missing
            .push((node, "no complete answer before the timeout".into()));
    }
    for ((node, file), numbered) in &lines {
        let source = format!("{node}:{file}");
        fetched.loaded.add_log(
            &source,
            numbered.iter().map(|(n, text)| (*n, text.as_slice())),
        );
    }
    fetched.loaded.merge_by_time();
    fetched.answered.sort();
    fetched.missing.sort_by_key(|(node, _)| *node);
    Ok(fetched)
}

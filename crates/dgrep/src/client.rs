//! The asking side: find the live members, ask each one on a connection of
//! its own, and collect the answers streamed back on those connections until
//! every member answered or the time is up.
//!
//! No listener of the client's is involved: an answer can only go back to
//! whoever opened the connection, dgrep works through NAT or a tunnel, and
//! with a keyring (`--keyring`) every frame both ways is sealed.

use std::collections::HashSet;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rumor_seal::Sealer;
use rumor_wire::{
    Control, DgrepDone, DgrepRequest, Envelope, MemberState, Message, Metadata, NodeId,
};

use crate::keyring::explain;
use crate::member_answer::{Event, ask_member};
use crate::{Chunk, DgrepError};

/// The longest the client waits to hand the request to one member.
const SEND_TIMEOUT: Duration = Duration::from_secs(3);
/// Replies buffered between the connection readers and the caller; with
/// chunks of about 64 KiB this bounds the client's memory.
const QUEUE_DEPTH: usize = 32;

/// Asks `agent` for its member list (sealed under `sealer` when the cluster
/// is keyed) and returns the members worth asking: those it sees alive or
/// suspected.
pub fn live_members(
    agent: SocketAddr,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<Vec<NodeId>, DgrepError> {
    Ok(live_members_tagged(agent, sealer, timeout)?
        .into_iter()
        .map(|(m, _)| m)
        .collect())
}

/// As [`live_members`], each member with its tags (metadata) as `agent`
/// knows them, for `--members TAG=VALUE`.
pub fn live_members_tagged(
    agent: SocketAddr,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<Vec<(NodeId, Metadata)>, DgrepError> {
    let fail = |why: String| DgrepError::MemberList { agent, why };
    // The client listens nowhere; answers come back on the connection.
    let query = Envelope::new(agent, Control::MemberQuery);
    let reply = rumor_transport::request(agent, &query, sealer, timeout)
        .map_err(|e| fail(explain(&e, sealer.is_some())))?;
    match reply.body {
        Message::Control(Control::MemberList { members, .. }) => Ok(members
            .into_iter()
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .map(|m| (m.node, m.metadata))
            .collect()),
        Message::Control(Control::Error { reason }) => Err(fail(reason)),
        other => Err(fail(format!("unexpected {} reply", other.kind()))),
    }
}

/// One reply from one member, handed to the caller as it arrives.
#[derive(Debug)]
pub enum Reply {
    /// A batch of selected lines, read in place from the frame it came in.
    Lines(Chunk),
    /// The member's last word: counts, bytes, time, or an error.
    Done(DgrepDone),
}

/// What the caller of [`fan_out_with`] wants after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep collecting answers.
    Continue,
    /// Stop now (`dgrep -q` has its answer): the connections still open are
    /// shut, and the members not settled yet are listed as missing.
    Stop,
}

/// How a fan-out ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Members asked.
    pub asked: Vec<NodeId>,
    /// The final reply of every member that answered, in arrival order.
    pub answered: Vec<DgrepDone>,
    /// Members that could not be sent the request, with why.
    pub unreachable: Vec<(NodeId, String)>,
    /// Members whose answer stopped short or made no sense (the connection
    /// closed or broke before their `DgrepDone`, or carried something else
    /// than their answer), with why; what they sent before was handed on.
    pub broken: Vec<(NodeId, String)>,
    /// Members asked that did not finish answering in time.
    pub missing: Vec<NodeId>,
}

impl Outcome {
    /// True if every member asked answered.
    pub fn complete(&self) -> bool {
        self.unreachable.is_empty() && self.broken.is_empty() && self.missing.is_empty()
    }
}

/// Sends `request` to every member of `members`, each on a new connection
/// (sealed under `sealer` when the cluster is keyed), and hands every reply
/// read back on those connections to `on_reply` as it arrives, until each
/// member sent its [`DgrepDone`] or `timeout` passed.
///
/// Each member's connection is read on its own thread; the readers feed a
/// bounded queue, so a slow `on_reply` slows the members down rather than
/// filling memory. A frame over the maximum size, or that is not this
/// member's answer to this query, ends that member's connection and is
/// reported in [`Outcome::broken`]. An error from `on_reply` (a closed
/// stdout) stops the fan-out and is returned. Every reader has ended when
/// this returns.
pub fn fan_out(
    members: &[NodeId],
    request: &DgrepRequest,
    sealer: Option<&Sealer>,
    timeout: Duration,
    on_reply: &mut dyn FnMut(Reply) -> io::Result<()>,
) -> Result<Outcome, DgrepError> {
    fan_out_with(members, request, sealer, timeout, &mut |reply| {
        on_reply(reply).map(|()| Flow::Continue)
    })
}

/// [`fan_out`], where `on_reply` may also end the fan-out early
/// ([`Flow::Stop`]).
pub fn fan_out_with(
    members: &[NodeId],
    request: &DgrepRequest,
    sealer: Option<&Sealer>,
    timeout: Duration,
    on_reply: &mut dyn FnMut(Reply) -> io::Result<Flow>,
) -> Result<Outcome, DgrepError> {
    let deadline = Instant::now() + timeout;
    let mut outcome = Outcome {
        asked: members.to_vec(),
        ..Outcome::default()
    };
    let open = Connections::default();
    let (tx, rx) = sync_channel(QUEUE_DEPTH);
    let result = thread::scope(|scope| {
        for member in members {
            let (tx, open) = (tx.clone(), &open);
            scope.spawn(move || {
                ask_member(
                    *member,
                    request,
                    sealer,
                    timeout.min(SEND_TIMEOUT),
                    deadline,
                    &tx,
                    &|stream| open.add(stream),
                );
            });
        }
        drop(tx);
        let result = collect(&rx, &mut outcome, deadline, on_reply);
        // Readers still waiting (members missing, or the caller stopped)
        // end now rather than at the deadline.
        open.close_all();
        drop(rx);
        result
    });
    result?;
    let settled: HashSet<NodeId> = outcome
        .answered
        .iter()
        .map(|d| d.node)
        .chain(outcome.unreachable.iter().map(|u| u.0))
        .chain(outcome.broken.iter().map(|b| b.0))
        .collect();
    outcome.missing = members
        .iter()
        .filter(|m| !settled.contains(m))
        .copied()
        .collect();
    Ok(outcome)
}

/// The members' connections, so that the fan-out can end their readers.
#[derive(Default)]
struct Connections {
    /// Whether the fan-out ended, and clones of the connections open so far.
    state: Mutex<(bool, Vec<TcpStream>)>,
}

impl Connections {
    /// Registers a reader's connection; false if the fan-out already ended
    /// (the reader should stop).
    fn add(&self, stream: &TcpStream) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 {
            return false;
        }
        match stream.try_clone() {
            Ok(clone) => {
                state.1.push(clone);
                true
            }
            Err(_) => false,
        }
    }

    /// Shuts every registered connection down, which wakes a reader waiting
    /// on it, and refuses later ones.
    fn close_all(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = true;
        for stream in state.1.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Receives replies until every member is settled or the deadline passed.
fn collect(
    rx: &Receiver<Event>,
    outcome: &mut Outcome,
    deadline: Instant,
    on_reply: &mut dyn FnMut(Reply) -> io::Result<Flow>,
) -> io::Result<()> {
    // Members settled: answered, unreachable, or cut short.
    let mut done: HashSet<NodeId> = HashSet::new();
    while done.len() < outcome.asked.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let reply = match rx.recv_timeout(left) {
            Ok(Event::Reply(reply)) => reply,
            Ok(Event::Unreachable(node, why)) => {
                if done.insert(node) {
                    outcome.unreachable.push((node, why));
                }
                continue;
            }
            Ok(Event::Broken(node, why)) => {
                if done.insert(node) {
                    outcome.broken.push((node, why));
                }
                continue;
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        };
        match &reply {
            Reply::Lines(chunk) if done.contains(&chunk.node()) => continue,
            Reply::Done(end) if !done.insert(end.node) => continue,
            Reply::Done(end) => outcome.answered.push(end.clone()),
            Reply::Lines(_) => {}
        }
        if on_reply(reply)? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

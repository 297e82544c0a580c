//! The asking side: find the live members, send them the request, and collect
//! their streamed answers on a listener of our own until every one answered
//! or the time is up.

use std::collections::HashSet;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use rumor_wire::tcp::{ReplyListener, send};
use rumor_wire::{
    DEFAULT_MAX_FRAME, DgrepDone, DgrepRequest, Envelope, MemberState, Message, NodeId, WireError,
    decode, read_frame_len,
};

use crate::{Chunk, DgrepError};

/// The longest the client waits to hand the request to one member.
const SEND_TIMEOUT: Duration = Duration::from_secs(3);
/// Replies buffered between the connection readers and the caller; with
/// chunks of about 64 KiB this bounds the client's memory.
const QUEUE_DEPTH: usize = 32;

/// Asks `agent` for its member list and returns the members worth asking:
/// those it sees alive or suspected.
pub fn live_members(agent: SocketAddr, timeout: Duration) -> Result<Vec<NodeId>, DgrepError> {
    let fail = |why: String| DgrepError::MemberList { agent, why };
    let query = Envelope::new(agent, Message::MemberQuery);
    let reply = rumor_transport::request(agent, &query, None, timeout)
        .map_err(|e| fail(e.to_string()))?;
    match reply.body {
        Message::MemberList { members, .. } => Ok(members
            .into_iter()
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .map(|m| m.node)
            .collect()),
        Message::Error { reason } => Err(fail(reason)),
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

/// How a fan-out ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Members asked.
    pub asked: Vec<NodeId>,
    /// The final reply of every member that answered, in arrival order.
    pub answered: Vec<DgrepDone>,
    /// Members that could not be sent the request, with why.
    pub unreachable: Vec<(NodeId, String)>,
    /// Members whose answer stopped short (the connection closed or broke
    /// before their `DgrepDone`), with why; what they sent was handed on.
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

/// Sends `request` to every member of `members` (as a new TCP connection,
/// naming a listener of our own as `from`) and hands every reply to
/// `on_reply` as it arrives, until each member sent its [`DgrepDone`] or
/// `timeout` passed.
///
/// Each member's answer is read on its own thread (at most one per member
/// asked, plus a few for strays); the readers feed a bounded queue, so a
/// slow `on_reply` slows the members down rather than filling memory. An
/// error from `on_reply` (a closed stdout) stops the fan-out and is returned.
pub fn fan_out(
    members: &[NodeId],
    request: &DgrepRequest,
    timeout: Duration,
    on_reply: &mut dyn FnMut(Reply) -> io::Result<()>,
) -> Result<Outcome, DgrepError> {
    let deadline = Instant::now() + timeout;
    let mut outcome = Outcome {
        asked: members.to_vec(),
        ..Outcome::default()
    };
    let Some(first) = members.first() else {
        return Ok(outcome);
    };
    let listener = ReplyListener::bind_toward(first.addr)?;
    let asked: Arc<HashSet<NodeId>> = Arc::new(members.iter().copied().collect());
    let (tx, rx) = sync_channel(QUEUE_DEPTH);
    let stop = Arc::new(AtomicBool::new(false));
    let listen_addr = listener.addr();
    let acceptor = {
        let (asked, stop, query) = (asked.clone(), stop.clone(), request.query);
        thread::spawn(move || accept_loop(listener, deadline, asked, query, tx, stop))
    };
    let envelope = Envelope::new(listen_addr, Message::DgrepRequest(request.clone()));
    outcome.unreachable = send_all(members, &envelope, timeout.min(SEND_TIMEOUT));
    let result = collect(&rx, &mut outcome, deadline, on_reply);
    // Wake the acceptor so it ends now rather than at the deadline.
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect_timeout(&listen_addr, Duration::from_millis(200));
    drop(rx);
    let _ = acceptor.join();
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

/// Sends the request to every member in parallel; returns those that failed.
fn send_all(members: &[NodeId], envelope: &Envelope, timeout: Duration) -> Vec<(NodeId, String)> {
    thread::scope(|scope| {
        let sends: Vec<_> = members
            .iter()
            .map(|member| scope.spawn(move || (*member, send(member.addr, envelope, timeout))))
            .collect();
        sends
            .into_iter()
            .filter_map(|handle| match handle.join() {
                Ok((member, Err(e))) => Some((member, e.to_string())),
                Ok((_, Ok(()))) => None,
                Err(_) => None,
            })
            .collect()
    })
}

/// Receives replies until every member is settled or the deadline passed.
fn collect(
    rx: &Receiver<Event>,
    outcome: &mut Outcome,
    deadline: Instant,
    on_reply: &mut dyn FnMut(Reply) -> io::Result<()>,
) -> io::Result<()> {
    // Members settled: answered, unreachable, or cut short.
    let mut done: HashSet<NodeId> = outcome.unreachable.iter().map(|u| u.0).collect();
    while done.len() < outcome.asked.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let reply = match rx.recv_timeout(left) {
            Ok(Event::Reply(reply)) => reply,
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
        on_reply(reply)?;
    }
    Ok(())
}

fn accept_loop(
    listener: ReplyListener,
    deadline: Instant,
    asked: Arc<HashSet<NodeId>>,
    query: u64,
    tx: SyncSender<Event>,
    stop: Arc<AtomicBool>,
) {
    let readers = Arc::new(AtomicUsize::new(0));
    let max_readers = asked.len() + 4;
    while let Ok(Some(mut stream)) = listener.accept(deadline) {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if readers.load(Ordering::SeqCst) >= max_readers {
            continue; // dropping the stream closes it
        }
        readers.fetch_add(1, Ordering::SeqCst);
        let (asked, tx, readers) = (asked.clone(), tx.clone(), readers.clone());
        thread::spawn(move || {
            read_answer(&mut stream, &asked, query, &tx);
            readers.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// What a connection reader hands the collector.
enum Event {
    Reply(Reply),
    /// The member's connection ended before its `DgrepDone`.
    Broken(NodeId, String),
}

/// Reads one member's frames until its `DgrepDone`. Anything else (another
/// query, a member not asked, a malformed frame) ends the connection; once
/// the member is known, an early end is reported as [`Event::Broken`].
fn read_answer(
    stream: &mut impl io::Read,
    asked: &HashSet<NodeId>,
    query: u64,
    tx: &SyncSender<Event>,
) {
    let mut member = None;
    let why = loop {
        let frame = match read_frame_owned(stream) {
            Ok(Some(frame)) => frame,
            Ok(None) => break "connection closed before the end of the answer".to_owned(),
            // The deadline passed: the member is missing, not broken.
            Err(WireError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return;
            }
            Err(e) => break e.to_string(),
        };
        let (reply, last) = match to_reply(frame) {
            Ok(Reply::Lines(c)) if c.query() == query && asked.contains(&c.node()) => {
                member = Some(c.node());
                (Reply::Lines(c), false)
            }
            Ok(Reply::Done(d)) if d.query == query && asked.contains(&d.node) => {
                (Reply::Done(d), true)
            }
            Ok(Reply::Lines(_)) => break "unexpected dgrep_chunk frame".to_owned(),
            Ok(Reply::Done(_)) => break "unexpected dgrep_done frame".to_owned(),
            Err(why) => break why,
        };
        if tx.send(Event::Reply(reply)).is_err() || last {
            return;
        }
    };
    if let Some(node) = member {
        let _ = tx.send(Event::Broken(node, why));
    }
}

/// Reads one length-prefixed frame into a buffer of its own (handed on with
/// the lines in it). `Ok(None)` on a clean end of stream before a frame.
fn read_frame_owned(stream: &mut impl io::Read) -> Result<Option<Vec<u8>>, WireError> {
    let Some(len) = read_frame_len(stream, DEFAULT_MAX_FRAME)? else {
        return Ok(None);
    };
    // Reserve what a normal chunk needs; a claimed size beyond that grows
    // only as bytes actually arrive.
    let mut frame = Vec::with_capacity(len.min(FRAME_RESERVE));
    let read = io::Read::read_to_end(&mut io::Read::take(&mut *stream, len as u64), &mut frame)?;
    if read < len {
        return Err(WireError::Truncated {
            got: read,
            want: len,
        });
    }
    Ok(Some(frame))
}

/// Frame bytes reserved up front: a chunk of the default size and then some.
const FRAME_RESERVE: usize = 256 << 10;

/// Reads a frame as a chunk in place, or else decodes it the generic way;
/// says why if it is neither a chunk nor a final reply.
fn to_reply(frame: Vec<u8>) -> Result<Reply, String> {
    let frame = match Chunk::parse(frame) {
        Ok(chunk) => return Ok(Reply::Lines(chunk)),
        Err(frame) => frame,
    };
    match decode(&frame).map_err(|e| e.to_string())?.body {
        Message::DgrepChunk(c) => Chunk::from_chunk(&c)
            .map(Reply::Lines)
            .map_err(|e| e.to_string()),
        Message::DgrepDone(d) => Ok(Reply::Done(d)),
        other => Err(format!("unexpected {} frame", other.kind())),
    }
}

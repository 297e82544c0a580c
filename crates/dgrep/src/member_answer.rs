//! One member's part of a fan-out: the connection the request goes out on
//! and the answer comes back on, read a frame at a time (each opened under
//! the keyring when the cluster is keyed) and checked to be this member's
//! answer to this query before anything is handed on.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use rumor_seal::Sealer;
use rumor_transport::TransportError;
use rumor_wire::{
    DEFAULT_MAX_FRAME, Dgrep, DgrepRequest, Envelope, Message, NodeId, WireError, decode,
    read_frame_len,
};

use crate::Chunk;
use crate::client::Reply;
use crate::keyring::explain;

/// What a member's reader hands the collector.
pub(crate) enum Event {
    /// A reply of the member's, checked.
    Reply(Reply),
    /// The request could not be sent.
    Unreachable(NodeId, String),
    /// The answer ended before its `DgrepDone`, or made no sense.
    Broken(NodeId, String),
}

/// Why reading an answer stopped short.
enum Short {
    /// The deadline passed: the member is missing, nothing to report.
    Missing,
    /// The connection ended or carried something else than the answer.
    Broken(String),
}

/// Asks `member` and hands its answer to `tx` until its `DgrepDone`, the
/// deadline, or the collector going away. `register` is shown the
/// connection once open, so that the fan-out can end it early; it returns
/// false if the fan-out already ended.
pub(crate) fn ask_member(
    member: NodeId,
    request: &DgrepRequest,
    sealer: Option<&Sealer>,
    send_timeout: Duration,
    deadline: Instant,
    tx: &SyncSender<Event>,
    register: &dyn Fn(&TcpStream) -> bool,
) {
    let mut stream = match send_request(member, request, sealer, send_timeout, register) {
        Ok(Some(stream)) => stream,
        Ok(None) => return,
        Err(why) => {
            let _ = tx.send(Event::Unreachable(member, why));
            return;
        }
    };
    match read_answer(&mut stream, member, request.query, sealer, deadline, tx) {
        Ok(()) | Err(Short::Missing) => {}
        Err(Short::Broken(why)) => {
            let _ = tx.send(Event::Broken(member, why));
        }
    }
}

/// Connects and sends the request; `Ok(None)` if the fan-out ended meanwhile.
fn send_request(
    member: NodeId,
    request: &DgrepRequest,
    sealer: Option<&Sealer>,
    timeout: Duration,
    register: &dyn Fn(&TcpStream) -> bool,
) -> Result<Option<TcpStream>, String> {
    let timeout = timeout.max(Duration::from_millis(1));
    let mut stream =
        TcpStream::connect_timeout(&member.addr, timeout).map_err(|e| e.to_string())?;
    if !register(&stream) {
        return Ok(None);
    }
    stream
        .set_write_timeout(Some(timeout))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|e| e.to_string())?;
    // The client listens nowhere: `from` names the member itself, and the
    // answer comes back on this connection whatever `from` says.
    let envelope = Envelope::new(member.addr, Dgrep::Request(request.clone()));
    rumor_transport::frame::write_frame(&mut stream, &envelope, sealer, DEFAULT_MAX_FRAME)
        .map_err(|e| e.to_string())?;
    Ok(Some(stream))
}

/// Reads the member's frames until its `DgrepDone` (`Ok`), or until the
/// collector went away (also `Ok`: nobody is listening).
fn read_answer(
    stream: &mut TcpStream,
    member: NodeId,
    query: u64,
    sealer: Option<&Sealer>,
    deadline: Instant,
    tx: &SyncSender<Event>,
) -> Result<(), Short> {
    let mut sealed = Vec::new();
    let mut frames = 0u64;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Short::Missing);
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| Short::Broken(e.to_string()))?;
        let body = match read_body(stream, sealer, &mut sealed, member.addr) {
            Ok(Some(body)) => body,
            Ok(None) if frames == 0 => {
                let closed = TransportError::NoAnswer { peer: member.addr };
                return Err(Short::Broken(explain(&closed, sealer.is_some())));
            }
            Ok(None) => {
                return Err(Short::Broken(
                    "connection closed before the end of the answer".into(),
                ));
            }
            Err(e) if timed_out(&e) => return Err(Short::Missing),
            Err(e) => return Err(Short::Broken(explain(&e, sealer.is_some()))),
        };
        frames += 1;
        let (reply, last) = match to_reply(body).map_err(Short::Broken)? {
            Reply::Lines(c) if c.query() == query && c.node() == member => (Reply::Lines(c), false),
            Reply::Done(d) if d.query == query && d.node == member => (Reply::Done(d), true),
            Reply::Lines(c) => return Err(Short::Broken(foreign("dgrep_chunk", c.node()))),
            Reply::Done(d) => return Err(Short::Broken(foreign("dgrep_done", d.node))),
        };
        if tx.send(Event::Reply(reply)).is_err() || last {
            return Ok(());
        }
    }
}

fn foreign(kind: &str, node: NodeId) -> String {
    format!("a {kind} frame of another query or node ({node})")
}

/// True if `e` is a read timing out (the deadline passed).
fn timed_out(e: &TransportError) -> bool {
    let io = match e {
        TransportError::Io(io) | TransportError::Wire(WireError::Io(io)) => io,
        _ => return false,
    };
    matches!(
        io.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads one frame's body, opened when the cluster is keyed, into a buffer
/// of its own (handed on with the lines in it). `Ok(None)` on a clean end of
/// stream before a frame. `sealed` is scratch space for a sealed body.
fn read_body(
    stream: &mut impl Read,
    sealer: Option<&Sealer>,
    sealed: &mut Vec<u8>,
    peer: SocketAddr,
) -> Result<Option<Vec<u8>>, TransportError> {
    let Some(sealer) = sealer else {
        let mut body = Vec::new();
        return Ok(read_frame_into(stream, &mut body)?.then_some(body));
    };
    if !read_frame_into(stream, sealed)? {
        return Ok(None);
    }
    let mut body = Vec::with_capacity(sealed.len());
    sealer
        .open_now(sealed, &mut body)
        .map_err(|cause| TransportError::Unsealed { peer, cause })?;
    Ok(Some(body))
}

/// Reads one length-prefixed frame into `buf` (cleared first); `Ok(false)`
/// on a clean end of stream before a frame. The length is checked against
/// the maximum before anything is allocated.
fn read_frame_into(stream: &mut impl Read, buf: &mut Vec<u8>) -> Result<bool, WireError> {
    let Some(len) = read_frame_len(stream, DEFAULT_MAX_FRAME)? else {
        return Ok(false);
    };
    buf.clear();
    // Reserve what a normal chunk needs; a claimed size beyond that grows
    // only as bytes actually arrive.
    buf.reserve(len.min(FRAME_RESERVE));
    let read = stream.take(len as u64).read_to_end(buf)?;
    if read < len {
        return Err(WireError::Truncated {
            got: read,
            want: len,
        });
    }
    Ok(true)
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
        Message::Dgrep(Dgrep::Chunk(c)) => Chunk::from_chunk(&c)
            .map(Reply::Lines)
            .map_err(|e| e.to_string()),
        Message::Dgrep(Dgrep::Done(d)) => Ok(Reply::Done(d)),
        other => Err(format!("unexpected {} frame", other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_oversized_frames_are_errors_not_panics() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut scratch = Vec::new();
        // A length far past the maximum: refused before any allocation.
        let huge = u32::MAX.to_be_bytes();
        assert!(read_body(&mut &huge[..], None, &mut scratch, peer).is_err());
        // A well-framed body of nonsense: read, then refused by to_reply.
        let junk = [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o'];
        let body = read_body(&mut &junk[..], None, &mut scratch, peer)
            .unwrap()
            .unwrap();
        assert!(to_reply(body).is_err());
        // A frame cut short.
        let cut = [0, 0, 0, 9, 1, 2];
        assert!(read_body(&mut &cut[..], None, &mut scratch, peer).is_err());
        // Clear bytes where a keyring is in force.
        let keyring = rumor_seal::Keyring::new(rumor_seal::generate_key().unwrap());
        let sealer = Sealer::new(keyring, "t", rumor_seal::SealerConfig::default()).unwrap();
        let err = read_body(&mut &junk[..], Some(&sealer), &mut scratch, peer).unwrap_err();
        assert!(matches!(err, TransportError::Unsealed { .. }), "{err}");
        // Nothing at all: a clean end.
        assert!(
            read_body(&mut &[][..], None, &mut scratch, peer)
                .unwrap()
                .is_none()
        );
    }
}

//! `rumor monitor` on the agent's side: each stream answered on the
//! request's own connection by a thread of its own.
//!
//! The main thread hands every event it writes to the streams whose
//! filters pass it, through a bounded channel per stream, and never waits:
//! a stream that falls that far behind (or whose client went away) is
//! closed. A stream with `--since` first replays the event log up to the
//! length it had when the stream was opened, so no event is sent twice.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use rumor_membership::EventRecord;
use rumor_transport::Reply;
use rumor_wire::{Control, Envelope, MonitorRequest};

use crate::event_log::EventTail;

/// Streams open at once; more are refused.
pub const MAX_STREAMS: usize = 16;
/// Events a stream may fall behind by before it is closed.
const BACKLOG: usize = 4096;
/// Events per frame.
const BATCH: usize = 256;
/// An empty frame this often tells the client the agent is there (and the
/// agent that the client is).
pub const KEEPALIVE: Duration = Duration::from_secs(5);
/// Time allowed to write one frame.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `record` passes `filter`.
pub fn passes(filter: &MonitorRequest, record: &EventRecord) -> bool {
    let kind = filter.kinds.is_empty() || filter.kinds.contains(&record.event);
    let member = filter.members.is_empty() || {
        let id = record.member.to_string();
        filter.members.iter().any(|m| id.contains(m.as_str()))
    };
    kind && member
}

struct Stream {
    filter: MonitorRequest,
    events: Sender<EventRecord>,
    peer: SocketAddr,
    /// Set by the stream's thread when it ends.
    ended: Arc<AtomicBool>,
}

/// The open streams.
#[derive(Default)]
pub struct Monitors {
    streams: Vec<Stream>,
}

impl std::fmt::Debug for Monitors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Monitors({} streams)", self.streams.len())
    }
}

impl Monitors {
    /// Opens a stream answering `reply` as `from`: a replay of `log` (up
    /// to byte `log_len`) from `filter.since_ms` on when asked, then every
    /// event handed to [`Monitors::publish`]. Refused (the reply is handed
    /// back) when [`MAX_STREAMS`] are open.
    pub fn open(
        &mut self,
        filter: MonitorRequest,
        reply: Reply,
        from: SocketAddr,
        log: PathBuf,
        log_len: u64,
    ) -> Result<(), (Reply, String)> {
        self.streams.retain(|s| !s.ended.load(Ordering::Relaxed));
        if self.streams.len() >= MAX_STREAMS {
            return Err((reply, format!("{MAX_STREAMS} monitor streams already open")));
        }
        let (tx, rx) = bounded(BACKLOG);
        let peer = reply.peer();
        let thread_filter = filter.clone();
        let ended = Arc::new(AtomicBool::new(false));
        let thread_ended = Arc::clone(&ended);
        let spawned = std::thread::Builder::new()
            .name("monitor".into())
            .spawn(move || {
                stream(reply, from, rx, thread_filter, log, log_len);
                thread_ended.store(true, Ordering::Relaxed);
            });
        if let Err(e) = spawned {
            tracing::warn!("could not start a monitor stream for {peer}: {e}");
            return Ok(());
        }
        tracing::info!("monitor stream opened for {peer}");
        self.streams.push(Stream {
            filter,
            events: tx,
            peer,
            ended,
        });
        Ok(())
    }

    /// Hands `record` to every stream it passes; closes streams whose
    /// client is gone or too far behind.
    pub fn publish(&mut self, record: &EventRecord) {
        self.streams.retain(|s| {
            if !passes(&s.filter, record) {
                return !s.ended.load(Ordering::Relaxed);
            }
            match s.events.try_send(record.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(
                        "monitor stream of {} fell {BACKLOG} events behind: closed",
                        s.peer
                    );
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }
}

/// One stream's thread: the replay, then live events and keep-alives,
/// until the client goes away or the agent stops.
fn stream(
    mut reply: Reply,
    from: SocketAddr,
    events: Receiver<EventRecord>,
    filter: MonitorRequest,
    log: PathBuf,
    log_len: u64,
) {
    let peer = reply.peer();
    let mut send = |batch: Vec<EventRecord>| {
        let envelope = Envelope::new(from, Control::Events(batch));
        reply.send(&envelope, WRITE_TIMEOUT)
    };
    if let Some(since) = filter.since_ms {
        let mut tail = EventTail::new(log);
        let old: Vec<EventRecord> = tail
            .poll_upto(log_len)
            .into_iter()
            .filter(|r| r.ts_ms >= since && passes(&filter, r))
            .collect();
        for chunk in old.chunks(BATCH) {
            if send(chunk.to_vec()).is_err() {
                return;
            }
        }
    }
    loop {
        let batch = match events.recv_timeout(KEEPALIVE) {
            Ok(first) => {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match events.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                batch
            }
            Err(RecvTimeoutError::Timeout) => Vec::new(),
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if let Err(e) = send(batch) {
            tracing::info!("monitor stream of {peer} closed: {e}");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_kind_and_member() {
        let record = EventRecord {
            ts_ms: 1,
            observer: "127.0.0.1:3000#1".parse().unwrap(),
            event: "failed".into(),
            member: "127.0.0.2:3000#7".parse().unwrap(),
            incarnation: 0,
            detector: "swim".into(),
        };
        let mut filter = MonitorRequest::default();
        assert!(passes(&filter, &record));
        filter.kinds = vec!["joined".into()];
        assert!(!passes(&filter, &record));
        filter.kinds.push("failed".into());
        assert!(passes(&filter, &record));
        filter.members = vec!["127.0.0.3".into()];
        assert!(!passes(&filter, &record));
        filter.members.push("127.0.0.2:3000".into());
        assert!(passes(&filter, &record));
    }
}

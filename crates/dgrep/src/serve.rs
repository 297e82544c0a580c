//! The agent's side of a query: search the served files and stream the
//! selected lines, in bounded chunks, to the client's listening address.

use std::io::{self, BufWriter, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rumor_wire::{
    DEFAULT_MAX_FRAME, DgrepDone, DgrepRequest, Envelope, FileCount, Message, NodeId, WireError,
    write_frame,
};

use crate::chunk_frame::ChunkWriter;
use crate::{DgrepError, Engine, LineSink, ServeConfig};

/// How long the agent tries to reach the client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one write may block on a client that stopped reading before the
/// agent gives up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Answers one dgrep request: connects to `reply_to` (the client's listening
/// address), searches the files `config` serves, streams
/// [`DgrepChunk`](rumor_wire::DgrepChunk) frames of at most about
/// `config.chunk_bytes` of lines each, then one
/// [`DgrepDone`] with per-file counts, and closes.
///
/// Blocking; the agent calls it on a thread of its own. Memory stays bounded
/// by one chunk plus the engine's line buffer, whatever the result size.
/// A request the agent refuses (too many or too large patterns, a pattern the
/// engine rejects) is answered with a `DgrepDone` carrying `error`, and
/// returns `Ok`: the client was told. `Err` means the client could not be
/// reached or stopped reading.
pub fn answer(
    request: DgrepRequest,
    reply_to: SocketAddr,
    node: NodeId,
    config: &ServeConfig,
) -> Result<(), DgrepError> {
    let stream = connect(reply_to)?;
    stream_answer(
        &request,
        node,
        config,
        BufWriter::with_capacity(128 << 10, stream),
        Read::Buffered,
    )
    .map_err(|e| DgrepError::Reply {
        to: reply_to,
        source: e,
    })
}

/// Connects to the client's listening address to stream an answer there.
pub(crate) fn connect(reply_to: SocketAddr) -> Result<TcpStream, DgrepError> {
    let reply_error = |e: io::Error| DgrepError::Reply {
        to: reply_to,
        source: e.into(),
    };
    let stream = TcpStream::connect_timeout(&reply_to, CONNECT_TIMEOUT).map_err(reply_error)?;
    stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(reply_error)?;
    Ok(stream)
}

/// How files are read for a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Through the searcher's buffer: safe in the agent.
    Buffered,
    /// Memory-mapped, each frame tagged for the agent that forwards them:
    /// only in the search worker process.
    MappedForWorker,
}

/// Tags before each frame a search worker writes: the agent forwards the
/// frame, and after [`TAG_DONE`] knows the answer is complete.
pub(crate) const TAG_CHUNK: u8 = b'C';
/// See [`TAG_CHUNK`].
pub(crate) const TAG_DONE: u8 = b'D';

/// Searches for `request` and writes the answer's frames (chunks, then one
/// `DgrepDone`) to `out`, flushing at the end. A refused request is
/// answered with a `DgrepDone` carrying `error`; `Err` means `out` failed.
pub(crate) fn stream_answer<W: Write>(
    request: &DgrepRequest,
    node: NodeId,
    config: &ServeConfig,
    out: W,
    read: Read,
) -> Result<(), WireError> {
    let started = Instant::now();
    let mut out = ChunkStream {
        writer: out,
        scratch: Vec::new(),
        node,
        chunk: ChunkWriter::new(node.addr, request.query, node)?,
        chunk_bytes: config.chunk_bytes.max(1),
        tagged: read == Read::MappedForWorker,
    };
    let mut done = DgrepDone {
        query: request.query,
        node,
        counts: Vec::new(),
        bytes_searched: 0,
        elapsed_ms: 0,
        error: None,
    };
    match prepare(request, config) {
        Err(e) => done.error = Some(e.to_string()),
        Ok((mut engine, files)) => {
            let mut errors = Vec::new();
            for (path, name) in files {
                let outcome = match read {
                    Read::Buffered => engine.search_path(&path, &name, &mut out)?,
                    Read::MappedForWorker => engine.search_path_mapped(&path, &name, &mut out)?,
                };
                done.bytes_searched += outcome.bytes_searched;
                done.counts.push(FileCount {
                    file: name,
                    count: outcome.selected,
                });
                errors.extend(outcome.error);
            }
            out.send_chunk()?;
            if !errors.is_empty() {
                done.error = Some(errors.join("; "));
            }
        }
    }
    done.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    out.finish(done)
}

/// Checks the request against the limits, compiles it, lists the files.
fn prepare(
    request: &DgrepRequest,
    config: &ServeConfig,
) -> Result<(Engine, Vec<(std::path::PathBuf, String)>), DgrepError> {
    if request.patterns.len() > config.max_patterns {
        return Err(DgrepError::Refused(format!(
            "{} patterns, more than the {} this agent accepts",
            request.patterns.len(),
            config.max_patterns
        )));
    }
    let total: usize = request.patterns.iter().map(String::len).sum();
    if total > config.max_pattern_bytes {
        return Err(DgrepError::Refused(format!(
            "patterns of {total} bytes, more than the {} bytes this agent accepts",
            config.max_pattern_bytes
        )));
    }
    let engine = Engine::new(&request.patterns, &request.flags)?;
    Ok((engine, config.files()?))
}

/// A [`LineSink`] that batches lines into chunk frames on a writer.
struct ChunkStream<W: Write> {
    writer: W,
    scratch: Vec<u8>,
    node: NodeId,
    /// The chunk being filled, encoded as it grows.
    chunk: ChunkWriter,
    chunk_bytes: usize,
    /// Put [`TAG_CHUNK`] or [`TAG_DONE`] before each frame.
    tagged: bool,
}

impl<W: Write> ChunkStream<W> {
    fn send_chunk(&mut self) -> io::Result<()> {
        if self.chunk.lines() == 0 {
            return Ok(());
        }
        let frame = self.chunk.finish().map_err(io::Error::other)?;
        if self.tagged {
            self.writer.write_all(&[TAG_CHUNK])?;
        }
        self.writer.write_all(frame)?;
        self.chunk.clear();
        Ok(())
    }

    fn finish(mut self, done: DgrepDone) -> Result<(), WireError> {
        if self.tagged {
            self.writer.write_all(&[TAG_DONE])?;
        }
        let envelope = Envelope::new(self.node.addr, Message::DgrepDone(done));
        write_frame(
            &mut self.writer,
            &envelope,
            &mut self.scratch,
            DEFAULT_MAX_FRAME,
        )?;
        Ok(self.writer.flush()?)
    }
}

impl<W: Write> LineSink for ChunkStream<W> {
    fn line(&mut self, file: &str, line_number: Option<u64>, text: &[u8]) -> io::Result<()> {
        self.chunk.push(file, line_number, text);
        if self.chunk.frame_len() >= self.chunk_bytes {
            self.send_chunk()?;
        }
        Ok(())
    }
}

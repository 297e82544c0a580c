//! The agent's side of a query: search the served files and stream the
//! selected lines, in bounded chunks, back on the connection the request
//! came on (sealed under the cluster's keyring when it has one).

use std::io::{self, Write};
use std::time::{Duration, Instant};

use rumor_transport::{Reply, TransportError};
use rumor_wire::{
    DEFAULT_MAX_FRAME, Dgrep, DgrepDone, DgrepRequest, Envelope, FileCount, NodeId, write_frame,
};

use crate::chunk_frame::ChunkWriter;
use crate::serve_config::Served;
use crate::{DgrepError, Engine, LineSink, ServeConfig};

/// How long one write may block on a client that stopped reading before the
/// agent gives up on it.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Answers one dgrep request on `reply`, the connection it came on:
/// searches the files `config` serves, streams
/// [`DgrepChunk`](rumor_wire::DgrepChunk) frames of at most about
/// `config.chunk_bytes` of lines each, then one [`DgrepDone`] with per-file
/// counts, and closes. The answer can reach nobody but whoever asked.
///
/// Blocking; the agent calls it on a thread of its own. Memory stays bounded
/// by one chunk plus the engine's line buffer, whatever the result size.
/// A request the agent refuses (too many or too large patterns, a pattern the
/// engine rejects) is answered with a `DgrepDone` carrying `error`, and
/// returns `Ok`: the client was told. `Err` means the client went away or
/// stopped reading.
pub fn answer(
    request: DgrepRequest,
    reply: Reply,
    node: NodeId,
    config: &ServeConfig,
) -> Result<(), DgrepError> {
    let to = reply.peer();
    stream_answer(
        &request,
        node,
        config,
        &mut ReplyFrames(reply),
        Read::Buffered,
    )
    .map_err(|source| DgrepError::Reply { to, source })
}

/// How files are read for a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Through the searcher's buffer: safe in the agent.
    Buffered,
    /// Memory-mapped: only in the search worker process.
    Mapped,
}

/// Where an answer's frames go: the request's connection, or (from a
/// search worker) the pipe to the agent, which forwards them.
pub(crate) trait Frames {
    /// One chunk: an encoded envelope, without a length prefix.
    fn chunk(&mut self, body: &[u8]) -> Result<(), TransportError>;
    /// The last frame of the answer; everything is flushed after it.
    fn done(&mut self, done: &Envelope) -> Result<(), TransportError>;
}

/// The request's connection.
pub(crate) struct ReplyFrames(pub(crate) Reply);

impl Frames for ReplyFrames {
    fn chunk(&mut self, body: &[u8]) -> Result<(), TransportError> {
        self.0.send_encoded(body, WRITE_TIMEOUT)
    }

    fn done(&mut self, done: &Envelope) -> Result<(), TransportError> {
        self.0.send(done, WRITE_TIMEOUT)
    }
}

/// Tags before each frame a search worker writes: the agent forwards the
/// frame, and after [`TAG_DONE`] knows the answer is complete.
pub(crate) const TAG_CHUNK: u8 = b'C';
/// See [`TAG_CHUNK`].
pub(crate) const TAG_DONE: u8 = b'D';

/// A search worker's output: per frame, a tag, a length prefix and the
/// encoded envelope.
pub(crate) struct TaggedFrames<W: Write> {
    pub(crate) out: W,
    pub(crate) scratch: Vec<u8>,
}

impl<W: Write> Frames for TaggedFrames<W> {
    fn chunk(&mut self, body: &[u8]) -> Result<(), TransportError> {
        let len = u32::try_from(body.len()).map_err(|_| io::Error::other("a frame over 4 GiB"))?;
        self.out.write_all(&[TAG_CHUNK])?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(body)?;
        Ok(())
    }

    fn done(&mut self, done: &Envelope) -> Result<(), TransportError> {
        self.out.write_all(&[TAG_DONE])?;
        write_frame(&mut self.out, done, &mut self.scratch, DEFAULT_MAX_FRAME)?;
        Ok(self.out.flush()?)
    }
}

/// The largest chunk body sent: what an agent's connection carries in one
/// frame (its TCP service's frame limit) once sealed. A longer selected line
/// is counted but not sent, and the answer's error says so.
fn max_chunk_body() -> usize {
    rumor_transport::ServiceConfig::default().max_frame - rumor_seal::OVERHEAD
}

/// Searches for `request` and writes the answer's frames (chunks, then one
/// `DgrepDone`) to `out`. A refused request is answered with a `DgrepDone`
/// carrying `error`; `Err` means `out` failed.
pub(crate) fn stream_answer(
    request: &DgrepRequest,
    node: NodeId,
    config: &ServeConfig,
    out: &mut impl Frames,
    read: Read,
) -> Result<(), TransportError> {
    let started = Instant::now();
    let mut out = ChunkStream {
        frames: out,
        chunk: ChunkWriter::new(node.addr, request.query, node)?,
        chunk_bytes: config.chunk_bytes.max(1),
        max_body: max_chunk_body(),
        too_long: None,
    };
    let mut done = DgrepDone::new(request.query, node);
    match prepare(request, config) {
        Err(e) => done.error = Some(e.to_string()),
        Ok((mut engine, served)) => {
            // Paths refused (outside what --grep-path allows) come first.
            let mut errors = served.refused;
            for (path, name) in served.files {
                let outcome = match read {
                    Read::Buffered => engine.search_path(&path, &name, &mut out)?,
                    Read::Mapped => engine.search_path_mapped(&path, &name, &mut out)?,
                };
                done.bytes_searched += outcome.bytes_searched;
                done.counts.push(FileCount {
                    file: name,
                    count: outcome.selected,
                });
                errors.extend(outcome.error);
            }
            out.send_chunk()?;
            errors.extend(out.too_long.take().map(|t| t.note(out.max_body)));
            if !errors.is_empty() {
                done.error = Some(errors.join("; "));
            }
        }
    }
    done.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    out.frames
        .done(&Envelope::new(node.addr, Dgrep::Done(done)))
}

/// Checks the request against the limits before compiling anything, then
/// compiles it and lists the files.
fn prepare(request: &DgrepRequest, config: &ServeConfig) -> Result<(Engine, Served), DgrepError> {
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

/// Selected lines too long for one frame: counted, not sent.
struct TooLong {
    lines: u64,
    /// The first one's file and line number.
    first: (String, Option<u64>),
}

impl TooLong {
    fn note(&self, max_body: usize) -> String {
        let (file, number) = &self.first;
        let at = number.map_or(String::new(), |n| format!(" line {n}"));
        format!(
            "{} selected lines (the first: {file}{at}) longer than the {max_body} bytes one \
             answer frame carries were counted but not sent",
            self.lines
        )
    }
}

/// A [`LineSink`] that batches lines into chunk frames.
struct ChunkStream<'a, F: Frames> {
    frames: &'a mut F,
    /// The chunk being filled, encoded as it grows.
    chunk: ChunkWriter,
    chunk_bytes: usize,
    /// The largest chunk body sent.
    max_body: usize,
    too_long: Option<TooLong>,
}

impl<F: Frames> ChunkStream<'_, F> {
    fn send_chunk(&mut self) -> Result<(), TransportError> {
        if self.chunk.lines() == 0 {
            return Ok(());
        }
        let frame = self.chunk.finish()?;
        self.frames.chunk(&frame[4..])?;
        self.chunk.clear();
        Ok(())
    }
}

impl<F: Frames> LineSink for ChunkStream<'_, F> {
    fn line(&mut self, file: &str, line_number: Option<u64>, text: &[u8]) -> io::Result<()> {
        let len = ChunkWriter::line_len(file, text);
        if self.chunk.empty_body_len() + len > self.max_body {
            let too_long = self.too_long.get_or_insert_with(|| TooLong {
                lines: 0,
                first: (file.to_owned(), line_number),
            });
            too_long.lines += 1;
            return Ok(());
        }
        if self.chunk.body_len() + len > self.max_body {
            self.send_chunk().map_err(to_io)?;
        }
        self.chunk.push(file, line_number, text);
        if self.chunk.frame_len() >= self.chunk_bytes {
            self.send_chunk().map_err(to_io)?;
        }
        Ok(())
    }
}

/// A transport failure as the engine's sinks report failures.
fn to_io(e: TransportError) -> io::Error {
    match e {
        TransportError::Io(e) => e,
        other => io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use rumor_wire::GrepFlags;

    /// Agents built before `GrepFlags::context` read a request of this
    /// build that asks for no context: its flags encode as before (eight
    /// values), and such a request reads here with no context.
    #[test]
    fn flags_without_context_encode_as_before() {
        let mut flags = GrepFlags::default();
        flags.max_count = Some(3);
        let old = rmp_serde::to_vec(&flags).unwrap();
        assert_eq!(old[0], 0x98, "an array of eight values");
        assert_eq!(rmp_serde::from_slice::<GrepFlags>(&old).unwrap(), flags);
        let mut with = flags;
        with.context = Some((1, 2));
        let new = rmp_serde::to_vec(&with).unwrap();
        assert_eq!(new[0], 0x99);
        assert_eq!(rmp_serde::from_slice::<GrepFlags>(&new).unwrap(), with);
    }
}

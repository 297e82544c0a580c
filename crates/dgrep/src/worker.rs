//! The search worker process: where files are searched through memory maps.
//!
//! An agent does not map files itself: a log truncated under a map raises
//! SIGBUS, which would kill the agent and make it look crashed to the
//! cluster. It hands each query to a long-lived `dgrep-worker` process
//! instead ([`crate::SearchWorkers`]), which runs [`run`]: read a request
//! from stdin, search with maps, write the answer's frames to stdout, each
//! after a one-byte tag, and wait for the next request. The agent forwards
//! the frames to the client; if the worker dies mid-answer, only the worker
//! is lost.
//!
//! Requests on stdin are length-prefixed (4 bytes, big-endian) MessagePack
//! pairs `(NodeId, DgrepRequest)`. Answers on stdout are, per frame, a tag
//! (`C` for a chunk, `D` for the final `DgrepDone`) then the frame in the
//! clear (length prefix, encoded envelope); the agent seals each one, when
//! its cluster is keyed, on the way to the client.

use std::io::{BufReader, BufWriter, Read, Write};

use rumor_wire::{DEFAULT_MAX_FRAME, DgrepRequest, NodeId, read_frame_bytes};

use crate::serve::{self, TaggedFrames, stream_answer};
use crate::{DgrepError, ServeConfig};

/// The worker program's file name, looked for beside the agent's own.
pub const WORKER_BIN: &str = "dgrep-worker";

/// Serves requests from `input` until it ends (the agent closed it or went
/// away), writing each answer to `output`. Files are memory-mapped: run this
/// only in a process of its own.
pub fn run(config: &ServeConfig, input: impl Read, output: impl Write) -> Result<(), DgrepError> {
    let mut input = BufReader::new(input);
    let mut output = TaggedFrames {
        out: BufWriter::with_capacity(128 << 10, output),
        scratch: Vec::new(),
    };
    let mut frame = Vec::new();
    let fail = |why: String| DgrepError::Worker(why);
    while read_frame_bytes(&mut input, &mut frame, DEFAULT_MAX_FRAME)
        .map_err(|e| fail(format!("reading a request: {e}")))?
    {
        let (node, request): (NodeId, DgrepRequest) = rmp_serde::from_slice(&frame)
            .map_err(|e| fail(format!("a request that does not decode: {e}")))?;
        stream_answer(&request, node, config, &mut output, serve::Read::Mapped)
            .map_err(|e| fail(format!("writing an answer: {e}")))?;
    }
    Ok(())
}

/// Encodes one request for a worker's stdin (length prefix included).
pub(crate) fn encode_request(node: NodeId, request: &DgrepRequest) -> Result<Vec<u8>, DgrepError> {
    let body = rmp_serde::to_vec(&(node, request))
        .map_err(|e| DgrepError::Worker(format!("encoding a request: {e}")))?;
    let len =
        u32::try_from(body.len()).map_err(|_| DgrepError::Worker("a request over 4 GiB".into()))?;
    let mut framed = Vec::with_capacity(4 + body.len());
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&body);
    Ok(framed)
}

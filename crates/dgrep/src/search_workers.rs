//! The agent's search workers: long-lived `dgrep-worker` processes that
//! search with memory maps, so that a file truncated under a map kills a
//! worker, not the agent.

use std::ffi::OsString;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use rumor_transport::{Reply, TransportError};
use rumor_wire::{
    DEFAULT_MAX_FRAME, Dgrep, DgrepDone, DgrepRequest, Envelope, NodeId, read_frame_bytes,
};

use crate::serve::{self, Frames, ReplyFrames, TAG_CHUNK, TAG_DONE, stream_answer};
use crate::worker::{WORKER_BIN, encode_request};
use crate::{DgrepError, ServeConfig};

/// A pool of search worker processes answering dgrep queries for an agent.
///
/// Each query checks out an idle worker (or starts one), hands it the
/// request, and forwards the worker's frames to the client on the request's
/// own connection. A worker that dies before its `DgrepDone` (SIGBUS from a
/// file that shrank under its map, or anything else) is reaped; the client
/// gets a `DgrepDone` naming the failure after whatever lines were already
/// forwarded, and a new worker is started in its place. If no worker can be
/// started, the query is searched in the agent with plain reads, as
/// [`crate::answer`] does.
#[derive(Debug)]
pub struct SearchWorkers {
    program: PathBuf,
    args: Vec<OsString>,
    config: ServeConfig,
    idle: Mutex<Vec<Worker>>,
    started: AtomicU64,
}

#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// Why forwarding a worker's answer stopped.
enum Relay {
    /// Writing to the client failed.
    Client(TransportError),
    /// The worker failed (died, closed its output, or wrote nonsense).
    Worker(String),
}

impl SearchWorkers {
    /// Workers running `program` (a `dgrep-worker` binary) for `config`.
    pub fn new(program: impl Into<PathBuf>, config: &ServeConfig) -> SearchWorkers {
        let mut args: Vec<OsString> = vec!["--data-dir".into(), config.data_dir.clone().into()];
        for glob in &config.globs {
            args.extend(["--grep-path".into(), glob.into()]);
        }
        for (flag, value) in [
            ("--max-pattern-bytes", config.max_pattern_bytes),
            ("--max-patterns", config.max_patterns),
            ("--chunk-bytes", config.chunk_bytes),
        ] {
            args.extend([flag.into(), value.to_string().into()]);
        }
        SearchWorkers {
            program: program.into(),
            args,
            config: config.clone(),
            idle: Mutex::new(Vec::new()),
            started: AtomicU64::new(0),
        }
    }

    /// Workers running the `dgrep-worker` binary that sits beside the
    /// running program, if there is one.
    pub fn beside_current_exe(config: &ServeConfig) -> Option<SearchWorkers> {
        let program = std::env::current_exe().ok()?.with_file_name(WORKER_BIN);
        program
            .is_file()
            .then(|| SearchWorkers::new(program, config))
    }

    /// The worker program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Worker processes started so far (one more after each one lost).
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Answers one request on `reply` as [`crate::answer`] does, the search
    /// running in a worker. `Err` means the client went away or stopped
    /// reading; a worker's failure is reported to the client, and is `Ok`.
    pub fn answer(
        &self,
        request: DgrepRequest,
        reply: Reply,
        node: NodeId,
    ) -> Result<(), DgrepError> {
        let started = Instant::now();
        let to = reply.peer();
        let mut client = ReplyFrames(reply);
        let reply_error = |source: TransportError| DgrepError::Reply { to, source };
        let Ok(mut worker) = self.checkout() else {
            return stream_answer(
                &request,
                node,
                &self.config,
                &mut client,
                serve::Read::Buffered,
            )
            .map_err(reply_error);
        };
        match worker.relay(node, &request, &mut client) {
            Ok(()) => {
                self.lock().push(worker);
                Ok(())
            }
            Err(Relay::Client(e)) => {
                // The worker may still be writing an answer nobody reads.
                worker.end();
                Err(reply_error(e))
            }
            Err(Relay::Worker(why)) => {
                let status = worker.end();
                // Replace it now, so the next query does not wait for a start.
                if let Ok(fresh) = self.spawn() {
                    self.lock().push(fresh);
                }
                let mut done = DgrepDone::new(request.query, node);
                done.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                done.error = Some(format!(
                    "the search worker failed ({status}; {why}): the answer is incomplete \
                     (a file truncated while it was searched does this); a new worker \
                     takes the next query"
                ));
                client
                    .done(&Envelope::new(node.addr, Dgrep::Done(done)))
                    .map_err(reply_error)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Worker>> {
        // The list stays consistent whatever a panicking holder did.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle worker still running, or a new one.
    fn checkout(&self) -> io::Result<Worker> {
        loop {
            let next = self.lock().pop();
            let Some(mut worker) = next else { break };
            if matches!(worker.child.try_wait(), Ok(None)) {
                return Ok(worker);
            }
            worker.end();
        }
        self.spawn()
    }

    /// Starts a worker.
    fn spawn(&self) -> io::Result<Worker> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        self.started.fetch_add(1, Ordering::Relaxed);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("worker spawned without pipes"));
        };
        Ok(Worker {
            child,
            stdin: Some(stdin),
            stdout: BufReader::with_capacity(128 << 10, stdout),
        })
    }
}

impl Worker {
    /// Sends the request and forwards the answer's frames to `client` until
    /// the `DgrepDone`, each sealed on the way when the cluster is keyed.
    fn relay(
        &mut self,
        node: NodeId,
        request: &DgrepRequest,
        client: &mut ReplyFrames,
    ) -> Result<(), Relay> {
        let framed = encode_request(node, request).map_err(|e| Relay::Worker(e.to_string()))?;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Relay::Worker("its input is closed".into()))?;
        stdin
            .write_all(&framed)
            .and_then(|()| stdin.flush())
            .map_err(|e| Relay::Worker(format!("sending the request: {e}")))?;
        let mut frame = Vec::new();
        loop {
            let mut tag = [0u8; 1];
            match self.stdout.read(&mut tag) {
                Ok(1) => {}
                Ok(_) => return Err(Relay::Worker("its output ended mid-answer".into())),
                Err(e) => return Err(Relay::Worker(format!("reading its answer: {e}"))),
            }
            if tag[0] != TAG_CHUNK && tag[0] != TAG_DONE {
                return Err(Relay::Worker(format!(
                    "an unknown frame tag {:#04x}",
                    tag[0]
                )));
            }
            match read_frame_bytes(&mut self.stdout, &mut frame, DEFAULT_MAX_FRAME) {
                Ok(true) => {}
                Ok(false) => return Err(Relay::Worker("its output ended mid-answer".into())),
                Err(e) => return Err(Relay::Worker(format!("reading its answer: {e}"))),
            }
            // The worker's own encoding, forwarded as it is (sealed when keyed).
            client
                .0
                .send_encoded(&frame, serve::WRITE_TIMEOUT)
                .map_err(Relay::Client)?;
            if tag[0] == TAG_DONE {
                return Ok(());
            }
        }
    }

    /// Stops the worker and reaps it; says how it ended.
    fn end(&mut self) -> String {
        drop(self.stdin.take());
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("exit status unknown: {e}"),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing its input ends an idle worker; kill covers a busy one.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

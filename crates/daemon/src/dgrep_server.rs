//! The agent's side of dgrep: each query answered on a thread of its own, a
//! bounded number at once, on the connection the query came on (sealed by
//! the transport when the cluster is keyed), so results reach nobody but
//! whoever asked. The search runs in a `dgrep-worker` process when
//! that binary sits beside the agent's (memory-mapped files, and a file
//! truncated under a map kills only the worker), else in the agent with
//! plain reads (`rumor_dgrep::answer`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rumor_dgrep::{SearchWorkers, ServeConfig};
use rumor_transport::Reply;
use rumor_wire::{Dgrep, DgrepDone, DgrepRequest, Message, NodeId};

/// Serves dgrep queries, at most `max` at once.
#[derive(Debug)]
pub struct DgrepServer {
    config: Arc<ServeConfig>,
    workers: Option<Arc<SearchWorkers>>,
    running: Arc<AtomicUsize>,
    max: usize,
}

impl DgrepServer {
    /// A server searching what `config` allows, `max` queries at once.
    pub fn new(config: ServeConfig, max: usize) -> DgrepServer {
        let workers = SearchWorkers::beside_current_exe(&config);
        match &workers {
            Some(w) => tracing::debug!("dgrep searches run in {}", w.program().display()),
            None => tracing::debug!(
                "no {} beside this program: dgrep searches run in the agent, without memory maps",
                rumor_dgrep::worker::WORKER_BIN
            ),
        }
        DgrepServer {
            workers: workers.map(Arc::new),
            config: Arc::new(config),
            running: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Searches what `config` allows from now on (a config reload); the
    /// searches running finish under the paths they started with.
    pub fn set_config(&mut self, config: ServeConfig) {
        self.workers = SearchWorkers::beside_current_exe(&config).map(Arc::new);
        self.config = Arc::new(config);
    }

    /// Starts answering `request` (streamed by the search thread on `reply`,
    /// the request's own connection, as `node`). When `max` searches already
    /// run, hands `reply` back with the refusal the caller should send on it.
    pub fn serve(
        &self,
        request: DgrepRequest,
        reply: Reply,
        node: NodeId,
    ) -> Option<(Reply, Message)> {
        let query = request.query;
        let peer = reply.peer();
        let busy = || {
            let mut done = DgrepDone::new(query, node);
            done.error = Some(format!("{node} is busy with {} other searches", self.max));
            Dgrep::Done(done)
        };
        if self.running.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.running.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(
                "refused dgrep query {query} from {peer}: {} searches already running",
                self.max
            );
            return Some((reply, Message::Dgrep(busy())));
        }
        let config = Arc::clone(&self.config);
        let workers = self.workers.clone();
        let running = Arc::clone(&self.running);
        // The thread takes the reply from this slot; if it cannot start, the
        // reply is still there for the refusal.
        let slot = Arc::new(Mutex::new(Some(reply)));
        let theirs = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("dgrep".into())
            .spawn(move || {
                let reply = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(reply) = reply {
                    let answered = match &workers {
                        Some(workers) => workers.answer(request, reply, node),
                        None => rumor_dgrep::answer(request, reply, node, &config),
                    };
                    if let Err(e) = answered {
                        tracing::warn!("dgrep query {query} from {peer}: {e}");
                    }
                }
                running.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            Ok(_) => None,
            Err(e) => {
                self.running.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!("could not start a dgrep search: {e}");
                let reply = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                reply.map(|reply| (reply, busy().into()))
            }
        }
    }
}

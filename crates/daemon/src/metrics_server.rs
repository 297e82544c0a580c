//! `--metrics-addr`: `GET /metrics` (Prometheus text exposition) and `GET
//! /health` (200 while the agent is a member of a cluster, 503 otherwise),
//! served by `tiny_http` on a thread of its own.
//!
//! Each request asks the main thread for a [`Snapshot`] through the
//! inbound channel and waits for it briefly: the main thread never waits
//! on the HTTP side, and a scrape sees the counters of one moment.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};

use crate::DaemonError;
use crate::inbox::{Inbound, Waker};
use crate::metrics::Metrics;
use crate::snapshot::Snapshot;

/// How long a scrape waits for the main thread.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(2);

/// Binds `addr` and serves the endpoints until the process ends.
pub fn spawn(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    inbound: Sender<Inbound>,
    waker: Waker,
) -> Result<(), DaemonError> {
    let server = tiny_http::Server::http(addr).map_err(|e| {
        DaemonError::Usage(format!(
            "cannot serve metrics on --metrics-addr {addr}: {e}"
        ))
    })?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let snapshot = || -> Option<Snapshot> {
                    let (tx, rx) = bounded(1);
                    inbound.try_send(Inbound::Snapshot(tx)).ok()?;
                    waker.wake();
                    rx.recv_timeout(SNAPSHOT_WAIT).ok()
                };
                let response = answer(request.method(), request.url(), snapshot, &metrics);
                if let Err(e) = request.respond(response) {
                    tracing::debug!("metrics: could not answer: {e}");
                }
            }
        })
        .map_err(|e| DaemonError::io("cannot start the metrics server", e))?;
    tracing::info!("serving metrics on http://{addr}/metrics and /health");
    Ok(())
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn text(status: u16, body: String, content_type: &str) -> Response {
    let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
        .expect("a valid header");
    tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header)
}

fn answer(
    method: &tiny_http::Method,
    url: &str,
    snapshot: impl Fn() -> Option<Snapshot>,
    metrics: &Metrics,
) -> Response {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if *method != tiny_http::Method::Get && *method != tiny_http::Method::Head {
        return text(405, "only GET\n".into(), PLAIN);
    }
    let path = url.split('?').next().unwrap_or(url);
    match path {
        "/metrics" => match snapshot() {
            Some(s) => {
                metrics.update(&s);
                text(
                    200,
                    metrics.encode(),
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )
            }
            None => text(503, "the agent did not answer in time\n".into(), PLAIN),
        },
        "/health" => match snapshot() {
            Some(s) if s.joined => text(200, format!("ok: {} is a member\n", s.node), PLAIN),
            Some(s) => text(
                503,
                format!("{} is not a member (joining or leaving)\n", s.node),
                PLAIN,
            ),
            None => text(503, "the agent did not answer in time\n".into(), PLAIN),
        },
        _ => text(404, "not found: try /metrics or /health\n".into(), PLAIN),
    }
}

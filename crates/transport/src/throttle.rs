//! Refusal lines that cannot flood the log.
//!
//! Every refusal of the TCP service is logged, but a flood of them must
//! not become a flood of lines: each kind of refusal is written at most
//! once a second, with the number of like refusals since its last line.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest time between two lines of one kind.
const QUIET: Duration = Duration::from_secs(1);

/// Throttled refusal lines for one service, shared by its threads.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    addr: SocketAddr,
    /// Per kind: when it was last written, and how many were held back since.
    kinds: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl RefusalLog {
    pub(crate) fn new(addr: SocketAddr) -> RefusalLog {
        RefusalLog {
            addr,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Logs `line` at warn level unless a line of this `kind` was written
    /// less than a second ago; held-back lines are counted in the next one.
    pub(crate) fn refuse(&self, kind: &'static str, line: impl FnOnce() -> String) {
        let now = Instant::now();
        let held_back = {
            let mut kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
            let entry = kinds.entry(kind).or_insert((now - 2 * QUIET, 0));
            if now.duration_since(entry.0) < QUIET {
                entry.1 += 1;
                return;
            }
            let held_back = entry.1;
            *entry = (now, 0);
            held_back
        };
        let line = line();
        if held_back > 0 {
            tracing::warn!(
                "tcp service on {}: {line} (and {held_back} more like it)",
                self.addr
            );
        } else {
            tracing::warn!("tcp service on {}: {line}", self.addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_one_kind_is_held_back_and_counted() {
        let log = RefusalLog::new("127.0.0.1:1".parse().unwrap());
        let mut written = 0;
        for _ in 0..100 {
            log.refuse("malformed", || {
                written += 1;
                String::from("refused")
            });
        }
        assert_eq!(written, 1, "one line for a burst");
        let kinds = log.kinds.lock().unwrap();
        assert_eq!(
            kinds["malformed"].1, 99,
            "the rest counted for the next line"
        );
    }

    #[test]
    fn kinds_are_throttled_apart() {
        let log = RefusalLog::new("127.0.0.1:1".parse().unwrap());
        let mut written = 0;
        for kind in ["malformed", "oversized", "busy"] {
            log.refuse(kind, || {
                written += 1;
                String::new()
            });
        }
        assert_eq!(written, 3);
    }
}

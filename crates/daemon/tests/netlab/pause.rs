//! Freezing an agent on a schedule: SIGSTOP and SIGCONT from a thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A process frozen for `stop` at the start of every `every`, for `total`.
/// The process is left running when the pattern ends, is cancelled or is
/// dropped. The pid is taken once: kill the process only after the pattern
/// ends, or a recycled pid could be signalled.
pub struct PausePattern {
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PausePattern {
    /// Starts the pattern on process `pid`.
    pub fn start(pid: u32, stop: Duration, every: Duration, total: Duration) -> PausePattern {
        assert!(
            stop < every,
            "a pause of {stop:?} every {every:?} never thaws"
        );
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let pid = Pid::from_raw(pid as i32);
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let end = start + total;
            let mut next = start;
            while next < end && nap_until(next, &flag) {
                let _ = kill(pid, Signal::SIGSTOP);
                nap_until((next + stop).min(end), &flag);
                let _ = kill(pid, Signal::SIGCONT);
                next += every;
            }
            let _ = kill(pid, Signal::SIGCONT);
        });
        PausePattern {
            cancel,
            thread: Some(thread),
        }
    }

    /// Waits for the pattern to run its course.
    pub fn finish(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PausePattern {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sleeps until `until` in short steps, so a cancel is noticed quickly;
/// false if cancelled.
fn nap_until(until: Instant, cancel: &AtomicBool) -> bool {
    loop {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
}

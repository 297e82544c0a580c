//! SIGTERM and SIGINT (Ctrl-C) ask for a graceful leave; SIGHUP asks for
//! the log files to be reopened (an ssh logout or logrotate sends it: it
//! never stops the agent).
//!
//! The signals are blocked in every thread (the mask is inherited by threads
//! spawned afterwards, so call [`watch`] before spawning any) and a dedicated
//! thread takes them with `sigwait(2)`: no handler runs in signal context, and
//! no `unsafe` is needed. Child processes start with an empty mask (the
//! standard library resets it), so a spawned agent still gets its signals.
//! SIGKILL cannot be caught: it is a crash, by design.

use nix::sys::signal::{SigSet, Signal};

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in threads it spawns
/// later) and runs `on_signal` on a watcher thread each time one arrives.
pub fn watch(on_signal: impl Fn(Signal) + Send + 'static) -> std::io::Result<()> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.add(Signal::SIGHUP);
    set.thread_block().map_err(std::io::Error::from)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            while let Ok(signal) = set.wait() {
                on_signal(signal);
            }
        })?;
    Ok(())
}

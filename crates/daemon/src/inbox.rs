//! What the agent's main thread receives besides datagrams, and how the
//! other threads wake it.
//!
//! The main thread has one wait point: an `epoll_wait(2)` on the UDP
//! socket and on the eventfd of a [`Waker`]. Datagrams are read from the
//! socket by the main thread itself, so a datagram costs one wake-up, not
//! a hand-over between two threads. Requests accepted by the TCP service (with the
//! connection to answer on), the answers to the agent's own requests, and
//! the other notices below travel through an [`Inbound`] channel; whoever
//! puts something there, and the signal watcher, then rings the waker.

use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::eventfd::{EfdFlags, EventFd};
use rumor_transport::Delivery;
use rumor_wire::Gossip;

/// What arrives beside the datagrams.
#[derive(Debug)]
pub enum Inbound {
    /// A request accepted by the TCP service, with its way back.
    Request(Delivery),
    /// The answer to one of the agent's own requests.
    Answer {
        /// Who answered (the address asked).
        from: SocketAddr,
        /// The answer.
        message: Gossip,
    },
    /// One of the agent's requests got no answer.
    Unreachable(SocketAddr),
    /// A picture of the agent is wanted (a metrics scrape, a health check).
    Snapshot(crossbeam_channel::Sender<crate::snapshot::Snapshot>),
    /// The introducers' addresses, looked up again (host names).
    Introducers(Vec<SocketAddr>),
}

/// What the signal watcher asks of the main thread: flags, so that no
/// signal is lost to a full channel (two of a kind before the main thread
/// looks count as one).
#[derive(Debug, Default)]
pub struct Signalled {
    /// SIGTERM or SIGINT: leave gracefully (a second one: stop at once).
    pub leave: AtomicBool,
    /// SIGHUP: reopen the log files (after logrotate moved them).
    pub reopen: AtomicBool,
}

/// Wakes the main thread out of its wait: an eventfd it polls beside the
/// UDP socket. Cheap to clone; every clone rings the same one.
///
/// Ringing it again before the main thread answered costs no system call:
/// a flag says the eventfd is already readable.
#[derive(Debug, Clone)]
pub struct Waker(Arc<Doorbell>);

#[derive(Debug)]
struct Doorbell {
    fd: EventFd,
    /// True from the ring that made the eventfd readable until the main
    /// thread [`Waker::answer`]s it.
    rung: AtomicBool,
}

impl Waker {
    /// A new waker (a non-blocking eventfd, closed on exec).
    pub fn new() -> std::io::Result<Waker> {
        let fd = EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)?;
        Ok(Waker(Arc::new(Doorbell {
            fd,
            rung: AtomicBool::new(false),
        })))
    }

    /// Wakes the main thread. Call it after putting something where the
    /// main thread looks (the inbound channel, a flag): what was put there
    /// before the ring is seen when the main thread answers it.
    pub fn wake(&self) {
        // AcqRel: the release half publishes what the caller put in the
        // channel to the main thread's acquiring swap in `answer`.
        if !self.0.rung.swap(true, Ordering::AcqRel) {
            // Only a counter overflow could fail, and one ring is pending.
            let _ = self.0.fd.write(1);
        }
    }

    /// The main thread's side, once the eventfd polled readable: empties it
    /// and lowers the flag, so the next [`Waker::wake`] rings again. Look at
    /// the channel and the flags after this call, not before: anything put
    /// there by a ring this call absorbed is then visible.
    pub fn answer(&self) {
        let _ = self.0.fd.read();
        self.0.rung.swap(false, Ordering::AcqRel);
    }

    /// The descriptor to poll for readability.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

    use super::*;

    fn readable(waker: &Waker) -> bool {
        let mut fds = [PollFd::new(waker.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).expect("poll works on an eventfd") == 1
    }

    #[test]
    fn a_ring_makes_the_eventfd_readable_until_answered() {
        let waker = Waker::new().unwrap();
        assert!(!readable(&waker));
        waker.wake();
        assert!(readable(&waker));
        waker.answer();
        assert!(!readable(&waker));
        // Answering with nothing pending is harmless.
        waker.answer();
        assert!(!readable(&waker));
    }

    #[test]
    fn rings_before_the_answer_fold_into_one_and_the_next_rings_again() {
        let waker = Waker::new().unwrap();
        let other = waker.clone();
        waker.wake();
        other.wake();
        waker.wake();
        assert!(readable(&waker));
        waker.answer();
        assert!(!readable(&waker));
        other.wake();
        assert!(readable(&waker));
    }

    #[test]
    fn a_ring_from_another_thread_wakes_a_poller() {
        let waker = Waker::new().unwrap();
        let (tx, rx) = crossbeam_channel::bounded::<u32>(1);
        let ringer = {
            let waker = waker.clone();
            std::thread::spawn(move || {
                tx.send(7).unwrap();
                waker.wake();
            })
        };
        // Blocks until the ring (the margin only bounds a broken test).
        let mut fds = [PollFd::new(waker.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(Duration::from_secs(30)).unwrap();
        assert_eq!(poll(&mut fds, timeout).unwrap(), 1);
        waker.answer();
        assert_eq!(rx.try_recv(), Ok(7));
        ringer.join().unwrap();
    }
}

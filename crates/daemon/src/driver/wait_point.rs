//! The main thread's one wait point: an epoll set holding the UDP socket and
//! the eventfd of the [`Waker`], level-triggered.
//!
//! The main thread sleeps in it until a datagram, a ring or its next
//! deadline, whichever comes first. Reading the socket on the thread that
//! also drives the core makes a datagram cost one wake-up (a receiver
//! thread handing datagrams over would cost two); and the set is built
//! once, so a wait costs one `epoll_wait`, not the registration on every
//! descriptor that `poll` repeats at each call.

use std::net::UdpSocket;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use crate::inbox::Waker;

/// Token of the waker's eventfd in the set.
const RUNG: u64 = 0;
/// Token of the UDP socket in the set.
const DATAGRAMS: u64 = 1;

/// What ended a wait.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ready {
    /// The UDP socket has something to read (or an error to report).
    pub(super) datagrams: bool,
    /// The waker was rung.
    pub(super) rung: bool,
}

/// The epoll set of the socket and the waker.
#[derive(Debug)]
pub(super) struct WaitPoint {
    epoll: Epoll,
    /// Whether the socket is in the set's interest right now.
    watching_udp: bool,
}

impl WaitPoint {
    /// A set watching `udp` for datagrams and `waker` for rings.
    pub(super) fn new(udp: &UdpSocket, waker: &Waker) -> std::io::Result<WaitPoint> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(waker.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, RUNG))?;
        epoll.add(udp, EpollEvent::new(EpollFlags::EPOLLIN, DATAGRAMS))?;
        Ok(WaitPoint {
            epoll,
            watching_udp: true,
        })
    }

    /// Sleeps until the socket is readable, the waker rings or `timeout`
    /// passes (rounded up to the next millisecond, `epoll_wait`'s unit, so
    /// a deadline is never woken for early); says which. A zero timeout
    /// only looks.
    pub(super) fn wait(&self, timeout: Duration) -> std::io::Result<Ready> {
        let mut events = [EpollEvent::empty(); 2];
        let n = match self.epoll.wait(&mut events, millis_rounded_up(timeout)) {
            Ok(n) => n,
            // Signals are blocked in this thread; a stop and continue
            // (SIGSTOP, a debugger) can still interrupt the wait.
            Err(Errno::EINTR) => 0,
            Err(e) => return Err(e.into()),
        };
        let mut ready = Ready::default();
        for event in &events[..n] {
            match event.data() {
                RUNG => ready.rung = true,
                _ => ready.datagrams = true,
            }
        }
        Ok(ready)
    }

    /// Takes the socket out of the set (`watch` false) or puts it back:
    /// after a receive error the socket is left alone for a moment, so a
    /// lasting error cannot turn the loop into a spin.
    pub(super) fn watch_udp(&mut self, udp: &UdpSocket, watch: bool) -> std::io::Result<()> {
        if watch == self.watching_udp {
            return Ok(());
        }
        let flags = if watch {
            EpollFlags::EPOLLIN
        } else {
            EpollFlags::empty()
        };
        self.epoll
            .modify(udp, &mut EpollEvent::new(flags, DATAGRAMS))?;
        self.watching_udp = watch;
        Ok(())
    }
}

/// `timeout` in whole milliseconds, rounded up, at most `i32::MAX`.
fn millis_rounded_up(timeout: Duration) -> EpollTimeout {
    let millis = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
    EpollTimeout::try_from(millis).unwrap_or(EpollTimeout::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn pair() -> (UdpSocket, UdpSocket) {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.connect(receiver.local_addr().unwrap()).unwrap();
        (receiver, sender)
    }

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        let ms = |t: Duration| i32::from(millis_rounded_up(t));
        assert_eq!(ms(Duration::ZERO), 0);
        assert_eq!(ms(Duration::from_nanos(1)), 1);
        assert_eq!(ms(Duration::from_micros(37_400)), 38);
        assert_eq!(ms(Duration::from_millis(100)), 100);
        assert_eq!(ms(Duration::from_secs(u64::MAX)), i32::MAX);
    }

    #[test]
    fn nothing_ready_runs_out_the_timeout_and_never_early() {
        let (receiver, _sender) = pair();
        let waker = Waker::new().unwrap();
        let point = WaitPoint::new(&receiver, &waker).unwrap();
        assert_eq!(point.wait(Duration::ZERO).unwrap(), Ready::default());
        let started = Instant::now();
        assert_eq!(
            point.wait(Duration::from_micros(2_500)).unwrap(),
            Ready::default()
        );
        assert!(started.elapsed() >= Duration::from_micros(2_500));
    }

    #[test]
    fn a_datagram_and_a_ring_each_end_the_wait() {
        let (receiver, sender) = pair();
        let waker = Waker::new().unwrap();
        let point = WaitPoint::new(&receiver, &waker).unwrap();
        sender.send(b"ping").unwrap();
        let long = Duration::from_secs(30);
        let ready = point.wait(long).unwrap();
        assert_eq!(
            ready,
            Ready {
                datagrams: true,
                rung: false
            }
        );
        // Level-triggered: still ready until read.
        assert!(point.wait(Duration::ZERO).unwrap().datagrams);
        let mut buf = [0u8; 16];
        assert_eq!(receiver.recv(&mut buf).unwrap(), 4);
        assert!(!point.wait(Duration::ZERO).unwrap().datagrams);

        waker.wake();
        assert_eq!(
            point.wait(long).unwrap(),
            Ready {
                datagrams: false,
                rung: true
            }
        );
        waker.answer();
        assert_eq!(point.wait(Duration::ZERO).unwrap(), Ready::default());
    }

    #[test]
    fn an_unwatched_socket_does_not_end_the_wait() {
        let (receiver, sender) = pair();
        let waker = Waker::new().unwrap();
        let mut point = WaitPoint::new(&receiver, &waker).unwrap();
        point.watch_udp(&receiver, false).unwrap();
        sender.send(b"later").unwrap();
        assert_eq!(point.wait(Duration::ZERO).unwrap(), Ready::default());
        point.watch_udp(&receiver, true).unwrap();
        assert!(point.wait(Duration::ZERO).unwrap().datagrams);
    }
}

//! Reading the UDP socket: every datagram waiting, up to a batch, in one
//! `recvmmsg(2)`.
//!
//! An idle agent's CPU is its wake-ups, and a wake-up's cost is mostly
//! system calls and the switch into the process. Reading with one
//! `recvfrom` per datagram costs a second, failing call each wake-up to
//! learn that nothing more waits; one `recvmmsg` with `MSG_DONTWAIT`
//! returns every datagram waiting (one, usually) and that nothing more does,
//! in one call. Under a flood it takes up to a whole batch per call.

use std::io::IoSliceMut;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, recvmmsg};

/// Buffers for a batch of datagrams, reused from read to read.
#[derive(Debug)]
pub(super) struct ReceiveBatch {
    /// One buffer per datagram, each one byte over the datagram limit, so
    /// an oversized datagram shows as longer than the limit.
    buffers: Vec<Vec<u8>>,
    /// The kernel's headers (no source addresses: the envelope names its
    /// sender).
    headers: MultiHeaders<()>,
    /// The length of each datagram of the last read.
    lens: Vec<usize>,
}

impl ReceiveBatch {
    /// Room for `batch` datagrams of up to `limit` bytes.
    pub(super) fn new(batch: usize, limit: usize) -> ReceiveBatch {
        ReceiveBatch {
            buffers: vec![vec![0; limit + 1]; batch],
            headers: MultiHeaders::preallocate(batch, None),
            lens: Vec::with_capacity(batch),
        }
    }

    /// Reads what waits on `udp` without waiting: the number of datagrams
    /// read (0 when none waits), each then at [`ReceiveBatch::datagram`].
    pub(super) fn read(&mut self, udp: &UdpSocket) -> std::io::Result<usize> {
        self.lens.clear();
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
            .buffers
            .iter_mut()
            .map(|b| [IoSliceMut::new(&mut b[..])])
            .collect();
        let read = recvmmsg(
            udp.as_raw_fd(),
            &mut self.headers,
            slices.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        );
        match read {
            Ok(results) => self.lens.extend(results.map(|m| m.bytes)),
            Err(Errno::EAGAIN) => {}
            Err(e) => return Err(std::io::Error::from(e)),
        }
        Ok(self.lens.len())
    }

    /// Datagram `i` of the last read.
    pub(super) fn datagram(&self, i: usize) -> &[u8] {
        &self.buffers[i][..self.lens[i]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_everything_waiting_in_one_call_and_nothing_when_empty() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.connect(receiver.local_addr().unwrap()).unwrap();
        let mut batch = ReceiveBatch::new(4, 8);
        assert_eq!(batch.read(&receiver).unwrap(), 0);
        for payload in [&b"one"[..], b"two!", b"too long for it", b"4", b"5"] {
            sender.send(payload).unwrap();
        }
        // Loopback delivers at once: four in the first read, the fifth next.
        assert_eq!(batch.read(&receiver).unwrap(), 4);
        assert_eq!(batch.datagram(0), b"one");
        assert_eq!(batch.datagram(1), b"two!");
        // Cut at the limit plus one byte: it shows as oversized.
        assert_eq!(batch.datagram(2), b"too long ");
        assert_eq!(batch.datagram(3), b"4");
        assert_eq!(batch.read(&receiver).unwrap(), 1);
        assert_eq!(batch.datagram(0), b"5");
        assert_eq!(batch.read(&receiver).unwrap(), 0);
    }
}

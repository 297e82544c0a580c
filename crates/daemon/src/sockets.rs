//! The agent's two sockets on its `--bind` address, and what the kernel
//! holds in the UDP socket's receive queue.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use socket2::{Domain, Protocol, Socket, Type};

use crate::DaemonError;

/// Binds the TCP listener (address reuse on, so a restarted agent gets its
/// port back while old connections linger in TIME_WAIT). Bound before UDP:
/// on Linux a TCP bind fails on a port another agent listens on, even with
/// address reuse, which gives "port in use" its clear message.
pub fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, DaemonError> {
    let bind_err = |source| DaemonError::Bind {
        addr,
        proto: "tcp",
        source,
    };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(bind_err)?;
    socket.set_reuse_address(true).map_err(bind_err)?;
    socket.bind(&addr.into()).map_err(bind_err)?;
    socket.listen(1024).map_err(bind_err)?;
    Ok(socket.into())
}

/// Binds the UDP socket with address reuse and asks for a receive buffer of
/// `recv_buffer` bytes (the kernel may grant less). The socket does not
/// block: the main thread polls it and reads what is ready.
pub fn bind_udp(addr: SocketAddr, recv_buffer: usize) -> Result<UdpSocket, DaemonError> {
    let bind_err = |source| DaemonError::Bind {
        addr,
        proto: "udp",
        source,
    };
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(bind_err)?;
    socket.set_reuse_address(true).map_err(bind_err)?;
    if recv_buffer > 0 {
        // Best effort: an unprivileged process is capped by net.core.rmem_max.
        if let Err(e) = socket.set_recv_buffer_size(recv_buffer) {
            tracing::warn!("could not set the UDP receive buffer to {recv_buffer} bytes: {e}");
        }
    }
    socket.bind(&addr.into()).map_err(bind_err)?;
    socket.set_nonblocking(true).map_err(bind_err)?;
    Ok(socket.into())
}

/// What the kernel holds for a UDP socket: the agent's receive queue is the
/// socket's own buffer, read by the main thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveQueue {
    /// Bytes waiting in the receive buffer, as the kernel counts them (each
    /// datagram with its buffer overhead, so several hundred bytes for even
    /// the smallest).
    pub waiting_bytes: u64,
    /// Datagrams the kernel dropped because the receive buffer was full.
    pub drops: u64,
}

/// Reads `socket`'s receive queue from Linux's `/proc/self/net/udp` (or
/// `udp6`), found by the socket's inode; `None` where that is unavailable.
/// Reads a file of one line per UDP socket of the network namespace: for
/// snapshots and reports, not for every datagram.
pub fn receive_queue(socket: &UdpSocket) -> Option<ReceiveQueue> {
    let inode = std::fs::metadata(format!("/proc/self/fd/{}", socket.as_raw_fd()))
        .ok()?
        .ino();
    let table = match socket.local_addr().ok()? {
        SocketAddr::V4(_) => "/proc/self/net/udp",
        SocketAddr::V6(_) => "/proc/self/net/udp6",
    };
    find_receive_queue(&std::fs::read_to_string(table).ok()?, inode)
}

/// The line of `inode` in a `/proc/net/udp` table: `tx_queue:rx_queue` (hex)
/// is the fifth field, the inode the tenth and the drops the thirteenth.
fn find_receive_queue(table: &str, inode: u64) -> Option<ReceiveQueue> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(9)?.parse::<u64>().ok()? != inode {
            return None;
        }
        let (_, rx) = fields.get(4)?.split_once(':')?;
        Some(ReceiveQueue {
            waiting_bytes: u64::from_str_radix(rx, 16).ok()?,
            drops: fields.get(12)?.parse().ok()?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_of_its_inode() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 3692: 31A1007F:1E84 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 941339 2 00000000f0cb3b94 0
 3692: 2EA1007F:1E84 00000000:0000 07 00000000:00000A80 00:00000000 00000000     0        0 941335 2 000000009596ec26 17
";
        assert_eq!(
            find_receive_queue(table, 941335),
            Some(ReceiveQueue {
                waiting_bytes: 0xa80,
                drops: 17
            })
        );
        assert_eq!(find_receive_queue(table, 1), None);
    }

    #[test]
    fn reads_its_own_socket_and_sees_a_datagram_wait() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let Some(empty) = receive_queue(&socket) else {
            eprintln!("no /proc/self/net/udp here: nothing to check");
            return;
        };
        assert_eq!(empty, ReceiveQueue::default());
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender
            .send_to(b"waiting", socket.local_addr().unwrap())
            .unwrap();
        // Loopback delivers within the send call: the datagram is queued now.
        let queued = receive_queue(&socket).unwrap();
        assert!(queued.waiting_bytes >= 7, "{queued:?}");
        assert_eq!(queued.drops, 0);
    }
}

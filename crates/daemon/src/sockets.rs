//! The agent's two sockets on its `--bind` address, and the UDP listener
//! thread that feeds the main thread's queue.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use rumor_msgqueue::Producer;
use socket2::{Domain, Protocol, Socket, Type};

use crate::DaemonError;
use crate::inbox::TAG_UDP;

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
/// `recv_buffer` bytes (the kernel may grant less).
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
    Ok(socket.into())
}

/// Starts the UDP listener: it receives each datagram into a fixed buffer
/// just after the tag byte and pushes it into the queue. Datagrams larger
/// than `max_datagram` are truncated by the kernel and will fail to decode;
/// a full queue drops the newest (the queue counts it).
pub fn spawn_udp_listener(
    socket: UdpSocket,
    producer: Producer,
    max_datagram: usize,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("udp-listener".into())
        .spawn(move || {
            // One spare byte, so an oversized datagram shows as longer than the limit.
            let mut buf = vec![0u8; 1 + max_datagram + 1];
            buf[0] = TAG_UDP;
            loop {
                match socket.recv_from(&mut buf[1..]) {
                    Ok((len, from)) => {
                        // Full: dropped and counted by the queue, like a lost datagram.
                        let _ = producer.push(from, &buf[..1 + len]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::warn!("udp receive failed: {e}");
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                }
            }
        })?;
    Ok(())
}

//! Fire-and-forget exchanges over TCP: send one framed envelope to an address,
//! and collect replies on a listener of one's own.
//!
//! A request never waits on the connection it was sent on. The requester binds
//! a [`ReplyListener`], names its address as the envelope's `from`, sends, and
//! accepts the replies the other side sends as new connections.

use std::io::BufReader;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::{DEFAULT_MAX_FRAME, Envelope, Message, WireError, read_frame, write_frame};

/// Connects to `to` within `timeout`, writes `envelope` as one frame, closes.
pub fn send(to: SocketAddr, envelope: &Envelope, timeout: Duration) -> Result<(), WireError> {
    let mut stream = TcpStream::connect_timeout(&to, timeout)?;
    stream.set_write_timeout(Some(timeout))?;
    let mut scratch = Vec::new();
    write_frame(&mut stream, envelope, &mut scratch, DEFAULT_MAX_FRAME)
}

/// The local address this host would use to reach `peer` (loopback for a
/// loopback peer).
pub fn local_ip_toward(peer: SocketAddr) -> std::io::Result<std::net::IpAddr> {
    if peer.ip().is_loopback() {
        return Ok(if peer.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let any: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .expect("literal socket address");
    let probe = UdpSocket::bind(any)?;
    probe.connect(peer)?;
    Ok(probe.local_addr()?.ip())
}

/// A TCP listener on an ephemeral port that collects replies.
#[derive(Debug)]
pub struct ReplyListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl ReplyListener {
    /// Binds an ephemeral port on the local address used to reach `peer`.
    pub fn bind_toward(peer: SocketAddr) -> std::io::Result<ReplyListener> {
        let listener = TcpListener::bind(SocketAddr::new(local_ip_toward(peer)?, 0))?;
        let addr = listener.local_addr()?;
        Ok(ReplyListener { listener, addr })
    }

    /// The address to name as `from` in requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Accepts the next reply connection before `deadline`, returning it as a
    /// buffered stream of frames, or `None` if the deadline passed.
    pub fn accept(&self, deadline: Instant) -> std::io::Result<Option<BufReader<TcpStream>>> {
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        let socket = socket2::SockRef::from(&self.listener);
        // On Linux, accept(2) honours SO_RCVTIMEO.
        socket.set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))?;
        match self.listener.accept() {
            Ok((stream, _)) => {
                stream.set_read_timeout(Some(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1)),
                ))?;
                Ok(Some(BufReader::new(stream)))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Sends `body` to `agent` and waits up to `timeout` for the first reply frame.
pub fn request(agent: SocketAddr, body: Message, timeout: Duration) -> Result<Envelope, WireError> {
    let deadline = Instant::now() + timeout;
    let listener = ReplyListener::bind_toward(agent)?;
    send(agent, &Envelope::new(listener.addr(), body), timeout)?;
    let mut buf = Vec::new();
    while let Some(mut stream) = listener.accept(deadline)? {
        if let Some(envelope) = read_frame(&mut stream, &mut buf, DEFAULT_MAX_FRAME)? {
            return Ok(envelope);
        }
    }
    Err(WireError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no reply from {agent} within {timeout:?}"),
    )))
}

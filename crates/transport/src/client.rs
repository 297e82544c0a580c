//! The asking side: one request on a new connection, its answers on the
//! same connection. No listener of the requester's own is involved, so a
//! request works through NAT, an SSH tunnel or any TCP forwarder, and an
//! answer can only ever go to whoever opened the connection.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rumor_seal::Sealer;
use rumor_wire::{DEFAULT_MAX_FRAME, Envelope};

use crate::{TransportError, frame};

/// One request and the answers that come back on its connection.
#[derive(Debug)]
pub struct Exchange<'a> {
    stream: TcpStream,
    peer: SocketAddr,
    sealer: Option<&'a Sealer>,
    max_frame: usize,
}

impl<'a> Exchange<'a> {
    /// Connects to `to` within `timeout` and sends `envelope`, sealed when
    /// `sealer` is given.
    pub fn open(
        to: SocketAddr,
        envelope: &Envelope,
        sealer: Option<&'a Sealer>,
        timeout: Duration,
    ) -> Result<Exchange<'a>, TransportError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let mut stream = TcpStream::connect_timeout(&to, timeout)?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        frame::write_frame(&mut stream, envelope, sealer, DEFAULT_MAX_FRAME)?;
        Ok(Exchange {
            stream,
            peer: to,
            sealer,
            max_frame: DEFAULT_MAX_FRAME,
        })
    }

    /// [`Exchange::open`] for an envelope its caller encoded already (as a
    /// membership core hands out its requests).
    pub fn open_encoded(
        to: SocketAddr,
        body: &[u8],
        sealer: Option<&'a Sealer>,
        timeout: Duration,
    ) -> Result<Exchange<'a>, TransportError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let mut frame = Vec::new();
        frame::frame_encoded(body, sealer, DEFAULT_MAX_FRAME, &mut frame)?;
        let mut stream = TcpStream::connect_timeout(&to, timeout)?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        std::io::Write::write_all(&mut stream, &frame)?;
        Ok(Exchange {
            stream,
            peer: to,
            sealer,
            max_frame: DEFAULT_MAX_FRAME,
        })
    }

    /// The next answer, waiting until `deadline`; `Ok(None)` once the other
    /// side closed the connection after its last answer.
    pub fn next(&mut self, deadline: Instant) -> Result<Option<Envelope>, TransportError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer from {} in time", self.peer),
            )
            .into());
        }
        self.stream.set_read_timeout(Some(left))?;
        frame::read_frame(&mut self.stream, self.sealer, self.max_frame, self.peer).map_err(|e| {
            match e {
                TransportError::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer from {} in time", self.peer),
                    )
                    .into()
                }
                other => other,
            }
        })
    }

    /// The local address of the connection (what the other side sees as
    /// the requester, unless something in between rewrites it).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

/// Sends `envelope` to `to` and waits up to `timeout` in all for the one
/// answer.
pub fn request(
    to: SocketAddr,
    envelope: &Envelope,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<Envelope, TransportError> {
    let deadline = Instant::now() + timeout;
    let mut exchange = Exchange::open(to, envelope, sealer, timeout)?;
    exchange
        .next(deadline)?
        .ok_or(TransportError::NoAnswer { peer: to })
}

//! The answer side of a request: the connection the request came on.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rumor_seal::Sealer;
use rumor_wire::Envelope;

use crate::{TransportError, frame};

/// Where the answer to one request goes: back on the connection the
/// request came on, sealed like it. Dropping it without sending closes the
/// connection (the requester sees no answer). A `Reply` may send several
/// frames (a stream of answers) for as long as the requester reads them.
#[derive(Debug)]
pub struct Reply {
    stream: TcpStream,
    peer: SocketAddr,
    sealer: Option<Arc<Sealer>>,
    max_frame: usize,
}

impl Reply {
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        sealer: Option<Arc<Sealer>>,
        max_frame: usize,
    ) -> Reply {
        Reply {
            stream,
            peer,
            sealer,
            max_frame,
        }
    }

    /// The requester's address, as the connection shows it.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Writes one answer frame, waiting at most `timeout` for the
    /// requester to take it.
    pub fn send(&mut self, envelope: &Envelope, timeout: Duration) -> Result<(), TransportError> {
        self.stream
            .set_write_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        frame::write_frame(
            &mut self.stream,
            envelope,
            self.sealer.as_deref(),
            self.max_frame,
        )
    }

    /// Writes one answer frame whose envelope the caller encoded already
    /// (an answer built in place, such as a batch of result lines written
    /// line by line), sealed like [`Reply::send`]'s; waits at most
    /// `timeout` for the requester to take it.
    pub fn send_encoded(&mut self, body: &[u8], timeout: Duration) -> Result<(), TransportError> {
        self.stream
            .set_write_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        let mut frame = Vec::new();
        frame::frame_encoded(body, self.sealer.as_deref(), self.max_frame, &mut frame)?;
        self.stream.write_all(&frame)?;
        Ok(())
    }
}

//! Sealed TCP frames: with a cluster key, the frames that change membership
//! (joins and their answers) carry a tag the receiver checks, so only key
//! holders can join or admit.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rumor_wire::{DEFAULT_MAX_FRAME, Envelope, WireError};

/// Seals and opens frame bodies under a key the cluster shares. The body is
/// an encoded envelope; a sealed body is the envelope followed by a tag.
pub trait FrameAuth: Send + Sync + std::fmt::Debug {
    /// Appends the tag of `body` to it.
    fn seal(&self, body: &mut Vec<u8>);
    /// The envelope bytes of a sealed body if its tag is valid.
    fn open<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]>;
}

/// Connects to `to` within `timeout` and writes `envelope` as one frame,
/// sealed by `auth` when given; closes (fire-and-forget).
pub fn send_frame(
    to: SocketAddr,
    envelope: &Envelope,
    auth: Option<&dyn FrameAuth>,
    timeout: Duration,
) -> Result<(), WireError> {
    let Some(auth) = auth else {
        return rumor_wire::tcp::send(to, envelope, timeout);
    };
    let mut frame = vec![0u8; 4];
    rumor_wire::encode_to_vec(envelope, &mut frame, DEFAULT_MAX_FRAME)?;
    let mut body = frame.split_off(4);
    auth.seal(&mut body);
    let len = u32::try_from(body.len()).map_err(|_| WireError::TooLarge {
        limit: DEFAULT_MAX_FRAME,
    })?;
    frame.copy_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    let mut stream = TcpStream::connect_timeout(&to, timeout)?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&frame)?;
    Ok(())
}

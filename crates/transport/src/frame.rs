//! Frames on a stream: a 4-byte big-endian length prefix, then one encoded
//! envelope, sealed under the cluster's keyring when it has one.
//!
//! With a keyring every frame is sealed and nothing else is accepted; a
//! cluster without one speaks in the clear. The length prefix is checked
//! against the maximum before anything is allocated.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use rumor_seal::Sealer;
use rumor_wire::{Envelope, WireError};

use crate::TransportError;

/// Seals (when `sealer` is given) and frames `envelope` into `out`
/// (cleared first): what goes on the wire.
pub fn encode_frame(
    envelope: &Envelope,
    sealer: Option<&Sealer>,
    max_frame: usize,
    out: &mut Vec<u8>,
) -> Result<(), TransportError> {
    out.clear();
    out.extend_from_slice(&[0; 4]);
    match sealer {
        None => rumor_wire::encode_to_vec(envelope, out, max_frame)?,
        Some(sealer) => {
            let mut plain = Vec::new();
            rumor_wire::encode_to_vec(envelope, &mut plain, max_frame)?;
            // Appends after the prefix.
            sealer.seal_now(&plain, out)?;
        }
    }
    let len = out.len() - 4;
    if len > max_frame {
        return Err(WireError::TooLarge { limit: max_frame }.into());
    }
    let prefix = u32::try_from(len).map_err(|_| WireError::TooLarge { limit: max_frame })?;
    out[..4].copy_from_slice(&prefix.to_be_bytes());
    Ok(())
}

/// Seals (when `sealer` is given) and frames `body`, an envelope its caller
/// encoded already (as [`rumor_wire::encode_to_vec`] does), into `out`
/// (cleared first): for answers built in place rather than through an
/// [`Envelope`] value. The body is not checked: its caller vouches for it.
pub fn frame_encoded(
    body: &[u8],
    sealer: Option<&Sealer>,
    max_frame: usize,
    out: &mut Vec<u8>,
) -> Result<(), TransportError> {
    out.clear();
    out.reserve(4 + body.len() + sealer.map_or(0, Sealer::overhead));
    out.extend_from_slice(&[0; 4]);
    match sealer {
        None => out.extend_from_slice(body),
        // Appends after the prefix.
        Some(sealer) => sealer.seal_now(body, out)?,
    }
    let len = out.len() - 4;
    if len > max_frame {
        return Err(WireError::TooLarge { limit: max_frame }.into());
    }
    let prefix = u32::try_from(len).map_err(|_| WireError::TooLarge { limit: max_frame })?;
    out[..4].copy_from_slice(&prefix.to_be_bytes());
    Ok(())
}

/// Writes `envelope` as one frame.
pub fn write_frame(
    writer: &mut impl Write,
    envelope: &Envelope,
    sealer: Option<&Sealer>,
    max_frame: usize,
) -> Result<(), TransportError> {
    let mut frame = Vec::new();
    encode_frame(envelope, sealer, max_frame, &mut frame)?;
    writer.write_all(&frame)?;
    Ok(())
}

/// Opens (when `sealer` is given) and decodes one frame body from `peer`.
pub fn decode_body(
    body: &[u8],
    sealer: Option<&Sealer>,
    peer: SocketAddr,
) -> Result<Envelope, TransportError> {
    match sealer {
        None => Ok(rumor_wire::decode(body)?),
        Some(sealer) => {
            let mut plain = Vec::with_capacity(body.len());
            sealer
                .open_now(body, &mut plain)
                .map_err(|cause| TransportError::Unsealed { peer, cause })?;
            Ok(rumor_wire::decode(&plain)?)
        }
    }
}

/// Reads one whole frame body into `buf`; `Ok(false)` on a clean end of
/// stream before a frame starts.
pub fn read_body(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    max_frame: usize,
) -> Result<bool, TransportError> {
    let Some(len) = rumor_wire::read_frame_len(reader, max_frame)? else {
        return Ok(false);
    };
    buf.clear();
    let read = reader.take(len as u64).read_to_end(buf)?;
    if read < len {
        return Err(WireError::Truncated {
            got: read,
            want: len,
        }
        .into());
    }
    Ok(true)
}

/// Reads and decodes one frame from `peer`; `Ok(None)` on a clean end of
/// stream.
pub fn read_frame(
    reader: &mut impl Read,
    sealer: Option<&Sealer>,
    max_frame: usize,
    peer: SocketAddr,
) -> Result<Option<Envelope>, TransportError> {
    let mut buf = Vec::new();
    if !read_body(reader, &mut buf, max_frame)? {
        return Ok(None);
    }
    decode_body(&buf, sealer, peer).map(Some)
}

/// A frame being read a piece at a time from a non-blocking stream: the
/// prefix, then the body, grown only as bytes arrive (a client that claims
/// a megabyte and trickles bytes holds what it sent, not what it claimed).
#[derive(Debug, Default)]
pub(crate) struct PartialFrame {
    prefix: [u8; 4],
    prefix_len: usize,
    want: Option<usize>,
    body: Vec<u8>,
}

/// What reading more of a frame gave.
#[derive(Debug)]
pub(crate) enum Progress {
    /// Not all there yet; the stream has nothing more now.
    Pending,
    /// The whole body.
    Complete(Vec<u8>),
    /// The stream closed before a frame started.
    Closed,
}

impl PartialFrame {
    /// Reads what `stream` has now.
    pub(crate) fn advance(
        &mut self,
        stream: &mut impl Read,
        max_frame: usize,
    ) -> Result<Progress, WireError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(want) = self.want {
                if self.body.len() == want {
                    return Ok(Progress::Complete(std::mem::take(&mut self.body)));
                }
                let room = (want - self.body.len()).min(chunk.len());
                match stream.read(&mut chunk[..room]) {
                    Ok(0) => {
                        return Err(WireError::Truncated {
                            got: self.body.len(),
                            want,
                        });
                    }
                    Ok(n) => self.body.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(Progress::Pending);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            match stream.read(&mut self.prefix[self.prefix_len..]) {
                Ok(0) if self.prefix_len == 0 => return Ok(Progress::Closed),
                Ok(0) => {
                    return Err(WireError::Truncated {
                        got: self.prefix_len,
                        want: 4,
                    });
                }
                Ok(n) => {
                    self.prefix_len += n;
                    if self.prefix_len == 4 {
                        let len = u32::from_be_bytes(self.prefix) as usize;
                        if len > max_frame {
                            return Err(WireError::FrameTooLarge {
                                size: len as u64,
                                max: max_frame,
                            });
                        }
                        self.want = Some(len);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Pending),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::Control;
    use rumor_wire::NodeId;

    fn envelope() -> Envelope {
        let me: NodeId = "127.0.0.1:3000#1".parse().unwrap();
        Envelope::new(me.addr, Control::MemberQuery)
    }

    #[test]
    fn clear_and_sealed_frames_round_trip() {
        let keyring = rumor_seal::Keyring::new(rumor_seal::generate_key().unwrap());
        let sealer = Sealer::new(keyring, "test", rumor_seal::SealerConfig::default()).unwrap();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for sealer in [None, Some(&sealer)] {
            let mut wire = Vec::new();
            write_frame(&mut wire, &envelope(), sealer, 1 << 20).unwrap();
            let back = read_frame(&mut &wire[..], sealer, 1 << 20, peer)
                .unwrap()
                .unwrap();
            assert_eq!(back, envelope());
        }
        // A clear frame is refused where a keyring is in force.
        let mut wire = Vec::new();
        write_frame(&mut wire, &envelope(), None, 1 << 20).unwrap();
        assert!(read_frame(&mut &wire[..], Some(&sealer), 1 << 20, peer).is_err());
    }

    #[test]
    fn a_frame_from_an_encoded_body_reads_as_the_envelope() {
        let keyring = rumor_seal::Keyring::new(rumor_seal::generate_key().unwrap());
        let sealer = Sealer::new(keyring, "test", rumor_seal::SealerConfig::default()).unwrap();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut body = Vec::new();
        rumor_wire::encode_to_vec(&envelope(), &mut body, 1 << 20).unwrap();
        for sealer in [None, Some(&sealer)] {
            let mut wire = Vec::new();
            frame_encoded(&body, sealer, 1 << 20, &mut wire).unwrap();
            let back = read_frame(&mut &wire[..], sealer, 1 << 20, peer)
                .unwrap()
                .unwrap();
            assert_eq!(back, envelope());
            // Over the maximum once framed (and sealed): refused.
            assert!(frame_encoded(&body, sealer, wire.len() - 5, &mut wire).is_err());
        }
    }

    #[test]
    fn a_partial_frame_grows_with_what_arrives_and_refuses_oversized_prefixes() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &envelope(), None, 1 << 20).unwrap();
        // Byte by byte, as a trickling client would send it.
        let mut partial = PartialFrame::default();
        let mut blocking = Trickle {
            bytes: wire.clone(),
            at: 0,
        };
        let body = loop {
            match partial.advance(&mut blocking, 1 << 20).unwrap() {
                Progress::Complete(body) => break body,
                Progress::Pending => continue,
                Progress::Closed => panic!("closed"),
            }
        };
        assert_eq!(body, wire[4..]);
        let huge = (2u32 << 20).to_be_bytes();
        let mut partial = PartialFrame::default();
        assert!(matches!(
            partial.advance(&mut &huge[..], 1 << 20),
            Err(WireError::FrameTooLarge { .. })
        ));
    }

    /// Gives one byte per read, then "would block" at the end.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at >= self.bytes.len() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            buf[0] = self.bytes[self.at];
            self.at += 1;
            Ok(1)
        }
    }
}

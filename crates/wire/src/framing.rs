//! TCP framing: a 4-byte big-endian length prefix, then one encoded envelope.

use std::io::{self, Read, Write};

use crate::{Envelope, WireError, codec};

/// The default largest frame accepted or sent: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;

/// Writes `envelope` as one frame. `scratch` is reused across calls to avoid
/// allocating per frame; frames larger than `max_frame` are refused.
pub fn write_frame<W: Write>(
    writer: &mut W,
    envelope: &Envelope,
    scratch: &mut Vec<u8>,
    max_frame: usize,
) -> Result<(), WireError> {
    scratch.clear();
    scratch.extend_from_slice(&[0; 4]);
    codec::encode_to_vec(envelope, scratch, max_frame)?;
    let len =
        u32::try_from(scratch.len() - 4).map_err(|_| WireError::TooLarge { limit: max_frame })?;
    scratch[..4].copy_from_slice(&len.to_be_bytes());
    writer.write_all(scratch)?;
    Ok(())
}

/// Reads one frame into `buf` (reused across calls) and decodes it.
///
/// The length prefix is checked against `max_frame` before anything is
/// allocated. Returns `Ok(None)` on a clean end of stream before a frame starts.
pub fn read_frame<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max_frame: usize,
) -> Result<Option<Envelope>, WireError> {
    if !read_frame_bytes(reader, buf, max_frame)? {
        return Ok(None);
    }
    codec::decode(buf).map(Some)
}

/// Reads a frame's 4-byte length prefix and checks it against `max_frame`,
/// for callers that read the body their own way. `Ok(None)` on a clean end
/// of stream before a frame starts.
pub fn read_frame_len<R: Read>(
    reader: &mut R,
    max_frame: usize,
) -> Result<Option<usize>, WireError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match reader.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(WireError::Truncated { got, want: 4 }),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max_frame {
        return Err(WireError::FrameTooLarge {
            size: len as u64,
            max: max_frame,
        });
    }
    Ok(Some(len))
}

/// Reads one frame's body into `buf` without decoding it, for callers that
/// check the bytes first (an authentication tag, say). `Ok(false)` on a clean
/// end of stream before a frame starts. The length prefix is checked against
/// `max_frame` before anything is allocated.
pub fn read_frame_bytes<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max_frame: usize,
) -> Result<bool, WireError> {
    let Some(len) = read_frame_len(reader, max_frame)? else {
        return Ok(false);
    };
    buf.clear();
    let read = reader.take(len as u64).read_to_end(buf)?;
    if read < len {
        return Err(WireError::Truncated {
            got: read,
            want: len,
        });
    }
    Ok(true)
}

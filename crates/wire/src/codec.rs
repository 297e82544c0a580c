//! Encoding envelopes into caller-provided buffers and decoding untrusted bytes.

use std::io;

use serde::Serialize;

use crate::{Envelope, PROTOCOL_VERSION, WireError, validate};

/// The default largest datagram rumor sends: fits a 1,500-byte Ethernet MTU
/// with room for IP and UDP headers.
pub const DEFAULT_DATAGRAM_LIMIT: usize = 1400;

/// Writes into a fixed slice and fails, rather than truncating, when it is full.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflowed: bool,
}

impl io::Write for SliceWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let end = self.len + data.len();
        if end > self.buf.len() {
            self.overflowed = true;
            return Err(io::Error::new(io::ErrorKind::WriteZero, "buffer full"));
        }
        self.buf[self.len..end].copy_from_slice(data);
        self.len = end;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts bytes without storing them.
struct CountingWriter(usize);

impl io::Write for CountingWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0 += data.len();
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn serialize<W: io::Write>(
    writer: W,
    value: &impl Serialize,
) -> Result<W, rmp_serde::encode::Error> {
    let mut ser = rmp_serde::Serializer::new(writer);
    value.serialize(&mut ser)?;
    Ok(ser.into_inner())
}

/// Encodes `envelope` into `buf`, returning the number of bytes written.
///
/// No heap allocation happens here. If the encoding does not fit in `buf`,
/// the result is [`WireError::TooLarge`] and the contents of `buf` are
/// unspecified: never send them.
pub fn encode_into(envelope: &Envelope, buf: &mut [u8]) -> Result<usize, WireError> {
    let limit = buf.len();
    let writer = SliceWriter {
        buf,
        len: 0,
        overflowed: false,
    };
    let mut ser = rmp_serde::Serializer::new(writer);
    match envelope.serialize(&mut ser) {
        Ok(()) => Ok(ser.into_inner().len),
        Err(_) if ser.get_ref().overflowed => Err(WireError::TooLarge { limit }),
        Err(e) => Err(WireError::Encode(e.to_string())),
    }
}

/// Encodes `envelope` as one datagram of at most `limit` bytes into `buf`
/// (which must be at least that long, or the smaller of the two applies).
pub fn encode_datagram(
    envelope: &Envelope,
    buf: &mut [u8],
    limit: usize,
) -> Result<usize, WireError> {
    let end = limit.min(buf.len());
    encode_into(envelope, &mut buf[..end])
}

/// Appends the encoding of `envelope` to `out`, failing if it would exceed
/// `limit` bytes. Allocates only if `out` must grow.
pub fn encode_to_vec(
    envelope: &Envelope,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), WireError> {
    let start = out.len();
    let out = serialize(&mut *out, envelope).map_err(|e| WireError::Encode(e.to_string()))?;
    if out.len() - start > limit {
        out.truncate(start);
        return Err(WireError::TooLarge { limit });
    }
    Ok(())
}

/// The number of bytes `value` encodes to, computed without allocating.
pub fn encoded_len(value: &impl Serialize) -> usize {
    match serialize(CountingWriter(0), value) {
        Ok(counter) => counter.0,
        // Our types always serialize; a failure means "cannot be sent".
        Err(_) => usize::MAX,
    }
}

/// Decodes one envelope from untrusted bytes.
///
/// Never panics. The MessagePack structure is checked first so that no
/// claimed length exceeds the input, which bounds what decoding allocates by
/// the input length. An envelope of another protocol version yields
/// [`WireError::UnsupportedProtocol`]; a message kind this build does not know
/// yields [`WireError::UnknownKind`].
pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
    validate::check(bytes)?;
    // The protocol version is the first field of the envelope array; read it
    // before the body, so a newer peer gets a precise error.
    if let [0x93, version, ..] = bytes {
        if *version != PROTOCOL_VERSION && *version < 0x80 {
            return Err(WireError::UnsupportedProtocol(*version));
        }
    }
    let envelope: Envelope = rmp_serde::from_slice(bytes).map_err(classify)?;
    // The check above reads the one-byte form every encoder writes; MessagePack
    // also allows a version in a longer integer form (`0xcc 0x03`), which only
    // the decoded value shows.
    if envelope.protocol != PROTOCOL_VERSION {
        return Err(WireError::UnsupportedProtocol(envelope.protocol));
    }
    Ok(envelope)
}

/// Decodes one datagram, refusing it unread if it exceeds `limit` bytes.
pub fn decode_datagram(bytes: &[u8], limit: usize) -> Result<Envelope, WireError> {
    if bytes.len() > limit {
        return Err(WireError::TooLarge { limit });
    }
    decode(bytes)
}

fn classify(err: rmp_serde::decode::Error) -> WireError {
    let text = err.to_string();
    if text.contains("unknown variant") {
        WireError::UnknownKind(text)
    } else {
        WireError::Malformed(text)
    }
}

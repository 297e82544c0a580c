//! A structural pre-check of MessagePack input, run before deserialization.
//!
//! serde pre-allocates collections from the length a peer claims (capped, but
//! the cap is a megabyte). Before handing untrusted bytes to the decoder we
//! walk the MessagePack structure once and check that every claimed length fits
//! in the bytes that remain. Every value takes at least one byte, so the
//! number of values still owed can never exceed the bytes left; with that
//! holding, whatever the decoder allocates is bounded by the input length.
//! The walk needs no stack and no allocation.

use crate::WireError;

fn malformed(what: &str, at: usize) -> WireError {
    WireError::Malformed(format!("{what} at byte {at}"))
}

/// Checks that `input` holds exactly one well-formed MessagePack value whose
/// claimed lengths all fit within the input.
pub(crate) fn check(input: &[u8]) -> Result<(), WireError> {
    let mut pos = 0usize;
    // Values still to read, counting nested container members.
    let mut owed: u64 = 1;
    while owed > 0 {
        let left = (input.len() - pos) as u64;
        if owed > left {
            return Err(malformed("claimed element count exceeds input", pos));
        }
        owed -= 1;
        let tag = input[pos];
        let at = pos;
        pos += 1;
        let read_len = |pos: &mut usize, width: usize| -> Result<u64, WireError> {
            let bytes = input
                .get(*pos..*pos + width)
                .ok_or_else(|| malformed("length field past end of input", at))?;
            *pos += width;
            Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        };
        // (bytes of payload to skip, values the container adds)
        let (skip, adds): (u64, u64) = match tag {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, u64::from(tag & 0x0f) * 2),
            0x90..=0x9f => (0, u64::from(tag & 0x0f)),
            0xa0..=0xbf => (u64::from(tag & 0x1f), 0),
            0xc1 => return Err(malformed("reserved tag 0xc1", at)),
            0xc4 | 0xd9 => (read_len(&mut pos, 1)?, 0),
            0xc5 | 0xda => (read_len(&mut pos, 2)?, 0),
            0xc6 | 0xdb => (read_len(&mut pos, 4)?, 0),
            0xc7 => (read_len(&mut pos, 1)? + 1, 0),
            0xc8 => (read_len(&mut pos, 2)? + 1, 0),
            0xc9 => (read_len(&mut pos, 4)? + 1, 0),
            0xca => (4, 0),
            0xcb => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 => (4, 0),
            0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, read_len(&mut pos, 2)?),
            0xdd => (0, read_len(&mut pos, 4)?),
            0xde => (0, read_len(&mut pos, 2)? * 2),
            0xdf => (0, read_len(&mut pos, 4)? * 2),
        };
        let left = (input.len() - pos) as u64;
        if skip > left {
            return Err(malformed("claimed length exceeds input", at));
        }
        pos += skip as usize;
        owed += adds;
    }
    if pos != input.len() {
        return Err(malformed("trailing bytes after message", pos));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_simple_values() {
        check(&[0x01]).unwrap();
        check(&[0x92, 0x01, 0xa1, b'x']).unwrap();
        check(&[0x81, 0xa1, b'k', 0xc0]).unwrap();
    }

    #[test]
    fn rejects_claims_beyond_input() {
        // array32 claiming four billion elements in six bytes
        assert!(check(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
        // str32 claiming more bytes than present
        assert!(check(&[0xdb, 0x00, 0x00, 0x10, 0x00, b'a']).is_err());
        // map16 with too few entries present
        assert!(check(&[0xde, 0x00, 0x02, 0x01, 0x02]).is_err());
    }

    #[test]
    fn rejects_truncation_trailing_and_reserved() {
        assert!(check(&[]).is_err());
        assert!(check(&[0xcd, 0x01]).is_err());
        assert!(check(&[0x01, 0x02]).is_err());
        assert!(check(&[0xc1]).is_err());
    }
}

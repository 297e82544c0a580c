//! The TCP side: arbitrary bytes as a stream of frames (4-byte big-endian
//! length prefix, then a body) through `rumor_transport::frame`.
//!
//! Input: one mode byte, then the stream. Mode, modulo 3:
//! 0. in the clear: `read_frame` frame after frame, as the service reads a
//!    cluster without a keyring;
//! 1. sealed: `read_body`, then `decode_body` under the fuzz keyring (at the
//!    system clock, as the service opens), and the same body opened at its
//!    own timestamp and decoded, so captured sealed frames get past the
//!    freshness check to the tag and the decoder;
//! 2. resealed: each body is taken as a clear envelope, sealed now and read
//!    back with `read_frame` under the sealer, which must decode it exactly
//!    as the clear decoder does: sealing is transparent.

#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use rumor_fuzz::fuzz_sealer;
use rumor_transport::frame::{decode_body, frame_encoded, read_body, read_frame};
use rumor_wire::DEFAULT_MAX_FRAME;

/// Frames read from one input at most: each costs little, but a stream of
/// empty frames is four bytes each.
const MAX_FRAMES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut stream)) = data.split_first() else {
        return;
    };
    let peer = SocketAddr::from(([127, 0, 0, 1], 1));
    let sealer = fuzz_sealer();
    match mode % 3 {
        0 => {
            for _ in 0..MAX_FRAMES {
                match read_frame(&mut stream, None, DEFAULT_MAX_FRAME, peer) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
        1 => {
            let mut body = Vec::new();
            for _ in 0..MAX_FRAMES {
                match read_body(&mut stream, &mut body, DEFAULT_MAX_FRAME) {
                    Ok(true) => {}
                    Ok(false) | Err(_) => break,
                }
                let _ = decode_body(&body, Some(&sealer), peer);
                if let Some(sent) = body.get(9..17) {
                    let sent = u64::from_be_bytes(sent.try_into().expect("8 bytes"));
                    let mut plain = Vec::new();
                    if sealer.open_into(&body, &mut plain, sent).is_ok() {
                        let _ = rumor_wire::decode(&plain);
                    }
                }
            }
        }
        _ => {
            let mut body = Vec::new();
            let mut framed = Vec::new();
            for _ in 0..MAX_FRAMES {
                match read_body(&mut stream, &mut body, DEFAULT_MAX_FRAME) {
                    Ok(true) => {}
                    Ok(false) | Err(_) => break,
                }
                if body.len() + sealer.overhead() > DEFAULT_MAX_FRAME {
                    break;
                }
                let clear = rumor_wire::decode(&body).ok();
                frame_encoded(&body, Some(&sealer), DEFAULT_MAX_FRAME, &mut framed)
                    .expect("a body that fit a frame fits it sealed");
                let sealed = read_frame(&mut &framed[..], Some(&sealer), DEFAULT_MAX_FRAME, peer)
                    .ok()
                    .flatten();
                assert_eq!(
                    sealed, clear,
                    "a sealed frame decodes unlike its clear body"
                );
            }
        }
    }
});

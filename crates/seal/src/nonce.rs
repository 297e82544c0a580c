//! Random nonces from the operating system, drawn in blocks.

use std::cell::RefCell;

use crate::error::SealError;
use crate::packet::NONCE_LEN;

/// Nonces drawn per call to the operating system. One `getrandom` system
/// call takes about 370 ns for 24 bytes (benches/README.md, "Sealing"),
/// a fifth of sealing a ping; a block of 32 nonces makes it about 12 ns
/// each.
const BLOCK_NONCES: usize = 32;

struct Block {
    bytes: [u8; NONCE_LEN * BLOCK_NONCES],
    next: usize,
}

thread_local! {
    // Per thread, so concurrent sealers never contend or share bytes.
    static BLOCK: RefCell<Block> = const {
        RefCell::new(Block { bytes: [0; NONCE_LEN * BLOCK_NONCES], next: NONCE_LEN * BLOCK_NONCES })
    };
}

/// A nonce never handed out before by this process: 24 bytes straight from
/// the operating system's random source.
///
/// Every byte is used once and the block is per thread. A process that
/// forks and seals in both parent and child would hand the child's copy of
/// the block out twice; rumor never forks without exec.
pub(crate) fn fresh_nonce() -> Result<[u8; NONCE_LEN], SealError> {
    BLOCK.with_borrow_mut(|block| {
        if block.next + NONCE_LEN > block.bytes.len() {
            getrandom::fill(&mut block.bytes).map_err(SealError::random)?;
            block.next = 0;
        }
        let mut nonce = [0u8; NONCE_LEN];
        let used = &mut block.bytes[block.next..block.next + NONCE_LEN];
        nonce.copy_from_slice(used);
        // Nonces are public, but a used one has no reason to linger.
        used.fill(0);
        block.next += NONCE_LEN;
        Ok(nonce)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn nonces_are_distinct_across_blocks() {
        let nonces: HashSet<_> = (0..10 * BLOCK_NONCES)
            .map(|_| fresh_nonce().unwrap())
            .collect();
        assert_eq!(nonces.len(), 10 * BLOCK_NONCES);
        assert!(!nonces.contains(&[0; NONCE_LEN]));
    }
}

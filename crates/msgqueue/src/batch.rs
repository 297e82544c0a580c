//! What one swap hands the consumer.

use std::net::SocketAddr;

use crate::arena::{Arena, Datagrams};

/// The datagrams queued between two swaps, read without any lock.
///
/// Borrows the consumer's front arena; dropping the batch resets that arena,
/// keeping its capacity for the swap after next.
#[derive(Debug)]
pub struct Batch<'a> {
    arena: &'a mut Arena,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(arena: &'a mut Arena) -> Batch<'a> {
        Batch { arena }
    }

    /// Every datagram with its source address, in the order producers queued
    /// them (per producer: the order it pushed).
    pub fn iter(&self) -> Datagrams<'_> {
        self.arena.datagrams()
    }

    /// The number of datagrams.
    pub fn len(&self) -> usize {
        self.arena.len()
    }

    /// True if nothing was queued since the previous swap.
    pub fn is_empty(&self) -> bool {
        self.arena.is_empty()
    }
}

impl<'b> IntoIterator for &'b Batch<'_> {
    type Item = (SocketAddr, &'b [u8]);
    type IntoIter = Datagrams<'b>;

    fn into_iter(self) -> Datagrams<'b> {
        self.iter()
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.arena.reset();
    }
}

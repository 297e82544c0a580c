//! A buffer's private arena: every queued datagram's bytes in one growable
//! region, plus an index of where each one starts.
//!
//! Both vectors are cleared, never freed, between batches, so once they have
//! grown to the traffic's high-water mark no datagram causes an allocation.

use std::net::SocketAddr;

/// Where one datagram lives in the arena and who sent it.
#[derive(Debug, Clone, Copy)]
struct Record {
    from: SocketAddr,
    start: usize,
    len: usize,
}

/// One buffer of the double buffer.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    bytes: Vec<u8>,
    records: Vec<Record>,
}

impl Arena {
    /// Datagrams held.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// True if no datagram is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Payload bytes held.
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends a copy of `datagram`. Allocates only if the arena must grow
    /// past its high-water mark.
    pub(crate) fn push(&mut self, from: SocketAddr, datagram: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(datagram);
        self.records.push(Record {
            from,
            start,
            len: datagram.len(),
        });
    }

    /// The `index`th datagram held.
    #[cfg(test)]
    pub(crate) fn get(&self, index: usize) -> Option<(SocketAddr, &[u8])> {
        self.datagrams().nth(index)
    }

    /// Every datagram held, oldest first.
    pub(crate) fn datagrams(&self) -> Datagrams<'_> {
        Datagrams {
            bytes: &self.bytes,
            records: self.records.iter(),
        }
    }

    /// Forgets every datagram, keeping the capacity of both vectors.
    pub(crate) fn reset(&mut self) {
        self.bytes.clear();
        self.records.clear();
    }

    /// Capacity in bytes and in records, for tests of reuse.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> (usize, usize) {
        (self.bytes.capacity(), self.records.capacity())
    }
}

/// The datagrams of a [`crate::Batch`], oldest first, as borrowed slices of
/// the arena.
#[derive(Debug, Clone)]
pub struct Datagrams<'a> {
    bytes: &'a [u8],
    records: std::slice::Iter<'a, Record>,
}

impl<'a> Iterator for Datagrams<'a> {
    type Item = (SocketAddr, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        Some((
            record.from,
            &self.bytes[record.start..record.start + record.len],
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

impl ExactSizeIterator for Datagrams<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn holds_datagrams_in_order_with_their_sources() {
        let mut arena = Arena::default();
        arena.push(addr(1), b"one");
        arena.push(addr(2), b"");
        arena.push(addr(3), b"three");
        assert_eq!(arena.len(), 3);
        assert_eq!(arena.byte_len(), 8);
        assert_eq!(arena.get(0), Some((addr(1), &b"one"[..])));
        assert_eq!(arena.get(1), Some((addr(2), &b""[..])));
        assert_eq!(arena.get(2), Some((addr(3), &b"three"[..])));
        assert_eq!(arena.get(3), None);
    }

    #[test]
    fn reset_empties_and_keeps_capacity() {
        let mut arena = Arena::default();
        for port in 0..100 {
            arena.push(addr(port), &[7; 100]);
        }
        let grown = arena.capacity();
        arena.reset();
        assert!(arena.is_empty());
        assert_eq!(arena.byte_len(), 0);
        assert_eq!(arena.capacity(), grown);
        assert!(grown.0 >= 10_000 && grown.1 >= 100);
    }
}

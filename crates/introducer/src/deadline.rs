//! Reading from a TCP stream against one overall deadline.
//!
//! A per-read timeout alone lets a slow client trickle one byte just inside
//! each timeout and hold a handler thread for as long as it likes. Here every
//! read gets only the time left before one deadline fixed when the
//! connection was accepted.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A reader over a [`TcpStream`] that fails with [`io::ErrorKind::TimedOut`]
/// once `deadline` has passed, however the bytes trickle in.
#[derive(Debug)]
pub struct DeadlineReader<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl<'a> DeadlineReader<'a> {
    /// Reads from `stream` until `deadline`.
    pub fn new(stream: &'a TcpStream, deadline: Instant) -> DeadlineReader<'a> {
        DeadlineReader { stream, deadline }
    }
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "deadline passed before the frame was complete",
            ));
        }
        // A zero timeout would mean "block forever"; the guard above rules it out.
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        match self.stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "deadline passed before the frame was complete",
            )),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn a_trickling_writer_cannot_outlast_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let mut client = TcpStream::connect(addr).unwrap();
            // One byte every 40 ms: each read alone would finish well inside 100 ms.
            for _ in 0..20 {
                if client.write_all(&[0]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        let (stream, _) = listener.accept().unwrap();
        let started = Instant::now();
        let mut reader = DeadlineReader::new(&stream, started + Duration::from_millis(150));
        let mut sink = Vec::new();
        let err = reader.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            sink.len() < 20,
            "read {} bytes past the deadline",
            sink.len()
        );
        drop(stream);
        writer.join().unwrap();
    }
}

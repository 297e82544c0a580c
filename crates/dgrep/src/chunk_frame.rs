//! A [`DgrepChunk`] frame written and read line by line, without a heap value
//! per line.
//!
//! Result lines dominate what a query moves, and the generic codec builds a
//! `GrepLine` (two allocations) for every line at both ends. Here the agent
//! appends each line's MessagePack straight into the frame it will send
//! ([`ChunkWriter`]), and the client keeps the received frame as it is and
//! reads the lines out of it in place ([`Chunk`]). The bytes are exactly the
//! generic codec's: the envelope head comes from [`rumor_wire::encode_to_vec`],
//! the lines are MessagePack arrays `[file, line_number, text]`, and any
//! frame this reader does not recognise is decoded the generic way instead.

use std::net::SocketAddr;

use rumor_wire::{
    DEFAULT_MAX_FRAME, Dgrep, DgrepChunk, Envelope, GrepLine, NodeId, PROTOCOL_VERSION, WireError,
    encode_to_vec,
};

/// MessagePack markers used here.
const NIL: u8 = 0xc0;
const ARRAY32: u8 = 0xdd;
const EMPTY_FIXARRAY: u8 = 0x90;
const LINE_ARRAY: u8 = 0x93;

/// Builds one `DgrepChunk` frame (length prefix included) line by line.
#[derive(Debug)]
pub(crate) struct ChunkWriter {
    frame: Vec<u8>,
    /// Bytes up to and including the line count.
    head: usize,
    lines: u32,
}

impl ChunkWriter {
    /// A writer of chunks for `query`, answered by `node`, sent from `from`.
    pub(crate) fn new(
        from: SocketAddr,
        query: u64,
        node: NodeId,
    ) -> Result<ChunkWriter, WireError> {
        let template = Envelope::new(
            from,
            Dgrep::Chunk(DgrepChunk {
                query,
                node,
                lines: Vec::new(),
            }),
        );
        let mut frame = vec![0; 4];
        encode_to_vec(&template, &mut frame, DEFAULT_MAX_FRAME)?;
        // The line list is the last value of the envelope: an empty array.
        // Replace it with a 32-bit array header, its count filled in at the end.
        if frame.pop() != Some(EMPTY_FIXARRAY) {
            return Err(WireError::Encode(
                "a chunk's line list is not the last value of its envelope".into(),
            ));
        }
        frame.extend_from_slice(&[ARRAY32, 0, 0, 0, 0]);
        let head = frame.len();
        Ok(ChunkWriter {
            frame,
            head,
            lines: 0,
        })
    }

    /// Appends one line.
    pub(crate) fn push(&mut self, file: &str, line_number: Option<u64>, text: &[u8]) {
        let out = &mut self.frame;
        out.push(LINE_ARRAY);
        put_len(out, file.len(), 0xa0, 32, [0xd9, 0xda, 0xdb]);
        out.extend_from_slice(file.as_bytes());
        match line_number {
            None => out.push(NIL),
            Some(n) => put_uint(out, n),
        }
        put_len(out, text.len(), 0, 0, [0xc4, 0xc5, 0xc6]);
        out.extend_from_slice(text);
        self.lines += 1;
    }

    /// Lines held.
    pub(crate) fn lines(&self) -> u32 {
        self.lines
    }

    /// The frame's size so far, in bytes, length prefix included.
    pub(crate) fn frame_len(&self) -> usize {
        self.frame.len()
    }

    /// The frame's size so far without its length prefix: what is sealed
    /// and sent.
    pub(crate) fn body_len(&self) -> usize {
        self.frame.len() - 4
    }

    /// The size of the frame holding no line: what every chunk costs.
    pub(crate) fn empty_body_len(&self) -> usize {
        self.head - 4
    }

    /// At most the bytes [`ChunkWriter::push`] adds for this line.
    pub(crate) fn line_len(file: &str, text: &[u8]) -> usize {
        // Array marker; string header and file; a u64 at most; bin header and text.
        1 + 5 + file.len() + 9 + 5 + text.len()
    }

    /// Completes the frame (count and length prefix) and returns it, ready to
    /// write; then call [`ChunkWriter::clear`].
    pub(crate) fn finish(&mut self) -> Result<&[u8], WireError> {
        let body = self.frame.len() - 4;
        if body > DEFAULT_MAX_FRAME {
            return Err(WireError::TooLarge {
                limit: DEFAULT_MAX_FRAME,
            });
        }
        let len = u32::try_from(body).map_err(|_| WireError::TooLarge {
            limit: DEFAULT_MAX_FRAME,
        })?;
        self.frame[..4].copy_from_slice(&len.to_be_bytes());
        self.frame[self.head - 4..self.head].copy_from_slice(&self.lines.to_be_bytes());
        Ok(&self.frame)
    }

    /// Drops the lines, keeping the head and the capacity.
    pub(crate) fn clear(&mut self) {
        self.frame.truncate(self.head);
        self.lines = 0;
    }
}

/// Writes a MessagePack length header: a fix form for lengths below
/// `fix_limit` (tag `fix | len`), then the 8, 16 and 32-bit forms.
fn put_len(out: &mut Vec<u8>, len: usize, fix: u8, fix_limit: usize, tags: [u8; 3]) {
    if len < fix_limit {
        out.push(fix | len as u8);
    } else if let Ok(n) = u8::try_from(len) {
        out.extend_from_slice(&[tags[0], n]);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(tags[1]);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        // Lines are bounded far below 4 GiB (see MAX_LINE_BYTES).
        out.push(tags[2]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn put_uint(out: &mut Vec<u8>, n: u64) {
    if n < 0x80 {
        out.push(n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.extend_from_slice(&[0xcc, n]);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(0xcd);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0xce);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A received batch of result lines, kept as the frame it arrived in; its
/// lines are read in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    query: u64,
    node: NodeId,
    frame: Vec<u8>,
    /// Where the first line starts.
    lines_at: usize,
    count: usize,
}

/// One line of a [`Chunk`], borrowed from its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRef<'a> {
    /// The file name as the agent reports it.
    pub file: &'a str,
    /// The 1-based line number, when `-n` was asked for.
    pub line_number: Option<u64>,
    /// The line without its terminator.
    pub text: &'a [u8],
}

impl Chunk {
    /// Reads a frame (an encoded envelope, without its length prefix) holding
    /// a `DgrepChunk`, checking every line. Hands the frame back if it is not
    /// one in the layout this build writes; decode it the generic way then.
    pub fn parse(frame: Vec<u8>) -> Result<Chunk, Vec<u8>> {
        match Chunk::head(&frame) {
            Some((query, node, lines_at, count)) => Ok(Chunk {
                query,
                node,
                frame,
                lines_at,
                count,
            }),
            None => Err(frame),
        }
    }

    /// Parses the envelope head and walks every line once; `None` if any
    /// byte is not as expected or the frame does not end after the last line.
    fn head(frame: &[u8]) -> Option<(u64, NodeId, usize, usize)> {
        let mut r = Reader::new(frame, 0);
        if r.byte()? != 0x93 || r.uint()? != u64::from(PROTOCOL_VERSION) {
            return None;
        }
        // from: a compact address, family 4 or 6, IP and port.
        match r.bin()? {
            from if matches!((from.first(), from.len()), (Some(4), 7) | (Some(6), 19)) => {}
            _ => return None,
        }
        // body: {"d": {"Chunk": [query, node, lines]}}
        if r.byte()? != 0x81 || r.str()? != "d" || r.byte()? != 0x81 {
            return None;
        }
        if r.str()? != "Chunk" || r.byte()? != 0x93 {
            return None;
        }
        let query = r.uint()?;
        let node_at = r.at;
        r.bin()?;
        let node: NodeId = rmp_serde::from_slice(&frame[node_at..r.at]).ok()?;
        let count = r.array()?;
        let lines_at = r.at;
        for _ in 0..count {
            r.line()?;
        }
        (r.at == frame.len()).then_some((query, node, lines_at, count))
    }

    /// A chunk holding `chunk`'s lines, encoded as an agent sends them.
    pub fn from_chunk(chunk: &DgrepChunk) -> Result<Chunk, WireError> {
        let mut writer = ChunkWriter::new(chunk.node.addr, chunk.query, chunk.node)?;
        for line in &chunk.lines {
            writer.push(&line.file, line.line_number, &line.text);
        }
        let frame = writer.finish()?[4..].to_vec();
        Chunk::parse(frame)
            .map_err(|_| WireError::Encode("a chunk this build wrote does not read back".into()))
    }

    /// The query this answers.
    pub fn query(&self) -> u64 {
        self.query
    }

    /// The agent that searched.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the chunk holds no line.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The lines, in file order.
    pub fn lines(&self) -> impl Iterator<Item = LineRef<'_>> + '_ {
        let mut r = Reader::new(&self.frame, self.lines_at);
        // Every line was checked by `parse`, so this reads them all.
        (0..self.count).map_while(move |_| r.line())
    }

    /// The lines as owned values.
    pub fn to_lines(&self) -> Vec<GrepLine> {
        self.lines()
            .map(|l| GrepLine {
                file: l.file.to_owned(),
                line_number: l.line_number,
                text: l.text.to_vec(),
            })
            .collect()
    }
}

/// A cursor over MessagePack bytes; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The last file name read: lines of one file repeat it, and comparing
    /// is cheaper than checking the UTF-8 again.
    last_file: &'a str,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], at: usize) -> Reader<'a> {
        Reader {
            bytes,
            at,
            last_file: "",
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn be(&mut self, width: usize) -> Option<u64> {
        Some(
            self.take(width)?
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    }

    /// A non-negative integer in any MessagePack form.
    fn uint(&mut self) -> Option<u64> {
        match self.byte()? {
            b @ 0x00..=0x7f => Some(u64::from(b)),
            0xcc => self.be(1),
            0xcd => self.be(2),
            0xce => self.be(4),
            0xcf => self.be(8),
            0xd0 => (self.be(1)? as u8 as i8).try_into().ok(),
            0xd1 => (self.be(2)? as u16 as i16).try_into().ok(),
            0xd2 => (self.be(4)? as u32 as i32).try_into().ok(),
            0xd3 => (self.be(8)? as i64).try_into().ok(),
            _ => None,
        }
    }

    /// A file name: a string, usually the same as the line before's.
    fn file(&mut self) -> Option<&'a str> {
        let start = self.at;
        let file = self.str_bytes()?;
        if file == self.last_file.as_bytes() {
            return Some(self.last_file);
        }
        match std::str::from_utf8(file) {
            Ok(file) => {
                self.last_file = file;
                Some(file)
            }
            Err(_) => {
                self.at = start;
                None
            }
        }
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.str_bytes()?).ok()
    }

    fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let len = match self.byte()? {
            b @ 0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => return None,
        };
        self.take(len)
    }

    fn bin(&mut self) -> Option<&'a [u8]> {
        let len = match self.byte()? {
            0xc4 => self.be(1)?,
            0xc5 => self.be(2)?,
            0xc6 => self.be(4)?,
            _ => return None,
        };
        self.take(usize::try_from(len).ok()?)
    }

    fn array(&mut self) -> Option<usize> {
        let len = match self.byte()? {
            b @ 0x90..=0x9f => u64::from(b & 0x0f),
            0xdc => self.be(2)?,
            0xdd => self.be(4)?,
            _ => return None,
        };
        usize::try_from(len).ok()
    }

    fn line(&mut self) -> Option<LineRef<'a>> {
        if self.byte()? != LINE_ARRAY {
            return None;
        }
        let file = self.file()?;
        let line_number = if self.bytes.get(self.at) == Some(&NIL) {
            self.at += 1;
            None
        } else {
            Some(self.uint()?)
        };
        let text = self.bin()?;
        Some(LineRef {
            file,
            line_number,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::Dgrep;
    use rumor_wire::decode;

    fn node() -> NodeId {
        "127.0.0.9:4000#77"
            .parse()
            .expect("a valid node id literal")
    }

    fn sample(lines: usize, text_len: usize, numbered: bool) -> DgrepChunk {
        DgrepChunk {
            query: 0xdead_beef_0000_0001,
            node: node(),
            lines: (0..lines)
                .map(|i| GrepLine {
                    file: if i % 2 == 0 {
                        "agent.log"
                    } else {
                        "dir/a-much-longer-file-name-over-thirty-one-bytes.log"
                    }
                    .into(),
                    line_number: numbered
                        .then_some([1, 127, 128, 255, 256, 65_535, 65_536, 1 << 33][i % 8]),
                    text: (0..text_len + i).map(|b| (b % 251) as u8).collect(),
                })
                .collect(),
        }
    }

    /// What the generic codec makes of a frame.
    fn generic(frame: &[u8]) -> DgrepChunk {
        match decode(frame).expect("the frame decodes").body {
            rumor_wire::Message::Dgrep(Dgrep::Chunk(c)) => c,
            other => panic!("decoded {} instead of a chunk", other.kind()),
        }
    }

    #[test]
    fn writes_what_the_generic_codec_reads_and_reads_it_back() {
        for (lines, text_len, numbered) in [
            (0, 0, false),
            (1, 0, true),
            (20, 30, true),
            (3, 300, false),
            (2, 70_000, true),
            (40, 1, false),
        ] {
            let chunk = sample(lines, text_len, numbered);
            let mut w = ChunkWriter::new("10.0.0.1:5000".parse().unwrap(), chunk.query, chunk.node)
                .unwrap();
            for line in &chunk.lines {
                w.push(&line.file, line.line_number, &line.text);
            }
            assert_eq!(w.lines() as usize, lines);
            let framed = w.finish().unwrap().to_vec();
            let len = u32::from_be_bytes(framed[..4].try_into().unwrap()) as usize;
            assert_eq!(len, framed.len() - 4);
            assert_eq!(generic(&framed[4..]), chunk, "{lines} lines of {text_len}");
            let read = Chunk::parse(framed[4..].to_vec()).expect("our own frame parses");
            assert_eq!(
                (read.query(), read.node(), read.len()),
                (chunk.query, chunk.node, lines)
            );
            assert_eq!(read.to_lines(), chunk.lines);
            // A cleared writer starts an empty chunk again.
            w.clear();
            assert_eq!(generic(&w.finish().unwrap()[4..]).lines, []);
        }
    }

    #[test]
    fn line_len_bounds_what_a_line_adds() {
        let mut w = ChunkWriter::new("10.0.0.1:5000".parse().unwrap(), 1, node()).unwrap();
        assert_eq!(w.body_len(), w.empty_body_len());
        for (file, number, text_len) in [
            ("a", None, 0),
            ("agent.log", Some(u64::MAX), 300),
            (&*"f".repeat(70_000), Some(5), 70_000),
        ] {
            let before = w.body_len();
            let text = vec![b'x'; text_len];
            w.push(file, number, &text);
            assert!(w.body_len() - before <= ChunkWriter::line_len(file, &text));
        }
    }

    #[test]
    fn reads_frames_of_the_generic_encoder() {
        let chunk = sample(9, 200, true);
        let mut frame = Vec::new();
        let envelope = Envelope::new(
            "10.0.0.1:5000".parse().unwrap(),
            Dgrep::Chunk(chunk.clone()),
        );
        encode_to_vec(&envelope, &mut frame, DEFAULT_MAX_FRAME).unwrap();
        let read = Chunk::parse(frame).expect("the generic encoding parses");
        assert_eq!(read.to_lines(), chunk.lines);
        let ours = Chunk::from_chunk(&chunk).unwrap();
        assert_eq!((ours.query(), ours.node()), (read.query(), read.node()));
        assert!(ours.lines().eq(read.lines()));
    }

    #[test]
    fn hands_back_anything_else_without_panicking() {
        let chunk = sample(5, 40, true);
        let frame = Chunk::from_chunk(&chunk).unwrap().frame;
        // Every truncation and every single-byte change is either refused or
        // read as exactly what the generic decoder reads.
        for cut in 0..frame.len() {
            assert!(Chunk::parse(frame[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        for at in 0..frame.len() {
            for flip in [0x01, 0x10, 0x80, 0xff] {
                let mut bad = frame.clone();
                bad[at] ^= flip;
                if let Ok(read) = Chunk::parse(bad.clone()) {
                    let generic = generic(&bad);
                    assert_eq!((read.query(), read.node()), (generic.query, generic.node));
                    assert_eq!(read.to_lines(), generic.lines, "byte {at} ^ {flip:#x}");
                }
            }
        }
        let done = Envelope::new(
            node().addr,
            Dgrep::Done(rumor_wire::DgrepDone::new(1, node())),
        );
        let mut frame = Vec::new();
        encode_to_vec(&done, &mut frame, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(Chunk::parse(frame.clone()), Err(frame));
    }
}

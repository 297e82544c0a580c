//! The search worker: memory-mapped searches answer as the agent's own
//! reads do, and a worker killed by SIGBUS (a file truncated under its map)
//! is reported to the client while the agent lives on and starts another.
//!
//! This test process plays the agent: it owns the `SearchWorkers` and the
//! `dgrep-worker` processes they start.

mod support;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rumor_dgrep::{DgrepError, SearchWorkers, ServeConfig, answer};
use rumor_transport::{Exchange, Reply};
use rumor_wire::{Dgrep, DgrepDone, DgrepRequest, GrepFlags, GrepLine, Message, NodeId};
use support::{Desk, data_dir, write_logs};

const WORKER: &str = env!("CARGO_BIN_EXE_dgrep-worker");

fn node() -> NodeId {
    "127.0.0.1:4000#1763899990001"
        .parse()
        .expect("a valid node id literal")
}

fn request(query: u64, pattern: &str, flags: GrepFlags) -> DgrepRequest {
    DgrepRequest {
        query,
        patterns: vec![pattern.to_owned()],
        flags,
    }
}

/// Reads one answer's frames from the connection until its `DgrepDone`.
fn read_answer(exchange: &mut Exchange<'_>) -> (Vec<GrepLine>, DgrepDone) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        let envelope = exchange
            .next(deadline)
            .expect("well-formed frames")
            .expect("the answer ends with a DgrepDone, not a closed connection");
        match envelope.body {
            Message::Dgrep(Dgrep::Chunk(chunk)) => lines.extend(chunk.lines),
            Message::Dgrep(Dgrep::Done(done)) => return (lines, done),
            other => panic!("unexpected {} frame", other.kind()),
        }
    }
}

/// Asks `desk` for `req`, answers it with `answer(reply)` on a thread, and
/// collects what comes back on the connection.
fn ask(
    desk: &Desk,
    req: &DgrepRequest,
    answer: impl FnOnce(Reply) -> Result<(), DgrepError> + Send + 'static,
) -> (Vec<GrepLine>, DgrepDone) {
    let (mut exchange, reply) = desk.request(Dgrep::Request(req.clone()));
    let asker = thread::spawn(move || answer(reply));
    let answer = read_answer(&mut exchange);
    asker
        .join()
        .expect("the answering thread does not panic")
        .expect("the client was reached");
    answer
}

#[test]
fn mapped_searches_answer_as_reads_do() {
    let dir = data_dir();
    write_logs(dir.path(), 7, 20_000, true);
    // A file with a NUL byte early on: output stops there either way.
    let mut binary = b"ERROR before\nERROR on a line with a \0 in it\nERROR after\n".to_vec();
    binary.extend_from_slice(&b"INFO filler ERROR\n".repeat(100));
    std::fs::write(dir.path().join("binary.log"), binary).expect("write binary.log");
    std::fs::write(dir.path().join("empty.log"), b"").expect("write empty.log");
    let globs = ["agent.log", "events.jsonl", "binary.log", "empty.log"]
        .iter()
        .map(|f| dir.path().join(f).display().to_string())
        .collect();
    let config = ServeConfig::new(globs, dir.path().to_path_buf());
    let workers = std::sync::Arc::new(SearchWorkers::new(WORKER, &config));
    let desk = Desk::new();
    let flags_with = |set: fn(&mut GrepFlags)| {
        let mut flags = GrepFlags::default();
        set(&mut flags);
        flags
    };
    let flag_sets = [
        GrepFlags::default(),
        flags_with(|f| {
            f.line_number = true;
            f.ignore_case = true;
        }),
        flags_with(|f| {
            f.invert = true;
            f.max_count = Some(500);
        }),
        flags_with(|f| {
            f.count = true;
        }),
        flags_with(|f| {
            f.word = true;
            f.line_number = true;
        }),
        // Context reaches the worker: its answer holds the lines around.
        flags_with(|f| {
            f.line_number = true;
            f.max_count = Some(40);
            f.context = Some((2, 3));
        }),
    ];
    for (i, flags) in flag_sets.into_iter().enumerate() {
        for pattern in [
            "ERROR",
            "needle-only-here",
            "user=(bob|carol) ms=1[0-9]{2}$",
        ] {
            let req = request(i as u64, pattern, flags.clone());
            let (read_lines, read_done) = {
                let (req, config) = (req.clone(), config.clone());
                ask(&desk, &req.clone(), move |to| {
                    answer(req, to, node(), &config)
                })
            };
            let (mapped_lines, mapped_done) = {
                let (req, workers) = (req.clone(), workers.clone());
                ask(&desk, &req.clone(), move |to| {
                    workers.answer(req, to, node())
                })
            };
            let what = format!("{pattern:?} with {flags:?}");
            assert_eq!(mapped_done.error, None, "{what}");
            assert_eq!(mapped_done.counts, read_done.counts, "{what}");
            assert_eq!(mapped_lines, read_lines, "{what}");
            assert!(
                flags.count || flags.invert || !read_lines.is_empty(),
                "{what} selects something"
            );
            let selected: u64 = read_done.counts.iter().map(|c| c.count).sum();
            if flags.context.is_some() && selected > 0 {
                assert!(read_lines.len() as u64 > selected, "{what} sends context");
            }
        }
    }
    // One worker served every query.
    assert_eq!(workers.started(), 1);
}

/// Writes `lines` lines that all match `match`, about 100 bytes each.
fn write_matching(path: &Path, lines: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create big.log"));
    for i in 0..lines {
        writeln!(
            file,
            "2026-11-24T02:00:00.000Z ERROR match line {i:09} padding padding padding padding padding"
        )
        .expect("write big.log");
    }
    file.flush().expect("flush big.log");
}

#[test]
fn a_worker_killed_by_sigbus_is_reported_and_replaced() {
    let dir = data_dir();
    let big = dir.path().join("big.log");
    // 40 MB of selected lines: far more than the pipe, socket buffers and
    // write buffers between the worker and a client that stops reading, so
    // the worker is still searching (and blocked) when the file shrinks.
    write_matching(&big, 400_000);
    let config = ServeConfig::new(vec![big.display().to_string()], dir.path().to_path_buf());
    let workers = std::sync::Arc::new(SearchWorkers::new(WORKER, &config));

    let desk = Desk::new();
    let (mut exchange, reply) =
        desk.request(Dgrep::Request(request(1, "match", GrepFlags::default())));
    let asker = {
        let workers = workers.clone();
        thread::spawn(move || {
            workers.answer(request(1, "match", GrepFlags::default()), reply, node())
        })
    };
    // The first chunk: the worker has mapped big.log and is searching it.
    let first = exchange
        .next(Instant::now() + Duration::from_secs(60))
        .expect("a well-formed frame")
        .expect("a first chunk");
    let Message::Dgrep(Dgrep::Chunk(first)) = first.body else {
        panic!("expected a chunk first, got {}", first.body.kind());
    };
    assert!(!first.lines.is_empty());
    // Shrink the file under the worker's map, then read on.
    OpenOptions::new()
        .write(true)
        .open(&big)
        .expect("open big.log")
        .set_len(0)
        .expect("truncate big.log");
    let (lines, done) = read_answer(&mut exchange);
    asker
        .join()
        .expect("the answering thread does not panic")
        .expect("the client was reached and told");
    let error = done.error.expect("the lost worker is reported as an error");
    assert!(error.contains("search worker failed"), "{error}");
    assert!(error.contains("SIGBUS"), "{error}");
    assert!(
        first.lines.len() + lines.len() < 400_000,
        "the answer stopped short"
    );

    // The agent (this process) lives on; a new worker was started in place of
    // the lost one, and answers the next query.
    assert_eq!(workers.started(), 2);
    write_matching(&big, 1_000);
    let (lines, done) = {
        let workers = workers.clone();
        let req = request(2, "match", GrepFlags::default());
        ask(&desk, &req.clone(), move |to| {
            workers.answer(req, to, node())
        })
    };
    assert_eq!(done.error, None);
    assert_eq!(lines.len(), 1_000);
    assert_eq!(done.counts[0].count, 1_000);
    assert_eq!(workers.started(), 2);
}

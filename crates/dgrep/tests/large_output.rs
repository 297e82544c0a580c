//! More than 100 MB of selected lines stream from two agents through the
//! client with bounded memory on both ends.
//!
//! The measurement runs in a child process (this test binary again, running
//! only the ignored `stream_in_child` test), so its peak resident set
//! (`VmHWM`) counts nothing but the two agents' answers and the client.

mod support;

use std::io::{self, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rumor_dgrep::LineMatcher;
use rumor_dgrep::ServeConfig;
use rumor_dgrep::client::fan_out;
use rumor_dgrep::output::{Output, OutputOptions};
use rumor_dgrep::report::{Messages, Printer, Status};
use rumor_wire::{DgrepRequest, GrepFlags};
use support::{Behaviour, data_dir, start_cluster};

const DATA_DIR_VAR: &str = "RUMOR_DGREP_LARGE_DATA";
const LINE_BYTES: usize = 1024;
const LINES_PER_NODE: usize = 60 * 1024;

/// 60 MiB of 1 KiB lines, each selected by the pattern `MATCH`.
fn write_big_log(path: &Path) {
    let mut block = Vec::with_capacity(LINE_BYTES * 1024);
    for i in 0..1024 {
        let head = format!("MATCH line {i:04} ");
        block.extend_from_slice(head.as_bytes());
        block.resize(block.len() + LINE_BYTES - 1 - head.len(), b'.');
        block.push(b'\n');
    }
    let mut file = io::BufWriter::new(std::fs::File::create(path).unwrap());
    for _ in 0..LINES_PER_NODE / 1024 {
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

/// Counts what the printer writes, keeping nothing.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
#[ignore = "run as a child process by more_than_100_mb_stream_with_bounded_memory"]
fn stream_in_child() {
    let dir = std::env::var(DATA_DIR_VAR).expect("run by the parent test");
    let dir = Path::new(&dir);
    let configs = ["a", "b"]
        .iter()
        .map(|name| {
            let glob = dir.join(format!("{name}.log")).display().to_string();
            (
                ServeConfig::new(vec![glob], dir.to_path_buf()),
                Behaviour::Answer,
            )
        })
        .collect();
    let ids = start_cluster(configs);
    let request = DgrepRequest {
        query: 99,
        patterns: vec!["MATCH".into()],
        flags: GrepFlags::default(),
    };
    let before = peak_rss_kib();
    let mut out = Counter::default();
    let matcher =
        LineMatcher::new(&request.patterns, &request.flags).expect("the pattern compiles");
    let output = Output::new(&mut out, OutputOptions::default(), matcher);
    let mut printer = Printer::new(output, io::sink(), Messages::default(), ids.len());
    let outcome = fan_out(&ids, &request, None, Duration::from_secs(300), &mut |r| {
        printer.reply(r)
    })
    .expect("fan-out runs");
    let status = printer.finish(&outcome).expect("summary prints");
    assert_eq!(status, Status::Selected);
    let selected: u64 = outcome
        .answered
        .iter()
        .flat_map(|d| &d.counts)
        .map(|c| c.count)
        .sum();
    println!(
        "RESULT selected={selected} printed={} before_kib={before} peak_kib={}",
        out.0,
        peak_rss_kib()
    );
}

#[test]
fn more_than_100_mb_stream_with_bounded_memory() {
    let dir = data_dir();
    write_big_log(&dir.path().join("a.log"));
    write_big_log(&dir.path().join("b.log"));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stream_in_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DATA_DIR_VAR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
        .expect("the child reports its result");
    let field = |name: &str| -> u64 {
        result
            .split(' ')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {result}"))
    };
    let lines = 2 * LINES_PER_NODE as u64;
    assert_eq!(field("selected"), lines);
    let printed = field("printed");
    assert!(printed > 100 << 20, "more than 100 MiB printed: {printed}");
    // Every line printed: its text plus the node and file prefix.
    assert!(printed > lines * LINE_BYTES as u64);
    let peak = field("peak_kib");
    assert!(
        peak < 64 * 1024,
        "peak resident set {peak} KiB while streaming {printed} bytes"
    );
    eprintln!("streamed {printed} bytes with a peak resident set of {peak} KiB");
}

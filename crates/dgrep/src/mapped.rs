//! Memory-mapped files, for the search worker process only.
//!
//! Searching a memory map skips the copy that `read` makes of every byte
//! (most of the CPU an agent spends on a `-c` query), but a mapped file that
//! shrinks while it is searched raises SIGBUS on the next access to a page
//! past its new end, and that kills the process. So maps are made only in
//! the `dgrep-worker` process ([`crate::worker`]), never in the agent: a
//! SIGBUS kills the worker, and the agent reports the query as failed and
//! starts another worker. This module holds the crate's only `unsafe`.

use std::fs::File;

use memmap2::Mmap;

/// Maps `file` for reading if it is a regular, non-empty file; `None` means
/// read it instead (pipes, devices, empty files, or a map that failed).
pub(crate) fn map(file: &File) -> Option<Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: `Mmap::map` is unsafe because the mapped bytes may change, or
    // vanish, while the returned slice is borrowed. Changes in place (a log
    // rewritten rather than appended to) only change which lines match: the
    // searcher reads bytes, never trusts them. Truncation makes a later
    // access past the new end raise SIGBUS, which ends the process: this
    // function is only reached from the search worker process
    // (`crate::worker::run`, through `Engine::search_path_mapped`), never in
    // the agent, whose `SearchWorkers` reports the dead worker's query as
    // failed and starts a new worker.
    #[allow(unsafe_code)]
    let map = unsafe { Mmap::map(file) }.ok()?;
    // The search reads front to back once.
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"one\ntwo\n")
            .unwrap();
        let map = map(&File::open(&path).unwrap()).expect("a regular file maps");
        assert_eq!(&map[..], b"one\ntwo\n");
        std::fs::File::create(dir.path().join("empty")).unwrap();
        assert!(map_file_at(&dir.path().join("empty")).is_none());
        assert!(
            map_file_at(dir.path()).is_none(),
            "a directory is not mapped"
        );
        assert!(map_file_at(std::path::Path::new("/dev/null")).is_none());
    }

    fn map_file_at(path: &std::path::Path) -> Option<Mmap> {
        map(&File::open(path).ok()?)
    }
}

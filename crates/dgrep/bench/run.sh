#!/usr/bin/env bash
# dgrep benchmark: four rumor agents on this machine, 100 MB of log each,
# against rg and GNU grep over the same four files. See ../README.md.
# Output goes through a pipe (hyperfine --output=pipe): GNU grep stops at the
# first match when its stdout is /dev/null, which would not be a comparison.
# A second cluster of four agents runs a copy of the rumor binary with no
# dgrep-worker beside it, so it searches in-process with reads: the
# "(reads)" rows show what the memory-mapping worker changes.
#
#   cargo build --release -p rumor-daemon -p rumor-dgrep
#   crates/dgrep/bench/run.sh [TARGET_DIR]    # needs hyperfine, rg, python3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-${CARGO_TARGET_DIR:-$here/../../../target}}/release
work=${DGREP_BENCH_DIR:-/tmp/dgrep-bench}
mkdir -p "$work"
files=()
for i in 1 2 3 4; do
    f=$work/node$i.log
    [ -s "$f" ] || python3 "$here/gen-log.py" "$f" 100 "$i"
    # Write each file afresh, so its page cache is a freshly written log's:
    # after hours of other work on the machine, mapping the same cached
    # pages has been seen to cost twice the system time (rg -c: 34 ms
    # instead of 21 over the four files).
    cp "$f" "$f.new" && mv "$f.new" "$f"
    files+=("$f")
done
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# The same rumor binary without a dgrep-worker beside it.
mkdir -p "$work/plain"
cp "$target/rumor" "$work/plain/rumor"
start() { # BINARY PORT_BASE
    for i in 1 2 3 4; do
        join=(); [ "$i" = 1 ] || join=(--join "127.0.0.1:${2}1")
        mkdir -p "$work/data$2$i"
        "$1" agent --quiet --bind "127.0.0.1:$2$i" "${join[@]}" \
            --data-dir "$work/data$2$i" --grep-path "$work/node$i.log" >/dev/null 2>&1 &
        pids+=($!)
    done
    until [ "$("$target/rumor" members --agent "127.0.0.1:${2}1" --json 2>/dev/null | grep -o '"alive"' | wc -l)" = 4 ]; do
        sleep 0.2
    done
}
start "$target/rumor" 410
start "$work/plain/rumor" 411
dgrep="$target/dgrep --agent 127.0.0.1:4101"
plain="$target/dgrep --agent 127.0.0.1:4111"
pattern=${PATTERN:-ERROR}
echo "== counts: dgrep -c vs rg -c vs grep -c ($pattern)"
$dgrep -c "$pattern"
hyperfine -N --output=pipe -w 3 -r ${RUNS:-15} --export-markdown "$work/count.md" \
    "$dgrep -c $pattern" "rg -c $pattern ${files[*]}" "grep -c $pattern ${files[*]}" \
    "rg --no-mmap -c $pattern ${files[*]}" "$plain -c $pattern"
echo "== printing about 1 % of lines: dgrep vs rg ($pattern), output through a pipe"
hyperfine -N --output=pipe -w 3 -r ${RUNS:-15} --export-markdown "$work/print.md" \
    "$dgrep $pattern" "rg $pattern ${files[*]}" "rg --no-mmap $pattern ${files[*]}" \
    "$plain $pattern"

//! The member table of `rumor-membership` at 10,000 members: the operations
//! every received message, every protocol period and every anti-entropy
//! answer make (a lookup, a state change, a random choice of live members,
//! the walk of one digest bucket), and building a table as a join response
//! does.
//!
//! Run with `cargo bench -p rumor-benches --bench member_table`. Each
//! iteration is one operation (or one whole table for `build`). Two lookup
//! figures: `lookup_warm` looks up members of one table, which fits the
//! CPU's caches; `lookup_cold` looks up a random member in a random one of
//! 128 tables (55 MB), as a simulator of thousands of nodes does, where
//! every lookup misses the cache.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rumor_membership::internals::MemberTable;
use rumor_wire::{NodeId, Version};

/// Members per table: the simulator's largest cluster.
const MEMBERS: u32 = 10_000;
/// Tables for the cold lookups.
const TABLES: usize = 128;

fn node(i: u32) -> NodeId {
    let [a, b, c, d] = (0x0a00_0001 + i).to_be_bytes();
    NodeId::new(
        SocketAddr::from(([a, b, c, d], 4000)),
        Version(1_763_900_000_000 + u64::from(i % 7)),
    )
}

/// A table as node 0 holds it once every member joined.
fn table(seed: u64) -> MemberTable {
    let mut table = MemberTable::new(node(0), seed);
    table.reserve(MEMBERS as usize - 1);
    for i in 1..MEMBERS {
        table.insert(node(i));
    }
    table
}

/// A fixed pseudo-random walk over the members (no generator in the loop).
fn walk(step: u64) -> u32 {
    (step.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as u32 % MEMBERS
}

fn member_table(c: &mut Criterion) {
    let mut group = c.benchmark_group("member_table");
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_secs(1));

    group.throughput(Throughput::Elements(u64::from(MEMBERS - 1)));
    group.bench_function("build_10000", |b| b.iter(|| black_box(table(1)).len()));

    group.throughput(Throughput::Elements(1));
    let mut one = table(2);
    let mut step = 0u64;
    group.bench_function("lookup_warm", |b| {
        b.iter(|| {
            step += 1;
            black_box(one.contains(&node(walk(step))))
        })
    });
    group.bench_function("lookup_miss", |b| {
        b.iter(|| {
            step += 1;
            // An address no member has: the lookup of a stranger.
            black_box(one.contains(&node(MEMBERS + walk(step))))
        })
    });
    let tables: Vec<MemberTable> = (0..TABLES as u64).map(table).collect();
    group.bench_function("lookup_cold", |b| {
        b.iter(|| {
            step += 1;
            let t = &tables[(step.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 57) as usize % TABLES];
            black_box(t.contains(&node(walk(step))))
        })
    });
    drop(tables);
    let mut incarnation = 0;
    group.bench_function("state_change_pair", |b| {
        b.iter(|| {
            step += 1;
            incarnation += 2;
            one.flap(&node(1 + walk(step) % (MEMBERS - 1)), incarnation);
        })
    });
    group.bench_function("sample_3", |b| b.iter(|| black_box(one.sample(3))));
    group.bench_function("digest_bucket_of_1024", |b| {
        b.iter(|| {
            step += 1;
            black_box(one.bucket_len(1024, (step % 1024) as usize))
        })
    });
    // The members' current ids: a restart lists a newer version.
    let mut current: Vec<NodeId> = (0..MEMBERS).map(node).collect();
    group.bench_function("remove_then_insert", |b| {
        b.iter(|| {
            step += 1;
            // A newer version of the same address (a restart): the old one
            // is deleted, leaving a tombstone, and the new one listed.
            let i = 1 + walk(step) % (MEMBERS - 1);
            let old = current[i as usize];
            one.remove(&old);
            let new = NodeId::new(old.addr, Version(old.version.0 + 1));
            one.insert(new);
            current[i as usize] = new;
        })
    });
    group.finish();
}

criterion_group!(benches, member_table);
criterion_main!(benches);

//! Faults injected into real agents in network namespaces: partitions both
//! ways and one way, a host cut off, a flapping link, packet loss, a dead
//! introducer and a CPU-starved member, judged from the agents' event logs.
//! Every test prints `skipping: ...` and passes where the lab cannot be made
//! (not root, no nft, ...), and prints what it measured (`--nocapture`
//! shows it). Each lab has its own namespaces and subnet, so the tests run
//! side by side on the harness's threads; most of their time is the faults'
//! own length.

mod fault_kit;
mod netlab;
#[path = "faults/partitions.rs"]
mod partitions;
#[path = "faults/stress.rs"]
mod stress;

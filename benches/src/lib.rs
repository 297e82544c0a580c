//! Benchmarks of rumor's hot paths.

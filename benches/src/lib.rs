//! Shared helpers for the ssmix benchmarks.

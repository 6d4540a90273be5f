//! Shared helpers for the ssmix benchmarks.
//!
//! * [`textgen`] makes deterministic text-like inputs for the criterion benches.
//! * [`data`] finds the benchmark corpora (`../shared/data`, `testdata/`).
//! * [`machine`] describes the machine and the date for a report.
//! * [`runner`] runs one compressor on one file and verifies the round trip.
//! * [`report`] turns measurements into Markdown, CSV and JSON; [`chart`] into an SVG.
//!
//! The comparison harness itself is the `ssmix-bench` binary (see `docs/BENCHMARKS.md`).

pub mod chart;
pub mod data;
pub mod machine;
pub mod report;
pub mod runner;
pub mod textgen;

//! Benchmarks of the real server: each scenario starts the `huichang` binary, drives it over
//! loopback only, bounded in count and time, prints one line per figure and returns a JSON
//! summary. `huichang-bench` runs them from the command line; the test command runs each in a
//! quick mode so that the harness cannot rot.

pub mod checkin;
pub mod fanout;
pub mod files;
pub mod footprint;
pub mod import;
pub mod overview;
pub mod registration;
pub mod server;

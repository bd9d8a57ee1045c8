//! Scenario tests that start a real `tugboat` and drive it only through stock clients (kubectl 1.37,
//! the official Python client, kube-rs), each tagged with the upstream conformance tests whose
//! behaviour it covers.
//!
//! - [`harness`]: start `tugboat server` (embedded store or a throwaway etcd) on a free loopback port
//!   in a temp dir, run kubectl and Python snippets against it, stop it on drop.
//! - [`upstream`]: the upstream conformance tests (names and `needs` class) and the tags scenarios use.
//! - [`coverage`]: the table of covered tests per `needs` class.
//!
//! The scenarios themselves are in `tests/scenarios/`; `cargo test -p tugboat-conformance` runs them
//! (after `cargo build -p tugboat` and `hack/install-clients.sh`, which `hack/test.sh` does), and
//! `cargo test -p tugboat-conformance --test scenarios coverage -- --nocapture` prints the table.

pub mod coverage;
pub mod harness;
pub mod upstream;

pub use harness::{Backend, Background, Output, Server};

//! Scenario tests that start a real `tugboat` and drive it only through stock clients (kubectl, helm,
//! the Python client, kube-rs), each tagged with the upstream conformance tests whose behaviour it
//! covers.
//!
//! Not built yet: scenarios arrive with the API server. The storage contract suite lives with the
//! storage crate (`apiserver/storage/tests`).

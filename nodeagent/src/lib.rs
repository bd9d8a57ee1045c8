//! The node agent: kubelet over CRI, service proxy and cluster DNS.
//!
//! Not built yet: a later issue fills this crate. It will run in `tugboat agent` and, unless
//! `--disable-agent`, inside `tugboat server`.

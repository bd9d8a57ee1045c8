//! Controller manager and scheduler.
//!
//! Not built yet: the controllers issue fills this crate. Controllers will run inside `tugboat server`
//! and talk to the API server only over HTTPS, on kube-runtime's watcher, reflector and controller.

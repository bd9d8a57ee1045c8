//! Kubernetes API machinery that needs no I/O, testable without a server: label and field selectors,
//! object name validation, API errors as `Status` objects, resourceVersion and continue tokens, and
//! the catalog of built-in resources from which routes and discovery documents are derived.

pub mod catalog;
pub mod continue_token;
pub mod names;
pub mod quantity;
pub mod quota;
pub mod selectors;
pub mod status;

//! Label and field selectors: parsing upstream's query-string syntax (`labelSelector=`,
//! `fieldSelector=`), matching objects, the canonical string form, and converting the
//! `metav1.LabelSelector` objects that Deployments, ReplicaSets and Services embed.
//!
//! [`labels`] follows `k8s.io/apimachinery/pkg/labels/selector.go` and
//! `pkg/apis/meta/v1/{helpers,validation/validation}.go`; [`fields`] follows
//! `pkg/fields/selector.go`. Parse and validation errors carry upstream's text exactly, since the
//! API server returns them to clients as `BadRequest` messages.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

pub mod fields;
pub mod labels;

pub use fields::{FieldOperator, FieldSelector, FieldSelectorError, FieldTerm};
pub use labels::{
    LabelSelector, LabelSelectorError, LabelSelectorValidationOptions, Operator, Requirement,
    validate_label_selector,
};

/// Read access to an object's labels or selectable fields, by key. Implemented for the usual maps
/// and, through [`LookupFn`], for any function that computes a value on demand.
pub trait Lookup {
    /// The value stored under `key`, if any.
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>>;
}

impl Lookup for BTreeMap<String, String> {
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key).map(|value| Cow::Borrowed(value.as_str()))
    }
}

impl<S: BuildHasher> Lookup for HashMap<String, String, S> {
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key).map(|value| Cow::Borrowed(value.as_str()))
    }
}

impl Lookup for [(&str, &str)] {
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
        self.iter()
            .find(|(candidate, _)| *candidate == key)
            .map(|(_, value)| Cow::Borrowed(*value))
    }
}

impl<T: Lookup + ?Sized> Lookup for &T {
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
        (**self).lookup(key)
    }
}

/// An object without labels (`metadata.labels` absent) has none to look up.
impl<T: Lookup> Lookup for Option<T> {
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
        self.as_ref().and_then(|inner| inner.lookup(key))
    }
}

/// Adapts a function from key to value into a [`Lookup`], e.g. the selectable fields of a Pod
/// computed from the object: `LookupFn(|field| match field { "spec.nodeName" => ..., _ => None })`.
#[derive(Debug, Clone, Copy)]
pub struct LookupFn<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Lookup for LookupFn<F> {
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
        (self.0)(key).map(Cow::Owned)
    }
}

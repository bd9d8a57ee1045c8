//! Which controllers run: every controller tugboat implements unless disabled, with upstream's
//! names. Each controller has upstream's `--controllers` alias (`serviceaccount`) and its canonical
//! name (`serviceaccount-controller`); both are accepted. The selection combines upstream's
//! `--controllers` list (`*` for every controller on by default, `name` to enable, `-name` to
//! disable; default `*`) with tugboat's `--disable-controller NAME`.
//!
//! Names of upstream controllers tugboat does not run yet are accepted (they are off anyway) and
//! reported back, so the caller can say so.

use std::collections::BTreeSet;

/// A controller tugboat runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ControllerKind {
    /// `serviceaccount`: a `default` ServiceAccount in every active namespace.
    ServiceAccount,
    /// `root-ca-cert-publisher`: the `kube-root-ca.crt` ConfigMap in every namespace.
    RootCaCertPublisher,
    /// `resourcequota`: ResourceQuota status (`hard`, `used`).
    ResourceQuota,
    /// `endpoint`: Endpoints of Services with selectors.
    Endpoints,
    /// `endpointslice`: EndpointSlices of Services with selectors.
    EndpointSlice,
    /// `endpointslicemirroring`: EndpointSlices mirroring custom Endpoints.
    EndpointSliceMirroring,
    /// `job`: Jobs' pods, completions and conditions.
    Job,
    /// `disruption`: PodDisruptionBudget status.
    Disruption,
    /// `ttl-after-finished`: deleting finished Jobs after their TTL.
    TtlAfterFinished,
    /// `podgc`: collecting terminated, orphaned and unscheduled terminating pods.
    PodGc,
    /// `csrsigning`: signing approved CertificateSigningRequests.
    CsrSigning,
    /// `statefulset`: StatefulSets' pods, claims and revisions.
    StatefulSet,
    /// `daemonset`: one pod per eligible node.
    DaemonSet,
    /// `nodelifecycle`: silent nodes, node taints and taint-based eviction.
    NodeLifecycle,
    /// `namespace`: emptying and releasing deleted namespaces.
    Namespace,
}

impl ControllerKind {
    /// Every controller tugboat runs.
    pub const ALL: &[ControllerKind] = &[
        ControllerKind::ServiceAccount,
        ControllerKind::RootCaCertPublisher,
        ControllerKind::ResourceQuota,
        ControllerKind::Endpoints,
        ControllerKind::EndpointSlice,
        ControllerKind::EndpointSliceMirroring,
        ControllerKind::Job,
        ControllerKind::Disruption,
        ControllerKind::TtlAfterFinished,
        ControllerKind::PodGc,
        ControllerKind::CsrSigning,
        ControllerKind::StatefulSet,
        ControllerKind::DaemonSet,
        ControllerKind::NodeLifecycle,
        ControllerKind::Namespace,
    ];

    /// Upstream's `--controllers` alias.
    pub fn alias(self) -> &'static str {
        match self {
            ControllerKind::ServiceAccount => "serviceaccount",
            ControllerKind::RootCaCertPublisher => "root-ca-cert-publisher",
            ControllerKind::ResourceQuota => "resourcequota",
            ControllerKind::Endpoints => "endpoint",
            ControllerKind::EndpointSlice => "endpointslice",
            ControllerKind::EndpointSliceMirroring => "endpointslicemirroring",
            ControllerKind::Job => "job",
            ControllerKind::Disruption => "disruption",
            ControllerKind::TtlAfterFinished => "ttl-after-finished",
            ControllerKind::PodGc => "podgc",
            ControllerKind::CsrSigning => "csrsigning",
            ControllerKind::StatefulSet => "statefulset",
            ControllerKind::DaemonSet => "daemonset",
            ControllerKind::NodeLifecycle => "nodelifecycle",
            ControllerKind::Namespace => "namespace",
        }
    }

    /// Upstream's canonical name (`cmd/kube-controller-manager/names`).
    pub fn canonical_name(self) -> &'static str {
        match self {
            ControllerKind::ServiceAccount => "serviceaccount-controller",
            ControllerKind::RootCaCertPublisher => "root-ca-certificate-publisher-controller",
            ControllerKind::ResourceQuota => "resourcequota-controller",
            ControllerKind::Endpoints => "endpoints-controller",
            ControllerKind::EndpointSlice => "endpointslice-controller",
            ControllerKind::EndpointSliceMirroring => "endpointslice-mirroring-controller",
            ControllerKind::Job => "job-controller",
            ControllerKind::Disruption => "disruption-controller",
            ControllerKind::TtlAfterFinished => "ttl-after-finished-controller",
            ControllerKind::PodGc => "pod-garbage-collector-controller",
            ControllerKind::CsrSigning => "certificatesigningrequest-signing-controller",
            ControllerKind::StatefulSet => "statefulset-controller",
            ControllerKind::DaemonSet => "daemonset-controller",
            ControllerKind::NodeLifecycle => "node-lifecycle-controller",
            ControllerKind::Namespace => "namespace-controller",
        }
    }

    /// The controller called `name` (alias or canonical name).
    pub fn from_name(name: &str) -> Option<ControllerKind> {
        ControllerKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.alias() == name || kind.canonical_name() == name)
    }
}

impl std::fmt::Display for ControllerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.alias())
    }
}

/// The controllers to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    enabled: BTreeSet<ControllerKind>,
    /// Names that are not controllers tugboat runs (upstream ones not built yet, or typos).
    pub unknown: Vec<String>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            enabled: ControllerKind::ALL.iter().copied().collect(),
            unknown: Vec::new(),
        }
    }
}

/// A `--controllers` value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectionError {
    /// An empty name in the list.
    #[error("--controllers {0:?}: empty controller name")]
    EmptyName(String),
}

impl Selection {
    /// Combine upstream's `--controllers` lists (comma-separated; later lists replace earlier ones,
    /// as a repeated flag does; none means `*`) with `--disable-controller` names.
    pub fn new(controllers: &[String], disabled: &[String]) -> Result<Selection, SelectionError> {
        let mut selection = Selection {
            enabled: BTreeSet::new(),
            unknown: Vec::new(),
        };
        let list = controllers.last().map_or("*", String::as_str);
        let mut star = false;
        let mut named_on = BTreeSet::new();
        let mut named_off = BTreeSet::new();
        for item in list.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(SelectionError::EmptyName(list.to_owned()));
            }
            if item == "*" {
                star = true;
                continue;
            }
            let (off, name) = match item.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, item),
            };
            match ControllerKind::from_name(name) {
                Some(kind) if off => {
                    named_off.insert(kind);
                }
                Some(kind) => {
                    named_on.insert(kind);
                }
                None => selection.unknown.push(name.to_owned()),
            }
        }
        for name in disabled.iter().flat_map(|d| d.split(',')).map(str::trim) {
            if name.is_empty() {
                continue;
            }
            match ControllerKind::from_name(name) {
                Some(kind) => {
                    named_off.insert(kind);
                }
                None => selection.unknown.push(name.to_owned()),
            }
        }
        for kind in ControllerKind::ALL {
            let on = (star || named_on.contains(kind)) && !named_off.contains(kind);
            if on {
                selection.enabled.insert(*kind);
            }
        }
        selection.unknown.sort();
        selection.unknown.dedup();
        Ok(selection)
    }

    /// Whether `kind` runs.
    pub fn is_enabled(&self, kind: ControllerKind) -> bool {
        self.enabled.contains(&kind)
    }

    /// The controllers that run, in a stable order.
    pub fn enabled(&self) -> impl Iterator<Item = ControllerKind> + '_ {
        self.enabled.iter().copied()
    }

    /// Whether no controller runs (then the controller manager need not start at all).
    pub fn is_empty(&self) -> bool {
        self.enabled.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn everything_by_default() {
        let selection = Selection::new(&[], &[]).expect("selection");
        assert_eq!(selection, Selection::default());
        assert!(selection.is_enabled(ControllerKind::ServiceAccount));
        assert!(selection.is_enabled(ControllerKind::RootCaCertPublisher));
    }

    #[test]
    fn disable_by_alias_or_canonical_name() {
        let selection = Selection::new(&[], &strings(&["serviceaccount"])).expect("selection");
        assert!(!selection.is_enabled(ControllerKind::ServiceAccount));
        assert!(selection.is_enabled(ControllerKind::RootCaCertPublisher));
        let selection = Selection::new(
            &[],
            &strings(&["root-ca-certificate-publisher-controller", "serviceaccount"]),
        )
        .expect("selection");
        assert!(!selection.is_enabled(ControllerKind::ServiceAccount));
        assert!(!selection.is_enabled(ControllerKind::RootCaCertPublisher));
    }

    #[test]
    fn upstream_controllers_flag() {
        let selection =
            Selection::new(&strings(&["*,-root-ca-cert-publisher"]), &[]).expect("selection");
        let enabled: Vec<_> = selection.enabled().collect();
        assert!(enabled.contains(&ControllerKind::ServiceAccount));
        assert!(!enabled.contains(&ControllerKind::RootCaCertPublisher));
        assert_eq!(enabled.len(), ControllerKind::ALL.len() - 1);
        let selection = Selection::new(&strings(&["root-ca-cert-publisher"]), &[]).expect("sel");
        assert_eq!(
            selection.enabled().collect::<Vec<_>>(),
            vec![ControllerKind::RootCaCertPublisher]
        );
        // --disable-controller wins over an explicit enable.
        let selection =
            Selection::new(&strings(&["serviceaccount"]), &strings(&["serviceaccount"]))
                .expect("selection");
        assert!(selection.is_empty());
        assert!(Selection::new(&strings(&["*,,x"]), &[]).is_err());
    }

    #[test]
    fn unknown_names_are_reported() {
        let selection = Selection::new(
            &strings(&["*,-bootstrapsigner"]),
            &strings(&["tokencleaner", "tokencleaner"]),
        )
        .expect("selection");
        assert_eq!(
            selection.unknown,
            strings(&["bootstrapsigner", "tokencleaner"])
        );
        assert!(selection.is_enabled(ControllerKind::ServiceAccount));
    }
}

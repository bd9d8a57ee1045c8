//! The upstream certified-conformance tests (Kubernetes v1.35), and the names scenarios tag.
//!
//! The list (`upstream/conformance-1.35.tsv`) holds each test's codename and a rough `needs` class:
//! `api-only` (API server and controllers), `running-pods`, `networking`, `other`. A scenario tags a
//! test only when it exercises the behaviour that test checks, through the same API operations; the
//! `coverage` test in `tests/scenarios` fails on a tag that names no listed test.

/// One upstream conformance test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamTest {
    /// The rough class of what the test needs from the cluster (`api-only`, `running-pods`, ...).
    pub needs: &'static str,
    /// The Ginkgo codename, e.g. `[sig-api-machinery] server version should find ... [Conformance]`.
    pub codename: &'static str,
}

const LIST: &str = include_str!("../upstream/conformance-1.35.tsv");

/// Every upstream conformance test, in the list's order.
pub fn tests() -> Vec<UpstreamTest> {
    LIST.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(needs, codename)| UpstreamTest { needs, codename })
        .collect()
}

// === tags: sig-api-machinery ===

pub const SERVER_VERSION: &str =
    "[sig-api-machinery] server version should find the server version [Conformance]";
pub const DISCOVERY_GROUP_VERSIONS: &str = "[sig-api-machinery] Discovery should locate the groupVersion and a resource within each APIGroup [Conformance]";
pub const DISCOVERY_PREFERRED_VERSION: &str = "[sig-api-machinery] Discovery should validate PreferredVersion for each APIGroup [Conformance]";
pub const AGGREGATED_DISCOVERY: &str = "[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface [Conformance]";
pub const AGGREGATED_DISCOVERY_ACCEPT: &str = "[sig-api-machinery] AggregatedDiscovery should support raw aggregated discovery endpoint Accept headers [Conformance]";
pub const CHUNKING: &str = "[sig-api-machinery] Servers with support for API chunking should return chunks of results for list calls [Conformance]";
pub const WATCH_ADD_UPDATE_DELETE: &str = "[sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]";
pub const WATCH_FROM_RESOURCE_VERSION: &str = "[sig-api-machinery] Watchers should be able to start watching from a specific resource version [Conformance]";
pub const WATCH_RESTART: &str = "[sig-api-machinery] Watchers should be able to restart watching from the last resource version observed by the previous watch [Conformance]";
pub const WATCH_SELECTOR_EXIT: &str = "[sig-api-machinery] Watchers should observe an object deletion if it stops meeting the requirements of the selector [Conformance]";
pub const FIELD_VALIDATION_TYPED: &str = "[sig-api-machinery] FieldValidation should detect unknown and duplicate fields of a typed object [Conformance]";
pub const FIELD_VALIDATION_TYPED_METADATA: &str = "[sig-api-machinery] FieldValidation should detect unknown metadata fields of a typed object [Conformance]";
pub const NAMESPACE_UPDATE: &str =
    "[sig-api-machinery] Namespaces [Serial] should apply an update to a Namespace [Conformance]";
pub const NAMESPACE_PATCH: &str =
    "[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance]";
pub const RESOURCE_QUOTA_UPDATE_DELETE: &str = "[sig-api-machinery] ResourceQuota should be able to update and delete ResourceQuota. [Conformance]";
pub const FLOWSCHEMA_API: &str = "[sig-api-machinery] API priority and fairness should support FlowSchema API operations [Conformance]";
pub const PRIORITY_LEVEL_API: &str = "[sig-api-machinery] API priority and fairness should support PriorityLevelConfiguration API operations [Conformance]";
pub const CHUNKING_COMPACTED: &str = "[sig-api-machinery] Servers with support for API chunking should support continue listing from the last key if the original version has been compacted away, though the list is inconsistent [Slow] [Conformance]";
pub const WATCH_CONCURRENT_ORDER: &str = "[sig-api-machinery] Watchers should receive events on concurrent watches in same order [Conformance]";
pub const TABLE_NOT_ACCEPTABLE: &str = "[sig-api-machinery] Servers with support for Table transformation should return a 406 for a backend which does not implement metadata [Conformance]";

// === tags: sig-cli ===

pub const KUBECTL_VERSION: &str =
    "[sig-cli] Kubectl client Kubectl version should check is all data is printed [Conformance]";
pub const KUBECTL_API_VERSIONS: &str = "[sig-cli] Kubectl client Kubectl api-versions should check if v1 is in available api versions [Conformance]";
pub const KUBECTL_CLUSTER_INFO: &str = "[sig-cli] Kubectl client Kubectl cluster-info should check if Kubernetes control plane services is included in cluster-info [Conformance]";
pub const KUBECTL_PROXY_PORT_0: &str =
    "[sig-cli] Kubectl client Proxy server should support proxy with --port 0 [Conformance]";
pub const KUBECTL_PROXY_UNIX_SOCKET: &str =
    "[sig-cli] Kubectl client Proxy server should support --unix-socket=/path [Conformance]";

// === tags: sig-apps ===

pub const RC_SCALE: &str = "[sig-apps] ReplicationController should get and update a ReplicationController scale [Conformance]";

// === tags: sig-node, sig-storage, sig-network, sig-auth, sig-instrumentation ===

pub const CONFIGMAP_UPDATE: &str =
    "[sig-node] ConfigMap should update ConfigMap successfully [NodeConformance] [Conformance]";
pub const CONFIGMAP_EMPTY_KEY: &str =
    "[sig-node] ConfigMap should fail to create ConfigMap with empty key [Conformance]";
pub const CONFIGMAP_LIFECYCLE: &str =
    "[sig-node] ConfigMap should run through a ConfigMap lifecycle [Conformance]";
pub const CONFIGMAP_IMMUTABLE: &str =
    "[sig-storage] ConfigMap should be immutable if `immutable` field is set [Conformance]";
pub const SECRET_EMPTY_KEY: &str =
    "[sig-node] Secrets should fail to create secret due to empty secret key [Conformance]";
pub const SECRET_IMMUTABLE: &str =
    "[sig-storage] Secrets should be immutable if `immutable` field is set [Conformance]";
pub const PODTEMPLATE_REPLACE: &str =
    "[sig-node] PodTemplates should replace a pod template [Conformance]";
pub const PODTEMPLATE_DELETE_COLLECTION: &str =
    "[sig-node] PodTemplates should delete a collection of pod templates [Conformance]";
pub const EVENTS_DELETE_COLLECTION: &str =
    "[sig-instrumentation] Events should delete a collection of events [Conformance]";
pub const EVENTS_API_DELETE_COLLECTION: &str =
    "[sig-instrumentation] Events API should delete a collection of events [Conformance]";
pub const SERVICES_DELETE_COLLECTION: &str =
    "[sig-network] Services should delete a collection of services [Conformance]";
pub const SERVICES_LIST_ALL_NAMESPACES: &str =
    "[sig-network] Services should find a service from listing all namespaces [Conformance]";
pub const SECURE_MASTER_SERVICE: &str =
    "[sig-network] API Server should provide secure master service [Conformance]";
pub const INGRESS_CLASS_API: &str = "[sig-network] IngressClass API should support creating IngressClass API operations [Conformance]";
pub const ENDPOINT_SLICE_API: &str = "[sig-network] EndpointSlice should support creating EndpointSlice API operations [Conformance]";
pub const RUNTIME_CLASS_API: &str =
    "[sig-node] RuntimeClass should support RuntimeClasses API operations [Conformance]";
pub const SERVICE_ACCOUNT_UPDATE: &str =
    "[sig-auth] ServiceAccounts should update a ServiceAccount [Conformance]";
pub const POD_QOS_CLASS: &str = "[sig-node] Pods Extended Pods Set QOS Class should be set on Pods with matching resource requests and limits for memory and cpu [Conformance]";
pub const KUBECTL_DIFF: &str = "[sig-cli] Kubectl client Kubectl diff should check if kubectl diff finds a difference for Deployments [Conformance]";

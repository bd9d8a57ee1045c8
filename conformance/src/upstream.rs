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

// === tags: lifecycle and API-operations tests of core kinds (tests/scenarios/lifecycle_core.rs) ===

pub const SECRET_PATCH: &str = "[sig-node] Secrets should patch a secret [Conformance]";
pub const PODTEMPLATE_LIFECYCLE: &str =
    "[sig-node] PodTemplates should run the lifecycle of PodTemplates [Conformance]";
pub const LEASE_API: &str = "[sig-node] Lease lease API should be available [Conformance]";
pub const NODE_LIFECYCLE: &str =
    "[sig-node] Node Lifecycle should run through the lifecycle of a node [Conformance]";
pub const SERVICE_STATUS_LIFECYCLE: &str =
    "[sig-network] Services should complete a service status lifecycle [Conformance]";
pub const ENDPOINT_LIFECYCLE: &str =
    "[sig-network] Endpoints should test the lifecycle of an Endpoint [Conformance]";
pub const INGRESS_API: &str =
    "[sig-network] Ingress API should support creating Ingress API operations [Conformance]";
pub const SERVICECIDR_API: &str = "[sig-network] ServiceCIDR and IPAddress API should support ServiceCIDR API operations [Conformance]";
pub const IPADDRESS_API: &str = "[sig-network] ServiceCIDR and IPAddress API should support IPAddress API operations [Conformance]";
pub const APISERVER_ENDPOINTS: &str = "[sig-network] API Server should have Endpoints and EndpointSlices pointing to API Server [Conformance]";
pub const NAMESPACE_FINALIZER: &str =
    "[sig-api-machinery] Namespaces [Serial] should apply a finalizer to a Namespace [Conformance]";
pub const NAMESPACE_STATUS: &str = "[sig-api-machinery] Namespaces [Serial] should apply changes to a namespace status [Conformance]";
pub const RESOURCE_QUOTA_STATUS: &str = "[sig-api-machinery] ResourceQuota should apply changes to a resourcequota status [Conformance]";
pub const RESOURCE_QUOTA_LIFECYCLE: &str = "[sig-api-machinery] ResourceQuota should manage the lifecycle of a ResourceQuota [Conformance]";
pub const CRONJOB_API: &str =
    "[sig-apps] CronJob should support CronJob API operations [Conformance]";
pub const SERVICE_ACCOUNT_LIFECYCLE: &str =
    "[sig-auth] ServiceAccounts should run through the lifecycle of a ServiceAccount [Conformance]";
pub const CSR_API: &str = "[sig-auth] Certificates API [Privileged:ClusterAdmin] should support CSR API operations [Conformance]";
pub const EVENT_LIFECYCLE: &str =
    "[sig-instrumentation] Events should manage the lifecycle of an event [Conformance]";
pub const EVENTS_API_LIFECYCLE: &str = "[sig-instrumentation] Events API should ensure that an event can be fetched, patched, deleted, and listed [Conformance]";
pub const LIMIT_RANGE_COLLECTION: &str = "[sig-scheduling] LimitRange should list, patch and delete a LimitRange by collection [Conformance]";
pub const RUNTIME_CLASS_REJECT_MISSING: &str = "[sig-node] RuntimeClass should reject a Pod requesting a non-existent RuntimeClass [NodeConformance] [Conformance]";
pub const RUNTIME_CLASS_REJECT_DELETED: &str = "[sig-node] RuntimeClass should reject a Pod requesting a deleted RuntimeClass [NodeConformance] [Conformance]";

// === tags: storage, DRA and admission-policy API operations (lifecycle_storage.rs) ===

pub const CSI_DRIVER_LIFECYCLE: &str =
    "[sig-storage] CSIInlineVolumes should run through the lifecycle of a CSIDriver [Conformance]";
pub const CSI_INLINE_VOLUME_POD: &str =
    "[sig-storage] CSIInlineVolumes should support CSIVolumeSource in Pod API [Conformance]";
pub const CSINODE_LIFECYCLE: &str = "[sig-storage] CSINodes CSI Conformance should run through the lifecycle of a csinode [Conformance]";
pub const CSI_STORAGE_CAPACITY_API: &str = "[sig-storage] CSIStorageCapacity should support CSIStorageCapacities API operations [Conformance]";
pub const PV_PVC_STATUS: &str = "[sig-storage] PersistentVolumes CSI Conformance should apply changes to a pv/pvc status [Conformance]";
pub const PV_PVC_LIFECYCLE: &str = "[sig-storage] PersistentVolumes CSI Conformance should run through the lifecycle of a PV and a PVC [Conformance]";
pub const STORAGE_CLASS_LIFECYCLE: &str = "[sig-storage] StorageClasses CSI Conformance should run through the lifecycle of a StorageClass [Conformance]";
pub const VOLUME_ATTACHMENT_STATUS: &str = "[sig-storage] VolumeAttachment Conformance should apply changes to a volumeattachment status [Conformance]";
pub const VOLUME_ATTACHMENT_LIFECYCLE: &str = "[sig-storage] VolumeAttachment Conformance should run through the lifecycle of a VolumeAttachment [Conformance]";
pub const VOLUME_ATTRIBUTES_CLASS_LIFECYCLE: &str = "[sig-storage] VolumeAttributesClass [FeatureGate:VolumeAttributesClass] should run through the lifecycle of a VolumeAttributesClass [Conformance]";
pub const DRA_DEVICE_CLASS_CRUD: &str =
    "[sig-node] [DRA] CRUD Tests resource.k8s.io/v1 DeviceClass [Conformance]";
pub const DRA_RESOURCE_CLAIM_CRUD: &str =
    "[sig-node] [DRA] CRUD Tests resource.k8s.io/v1 ResourceClaim [Conformance]";
pub const DRA_RESOURCE_CLAIM_TEMPLATE_CRUD: &str =
    "[sig-node] [DRA] CRUD Tests resource.k8s.io/v1 ResourceClaimTemplate [Conformance]";
pub const DRA_RESOURCE_SLICE_CRUD: &str =
    "[sig-node] [DRA] CRUD Tests resource.k8s.io/v1 ResourceSlice [Conformance]";
pub const VAP_API: &str = "[sig-api-machinery] ValidatingAdmissionPolicy [Privileged:ClusterAdmin] should support ValidatingAdmissionPolicy API operations [Conformance]";
pub const VAP_BINDING_API: &str = "[sig-api-machinery] ValidatingAdmissionPolicy [Privileged:ClusterAdmin] should support ValidatingAdmissionPolicyBinding API operations [Conformance]";
pub const RESOURCE_QUOTA_PROMPT_STATUS: &str = "[sig-api-machinery] ResourceQuota should create a ResourceQuota and ensure its status is promptly calculated. [Conformance]";
pub const RESOURCE_QUOTA_CONFIGMAP: &str = "[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a configMap. [Conformance]";
pub const RESOURCE_QUOTA_SECRET: &str = "[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a secret. [Conformance]";
pub const RESOURCE_QUOTA_SERVICE: &str = "[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a service. [Conformance]";
pub const RESOURCE_QUOTA_REPLICA_SET: &str = "[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a replica set. [Conformance]";
pub const RESOURCE_QUOTA_REPLICATION_CONTROLLER: &str = "[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a replication controller. [Conformance]";
pub const RESOURCE_QUOTA_POD: &str = "[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a pod. [Conformance]";
pub const RESOURCE_QUOTA_BEST_EFFORT_SCOPE: &str = "[sig-api-machinery] ResourceQuota should verify ResourceQuota with best effort scope. [Conformance]";
pub const RESOURCE_QUOTA_TERMINATING_SCOPES: &str = "[sig-api-machinery] ResourceQuota should verify ResourceQuota with terminating scopes. [Conformance]";
pub const JOB_STATUS: &str = "[sig-apps] Job should apply changes to a job status [Conformance]";
pub const JOB_LIFECYCLE: &str = "[sig-apps] Job should manage the lifecycle of a job [Conformance]";
pub const DEPLOYMENT_STATUS_ENDPOINTS: &str =
    "[sig-apps] Deployment should validate Deployment Status endpoints [Conformance]";
pub const PDB_CREATE: &str =
    "[sig-apps] DisruptionController should create a PodDisruptionBudget [Conformance]";
pub const PDB_LIST_DELETE_COLLECTION: &str = "[sig-apps] DisruptionController Listing PodDisruptionBudgets for all namespaces should list and delete a collection of PodDisruptionBudgets [Conformance]";
pub const PDB_STATUS_UPDATE_PATCH: &str =
    "[sig-apps] DisruptionController should update/patch PodDisruptionBudget status [Conformance]";
pub const ENDPOINTS_CONTROLLER_NO_PODS: &str = "[sig-network] EndpointsController should create and delete Endpoints for a Service with a selector that matches no pods [Conformance]";
pub const ENDPOINTSLICE_NO_PODS: &str = "[sig-network] EndpointSlice should create and delete EndpointSlices for a Service with a selector that matches no pods [Conformance]";
pub const ENDPOINTSLICE_MIRRORING: &str = "[sig-network] EndpointSliceMirroring should mirror a custom Endpoints resource through create update and delete [Conformance]";
pub const PDB_STATUS_OBSERVED: &str = "[sig-apps] DisruptionController should observe PodDisruptionBudget status updated [Conformance]";
pub const PDB_BLOCKS_EVICTION: &str = "[sig-apps] DisruptionController should block an eviction until the PDB is updated to allow it [Conformance]";
pub const NAMESPACE_SERVICES_REMOVED: &str = "[sig-api-machinery] Namespaces [Serial] should ensure that all services are removed when a namespace is deleted [Conformance]";
pub const NAMESPACE_PODS_REMOVED: &str = "[sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a namespace is deleted [Conformance]";
pub const ORDERED_NAMESPACE_DELETION: &str = "[sig-api-machinery] OrderedNamespaceDeletion namespace deletion should delete pod first [Conformance]";

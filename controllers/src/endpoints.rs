//! The endpoints, endpointslice and endpointslice-mirroring controllers (upstream
//! `pkg/controller/endpoint`, `endpointslice`, `endpointslicemirroring`): what a Service's
//! selector picks becomes its Endpoints and EndpointSlices, and custom Endpoints of selector-less
//! Services are mirrored into EndpointSlices.
//!
//! The first two are keyed by Service. A sync takes the Service's pods from a shared reflector
//! store (any pod change requeues every selecting Service of its namespace, so that a pod whose
//! labels stop matching also leaves), resolves each Service port's `targetPort` against each pod
//! (numbers, or container port names), and writes the desired objects only when they differ from
//! what exists. Pods without an IP or in a terminal phase are left out; Endpoints also leave out
//! terminating pods (unless `publishNotReadyAddresses`), EndpointSlices keep them with the
//! `terminating` condition. Slices hold at most 100 endpoints, grouped by their resolved ports, and
//! are owned by their Service; a Service matching no pods gets one empty placeholder slice.
//!
//! The mirroring controller is keyed by Endpoints: an Endpoints whose Service exists without a
//! selector (and that is not labelled `endpointslice.kubernetes.io/skip-mirror`) gets one slice per
//! subset, owned by the Endpoints. A deleted Service or Endpoints has its objects deleted at once
//! (the garbage collector would also remove owned slices).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use futures::StreamExt as _;
use k8s_openapi::{
    api::{
        core::v1::{
            EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod,
            Service, ServicePort,
        },
        discovery::v1::{Endpoint, EndpointConditions, EndpointPort as SlicePort, EndpointSlice},
    },
    apimachinery::pkg::{apis::meta::v1::OwnerReference, util::intstr::IntOrString},
};
use kube::{
    Api, Client, Resource as _, ResourceExt as _,
    api::{DeleteParams, ListParams, ObjectMeta, PostParams},
    runtime::{
        Controller, WatchStreamExt as _,
        controller::Action,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use tokio::sync::watch;

use crate::{backoff::FailureBackoff, informer::SharedInformer};

/// The most endpoints one EndpointSlice holds (upstream's `--max-endpoints-per-slice` default).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The label naming a slice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming the controller that manages a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// The endpointslice controller's `managed-by` value.
pub const SLICE_CONTROLLER: &str = "endpointslice-controller.k8s.io";
/// The mirroring controller's `managed-by` value.
pub const MIRRORING_CONTROLLER: &str = "endpointslicemirroring-controller.k8s.io";
/// Endpoints carrying this label (`"true"`) are not mirrored.
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
/// The label marking objects of headless Services.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// How soon a sync is retried while the caches have not finished their first list.
const CACHE_SYNC_RETRY: Duration = Duration::from_millis(100);

/// A failed sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A cache's reflector is gone.
    #[error("a cache stopped before its first list")]
    CacheGone,
    /// A read or write of the API failed.
    #[error("{action} {kind} {namespace}/{name}: {source}")]
    Api {
        /// What was done: `creating`, `updating`, `deleting`, `listing`, `reading`.
        action: &'static str,
        /// The kind written.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The object (or the Service whose objects were listed).
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

fn api_error(
    action: &'static str,
    kind: &'static str,
    namespace: &str,
    name: &str,
) -> impl FnOnce(kube::Error) -> SyncError {
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    move |source| SyncError::Api {
        action,
        kind,
        namespace,
        name,
        source,
    }
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(crate::FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    }
}

// === which pods a Service has ===

/// The Service's selector, when it has a non-empty one (only those are managed).
fn selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    service
        .spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()?
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

fn publish_not_ready(service: &Service) -> bool {
    service
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

fn is_headless(service: &Service) -> bool {
    service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The pods of `service` that belong in its endpoints: selected, with an IP, not finished, and
/// (unless `include_terminating`) not being deleted. Sorted by name.
fn service_pods(service: &Service, pods: &Store<Pod>, include_terminating: bool) -> Vec<Arc<Pod>> {
    let Some(selector) = selector(service) else {
        return Vec::new();
    };
    let namespace = service.namespace();
    let mut out: Vec<Arc<Pod>> = pods
        .state()
        .into_iter()
        .filter(|pod| pod.namespace() == namespace)
        .filter(|pod| selects(selector, pod))
        .filter(|pod| pod_ip(pod).is_some() && !is_terminal(pod))
        .filter(|pod| include_terminating || pod.metadata.deletion_timestamp.is_none())
        .collect();
    out.sort_by_key(|pod| pod.name_any());
    out
}

/// The container port `service_port`'s `targetPort` means on `pod` (upstream's `FindPort`): a
/// number as is, a name looked up among the pod's container ports with the same protocol; none
/// set means the Service port itself.
pub fn resolve_target_port(service_port: &ServicePort, pod: &Pod) -> Option<i32> {
    let protocol = service_port.protocol.as_deref().unwrap_or("TCP");
    match &service_port.target_port {
        None => Some(service_port.port),
        Some(IntOrString::Int(port)) => Some(*port),
        Some(IntOrString::String(name)) => {
            if let Ok(number) = name.parse::<i32>() {
                return Some(number);
            }
            pod.spec
                .as_ref()?
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })
                .map(|p| p.container_port)
        }
    }
}

/// One resolved port: name, number, protocol, application protocol.
type ResolvedPort = (Option<String>, i32, String, Option<String>);

/// The Service's ports resolved for `pod`; ports that do not resolve are left out.
fn resolved_ports(service: &Service, pod: &Pod) -> Vec<ResolvedPort> {
    service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|port| {
            Some((
                port.name.clone().filter(|n| !n.is_empty()),
                resolve_target_port(port, pod)?,
                port.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                port.app_protocol.clone(),
            ))
        })
        .collect()
}

fn target_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".to_owned()),
        namespace: pod.namespace(),
        name: Some(pod.name_any()),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// The hostname a pod has in a Service's DNS: its `spec.hostname` when its `spec.subdomain` is the
/// Service's name.
fn hostname(pod: &Pod, service_name: &str) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    (spec.subdomain.as_deref() == Some(service_name))
        .then(|| spec.hostname.clone())
        .flatten()
        .filter(|h| !h.is_empty())
}

/// Labels of a Service's objects: its own labels (and the headless marker), plus `extra`.
fn derived_labels(service: &Service, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut labels = service.labels().clone();
    if is_headless(service) {
        labels.insert(HEADLESS_LABEL.to_owned(), String::new());
    }
    for (k, v) in extra {
        labels.insert((*k).to_owned(), (*v).to_owned());
    }
    labels
}

// === Endpoints ===

/// The Endpoints `service` should have, given its pods (upstream's `syncService` with
/// `RepackSubsets`): one subset per distinct set of resolved ports, addresses sorted by IP.
pub fn desired_endpoints(service: &Service, pods: &[Arc<Pod>]) -> Endpoints {
    let service_name = service.name_any();
    let publish = publish_not_ready(service);
    type Ports = Vec<ResolvedPort>;
    let mut subsets: BTreeMap<Ports, (Vec<EndpointAddress>, Vec<EndpointAddress>)> =
        BTreeMap::new();
    for pod in pods {
        let Some(ip) = pod_ip(pod) else { continue };
        let mut ports = resolved_ports(service, pod);
        let has_ports = service
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .is_some_and(|p| !p.is_empty());
        if ports.is_empty() && has_ports {
            continue;
        }
        ports.sort();
        let address = EndpointAddress {
            ip: ip.to_owned(),
            hostname: hostname(pod, &service_name),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(target_ref(pod)),
        };
        let entry = subsets.entry(ports).or_default();
        if publish || is_ready(pod) {
            entry.0.push(address);
        } else {
            entry.1.push(address);
        }
    }
    let subsets: Vec<EndpointSubset> = subsets
        .into_iter()
        .map(|(ports, (mut ready, mut not_ready))| {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then(|| {
                    ports
                        .into_iter()
                        .map(|(name, port, protocol, app_protocol)| EndpointPort {
                            name,
                            port,
                            protocol: Some(protocol),
                            app_protocol,
                        })
                        .collect()
                }),
            }
        })
        .collect();
    Endpoints {
        metadata: ObjectMeta {
            name: Some(service_name),
            namespace: service.namespace(),
            labels: Some(derived_labels(service, &[])),
            ..ObjectMeta::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    }
}

// === EndpointSlices ===

/// The address type of a Service's slices: its first IP family.
fn address_type(service: &Service) -> String {
    let family = service
        .spec
        .as_ref()
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first().cloned());
    match family.as_deref() {
        Some("IPv6") => "IPv6".to_owned(),
        _ => "IPv4".to_owned(),
    }
}

fn service_owner(service: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Service".to_owned(),
        name: service.name_any(),
        uid: service.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The content of one slice: its ports and endpoints (what is compared and written).
#[derive(Debug, Clone, PartialEq)]
pub struct SliceContent {
    /// The ports, in the Service's order.
    pub ports: Vec<SlicePort>,
    /// The endpoints, sorted by address.
    pub endpoints: Vec<Endpoint>,
}

/// The slices `service` should have (upstream's reconciler): its pods' endpoints grouped by their
/// resolved ports, at most [`MAX_ENDPOINTS_PER_SLICE`] each; one empty slice when there are none.
pub fn desired_slices(service: &Service, pods: &[Arc<Pod>]) -> Vec<SliceContent> {
    let service_name = service.name_any();
    let publish = publish_not_ready(service);
    let family_v6 = address_type(service) == "IPv6";
    let mut groups: BTreeMap<Vec<ResolvedPort>, Vec<Endpoint>> = BTreeMap::new();
    for pod in pods {
        let Some(ip) = pod_ip(pod) else { continue };
        if ip.contains(':') != family_v6 {
            continue;
        }
        let ports = resolved_ports(service, pod);
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let serving = publish || is_ready(pod);
        let ready = serving && (publish || !terminating);
        let endpoint = Endpoint {
            addresses: vec![ip.to_owned()],
            conditions: Some(EndpointConditions {
                ready: Some(ready),
                serving: Some(serving),
                terminating: Some(terminating),
            }),
            hostname: hostname(pod, &service_name),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(target_ref(pod)),
            ..Endpoint::default()
        };
        groups.entry(ports).or_default().push(endpoint);
    }
    if groups.is_empty() {
        return vec![SliceContent {
            ports: Vec::new(),
            endpoints: Vec::new(),
        }];
    }
    let mut out = Vec::new();
    for (ports, mut endpoints) in groups {
        endpoints.sort_by(|a, b| a.addresses.cmp(&b.addresses));
        let ports: Vec<SlicePort> = ports
            .into_iter()
            .map(|(name, port, protocol, app_protocol)| SlicePort {
                name,
                port: Some(port),
                protocol: Some(protocol),
                app_protocol,
            })
            .collect();
        for chunk in endpoints.chunks(MAX_ENDPOINTS_PER_SLICE) {
            out.push(SliceContent {
                ports: ports.clone(),
                endpoints: chunk.to_vec(),
            });
        }
    }
    out
}

fn content_of(slice: &EndpointSlice) -> SliceContent {
    SliceContent {
        ports: slice.ports.clone().unwrap_or_default(),
        endpoints: slice.endpoints.clone().unwrap_or_default(),
    }
}

/// Make the slices labelled for (`service_name`, `managed_by`) in `namespace` hold `desired`:
/// existing slices are rewritten in place where they differ, missing ones created (named
/// `<service>-<random>`), surplus ones deleted.
async fn write_slices(
    client: &Client,
    namespace: &str,
    service_name: &str,
    managed_by: &str,
    template: &EndpointSlice,
    desired: Vec<SliceContent>,
) -> Result<(), SyncError> {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{SERVICE_NAME_LABEL}={service_name},{MANAGED_BY_LABEL}={managed_by}");
    let existing = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error(
            "listing",
            "EndpointSlices",
            namespace,
            service_name,
        ))?
        .items;
    // Slices that already hold a desired content stay as they are (when their metadata does too).
    let mut unmatched_desired = Vec::new();
    let mut reusable: Vec<EndpointSlice> = Vec::new();
    let mut kept = BTreeSet::new();
    for content in desired {
        match existing.iter().position(|slice| {
            !kept.contains(&slice.name_any())
                && content_of(slice) == content
                && slice.address_type == template.address_type
                && slice.metadata.labels == template.metadata.labels
                && slice.metadata.owner_references == template.metadata.owner_references
        }) {
            Some(i) => {
                kept.insert(existing[i].name_any());
            }
            None => unmatched_desired.push(content),
        }
    }
    for slice in &existing {
        if !kept.contains(&slice.name_any()) {
            reusable.push(slice.clone());
        }
    }
    let mut reusable = reusable.into_iter();
    for content in unmatched_desired {
        let mut slice = template.clone();
        slice.ports = Some(content.ports);
        slice.endpoints = Some(content.endpoints);
        match reusable.next() {
            Some(old) => {
                // An address type cannot change; such a slice is replaced instead.
                if old.address_type != template.address_type {
                    delete_slice(&api, namespace, &old.name_any()).await?;
                    create_slice(&api, namespace, service_name, slice).await?;
                    continue;
                }
                let name = old.name_any();
                slice.metadata.name = Some(name.clone());
                slice.metadata.generate_name = None;
                slice.metadata.resource_version = old.metadata.resource_version.clone();
                match api.replace(&name, &post_params(), &slice).await {
                    Ok(_) => {}
                    Err(error) if crate::api_code(&error) == Some(404) => {}
                    Err(error) => {
                        return Err(api_error("updating", "EndpointSlice", namespace, &name)(
                            error,
                        ));
                    }
                }
            }
            None => create_slice(&api, namespace, service_name, slice).await?,
        }
    }
    for surplus in reusable {
        delete_slice(&api, namespace, &surplus.name_any()).await?;
    }
    Ok(())
}

async fn create_slice(
    api: &Api<EndpointSlice>,
    namespace: &str,
    service_name: &str,
    slice: EndpointSlice,
) -> Result<(), SyncError> {
    match api.create(&post_params(), &slice).await {
        Ok(_) => Ok(()),
        Err(error) if crate::is_namespace_terminating(&error) => Ok(()),
        Err(error) => Err(api_error(
            "creating",
            "EndpointSlice",
            namespace,
            service_name,
        )(error)),
    }
}

async fn delete_slice(
    api: &Api<EndpointSlice>,
    namespace: &str,
    name: &str,
) -> Result<(), SyncError> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(error) if crate::api_code(&error) == Some(404) => Ok(()),
        Err(error) => Err(api_error("deleting", "EndpointSlice", namespace, name)(
            error,
        )),
    }
}

/// Delete every slice labelled for (`service_name`, `managed_by`) in `namespace`.
async fn delete_slices(
    client: &Client,
    namespace: &str,
    service_name: &str,
    managed_by: &str,
) -> Result<(), SyncError> {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{SERVICE_NAME_LABEL}={service_name},{MANAGED_BY_LABEL}={managed_by}");
    let existing = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error(
            "listing",
            "EndpointSlices",
            namespace,
            service_name,
        ))?;
    for slice in existing.items {
        delete_slice(&api, namespace, &slice.name_any()).await?;
    }
    Ok(())
}

fn slice_template(
    namespace: &str,
    service_name: &str,
    labels: BTreeMap<String, String>,
    owner: OwnerReference,
    address_type: String,
) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{service_name}-")),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        address_type,
        endpoints: Some(Vec::new()),
        ports: None,
    }
}

// === running ===

/// Which of the three controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `endpoint`: Endpoints of Services with selectors.
    Endpoints,
    /// `endpointslice`: EndpointSlices of Services with selectors.
    EndpointSlices,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Endpoints => "endpoints-controller",
            Which::EndpointSlices => "endpointslice-controller",
        }
    }
}

struct Context {
    client: Client,
    pods: Store<Pod>,
    which: Which,
    backoff: FailureBackoff,
}

/// Run the endpoints or the endpointslice controller until `shutdown` turns true.
pub async fn run(
    client: Client,
    which: Which,
    pods: SharedInformer<Pod>,
    shutdown: watch::Receiver<bool>,
) {
    let name = which.name();
    tracing::info!(controller = name, "starting controller");
    let pod_stream = pods.subscribe();
    let pods = pods.store();
    let controller = Controller::new(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    );
    let services = controller.store();
    let deletions = tokio::spawn(clean_up_deleted_services(
        client.clone(),
        which,
        shutdown.clone(),
    ));
    let context = Arc::new(Context {
        client,
        pods,
        which,
        backoff: FailureBackoff::default(),
    });
    controller
        .watches_shared_stream(pod_stream, move |pod: Arc<Pod>| {
            // Every selecting Service of the namespace, so that a pod whose labels stopped matching
            // leaves the Service it was in.
            let namespace = pod.namespace();
            services
                .state()
                .into_iter()
                .filter(|service| service.namespace() == namespace && selector(service).is_some())
                .map(|service| ObjectRef::from_obj(service.as_ref()))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(name, result);
        })
        .await;
    deletions.abort();
    tracing::info!(controller = name, "shutting down controller");
}

async fn reconcile(service: Arc<Service>, context: Arc<Context>) -> Result<Action, SyncError> {
    match crate::store_ready(&context.pods) {
        Some(true) => {}
        Some(false) => return Err(SyncError::CacheGone),
        None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
    }
    let key = format!(
        "{}/{}",
        service.namespace().unwrap_or_default(),
        service.name_any()
    );
    match context.which {
        Which::Endpoints => sync_endpoints(&service, &context).await?,
        Which::EndpointSlices => sync_slices(&service, &context).await?,
    }
    context.backoff.forget(&key);
    Ok(Action::await_change())
}

fn error_policy(service: Arc<Service>, error: &SyncError, context: Arc<Context>) -> Action {
    let key = format!(
        "{}/{}",
        service.namespace().unwrap_or_default(),
        service.name_any()
    );
    let delay = context.backoff.next_delay(&key);
    tracing::warn!(controller = context.which.name(), service = %key, %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

async fn sync_endpoints(service: &Service, context: &Context) -> Result<(), SyncError> {
    if selector(service).is_none() || service.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let namespace = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let pods = service_pods(service, &context.pods, publish_not_ready(service));
    let desired = desired_endpoints(service, &pods);
    let api: Api<Endpoints> = Api::namespaced(context.client.clone(), &namespace);
    let current =
        api.get_opt(&name)
            .await
            .map_err(api_error("reading", "Endpoints", &namespace, &name))?;
    match current {
        None => match api.create(&post_params(), &desired).await {
            Ok(_) => Ok(()),
            Err(error)
                if crate::api_code(&error) == Some(409)
                    || crate::is_namespace_terminating(&error) =>
            {
                Ok(())
            }
            Err(error) => Err(api_error("creating", "Endpoints", &namespace, &name)(error)),
        },
        Some(current) => {
            let same_labels = current.metadata.labels.clone().unwrap_or_default()
                == desired.metadata.labels.clone().unwrap_or_default();
            if current.subsets.clone().unwrap_or_default()
                == desired.subsets.clone().unwrap_or_default()
                && same_labels
            {
                return Ok(());
            }
            let mut updated = current.clone();
            updated.subsets = desired.subsets;
            updated.metadata.labels = desired.metadata.labels;
            api.replace(&name, &post_params(), &updated)
                .await
                .map(|_| ())
                .map_err(api_error("updating", "Endpoints", &namespace, &name))
        }
    }
}

async fn sync_slices(service: &Service, context: &Context) -> Result<(), SyncError> {
    if selector(service).is_none() || service.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let namespace = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let pods = service_pods(service, &context.pods, true);
    let template = slice_template(
        &namespace,
        &name,
        derived_labels(
            service,
            &[
                (SERVICE_NAME_LABEL, &name),
                (MANAGED_BY_LABEL, SLICE_CONTROLLER),
            ],
        ),
        service_owner(service),
        address_type(service),
    );
    write_slices(
        &context.client,
        &namespace,
        &name,
        SLICE_CONTROLLER,
        &template,
        desired_slices(service, &pods),
    )
    .await
}

/// Delete what a deleted Service had: its Endpoints (when it had a selector) or its slices.
async fn clean_up_deleted_services(
    client: Client,
    which: Which,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut events = watcher(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .boxed();
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            () = crate::stopped(&mut shutdown) => return,
        };
        let Some(event) = event else { return };
        let Ok(watcher::Event::Delete(service)) = event else {
            continue;
        };
        if selector(&service).is_none() {
            continue;
        }
        let namespace = service.namespace().unwrap_or_default();
        let name = service.name_any();
        let result = match which {
            Which::Endpoints => {
                let api: Api<Endpoints> = Api::namespaced(client.clone(), &namespace);
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(error) if crate::api_code(&error) == Some(404) => Ok(()),
                    Err(error) => Err(api_error("deleting", "Endpoints", &namespace, &name)(error)),
                }
            }
            Which::EndpointSlices => {
                delete_slices(&client, &namespace, &name, SLICE_CONTROLLER).await
            }
        };
        if let Err(error) = result {
            tracing::warn!(controller = which.name(), %error, "cleaning up after a deleted Service");
        }
    }
}

// === mirroring ===

struct MirrorContext {
    client: Client,
    services: Store<Service>,
    backoff: FailureBackoff,
}

const MIRRORING_NAME: &str = "endpointslice-mirroring-controller";

/// Run the endpointslice-mirroring controller until `shutdown` turns true.
pub async fn run_mirroring(client: Client, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = MIRRORING_NAME, "starting controller");
    let (services, writer) = reflector::store();
    let service_stream = reflector::reflector(
        writer,
        watcher(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .touched_objects();
    let deletions = tokio::spawn(clean_up_deleted_endpoints(client.clone(), shutdown.clone()));
    let context = Arc::new(MirrorContext {
        client: client.clone(),
        services,
        backoff: FailureBackoff::default(),
    });
    Controller::new(Api::<Endpoints>::all(client), watcher::Config::default())
        .watches_stream(service_stream, |service: Service| {
            Some(
                ObjectRef::<Endpoints>::new(&service.name_any())
                    .within(&service.namespace().unwrap_or_default()),
            )
        })
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile_mirror, mirror_error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(MIRRORING_NAME, result);
        })
        .await;
    deletions.abort();
    tracing::info!(controller = MIRRORING_NAME, "shutting down controller");
}

fn mirror_error_policy(
    endpoints: Arc<Endpoints>,
    error: &SyncError,
    context: Arc<MirrorContext>,
) -> Action {
    let key = format!(
        "{}/{}",
        endpoints.namespace().unwrap_or_default(),
        endpoints.name_any()
    );
    let delay = context.backoff.next_delay(&key);
    tracing::warn!(controller = MIRRORING_NAME, endpoints = %key, %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

/// Whether `endpoints` is mirrored: not opted out, and its Service exists without a selector.
fn mirrors(endpoints: &Endpoints, service: Option<&Service>) -> bool {
    let skip = endpoints
        .labels()
        .get(SKIP_MIRROR_LABEL)
        .is_some_and(|v| v == "true");
    !skip
        && service.is_some_and(|s| selector(s).is_none() && s.metadata.deletion_timestamp.is_none())
}

/// The slices mirroring `endpoints`: one per subset (and address type), ready addresses ready and
/// not-ready ones not.
pub fn mirrored_slices(endpoints: &Endpoints) -> Vec<(String, SliceContent)> {
    let mut out = Vec::new();
    for subset in endpoints.subsets.iter().flatten() {
        let ports: Vec<SlicePort> = subset
            .ports
            .iter()
            .flatten()
            .map(|p| SlicePort {
                name: p.name.clone(),
                port: Some(p.port),
                protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".to_owned())),
                app_protocol: p.app_protocol.clone(),
            })
            .collect();
        let mut by_family: BTreeMap<String, Vec<Endpoint>> = BTreeMap::new();
        let addresses = subset.addresses.iter().flatten().map(|a| (a, true)).chain(
            subset
                .not_ready_addresses
                .iter()
                .flatten()
                .map(|a| (a, false)),
        );
        for (address, ready) in addresses {
            let family = if address.ip.contains(':') {
                "IPv6"
            } else {
                "IPv4"
            };
            by_family
                .entry(family.to_owned())
                .or_default()
                .push(Endpoint {
                    addresses: vec![address.ip.clone()],
                    conditions: Some(EndpointConditions {
                        ready: Some(ready),
                        serving: Some(ready),
                        terminating: Some(false),
                    }),
                    hostname: address.hostname.clone(),
                    node_name: address.node_name.clone(),
                    target_ref: address.target_ref.clone(),
                    ..Endpoint::default()
                });
        }
        for (family, endpoints) in by_family {
            for chunk in endpoints.chunks(1000) {
                out.push((
                    family.clone(),
                    SliceContent {
                        ports: ports.clone(),
                        endpoints: chunk.to_vec(),
                    },
                ));
            }
        }
    }
    out
}

async fn reconcile_mirror(
    endpoints: Arc<Endpoints>,
    context: Arc<MirrorContext>,
) -> Result<Action, SyncError> {
    match crate::store_ready(&context.services) {
        Some(true) => {}
        Some(false) => return Err(SyncError::CacheGone),
        None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
    }
    let namespace = endpoints.namespace().unwrap_or_default();
    let name = endpoints.name_any();
    let service = context
        .services
        .get(&ObjectRef::new(&name).within(&namespace));
    if !mirrors(&endpoints, service.as_deref()) || endpoints.metadata.deletion_timestamp.is_some() {
        delete_slices(&context.client, &namespace, &name, MIRRORING_CONTROLLER).await?;
        return Ok(Action::await_change());
    }
    let mut labels = endpoints.labels().clone();
    labels.remove("endpoints.kubernetes.io/last-change-trigger-time");
    labels.insert(SERVICE_NAME_LABEL.to_owned(), name.clone());
    labels.insert(MANAGED_BY_LABEL.to_owned(), MIRRORING_CONTROLLER.to_owned());
    let owner = OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Endpoints".to_owned(),
        name: name.clone(),
        uid: endpoints.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let slices = mirrored_slices(&endpoints);
    // One write per address type, each with its own template.
    let families: BTreeSet<String> = slices.iter().map(|(f, _)| f.clone()).collect();
    if families.len() <= 1 {
        let family = families
            .into_iter()
            .next()
            .unwrap_or_else(|| "IPv4".to_owned());
        let template = slice_template(&namespace, &name, labels, owner, family);
        let contents: Vec<SliceContent> = slices.into_iter().map(|(_, c)| c).collect();
        if contents.is_empty() {
            delete_slices(&context.client, &namespace, &name, MIRRORING_CONTROLLER).await?;
        } else {
            write_slices(
                &context.client,
                &namespace,
                &name,
                MIRRORING_CONTROLLER,
                &template,
                contents,
            )
            .await?;
        }
    } else {
        // Dual-stack custom Endpoints: rewrite all slices (rare; no in-place reuse across types).
        delete_slices(&context.client, &namespace, &name, MIRRORING_CONTROLLER).await?;
        let api: Api<EndpointSlice> = Api::namespaced(context.client.clone(), &namespace);
        for (family, content) in slices {
            let mut slice =
                slice_template(&namespace, &name, labels.clone(), owner.clone(), family);
            slice.ports = Some(content.ports);
            slice.endpoints = Some(content.endpoints);
            create_slice(&api, &namespace, &name, slice).await?;
        }
    }
    context.backoff.forget(&format!("{namespace}/{name}"));
    Ok(Action::await_change())
}

/// Delete the mirrored slices of deleted Endpoints.
async fn clean_up_deleted_endpoints(client: Client, mut shutdown: watch::Receiver<bool>) {
    let mut events = watcher(
        Api::<Endpoints>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .boxed();
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            () = crate::stopped(&mut shutdown) => return,
        };
        let Some(event) = event else { return };
        let Ok(watcher::Event::Delete(endpoints)) = event else {
            continue;
        };
        let namespace = endpoints.namespace().unwrap_or_default();
        if let Err(error) = delete_slices(
            &client,
            &namespace,
            &endpoints.name_any(),
            MIRRORING_CONTROLLER,
        )
        .await
        {
            tracing::warn!(controller = MIRRORING_NAME, %error, "cleaning up after deleted Endpoints");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn service(value: serde_json::Value) -> Service {
        serde_json::from_value(value).unwrap()
    }

    fn pod(name: &str, ip: &str, ready: bool, extra: serde_json::Value) -> Arc<Pod> {
        let mut value = json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
        });
        if let (Some(target), Some(more)) = (value.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                target.insert(k.clone(), v.clone());
            }
        }
        Arc::new(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn endpoints_split_ready_and_not_ready_and_resolve_named_ports() {
        let svc = service(
            json!({"metadata": {"name": "web", "namespace": "ns", "labels": {"tier": "x"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "h", "port": 80, "targetPort": "http"}]}}),
        );
        let pods = vec![
            pod("b", "10.0.0.2", false, json!({})),
            pod("a", "10.0.0.1", true, json!({})),
        ];
        let endpoints = serde_json::to_value(desired_endpoints(&svc, &pods)).unwrap();
        assert_eq!(endpoints["metadata"]["labels"], json!({"tier": "x"}));
        assert_eq!(
            endpoints["subsets"],
            json!([{
                "addresses": [{"ip": "10.0.0.1", "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "a", "namespace": "ns", "uid": "uid-a"}}],
                "notReadyAddresses": [{"ip": "10.0.0.2", "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "b", "namespace": "ns", "uid": "uid-b"}}],
                "ports": [{"name": "h", "port": 8080, "protocol": "TCP"}]
            }])
        );
        let none = desired_endpoints(&svc, &[]);
        assert!(none.subsets.is_none());
    }

    #[test]
    fn slices_carry_conditions_and_a_placeholder_when_empty() {
        let svc = service(json!({"metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}));
        let terminating = pod("t", "10.0.0.3", true, json!({}));
        let mut terminating = (*terminating).clone();
        terminating.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        let pods = vec![pod("a", "10.0.0.1", true, json!({})), Arc::new(terminating)];
        let slices = desired_slices(&svc, &pods);
        assert_eq!(slices.len(), 1);
        let conditions: Vec<_> = slices[0]
            .endpoints
            .iter()
            .map(|e| serde_json::to_value(&e.conditions).unwrap())
            .collect();
        assert_eq!(
            conditions,
            [
                json!({"ready": true, "serving": true, "terminating": false}),
                json!({"ready": false, "serving": true, "terminating": true}),
            ]
        );
        assert_eq!(slices[0].ports[0].port, Some(8080));
        let empty = desired_slices(&svc, &[]);
        assert_eq!(
            empty,
            [SliceContent {
                ports: Vec::new(),
                endpoints: Vec::new()
            }]
        );
    }

    #[test]
    fn mirroring_follows_subsets() {
        let endpoints: Endpoints = serde_json::from_value(json!({"metadata": {"name": "ext", "namespace": "ns"},
            "subsets": [{"addresses": [{"ip": "10.1.0.1"}], "notReadyAddresses": [{"ip": "10.1.0.2"}], "ports": [{"name": "p", "port": 9000}]}]})).unwrap();
        let slices = mirrored_slices(&endpoints);
        assert_eq!(slices.len(), 1);
        assert_eq!(slices[0].0, "IPv4");
        assert_eq!(slices[0].1.endpoints.len(), 2);
        assert_eq!(
            slices[0].1.endpoints[1].conditions.as_ref().unwrap().ready,
            Some(false)
        );
        let selectorless = service(
            json!({"metadata": {"name": "ext", "namespace": "ns"}, "spec": {"ports": [{"port": 80}]}}),
        );
        assert!(mirrors(&endpoints, Some(&selectorless)));
        let selected = service(
            json!({"metadata": {"name": "ext", "namespace": "ns"}, "spec": {"selector": {"a": "b"}}}),
        );
        assert!(!mirrors(&endpoints, Some(&selected)));
        assert!(!mirrors(&endpoints, None));
    }
}

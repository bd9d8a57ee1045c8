//! The daemonset controller (upstream `pkg/controller/daemon`): one pod per eligible node.
//!
//! A node is eligible when the pod template's `nodeSelector` and required node affinity match it
//! and the pod (with the tolerations upstream adds to every daemon pod) tolerates its `NoSchedule`
//! and `NoExecute` taints. Keyed by DaemonSet; pod changes (shared informer) requeue their
//! DaemonSet and node changes requeue every DaemonSet. A sync:
//!
//! 1. records the template as a ControllerRevision (see [`crate::revisions`]);
//! 2. creates the missing daemon pods, each pinned to its node by a required node affinity on
//!    `metadata.name` (as upstream) and bound to it (`spec.nodeName`), deletes daemon pods on nodes
//!    that are no longer eligible, extra ones on a node, and failed ones (to be replaced);
//! 3. with `RollingUpdate`, replaces old-revision pods while at most `maxUnavailable` daemon pods
//!    are unavailable; with `OnDelete`, only deleted pods come back on the new revision;
//! 4. writes the status (`desiredNumberScheduled`, `currentNumberScheduled`, `numberMisscheduled`,
//!    `numberReady`, `numberAvailable`, `numberUnavailable`, `updatedNumberScheduled`,
//!    `observedGeneration`).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::{
    api::{
        apps::v1::{DaemonSet, DaemonSetStatus},
        core::v1::{
            Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
            Pod, Taint, Toleration,
        },
    },
    apimachinery::pkg::{apis::meta::v1::OwnerReference, util::intstr::IntOrString},
};
use kube::{
    Api, Client, Resource as _, ResourceExt as _,
    api::{DeleteParams, PostParams, Preconditions},
    runtime::{
        Controller, WatchStreamExt as _,
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use tokio::sync::watch;

use crate::{backoff::FailureBackoff, informer::SharedInformer, revisions::REVISION_LABEL};

const NAME: &str = "daemonset-controller";
const CACHE_SYNC_RETRY: Duration = Duration::from_millis(100);

/// A failed sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A cache's reflector is gone.
    #[error("a cache stopped before its first list")]
    CacheGone,
    /// A call to the API failed.
    #[error("{action} for DaemonSet {key}: {source}")]
    Api {
        /// What was done.
        action: &'static str,
        /// namespace/name.
        key: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

struct Context {
    client: Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    recorder: Recorder,
    backoff: FailureBackoff,
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, pods: SharedInformer<Pod>, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let (nodes, writer) = reflector::store();
    let node_stream = reflector::reflector(
        writer,
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default()),
    )
    .default_backoff()
    .touched_objects();
    let pod_stream = pods.subscribe();
    let controller = Controller::new(
        Api::<DaemonSet>::all(client.clone()),
        watcher::Config::default(),
    );
    let sets = controller.store();
    let context = Arc::new(Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: NAME.to_owned(),
                instance: None,
            },
        ),
        client,
        pods: pods.store(),
        nodes,
        backoff: FailureBackoff::default(),
    });
    controller
        .watches_shared_stream(pod_stream, |pod: Arc<Pod>| {
            let owner = pod
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true) && o.kind == "DaemonSet")?;
            Some(ObjectRef::<DaemonSet>::new(&owner.name).within(&pod.namespace()?))
        })
        .watches_stream(node_stream, move |_node: Node| {
            sets.state()
                .iter()
                .map(|set| ObjectRef::from_obj(set.as_ref()))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(NAME, result);
        })
        .await;
    tracing::info!(controller = NAME, "shutting down controller");
}

fn key(set: &DaemonSet) -> String {
    format!("{}/{}", set.namespace().unwrap_or_default(), set.name_any())
}

fn error_policy(set: Arc<DaemonSet>, error: &SyncError, context: Arc<Context>) -> Action {
    let delay = context.backoff.next_delay(&key(&set));
    tracing::warn!(controller = NAME, set = %key(&set), %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

fn api_error(action: &'static str, set: &DaemonSet) -> impl FnOnce(kube::Error) -> SyncError {
    let key = key(set);
    move |source| SyncError::Api {
        action,
        key,
        source,
    }
}

// === eligibility ===

/// The tolerations upstream adds to every daemon pod.
pub fn default_tolerations(host_network: bool) -> Vec<Toleration> {
    let toleration = |key: &str, effect: &str| Toleration {
        key: Some(key.to_owned()),
        operator: Some("Exists".to_owned()),
        effect: Some(effect.to_owned()),
        ..Toleration::default()
    };
    let mut out = vec![
        toleration("node.kubernetes.io/not-ready", "NoExecute"),
        toleration("node.kubernetes.io/unreachable", "NoExecute"),
        toleration("node.kubernetes.io/disk-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/memory-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/pid-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        out.push(toleration(
            "node.kubernetes.io/network-unavailable",
            "NoSchedule",
        ));
    }
    out
}

fn tolerates(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == taint.effect);
        let key_ok = t
            .key
            .as_deref()
            .is_none_or(|k| k.is_empty() || k == taint.key);
        let value_ok = match t.operator.as_deref().unwrap_or("Equal") {
            "Exists" => true,
            _ => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        };
        effect_ok && key_ok && value_ok
    })
}

fn requirement_matches(requirement: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = requirement.values.clone().unwrap_or_default();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if requirement.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let labels = node.labels();
    let expressions_ok = term
        .match_expressions
        .iter()
        .flatten()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)));
    let fields_ok = term.match_fields.iter().flatten().all(|r| {
        let value = (r.key == "metadata.name").then(|| node.name_any());
        requirement_matches(r, value.as_deref())
    });
    expressions_ok && fields_ok
}

/// Whether the set's pods belong on `node`.
pub fn eligible(set: &DaemonSet, node: &Node) -> bool {
    let Some(pod_spec) = Some(&set.spec).and_then(|s| s.template.spec.as_ref()) else {
        return false;
    };
    let labels = node.labels();
    if let Some(selector) = &pod_spec.node_selector
        && !selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    if let Some(required) = pod_spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        && !required
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, node))
    {
        return false;
    }
    let mut tolerations = pod_spec.tolerations.clone().unwrap_or_default();
    tolerations.extend(default_tolerations(pod_spec.host_network.unwrap_or(false)));
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| matches!(t.effect.as_str(), "NoSchedule" | "NoExecute"))
        .all(|taint| tolerates(&tolerations, taint))
}

// === pods ===

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn node_of(pod: &Pod) -> Option<String> {
    if let Some(node) = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty())
    {
        return Some(node);
    }
    // Not bound yet: the node its affinity pins it to.
    pod.spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name" && r.operator == "In")
        .and_then(|r| r.values.as_ref()?.first().cloned())
}

fn owner_ref(set: &DaemonSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".to_owned(),
        kind: "DaemonSet".to_owned(),
        name: set.name_any(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The daemon pod for `node` at `revision`.
pub fn pod_for(set: &DaemonSet, node: &str, revision: &str) -> Pod {
    let template = Some(&set.spec)
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let mut metadata = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    metadata.name = None;
    metadata.generate_name = Some(format!("{}-", set.name_any()));
    metadata.namespace = set.namespace();
    metadata.owner_references = Some(vec![owner_ref(set)]);
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(
        REVISION_LABEL.to_owned(),
        revision.rsplit('-').next().unwrap_or(revision).to_owned(),
    );
    labels.insert(
        "pod-template-generation".to_owned(),
        set.metadata.generation.unwrap_or(1).to_string(),
    );
    let pin = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".to_owned(),
            operator: "In".to_owned(),
            values: Some(vec![node.to_owned()]),
        }]),
        match_expressions: None,
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![pin],
    });
    let mut tolerations = spec.tolerations.take().unwrap_or_default();
    for toleration in default_tolerations(spec.host_network.unwrap_or(false)) {
        if !tolerations
            .iter()
            .any(|t| t.key == toleration.key && t.effect == toleration.effect)
        {
            tolerations.push(toleration);
        }
    }
    spec.tolerations = Some(tolerations);
    spec.node_name = Some(node.to_owned());
    Pod {
        metadata,
        spec: Some(spec),
        status: None,
    }
}

async fn event(context: &Context, set: &DaemonSet, kind: EventType, reason: &str, note: String) {
    let event = Event {
        type_: kind,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    if let Err(error) = context.recorder.publish(&event, &set.object_ref(&())).await {
        tracing::debug!(controller = NAME, %error, "recording an event failed");
    }
}

async fn delete_pod(context: &Context, set: &DaemonSet, pod: &Pod) -> Result<(), SyncError> {
    let api: Api<Pod> =
        Api::namespaced(context.client.clone(), &set.namespace().unwrap_or_default());
    let params = DeleteParams {
        preconditions: pod.metadata.uid.clone().map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => {
            event(
                context,
                set,
                EventType::Normal,
                "SuccessfulDelete",
                format!("Deleted pod: {}", pod.name_any()),
            )
            .await;
            Ok(())
        }
        Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => Ok(()),
        Err(error) => Err(api_error("deleting a pod", set)(error)),
    }
}

// === the sync ===

async fn reconcile(set: Arc<DaemonSet>, context: Arc<Context>) -> Result<Action, SyncError> {
    for ready in [
        crate::store_ready(&context.pods),
        crate::store_ready(&context.nodes),
    ] {
        match ready {
            Some(true) => {}
            Some(false) => return Err(SyncError::CacheGone),
            None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
        }
    }
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let spec = set.spec.clone();
    let namespace = set.namespace().unwrap_or_default();
    let uid = set.metadata.uid.clone();
    let pods: Vec<Arc<Pod>> = context
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|p| {
            p.owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref())
        })
        .collect();
    let collisions = set
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let revision = crate::revisions::revision_name(&set.name_any(), &spec.template, collisions);
    let hash = revision.rsplit('-').next().unwrap_or(&revision).to_owned();
    let keep: Vec<String> = pods
        .iter()
        .filter_map(|p| {
            p.labels()
                .get(REVISION_LABEL)
                .map(|h| format!("{}-{h}", set.name_any()))
        })
        .collect();
    crate::revisions::ensure(
        &context.client,
        crate::revisions::RevisionRequest {
            namespace: &namespace,
            owner: owner_ref(&set),
            name: &revision,
            data: serde_json::json!({"spec": {"template": spec.template, "$patch": "replace"}}),
            labels: spec.selector.match_labels.clone().unwrap_or_default(),
            history_limit: usize::try_from(spec.revision_history_limit.unwrap_or(10).max(0))
                .unwrap_or(10),
            keep,
        },
    )
    .await
    .map_err(api_error("syncing revisions", &set))?;

    let nodes = context.nodes.state();
    let mut by_node: BTreeMap<String, Vec<Arc<Pod>>> = BTreeMap::new();
    for pod in &pods {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(node) = node_of(pod) {
            by_node.entry(node).or_default().push(pod.clone());
        }
    }
    let api: Api<Pod> = Api::namespaced(context.client.clone(), &namespace);
    let mut desired = 0;
    let mut misscheduled = 0;
    for node in &nodes {
        let name = node.name_any();
        let wanted = eligible(&set, node);
        let mut running = by_node.remove(&name).unwrap_or_default();
        if wanted {
            desired += 1;
            // Failed pods go, to be replaced.
            for failed in running.iter().filter(|p| phase(p) == "Failed") {
                delete_pod(&context, &set, failed).await?;
            }
            running.retain(|p| phase(p) != "Failed");
            if running.is_empty() {
                let pod = pod_for(&set, &name, &revision);
                match api.create(&PostParams::default(), &pod).await {
                    Ok(created) => {
                        event(
                            &context,
                            &set,
                            EventType::Normal,
                            "SuccessfulCreate",
                            format!("Created pod: {}", created.name_any()),
                        )
                        .await;
                    }
                    Err(error) if crate::is_namespace_terminating(&error) => {}
                    Err(error) => {
                        event(
                            &context,
                            &set,
                            EventType::Warning,
                            "FailedCreate",
                            format!("Error creating: {error}"),
                        )
                        .await;
                        return Err(api_error("creating a pod", &set)(error));
                    }
                }
            } else {
                // Extra pods on one node: keep the oldest.
                running.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
                for extra in running.iter().skip(1) {
                    delete_pod(&context, &set, extra).await?;
                }
            }
        } else if !running.is_empty() {
            misscheduled += 1;
            for pod in &running {
                delete_pod(&context, &set, pod).await?;
            }
        }
    }
    // Pods on nodes that no longer exist.
    for pods in by_node.values() {
        for pod in pods {
            delete_pod(&context, &set, pod).await?;
        }
    }

    // Rolling update.
    let live: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    if rolling {
        let max_unavailable = spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable.as_ref())
            .map_or(1, |v| match v.clone() {
                IntOrString::Int(n) => n,
                IntOrString::String(p) => {
                    let percent: i64 = p.trim_end_matches('%').parse().unwrap_or(0);
                    i32::try_from((percent * i64::from(desired)).div_euclid(100)).unwrap_or(1)
                }
            })
            .max(1);
        let unavailable = i32::try_from(live.iter().filter(|p| !is_ready(p)).count())
            .unwrap_or(i32::MAX)
            + (desired - i32::try_from(live.len()).unwrap_or(0)).max(0);
        let mut budget = (max_unavailable - unavailable).max(0);
        for pod in live
            .iter()
            .filter(|p| p.labels().get(REVISION_LABEL) != Some(&hash))
        {
            // An unready old pod can go at once; a ready one only within the budget.
            if !is_ready(pod) {
                delete_pod(&context, &set, pod).await?;
            } else if budget > 0 {
                delete_pod(&context, &set, pod).await?;
                budget -= 1;
            }
        }
    }

    // Status.
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(live.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let scheduled = count(&|_| true).min(desired);
    let ready = count(&|p| is_ready(p));
    let updated = count(&|p| p.labels().get(REVISION_LABEL) == Some(&hash));
    let old = set.status.clone().unwrap_or_default();
    let status = DaemonSetStatus {
        desired_number_scheduled: desired,
        current_number_scheduled: scheduled,
        number_misscheduled: misscheduled,
        number_ready: ready,
        number_available: Some(ready),
        number_unavailable: Some((desired - ready).max(0)),
        updated_number_scheduled: Some(updated),
        observed_generation: set.metadata.generation,
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
    };
    if status != old {
        let sets: Api<DaemonSet> = Api::namespaced(context.client.clone(), &namespace);
        let mut written = (*set).clone();
        written.status = Some(status);
        match sets
            .replace_status(&set.name_any(), &PostParams::default(), &written)
            .await
        {
            Ok(_) => {}
            Err(error) if crate::api_code(&error) == Some(409) => {
                return Ok(Action::requeue(Duration::from_millis(50)));
            }
            Err(error) => return Err(api_error("updating the status", &set)(error)),
        }
    }
    context.backoff.forget(&key(&set));
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn set(spec: serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({"metadata": {"name": "agent", "namespace": "ns", "uid": "ds"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": spec}}}))
        .unwrap()
    }

    fn node(name: &str, labels: serde_json::Value, taints: serde_json::Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}),
        )
        .unwrap()
    }

    #[test]
    fn eligibility_follows_selectors_and_taints() {
        let plain = set(json!({"containers": [{"name": "c"}]}));
        let selective =
            set(json!({"containers": [{"name": "c"}], "nodeSelector": {"disk": "ssd"}}));
        let ssd = node("a", json!({"disk": "ssd"}), json!([]));
        let tainted = node(
            "b",
            json!({}),
            json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
        );
        let cordoned = node(
            "c",
            json!({}),
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        );
        assert!(eligible(&plain, &ssd));
        assert!(!eligible(&plain, &tainted));
        assert!(
            eligible(&plain, &cordoned),
            "daemon pods tolerate cordoned nodes"
        );
        assert!(eligible(&selective, &ssd));
        assert!(!eligible(&selective, &cordoned));
        let tolerant = set(
            json!({"containers": [{"name": "c"}], "tolerations": [{"key": "dedicated", "operator": "Exists"}]}),
        );
        assert!(eligible(&tolerant, &tainted));
    }

    #[test]
    fn daemon_pods_are_pinned_to_their_node() {
        let pod = serde_json::to_value(pod_for(
            &set(json!({"containers": [{"name": "c"}]})),
            "n1",
            "agent-abc",
        ))
        .unwrap();
        assert_eq!(pod["spec"]["nodeName"], "n1");
        assert_eq!(
            pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                ["nodeSelectorTerms"][0]["matchFields"][0],
            json!({"key": "metadata.name", "operator": "In", "values": ["n1"]})
        );
        assert_eq!(pod["metadata"]["labels"][REVISION_LABEL], "abc");
        assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 6);
    }
}

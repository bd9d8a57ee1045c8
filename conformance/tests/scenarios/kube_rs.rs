//! kube-rs (the `kube` crate: client and runtime, rustls on ring) as a stock client: `Api` create,
//! get, list with selectors, replace, delete and raw watches; API errors as `kube::Error::Api`; and a
//! `reflector` fed by a `watcher` that stays in sync through creates, updates, deletes and a server
//! restart (with the list-then-watch initial list and with streaming lists, `sendInitialEvents`).
//!
//! Scenarios are sync functions: each builds its own tokio runtime. The reflector's stream runs as a
//! task on that runtime while the scenario thread makes changes with kubectl and polls the store.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::{
    api::core::v1::{ConfigMap, Container, Namespace, Pod, PodSpec},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api, Client, Config, ResourceExt,
    api::{DeleteParams, ListParams, PostParams, WatchEvent, WatchParams},
    config::{KubeConfigOptions, Kubeconfig},
    core::response::StatusSummary,
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use serde_json::Value;
use tugboat_conformance::Server;

use crate::support::{create_namespace, replace_manifest};

/// How long the reflector may take to catch up with the server (including a restart's backoff).
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the reflector's store is compared with what kubectl lists.
const SYNC_POLL: Duration = Duration::from_millis(50);
/// How long a raw watch may take to deliver the expected events.
const WATCH_TIMEOUT: Duration = Duration::from_secs(20);

/// A tokio runtime for one scenario.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building a tokio runtime")
}

/// A `kube::Client` from the server's admin kubeconfig, as an application given that file would
/// build one.
async fn client(server: &Server) -> Client {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig()).expect("reading the kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a kube Config from the kubeconfig");
    Client::try_from(config).expect("a kube Client")
}

fn configmap(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("v".to_owned(), value.to_owned())])),
        ..ConfigMap::default()
    }
}

fn pod(name: &str, app: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(BTreeMap::from([("app".to_owned(), app.to_owned())])),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".to_owned(),
                image: Some("registry.k8s.io/pause:3.10".to_owned()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// The `kube::Error::Api` status of a failed call (panics on success or another error).
#[track_caller]
fn api_error<T: std::fmt::Debug>(result: kube::Result<T>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected kube::Error::Api, got {other:?}"),
    }
}

/// The sorted names in a list.
fn names<K: kube::Resource + Clone>(list: &kube::core::ObjectList<K>) -> Vec<String> {
    let mut names: Vec<String> = list.items.iter().map(ResourceExt::name_any).collect();
    names.sort();
    names
}

fn data_v(cm: &ConfigMap) -> Option<&str> {
    cm.data.as_ref()?.get("v").map(String::as_str)
}

// === reflector ===

/// What the reflector's stream yielded, for assertions and failure messages.
#[derive(Debug, Default)]
struct WatchLog {
    /// Every event (`Init`, `InitApply(name)`, `Apply(name)`, `Delete(name)`, `InitDone`).
    events: Vec<String>,
    /// Every error, in order.
    errors: Vec<String>,
    /// Errors that are not what a restart causes (see [`restart_error`]).
    unexpected: Vec<String>,
    /// Whether the stream ended (a watcher never ends on its own).
    ended: bool,
}

impl WatchLog {
    fn summary(&self) -> String {
        let mut out = String::new();
        let start = self.events.len().saturating_sub(40);
        let _ = writeln!(out, "events (last {}):", self.events.len() - start);
        for e in &self.events[start..] {
            let _ = writeln!(out, "  {e}");
        }
        let _ = writeln!(out, "errors: {:#?}", self.errors);
        let _ = write!(out, "stream ended: {}", self.ended);
        out
    }
}

/// Whether a watcher error is what a server restart is expected to cause and the watcher recovers
/// from: the connection refused or cut (a transport error), `429` while the restarted server's
/// storage initialises (upstream's "storage is (re)initializing"), or `410 Gone` for a
/// resourceVersion older than the restarted server's watch cache (the watcher relists).
fn restart_error(error: &watcher::Error) -> bool {
    let transport = |e: &kube::Error| match e {
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => true,
        kube::Error::Api(status) => status.code == 429,
        _ => false,
    };
    match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => transport(e),
        watcher::Error::WatchError(status) => status.code == 410,
        watcher::Error::NoResourceVersion => false,
    }
}

/// ConfigMap name → resourceVersion.
type Listing = BTreeMap<String, String>;

fn kubectl_listing(server: &Server, namespace: &str) -> Listing {
    let list = server
        .kubectl(&["get", "cm", "-n", namespace, "-o", "json"])
        .ok()
        .json();
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|cm| {
            let meta = &cm["metadata"];
            (
                meta["name"].as_str().expect("name").to_owned(),
                meta["resourceVersion"]
                    .as_str()
                    .expect("resourceVersion")
                    .to_owned(),
            )
        })
        .collect()
}

fn store_listing(store: &Store<ConfigMap>) -> Listing {
    store
        .state()
        .iter()
        .map(|cm| (cm.name_any(), cm.resource_version().unwrap_or_default()))
        .collect()
}

/// Wait (bounded) until the reflector's store holds exactly what kubectl lists, names and
/// resourceVersions; returns that listing.
#[track_caller]
fn wait_in_sync(
    server: &Server,
    namespace: &str,
    store: &Store<ConfigMap>,
    log: &Mutex<WatchLog>,
    what: &str,
) -> Listing {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    loop {
        let expected = kubectl_listing(server, namespace);
        let actual = store_listing(store);
        if actual == expected {
            return expected;
        }
        if Instant::now() > deadline {
            panic!(
                "the reflector's store did not catch up ({what}) within {SYNC_TIMEOUT:?}\n\
                 kubectl lists: {expected:?}\nthe store has:  {actual:?}\n{}",
                log.lock().expect("log").summary()
            );
        }
        std::thread::sleep(SYNC_POLL);
    }
}

/// `kubectl replace` of configmap `name` with `data.v = value`.
fn kubectl_update(server: &Server, namespace: &str, name: &str, value: &str) {
    let mut cm = server
        .kubectl(&["get", "cm", name, "-n", namespace, "-o", "json"])
        .ok()
        .json();
    cm["data"]["v"] = Value::from(value);
    replace_manifest(server, &cm.to_string())
        .ok()
        .stdout_contains(&format!("configmap/{name} replaced"));
}

fn kubectl_create(server: &Server, namespace: &str, name: &str) {
    server
        .kubectl(&["create", "cm", name, "-n", namespace, "--from-literal=v=1"])
        .ok();
}

fn kubectl_delete(server: &Server, namespace: &str, name: &str) {
    server
        .kubectl(&["delete", "cm", name, "-n", namespace])
        .ok();
}

/// A reflector on the ConfigMaps of a fresh namespace, with `config`: in sync after the initial
/// list, after creates, an update and a delete, and after a server restart followed by more changes.
fn reflector_through_changes_and_restart(server: &Server, config: watcher::Config) {
    let ns = "kube-rs";
    create_namespace(server, ns);
    // Objects before the watcher starts, so the initial list (or initial events) has content.
    for name in ["a", "b"] {
        kubectl_create(server, ns, name);
    }

    let rt = runtime();
    let client = rt.block_on(client(server));
    let (store, writer) = reflector::store::<ConfigMap>();
    let log = Arc::new(Mutex::new(WatchLog::default()));
    let stream = watcher(Api::<ConfigMap>::namespaced(client, ns), config)
        .default_backoff()
        .reflect(writer);
    let task = rt.spawn({
        let log = Arc::clone(&log);
        async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let mut log = log.lock().expect("log");
                match item {
                    Ok(event) => log.events.push(event.to_string()),
                    Err(error) => {
                        let text = format!("{error} ({error:?})");
                        log.events.push(format!("error: {text}"));
                        if !restart_error(&error) {
                            log.unexpected.push(text.clone());
                        }
                        log.errors.push(text);
                    }
                }
            }
            log.lock().expect("log").ended = true;
        }
    });

    let initial = wait_in_sync(server, ns, &store, &log, "the initial list");
    assert_eq!(
        initial.keys().collect::<Vec<_>>(),
        ["a", "b"],
        "{initial:?}"
    );

    kubectl_create(server, ns, "c");
    kubectl_update(server, ns, "b", "2");
    kubectl_delete(server, ns, "a");
    let before = wait_in_sync(server, ns, &store, &log, "a create, an update and a delete");
    assert_eq!(before.keys().collect::<Vec<_>>(), ["b", "c"], "{before:?}");
    assert_ne!(
        before["b"], initial["b"],
        "the update changed b's resourceVersion"
    );
    {
        let log = log.lock().expect("log");
        assert!(
            log.errors.is_empty(),
            "the watcher saw errors before any restart:\n{}",
            log.summary()
        );
    }

    // Restart 1: nothing was written since the watcher's last event, so its resourceVersion is
    // still the newest and the restarted server can resume the watch from it (it does today).
    // Restart 2: a write elsewhere moves the revision past the watcher's resourceVersion, so the
    // restarted server's watch cache starts after it: upstream's watch cache answers such a watch
    // with `410 Expired` ("too old resource version: R (R')") and the watcher relists (tugboat
    // does the same today). Either way the store must end up equal to the server's state; which
    // path was taken is not asserted.
    let mut current = before;
    for (restart, (create, update, delete)) in [(1, ("d", "c", "b")), (2, ("e", "d", "c"))] {
        if restart == 2 {
            server
                .kubectl(&["create", "cm", "elsewhere", "-n", "default"])
                .ok();
        }
        server.restart();
        kubectl_create(server, ns, create);
        kubectl_update(server, ns, update, "2");
        kubectl_delete(server, ns, delete);
        let what = format!("a create, an update and a delete after restart {restart}");
        let after = wait_in_sync(server, ns, &store, &log, &what);
        let mut expected: Vec<&str> = current.keys().map(String::as_str).collect();
        expected.retain(|name| *name != delete);
        expected.push(create);
        expected.sort();
        assert_eq!(
            after.keys().collect::<Vec<_>>(),
            expected,
            "{what}: {after:?}"
        );
        assert_ne!(
            after[update], current[update],
            "{what}: the update changed {update}'s resourceVersion"
        );
        let updated = store
            .find(|cm| cm.name_any() == update)
            .expect("the updated configmap in the store");
        assert_eq!(data_v(&updated), Some("2"), "{what}: {updated:?}");
        let log = log.lock().expect("log");
        assert!(
            log.unexpected.is_empty() && !log.ended,
            "the watcher saw errors a restart does not explain ({what}): {:#?}\n{}",
            log.unexpected,
            log.summary()
        );
        drop(log);
        current = after;
    }
    task.abort();
}

scenario! {
    /// kube-rs `reflector` + `watcher` (list, then watch) on ConfigMaps: the store equals what
    /// kubectl lists (names and resourceVersions) after the initial list, after kubectl creates,
    /// replaces and deletes, and after a server restart (same data dir and port) followed by more
    /// changes: the watcher re-watches (or relists on 410) once the connection drops.
    fn reflector_through_restart(server) covers [] {
        reflector_through_changes_and_restart(server, watcher::Config::default());
    }
}

scenario! {
    /// The same with `watcher::Config::default().streaming_lists()`: the initial state comes from a
    /// watch with `sendInitialEvents=true` ending at the `k8s.io/initial-events-end` bookmark.
    fn reflector_streaming_list(server) covers [] {
        reflector_through_changes_and_restart(server, watcher::Config::default().streaming_lists());
    }
}

// === Api ===

scenario! {
    /// `Api::<Namespace>::get("default")`; `Api::<Pod>` create (server defaults in the answer), get,
    /// list with label and field selectors, and delete (pods answer with the deleted object).
    fn api_pods_and_namespaces(server) covers [] {
        create_namespace(server, "kube-rs");
        let rt = runtime();
        rt.block_on(async {
            let client = client(server).await;

            let namespaces: Api<Namespace> = Api::all(client.clone());
            let default = namespaces.get("default").await.expect("get namespace default");
            assert_eq!(default.name_any(), "default");
            assert_eq!(
                default.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Active"),
                "{default:?}"
            );

            let pods: Api<Pod> = Api::namespaced(client, "kube-rs");
            let web = pods.create(&PostParams::default(), &pod("web", "web")).await.expect("create web");
            assert_eq!(web.namespace().as_deref(), Some("kube-rs"));
            assert!(web.uid().is_some_and(|u| !u.is_empty()), "{web:?}");
            assert!(web.resource_version().is_some_and(|rv| !rv.is_empty()), "{web:?}");
            assert!(web.creation_timestamp().is_some(), "{web:?}");
            let spec = web.spec.as_ref().expect("spec");
            assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
            assert_eq!(spec.dns_policy.as_deref(), Some("ClusterFirst"));
            assert_eq!(spec.scheduler_name.as_deref(), Some("default-scheduler"));
            assert_eq!(spec.termination_grace_period_seconds, Some(30));
            let status = web.status.as_ref().expect("status");
            assert_eq!(status.phase.as_deref(), Some("Pending"), "{status:?}");
            assert_eq!(status.qos_class.as_deref(), Some("BestEffort"), "{status:?}");
            pods.create(&PostParams::default(), &pod("db", "db")).await.expect("create db");

            let got = pods.get("web").await.expect("get web");
            assert_eq!(got.uid(), web.uid());
            assert_eq!(got.resource_version(), web.resource_version());

            let all = pods.list(&ListParams::default()).await.expect("list");
            assert!(all.metadata.resource_version.as_ref().is_some_and(|rv| !rv.is_empty()));
            assert_eq!(names(&all), ["db", "web"]);
            let labels = |selector: &str| ListParams::default().labels(selector);
            let by_label = pods.list(&labels("app=web")).await.expect("list app=web");
            assert_eq!(names(&by_label), ["web"]);
            let by_set = pods.list(&labels("app in (db,web)")).await.expect("list app in");
            assert_eq!(names(&by_set), ["db", "web"]);
            let none = pods.list(&labels("app=none")).await.expect("list app=none");
            assert_eq!(names(&none), Vec::<String>::new());
            let by_name = ListParams::default().fields("metadata.name=db");
            let by_field = pods.list(&by_name).await.expect("list name=db");
            assert_eq!(names(&by_field), ["db"]);

            // An unscheduled pod is deleted at once; pods answer DELETE with the object.
            let deleted = pods
                .delete("web", &DeleteParams::default())
                .await
                .expect("delete web")
                .left_or_else(|status| panic!("pod delete answered a Status: {status:?}"));
            assert_eq!(deleted.name_any(), "web");
            assert_eq!(deleted.uid(), web.uid());
            let gone = api_error(pods.get("web").await);
            assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"), "{gone:?}");
            let left = pods.list(&ListParams::default()).await.expect("list after delete");
            assert_eq!(names(&left), ["db"]);
        });
        let out = server.kubectl(&["get", "pods", "-n", "kube-rs", "-o", "name"]).ok();
        assert_eq!(out.lines(), ["pod/db"], "{out}");
    }
}

scenario! {
    /// `Api::<ConfigMap>::watch` from a listed resourceVersion sees the create, replace and delete
    /// made through the same `Api`, with the objects (and resourceVersions) the writes answered;
    /// ConfigMaps answer DELETE with a Success Status.
    fn api_watch_configmaps(server) covers [] {
        create_namespace(server, "kube-rs");
        let rt = runtime();
        rt.block_on(async {
            let client = client(server).await;
            let api: Api<ConfigMap> = Api::namespaced(client, "kube-rs");
            let listed = api.list(&ListParams::default()).await.expect("list");
            let rv = listed.metadata.resource_version.expect("list resourceVersion");
            let stream = api.watch(&WatchParams::default().timeout(60), &rv).await.expect("watch");

            let created = api.create(&PostParams::default(), &configmap("w", "1")).await.expect("create");
            let mut changed = created.clone();
            changed.data = configmap("w", "2").data;
            let replaced = api.replace("w", &PostParams::default(), &changed).await.expect("replace");
            assert_eq!(data_v(&replaced), Some("2"));
            assert_ne!(replaced.resource_version(), created.resource_version());
            let status = api
                .delete("w", &DeleteParams::default())
                .await
                .expect("delete")
                .right_or_else(|cm| panic!("configmap delete answered the object: {cm:?}"));
            assert_eq!(status.status, Some(StatusSummary::Success), "{status:?}");
            let details = status.details.as_ref().expect("details");
            assert_eq!(details.name, "w", "{status:?}");
            assert_eq!(details.kind, "configmaps", "{status:?}");
            assert_eq!(Some(details.uid.clone()), created.uid(), "{status:?}");

            let events: Vec<WatchEvent<ConfigMap>> = tokio::time::timeout(
                WATCH_TIMEOUT,
                stream
                    .try_filter(|e| std::future::ready(!matches!(e, WatchEvent::Bookmark(_))))
                    .take(3)
                    .try_collect(),
            )
            .await
            .expect("three watch events in time")
            .expect("watch events");
            let seen: Vec<(&str, String, Option<&str>, Option<String>)> = events
                .iter()
                .map(|e| match e {
                    WatchEvent::Added(cm) => ("ADDED", cm.name_any(), data_v(cm), cm.resource_version()),
                    WatchEvent::Modified(cm) => {
                        ("MODIFIED", cm.name_any(), data_v(cm), cm.resource_version())
                    }
                    WatchEvent::Deleted(cm) => ("DELETED", cm.name_any(), data_v(cm), None),
                    other => panic!("unexpected watch event {other:?}"),
                })
                .collect();
            assert_eq!(
                seen,
                [
                    ("ADDED", "w".to_owned(), Some("1"), created.resource_version()),
                    ("MODIFIED", "w".to_owned(), Some("2"), replaced.resource_version()),
                    ("DELETED", "w".to_owned(), Some("2"), None),
                ],
                "{events:?}"
            );
            // The deleted object carries the deletion's resourceVersion, after the replace's.
            let rv_of = |cm: &ConfigMap| cm.resource_version().and_then(|rv| rv.parse::<u64>().ok());
            if let WatchEvent::Deleted(cm) = &events[2] {
                assert!(rv_of(cm) > rv_of(&replaced), "{cm:?} after {replaced:?}");
            }
        });
    }
}

scenario! {
    /// Failures come back as `kube::Error::Api` with upstream's Status: get of a missing object is
    /// 404 NotFound, a duplicate create 409 AlreadyExists, a replace with a stale resourceVersion 409
    /// Conflict, a create in a missing namespace 404 NotFound for the namespace.
    fn api_errors(server) covers [] {
        create_namespace(server, "kube-rs");
        let rt = runtime();
        rt.block_on(async {
            let client = client(server).await;
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-rs");

            let missing = api_error(api.get("nope").await);
            assert_eq!(missing.status, Some(StatusSummary::Failure), "{missing:?}");
            assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"), "{missing:?}");
            assert_eq!(missing.message, r#"configmaps "nope" not found"#);
            let details = missing.details.as_ref().expect("details");
            assert_eq!((details.name.as_str(), details.kind.as_str()), ("nope", "configmaps"));

            let first = api.create(&PostParams::default(), &configmap("dup", "1")).await.expect("create");
            let dup = api_error(api.create(&PostParams::default(), &configmap("dup", "2")).await);
            assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"), "{dup:?}");
            assert_eq!(dup.message, r#"configmaps "dup" already exists"#);

            let mut newer = first.clone();
            newer.data = configmap("dup", "2").data;
            api.replace("dup", &PostParams::default(), &newer).await.expect("replace");
            let mut stale = first.clone();
            stale.data = configmap("dup", "3").data;
            let conflict = api_error(api.replace("dup", &PostParams::default(), &stale).await);
            assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"), "{conflict:?}");
            assert_eq!(
                conflict.message,
                r#"Operation cannot be fulfilled on configmaps "dup": the object has been modified; please apply your changes to the latest version and try again"#
            );
            assert_eq!(data_v(&api.get("dup").await.expect("get")), Some("2"));

            let elsewhere: Api<ConfigMap> = Api::namespaced(client, "no-such-namespace");
            let no_ns = api_error(elsewhere.create(&PostParams::default(), &configmap("x", "1")).await);
            assert_eq!((no_ns.code, no_ns.reason.as_str()), (404, "NotFound"), "{no_ns:?}");
            assert_eq!(no_ns.message, r#"namespaces "no-such-namespace" not found"#);
        });
    }
}

scenario! {
    /// `Api::patch` as controllers use it: `Patch::Apply` with a field manager (create on apply, a
    /// change, a conflict with another manager as `kube::Error::Api` 409, `force`), and
    /// `Patch::Strategic` merging containers by name; `Patch::Merge` on status.
    fn api_patch(server) covers [] {
        create_namespace(server, "kpatch");
        let rt = runtime();
        rt.block_on(async {
            use k8s_openapi::api::apps::v1::Deployment;
            use kube::api::{Patch, PatchParams};
            let client = client(server).await;
            let deployments: Api<Deployment> = Api::namespaced(client, "kpatch");
            let desired = |replicas: i32, image: &str| {
                serde_json::json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "ctl"},
                    "spec": {
                        "replicas": replicas,
                        "selector": {"matchLabels": {"app": "ctl"}},
                        "template": {
                            "metadata": {"labels": {"app": "ctl"}},
                            "spec": {"containers": [{"name": "main", "image": image}]}
                        }
                    }
                })
            };
            let controller = PatchParams::apply("my-controller");
            let created = deployments
                .patch("ctl", &controller, &Patch::Apply(desired(1, "busybox:1")))
                .await
                .expect("create on apply");
            assert_eq!(created.spec.replicas, Some(1));
            let managers: Vec<_> = created
                .managed_fields()
                .iter()
                .map(|m| (m.manager.clone().unwrap_or_default(), m.operation.clone().unwrap_or_default()))
                .collect();
            assert_eq!(managers, [("my-controller".to_owned(), "Apply".to_owned())]);

            let updated = deployments
                .patch("ctl", &controller, &Patch::Apply(desired(2, "busybox:2")))
                .await
                .expect("apply a change");
            assert_eq!(updated.spec.replicas, Some(2));

            let other = PatchParams::apply("someone-else");
            match deployments.patch("ctl", &other, &Patch::Apply(desired(5, "busybox:2"))).await {
                Err(kube::Error::Api(status)) => {
                    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"), "{status:?}");
                    assert!(status.message.contains(r#"conflict with "my-controller": .spec.replicas"#), "{status:?}");
                }
                other => panic!("expected a conflict, got {other:?}"),
            }
            let forced = deployments
                .patch("ctl", &other.clone().force(), &Patch::Apply(desired(5, "busybox:2")))
                .await
                .expect("forced apply");
            assert_eq!(forced.spec.replicas, Some(5));

            // Strategic merge: a second container is added next to the existing one.
            let strategic = serde_json::json!({
                "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:3"}]}}}
            });
            let merged = deployments
                .patch("ctl", &PatchParams::default(), &Patch::Strategic(strategic))
                .await
                .expect("strategic merge patch");
            let names: Vec<String> = merged
                .spec
                .template
                .spec
                .map(|s| s.containers.into_iter().map(|c| c.name).collect())
                .unwrap_or_default();
            assert_eq!(names, ["sidecar", "main"]);

            // A merge patch of the status subresource.
            let status = serde_json::json!({"status": {"observedGeneration": 3, "replicas": 0}});
            let patched = deployments
                .patch_status("ctl", &PatchParams::default(), &Patch::Merge(status))
                .await
                .expect("status merge patch");
            assert_eq!(patched.status.and_then(|s| s.observed_generation), Some(3));
        });
    }
}

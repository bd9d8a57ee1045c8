//! Data-driven tests: objects in JSON, the cells upstream prints for them at a fixed `now`.
//! Cases named `upstream ...` reproduce rows of kubernetes/kubernetes
//! `pkg/printers/internalversion/printers_test.go` (which prints with `Wide: false`, so only
//! the leading cells are compared there) and `duration_test.go`.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::format::{format_label_selector, human_duration, parse_time};
use super::{DEFAULT, TableWriter, build, printer, with_version};
use crate::registry::meta::format_rfc3339;

/// 2024-01-01T00:00:00Z.
const NOW_SECONDS: u64 = 1_704_067_200;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECONDS)
}

/// The timestamp `seconds` before `now`.
fn ago(seconds: u64) -> String {
    format_rfc3339(NOW_SECONDS - seconds)
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// The cells of `object` printed as `group`/`kind`.
fn cells(group: &str, kind: &str, object: &Value) -> Vec<Value> {
    let printer = printer(group, kind).unwrap_or_else(|| panic!("no printer for {group}/{kind}"));
    let cells = (printer.cells)(object, now());
    assert_eq!(
        cells.len(),
        (printer.columns)().len(),
        "{kind}: one cell per column"
    );
    cells
}

/// Compare the leading cells of each case (upstream's tests print without wide columns).
fn check(group: &str, kind: &str, cases: &[(&str, Value, Value)]) {
    for (name, object, expected) in cases {
        let expected = expected.as_array().expect("expected cells are an array");
        let got = cells(group, kind, object);
        assert_eq!(
            &got[..expected.len()],
            expected.as_slice(),
            "{kind} case {name:?}"
        );
    }
}

// === helpers ===

#[test]
fn human_duration_matches_upstream() {
    let cases: &[(i64, &str)] = &[
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (1, "1s"),
        (119, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (9 * 60 + 59, "9m59s"),
        (10 * 60, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (7 * 3600 + 59 * 60, "7h59m"),
        (8 * 3600, "8h"),
        (47 * 3600 + 59 * 60, "47h"),
        (48 * 3600, "2d"),
        (2 * 86400 + 5 * 3600, "2d5h"),
        (7 * 86400 + 23 * 3600, "7d23h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400 - 86400, "7y364d"),
        (8 * 365 * 86400, "8y"),
        (10 * 365 * 86400, "10y"),
    ];
    for (seconds, expected) in cases {
        assert_eq!(
            human_duration(i128::from(*seconds) * 1_000_000_000),
            *expected,
            "{seconds}s"
        );
    }
    // Fractions of a second truncate toward zero, as Go's int(d.Seconds()).
    assert_eq!(human_duration(-1_999_999_999), "0s");
    assert_eq!(human_duration(119_999_999_999), "119s");
}

#[test]
fn parse_time_reads_rfc3339() {
    assert_eq!(
        parse_time("2024-01-01T00:00:00Z"),
        Some(i128::from(NOW_SECONDS) * 1_000_000_000)
    );
    assert_eq!(
        parse_time("2024-01-01T02:00:00.5+02:00"),
        Some(i128::from(NOW_SECONDS) * 1_000_000_000 + 500_000_000)
    );
    assert_eq!(
        parse_time("2023-12-31T23:59:59.123456Z"),
        Some(i128::from(NOW_SECONDS - 1) * 1_000_000_000 + 123_456_000)
    );
    assert_eq!(parse_time("yesterday"), None);
    assert_eq!(parse_time(""), None);
}

#[test]
fn label_selectors_format_as_upstream() {
    let cases = [
        (json!(null), "<none>"),
        (json!({}), "<none>"),
        (json!({"matchLabels": {"b": "2", "a": "1"}}), "a=1,b=2"),
        (
            json!({"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["db", "cache"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "beta", "operator": "Exists"},
            ]}),
            "app=web,beta,!canary,env notin (dev),tier in (cache,db)",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            "<error>",
        ),
    ];
    for (selector, expected) in cases {
        let selector = (!selector.is_null()).then_some(&selector);
        assert_eq!(format_label_selector(selector), expected);
    }
}

// === pods ===

fn pod(status: Value, spec: Value) -> Value {
    json!({"metadata": {"name": "p"}, "spec": spec, "status": status})
}

fn two_containers() -> Value {
    json!({"containers": [{"name": "a"}, {"name": "b"}]})
}

fn one_container() -> Value {
    json!({"containers": [{"name": "a"}]})
}

#[test]
fn pod_status_ready_and_restarts() {
    let running = json!({"running": {}});
    let restarted = |seconds: u64| json!({"terminated": {"finishedAt": ago(seconds)}});
    let deleting = |mut p: Value| {
        p["metadata"]["deletionTimestamp"] = json!(ago(10));
        p
    };
    let init_two =
        json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]});
    let sidecars = json!({"initContainers": [
        {"name": "s1", "restartPolicy": "Always"},
        {"name": "s2", "restartPolicy": "Always"},
    ], "containers": [{"name": "a"}]});
    let cases = [
        (
            "upstream test1: ready count and restarts",
            pod(
                json!({"phase": "podPhase", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running},
                    {"restartCount": 3},
                ]}),
                two_containers(),
            ),
            json!(["p", "1/2", "podPhase", "6", "<unknown>"]),
        ),
        (
            "upstream test2: container waiting reason overrides the phase",
            pod(
                json!({"phase": "podPhase", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running},
                    {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
                ]}),
                two_containers(),
            ),
            json!(["p", "1/2", "ContainerWaitingReason", "6", "<unknown>"]),
        ),
        (
            "upstream test3: the first container's reason wins",
            pod(
                json!({"phase": "podPhase", "containerStatuses": [
                    {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
                    {"restartCount": 3, "state": {"terminated": {"reason": "ContainerTerminatedReason"}}},
                ]}),
                two_containers(),
            ),
            json!(["p", "0/2", "ContainerWaitingReason", "6", "<unknown>"]),
        ),
        (
            "upstream test5: pod reason overrides the phase",
            pod(
                json!({"reason": "podReason", "phase": "podPhase", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running},
                    {"ready": true, "restartCount": 3},
                ]}),
                two_containers(),
            ),
            json!(["p", "1/2", "podReason", "6", "<unknown>"]),
        ),
        (
            "upstream test6: completed plus running without Ready condition is NotReady",
            pod(
                json!({"phase": "Running", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                    {"ready": true, "restartCount": 3, "state": running},
                ]}),
                two_containers(),
            ),
            json!(["p", "1/2", "NotReady", "6", "<unknown>"]),
        ),
        (
            "upstream test6b: completed plus running with Ready condition is Running",
            pod(
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                    {"ready": true, "restartCount": 3, "state": running},
                ]}),
                two_containers(),
            ),
            json!(["p", "1/2", "Running", "6", "<unknown>"]),
        ),
        (
            "upstream test7: init container restarting",
            pod(
                json!({"phase": "podPhase",
                    "initContainerStatuses": [{"restartCount": 3, "state": running, "lastState": restarted(10)}],
                    "containerStatuses": [{"state": {"waiting": {}}}]}),
                json!({"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]}),
            ),
            json!(["p", "0/1", "Init:0/1", "3 (10s ago)", "<unknown>"]),
        ),
        (
            "upstream test8: two init containers, first restarting",
            pod(
                json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        {"restartCount": 3, "state": running, "lastState": restarted(10)},
                        {"state": {"waiting": {}}}],
                    "containerStatuses": [{"state": {"waiting": {}}}]}),
                init_two.clone(),
            ),
            json!(["p", "0/1", "Init:0/2", "3 (10s ago)", "<unknown>"]),
        ),
        (
            "upstream test9: first init done, second restarting",
            pod(
                json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        {"state": {"terminated": {}}},
                        {"restartCount": 3, "state": running, "lastState": restarted(10)}],
                    "containerStatuses": [{"state": {"waiting": {}}}]}),
                init_two.clone(),
            ),
            json!(["p", "0/1", "Init:1/2", "3 (10s ago)", "<unknown>"]),
        ),
        (
            "upstream test10: restarts of completed init containers count",
            pod(
                json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        {"restartCount": 2, "state": {"terminated": {}}, "lastState": restarted(2 * MINUTE)},
                        {"restartCount": 3, "state": running, "lastState": restarted(10)}],
                    "containerStatuses": [{"state": {"waiting": {}}}]}),
                init_two,
            ),
            json!(["p", "0/1", "Init:1/2", "5 (10s ago)", "<unknown>"]),
        ),
        (
            "upstream test11: after init, only app container restarts count",
            pod(
                json!({"phase": "Running",
                    "initContainerStatuses": [
                        {"restartCount": 2, "state": {"terminated": {}}, "lastState": restarted(2 * MINUTE)}],
                    "containerStatuses": [{"restartCount": 4, "state": running, "lastState": restarted(20)}]}),
                json!({"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]}),
            ),
            json!(["p", "0/1", "Running", "4 (20s ago)", "<unknown>"]),
        ),
        (
            "upstream test12: restarted five days ago",
            pod(
                json!({"phase": "Running", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running, "lastState": restarted(5 * DAY)}]}),
                one_container(),
            ),
            json!(["p", "1/1", "Running", "3 (5d ago)", "<unknown>"]),
        ),
        (
            "upstream test14: the latest restart is shown",
            pod(
                json!({"phase": "Running", "containerStatuses": [
                    {"ready": true, "restartCount": 6, "state": running, "lastState": restarted(5 * DAY)},
                    {"ready": true, "restartCount": 3, "state": running, "lastState": restarted(20 * DAY)}]}),
                two_containers(),
            ),
            json!(["p", "2/2", "Running", "9 (5d ago)", "<unknown>"]),
        ),
        (
            "upstream test15: SchedulingGated",
            pod(
                json!({"phase": "podPhase", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
                two_containers(),
            ),
            json!(["p", "0/2", "SchedulingGated", "0", "<unknown>"]),
        ),
        (
            "upstream test16: Completed",
            pod(
                json!({"phase": "Succeeded", "containerStatuses": [
                    {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}),
                one_container(),
            ),
            json!(["p", "0/1", "Completed", "0", "<unknown>"]),
        ),
        (
            "upstream test17: Error",
            pod(
                json!({"phase": "Failed", "containerStatuses": [
                    {"state": {"terminated": {"reason": "Error", "exitCode": 1}}}]}),
                one_container(),
            ),
            json!(["p", "0/1", "Error", "0", "<unknown>"]),
        ),
        (
            "upstream test18: a deleted succeeded pod stays Completed",
            deleting(pod(
                json!({"phase": "Succeeded", "containerStatuses": [
                    {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}),
                one_container(),
            )),
            json!(["p", "0/1", "Completed", "0", "<unknown>"]),
        ),
        (
            "upstream test19: a deleted running pod is Terminating",
            deleting(pod(
                json!({"phase": "Running", "containerStatuses": [{"state": running}]}),
                one_container(),
            )),
            json!(["p", "0/1", "Terminating", "0", "<unknown>"]),
        ),
        (
            "upstream test20: a deleted pending pod is Terminating",
            deleting(pod(json!({"phase": "Pending"}), one_container())),
            json!(["p", "0/1", "Terminating", "0", "<unknown>"]),
        ),
        (
            "deleted pod on a lost node is Unknown",
            deleting(pod(
                json!({"phase": "Running", "reason": "NodeLost"}),
                one_container(),
            )),
            json!(["p", "0/1", "Unknown", "0", "<unknown>"]),
        ),
        (
            "CrashLoopBackOff with restarts",
            pod(
                json!({"phase": "Running", "containerStatuses": [
                    {"restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                     "lastState": restarted(3 * MINUTE + 30)}]}),
                one_container(),
            ),
            json!(["p", "0/1", "CrashLoopBackOff", "5 (3m30s ago)", "<unknown>"]),
        ),
        (
            "terminated without reason: exit code or signal, the first container wins",
            pod(
                json!({"phase": "Running", "containerStatuses": [
                    {"state": {"terminated": {"exitCode": 2}}},
                    {"state": {"terminated": {"signal": 9, "exitCode": 137}}}]}),
                two_containers(),
            ),
            json!(["p", "0/2", "ExitCode:2", "0", "<unknown>"]),
        ),
        (
            "terminated by a signal without reason",
            pod(
                json!({"phase": "Running", "containerStatuses": [
                    {"state": {"terminated": {"signal": 9, "exitCode": 137}}}]}),
                one_container(),
            ),
            json!(["p", "0/1", "Signal:9", "0", "<unknown>"]),
        ),
        (
            "failed init container",
            pod(
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"state": {"terminated": {"exitCode": 1}}}]}),
                json!({"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]}),
            ),
            json!(["p", "0/1", "Init:ExitCode:1", "0", "<unknown>"]),
        ),
        (
            "init container crash looping",
            pod(
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
                json!({"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]}),
            ),
            json!(["p", "0/1", "Init:CrashLoopBackOff", "4", "<unknown>"]),
        ),
        (
            "upstream restartable test1: sidecar running but not started",
            pod(
                json!({"phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "s1", "restartCount": 3, "state": running, "started": false, "lastState": restarted(10)},
                        {"name": "s2", "state": {"waiting": {}}, "started": false}],
                    "containerStatuses": [{"state": {"waiting": {}}}],
                    "conditions": [{"type": "Initialized", "status": "False"}]}),
                sidecars.clone(),
            ),
            json!(["p", "0/3", "Init:0/2", "3 (10s ago)", "<unknown>"]),
        ),
        (
            "upstream restartable test1b: first sidecar started",
            pod(
                json!({"phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "s1", "restartCount": 3, "state": running, "started": true, "lastState": restarted(10)},
                        {"name": "s2", "state": running, "started": false}],
                    "containerStatuses": [{"state": {"waiting": {}}}],
                    "conditions": [{"type": "Initialized", "status": "False"}]}),
                sidecars.clone(),
            ),
            json!(["p", "0/3", "Init:1/2", "3 (10s ago)", "<unknown>"]),
        ),
        (
            "upstream restartable test2: sidecars started, app running",
            pod(
                json!({"phase": "Running",
                    "initContainerStatuses": [
                        {"name": "s1", "restartCount": 3, "state": running, "started": true, "lastState": restarted(10)},
                        {"name": "s2", "state": running, "started": true}],
                    "containerStatuses": [{"ready": true, "restartCount": 4, "state": running, "lastState": restarted(20)}],
                    "conditions": [{"type": "Initialized", "status": "True"}]}),
                sidecars,
            ),
            json!(["p", "1/3", "Running", "7 (10s ago)", "<unknown>"]),
        ),
    ];
    check("", "Pod", &cases);
}

#[test]
fn pod_wide_cells_and_age() {
    let object = json!({
        "metadata": {"name": "web", "creationTimestamp": ago(5 * MINUTE)},
        "spec": {"containers": [{"name": "a"}], "nodeName": "n1",
                 "readinessGates": [{"conditionType": "example.com/a"}, {"conditionType": "example.com/b"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}],
                   "conditions": [{"type": "example.com/a", "status": "True"}, {"type": "example.com/b", "status": "False"}],
                   "containerStatuses": [{"ready": true, "state": {"running": {}}}]},
    });
    assert_eq!(
        cells("", "Pod", &object),
        json!([
            "web", "1/1", "Running", "0", "5m", "10.0.0.9", "n1", "<none>", "1/2"
        ])
        .as_array()
        .cloned()
        .unwrap_or_default()
    );
    let bare = pod(json!({"phase": "Pending"}), one_container());
    assert_eq!(
        &cells("", "Pod", &bare)[5..],
        json!(["<none>", "<none>", "<none>", "<none>"])
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    );
}

#[test]
fn pod_rows_carry_completed_conditions() {
    let objects = [
        pod(json!({"phase": "Succeeded"}), one_container()),
        pod(json!({"phase": "Failed"}), one_container()),
        pod(json!({"phase": "Running"}), one_container()),
    ];
    let printer = printer("", "Pod").unwrap_or(DEFAULT);
    let table = build(printer, &objects, now(), 7, None, None, "None");
    assert_eq!(
        table["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
                "message": "The pod has completed successfully."}])
    );
    assert_eq!(table["rows"][1]["conditions"][0]["reason"], "Failed");
    assert_eq!(
        table["rows"][1]["conditions"][0]["message"],
        "The pod failed."
    );
    assert!(table["rows"][2].get("conditions").is_none());
    assert!(table["rows"][0].get("object").is_none());
}

// === tables ===

#[test]
fn pod_table_has_upstream_columns() {
    let printer = printer("", "Pod").unwrap_or(DEFAULT);
    let table = build(printer, &[], now(), 42, Some("tok"), Some(3), "Metadata");
    let columns: Vec<(String, String, String, i64)> = table["columnDefinitions"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("").to_owned(),
                        c["type"].as_str().unwrap_or("").to_owned(),
                        c["format"].as_str().unwrap_or("").to_owned(),
                        c["priority"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let expected = [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "string", "", 0),
        ("Age", "string", "", 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ]
    .map(|(n, t, f, p)| (n.to_owned(), t.to_owned(), f.to_owned(), p));
    assert_eq!(columns, expected);
    assert_eq!(table["metadata"]["resourceVersion"], "42");
    assert_eq!(table["metadata"]["continue"], "tok");
    assert_eq!(table["metadata"]["remainingItemCount"], 3);
    assert!(
        table["columnDefinitions"][5]["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("podIP address allocated to the pod"))
    );
}

#[test]
fn kinds_without_a_printer_use_the_default_convertor() {
    for (group, kind) in [
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("", "LimitRange"),
        ("example.com", "Widget"),
    ] {
        assert!(printer(group, kind).is_none(), "{group}/{kind}");
    }
    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2024-01-01T00:00:00Z"}});
    let table = build(
        DEFAULT,
        std::slice::from_ref(&role),
        now(),
        1,
        None,
        None,
        "Object",
    );
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["r", "2024-01-01T00:00:00Z"])
    );
    assert_eq!(table["columnDefinitions"][1]["name"], "Created At");
    assert_eq!(table["columnDefinitions"][1]["type"], "date");
    assert_eq!(table["rows"][0]["object"], role);
}

#[test]
fn watch_tables_pick_the_printer_from_the_api_version() {
    let deployment =
        json!({"metadata": {"name": "d"}, "spec": {"replicas": 2}, "status": {"readyReplicas": 1}});
    let table = super::table_for_watch(&deployment, 5, "None", "apps/v1", "Deployment");
    assert_eq!(table["rows"][0]["cells"][1], "1/2");
    assert_eq!(table["columnDefinitions"][1]["name"], "Ready");
    let table = super::table_for_watch(&deployment, 5, "None", "v1", "ConfigMap");
    assert_eq!(table["columnDefinitions"][1]["name"], "Data");
}

#[test]
fn flow_schemas_sort_by_precedence() {
    let schema = |name: &str, precedence: i64| {
        json!({"metadata": {"name": name}, "spec": {"matchingPrecedence": precedence,
               "priorityLevelConfiguration": {"name": "global-default"}}})
    };
    let objects = [
        schema("global-default", 9900),
        schema("exempt", 1),
        schema("catch-all", 10000),
        schema("a-system", 1),
    ];
    let printer = printer("flowcontrol.apiserver.k8s.io", "FlowSchema").unwrap_or(DEFAULT);
    let table = build(printer, &objects, now(), 1, None, None, "None");
    let names: Vec<&str> = table["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["cells"][0].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["a-system", "exempt", "global-default", "catch-all"]);
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["a-system", "global-default", 1, "<none>", "<unknown>", "?"])
    );
}

// === services, endpoints, ingresses ===

#[test]
fn services() {
    let svc = |spec: Value, status: Value| json!({"metadata": {"name": "s"}, "spec": spec, "status": status});
    let cases = [
        (
            "upstream service1: load balancer with two ingress IPs",
            svc(
                json!({"type": "LoadBalancer", "clusterIPs": ["1.2.3.4"], "ports": [{"port": 80, "protocol": "TCP"}]}),
                json!({"loadBalancer": {"ingress": [{"ip": "2.3.4.5"}, {"ip": "3.4.5.6"}]}}),
            ),
            json!([
                "s",
                "LoadBalancer",
                "1.2.3.4",
                "2.3.4.5,3.4.5.6",
                "80/TCP",
                "<unknown>"
            ]),
        ),
        (
            "upstream service2: pending load balancer, several protocols",
            svc(
                json!({"type": "LoadBalancer", "clusterIPs": ["1.3.4.5"], "ports": [
                    {"port": 80, "protocol": "TCP"}, {"port": 8090, "protocol": "UDP"},
                    {"port": 8000, "protocol": "TCP"}, {"port": 7777, "protocol": "SCTP"}]}),
                json!({}),
            ),
            json!([
                "s",
                "LoadBalancer",
                "1.3.4.5",
                "<pending>",
                "80/TCP,8090/UDP,8000/TCP,7777/SCTP",
                "<unknown>"
            ]),
        ),
        (
            "upstream service4 wide: the server never clips the ingress list",
            svc(
                json!({"type": "LoadBalancer", "clusterIPs": ["1.5.6.7"], "selector": {"foo": "bar"},
                       "ports": [{"port": 80, "protocol": "TCP"}, {"port": 8090, "protocol": "UDP"}, {"port": 8000, "protocol": "TCP"}]}),
                json!({"loadBalancer": {"ingress": [{"ip": "2.3.4.5"}, {"ip": "3.4.5.6"}, {"ip": "5.6.7.8", "hostname": "host5678"}]}}),
            ),
            json!([
                "s",
                "LoadBalancer",
                "1.5.6.7",
                "2.3.4.5,3.4.5.6,5.6.7.8",
                "80/TCP,8090/UDP,8000/TCP",
                "<unknown>",
                "foo=bar"
            ]),
        ),
        (
            "load balancer ingress hostnames, plus external IPs",
            svc(
                json!({"type": "LoadBalancer", "clusterIPs": ["10.0.0.1"], "externalIPs": ["9.9.9.9"],
                       "ports": [{"port": 443, "nodePort": 30443, "protocol": "TCP"}]}),
                json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}),
            ),
            json!([
                "s",
                "LoadBalancer",
                "10.0.0.1",
                "lb.example.com,9.9.9.9",
                "443:30443/TCP",
                "<unknown>",
                "<none>"
            ]),
        ),
        (
            "cluster IP service",
            svc(
                json!({"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                       "selector": {"app": "web", "tier": "fe"},
                       "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]}),
                json!({}),
            ),
            json!([
                "s",
                "ClusterIP",
                "10.96.0.1",
                "<none>",
                "80/TCP,443/TCP",
                "<unknown>",
                "app=web,tier=fe"
            ]),
        ),
        (
            "node port service",
            svc(
                json!({"type": "NodePort", "clusterIPs": ["10.96.0.2"],
                       "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 443, "nodePort": 30001, "protocol": "TCP"}]}),
                json!({}),
            ),
            json!([
                "s",
                "NodePort",
                "10.96.0.2",
                "<none>",
                "80:30080/TCP,443:30001/TCP",
                "<unknown>",
                "<none>"
            ]),
        ),
        (
            "headless service without ports",
            svc(
                json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}),
                json!({}),
            ),
            json!([
                "s",
                "ClusterIP",
                "None",
                "<none>",
                "<none>",
                "<unknown>",
                "<none>"
            ]),
        ),
        (
            "external name service",
            svc(
                json!({"type": "ExternalName", "externalName": "db.example.com"}),
                json!({}),
            ),
            json!([
                "s",
                "ExternalName",
                "<none>",
                "db.example.com",
                "<none>",
                "<unknown>",
                "<none>"
            ]),
        ),
    ];
    check("", "Service", &cases);
}

#[test]
fn endpoints_and_slices() {
    let cases = [
        (
            "no subsets",
            json!({"metadata": {"name": "e"}}),
            json!(["e", "<none>"]),
        ),
        (
            "addresses times ports, three shown",
            json!({"metadata": {"name": "e"}, "subsets": [{
                "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                "ports": [{"port": 80}, {"port": 443}]}]}),
            json!(["e", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."]),
        ),
        (
            "headless without ports, IPv6 with brackets",
            json!({"metadata": {"name": "e"}, "subsets": [
                {"addresses": [{"ip": "10.0.0.1"}]},
                {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 53}]}]}),
            json!(["e", "10.0.0.1,[fd00::1]:53"]),
        ),
    ];
    check("", "Endpoints", &cases);
    let cases = [
        (
            "ports and endpoints",
            json!({"metadata": {"name": "s-abc"}, "addressType": "IPv4",
                   "ports": [{"name": "http", "port": 80}, {"name": "named"}, {}],
                   "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]}),
            json!([
                "s-abc",
                "IPv4",
                "80,named,*",
                "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."
            ]),
        ),
        (
            "empty slice",
            json!({"metadata": {"name": "s-abc"}, "addressType": "IPv6"}),
            json!(["s-abc", "IPv6", "<unset>", "<unset>"]),
        ),
    ];
    check("discovery.k8s.io", "EndpointSlice", &cases);
}

#[test]
fn ingresses() {
    let ten_years = ago(10 * 365 * DAY);
    let cases = [
        (
            "upstream TestPrintIngress",
            json!({"metadata": {"name": "test1", "creationTimestamp": ten_years},
                   "spec": {"ingressClassName": "foo", "defaultBackend": {"service": {"name": "default-backend", "port": {"number": 80}}}},
                   "status": {"loadBalancer": {"ingress": [{"ip": "2.3.4.5", "hostname": "localhost.localdomain"}]}}}),
            json!(["test1", "foo", "*", "2.3.4.5", "80", "10y"]),
        ),
        (
            "hosts, TLS, more than three rules",
            json!({"metadata": {"name": "i"}, "spec": {"tls": [{"hosts": ["a.example.com"]}], "rules": [
                {"host": "a.example.com"}, {"host": "b.example.com"}, {}, {"host": "c.example.com"}, {"host": "d.example.com"}]}}),
            json!([
                "i",
                "<none>",
                "a.example.com,b.example.com,c.example.com + 2 more...",
                "",
                "80, 443",
                "<unknown>"
            ]),
        ),
    ];
    check("networking.k8s.io", "Ingress", &cases);
    let cases = [
        (
            "upstream example with params",
            json!({"metadata": {"name": "test1", "creationTimestamp": ago(10 * 365 * DAY)},
                   "spec": {"controller": "example.com/controller", "parameters": {"kind": "customgroup", "name": "example"}}}),
            json!([
                "test1",
                "example.com/controller",
                "customgroup/example",
                "10y"
            ]),
        ),
        (
            "upstream example with params + API group",
            json!({"metadata": {"name": "test1", "creationTimestamp": ago(10 * 365 * DAY)},
                   "spec": {"controller": "example.com/controller",
                            "parameters": {"apiGroup": "example.com", "kind": "customgroup", "name": "example"}}}),
            json!([
                "test1",
                "example.com/controller",
                "customgroup.example.com/example",
                "10y"
            ]),
        ),
        (
            "upstream example without params",
            json!({"metadata": {"name": "test2", "creationTimestamp": ago(11 * 365 * DAY)},
                   "spec": {"controller": "example.com/controller2"}}),
            json!(["test2", "example.com/controller2", "<none>", "11y"]),
        ),
    ];
    check("networking.k8s.io", "IngressClass", &cases);
    let cases = [
        (
            "empty pod selector",
            json!({"metadata": {"name": "deny-all"}, "spec": {"podSelector": {}}}),
            json!(["deny-all", "<none>", "<unknown>"]),
        ),
        (
            "match labels",
            json!({"metadata": {"name": "web"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}),
            json!(["web", "app=web", "<unknown>"]),
        ),
    ];
    check("networking.k8s.io", "NetworkPolicy", &cases);
}

// === nodes, namespaces, events, config ===

#[test]
fn nodes() {
    let node = |labels: Value, spec: Value, status: Value| {
        json!({"metadata": {"name": "n", "labels": labels, "creationTimestamp": ago(3 * DAY + 2 * HOUR)},
               "spec": spec, "status": status})
    };
    let ready = json!({"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.37.1", "osImage": "Debian GNU/Linux 13", "kernelVersion": "6.12.0",
                                    "containerRuntimeVersion": "containerd://2.1.0"},
                       "addresses": [{"type": "Hostname", "address": "n"}, {"type": "InternalIP", "address": "192.168.1.10"},
                                     {"type": "ExternalIP", "address": "203.0.113.7"}]});
    let cases = [
        (
            "ready control plane, wide",
            node(
                json!({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "true", "kubernetes.io/hostname": "n"}),
                json!({}),
                ready.clone(),
            ),
            json!([
                "n",
                "Ready",
                "control-plane,master",
                "3d2h",
                "v1.37.1",
                "192.168.1.10",
                "203.0.113.7",
                "Debian GNU/Linux 13",
                "6.12.0",
                "containerd://2.1.0"
            ]),
        ),
        (
            "cordoned, role from kubernetes.io/role",
            node(
                json!({"kubernetes.io/role": "worker", "node-role.kubernetes.io/": ""}),
                json!({"unschedulable": true}),
                ready,
            ),
            json!(["n", "Ready,SchedulingDisabled", "worker", "3d2h", "v1.37.1"]),
        ),
        (
            "not ready",
            node(
                json!({}),
                json!({}),
                json!({"conditions": [{"type": "Ready", "status": "Unknown"}]}),
            ),
            json!([
                "n",
                "NotReady",
                "<none>",
                "3d2h",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]),
        ),
        (
            "upstream foo3: no conditions",
            node(json!({}), json!({"unschedulable": true}), json!({})),
            json!(["n", "Unknown,SchedulingDisabled", "<none>", "3d2h", ""]),
        ),
    ];
    check("", "Node", &cases);
}

#[test]
fn events() {
    let cases = [
        (
            "core event",
            json!({"metadata": {"name": "web.17a"}, "type": "Warning", "reason": "BackOff",
                   "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
                   "source": {"component": "kubelet", "host": "node-1"},
                   "message": "Back-off restarting failed container\n", "count": 7,
                   "firstTimestamp": ago(2 * HOUR), "lastTimestamp": ago(45)}),
            json!([
                "45s",
                "Warning",
                "BackOff",
                "pod/web",
                "spec.containers{web}",
                "kubelet, node-1",
                "Back-off restarting failed container",
                "120m",
                7,
                "web.17a"
            ]),
        ),
        (
            "new-style event: eventTime, series, reporting controller",
            json!({"metadata": {"name": "e"}, "type": "Normal", "reason": "Scheduled",
                   "involvedObject": {"kind": "Node"}, "reportingController": "default-scheduler",
                   "message": "ok", "eventTime": "2023-12-31T23:55:00.000000Z",
                   "series": {"count": 3, "lastObservedTime": "2023-12-31T23:59:30.000000Z"}}),
            json!([
                "30s",
                "Normal",
                "Scheduled",
                "node",
                "",
                "default-scheduler",
                "ok",
                "5m",
                3,
                "e"
            ]),
        ),
        (
            "singleton without count counts one",
            json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"}, "firstTimestamp": ago(10)}),
            json!(["10s", "", "", "pod/p", "", "", "", "10s", 1, "e"]),
        ),
    ];
    check("", "Event", &cases);
    let cases = [(
        "events.k8s.io/v1 field names",
        json!({"metadata": {"name": "e"}, "type": "Normal", "reason": "Pulled",
               "regarding": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{a}"},
               "note": "Container image pulled", "reportingController": "kubelet", "reportingInstance": "node-1",
               "deprecatedFirstTimestamp": ago(DAY), "deprecatedLastTimestamp": ago(HOUR), "deprecatedCount": 2}),
        json!([
            "60m",
            "Normal",
            "Pulled",
            "pod/p",
            "spec.containers{a}",
            "kubelet, node-1",
            "Container image pulled",
            "24h",
            2,
            "e"
        ]),
    )];
    check("events.k8s.io", "Event", &cases);
}

#[test]
fn namespaces_configmaps_secrets_service_accounts() {
    let meta = json!({"name": "x", "creationTimestamp": ago(40 * DAY)});
    check(
        "",
        "Namespace",
        &[(
            "active",
            json!({"metadata": meta, "status": {"phase": "Active"}}),
            json!(["x", "Active", "40d"]),
        )],
    );
    check(
        "",
        "ConfigMap",
        &[(
            "data and binary data",
            json!({"metadata": meta, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
            json!(["x", 3, "40d"]),
        )],
    );
    check(
        "",
        "Secret",
        &[(
            "tls",
            json!({"metadata": meta, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
            json!(["x", "kubernetes.io/tls", 2, "40d"]),
        )],
    );
    check(
        "",
        "ServiceAccount",
        &[(
            "no secrets",
            json!({"metadata": meta}),
            json!(["x", 0, "40d"]),
        )],
    );
}

#[test]
fn volumes_and_claims() {
    let cases = [
        (
            "bound volume",
            json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "10Gi"},
                   "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
                   "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Filesystem"},
                   "status": {"phase": "Bound"}}),
            json!([
                "pv1",
                "10Gi",
                "RWO,RWX",
                "Retain",
                "Bound",
                "default/data",
                "fast",
                "<unset>",
                "",
                "<unknown>",
                "Filesystem"
            ]),
        ),
        (
            "terminating, class from the beta annotation",
            json!({"metadata": {"name": "pv2", "deletionTimestamp": ago(1),
                   "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
                   "spec": {"storageClassName": "fast"}, "status": {"phase": "Released", "reason": "Gone"}}),
            json!([
                "pv2",
                "0",
                "",
                "",
                "Terminating",
                "",
                "old",
                "<unset>",
                "Gone",
                "<unknown>",
                "<unset>"
            ]),
        ),
    ];
    check("", "PersistentVolume", &cases);
    let cases = [
        (
            "bound claim",
            json!({"metadata": {"name": "data"}, "spec": {"volumeName": "pv1", "storageClassName": "fast",
                   "resources": {"requests": {"storage": "5Gi"}}, "volumeMode": "Filesystem"},
                   "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOncePod"]}}),
            json!([
                "data",
                "Bound",
                "pv1",
                "10Gi",
                "RWOP",
                "fast",
                "<unset>",
                "<unknown>",
                "Filesystem"
            ]),
        ),
        (
            "pending claim shows no capacity",
            json!({"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "5Gi"}},
                   "volumeAttributesClassName": "gold"}, "status": {"phase": "Pending"}}),
            json!([
                "data",
                "Pending",
                "",
                "",
                "",
                "",
                "gold",
                "<unknown>",
                "<unset>"
            ]),
        ),
    ];
    check("", "PersistentVolumeClaim", &cases);
    let cases = [
        (
            "default class with defaults",
            json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                   "provisioner": "rancher.io/local-path"}),
            json!([
                "standard (default)",
                "rancher.io/local-path",
                "Delete",
                "Immediate",
                false,
                "<unknown>"
            ]),
        ),
        (
            "explicit values",
            json!({"metadata": {"name": "fast"}, "provisioner": "csi.example.com", "reclaimPolicy": "Retain",
                   "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true}),
            json!([
                "fast",
                "csi.example.com",
                "Retain",
                "WaitForFirstConsumer",
                true,
                "<unknown>"
            ]),
        ),
    ];
    check("storage.k8s.io", "StorageClass", &cases);
    check(
        "storage.k8s.io",
        "CSIDriver",
        &[(
            "defaults",
            json!({"metadata": {"name": "csi.example.com"}, "spec": {"volumeLifecycleModes": ["Persistent", "Ephemeral"]}}),
            json!([
                "csi.example.com",
                true,
                false,
                false,
                "<unset>",
                false,
                "Persistent,Ephemeral",
                "<unknown>"
            ]),
        )],
    );
}

#[test]
fn resource_quotas() {
    check(
        "",
        "ResourceQuota",
        &[(
            "requests and limits split and sorted",
            json!({"metadata": {"name": "q"}, "status": {
                "hard": {"pods": "10", "limits.memory": "2Gi", "requests.cpu": "1", "limits.cpu": "2"},
                "used": {"pods": "3", "limits.cpu": "500m", "requests.cpu": "250m"}}}),
            json!([
                "q",
                "pods: 3/10, requests.cpu: 250m/1",
                "limits.cpu: 500m/2, limits.memory: 0/2Gi",
                "<unknown>"
            ]),
        )],
    );
}

// === workloads ===

#[test]
fn deployments_and_replica_sets() {
    let template = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}});
    check(
        "apps",
        "Deployment",
        &[(
            "wide",
            json!({"metadata": {"name": "web", "creationTimestamp": ago(90 * MINUTE)},
                   "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template},
                   "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}),
            json!([
                "web",
                "2/3",
                3,
                2,
                "90m",
                "web,log",
                "nginx:1.27,busybox",
                "app=web"
            ]),
        )],
    );
    check(
        "apps",
        "ReplicaSet",
        &[(
            "wide",
            json!({"metadata": {"name": "web-5d"}, "spec": {"replicas": 3, "template": template,
                   "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d"}}},
                   "status": {"replicas": 3, "readyReplicas": 1}}),
            json!([
                "web-5d",
                3,
                3,
                1,
                "<unknown>",
                "web,log",
                "nginx:1.27,busybox",
                "app=web,pod-template-hash=5d"
            ]),
        )],
    );
    check(
        "apps",
        "StatefulSet",
        &[(
            "ready of desired",
            json!({"metadata": {"name": "db"}, "spec": {"replicas": 3, "template": template}, "status": {"readyReplicas": 3}}),
            json!(["db", "3/3", "<unknown>", "web,log", "nginx:1.27,busybox"]),
        )],
    );
    check(
        "apps",
        "DaemonSet",
        &[(
            "node selector",
            json!({"metadata": {"name": "proxy"}, "spec": {"selector": {"matchLabels": {"k8s-app": "proxy"}},
                   "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "p", "image": "proxy:1"}]}}},
                   "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                              "updatedNumberScheduled": 2, "numberAvailable": 1}}),
            json!([
                "proxy",
                2,
                2,
                1,
                2,
                1,
                "kubernetes.io/os=linux",
                "<unknown>",
                "p",
                "proxy:1",
                "k8s-app=proxy"
            ]),
        )],
    );
    check(
        "apps",
        "ControllerRevision",
        &[
            (
                "owned by a stateful set",
                json!({"metadata": {"name": "db-7c", "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Pod", "name": "x"},
                    {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true}]}, "revision": 2}),
                json!(["db-7c", "statefulset.apps/db", 2, "<unknown>"]),
            ),
            (
                "no controller",
                json!({"metadata": {"name": "r"}, "revision": 1}),
                json!(["r", "<none>", 1, "<unknown>"]),
            ),
        ],
    );
}

#[test]
fn jobs_and_cron_jobs() {
    let job = |spec: Value, status: Value| json!({"metadata": {"name": "j"}, "spec": spec, "status": status});
    let cases = [
        (
            "complete",
            job(
                json!({"completions": 1, "parallelism": 1}),
                json!({"succeeded": 1, "startTime": ago(10 * MINUTE), "completionTime": ago(5 * MINUTE + 30),
                       "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
            ),
            json!(["j", "Complete", "1/1", "4m30s"]),
        ),
        (
            "running, parallel without completions",
            job(
                json!({"parallelism": 3}),
                json!({"succeeded": 1, "startTime": ago(45)}),
            ),
            json!(["j", "Running", "1/1 of 3", "45s"]),
        ),
        (
            "failed",
            job(
                json!({"completions": 5}),
                json!({"startTime": ago(HOUR), "conditions": [{"type": "Failed", "status": "True"}]}),
            ),
            json!(["j", "Failed", "0/5", "60m"]),
        ),
        (
            "suspended, never started",
            job(
                json!({"completions": 2}),
                json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
            ),
            json!(["j", "Suspended", "0/2", ""]),
        ),
    ];
    check("batch", "Job", &cases);
    let cases = [(
        "scheduled",
        json!({"metadata": {"name": "backup", "creationTimestamp": ago(2 * DAY)},
               "spec": {"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {
                   "template": {"spec": {"containers": [{"name": "b", "image": "backup:1"}]}}}}},
               "status": {"active": [{"name": "backup-1"}], "lastScheduleTime": ago(3 * MINUTE)}}),
        json!([
            "backup",
            "*/5 * * * *",
            "<none>",
            "False",
            1,
            "3m",
            "2d",
            "b",
            "backup:1",
            "<none>"
        ]),
    )];
    check("batch", "CronJob", &cases);
}

// === the rest ===

#[test]
fn autoscalers_and_budgets() {
    let cases = [
        (
            "v2 resource utilization and average value",
            json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                   "minReplicas": 2, "maxReplicas": 10, "metrics": [
                     {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                     {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                     {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}]},
                   "status": {"currentReplicas": 3, "currentMetrics": [
                     {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "450m"}}}]}}),
            json!([
                "web",
                "Deployment/web",
                "cpu: 45%/80%, memory: <unknown>/500Mi + 1 more...",
                "2",
                10,
                3,
                "<unknown>"
            ]),
        ),
        (
            "v1 CPU target",
            json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                   "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}, "status": {"currentReplicas": 1}}),
            json!([
                "web",
                "Deployment/web",
                "cpu: <unknown>/50%",
                "<unset>",
                5,
                1,
                "<unknown>"
            ]),
        ),
        (
            "no metrics",
            json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5}}),
            json!([
                "web",
                "Deployment/web",
                "<none>",
                "<unset>",
                5,
                0,
                "<unknown>"
            ]),
        ),
    ];
    check("autoscaling", "HorizontalPodAutoscaler", &cases);
    let cases = [
        (
            "min available",
            json!({"metadata": {"name": "pdb"}, "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}}),
            json!(["pdb", "2", "N/A", 1, "<unknown>"]),
        ),
        (
            "max unavailable percentage",
            json!({"metadata": {"name": "pdb"}, "spec": {"maxUnavailable": "25%"}}),
            json!(["pdb", "N/A", "25%", 0, "<unknown>"]),
        ),
    ];
    check("policy", "PodDisruptionBudget", &cases);
}

#[test]
fn rbac_certificates_leases_and_classes() {
    check(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        &[(
            "subjects by kind",
            json!({"metadata": {"name": "admins"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "system:masters"},
                                {"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "namespace": "kube-system", "name": "ctrl"}]}),
            json!([
                "admins",
                "ClusterRole/cluster-admin",
                "<unknown>",
                "alice, bob",
                "system:masters",
                "kube-system/ctrl"
            ]),
        )],
    );
    check(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        &[(
            "no subjects",
            json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "Role", "name": "reader"}}),
            json!(["rb", "Role/reader", "<unknown>", "", "", ""]),
        )],
    );
    let cases = [
        (
            "approved and issued",
            json!({"metadata": {"name": "csr-1", "creationTimestamp": ago(30)},
                   "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "alice", "expirationSeconds": 86400},
                   "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}}),
            json!([
                "csr-1",
                "30s",
                "kubernetes.io/kube-apiserver-client",
                "alice",
                "24h",
                "Approved,Issued"
            ]),
        ),
        (
            "denied wins, failed appended",
            json!({"metadata": {"name": "csr-2"}, "spec": {"username": "bob"},
                   "status": {"conditions": [{"type": "Approved"}, {"type": "Denied"}, {"type": "Failed"}]}}),
            json!([
                "csr-2",
                "<unknown>",
                "<none>",
                "bob",
                "<none>",
                "Denied,Failed"
            ]),
        ),
        (
            "pending",
            json!({"metadata": {"name": "csr-3"}, "spec": {"signerName": "example.com/s", "username": "c"}}),
            json!([
                "csr-3",
                "<unknown>",
                "example.com/s",
                "c",
                "<none>",
                "Pending"
            ]),
        ),
    ];
    check("certificates.k8s.io", "CertificateSigningRequest", &cases);
    check(
        "coordination.k8s.io",
        "Lease",
        &[(
            "holder",
            json!({"metadata": {"name": "kube-scheduler"}, "spec": {"holderIdentity": "node-1_abc"}}),
            json!(["kube-scheduler", "node-1_abc", "<unknown>"]),
        )],
    );
    check(
        "scheduling.k8s.io",
        "PriorityClass",
        &[(
            "system class",
            json!({"metadata": {"name": "system-node-critical"}, "value": 2000001000, "preemptionPolicy": "PreemptLowerPriority"}),
            json!([
                "system-node-critical",
                2000001000,
                false,
                "<unknown>",
                "PreemptLowerPriority"
            ]),
        )],
    );
    check(
        "node.k8s.io",
        "RuntimeClass",
        &[(
            "handler",
            json!({"metadata": {"name": "gvisor"}, "handler": "runsc"}),
            json!(["gvisor", "runsc", "<unknown>"]),
        )],
    );
    check(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        &[
            (
                "param by name without namespace",
                json!({"metadata": {"name": "b"}, "spec": {"policyName": "p", "paramRef": {"name": "cfg"}}}),
                json!(["b", "p", "*/cfg", "<unknown>"]),
            ),
            (
                "param by selector",
                json!({"metadata": {"name": "b"}, "spec": {"policyName": "p", "paramRef": {"selector": {"matchLabels": {"a": "b"}}}}}),
                json!([
                    "b",
                    "p",
                    "&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{},}",
                    "<unknown>"
                ]),
            ),
        ],
    );
    check(
        "resource.k8s.io",
        "ResourceClaim",
        &[
            (
                "pending",
                json!({"metadata": {"name": "c"}}),
                json!(["c", "pending", "<unknown>"]),
            ),
            (
                "deleted while allocated and reserved",
                json!({"metadata": {"name": "c", "deletionTimestamp": ago(1)},
                       "status": {"allocation": {}, "reservedFor": [{"name": "p"}]}}),
                json!(["c", "deleted,allocated,reserved", "<unknown>"]),
            ),
        ],
    );
    check(
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        &[
            (
                "limited with queuing",
                json!({"metadata": {"name": "workload-low"}, "spec": {"type": "Limited", "limited": {
                    "nominalConcurrencyShares": 100, "limitResponse": {"type": "Queue",
                    "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}}),
                json!(["workload-low", "Limited", 100, 128, 6, 50, "<unknown>"]),
            ),
            (
                "exempt",
                json!({"metadata": {"name": "exempt"}, "spec": {"type": "Exempt", "exempt": {}}}),
                json!([
                    "exempt",
                    "Exempt",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<unknown>"
                ]),
            ),
        ],
    );
}

#[test]
fn tables_in_v1beta1_carry_that_version_in_rows_too() {
    let object = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "a"}});
    let table = build(
        DEFAULT,
        std::slice::from_ref(&object),
        now(),
        5,
        None,
        None,
        "Metadata",
    );
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    let beta = with_version(&table, "v1beta1");
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(beta["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(
        beta["rows"][0]["object"]["apiVersion"],
        "meta.k8s.io/v1beta1"
    );
    let with_object = build(DEFAULT, &[object], now(), 5, None, None, "Object");
    let beta = with_version(&with_object, "v1beta1");
    assert_eq!(beta["rows"][0]["object"]["apiVersion"], "v1");
    assert_eq!(
        with_version(&json!({"kind": "Status"}), "v1beta1"),
        json!({"kind": "Status"})
    );
}

#[test]
fn streamed_tables_equal_built_ones() {
    let pods = [
        pod(json!({"phase": "Running"}), one_container()),
        pod(json!({"phase": "Succeeded"}), two_containers()),
    ];
    let printer = printer("", "Pod").unwrap();
    for include in ["None", "Metadata", "Object"] {
        for version in ["v1", "v1beta1"] {
            let built = with_version(
                &build(printer, &pods, now(), 9, Some("tok"), Some(2), include),
                version,
            );
            let mut writer = TableWriter::with_printer(
                printer,
                now(),
                include,
                version,
                9,
                Some("tok"),
                Some(2),
                0,
            );
            for pod in &pods {
                writer.row(pod.clone(), Ok::<Value, ()>).unwrap();
            }
            let streamed: Value = serde_json::from_slice(&writer.finish()).unwrap();
            assert_eq!(streamed, built, "includeObject={include}, {version}");
        }
    }
}

//! Proves tags and wire types against upstream's generated code: bytes built with k8s-pb's prost types
//! (generated from Kubernetes' generated.proto files) decode to the JSON Kubernetes would write, and
//! our encoding decodes back, with prost, to the same message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta as PbTypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message as _;
use serde_json::{Value, json};
use tugboat_protobuf::{
    Error, MAGIC, TypeMeta, decode_envelope, decode_object, decode_watch_event, encode_envelope,
    encode_object, encode_watch_event,
};

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// `k8s\0` + runtime.Unknown, built with prost.
fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unk = Unknown {
        type_meta: Some(PbTypeMeta {
            api_version: s(api_version),
            kind: s(kind),
        }),
        raw: Some(raw),
        content_encoding: s(""),
        content_type: s(""),
    };
    let mut out = MAGIC.to_vec();
    out.extend(unk.encode_to_vec());
    out
}

/// ObjectMeta as Go's marshaller writes it for a client-built object: every value field, even empty.
fn go_object_meta(name: &str) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(""),
        self_link: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(meta::Time::default()),
        ..Default::default()
    }
}

#[test]
fn kubectl_create_namespace() {
    // What `kubectl create namespace x` sends: Namespace{ObjectMeta{Name: "x"}} marshalled by Go.
    let ns = core::Namespace {
        metadata: Some(go_object_meta("x")),
        spec: Some(core::NamespaceSpec::default()),
        status: Some(core::NamespaceStatus {
            phase: s(""),
            ..Default::default()
        }),
    };
    let body = envelope("v1", "Namespace", ns.encode_to_vec());
    let (tm, value) = decode_envelope(&body).unwrap();
    assert_eq!(
        tm,
        TypeMeta {
            api_version: "v1".into(),
            kind: "Namespace".into()
        }
    );
    // Exactly what Go's encoding/json writes for that object.
    assert_eq!(
        value,
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "x", "creationTimestamp": null},
            "spec": {},
            "status": {}
        })
    );
    // And back: our envelope has the same layout as upstream's (magic, typeMeta, raw, "", "").
    let ours = encode_envelope(&value).unwrap();
    let unk = Unknown::decode(&ours[4..]).unwrap();
    assert_eq!(&ours[..4], b"k8s\0");
    assert_eq!(
        unk.type_meta.as_ref().and_then(|t| t.kind.as_deref()),
        Some("Namespace")
    );
    assert_eq!(unk.content_type.as_deref(), Some(""));
    let back = core::Namespace::decode(unk.raw.unwrap_or_default().as_slice()).unwrap();
    assert_eq!(back.metadata.and_then(|m| m.name).as_deref(), Some("x"));
}

fn sample_pod() -> core::Pod {
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_owned(), Quantity { string: s("250m") });
    requests.insert("memory".to_owned(), Quantity { string: s("64Mi") });
    let mut labels = BTreeMap::new();
    labels.insert("app".to_owned(), "web".to_owned());
    core::Pod {
        metadata: Some(meta::ObjectMeta {
            name: s("web-0"),
            namespace: s("default"),
            uid: s("0b7f2a8e-1111-2222-3333-444455556666"),
            resource_version: s("42"),
            generation: Some(1),
            labels,
            creation_timestamp: Some(meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(0),
            }),
            deletion_grace_period_seconds: Some(0),
            managed_fields: vec![meta::ManagedFieldsEntry {
                manager: s("kubectl"),
                operation: s("Update"),
                api_version: s("v1"),
                time: Some(meta::Time {
                    seconds: Some(1_700_000_000),
                    nanos: Some(0),
                }),
                fields_type: s("FieldsV1"),
                fields_v1: Some(meta::FieldsV1 {
                    raw: Some(br#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}"#.to_vec()),
                }),
                subresource: None,
            }],
            ..Default::default()
        }),
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: s("web"),
                image: s("nginx:1.27"),
                command: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
                ports: vec![core::ContainerPort {
                    name: s("http"),
                    container_port: Some(80),
                    protocol: s("TCP"),
                    ..Default::default()
                }],
                env: vec![core::EnvVar {
                    name: s("MODE"),
                    value: None,
                    value_from: Some(core::EnvVarSource {
                        config_map_key_ref: Some(core::ConfigMapKeySelector {
                            local_object_reference: Some(core::LocalObjectReference {
                                name: s("cfg"),
                            }),
                            key: s("mode"),
                            optional: Some(false),
                        }),
                        ..Default::default()
                    }),
                }],
                resources: Some(core::ResourceRequirements {
                    requests: requests.clone(),
                    limits: requests,
                    ..Default::default()
                }),
                liveness_probe: Some(core::Probe {
                    handler: Some(core::ProbeHandler {
                        http_get: Some(core::HttpGetAction {
                            path: s("/healthz"),
                            port: Some(IntOrString {
                                r#type: Some(1),
                                int_val: Some(0),
                                str_val: s("http"),
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    initial_delay_seconds: Some(5),
                    period_seconds: Some(10),
                    ..Default::default()
                }),
                readiness_probe: Some(core::Probe {
                    handler: Some(core::ProbeHandler {
                        tcp_socket: Some(core::TcpSocketAction {
                            port: Some(IntOrString {
                                r#type: Some(0),
                                int_val: Some(8080),
                                str_val: s(""),
                            }),
                            host: None,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                security_context: Some(core::SecurityContext {
                    run_as_user: Some(0),
                    allow_privilege_escalation: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            volumes: vec![core::Volume {
                name: s("scratch"),
                volume_source: Some(core::VolumeSource {
                    empty_dir: Some(core::EmptyDirVolumeSource {
                        medium: s("Memory"),
                        size_limit: Some(Quantity { string: s("1Gi") }),
                    }),
                    ..Default::default()
                }),
            }],
            termination_grace_period_seconds: Some(0),
            host_network: Some(false),
            node_selector: BTreeMap::from([("disk".to_owned(), "ssd".to_owned())]),
            ..Default::default()
        }),
        status: Some(core::PodStatus {
            phase: s("Running"),
            pod_ip: s("10.42.0.7"),
            pod_ips: vec![core::PodIp { ip: s("10.42.0.7") }],
            start_time: Some(meta::Time {
                seconds: Some(1_700_000_005),
                nanos: Some(0),
            }),
            ..Default::default()
        }),
    }
}

#[test]
fn pod_from_prost_decodes_to_kubernetes_json() {
    let pod = sample_pod();
    let value = decode_object("v1", "Pod", &pod.encode_to_vec()).unwrap();
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-0",
            "namespace": "default",
            "uid": "0b7f2a8e-1111-2222-3333-444455556666",
            "resourceVersion": "42",
            "generation": 1,
            "labels": {"app": "web"},
            "creationTimestamp": "2023-11-14T22:13:20Z",
            "deletionGracePeriodSeconds": 0,
            "managedFields": [{
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2023-11-14T22:13:20Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}
            }]
        },
        "spec": {
            "containers": [{
                "name": "web",
                "image": "nginx:1.27",
                "command": ["nginx", "-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode", "optional": false}}}],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "64Mi"},
                    "limits": {"cpu": "250m", "memory": "64Mi"}
                },
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5, "periodSeconds": 10},
                "readinessProbe": {"tcpSocket": {"port": 8080}},
                "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": false}
            }],
            "volumes": [{"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}],
            "terminationGracePeriodSeconds": 0,
            "nodeSelector": {"disk": "ssd"}
        },
        "status": {
            "phase": "Running",
            "podIP": "10.42.0.7",
            "podIPs": [{"ip": "10.42.0.7"}],
            "startTime": "2023-11-14T22:13:25Z"
        }
    });
    assert_eq!(
        value,
        expected,
        "{}",
        serde_json::to_string_pretty(&value).unwrap()
    );

    // Our encoding of that JSON is the same message for upstream's generated code.
    let ours = encode_object(&value).unwrap();
    let back = core::Pod::decode(ours.as_slice()).unwrap();
    let mut want = pod;
    // Fields Go leaves out of JSON when zero and we therefore do not write back.
    if let Some(spec) = want.spec.as_mut() {
        spec.host_network = None;
    }
    assert_eq!(back, want);
}

#[test]
fn deployment_with_zero_replicas_keeps_them() {
    let d = apps::Deployment {
        metadata: Some(go_object_meta("web")),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            selector: Some(meta::LabelSelector {
                match_labels: BTreeMap::from([("app".to_owned(), "web".to_owned())]),
                match_expressions: vec![],
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(go_object_meta("")),
                spec: Some(core::PodSpec {
                    containers: vec![core::Container {
                        name: s("web"),
                        image: s("nginx"),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(0),
                        str_val: s(""),
                    }),
                    max_surge: Some(IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: s("25%"),
                    }),
                }),
            }),
            min_ready_seconds: Some(0),
            revision_history_limit: Some(10),
            paused: Some(false),
            progress_deadline_seconds: Some(600),
        }),
        status: Some(apps::DeploymentStatus::default()),
    };
    let body = envelope("apps/v1", "Deployment", d.encode_to_vec());
    let (_, v) = decode_envelope(&body).unwrap();
    assert_eq!(
        v["spec"],
        json!({
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        })
    );
    assert_eq!(
        v["metadata"],
        json!({"name": "web", "creationTimestamp": null})
    );
}

#[test]
fn secret_bytes_are_base64() {
    let secret = core::Secret {
        metadata: Some(meta::ObjectMeta {
            name: s("creds"),
            ..Default::default()
        }),
        data: BTreeMap::from([("password".to_owned(), b"hunter2\x00\xff".to_vec())]),
        string_data: BTreeMap::new(),
        r#type: s("Opaque"),
        immutable: Some(true),
    };
    let v = decode_object("v1", "Secret", &secret.encode_to_vec()).unwrap();
    assert_eq!(v["data"], json!({"password": "aHVudGVyMgD/"}));
    assert_eq!(v["type"], json!("Opaque"));
    assert_eq!(v["immutable"], json!(true));
    let back = core::Secret::decode(encode_object(&v).unwrap().as_slice()).unwrap();
    assert_eq!(back, secret);
}

#[test]
fn lease_micro_time() {
    use k8s_pb::api::coordination::v1 as coord;
    let lease = coord::Lease {
        metadata: Some(meta::ObjectMeta {
            name: s("kube-scheduler"),
            ..Default::default()
        }),
        spec: Some(coord::LeaseSpec {
            holder_identity: s("node-1"),
            lease_duration_seconds: Some(15),
            renew_time: Some(meta::MicroTime {
                seconds: Some(1_700_000_000),
                nanos: Some(123_456_000),
            }),
            ..Default::default()
        }),
    };
    let v = decode_object("coordination.k8s.io/v1", "Lease", &lease.encode_to_vec()).unwrap();
    assert_eq!(v["spec"]["renewTime"], json!("2023-11-14T22:13:20.123456Z"));
    let back = coord::Lease::decode(encode_object(&v).unwrap().as_slice()).unwrap();
    assert_eq!(back, lease);
}

#[test]
fn unknown_protobuf_fields_are_skipped() {
    let ns = core::Namespace {
        metadata: Some(meta::ObjectMeta {
            name: s("x"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut raw = ns.encode_to_vec();
    // Field 99, a string, that a newer client might send.
    raw.extend_from_slice(&[0x9a, 0x06, 0x03, b'n', b'e', b'w']);
    let (_, v) = decode_envelope(&envelope("v1", "Namespace", raw)).unwrap();
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})
    );
}

#[test]
fn watch_frames() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "7"}, "data": {"k": "v"}});
    let frame = encode_watch_event("ADDED", &obj).unwrap();
    let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    assert_eq!(len, frame.len() - 4);
    // Upstream's WatchEvent message, with the object's envelope in RawExtension.raw.
    let ev = meta::WatchEvent::decode(&frame[4..]).unwrap();
    assert_eq!(ev.r#type.as_deref(), Some("ADDED"));
    let raw = ev.object.and_then(|o| o.raw).unwrap();
    let (tm, v) = decode_envelope(&raw).unwrap();
    assert_eq!(tm.kind, "ConfigMap");
    assert_eq!(v, obj);
    let (ty, _, v2) = decode_watch_event(&frame).unwrap();
    assert_eq!(ty, "ADDED");
    assert_eq!(v2, obj);
    assert!(matches!(
        decode_watch_event(&frame[..frame.len() - 1]),
        Err(Error::Frame { .. })
    ));
}

#[test]
fn errors() {
    assert!(matches!(
        decode_envelope(b"{\"kind\":\"Pod\"}"),
        Err(Error::MissingMagic)
    ));
    let cr = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    assert!(matches!(
        encode_envelope(&cr),
        Err(Error::NotProtobufKind { .. })
    ));
    let bad: Value = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}});
    let err = encode_envelope(&bad).unwrap_err().to_string();
    assert!(
        err.contains(".spec.containers[0].ports[0].containerPort"),
        "{err}"
    );
    let bad_time =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"creationTimestamp": "yesterday"}});
    assert!(matches!(
        encode_envelope(&bad_time),
        Err(Error::Value { .. })
    ));
    assert!(matches!(
        decode_envelope(&envelope("v1", "Namespace", vec![0x0a, 0x05, 0x01])),
        Err(Error::Wire { .. })
    ));
}

#[test]
fn hostile_nesting_is_an_error_not_a_crash() {
    fn wrap(key: &[u8], body: Vec<u8>) -> Vec<u8> {
        let mut out = key.to_vec();
        let mut len = body.len();
        while len >= 0x80 {
            out.push((len as u8 & 0x7f) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend(body);
        out
    }
    // JSONSchemaProps.not (tag 28) nested 10,000 deep, in
    // CRD.spec (2) .versions (7) .schema (4) .openAPIV3Schema (1).
    let mut schema = Vec::new();
    for _ in 0..10_000 {
        schema = wrap(&[0xe2, 0x01], schema);
    }
    let raw = wrap(&[0x12], wrap(&[0x3a], wrap(&[0x22], wrap(&[0x0a], schema))));
    let err =
        decode_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", &raw).unwrap_err();
    assert!(err.to_string().contains("nest deeper"), "{err}");
}

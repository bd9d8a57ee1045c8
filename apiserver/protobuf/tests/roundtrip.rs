//! JSON -> protobuf -> JSON round trips of realistic objects: what the server stores must come back
//! unchanged through a protobuf client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use tugboat_protobuf::{decode_envelope, encode_envelope, has_protobuf, message_name};

fn round_trip(obj: Value) {
    let bytes = encode_envelope(&obj).unwrap();
    assert_eq!(&bytes[..4], b"k8s\0");
    let (tm, back) = decode_envelope(&bytes).unwrap();
    assert_eq!(tm.kind, obj["kind"].as_str().unwrap());
    assert_eq!(
        back,
        obj,
        "\n got: {}\nwant: {}",
        serde_json::to_string_pretty(&back).unwrap(),
        serde_json::to_string_pretty(&obj).unwrap()
    );
}

fn meta(name: &str) -> Value {
    json!({
        "name": name,
        "namespace": "default",
        "uid": "6f1c1b8e-5d3a-4c38-9d7b-2f6f1f0e9a11",
        "resourceVersion": "1234",
        "generation": 3,
        "creationTimestamp": "2024-05-01T12:00:00Z",
        "labels": {"app": name, "tier": "web"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f", "uid": "0a0b0c0d-0000-0000-0000-000000000001",
            "controller": true, "blockOwnerDeletion": true
        }],
        "finalizers": ["example.com/cleanup"],
        "managedFields": [{
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2024-05-01T12:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}}}}},
            "subresource": "status"
        }]
    })
}

#[test]
fn namespace() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-a", "creationTimestamp": "2024-05-01T12:00:00Z", "labels": {"kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    }));
}

#[test]
fn pod() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta("web-0"),
        "spec": {
            "containers": [{
                "name": "web",
                "image": "nginx:1.27",
                "imagePullPolicy": "IfNotPresent",
                "args": ["-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090, "hostPort": 19090, "protocol": "UDP"}],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                    {"name": "LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}
                ],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP", "httpHeaders": [{"name": "X", "value": "y"}]}, "initialDelaySeconds": 3, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 5},
                "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "failureThreshold": 30, "terminationGracePeriodSeconds": 0},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}, {"name": "cfg", "mountPath": "/etc/cfg", "subPath": "app.yaml"}],
                "securityContext": {"runAsUser": 0, "runAsNonRoot": false, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "seccompProfile": {"type": "RuntimeDefault"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"
            }],
            "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"], "restartPolicy": "Always"}],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}},
                {"name": "cfg", "configMap": {"name": "web-config", "defaultMode": 420, "items": [{"key": "app.yaml", "path": "app.yaml"}]}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "500Mi"}},
                {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}, {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "nodeName": "node-1",
            "automountServiceAccountToken": false,
            "securityContext": {"fsGroup": 2000, "runAsGroup": 0, "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, "topologyKey": "kubernetes.io/hostname"}}]}},
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["foo.local"]}],
            "priority": 0,
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "overhead": {"cpu": "250m"}
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T12:00:05Z"}],
            "hostIP": "192.168.1.10",
            "hostIPs": [{"ip": "192.168.1.10"}],
            "podIP": "10.42.0.7",
            "podIPs": [{"ip": "10.42.0.7"}, {"ip": "fd00::7"}],
            "startTime": "2024-05-01T12:00:00Z",
            "containerStatuses": [{
                "name": "web", "ready": true, "restartCount": 0, "image": "docker.io/library/nginx:1.27", "imageID": "docker.io/library/nginx@sha256:abc",
                "containerID": "containerd://123", "started": true,
                "state": {"running": {"startedAt": "2024-05-01T12:00:02Z"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2024-05-01T11:00:00Z", "finishedAt": "2024-05-01T11:59:00Z"}}
            }],
            "qosClass": "Burstable"
        }
    }));
}

#[test]
fn deployment() {
    round_trip(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta("web"),
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}, "creationTimestamp": null}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        },
        "status": {
            "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
            "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2024-05-01T12:00:00Z", "lastTransitionTime": "2024-05-01T12:00:00Z", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."}]
        }
    }));
}

#[test]
fn secret_and_configmap() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "tls", "namespace": "default"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "LS0tLS1CRUdJTi0tLS0t", "tls.key": "AAEC/w=="},
        "immutable": false
    }));
    round_trip(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default"},
        "data": {"app.yaml": "a: 1\n", "empty": ""},
        "binaryData": {"blob": "3q2+7w=="}
    }));
}

#[test]
fn service() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080},
                {"name": "https", "protocol": "TCP", "appProtocol": "https", "port": 443, "targetPort": 8443}
            ],
            "clusterIP": "10.43.0.10",
            "clusterIPs": ["10.43.0.10", "fd00:43::10"],
            "ipFamilies": ["IPv4", "IPv6"],
            "ipFamilyPolicy": "PreferDualStack",
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
            "externalTrafficPolicy": "Local",
            "healthCheckNodePort": 31000,
            "allocateLoadBalancerNodePorts": false,
            "internalTrafficPolicy": "Cluster"
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP"}]}]}}
    }));
}

#[test]
fn custom_resource_definition() {
    round_trip(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList", "shortNames": ["wd"], "categories": ["all"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": "A widget.",
                    "required": ["spec"],
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "size": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": "^(\\+|-)?[0-9]+$"},
                                "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10.5, "default": 1, "exclusiveMaximum": false},
                                "mode": {"type": "string", "enum": ["a", "b", null], "default": "a", "nullable": true},
                                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set", "maxItems": 16},
                                "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
                                "labels": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "granular"},
                                "closed": {"type": "object", "additionalProperties": false},
                                "deps": {"type": "object", "dependencies": {"a": ["b", "c"], "d": {"required": ["e"]}}},
                                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "example": {"any": ["thing", 1]}},
                                "ref": {"$ref": "#/definitions/foo", "$schema": "http://json-schema.org/draft-04/schema#", "id": "x"}
                            },
                            "x-kubernetes-validations": [{"rule": "self.replicas <= 10", "message": "too many", "reason": "FieldValueInvalid", "fieldPath": ".replicas", "optionalOldSelf": true}]
                        },
                        "status": {"type": "object", "x-kubernetes-embedded-resource": false}
                    }
                }},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [{"name": "Size", "type": "string", "jsonPath": ".spec.size", "priority": 0}]
            }],
            "conversion": {"strategy": "None"}
        },
        "status": {
            "conditions": [{"type": "Established", "status": "True", "lastTransitionTime": "2024-05-01T12:00:00Z", "reason": "InitialNamesAccepted", "message": "ok"}],
            "acceptedNames": {"plural": "widgets", "kind": "Widget"},
            "storedVersions": ["v1"]
        }
    }));
}

#[test]
fn pod_list() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "PodList",
        "metadata": {"resourceVersion": "99", "continue": "abc", "remainingItemCount": 0},
        "items": [
            {"metadata": {"name": "a", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Pending"}},
            {"metadata": {"name": "b", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {}}
        ]
    }));
}

#[test]
fn a_list_encoded_item_by_item_is_the_whole_list_encoded() {
    let big_labels: serde_json::Map<String, Value> = (0..40)
        .map(|i| (format!("label-{i}"), json!("x".repeat(20))))
        .collect();
    let items = vec![
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta("a"), "spec": {"containers": [{"name": "c", "image": "i"}]}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "labels": big_labels}, "status": {"phase": "Running"}}),
    ];
    let list_meta = json!({"resourceVersion": "99", "continue": "abc"});
    let whole = encode_envelope(&json!({
        "apiVersion": "v1", "kind": "PodList", "metadata": list_meta, "items": items,
    }))
    .unwrap();
    let mut encoder = tugboat_protobuf::ListEncoder::new("v1", "PodList", &list_meta).unwrap();
    for item in &items {
        encoder.push(item).unwrap();
    }
    assert_eq!(encoder.finish(), whole);
    assert!(tugboat_protobuf::ListEncoder::new("v1", "Pod", &list_meta).is_err());
    assert!(
        tugboat_protobuf::ListEncoder::new("example.com/v1", "WidgetList", &list_meta).is_err()
    );
}

#[test]
fn discovery_events_and_reviews() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "APIResourceList", "groupVersion": "apps/v1",
        "resources": [{"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["deploy"], "categories": ["all"], "storageVersionHash": "8aSe+NMegvE="}]
    }));
    round_trip(json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.17a", "namespace": "default"},
        "eventTime": "2024-05-01T12:00:00.123456Z",
        "series": {"count": 2, "lastObservedTime": "2024-05-01T12:01:00.000001Z"},
        "reportingController": "kubelet", "reportingInstance": "node-1", "action": "Pulling", "reason": "Pulling",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "u", "apiVersion": "v1", "resourceVersion": "1", "fieldPath": "spec.containers{web}"},
        "note": "Pulling image", "type": "Normal"
    }));
    round_trip(json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "metadata": {},
        "spec": {"user": "alice", "groups": ["dev"], "extra": {"scopes": ["a", "b"]}, "uid": "1",
            "resourceAttributes": {"namespace": "default", "verb": "get", "group": "apps", "resource": "deployments"}},
        "status": {"allowed": true, "reason": "RBAC"}
    }));
    round_trip(json!({
        "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
        "message": "pods \"x\" not found", "reason": "NotFound", "details": {"name": "x", "kind": "pods"}, "code": 404
    }));
    round_trip(json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "web-1"},
        "data": {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}},
        "revision": 1
    }));
    round_trip(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}, "minReplicas": 1, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}}
    }));
}

#[test]
fn unknown_json_fields_are_dropped_and_lookups_work() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}, "bogus": 1});
    let (_, back) = decode_envelope(&encode_envelope(&obj).unwrap()).unwrap();
    assert_eq!(
        back,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}})
    );
    assert!(has_protobuf("v1", "PodList"));
    assert!(has_protobuf("apps/v1", "DeleteOptions"));
    assert!(has_protobuf("meta.k8s.io/v1", "PartialObjectMetadataList"));
    assert!(has_protobuf(
        "apidiscovery.k8s.io/v2",
        "APIGroupDiscoveryList"
    ));
    assert!(!has_protobuf("example.com/v1", "Widget"));
    assert_eq!(
        message_name("batch/v1", "CronJob"),
        Some("k8s.io.api.batch.v1.CronJob")
    );
}

//! Unit tests of the catalog and its discovery documents. The expectations are excerpts of upstream's
//! golden discovery documents (kubernetes/kubernetes `api/discovery/*.json`), copied verbatim except
//! for whitespace; each constant names the file it comes from.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::discovery::{self, ServerAddress};
use super::*;

const CRUD: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn parse(text: &str) -> Value {
    match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => panic!("golden excerpt is not JSON: {e}"),
    }
}

fn list(catalog: &Catalog, group: &str, version: &str) -> Value {
    match discovery::api_resource_list(catalog, group, version) {
        Some(v) => v,
        None => panic!("{group}/{version} is not served"),
    }
}

fn rows(list: &Value) -> Vec<Value> {
    list["resources"].as_array().cloned().unwrap_or_default()
}

/// Every golden row equals the generated row of the same name.
fn assert_rows_match(generated: &Value, golden: &Value) {
    let generated = rows(generated);
    for want in rows(golden) {
        let name = want["name"].as_str().unwrap_or_default();
        let got = generated.iter().find(|r| r["name"] == want["name"]);
        assert_eq!(got, Some(&want), "row {name}");
    }
}

// === golden excerpts ===

/// `api/discovery/apis__apps__v1.json` (commit d7ce957d).
const APPS_V1: &str = r#"{"apiVersion":"v1","groupVersion":"apps/v1","kind":"APIResourceList","resources":[
{"kind":"ControllerRevision","name":"controllerrevisions","namespaced":true,"singularName":"controllerrevision","storageVersionHash":"85nkx63pcBU=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["all"],"kind":"DaemonSet","name":"daemonsets","namespaced":true,"shortNames":["ds"],"singularName":"daemonset","storageVersionHash":"dd7pWHUlMKQ=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"DaemonSet","name":"daemonsets/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"categories":["all"],"kind":"Deployment","name":"deployments","namespaced":true,"shortNames":["deploy"],"singularName":"deployment","storageVersionHash":"8aSe+NMegvE=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"group":"autoscaling","kind":"Scale","name":"deployments/scale","namespaced":true,"singularName":"","verbs":["get","patch","update"],"version":"v1"},
{"kind":"Deployment","name":"deployments/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"categories":["all"],"kind":"ReplicaSet","name":"replicasets","namespaced":true,"shortNames":["rs"],"singularName":"replicaset","storageVersionHash":"P1RzHs8/mWQ=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"group":"autoscaling","kind":"Scale","name":"replicasets/scale","namespaced":true,"singularName":"","verbs":["get","patch","update"],"version":"v1"},
{"kind":"ReplicaSet","name":"replicasets/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"categories":["all"],"kind":"StatefulSet","name":"statefulsets","namespaced":true,"shortNames":["sts"],"singularName":"statefulset","storageVersionHash":"H+vl74LkKdo=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"group":"autoscaling","kind":"Scale","name":"statefulsets/scale","namespaced":true,"singularName":"","verbs":["get","patch","update"],"version":"v1"},
{"kind":"StatefulSet","name":"statefulsets/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]}]}"#;

/// `api/discovery/apis__batch__v1.json` (commit 2e090810).
const BATCH_V1: &str = r#"{"apiVersion":"v1","groupVersion":"batch/v1","kind":"APIResourceList","resources":[
{"categories":["all"],"kind":"CronJob","name":"cronjobs","namespaced":true,"shortNames":["cj"],"singularName":"cronjob","storageVersionHash":"sd5LIXh4Fjs=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"CronJob","name":"cronjobs/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"categories":["all"],"kind":"Job","name":"jobs","namespaced":true,"singularName":"job","storageVersionHash":"mudhfqk/qZY=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"Job","name":"jobs/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]}]}"#;

/// `api/discovery/apis__networking.k8s.io__v1.json` (commit 95f08499).
const NETWORKING_V1: &str = r#"{"apiVersion":"v1","groupVersion":"networking.k8s.io/v1","kind":"APIResourceList","resources":[
{"kind":"IngressClass","name":"ingressclasses","namespaced":false,"singularName":"ingressclass","storageVersionHash":"l/iqIbDgFyQ=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"Ingress","name":"ingresses","namespaced":true,"shortNames":["ing"],"singularName":"ingress","storageVersionHash":"39NQlfNR+bo=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"Ingress","name":"ingresses/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"kind":"IPAddress","name":"ipaddresses","namespaced":false,"shortNames":["ip"],"singularName":"ipaddress","storageVersionHash":"3f/plJFChNE=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"NetworkPolicy","name":"networkpolicies","namespaced":true,"shortNames":["netpol"],"singularName":"networkpolicy","storageVersionHash":"YpfwF18m1G8=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ServiceCIDR","name":"servicecidrs","namespaced":false,"singularName":"servicecidr","storageVersionHash":"gNLvruQhW2g=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ServiceCIDR","name":"servicecidrs/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]}]}"#;

/// `api/discovery/apis__storage.k8s.io__v1.json` (commit 96a03f45).
const STORAGE_V1: &str = r#"{"apiVersion":"v1","groupVersion":"storage.k8s.io/v1","kind":"APIResourceList","resources":[
{"kind":"CSIDriver","name":"csidrivers","namespaced":false,"singularName":"csidriver","storageVersionHash":"hL6j/rwBV5w=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"CSINode","name":"csinodes","namespaced":false,"singularName":"csinode","storageVersionHash":"Pe62DkZtjuo=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"CSIStorageCapacity","name":"csistoragecapacities","namespaced":true,"singularName":"csistoragecapacity","storageVersionHash":"xeVl+2Ly1kE=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"StorageClass","name":"storageclasses","namespaced":false,"shortNames":["sc"],"singularName":"storageclass","storageVersionHash":"K+m6uJwbjGY=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"VolumeAttachment","name":"volumeattachments","namespaced":false,"singularName":"volumeattachment","storageVersionHash":"tJx/ezt6UDU=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"VolumeAttachment","name":"volumeattachments/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]},
{"kind":"VolumeAttributesClass","name":"volumeattributesclasses","namespaced":false,"shortNames":["vac"],"singularName":"volumeattributesclass","storageVersionHash":"tIjydgKBC5w=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]}]}"#;

/// `api/discovery/apis__admissionregistration.k8s.io__v1.json` (commit 121460de).
const ADMISSIONREGISTRATION_V1: &str = r#"{"apiVersion":"v1","groupVersion":"admissionregistration.k8s.io/v1","kind":"APIResourceList","resources":[
{"categories":["api-extensions"],"kind":"MutatingAdmissionPolicy","name":"mutatingadmissionpolicies","namespaced":false,"singularName":"mutatingadmissionpolicy","storageVersionHash":"mHCkTKpUTrE=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["api-extensions"],"kind":"MutatingAdmissionPolicyBinding","name":"mutatingadmissionpolicybindings","namespaced":false,"singularName":"mutatingadmissionpolicybinding","storageVersionHash":"ZKgZT1uTmZ0=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["api-extensions"],"kind":"MutatingWebhookConfiguration","name":"mutatingwebhookconfigurations","namespaced":false,"singularName":"mutatingwebhookconfiguration","storageVersionHash":"Sqi0GUgDaX0=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["api-extensions"],"kind":"ValidatingAdmissionPolicy","name":"validatingadmissionpolicies","namespaced":false,"singularName":"validatingadmissionpolicy","storageVersionHash":"6OxvlMmQ6is=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ValidatingAdmissionPolicy","name":"validatingadmissionpolicies/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]},
{"categories":["api-extensions"],"kind":"ValidatingAdmissionPolicyBinding","name":"validatingadmissionpolicybindings","namespaced":false,"singularName":"validatingadmissionpolicybinding","storageVersionHash":"v9715VZqakg=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["api-extensions"],"kind":"ValidatingWebhookConfiguration","name":"validatingwebhookconfigurations","namespaced":false,"singularName":"validatingwebhookconfiguration","storageVersionHash":"B0wHjQmsGNk=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]}]}"#;

/// `api/discovery/apis__storagemigration.k8s.io__v1.json` (commit e7cb4c40).
const STORAGEMIGRATION_V1: &str = r#"{"apiVersion":"v1","groupVersion":"storagemigration.k8s.io/v1","kind":"APIResourceList","resources":[
{"kind":"StorageVersionMigration","name":"storageversionmigrations","namespaced":false,"singularName":"storageversionmigration","storageVersionHash":"pCjmmKOkLy4=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"StorageVersionMigration","name":"storageversionmigrations/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]}]}"#;

/// Rows of `api/discovery/apis__resource.k8s.io__v1.json` (commit a6420fa0); v1.37 adds
/// `devicetaintrules`.
const RESOURCE_V1_ROWS: &str = r#"{"resources":[
{"kind":"DeviceClass","name":"deviceclasses","namespaced":false,"singularName":"deviceclass","storageVersionHash":"Yk2PTc1Ybxk=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ResourceClaim","name":"resourceclaims","namespaced":true,"singularName":"resourceclaim","storageVersionHash":"wgAZaHcZxUg=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ResourceClaim","name":"resourceclaims/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"kind":"ResourceClaimTemplate","name":"resourceclaimtemplates","namespaced":true,"singularName":"resourceclaimtemplate","storageVersionHash":"TuzjC49aUfM=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ResourceSlice","name":"resourceslices","namespaced":false,"singularName":"resourceslice","storageVersionHash":"KsC072WgaEY=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]}]}"#;

/// Rows of `api/discovery/apis__certificates.k8s.io__v1.json` (commit 32d5969f), which predates
/// `clustertrustbundles` in v1.
const CERTIFICATES_V1_ROWS: &str = r#"{"resources":[
{"kind":"CertificateSigningRequest","name":"certificatesigningrequests","namespaced":false,"shortNames":["csr"],"singularName":"certificatesigningrequest","storageVersionHash":"95fRKMXA+00=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"CertificateSigningRequest","name":"certificatesigningrequests/approval","namespaced":false,"singularName":"","verbs":["get","patch","update"]},
{"kind":"CertificateSigningRequest","name":"certificatesigningrequests/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]},
{"kind":"PodCertificateRequest","name":"podcertificaterequests","namespaced":true,"singularName":"podcertificaterequest","storageVersionHash":"wYA9yXQH8fg=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"PodCertificateRequest","name":"podcertificaterequests/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]}]}"#;

/// Rows of `api/discovery/api__v1.json` (commit 7c554ea1); v1.37 adds `pods/resize`.
const CORE_V1_ROWS: &str = r#"{"resources":[
{"kind":"Binding","name":"bindings","namespaced":true,"singularName":"binding","verbs":["create"]},
{"kind":"ComponentStatus","name":"componentstatuses","namespaced":false,"shortNames":["cs"],"singularName":"componentstatus","verbs":["get","list"]},
{"kind":"ConfigMap","name":"configmaps","namespaced":true,"shortNames":["cm"],"singularName":"configmap","storageVersionHash":"qFsyl6wFWjQ=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"Endpoints","name":"endpoints","namespaced":true,"shortNames":["ep"],"singularName":"endpoints","storageVersionHash":"fWeeMqaN/OA=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"Event","name":"events","namespaced":true,"shortNames":["ev"],"singularName":"event","storageVersionHash":"r2yiGXH7wu8=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"LimitRange","name":"limitranges","namespaced":true,"shortNames":["limits"],"singularName":"limitrange","storageVersionHash":"EBKMFVe6cwo=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"Namespace","name":"namespaces","namespaced":false,"shortNames":["ns"],"singularName":"namespace","storageVersionHash":"Q3oi5N2YM8M=","verbs":["create","delete","get","list","patch","update","watch"]},
{"kind":"Namespace","name":"namespaces/finalize","namespaced":false,"singularName":"","verbs":["update"]},
{"kind":"Namespace","name":"namespaces/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]},
{"kind":"Node","name":"nodes","namespaced":false,"shortNames":["no"],"singularName":"node","storageVersionHash":"XwShjMxG9Fs=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"NodeProxyOptions","name":"nodes/proxy","namespaced":false,"singularName":"","verbs":["create","delete","get","patch","update"]},
{"kind":"Node","name":"nodes/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]},
{"kind":"PersistentVolumeClaim","name":"persistentvolumeclaims","namespaced":true,"shortNames":["pvc"],"singularName":"persistentvolumeclaim","storageVersionHash":"QWTyNDq0dC4=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"PersistentVolumeClaim","name":"persistentvolumeclaims/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"kind":"PersistentVolume","name":"persistentvolumes","namespaced":false,"shortNames":["pv"],"singularName":"persistentvolume","storageVersionHash":"HN/zwEC+JgM=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"PersistentVolume","name":"persistentvolumes/status","namespaced":false,"singularName":"","verbs":["get","patch","update"]},
{"categories":["all"],"kind":"Pod","name":"pods","namespaced":true,"shortNames":["po"],"singularName":"pod","storageVersionHash":"xPOwRZ+Yhw8=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"PodAttachOptions","name":"pods/attach","namespaced":true,"singularName":"","verbs":["create","get"]},
{"kind":"Binding","name":"pods/binding","namespaced":true,"singularName":"","verbs":["create"]},
{"kind":"Pod","name":"pods/ephemeralcontainers","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"group":"policy","kind":"Eviction","name":"pods/eviction","namespaced":true,"singularName":"","verbs":["create"],"version":"v1"},
{"kind":"PodExecOptions","name":"pods/exec","namespaced":true,"singularName":"","verbs":["create","get"]},
{"kind":"Pod","name":"pods/log","namespaced":true,"singularName":"","verbs":["get"]},
{"kind":"PodPortForwardOptions","name":"pods/portforward","namespaced":true,"singularName":"","verbs":["create","get"]},
{"kind":"PodProxyOptions","name":"pods/proxy","namespaced":true,"singularName":"","verbs":["create","delete","get","patch","update"]},
{"kind":"Pod","name":"pods/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"kind":"PodTemplate","name":"podtemplates","namespaced":true,"singularName":"podtemplate","storageVersionHash":"LIXB2x4IFpk=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["all"],"kind":"ReplicationController","name":"replicationcontrollers","namespaced":true,"shortNames":["rc"],"singularName":"replicationcontroller","storageVersionHash":"Jond2If31h0=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"group":"autoscaling","kind":"Scale","name":"replicationcontrollers/scale","namespaced":true,"singularName":"","verbs":["get","patch","update"],"version":"v1"},
{"kind":"ReplicationController","name":"replicationcontrollers/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"kind":"ResourceQuota","name":"resourcequotas","namespaced":true,"shortNames":["quota"],"singularName":"resourcequota","storageVersionHash":"8uhSgffRX6w=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ResourceQuota","name":"resourcequotas/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]},
{"kind":"Secret","name":"secrets","namespaced":true,"singularName":"secret","storageVersionHash":"S6u1pOWzb84=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ServiceAccount","name":"serviceaccounts","namespaced":true,"shortNames":["sa"],"singularName":"serviceaccount","storageVersionHash":"pbx9ZvyFpBE=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"group":"authentication.k8s.io","kind":"TokenRequest","name":"serviceaccounts/token","namespaced":true,"singularName":"","verbs":["create"],"version":"v1"},
{"categories":["all"],"kind":"Service","name":"services","namespaced":true,"shortNames":["svc"],"singularName":"service","storageVersionHash":"0/CO1lhkEBI=","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"kind":"ServiceProxyOptions","name":"services/proxy","namespaced":true,"singularName":"","verbs":["create","delete","get","patch","update"]},
{"kind":"Service","name":"services/status","namespaced":true,"singularName":"","verbs":["get","patch","update"]}]}"#;

/// The `apps` and `autoscaling` items of `api/discovery/aggregated_v2.json` (commit 0209a4cb).
const AGGREGATED_APPS: &str = r#"{"metadata":{"creationTimestamp":null,"name":"apps"},"versions":[{"freshness":"Current","resources":[
{"resource":"controllerrevisions","responseKind":{"group":"","kind":"ControllerRevision","version":""},"scope":"Namespaced","singularResource":"controllerrevision","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["all"],"resource":"daemonsets","responseKind":{"group":"","kind":"DaemonSet","version":""},"scope":"Namespaced","shortNames":["ds"],"singularResource":"daemonset","subresources":[{"responseKind":{"group":"","kind":"DaemonSet","version":""},"subresource":"status","verbs":["get","patch","update"]}],"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["all"],"resource":"deployments","responseKind":{"group":"","kind":"Deployment","version":""},"scope":"Namespaced","shortNames":["deploy"],"singularResource":"deployment","subresources":[{"responseKind":{"group":"autoscaling","kind":"Scale","version":"v1"},"subresource":"scale","verbs":["get","patch","update"]},{"responseKind":{"group":"","kind":"Deployment","version":""},"subresource":"status","verbs":["get","patch","update"]}],"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["all"],"resource":"replicasets","responseKind":{"group":"","kind":"ReplicaSet","version":""},"scope":"Namespaced","shortNames":["rs"],"singularResource":"replicaset","subresources":[{"responseKind":{"group":"autoscaling","kind":"Scale","version":"v1"},"subresource":"scale","verbs":["get","patch","update"]},{"responseKind":{"group":"","kind":"ReplicaSet","version":""},"subresource":"status","verbs":["get","patch","update"]}],"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
{"categories":["all"],"resource":"statefulsets","responseKind":{"group":"","kind":"StatefulSet","version":""},"scope":"Namespaced","shortNames":["sts"],"singularResource":"statefulset","subresources":[{"responseKind":{"group":"autoscaling","kind":"Scale","version":"v1"},"subresource":"scale","verbs":["get","patch","update"]},{"responseKind":{"group":"","kind":"StatefulSet","version":""},"subresource":"status","verbs":["get","patch","update"]}],"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]}
],"version":"v1"}]}"#;

const AGGREGATED_AUTOSCALING: &str = r#"{"metadata":{"creationTimestamp":null,"name":"autoscaling"},"versions":[
{"freshness":"Current","resources":[{"categories":["all"],"resource":"horizontalpodautoscalers","responseKind":{"group":"","kind":"HorizontalPodAutoscaler","version":""},"scope":"Namespaced","shortNames":["hpa"],"singularResource":"horizontalpodautoscaler","subresources":[{"responseKind":{"group":"","kind":"HorizontalPodAutoscaler","version":""},"subresource":"status","verbs":["get","patch","update"]}],"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]}],"version":"v2"},
{"freshness":"Current","resources":[{"categories":["all"],"resource":"horizontalpodautoscalers","responseKind":{"group":"","kind":"HorizontalPodAutoscaler","version":""},"scope":"Namespaced","shortNames":["hpa"],"singularResource":"horizontalpodautoscaler","subresources":[{"responseKind":{"group":"","kind":"HorizontalPodAutoscaler","version":""},"subresource":"status","verbs":["get","patch","update"]}],"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]}],"version":"v1"}]}"#;

/// `api/discovery/apis__autoscaling.json` (commit 008b3652).
const AUTOSCALING_GROUP: &str = r#"{"apiVersion":"v1","kind":"APIGroup","name":"autoscaling","preferredVersion":{"groupVersion":"autoscaling/v2","version":"v2"},"versions":[{"groupVersion":"autoscaling/v2","version":"v2"},{"groupVersion":"autoscaling/v1","version":"v1"}]}"#;

/// `api/discovery/api.json` (commit 008b3652).
const API: &str = r#"{"kind":"APIVersions","serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"10.10.10.10:8050"}],"versions":["v1"]}"#;

// === discovery documents equal the golden ones ===

#[test]
fn catalog_apps_v1_resource_list_equals_upstream_golden() {
    assert_eq!(list(&Catalog::builtin(), "apps", "v1"), parse(APPS_V1));
}

#[test]
fn catalog_batch_networking_storage_admission_svm_lists_equal_upstream_golden() {
    let catalog = Catalog::builtin();
    assert_eq!(list(&catalog, "batch", "v1"), parse(BATCH_V1));
    assert_eq!(
        list(&catalog, "networking.k8s.io", "v1"),
        parse(NETWORKING_V1)
    );
    assert_eq!(list(&catalog, "storage.k8s.io", "v1"), parse(STORAGE_V1));
    assert_eq!(
        list(&catalog, "admissionregistration.k8s.io", "v1"),
        parse(ADMISSIONREGISTRATION_V1)
    );
    assert_eq!(
        list(&catalog, "storagemigration.k8s.io", "v1"),
        parse(STORAGEMIGRATION_V1)
    );
}

#[test]
fn catalog_core_v1_rows_equal_upstream_golden_plus_pod_resize() {
    let catalog = Catalog::builtin();
    let generated = list(&catalog, "", "v1");
    let golden = parse(CORE_V1_ROWS);
    assert_rows_match(&generated, &golden);
    // /api/v1 has no apiVersion, unlike /apis/<g>/<v>.
    assert_eq!(generated.get("apiVersion"), None);
    assert_eq!(generated["groupVersion"], "v1");
    let mut want: Vec<String> = rows(&golden)
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    want.push("pods/resize".to_owned());
    want.sort();
    let got: Vec<String> = rows(&generated)
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, want);
    let resize = rows(&generated)
        .into_iter()
        .find(|r| r["name"] == "pods/resize");
    assert_eq!(
        resize,
        Some(
            json!({"kind":"Pod","name":"pods/resize","namespaced":true,"singularName":"","verbs":["get","patch","update"]})
        )
    );
}

#[test]
fn catalog_resource_and_certificates_rows_equal_upstream_golden() {
    let catalog = Catalog::builtin();
    assert_rows_match(
        &list(&catalog, "resource.k8s.io", "v1"),
        &parse(RESOURCE_V1_ROWS),
    );
    assert_rows_match(
        &list(&catalog, "certificates.k8s.io", "v1"),
        &parse(CERTIFICATES_V1_ROWS),
    );
}

#[test]
fn catalog_aggregated_groups_equal_upstream_golden() {
    let catalog = Catalog::builtin();
    let apis = discovery::aggregated_apis(&catalog);
    assert_eq!(apis["apiVersion"], "apidiscovery.k8s.io/v2");
    assert_eq!(apis["kind"], "APIGroupDiscoveryList");
    let items = apis["items"].as_array().cloned().unwrap_or_default();
    let item = |name: &str| {
        items
            .iter()
            .find(|i| i["metadata"]["name"] == name)
            .cloned()
    };
    assert_eq!(item("apps"), Some(parse(AGGREGATED_APPS)));
    assert_eq!(item("autoscaling"), Some(parse(AGGREGATED_AUTOSCALING)));
    // No core group in /apis; /api holds only the core group, without a name.
    assert!(items.iter().all(|i| i["metadata"]["name"].is_string()));
    let api = discovery::aggregated_api(&catalog);
    let core = &api["items"][0];
    assert_eq!(api["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(core["metadata"], json!({"creationTimestamp": null}));
    assert_eq!(core["versions"][0]["version"], "v1");
    let pods = core["versions"][0]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["resource"] == "pods").cloned());
    let eviction = pods
        .as_ref()
        .and_then(|p| p["subresources"].as_array())
        .and_then(|s| s.iter().find(|s| s["subresource"] == "eviction").cloned());
    assert_eq!(
        eviction,
        Some(
            json!({"subresource":"eviction","responseKind":{"group":"policy","version":"v1","kind":"Eviction"},"verbs":["create"]})
        )
    );
}

#[test]
fn catalog_group_documents_equal_upstream_golden() {
    let catalog = Catalog::builtin();
    assert_eq!(
        discovery::api_group(&catalog, "autoscaling"),
        Some(parse(AUTOSCALING_GROUP))
    );
    let addresses = [ServerAddress {
        client_cidr: "0.0.0.0/0".to_owned(),
        server_address: "10.10.10.10:8050".to_owned(),
    }];
    assert_eq!(discovery::api_versions(&addresses), parse(API));
    assert_eq!(discovery::api_group(&catalog, ""), None);
    assert_eq!(discovery::api_group(&catalog, "nope.example.com"), None);
    assert_eq!(
        discovery::api_resource_list(&catalog, "apps", "v1beta1"),
        None
    );
}

#[test]
fn catalog_group_list_is_in_upstream_order_with_preferred_versions() {
    let catalog = Catalog::builtin();
    let doc = discovery::api_group_list(&catalog);
    assert_eq!(doc["kind"], "APIGroupList");
    let groups = doc["groups"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, BUILTIN_GROUP_ORDER);
    for group in &groups {
        assert_eq!(group["preferredVersion"], group["versions"][0]);
    }
    assert_eq!(
        groups[5]["preferredVersion"]["groupVersion"],
        "autoscaling/v2"
    );
    assert_eq!(
        groups[0],
        json!({"name":"apiregistration.k8s.io","preferredVersion":{"groupVersion":"apiregistration.k8s.io/v1","version":"v1"},"versions":[{"groupVersion":"apiregistration.k8s.io/v1","version":"v1"}]})
    );
}

// === storage ===

#[test]
fn catalog_storage_version_hash_matches_upstream_algorithm() {
    assert_eq!(storage_version_hash("", "v1", "Pod"), "xPOwRZ+Yhw8=");
    assert_eq!(
        storage_version_hash("apps", "v1", "Deployment"),
        "8aSe+NMegvE="
    );
    let catalog = Catalog::builtin();
    let hash =
        |g: &str, v: &str, r: &str| catalog.get(g, v, r).and_then(|r| r.storage_version_hash());
    // events.k8s.io events and autoscaling/v1 HPAs share their storage version with another API.
    assert_eq!(
        hash("events.k8s.io", "v1", "events"),
        Some("r2yiGXH7wu8=".to_owned())
    );
    assert_eq!(
        hash("autoscaling", "v1", "horizontalpodautoscalers"),
        hash("autoscaling", "v2", "horizontalpodautoscalers")
    );
    assert_eq!(
        hash("autoscaling", "v2", "horizontalpodautoscalers"),
        Some(storage_version_hash(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler"
        ))
    );
    assert_eq!(hash("", "v1", "bindings"), None);
    assert_eq!(hash("authentication.k8s.io", "v1", "tokenreviews"), None);
}

#[test]
fn catalog_key_prefixes_follow_upstream_etcd_layout() {
    let catalog = Catalog::builtin();
    let prefix = |g: &str, v: &str, r: &str| {
        catalog
            .get(g, v, r)
            .and_then(|r| r.key_prefix().map(str::to_owned))
    };
    let cases = [
        ("", "services", "/registry/services/specs"),
        ("", "endpoints", "/registry/services/endpoints"),
        ("", "nodes", "/registry/minions"),
        ("", "replicationcontrollers", "/registry/controllers"),
        ("", "pods", "/registry/pods"),
        ("", "events", "/registry/events"),
        ("events.k8s.io", "events", "/registry/events"),
        ("apps", "deployments", "/registry/deployments"),
        ("networking.k8s.io", "ingresses", "/registry/ingress"),
        ("coordination.k8s.io", "leases", "/registry/leases"),
        (
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "/registry/apiextensions.k8s.io/customresourcedefinitions",
        ),
        (
            "apiregistration.k8s.io",
            "apiservices",
            "/registry/apiregistration.k8s.io/apiservices",
        ),
    ];
    for (group, plural, want) in cases {
        let version = catalog.preferred_version(group).unwrap_or_default();
        assert_eq!(
            prefix(group, &version, plural).as_deref(),
            Some(want),
            "{group}/{plural}"
        );
    }
    assert_eq!(prefix("", "v1", "componentstatuses"), None);
    let pods = catalog.get("", "v1", "pods");
    assert_eq!(
        pods.and_then(|p| p.object_key(Some("default"), "web")),
        Some("/registry/pods/default/web".to_owned())
    );
    let nodes = catalog.get("", "v1", "nodes");
    assert_eq!(
        nodes.and_then(|n| n.object_key(None, "n1")),
        Some("/registry/minions/n1".to_owned())
    );
}

// === table invariants ===

#[test]
fn catalog_every_builtin_row_is_complete() {
    for def in BUILTIN {
        let name = format!("{}/{}/{}", def.group, def.version, def.plural);
        assert!(!def.kind.is_empty() && !def.singular.is_empty(), "{name}");
        assert!(!def.verbs.is_empty(), "{name} has no verbs");
        let mut sorted = def.verbs.to_vec();
        sorted.sort();
        assert_eq!(sorted, def.verbs, "{name} verbs are not sorted");
        match def.storage {
            StorageDef::Etcd {
                key_prefix,
                storage_kind,
                ..
            } => {
                assert!(key_prefix.starts_with("/registry/"), "{name}");
                assert!(!key_prefix.ends_with('/'), "{name}");
                assert!(!storage_kind.is_empty(), "{name}");
                assert!(def.verbs.contains(&"get"), "stored {name} must be readable");
            }
            StorageDef::Virtual => {
                assert!(
                    !def.verbs.contains(&"watch"),
                    "virtual {name} cannot be watched"
                );
            }
        }
        for sub in def.subresources {
            assert!(
                !sub.kind.is_empty() && !sub.verbs.is_empty(),
                "{name}/{}",
                sub.name
            );
        }
        assert!(
            BUILTIN_GROUP_ORDER.contains(&def.group) || def.group.is_empty(),
            "{name}: group not in BUILTIN_GROUP_ORDER"
        );
    }
}

#[test]
fn catalog_builtin_table_has_no_duplicates() {
    let mut gvr = HashSet::new();
    let mut gvk = HashSet::new();
    for def in BUILTIN {
        assert!(
            gvr.insert((def.group, def.version, def.plural)),
            "{}",
            def.plural
        );
        assert!(
            gvk.insert((def.group, def.version, def.kind)),
            "{}",
            def.kind
        );
        let mut subs = HashSet::new();
        for sub in def.subresources {
            assert!(subs.insert(sub.name), "{}/{}", def.plural, sub.name);
        }
    }
    assert_eq!(Catalog::builtin().len(), BUILTIN.len());
}

#[test]
fn catalog_serves_exactly_the_default_group_versions() {
    let gvs: Vec<String> = Catalog::builtin()
        .group_versions()
        .into_iter()
        .map(|(g, v)| group_version_string(&g, &v))
        .collect();
    assert_eq!(
        gvs,
        [
            "v1",
            "apiregistration.k8s.io/v1",
            "apps/v1",
            "events.k8s.io/v1",
            "authentication.k8s.io/v1",
            "authorization.k8s.io/v1",
            "autoscaling/v2",
            "autoscaling/v1",
            "batch/v1",
            "certificates.k8s.io/v1",
            "networking.k8s.io/v1",
            "policy/v1",
            "rbac.authorization.k8s.io/v1",
            "storage.k8s.io/v1",
            "admissionregistration.k8s.io/v1",
            "apiextensions.k8s.io/v1",
            "scheduling.k8s.io/v1",
            "coordination.k8s.io/v1",
            "node.k8s.io/v1",
            "discovery.k8s.io/v1",
            "flowcontrol.apiserver.k8s.io/v1",
            "resource.k8s.io/v1",
            "storagemigration.k8s.io/v1",
        ]
    );
}

// === lookups ===

#[test]
fn catalog_lookups_by_resource_kind_short_name_and_singular() {
    let catalog = Catalog::builtin();
    let deploy = catalog.get("apps", "v1", "deployments");
    assert_eq!(deploy.map(|d| d.kind.as_str()), Some("Deployment"));
    assert_eq!(deploy.map(|d| d.list_kind.as_str()), Some("DeploymentList"));
    assert_eq!(deploy.map(|d| d.api_version()), Some("apps/v1".to_owned()));
    let scale = deploy.and_then(|d| d.subresource("scale"));
    assert_eq!(
        scale.map(|s| (s.group.as_str(), s.version.as_str(), s.kind.as_str())),
        Some(("autoscaling", "v1", "Scale"))
    );
    assert_eq!(
        catalog.by_kind("", "v1", "Pod").map(|p| p.plural.as_str()),
        Some("pods")
    );
    assert_eq!(catalog.by_kind("", "v1", "Scale"), None);
    let po: Vec<String> = catalog
        .by_short_name("po")
        .iter()
        .map(|r| r.api_version())
        .collect();
    assert_eq!(po, ["v1"]);
    // `ev` names both event APIs; core comes first, as kubectl resolves it.
    let ev: Vec<String> = catalog
        .by_short_name("ev")
        .iter()
        .map(|r| r.api_version())
        .collect();
    assert_eq!(ev, ["v1", "events.k8s.io/v1"]);
    let hpa: Vec<String> = catalog
        .by_singular("horizontalpodautoscaler")
        .iter()
        .map(|r| r.api_version())
        .collect();
    assert_eq!(hpa, ["autoscaling/v2", "autoscaling/v1"]);
    assert_eq!(
        catalog.preferred_version("autoscaling").as_deref(),
        Some("v2")
    );
    assert_eq!(catalog.preferred_version(""), Some("v1".to_owned()));
    let pods = catalog.get("", "v1", "pods");
    assert!(pods.is_some_and(|p| p.has_verb("watch") && p.scope == Scope::Namespaced));
    assert!(
        catalog
            .get("", "v1", "bindings")
            .is_some_and(|b| b.verbs == ["create"])
    );
    assert!(
        catalog
            .get("", "v1", "namespaces")
            .is_some_and(|n| !n.has_verb("deletecollection"))
    );
    assert_eq!(
        catalog.get("", "v1", "pods").map(|p| p.verbs.clone()),
        Some(CRUD.map(str::to_owned).to_vec())
    );
}

fn widget(version: &str) -> ResourceInfo {
    ResourceInfo {
        group: "example.com".to_owned(),
        version: version.to_owned(),
        kind: "Widget".to_owned(),
        list_kind: "WidgetList".to_owned(),
        plural: "widgets".to_owned(),
        singular: "widget".to_owned(),
        scope: Scope::Namespaced,
        verbs: CRUD.map(str::to_owned).to_vec(),
        short_names: vec!["wd".to_owned()],
        categories: vec!["all".to_owned()],
        subresources: vec![SubresourceInfo {
            name: "status".to_owned(),
            group: "example.com".to_owned(),
            version: version.to_owned(),
            kind: "Widget".to_owned(),
            verbs: vec!["get".to_owned(), "patch".to_owned(), "update".to_owned()],
        }],
        storage: StorageInfo::custom_resource("example.com", "widgets", "v1", "Widget"),
    }
}

#[test]
fn catalog_custom_resources_are_added_and_removed_at_run_time() {
    let mut catalog = Catalog::builtin();
    let builtin_len = catalog.len();
    assert!(catalog.insert(widget("v1beta1")).is_ok());
    assert!(catalog.insert(widget("v1")).is_ok());
    assert_eq!(catalog.len(), builtin_len + 2);
    assert_eq!(
        catalog.insert(widget("v1")),
        Err(CatalogError::DuplicateResource {
            resource: "example.com/v1/widgets".to_owned()
        })
    );
    let mut other = widget("v1");
    other.plural = "gadgets".to_owned();
    assert!(matches!(
        catalog.insert(other),
        Err(CatalogError::DuplicateKind { .. })
    ));
    let mut broken = widget("v2");
    broken.verbs.clear();
    assert!(matches!(
        catalog.insert(broken),
        Err(CatalogError::EmptyField { field: "verbs", .. })
    ));

    // Custom groups come after the built-in ones; v1 is preferred over v1beta1.
    let groups = catalog.groups();
    let last = groups.last();
    assert_eq!(last.map(|g| g.name.as_str()), Some("example.com"));
    assert_eq!(
        last.map(|g| g.versions.clone()),
        Some(vec!["v1".to_owned(), "v1beta1".to_owned()])
    );
    let widgets = catalog.get("example.com", "v1", "widgets");
    assert_eq!(
        widgets.and_then(|w| w.key_prefix().map(str::to_owned)),
        Some("/registry/example.com/widgets".to_owned())
    );
    assert_eq!(
        widgets.and_then(|w| w.storage_version_hash()),
        Some(storage_version_hash("example.com", "v1", "Widget"))
    );
    let doc = discovery::api_group(&catalog, "example.com");
    assert_eq!(
        doc.as_ref()
            .map(|d| d["preferredVersion"]["version"].clone()),
        Some(json!("v1"))
    );
    let all: Vec<String> = catalog
        .in_discovery_order()
        .filter(|r| r.categories.iter().any(|c| c == "all"))
        .map(|r| r.plural.clone())
        .collect();
    assert!(all.contains(&"widgets".to_owned()));

    assert!(catalog.remove("example.com", "v1", "widgets").is_some());
    assert!(catalog.remove("example.com", "v1", "widgets").is_none());
    assert_eq!(catalog.by_kind("example.com", "v1", "Widget"), None);
    assert_eq!(
        catalog.preferred_version("example.com").as_deref(),
        Some("v1beta1")
    );
    assert!(
        catalog
            .remove("example.com", "v1beta1", "widgets")
            .is_some()
    );
    assert_eq!(catalog.group("example.com"), None);
    assert_eq!(catalog.len(), builtin_len);
}

//! Storage, DRA and admission-policy API lifecycles through the official Python client, as the
//! upstream conformance tests that need only the API server make them: CSIDriver, CSINode,
//! CSIStorageCapacity, StorageClass, VolumeAttributesClass, VolumeAttachment (and its status),
//! PersistentVolume and PersistentVolumeClaim (and their status), Pods with inline CSI volumes, the
//! four resource.k8s.io/v1 kinds (upstream's generic CRUD walk with informers and every patch
//! type), and ValidatingAdmissionPolicy and its binding.
//!
//! Not here, because they wait for controllers: the PodDisruptionBudget tests (every one waits
//! for the disruption controller to observe the PDB's generation, and the status test for a
//! running pod).

use serde_json::{Value, json};
use tugboat_conformance::upstream::*;

use crate::support::create_namespace;

/// CSIInlineVolumes' CSIDriver lifecycle: two drivers, a duplicate create, get, strategic merge
/// patch and update of a label, list and delete by label, delete and deletecollection.
const PY_CSI_DRIVER: &str = r##"
import uuid
st = client.StorageV1Api()
label = {"e2e-test": "csiinlinevolumes-1234"}
def driver(modes):
    return client.V1CSIDriver(metadata=client.V1ObjectMeta(name="inline-driver-" + str(uuid.uuid4()), labels=dict(label)),
        spec=client.V1CSIDriverSpec(volume_lifecycle_modes=modes, fs_group_policy="ReadWriteOnceWithFSType"))
d1, d2 = driver(["Ephemeral"]), driver(["Persistent", "Ephemeral"])
c1 = st.create_csi_driver(d1)
c2 = st.create_csi_driver(d2)
try:
    st.create_csi_driver(d1); dup = None
except ApiException as e:
    dup = {"status": e.status, "reason": json.loads(e.body)["reason"]}
g1, g2 = st.read_csi_driver(c1.metadata.name), st.read_csi_driver(c2.metadata.name)
patched = st.patch_csi_driver(c2.metadata.name, {"metadata": {"labels": {c2.metadata.name: "patched"}}})
cur = st.read_csi_driver(c2.metadata.name)
cur.metadata.labels[c2.metadata.name] = "updated"
updated = st.replace_csi_driver(c2.metadata.name, cur)
listed = st.list_csi_driver(label_selector="e2e-test=csiinlinevolumes-1234")
st.delete_csi_driver(c1.metadata.name)
def gone(name):
    try:
        st.read_csi_driver(name); return False
    except ApiException as e:
        return e.status == 404
gone1 = gone(c1.metadata.name)
st.delete_collection_csi_driver(label_selector=c2.metadata.name + "=updated")
print(json.dumps({
  "dup": dup, "uid1": [c1.metadata.uid, g1.metadata.uid], "uid2": [c2.metadata.uid, g2.metadata.uid],
  "spec1": c1.spec.to_dict(), "patched": patched.metadata.labels.get(c2.metadata.name),
  "updated": updated.metadata.labels.get(c2.metadata.name), "listed": len(listed.items),
  "gone1": gone1, "gone2": gone(c2.metadata.name)}))
"##;

scenario! {
    /// Upstream's CSIDriver lifecycle: creating two drivers (and a 409 for the same name again), reading
    /// them back with their UIDs, a strategic-merge-patched and an updated label, two drivers listed by
    /// label, a delete and a deletecollection that both leave nothing behind (the Python client decodes
    /// each delete's answer as the deleted CSIDriver). The drivers come back defaulted as upstream's.
    fn csi_driver_lifecycle(server) covers [CSI_DRIVER_LIFECYCLE] {
        let result = server.python_json(PY_CSI_DRIVER);
        assert_eq!(result["dup"], json!({"status": 409, "reason": "AlreadyExists"}), "{result:#}");
        for uids in [&result["uid1"], &result["uid2"]] {
            assert_eq!(uids[0], uids[1], "{result:#}");
            assert!(uids[0].as_str().is_some_and(|u| !u.is_empty()), "{result:#}");
        }
        let spec = &result["spec1"];
        assert_eq!(spec["volume_lifecycle_modes"], json!(["Ephemeral"]), "{result:#}");
        assert_eq!(spec["fs_group_policy"], "ReadWriteOnceWithFSType", "{result:#}");
        assert_eq!(spec["attach_required"], true, "{result:#}");
        assert_eq!(spec["pod_info_on_mount"], false, "{result:#}");
        assert_eq!(spec["storage_capacity"], false, "{result:#}");
        assert_eq!(spec["requires_republish"], false, "{result:#}");
        assert_eq!(result["patched"], "patched", "{result:#}");
        assert_eq!(result["updated"], "updated", "{result:#}");
        assert_eq!(result["listed"], 2, "{result:#}");
        assert_eq!(result["gone1"], true, "{result:#}");
        assert_eq!(result["gone2"], true, "{result:#}");
    }
}

/// A Pod with two inline CSI volumes: create (and 409), get, list, merge patch, delete.
const PY_CSI_INLINE_POD: &str = r##"
ns, core = "scn", client.CoreV1Api()
pod = client.V1Pod(metadata=client.V1ObjectMeta(name="pod-csi-inline-volumes"), spec=client.V1PodSpec(
    volumes=[client.V1Volume(name="csi-inline-vol1", csi=client.V1CSIVolumeSource(driver="e2e.example.com")),
             client.V1Volume(name="csi-inline-vol2", csi=client.V1CSIVolumeSource(driver="e2e.example.com", fs_type="ext4", read_only=True))],
    containers=[client.V1Container(name="pod-csi-inline-volumes", image="busybox", command=["sh", "-c", "ls /mnt/*"],
        volume_mounts=[client.V1VolumeMount(name="csi-inline-vol1", mount_path="/mnt/vol1"),
                       client.V1VolumeMount(name="csi-inline-vol2", mount_path="/mnt/vol2")])]))
created = core.create_namespaced_pod(ns, pod)
try:
    core.create_namespaced_pod(ns, pod); dup = None
except ApiException as e:
    dup = {"status": e.status, "reason": json.loads(e.body)["reason"]}
got = core.read_namespaced_pod(pod.metadata.name, ns)
listed = core.list_namespaced_pod(ns)
patched = core.patch_namespaced_pod(pod.metadata.name, ns, {"metadata": {"annotations": {"patched": "true"}}},
                                    _content_type="application/merge-patch+json")
core.delete_namespaced_pod(pod.metadata.name, ns)
try:
    after = core.read_namespaced_pod(pod.metadata.name, ns)
    after = {"deletionTimestamp": after.metadata.deletion_timestamp is not None}
except ApiException as e:
    after = {"status": e.status}
print(json.dumps({"dup": dup, "uids": [created.metadata.uid, got.metadata.uid],
  "volumes": [v.csi.to_dict() for v in got.spec.volumes], "listed": [p.metadata.name for p in listed.items],
  "patched": patched.metadata.annotations, "after": after}))
"##;

scenario! {
    /// Upstream's CSIVolumeSource-in-Pod test: a Pod with two inline CSI volumes (one with fsType and
    /// readOnly) is created (the same again is a 409), read back with its UID and volumes, listed,
    /// merge-patched with an annotation and deleted (an unscheduled pod goes at once: 404).
    fn csi_inline_volume_pod(server) covers [CSI_INLINE_VOLUME_POD] {
        create_namespace(server, "scn");
        let result = server.python_json(PY_CSI_INLINE_POD);
        assert_eq!(result["dup"], json!({"status": 409, "reason": "AlreadyExists"}), "{result:#}");
        assert_eq!(result["uids"][0], result["uids"][1], "{result:#}");
        assert_eq!(result["volumes"][0]["driver"], "e2e.example.com", "{result:#}");
        assert_eq!(result["volumes"][1]["fs_type"], "ext4", "{result:#}");
        assert_eq!(result["volumes"][1]["read_only"], true, "{result:#}");
        assert_eq!(result["listed"], json!(["pod-csi-inline-volumes"]), "{result:#}");
        assert_eq!(result["patched"], json!({"patched": "true"}), "{result:#}");
        assert_eq!(result["after"], json!({"status": 404}), "{result:#}");
    }
}

/// CSINode lifecycle: create, get, patch, list, delete; a replacement updated and deletecollected.
const PY_CSINODE: &str = r##"
st = client.StorageV1Api()
def wait_empty(selector):
    deadline = time.time() + 30
    while time.time() < deadline:
        items = st.list_csi_node(label_selector=selector).items
        if not items:
            return True
        time.sleep(0.2)
    return False
name = "e2e-csinode-abcde"
created = st.create_csi_node(client.V1CSINode(metadata=client.V1ObjectMeta(name=name), spec=client.V1CSINodeSpec(drivers=[])))
got = st.read_csi_node(name)
patched = st.patch_csi_node(name, {"metadata": {"labels": {name: "patched"}}})
listed = st.list_csi_node(label_selector=name + "=patched")
deleted = st.delete_csi_node(name)
gone1 = wait_empty(name + "=patched")
name2 = "e2e-csinode-fghij"
second = st.create_csi_node(client.V1CSINode(metadata=client.V1ObjectMeta(name=name2), spec=client.V1CSINodeSpec(drivers=[])))
cur = st.read_csi_node(name2)
cur.metadata.labels = {name2: "updated"}
updated = st.replace_csi_node(name2, cur)
st.delete_collection_csi_node(label_selector=name2 + "=updated")
gone2 = wait_empty(name2 + "=updated")
print(json.dumps({"created": created.metadata.name, "got": got.metadata.name, "patched": patched.metadata.labels,
  "listed": [i.metadata.name for i in listed.items], "deleted": [deleted.kind, deleted.metadata.name], "gone1": gone1,
  "second": [second.metadata.name, cur.metadata.name], "updated": updated.metadata.labels, "gone2": gone2,
  "rvs": [created.metadata.resource_version, patched.metadata.resource_version]}))
"##;

scenario! {
    /// Upstream's CSINode lifecycle: create and read a CSINode, strategic-merge-patch a label (the
    /// resourceVersion grows), list it by that label, delete it (the answer is the CSINode) until the
    /// list is empty; a replacement gets its labels replaced by an update and goes with a
    /// deletecollection by the new label.
    fn csinode_lifecycle(server) covers [CSINODE_LIFECYCLE] {
        let result = server.python_json(PY_CSINODE);
        assert_eq!(result["created"], "e2e-csinode-abcde", "{result:#}");
        assert_eq!(result["got"], "e2e-csinode-abcde", "{result:#}");
        assert_eq!(result["patched"], json!({"e2e-csinode-abcde": "patched"}), "{result:#}");
        let rv = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
        assert!(rv(&result["rvs"][1]) > rv(&result["rvs"][0]), "{result:#}");
        assert_eq!(result["listed"], json!(["e2e-csinode-abcde"]), "{result:#}");
        assert_eq!(result["deleted"], json!(["CSINode", "e2e-csinode-abcde"]), "{result:#}");
        assert_eq!(result["gone1"], true, "{result:#}");
        assert_eq!(result["second"], json!(["e2e-csinode-fghij", "e2e-csinode-fghij"]), "{result:#}");
        assert_eq!(result["updated"], json!({"e2e-csinode-fghij": "updated"}), "{result:#}");
        assert_eq!(result["gone2"], true, "{result:#}");
    }
}

/// CSIStorageCapacities API operations: discovery, create, watch (namespace and all), get, list,
/// patch, update, delete, deletecollection.
const PY_CSI_STORAGE_CAPACITY: &str = r##"
ns, st = "scn", client.StorageV1Api()
unique = "csistoragecapacity-1234"
sel = "test=" + unique
def csc(suffix):
    return client.V1CSIStorageCapacity(metadata=client.V1ObjectMeta(name=unique + suffix, labels={"test": unique}),
                                       storage_class_name="e2e.example.com")
groups = raw("GET", "/apis")[2]
group = raw("GET", "/apis/storage.k8s.io")[2]
resources = raw("GET", "/apis/storage.k8s.io/v1")[2]
discovery = {"apis": any(g["name"] == "storage.k8s.io" and any(v["version"] == "v1" for v in g["versions"]) for g in groups["groups"]),
             "group": any(v["version"] == "v1" for v in group["versions"]),
             "resources": "csistoragecapacities" in [r["name"] for r in resources["resources"]]}
created = st.create_namespaced_csi_storage_capacity(ns, csc("-csc1"))
try:
    st.create_namespaced_csi_storage_capacity(ns, csc("-csc1")); dup = None
except ApiException as e:
    dup = e.status
st.create_namespaced_csi_storage_capacity(ns, csc("-csc2"))
events = {"ns": [], "all": []}
def watcher(key, stream):
    for ev in stream:
        events[key].append([ev["type"], ev["object"].metadata.name, (ev["object"].metadata.annotations or {})])
        if ev["type"] == "MODIFIED" and (ev["object"].metadata.annotations or {}).get("updated") == "true":
            return
threads = [threading.Thread(target=watcher, args=("ns", watch.Watch().stream(st.list_namespaced_csi_storage_capacity, ns, label_selector=sel, timeout_seconds=20))),
           threading.Thread(target=watcher, args=("all", watch.Watch().stream(st.list_csi_storage_capacity_for_all_namespaces, label_selector=sel, timeout_seconds=20)))]
for t in threads: t.start()
time.sleep(0.5)
st.create_namespaced_csi_storage_capacity(ns, csc("-csc3"))
got = st.read_namespaced_csi_storage_capacity(created.metadata.name, ns)
in_ns = st.list_namespaced_csi_storage_capacity(ns, label_selector=sel)
across = st.list_csi_storage_capacity_for_all_namespaces(label_selector=sel)
patched = st.patch_namespaced_csi_storage_capacity(created.metadata.name, ns, {"metadata": {"annotations": {"patched": "true"}}},
                                                   _content_type="application/merge-patch+json")
patched.metadata.annotations["updated"] = "true"
updated = st.replace_namespaced_csi_storage_capacity(created.metadata.name, ns, patched)
for t in threads: t.join(25)
st.delete_namespaced_csi_storage_capacity(created.metadata.name, ns)
try:
    st.read_namespaced_csi_storage_capacity(created.metadata.name, ns); after_delete = 200
except ApiException as e:
    after_delete = e.status
remaining = [i.metadata.name for i in st.list_namespaced_csi_storage_capacity(ns, label_selector=sel).items]
st.delete_collection_namespaced_csi_storage_capacity(ns, label_selector=sel)
final = [i.metadata.name for i in st.list_namespaced_csi_storage_capacity(ns, label_selector=sel).items]
print(json.dumps({"discovery": discovery, "dup": dup, "uid": got.metadata.uid == created.metadata.uid,
  "in_ns": sorted(i.metadata.name for i in in_ns.items), "across": sorted(i.metadata.name for i in across.items),
  "patched": patched.metadata.annotations.get("patched"), "updated": updated.metadata.annotations, "events": events,
  "after_delete": after_delete, "remaining": sorted(remaining), "final": final}))
"##;

scenario! {
    /// Upstream's CSIStorageCapacity API test: storage.k8s.io/v1 and csistoragecapacities in discovery;
    /// create (409 for a duplicate), two label-selected watches (in the namespace and across namespaces)
    /// that see the existing objects, the one created later and the patch and update; get, list in
    /// the namespace and across namespaces, merge patch and update of annotations, delete (404 after)
    /// and deletecollection by label.
    fn csi_storage_capacity_api(server) covers [CSI_STORAGE_CAPACITY_API] {
        create_namespace(server, "scn");
        let result = server.python_json(PY_CSI_STORAGE_CAPACITY);
        assert_eq!(result["discovery"], json!({"apis": true, "group": true, "resources": true}), "{result:#}");
        assert_eq!(result["dup"], 409, "{result:#}");
        assert_eq!(result["uid"], true, "{result:#}");
        let all = json!(["csistoragecapacity-1234-csc1", "csistoragecapacity-1234-csc2", "csistoragecapacity-1234-csc3"]);
        assert_eq!(result["in_ns"], all, "{result:#}");
        assert_eq!(result["across"], all, "{result:#}");
        assert_eq!(result["patched"], "true", "{result:#}");
        assert_eq!(result["updated"], json!({"patched": "true", "updated": "true"}), "{result:#}");
        for key in ["ns", "all"] {
            let events = result["events"][key].as_array().unwrap();
            let added: Vec<&Value> = events.iter().filter(|e| e[0] == "ADDED").map(|e| &e[1]).collect();
            assert_eq!(Value::from(added.into_iter().cloned().collect::<Vec<_>>()), all, "{key}: {result:#}");
            let modified: Vec<&Value> = events.iter().filter(|e| e[0] == "MODIFIED").map(|e| &e[2]).collect();
            assert_eq!(
                modified,
                [&json!({"patched": "true"}), &json!({"patched": "true", "updated": "true"})],
                "{key}: {result:#}"
            );
        }
        assert_eq!(result["after_delete"], 404, "{result:#}");
        assert_eq!(
            result["remaining"],
            json!(["csistoragecapacity-1234-csc2", "csistoragecapacity-1234-csc3"]),
            "{result:#}"
        );
        assert_eq!(result["final"], json!([]), "{result:#}");
    }
}

/// Upstream's e2epv helpers: a labelled CSI PersistentVolume and a claim in namespace `scn`.
const PY_PV_COMMON: &str = r##"
import uuid
ns, core = "scn", client.CoreV1Api()
vol_label = "e2e-pv-pool=" + ns
def make_pv(driver, handle):
    return client.V1PersistentVolume(metadata=client.V1ObjectMeta(generate_name=ns + "-", labels={"e2e-pv-pool": ns},
            annotations={"pv.beta.kubernetes.io/gid": "777"}),
        spec=client.V1PersistentVolumeSpec(persistent_volume_reclaim_policy="Retain", capacity={"storage": "2Gi"},
            access_modes=["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"], storage_class_name=ns,
            csi=client.V1CSIPersistentVolumeSource(driver=driver, volume_handle=handle)))
def make_pvc():
    return client.V1PersistentVolumeClaim(metadata=client.V1ObjectMeta(generate_name="pvc-", namespace=ns),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name=ns,
            resources=client.V1VolumeResourceRequirements(requests={"storage": "2Gi"})))
def create_pair(driver, handle):
    return core.create_persistent_volume(make_pv(driver, handle)), core.create_namespaced_persistent_volume_claim(ns, make_pvc())
def eventually_empty(lister):
    deadline = time.time() + 30
    while time.time() < deadline:
        if not lister().items:
            return True
        time.sleep(0.2)
    return False
"##;

/// PersistentVolumes CSI Conformance lifecycle (after [`PY_PV_COMMON`]).
const PY_PV_LIFECYCLE: &str = r##"
pv, pvc = create_pair("inline-driver-" + str(uuid.uuid4()), "e2e-conformance")
pvs = core.list_persistent_volume(label_selector=vol_label).items
pvcs = core.list_namespaced_persistent_volume_claim(ns).items
initial_pv, initial_pvc = pvs[0], pvcs[0]
patched_pv = core.patch_persistent_volume(initial_pv.metadata.name, {"metadata": {"labels": {initial_pv.metadata.name: "patched"}}})
patched_pvc = core.patch_namespaced_persistent_volume_claim(initial_pvc.metadata.name, ns, {"metadata": {"labels": {initial_pvc.metadata.name: "patched"}}})
got_pv = core.read_persistent_volume(patched_pv.metadata.name)
got_pvc = core.read_namespaced_persistent_volume_claim(patched_pvc.metadata.name, ns)
deleted_pvc = core.delete_namespaced_persistent_volume_claim(got_pvc.metadata.name, ns)
pvc_gone = eventually_empty(lambda: core.list_namespaced_persistent_volume_claim(ns))
deleted_pv = core.delete_persistent_volume(got_pv.metadata.name)
pv_gone = eventually_empty(lambda: core.list_persistent_volume(label_selector=vol_label))
pv2, pvc2 = create_pair("inline-driver-" + str(uuid.uuid4()), "e2e-conformance")
cur = core.read_persistent_volume(pv2.metadata.name)
cur.metadata.labels[pv2.metadata.name] = "updated"
updated_pv = core.replace_persistent_volume(pv2.metadata.name, cur)
cur = core.read_namespaced_persistent_volume_claim(pvc2.metadata.name, ns)
cur.metadata.labels = {pvc2.metadata.name: "updated"}
updated_pvc = core.replace_namespaced_persistent_volume_claim(pvc2.metadata.name, ns, cur)
pvc_selector, pv_selector = pvc2.metadata.name + "=updated", pv2.metadata.name + "=updated"
all_ns = core.list_persistent_volume_claim_for_all_namespaces(label_selector=pvc_selector).items
core.delete_collection_namespaced_persistent_volume_claim(ns, label_selector=pvc_selector)
pvc2_gone = eventually_empty(lambda: core.list_namespaced_persistent_volume_claim(ns, label_selector=pvc_selector))
core.delete_collection_persistent_volume(label_selector=pv_selector)
pv2_gone = eventually_empty(lambda: core.list_persistent_volume(label_selector=pv_selector))
rv = lambda o: int(o.metadata.resource_version)
print(json.dumps({"listed": [len(pvs), len(pvcs)], "names": [pv.metadata.name, pvc.metadata.name],
  "pv": {"phase": initial_pv.status.phase, "labels": patched_pv.metadata.labels, "rv_grew": rv(patched_pv) > rv(initial_pv),
         "uid": got_pv.metadata.uid == patched_pv.metadata.uid, "deleted": [deleted_pv.kind, deleted_pv.metadata.name], "gone": pv_gone},
  "pvc": {"phase": initial_pvc.status.phase, "labels": patched_pvc.metadata.labels, "rv_grew": rv(patched_pvc) > rv(initial_pvc),
          "uid": got_pvc.metadata.uid == patched_pvc.metadata.uid, "deleted": [deleted_pvc.kind, deleted_pvc.metadata.name], "gone": pvc_gone},
  "updated": [updated_pv.metadata.labels, updated_pvc.metadata.labels], "all_ns": [i.metadata.name for i in all_ns],
  "collection_gone": [pvc2_gone, pv2_gone], "second": [pv2.metadata.name, pvc2.metadata.name]}))
"##;

scenario! {
    /// Upstream's PV and PVC lifecycle: a CSI PersistentVolume and a claim are created (both Pending),
    /// listed (by label, in the namespace), strategic-merge-patched with a label (resourceVersions
    /// grow), read back by UID and deleted (each delete answers with the object) until the lists are
    /// empty; a second pair is updated with new labels, the claim found by label across namespaces, and
    /// both removed with deletecollection.
    fn pv_pvc_lifecycle(server) covers [PV_PVC_LIFECYCLE] {
        create_namespace(server, "scn");
        let result = server.python_json(&format!("{PY_PV_COMMON}\n{PY_PV_LIFECYCLE}"));
        assert_eq!(result["listed"], json!([1, 1]), "{result:#}");
        let (pv, pvc) = (result["names"][0].as_str().unwrap(), result["names"][1].as_str().unwrap());
        assert!(pv.starts_with("scn-") && pvc.starts_with("pvc-"), "{result:#}");
        assert_eq!(result["pv"]["phase"], "Pending", "{result:#}");
        assert_eq!(result["pvc"]["phase"], "Pending", "{result:#}");
        assert_eq!(result["pv"]["labels"], json!({"e2e-pv-pool": "scn", pv: "patched"}), "{result:#}");
        assert_eq!(result["pvc"]["labels"], json!({pvc: "patched"}), "{result:#}");
        for (key, kind, name) in [("pv", "PersistentVolume", pv), ("pvc", "PersistentVolumeClaim", pvc)] {
            assert_eq!(result[key]["rv_grew"], true, "{key}: {result:#}");
            assert_eq!(result[key]["uid"], true, "{key}: {result:#}");
            assert_eq!(result[key]["deleted"], json!([kind, name]), "{key}: {result:#}");
            assert_eq!(result[key]["gone"], true, "{key}: {result:#}");
        }
        let (pv2, pvc2) = (result["second"][0].as_str().unwrap(), result["second"][1].as_str().unwrap());
        assert_eq!(
            result["updated"],
            json!([{"e2e-pv-pool": "scn", pv2: "updated"}, {pvc2: "updated"}]),
            "{result:#}"
        );
        assert_eq!(result["all_ns"], json!([pvc2]), "{result:#}");
        assert_eq!(result["collection_gone"], json!([true, true]), "{result:#}");
    }
}

/// PersistentVolumes CSI Conformance status test (after [`PY_PV_COMMON`]).
const PY_PV_STATUS: &str = r##"
pv, pvc = create_pair("e2e-driver-" + str(uuid.uuid4()), "e2e-status-conformance")
initial_pv = core.list_persistent_volume(label_selector=vol_label).items[0]
initial_pvc = core.list_namespaced_persistent_volume_claim(ns).items[0]
pvc_status = core.read_namespaced_persistent_volume_claim_status(initial_pvc.metadata.name, ns)
pv_status = core.read_persistent_volume_status(initial_pv.metadata.name)
patched_pvc = core.patch_namespaced_persistent_volume_claim_status(initial_pvc.metadata.name, ns,
    {"status": {"conditions": [{"type": "StatusPatched", "status": "True", "reason": "E2E patchedStatus", "message": "Set from e2e test"}]}},
    _content_type="application/merge-patch+json")
patched_pv = core.patch_persistent_volume_status(pv_status.metadata.name, {"status": {"message": "StatusPatched", "reason": "E2E patchStatus"}},
    _content_type="application/merge-patch+json")
cur = core.read_namespaced_persistent_volume_claim(patched_pvc.metadata.name, ns)
cur.status.conditions.append(client.V1PersistentVolumeClaimCondition(type="StatusUpdated", status="True", reason="E2E updateStatus", message="Set from e2e test"))
updated_pvc = core.replace_namespaced_persistent_volume_claim_status(cur.metadata.name, ns, cur)
cur = core.read_persistent_volume(patched_pv.metadata.name)
cur.status.reason, cur.status.message = "E2E updateStatus", "StatusUpdated"
updated_pv = core.replace_persistent_volume_status(cur.metadata.name, cur)
# The status subresource ignores spec and metadata changes; the main resource ignores status.
core.patch_persistent_volume_status(pv.metadata.name, {"metadata": {"labels": {"sneaky": "yes"}}, "spec": {"capacity": {"storage": "5Gi"}}},
    _content_type="application/merge-patch+json")
core.patch_persistent_volume(pv.metadata.name, {"status": {"message": "from main"}}, _content_type="application/merge-patch+json")
final_pv = core.read_persistent_volume(pv.metadata.name)
conds = lambda c: {x.type: [x.status, x.reason, x.message] for x in (c.status.conditions or [])}
print(json.dumps({"phases": [pvc_status.status.phase, pv_status.status.phase], "status_kinds": [pvc_status.kind, pv_status.kind],
  "patched_pvc": conds(patched_pvc), "patched_pv": [patched_pv.status.reason, patched_pv.status.message, patched_pv.status.phase],
  "updated_pvc": conds(updated_pvc), "updated_pv": [updated_pv.status.reason, updated_pv.status.message],
  "final_pv": {"labels": final_pv.metadata.labels, "capacity": final_pv.spec.capacity, "message": final_pv.status.message}}))
"##;

scenario! {
    /// Upstream's PV/PVC status test: reading both `status` subresources (a new claim and volume are
    /// Pending), merge-patching a claim condition and the volume's reason and message through `status`,
    /// then updating them through `status` (PUT); a status patch leaves the spec alone and a patch of the
    /// main resource leaves the status alone.
    fn pv_pvc_status(server) covers [PV_PVC_STATUS] {
        create_namespace(server, "scn");
        let result = server.python_json(&format!("{PY_PV_COMMON}\n{PY_PV_STATUS}"));
        assert_eq!(result["phases"], json!(["Pending", "Pending"]), "{result:#}");
        assert_eq!(result["status_kinds"], json!(["PersistentVolumeClaim", "PersistentVolume"]), "{result:#}");
        let patched = json!(["True", "E2E patchedStatus", "Set from e2e test"]);
        assert_eq!(result["patched_pvc"], json!({"StatusPatched": patched}), "{result:#}");
        assert_eq!(result["patched_pv"], json!(["E2E patchStatus", "StatusPatched", "Pending"]), "{result:#}");
        assert_eq!(
            result["updated_pvc"],
            json!({"StatusPatched": patched, "StatusUpdated": ["True", "E2E updateStatus", "Set from e2e test"]}),
            "{result:#}"
        );
        assert_eq!(result["updated_pv"], json!(["E2E updateStatus", "StatusUpdated"]), "{result:#}");
        assert_eq!(result["final_pv"]["capacity"], json!({"storage": "2Gi"}), "{result:#}");
        assert_eq!(result["final_pv"]["message"], "StatusUpdated", "{result:#}");
    }
}

/// StorageClass lifecycle: generateName create, get, patch, delete; replacement updated and
/// deletecollected.
const PY_STORAGE_CLASS: &str = r##"
st = client.StorageV1Api()
def wait_empty(selector):
    deadline = time.time() + 30
    while time.time() < deadline:
        if not st.list_storage_class(label_selector=selector).items:
            return True
        time.sleep(0.2)
    return False
created = st.create_storage_class(client.V1StorageClass(metadata=client.V1ObjectMeta(generate_name="e2e-"), provisioner="e2e-fake-provisioner"))
got = st.read_storage_class(created.metadata.name)
patched = st.patch_storage_class(got.metadata.name, {"metadata": {"labels": {got.metadata.name: "patched"}}})
st.delete_storage_class(patched.metadata.name)
gone1 = wait_empty(patched.metadata.name + "=patched")
replacement = st.create_storage_class(client.V1StorageClass(metadata=client.V1ObjectMeta(generate_name="e2e-v2-"), provisioner="e2e-fake-provisioner"))
cur = st.read_storage_class(replacement.metadata.name)
cur.metadata.labels = {replacement.metadata.name: "updated"}
updated = st.replace_storage_class(replacement.metadata.name, cur)
selector = replacement.metadata.name + "=updated"
listed = st.list_storage_class(label_selector=selector)
st.delete_collection_storage_class(label_selector=selector)
gone2 = wait_empty(selector)
print(json.dumps({"names": [created.metadata.name, replacement.metadata.name], "got": got.metadata.uid == created.metadata.uid,
  "patched": patched.metadata.labels, "rvs": [got.metadata.resource_version, patched.metadata.resource_version],
  "gone1": gone1, "updated": updated.metadata.labels, "listed": [i.metadata.name for i in listed.items], "gone2": gone2}))
"##;

scenario! {
    /// Upstream's StorageClass lifecycle: a generated name (`e2e-`), read back, a strategic-merge-patched
    /// label with a larger resourceVersion, deletion until the label list is empty; a replacement
    /// (`e2e-v2-`) updated with a new label, listed by it and removed by deletecollection.
    fn storage_class_lifecycle(server) covers [STORAGE_CLASS_LIFECYCLE] {
        let result = server.python_json(PY_STORAGE_CLASS);
        let first = result["names"][0].as_str().unwrap();
        let second = result["names"][1].as_str().unwrap();
        assert!(first.starts_with("e2e-") && first.len() == 9, "{result:#}");
        assert!(second.starts_with("e2e-v2-") && second.len() == 12, "{result:#}");
        assert_eq!(result["got"], true, "{result:#}");
        assert_eq!(result["patched"], json!({first: "patched"}), "{result:#}");
        let rv = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
        assert!(rv(&result["rvs"][1]) > rv(&result["rvs"][0]), "{result:#}");
        assert_eq!(result["gone1"], true, "{result:#}");
        assert_eq!(result["updated"], json!({second: "updated"}), "{result:#}");
        assert_eq!(result["listed"], json!([second]), "{result:#}");
        assert_eq!(result["gone2"], true, "{result:#}");
    }
}

/// VolumeAttributesClass lifecycle (storage.k8s.io/v1).
const PY_VOLUME_ATTRIBUTES_CLASS: &str = r##"
st = client.StorageV1Api()
def wait_empty(selector):
    deadline = time.time() + 30
    while time.time() < deadline:
        if not st.list_volume_attributes_class(label_selector=selector).items:
            return True
        time.sleep(0.2)
    return False
def vac(prefix):
    return client.V1VolumeAttributesClass(metadata=client.V1ObjectMeta(generate_name=prefix),
        driver_name="e2e-fake-csi-driver", parameters={"foo": "bar"})
created = st.create_volume_attributes_class(vac("e2e-"))
got = st.read_volume_attributes_class(created.metadata.name)
patched = st.patch_volume_attributes_class(got.metadata.name, {"metadata": {"labels": {got.metadata.name: "patched"}}})
deleted = st.delete_volume_attributes_class(patched.metadata.name)
gone1 = wait_empty(patched.metadata.name + "=patched")
replacement = st.create_volume_attributes_class(vac("e2e-v2-"))
cur = st.read_volume_attributes_class(replacement.metadata.name)
cur.metadata.labels = {replacement.metadata.name: "updated"}
updated = st.replace_volume_attributes_class(replacement.metadata.name, cur)
selector = replacement.metadata.name + "=updated"
listed = st.list_volume_attributes_class(label_selector=selector)
st.delete_collection_volume_attributes_class(label_selector=selector)
gone2 = wait_empty(selector)
print(json.dumps({"names": [created.metadata.name, replacement.metadata.name], "got": [got.driver_name, got.parameters],
  "patched": patched.metadata.labels, "deleted": deleted.metadata.name, "gone1": gone1, "updated": updated.metadata.labels,
  "listed": [i.metadata.name for i in listed.items], "gone2": gone2}))
"##;

scenario! {
    /// Upstream's VolumeAttributesClass lifecycle (GA in storage.k8s.io/v1): generated names, driver and
    /// parameters read back, a strategic-merge-patched label, delete (answering with the object) until
    /// the label list is empty, a replacement updated, listed by its label and deletecollected.
    fn volume_attributes_class_lifecycle(server) covers [VOLUME_ATTRIBUTES_CLASS_LIFECYCLE] {
        let result = server.python_json(PY_VOLUME_ATTRIBUTES_CLASS);
        let first = result["names"][0].as_str().unwrap();
        let second = result["names"][1].as_str().unwrap();
        assert!(first.starts_with("e2e-") && second.starts_with("e2e-v2-"), "{result:#}");
        assert_eq!(result["got"], json!(["e2e-fake-csi-driver", {"foo": "bar"}]), "{result:#}");
        assert_eq!(result["patched"], json!({first: "patched"}), "{result:#}");
        assert_eq!(result["deleted"], first, "{result:#}");
        assert_eq!(result["gone1"], true, "{result:#}");
        assert_eq!(result["updated"], json!({second: "updated"}), "{result:#}");
        assert_eq!(result["listed"], json!([second]), "{result:#}");
        assert_eq!(result["gone2"], true, "{result:#}");
    }
}

/// VolumeAttachment lifecycle and status tests.
const PY_VOLUME_ATTACHMENT: &str = r##"
import random, string
st, core = client.StorageV1Api(), client.CoreV1Api()
# The upstream test attaches to one of the cluster's nodes; this cluster has no node agent, so
# register a Node object for it to find.
core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name="node-1")))
def wait_empty(selector):
    deadline = time.time() + 30
    while time.time() < deadline:
        if not st.list_volume_attachment(label_selector=selector).items:
            return True
        time.sleep(0.2)
    return False
def new_va():
    uid = "e2e-" + "".join(random.choice(string.ascii_lowercase) for _ in range(5))
    node = random.choice(core.list_node().items).metadata.name
    va = client.V1VolumeAttachment(metadata=client.V1ObjectMeta(name="va-" + uid, uid="va-" + uid),
        spec=client.V1VolumeAttachmentSpec(attacher="e2e-test.storage.k8s.io", node_name=node,
            source=client.V1VolumeAttachmentSource(persistent_volume_name="pv-" + uid)),
        status=client.V1VolumeAttachmentStatus(attached=False))
    return st.create_volume_attachment(va)
out = {}
# Lifecycle.
first = new_va()
got = st.read_volume_attachment(first.metadata.name)
patched = st.patch_volume_attachment(got.metadata.name, {"metadata": {"labels": {got.metadata.name: "patched"}}},
                                     _content_type="application/merge-patch+json")
listed = st.list_volume_attachment(label_selector=got.metadata.name + "=patched")
deleted = st.delete_volume_attachment(first.metadata.name)
out["lifecycle"] = {"name": [first.metadata.name, got.metadata.name], "uid_is_server_set": first.metadata.uid != first.metadata.name,
  "node": first.spec.node_name, "created_status": first.status.to_dict() if first.status else None,
  "patched": patched.metadata.labels, "listed": [i.metadata.name for i in listed.items],
  "deleted": deleted.metadata.name, "gone": wait_empty(got.metadata.name + "=patched")}
updated = []
for _ in range(2):
    va = new_va()
    cur = st.read_volume_attachment(va.metadata.name)
    cur.metadata.labels = {"va-e2e": "updated"}
    updated.append(st.replace_volume_attachment(va.metadata.name, cur).metadata.labels)
before = sorted(i.metadata.name for i in st.list_volume_attachment(label_selector="va-e2e=updated").items)
st.delete_collection_volume_attachment(label_selector="va-e2e=updated")
out["collection"] = {"updated": updated, "before": len(before), "gone": wait_empty("va-e2e=updated")}
# Status.
va = new_va()
patched = st.patch_volume_attachment(va.metadata.name, {"metadata": {"labels": {va.metadata.name: "patched"}}},
                                     _content_type="application/merge-patch+json")
status_read = st.read_volume_attachment_status(va.metadata.name)
status_patched = st.patch_volume_attachment_status(va.metadata.name, {"status": {"attached": True}},
                                                   _content_type="application/merge-patch+json")
cur = st.read_volume_attachment(va.metadata.name)
cur.status.attached = False
status_updated = st.replace_volume_attachment_status(va.metadata.name, cur)
# A status write leaves the spec alone, a main-resource write leaves the status alone.
sneaky = st.patch_volume_attachment_status(va.metadata.name, {"spec": {"attacher": "other"}, "status": {"attached": True}},
                                           _content_type="application/merge-patch+json")
main = st.patch_volume_attachment(va.metadata.name, {"status": {"attached": False}}, _content_type="application/merge-patch+json")
st.delete_volume_attachment(va.metadata.name)
out["status"] = {"read": status_read.status.attached, "read_kind": status_read.kind, "patched": status_patched.status.attached,
  "updated": status_updated.status.attached, "sneaky": [sneaky.spec.attacher, sneaky.status.attached],
  "main": main.status.attached, "gone": wait_empty(va.metadata.name + "=patched")}
print(json.dumps(out))
"##;

scenario! {
    /// Upstream's two VolumeAttachment tests. Lifecycle: attachments on a listed node (a Node object
    /// stands in for the cluster's nodes) are created (the server sets the UID, and `status.attached`
    /// reads back false), read, merge-patched with a label, listed by it and deleted; two more are
    /// updated with a shared label and removed with deletecollection. Status: `status` reads back
    /// `attached: false`, a merge patch of `status` sets it, a PUT of `status` clears it; the status
    /// subresource ignores spec changes and the main resource ignores status changes.
    fn volume_attachment(server) covers [VOLUME_ATTACHMENT_LIFECYCLE, VOLUME_ATTACHMENT_STATUS] {
        let result = server.python_json(PY_VOLUME_ATTACHMENT);
        let lifecycle = &result["lifecycle"];
        let name = lifecycle["name"][0].as_str().unwrap();
        assert_eq!(lifecycle["name"][1], name, "{result:#}");
        assert_eq!(lifecycle["uid_is_server_set"], true, "{result:#}");
        assert_eq!(lifecycle["node"], "node-1", "{result:#}");
        assert_eq!(lifecycle["created_status"]["attached"], false, "{result:#}");
        assert_eq!(lifecycle["patched"], json!({name: "patched"}), "{result:#}");
        assert_eq!(lifecycle["listed"], json!([name]), "{result:#}");
        assert_eq!(lifecycle["deleted"], name, "{result:#}");
        assert_eq!(lifecycle["gone"], true, "{result:#}");
        assert_eq!(
            result["collection"],
            json!({"updated": [{"va-e2e": "updated"}, {"va-e2e": "updated"}], "before": 2, "gone": true}),
            "{result:#}"
        );
        assert_eq!(
            result["status"],
            json!({"read": false, "read_kind": "VolumeAttachment", "patched": true, "updated": false,
                   "sneaky": ["e2e-test.storage.k8s.io", true], "main": true, "gone": true}),
            "{result:#}"
        );
    }
}

/// Upstream's generic CRUD walk (`e2econformance.TestResource`) with the dynamic client: informer-like
/// label-selected watches (all namespaces, and the namespace) checked after every step; create with
/// strict field validation, get, update, status update and read, recreate-and-patch with each patch
/// type (spec and status), list (also across namespaces), deletecollection.
const PY_DRA_CRUD: &str = r##"
import re
class Abort(Exception):
    pass
from kubernetes import dynamic
dyn = dynamic.DynamicClient(client.ApiClient())
NS, UNIQUE = "scn", "dra-1234"
LABEL = "e2e-test.kubernetes.io"
def crud(gv, plural, kind, namespaced, initial, update_spec, update_status, spec_patches, status_patches):
    problems = []
    def check(cond, what):
        if not cond:
            problems.append(what)
    group, version = gv.split("/")
    check(plural in [r["name"] for r in raw("GET", "/apis/" + gv)[2]["resources"]], "%s not in /apis/%s" % (plural, gv))
    res = dyn.resources.get(api_version=gv, kind=kind)
    ns = NS if namespaced else None
    name = "test" if namespaced else "test-" + NS
    base = "/apis/%s/%s%s" % (gv, "namespaces/%s/" % NS if namespaced else "", plural)
    desired = json.loads(json.dumps(initial))
    desired.update({"apiVersion": gv, "kind": kind})
    desired["metadata"] = {"name": name, "labels": {LABEL: UNIQUE}}
    if namespaced:
        desired["metadata"]["namespace"] = NS
    selector = "%s=%s" % (LABEL, UNIQUE)
    # Informer-like watchers: all namespaces, and the namespace for namespaced resources.
    lock, streams = threading.Lock(), {}
    def informer(key, namespace):
        lst = res.get(namespace=namespace, label_selector=selector)
        check(lst.items == [], "%s: initial list not empty" % key)
        streams[key] = []
        for ev in res.watch(namespace=namespace, label_selector=selector, resource_version=lst.metadata.resourceVersion, timeout=90):
            o = ev["object"]
            with lock:
                streams[key].append({"type": ev["type"], "name": o.metadata.name, "ns": o.metadata.namespace,
                                     "uid": o.metadata.uid, "rv": int(o.metadata.resourceVersion)})
    keys = ["resource"] + (["namespace"] if namespaced else [])
    for key in keys:
        threading.Thread(target=informer, args=(key, NS if key == "namespace" else None), daemon=True).start()
    deadline = time.time() + 10
    while len(streams) < len(keys) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    last_rv = {k: 0 for k in keys}
    def events(step, pattern, uid):
        # Wait for the informers' events to match `pattern` (upstream's regexp over "add,update,...").
        names = {"ADDED": "add", "MODIFIED": "update", "DELETED": "delete"}
        for key in keys:
            deadline, got = time.time() + 5, None
            while time.time() < deadline:
                with lock:
                    evs = list(streams[key])
                got = "".join(names[e["type"]] + "," for e in evs)
                if re.match(pattern, got):
                    break
                time.sleep(0.05)
            check(re.match(pattern, got or ""), "%s: %s informer saw %r, want %s" % (step, key, got, pattern))
            with lock:
                del streams[key][:len(evs)]
            for e in evs:
                check(e["name"] == name and e["ns"] == ns and e["uid"] == uid, "%s: event for another object %s" % (step, e))
                check(e["rv"] >= last_rv[key] or e["type"] == "DELETED", "%s: resourceVersion went back %s" % (step, e))
                last_rv[key] = e["rv"]
    def returned(step, obj):
        if obj.get("kind") == "Status":
            check(False, "%s: %s" % (step, obj))
            raise Abort()
        check(obj["metadata"]["name"] == name and obj["metadata"].get("namespace") == ns, "%s: returned %s" % (step, obj["metadata"]))
        check(int(obj["metadata"]["resourceVersion"]) > 0, "%s: resourceVersion %s" % (step, obj["metadata"].get("resourceVersion")))
    def write(method, path, body, step, content_type="application/json", expect=(200, 201)):
        status, _, obj = raw(method, path, body=body, content_type=content_type)
        check(status in expect, "%s: HTTP %s %s" % (step, status, obj))
        return obj
    def get(sub=""):
        return res.get(name=name, namespace=ns).to_dict() if not sub else raw("GET", "%s/%s/%s" % (base, name, sub))[2]
    def not_found(step):
        status = raw("GET", "%s/%s" % (base, name))[0]
        check(status == 404, "%s: GET after delete is %s" % (step, status))
    def update(obj, fn, step, sub=""):
        new = fn(json.loads(json.dumps(obj)))
        return write("PUT", "%s/%s%s" % (base, name, "/" + sub if sub else ""), new, step)
    def patch(kind_, data, existing, step, sub=""):
        types = {"smp": "application/strategic-merge-patch+json", "merge": "application/merge-patch+json",
                 "json": "application/json-patch+json", "apply": "application/apply-patch+yaml"}
        body = json.loads(data)
        if kind_ != "json":
            body.setdefault("metadata", {}).update({"name": name, "uid": existing["metadata"]["uid"]})
            if namespaced:
                body["metadata"]["namespace"] = NS
            body.update({"apiVersion": gv, "kind": kind})
        query = "?fieldValidation=Strict" + ("&fieldManager=test-apply&force=true" if kind_ == "apply" else "")
        return write("PATCH", "%s/%s%s%s" % (base, name, "/" + sub if sub else "", query), body, step, types[kind_])
    def steps():
        created = write("POST", base + "?fieldValidation=Strict", desired, "create")
        returned("create", created)
        events("create", r"^add,(update,)*$", created["metadata"]["uid"])
        got = get()
        returned("get", got)
        events("get", r"^(update,)*$", got["metadata"]["uid"])
        updated = update(got, update_spec, "update")
        returned("update", updated)
        events("update", r"^(update,)+$", got["metadata"]["uid"])
        check(int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"]), "update did not raise resourceVersion")
        existing = updated
        if update_status:
            existing = update(existing, update_status, "update status", "status")
            returned("update status", existing)
            events("update status", r"^(update,)+$", got["metadata"]["uid"])
            existing = get("status")
            returned("get status", existing)
            check(existing.get("status") == update_status({})["status"], "status read back: %s" % existing.get("status"))
        for kind_, data in spec_patches:
            res.delete(name=name, namespace=ns)
            not_found("delete before %s patch" % kind_)
            events("delete", r"^(update,)*delete,$", existing["metadata"]["uid"])
            existing = write("POST", base, desired, "create again")
            existing = patch(kind_, data, existing, "patch " + kind_)
            returned("patch " + kind_, existing)
            events("patch " + kind_, r"^add,(update,)+$", existing["metadata"]["uid"])
            check(existing["metadata"]["labels"] == update_spec(json.loads(json.dumps(desired)))["metadata"]["labels"]
                  and existing.get("spec") == update_spec(json.loads(json.dumps(existing)))["spec"],
                  "patch %s: result %s" % (kind_, existing))
        for kind_, data in status_patches:
            res.delete(name=name, namespace=ns)
            not_found("delete before %s status patch" % kind_)
            events("delete", r"^(update,)*delete,$", existing["metadata"]["uid"])
            existing = write("POST", base, desired, "create again")
            existing = update(existing, update_spec, "update again")
            existing = patch(kind_, data, existing, "patch status " + kind_, "status")
            returned("patch status " + kind_, existing)
            events("patch status " + kind_, r"^add,(update,)+$", existing["metadata"]["uid"])
            check(existing.get("status") == update_status({})["status"], "patch status %s: %s" % (kind_, existing.get("status")))
        items = res.get(namespace=ns, label_selector=selector).items
        check([i.metadata.name for i in items] == [name], "list: %s" % [i.metadata.name for i in items])
        if namespaced:
            items = res.get(label_selector=selector).items
            check([i.metadata.name for i in items] == [name], "list all namespaces: %s" % [i.metadata.name for i in items])
        events("list", r"^(update,)*$", existing["metadata"]["uid"])
        res.delete(namespace=ns, label_selector=selector)
        not_found("deletecollection")
        events("deletecollection", r"^(update,)*delete,$", existing["metadata"]["uid"])
    try:
        steps()
    except Abort:
        pass
    return problems
def add_label(o):
    o["metadata"].setdefault("labels", {})["test.dra.example.com"] = "test"
    return o
label_patch = '{"metadata": {"labels": {"test.dra.example.com": "test"}}}'
"##;

/// The four resource.k8s.io/v1 cases of upstream's DRA CRUD tests.
const PY_DRA_CASES: &str = r##"
def device_class_update(o):
    o["spec"]["selectors"][0]["cel"]["expression"] = "1 == 0"
    return o
def slice_update(o):
    o["spec"]["devices"] = [{"name": "device-0"}]
    return o
claim_spec = {"devices": {"requests": [{"name": "req-0", "exactly": {"deviceClassName": "dra.example.com"}}]}}
def allocation(o):
    o["status"] = {"allocation": {}}
    return o
result = {
  "DeviceClass": crud("resource.k8s.io/v1", "deviceclasses", "DeviceClass", False,
      {"spec": {"selectors": [{"cel": {"expression": "false"}}]}}, device_class_update, None,
      [("smp", '{"spec": {"selectors": [{"cel": {"expression": "1 == 0"}}]}}')], []),
  "ResourceClaim": crud("resource.k8s.io/v1", "resourceclaims", "ResourceClaim", True,
      {"spec": claim_spec}, add_label, allocation,
      [("smp", label_patch), ("apply", label_patch), ("merge", label_patch),
       ("json", '[{"op": "add", "path": "/metadata/labels/test.dra.example.com", "value": "test"}]')],
      [("smp", '{"status": {"allocation": {}}}'), ("apply", '{"status": {"allocation": {}}}'), ("merge", '{"status": {"allocation": {}}}'),
       ("json", '[{"op": "add", "path": "/status/allocation", "value": {}}]')]),
  "ResourceClaimTemplate": crud("resource.k8s.io/v1", "resourceclaimtemplates", "ResourceClaimTemplate", True,
      {"spec": {"spec": claim_spec}}, add_label, None, [("smp", label_patch)], []),
  "ResourceSlice": crud("resource.k8s.io/v1", "resourceslices", "ResourceSlice", False,
      {"spec": {"driver": "dra.example.com", "pool": {"name": "cluster", "generation": 1, "resourceSliceCount": 1}, "nodeName": "no-such-node"}},
      slice_update, None, [("smp", '{"spec": {"devices": [{"name": "device-0"}]}}')], []),
}
print(json.dumps(result))
"##;

scenario! {
    /// Upstream's DRA CRUD tests on resource.k8s.io/v1 DeviceClass, ResourceClaim (every patch type on
    /// the spec and on `status`, whose `allocation` starts from the `status: {}` every claim reads back
    /// with), ResourceClaimTemplate and ResourceSlice: each step's result names the object with a valid
    /// resourceVersion, and the watches see exactly the add/update/delete events upstream's informers
    /// expect, in resourceVersion order.
    fn dra_crud(server) covers [DRA_DEVICE_CLASS_CRUD, DRA_RESOURCE_CLAIM_CRUD, DRA_RESOURCE_CLAIM_TEMPLATE_CRUD, DRA_RESOURCE_SLICE_CRUD] {
        create_namespace(server, "scn");
        let result = server.python_json(&format!("{PY_DRA_CRUD}\n{PY_DRA_CASES}"));
        for kind in ["DeviceClass", "ResourceClaim", "ResourceClaimTemplate", "ResourceSlice"] {
            assert_eq!(result[kind], json!([]), "{kind}: {result:#}");
        }
    }
}

/// The shared part of upstream's ValidatingAdmissionPolicy(Binding) API tests: discovery, three
/// creates with a generated name, get, list, a watch from the list's resourceVersion, merge patch
/// and update of an annotation and the spec.
const PY_VAP_COMMON: &str = r##"
import random, string, datetime
ar = client.AdmissionregistrationV1Api()
def discovery(plural, sub):
    groups = raw("GET", "/apis")[2]["groups"]
    group = raw("GET", "/apis/admissionregistration.k8s.io")[2]
    names = [r["name"] for r in raw("GET", "/apis/admissionregistration.k8s.io/v1")[2]["resources"]]
    return {"apis": any(g["name"] == "admissionregistration.k8s.io" and any(v["version"] == "v1" for v in g["versions"]) for g in groups),
            "group": any(v["version"] == "v1" for v in group["versions"]),
            "resources": [n for n in [plural] + sub if n in names]}
def walk(kind, create, read, lst, watch_list, patch, replace, delete, delete_collection, body, patch_spec, update_spec, spec_of):
    key = "example-e2e-%s-label" % kind
    value = "".join(random.choice(string.ascii_lowercase) for _ in range(8))
    label = key + "=" + value
    body.metadata.labels = {key: value}
    create(body); create(body)
    created = create(body)
    got = read(created.metadata.name)
    listed = lst(label_selector=label)
    seen = []
    def watcher():
        for ev in watch.Watch().stream(watch_list, label_selector=label, resource_version=listed.metadata.resource_version, timeout_seconds=20):
            seen.append([ev["type"], dict(ev["object"].metadata.annotations or {})])
            if (ev["object"].metadata.annotations or {}).get("patched") == "true":
                return
    t = threading.Thread(target=watcher); t.start()
    patched = patch(created.metadata.name, {"metadata": {"annotations": {"patched": "true"}}, "spec": patch_spec},
                    _content_type="application/merge-patch+json")
    cur = read(created.metadata.name)
    cur.metadata.annotations["updated"] = "true"
    update_spec(cur)
    updated = replace(created.metadata.name, cur)
    t.join(25)
    out = {"names": [n.startswith("e2e-example-%s-" % kind) for n in [created.metadata.name]], "uid": got.metadata.uid == created.metadata.uid,
           "listed": len(listed.items), "patched": [patched.metadata.annotations, spec_of(patched)],
           "updated": [updated.metadata.annotations, spec_of(updated)], "watch": seen[:1]}
    return out, created, label
"##;

/// ValidatingAdmissionPolicy API operations, with the status subresource.
const PY_VAP: &str = r##"
disc = discovery("validatingadmissionpolicies", ["validatingadmissionpolicies/status"])
body = client.V1ValidatingAdmissionPolicy(metadata=client.V1ObjectMeta(generate_name="e2e-example-vap-"),
    spec=client.V1ValidatingAdmissionPolicySpec(validations=[client.V1Validation(expression="object.spec.replicas <= 100")],
        match_constraints=client.V1MatchResources(resource_rules=[client.V1NamedRuleWithOperations(
            operations=["CREATE"], api_groups=["apps"], api_versions=["v1"], resources=["deployments"])])))
def fail(o): o.spec.failure_policy = "Fail"
out, created, label = walk("vap", ar.create_validating_admission_policy, ar.read_validating_admission_policy,
    ar.list_validating_admission_policy, ar.list_validating_admission_policy, ar.patch_validating_admission_policy,
    ar.replace_validating_admission_policy, None, None, body, {"failurePolicy": "Ignore"}, fail, lambda o: o.spec.failure_policy)
name = created.metadata.name
status_read = ar.read_validating_admission_policy_status(name)
status_patched = ar.patch_validating_admission_policy_status(name, {"status": {"conditions": [{"type": "PatchStatusFailed", "status": "False",
    "reason": "e2e", "message": "Set from an e2e test", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}},
    _content_type="application/merge-patch+json")
cur = ar.read_validating_admission_policy(name)
cur.status.conditions.append(client.V1Condition(type="StatusUpdateFailed", status="False", reason="E2E", message="Set from an e2e test",
    last_transition_time=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)))
status_updated = ar.replace_validating_admission_policy_status(name, cur)
ar.delete_validating_admission_policy(name)
try:
    ar.read_validating_admission_policy(name); after = 200
except ApiException as e:
    after = e.status
left = len([i for i in ar.list_validating_admission_policy(label_selector=label).items if not i.metadata.finalizers])
ar.delete_collection_validating_admission_policy(label_selector=label)
final = len(ar.list_validating_admission_policy(label_selector=label).items)
out.update({"discovery": disc, "status_read": [status_read.api_version, status_read.kind, status_read.metadata.uid == created.metadata.uid],
  "status_patched": [c.type for c in status_patched.status.conditions], "status_updated": [c.type for c in status_updated.status.conditions],
  "after_delete": after, "left": left, "final": final})
print(json.dumps(out))
"##;

/// ValidatingAdmissionPolicyBinding API operations.
const PY_VAP_BINDING: &str = r##"
disc = discovery("validatingadmissionpolicybindings", [])
body = client.V1ValidatingAdmissionPolicyBinding(metadata=client.V1ObjectMeta(generate_name="e2e-example-vapb-"),
    spec=client.V1ValidatingAdmissionPolicyBindingSpec(policy_name="replicalimit-policy.example.com", validation_actions=["Deny"]))
def deny(o): o.spec.validation_actions = ["Deny"]
out, created, label = walk("vapb", ar.create_validating_admission_policy_binding, ar.read_validating_admission_policy_binding,
    ar.list_validating_admission_policy_binding, ar.list_validating_admission_policy_binding, ar.patch_validating_admission_policy_binding,
    ar.replace_validating_admission_policy_binding, None, None, body, {"validationActions": ["Warn"]}, deny, lambda o: o.spec.validation_actions)
name = created.metadata.name
ar.delete_validating_admission_policy_binding(name)
try:
    ar.read_validating_admission_policy_binding(name); after = 200
except ApiException as e:
    after = e.status
left = len([i for i in ar.list_validating_admission_policy_binding(label_selector=label).items if not i.metadata.finalizers])
ar.delete_collection_validating_admission_policy_binding(label_selector=label)
final = len(ar.list_validating_admission_policy_binding(label_selector=label).items)
out.update({"discovery": disc, "after_delete": after, "left": left, "final": final})
print(json.dumps(out))
"##;

scenario! {
    /// Upstream's ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding API tests: the group,
    /// version and resources (and `validatingadmissionpolicies/status`) in discovery; three creates from
    /// one generated-name template, get by UID, list by label, a watch from the list's resourceVersion
    /// whose first event is the patch (MODIFIED), merge patch and update of annotations and the spec
    /// (failurePolicy, validationActions); the policy's `status` read, merge-patched and updated with
    /// conditions; delete (404 after), two left, deletecollection leaves none.
    fn validating_admission_policy_api(server) covers [VAP_API, VAP_BINDING_API] {
        for (script, kind) in [(PY_VAP, "vap"), (PY_VAP_BINDING, "vapb")] {
            let result = server.python_json(&format!("{PY_VAP_COMMON}\n{script}"));
            assert_eq!(result["discovery"]["apis"], true, "{kind}: {result:#}");
            assert_eq!(result["discovery"]["group"], true, "{kind}: {result:#}");
            assert_eq!(result["names"], json!([true]), "{kind}: {result:#}");
            assert_eq!(result["uid"], true, "{kind}: {result:#}");
            assert_eq!(result["listed"], 3, "{kind}: {result:#}");
            assert_eq!(result["patched"][0], json!({"patched": "true"}), "{kind}: {result:#}");
            assert_eq!(result["updated"][0], json!({"patched": "true", "updated": "true"}), "{kind}: {result:#}");
            assert_eq!(result["watch"], json!([["MODIFIED", {"patched": "true"}]]), "{kind}: {result:#}");
            assert_eq!(result["after_delete"], 404, "{kind}: {result:#}");
            assert_eq!(result["left"], 2, "{kind}: {result:#}");
            assert_eq!(result["final"], 0, "{kind}: {result:#}");
            if kind == "vap" {
                assert_eq!(
                    result["discovery"]["resources"],
                    json!(["validatingadmissionpolicies", "validatingadmissionpolicies/status"]),
                    "{result:#}"
                );
                assert_eq!(result["patched"][1], "Ignore", "{result:#}");
                assert_eq!(result["updated"][1], "Fail", "{result:#}");
                assert_eq!(
                    result["status_read"],
                    json!(["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", true]),
                    "{result:#}"
                );
                assert_eq!(result["status_patched"], json!(["PatchStatusFailed"]), "{result:#}");
                assert_eq!(
                    result["status_updated"],
                    json!(["PatchStatusFailed", "StatusUpdateFailed"]),
                    "{result:#}"
                );
            } else {
                assert_eq!(result["discovery"]["resources"], json!(["validatingadmissionpolicybindings"]), "{result:#}");
                assert_eq!(result["patched"][1], json!(["Warn"]), "{result:#}");
                assert_eq!(result["updated"][1], json!(["Deny"]), "{result:#}");
            }
        }
    }
}

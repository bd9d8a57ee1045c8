#!/usr/bin/env python3
"""Generate apiserver/protobuf/src/schema_generated.rs: the protobuf schema of Kubernetes' built-in types.

The transcoder in the `tugboat-protobuf` crate is table-driven; this script writes the table. It reads two
crates that cargo already keeps in its registry (no network, not run at build time):

* k8s-pb (prost types generated from upstream's generated.proto files): every message, its fields, their
  tag numbers, wire types and the message each field refers to, and the (apiVersion, kind) of resources.
  Its doc comments carry upstream's merge markers (`+patchStrategy`, `+patchMergeKey`, `+listType`,
  `+listMapKey`, `+mapType`, `+structType`), which become the table's merge metadata (`MERGE`,
  `STRUCT_TYPES`): strategic merge patch, server-side apply and the OpenAPI extensions read them.
* k8s-openapi (feature v1_37): the same types with the exact JSON names (its hand-rolled serde impls
  spell them, e.g. "volumeID", "$ref", "x-kubernetes-int-or-string"), which of them are required, and
  which fields exist in Kubernetes v1.37 (so we can report what k8s-pb lacks).

Messages are matched by module path and case-insensitive type name, fields by their name with case and
punctuation removed ("volume_id" ~ "volumeID", "r#ref" ~ "$ref"). A field of a message type that has no
JSON name but whose message's fields all appear in the parent's JSON is an embedded (`json:",inline"`)
struct. Whatever cannot be resolved is printed, and the hand-kept tables below can fix it.

Re-run it when upgrading Kubernetes (after bumping k8s-pb / k8s-openapi and `cargo fetch`):

    python3 hack/gen-protobuf-schema.py [--k8s-pb DIR] [--k8s-openapi DIR] [--version v1_37]
    rustfmt --edition 2024 apiserver/protobuf/src/schema_generated.rs
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "apiserver", "protobuf", "src", "schema_generated.rs")

# Modules of k8s-pb that are not served by kube-apiserver itself.
SKIP_MODULES = ("metrics/", "apimachinery/pkg/apis/testapigroup/")

# Messages with a special JSON form (the transcoder knows their fields), by full protobuf name.
SPECIAL = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "FieldsV1",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Verbs": "StringArray",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "RawExtension",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": "Quantity",
}
for _v in ("v1", "v1beta1"):
    _p = f"k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.{_v}."
    SPECIAL[_p + "JSON"] = "Json"
    SPECIAL[_p + "JSONSchemaPropsOrBool"] = "JsonSchemaPropsOrBool"
    SPECIAL[_p + "JSONSchemaPropsOrArray"] = "JsonSchemaPropsOrArray"
    SPECIAL[_p + "JSONSchemaPropsOrStringArray"] = "JsonSchemaPropsOrStringArray"

# Go fields that are values (not pointers) with `omitempty`: encoding/json leaves them out when zero, but
# Go's protobuf marshaller always writes them, so a zero on the wire means "unset" for these only. For
# every other optional scalar a zero on the wire is kept (it may be a pointer set to zero, e.g.
# `replicas: 0`, `runAsUser: 0`). Keyed "<proto message name>.<json name>". Only list a field whose Go
# type is known not to be a pointer: listing a pointer here would drop meaningful zeros.
OMIT_EMPTY = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta": [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    ],
    "k8s.io.apimachinery.pkg.apis.meta.v1.ListMeta": ["selfLink", "resourceVersion", "continue"],
    "k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry": [
        "manager", "operation", "apiVersion", "fieldsType", "subresource",
    ],
    "k8s.io.apimachinery.pkg.apis.meta.v1.Status": ["status", "message", "reason", "code"],
    "k8s.io.apimachinery.pkg.apis.meta.v1.StatusDetails": ["name", "group", "kind", "uid", "retryAfterSeconds"],
    "k8s.io.apimachinery.pkg.apis.meta.v1.StatusCause": ["reason", "message", "field"],
    "k8s.io.apimachinery.pkg.apis.meta.v1.Condition": ["observedGeneration"],
    "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement": [],
    "k8s.io.api.core.v1.Container": [
        "image", "workingDir", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
        "stdin", "stdinOnce", "tty",
    ],
    "k8s.io.api.core.v1.ContainerPort": ["name", "hostPort", "hostIP", "protocol"],
    "k8s.io.api.core.v1.VolumeMount": ["readOnly", "subPath", "subPathExpr"],
    "k8s.io.api.core.v1.EnvVar": ["value"],
    "k8s.io.api.core.v1.PodSpec": [
        "restartPolicy", "dnsPolicy", "serviceAccountName", "serviceAccount", "nodeName", "hostNetwork",
        "hostPID", "hostIPC", "hostname", "subdomain", "schedulerName", "priorityClassName",
    ],
    "k8s.io.api.core.v1.PodStatus": ["phase", "message", "reason", "nominatedNodeName", "hostIP", "podIP", "qosClass"],
    "k8s.io.api.core.v1.Probe": [
        "initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold",
    ],
    "k8s.io.api.core.v1.HTTPGetAction": ["path", "host", "scheme"],
    "k8s.io.api.core.v1.ServicePort": ["name", "protocol", "nodePort"],
    "k8s.io.api.core.v1.ServiceSpec": [
        "type", "clusterIP", "externalName", "externalTrafficPolicy", "loadBalancerIP", "sessionAffinity",
        "healthCheckNodePort", "publishNotReadyAddresses",
    ],
    "k8s.io.api.core.v1.Secret": ["type"],
    "k8s.io.api.core.v1.NamespaceStatus": ["phase"],
    "k8s.io.api.apps.v1.DeploymentSpec": ["minReadySeconds", "paused"],
    "k8s.io.api.apps.v1.DeploymentStatus": [
        "observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
        "unavailableReplicas",
    ],
    "k8s.io.api.apps.v1.ReplicaSetStatus": [
        "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration",
    ],
}

# JSON names for fields of messages that k8s-openapi does not have (lists, option types, ...), where
# lowerCamelCase of the snake_case name would be wrong. Keyed "<proto message name>.<snake name>".
JSON_NAME_OVERRIDES: dict[str, str] = {
    "k8s.io.api.core.v1.PodLogOptions.insecure_skip_tls_verify_backend": "insecureSkipTLSVerifyBackend",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.ConversionRequest.desired_api_version": "desiredAPIVersion",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.ConversionRequest.desired_api_version": "desiredAPIVersion",
}

# Fields that Kubernetes v1.37 has and k8s-pb lacks, added by hand: "<proto message name>": [(tag,
# json name, label, type)], label one of "single", "repeated", "map"; type a scalar ("string", "int32",
# "int64", "bool", "double", "bytes") or a full message name. Take tags from upstream's generated.proto.
FIELD_ADDITIONS: dict[str, list[tuple[int, str, str, str]]] = {}

# (apiVersion, kind) of top-level objects that k8s-pb does not mark as resources.
META = "k8s.io.apimachinery.pkg.apis.meta.v1."
EXTRA_KINDS = [
    ("v1", "Status", META + "Status"),
    ("v1", "APIVersions", META + "APIVersions"),
    ("v1", "APIGroupList", META + "APIGroupList"),
    ("v1", "APIGroup", META + "APIGroup"),
    ("v1", "APIResourceList", META + "APIResourceList"),
    ("v1", "List", "k8s.io.api.core.v1.List"),
    ("meta.k8s.io/v1", "Status", META + "Status"),
    ("meta.k8s.io/v1", "WatchEvent", META + "WatchEvent"),
    ("meta.k8s.io/v1", "PartialObjectMetadata", META + "PartialObjectMetadata"),
    ("meta.k8s.io/v1", "PartialObjectMetadataList", META + "PartialObjectMetadataList"),
    ("meta.k8s.io/v1beta1", "PartialObjectMetadata", META + "PartialObjectMetadata"),
    ("meta.k8s.io/v1beta1", "PartialObjectMetadataList", "k8s.io.apimachinery.pkg.apis.meta.v1beta1.PartialObjectMetadataList"),
    ("apidiscovery.k8s.io/v2", "APIGroupDiscoveryList", "k8s.io.api.apidiscovery.v2.APIGroupDiscoveryList"),
    ("apidiscovery.k8s.io/v2", "APIGroupDiscovery", "k8s.io.api.apidiscovery.v2.APIGroupDiscovery"),
    ("apidiscovery.k8s.io/v2beta1", "APIGroupDiscoveryList", "k8s.io.api.apidiscovery.v2beta1.APIGroupDiscoveryList"),
    ("apidiscovery.k8s.io/v2beta1", "APIGroupDiscovery", "k8s.io.api.apidiscovery.v2beta1.APIGroupDiscovery"),
    # The body of the scale subresource of deployments, replica sets, stateful sets and RCs.
    ("autoscaling/v1", "Scale", "k8s.io.api.autoscaling.v1.Scale"),
]
# metav1.AddToGroupVersion registers these in every group version (client-go sends DeleteOptions bodies
# with the group version of the client), and under meta.k8s.io/v1.
OPTION_KINDS = ["DeleteOptions", "ListOptions", "GetOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "WatchEvent"]

SCALARS = {"string", "int32", "int64", "bool", "double", "bytes"}


@dataclass
class PbField:
    snake: str
    tag: int
    label: str  # single | repeated | map
    ty: str  # scalar name or full message name
    json: str | None = None
    inline: bool = False
    # Merge markers from the field's doc comment: {"patchStrategy": "merge,retainKeys", "listMapKey": [...], ...}.
    merge: dict = field(default_factory=dict)


@dataclass
class PbMessage:
    full: str  # k8s.io.api.core.v1.Pod (with k8s-pb's casing until matched)
    module: str  # api/core/v1
    name: str
    fields: list[PbField] = field(default_factory=list)
    proto_name: str = ""  # upstream spelling, from k8s-openapi when matched
    struct_type: str | None = None  # `+structType=` on the message (Go type)


@dataclass
class OaStruct:
    name: str
    json_names: list[str]
    required: set[str]


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower().replace("r#", ""))


def camel(snake: str) -> str:
    s = snake.replace("r#", "")
    parts = s.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def find_crate(pattern: str) -> str:
    hits = sorted(glob.glob(os.path.expanduser(f"~/.cargo/registry/src/*/{pattern}")))
    if not hits:
        sys.exit(f"cannot find {pattern} under ~/.cargo/registry/src: run `cargo fetch` in a project that depends on it")
    return hits[-1]


PROST_RE = re.compile(r"#\[prost\((.*)\)\]")
# Merge markers in doc comments. `+k8s:listType` and friends are declarative-validation tags, not the
# OpenAPI/patch metadata, and do not match.
MARKER_RE = re.compile(r"^\s*///\s*\+(patchStrategy|patchMergeKey|listType|listMapKey|mapType|structType)=(\S+)\s*$")


def parse_markers(doc: list[str]) -> dict:
    """The merge markers in a doc comment; `listMapKey` may repeat (composite keys), in order."""
    out: dict = {}
    for line in doc:
        m = MARKER_RE.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if key == "listMapKey":
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out
FIELD_RE = re.compile(r"^\s*pub (r#)?([a-z0-9_]+):\s*(.*)$")


def resolve_type(module: str, rust_ty: str) -> str:
    """Map a prost Rust path (relative to `module`) to a full message name."""
    ty = re.sub(r",\s*>", ">", rust_ty.strip()).rstrip(",")
    for wrap in ("::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<"):
        while ty.startswith(wrap):
            ty = ty[len(wrap):-1]
    if ty.startswith("::prost::alloc::collections::BTreeMap<"):
        inner = ty[len("::prost::alloc::collections::BTreeMap<"):-1]
        ty = inner.split(",", 1)[1].strip()
        for wrap in ("::prost::alloc::boxed::Box<",):
            if ty.startswith(wrap):
                ty = ty[len(wrap):-1]
    parts = module.split("/")
    segs = ty.split("::")
    while segs and segs[0] == "super":
        parts = parts[:-1]
        segs = segs[1:]
    return "k8s.io." + ".".join(parts + segs)


def parse_pb(root: str) -> tuple[dict[str, PbMessage], list[tuple[str, str, str]]]:
    messages: dict[str, PbMessage] = {}
    resources: list[tuple[str, str, str]] = []
    src = os.path.join(root, "src")
    for path in sorted(glob.glob(os.path.join(src, "**", "mod.rs"), recursive=True)):
        module = os.path.relpath(os.path.dirname(path), src).replace(os.sep, "/")
        if any(module.startswith(m.rstrip("/")) for m in SKIP_MODULES):
            continue
        text = open(path, encoding="utf-8").read()
        lines = text.split("\n")
        cur: PbMessage | None = None
        pending: str | None = None
        doc: list[str] = []  # the doc comment above the next struct or field
        i = 0
        while i < len(lines):
            line = lines[i]
            m = re.match(r"^pub struct (\w+) \{(\})?", line)
            if m:
                name = m.group(1)
                msg = PbMessage(full=f"k8s.io.{module.replace('/', '.')}.{name}", module=module, name=name)
                msg.struct_type = parse_markers(doc).get("structType")
                messages[msg.full.lower()] = msg
                cur = None if m.group(2) else msg
                doc = []
            elif line.lstrip().startswith("///"):
                doc.append(line)
            elif line.lstrip().startswith("#["):
                # Attributes sit between a doc comment and its item: keep the comment.
                pm = PROST_RE.search(line) if cur is not None else None
                if pm:
                    pending = pm.group(1)
            elif line.startswith("}"):
                cur = None
                doc = []
            elif cur is not None:
                fm = FIELD_RE.match(line)
                if fm and pending is not None:
                    rust_ty = fm.group(3)
                    while not rust_ty.rstrip().endswith(",") or rust_ty.count("<") != rust_ty.count(">"):
                        i += 1
                        rust_ty += lines[i].strip()
                    f = make_field(module, fm.group(2), pending, rust_ty)
                    f.merge = parse_markers(doc)
                    cur.fields.append(f)
                    pending = None
                doc = []
            else:
                doc = []
            i += 1
        for m in re.finditer(
            r'impl crate::Resource for (\w+) \{\s*const API_VERSION: &\'static str = "([^"]*)";'
            r'.*?const KIND: &\'static str = "([^"]*)";',
            text,
            re.S,
        ):
            full = f"k8s.io.{module.replace('/', '.')}.{m.group(1)}"
            resources.append((m.group(2), m.group(3), full))
    return messages, resources


def make_field(module: str, snake: str, attr: str, rust_ty: str) -> PbField:
    tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
    mm = re.match(r'btree_map = "string, (\w+)"', attr)
    if mm:
        vt = mm.group(1)
        ty = vt if vt in SCALARS else resolve_type(module, rust_ty)
        return PbField(snake, tag, "map", ty)
    if attr.startswith('bytes = "vec"'):
        base = "bytes"
    else:
        base = attr.split(",", 1)[0].strip()
    label = "repeated" if ", repeated" in attr else "single"
    if base == "message":
        ty = resolve_type(module, rust_ty)
    elif base in SCALARS:
        ty = base
    else:
        raise SystemExit(f"unsupported prost attribute in {module}: {attr}")
    return PbField(snake, tag, label, ty)


def parse_openapi(root: str, version: str) -> dict[str, OaStruct]:
    """Structs of k8s-openapi by lower-cased full protobuf-style name."""
    out: dict[str, OaStruct] = {}
    base = os.path.join(root, "src", version)
    for path in sorted(glob.glob(os.path.join(base, "**", "*.rs"), recursive=True)):
        text = open(path, encoding="utf-8").read()
        hm = re.match(r"// Generated from definition ([\w.\-]+)\.(\w+)", text)
        if not hm:
            continue
        pkg, name = hm.group(1), hm.group(2)
        # io.k8s.api.core.v1 -> k8s.io.api.core.v1; dashes become underscores as in go-to-protobuf.
        pkg = "k8s.io." + pkg[len("io.k8s."):].replace("-", "_")
        sm = re.search(r"pub struct (\w+) \{(.*?)\n\}", text, re.S)
        if not sm:
            continue
        required = set()
        for fm in re.finditer(r"^    pub (r#)?(\w+): (.*),$", sm.group(2), re.M):
            if not fm.group(3).startswith("Option<"):
                required.add(fm.group(2))
        names = re.findall(r'^\s*"([^"]+)" => Field::Key_(\w+),', text, re.M)
        json_names = [n for n, _ in names]
        req_json = {n for n, key in names if key in required}
        out[f"{pkg}.{name}".lower()] = OaStruct(name=name, json_names=json_names, required=req_json)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--k8s-pb", default=None)
    ap.add_argument("--k8s-openapi", default=None)
    ap.add_argument("--version", default="v1_37")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    pb_root = args.k8s_pb or find_crate("k8s-pb-0.9.0")
    oa_root = args.k8s_openapi or find_crate("k8s-openapi-0.29.0")
    pb_name = os.path.basename(pb_root.rstrip("/"))
    oa_name = os.path.basename(oa_root.rstrip("/"))

    messages, resources = parse_pb(pb_root)
    openapi = parse_openapi(oa_root, args.version)
    report: list[str] = []
    missing_fields: list[str] = []
    unmatched_messages: list[str] = []
    guessed: list[str] = []

    # Every JSON spelling k8s-openapi uses, by normalised name: the fallback for messages it lacks.
    all_spellings: dict[str, set[str]] = {}
    for oa in openapi.values():
        for n in oa.json_names:
            all_spellings.setdefault(norm(n), set()).add(n)

    # Name messages as upstream spells them.
    special_by_lower = {k.lower(): (k, v) for k, v in SPECIAL.items()}
    for key, msg in messages.items():
        oa = openapi.get(key)
        msg.proto_name = oa.name if oa else msg.name
        if key in special_by_lower:
            msg.proto_name = special_by_lower[key][0].rsplit(".", 1)[1]
        elif oa is None and [(f.snake, f.label, f.ty) for f in msg.fields] == [("items", "repeated", "string")]:
            # A Go named slice type such as `type ExtraValue []string`: JSON is the bare array.
            SPECIAL[f"k8s.io.{msg.module.replace('/', '.')}.{msg.name}"] = "StringArray"
    canonical = {key: f"k8s.io.{m.module.replace('/', '.')}.{m.proto_name}" for key, m in messages.items()}

    def canon(full: str) -> str:
        return canonical.get(full.lower(), full)

    for key, msg in messages.items():
        full = canonical[key]
        for f in msg.fields:
            if f.ty not in SCALARS:
                if f.ty.lower() not in messages:
                    report.append(f"unresolved message type {f.ty} of {full}.{f.snake}")
                f.ty = canon(f.ty)
        if full in SPECIAL:
            # The transcoder handles these by tag; the fields are kept for the types they refer to.
            for f in msg.fields:
                f.json = camel(f.snake)
            continue
        oa = openapi.get(key)
        if oa is None:
            unmatched_messages.append(full)
            for f in msg.fields:
                over = JSON_NAME_OVERRIDES.get(f"{full}.{f.snake}")
                spellings = all_spellings.get(norm(f.snake), set())
                if over:
                    f.json = over
                elif len(spellings) == 1:
                    f.json = next(iter(spellings))
                else:
                    f.json = camel(f.snake)
                    if spellings and f.json not in spellings:
                        guessed.append(f"{full}.{f.snake} -> {f.json} (k8s-openapi spells it {sorted(spellings)})")
            continue
        by_norm = {norm(n): n for n in oa.json_names}
        used = set()
        for f in msg.fields:
            over = JSON_NAME_OVERRIDES.get(f"{full}.{f.snake}")
            if over:
                f.json = over
            elif norm(f.snake) in by_norm:
                f.json = by_norm[norm(f.snake)]
            if f.json:
                used.add(f.json)
        for f in msg.fields:
            if f.json is None and f.ty not in SCALARS and f.ty.lower() in messages:
                child_oa = openapi.get(f.ty.lower())
                if child_oa is not None:
                    child_names = {norm(n) for n in child_oa.json_names} - {"apiversion", "kind"}
                else:
                    child_names = {norm(c.snake) for c in messages[f.ty.lower()].fields}
                if child_names and child_names <= set(by_norm):
                    f.inline = True
                    f.json = ""
                    used.update(by_norm[n] for n in child_names)
            if f.json is None:
                report.append(f"no JSON name for {full}.{f.snake} (tag {f.tag}); dropped")
        # Resolve nested inline sets (an inline struct inside an inline struct counts as used too).
        inline_names: set[str] = set()
        for f in msg.fields:
            if f.inline:
                inline_names |= collect_inline(messages, f.ty)
        for n in oa.json_names:
            if n in ("apiVersion", "kind"):
                continue  # TypeMeta: carried by the envelope, not the message
            if n not in used and norm(n) not in {norm(x) for x in inline_names}:
                missing_fields.append(f"{full}.{n}")

    for full, adds in FIELD_ADDITIONS.items():
        msg = messages.get(full.lower())
        if msg is None:
            report.append(f"FIELD_ADDITIONS: no message {full}")
            continue
        for tag, json, label, ty in adds:
            msg.fields.append(PbField(snake=json, tag=tag, label=label, ty=ty if ty in SCALARS else canon(ty), json=json))
            if f"{full}.{json}" in missing_fields:
                missing_fields.remove(f"{full}.{json}")

    # Stable ids: messages sorted by full name.
    ordered = sorted(messages.values(), key=lambda m: canonical[m.full.lower()])
    ids = {canonical[m.full.lower()]: i for i, m in enumerate(ordered)}

    kinds: dict[tuple[str, str], str] = {}
    group_versions = set()
    for api_version, kind, full in resources:
        full = canon(full)
        if full in ids:
            kinds[(api_version, kind)] = full
            group_versions.add(api_version)
            lst = canon(full + "List")
            if lst in ids:
                kinds[(api_version, kind + "List")] = lst
    for api_version, kind, full in EXTRA_KINDS:
        if canon(full) in ids:
            kinds[(api_version, kind)] = canon(full)
        else:
            report.append(f"EXTRA_KINDS: no message {full}")
    for gv in sorted(group_versions | {"meta.k8s.io/v1"}):
        for kind in OPTION_KINDS:
            full = META + kind
            if full in ids:
                kinds.setdefault((gv, kind), full)

    for full, names in OMIT_EMPTY.items():
        if full not in ids:
            report.append(f"OMIT_EMPTY: no message {full}")
            continue
        have = {f.json for f in ordered[ids[full]].fields}
        for n in names:
            if n not in have:
                report.append(f"OMIT_EMPTY: no field {full}.{n}")

    write(args.out, ordered, canonical, ids, kinds, pb_name, oa_name, args.version)

    nfields = sum(len(m.fields) for m in ordered)
    print(f"wrote {os.path.relpath(args.out, REPO)}: {len(ordered)} messages, {nfields} fields, {len(kinds)} kinds")
    print(f"messages without a k8s-openapi struct (JSON names from lowerCamelCase): {len(unmatched_messages)}")
    for g in guessed:
        print(f"  check JSON name: {g}")
    print(f"merge markers not understood: {len(MERGE_REPORT)}")
    for r in MERGE_REPORT:
        print(f"  {r}")
    print(f"unresolved: {len(report)}")
    for r in report:
        print(f"  {r}")
    print(f"fields in k8s-openapi {args.version} missing from {pb_name} (dropped when transcoding): {len(missing_fields)}")
    for m in missing_fields:
        print(f"  {m}")
    only_oa = sorted(set(openapi) - set(messages))
    print(f"types in k8s-openapi {args.version} without a protobuf message in {pb_name}: {len(only_oa)}")
    for t in only_oa:
        print(f"  {t}")


def collect_inline(messages: dict[str, PbMessage], full: str) -> set[str]:
    msg = messages.get(full.lower())
    if msg is None:
        return set()
    out = set()
    for f in msg.fields:
        out.add(f.snake)
        if f.inline:
            out |= collect_inline(messages, f.ty)
    return out


def rust_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(out, ordered, canonical, ids, kinds, pb_name, oa_name, version) -> None:
    ty_names = {"string": "String", "int32": "Int32", "int64": "Int64", "bool": "Bool", "double": "Double", "bytes": "Bytes"}
    lines = [
        f"// @generated by hack/gen-protobuf-schema.py from {pb_name} and {oa_name} ({version}). Do not edit.",
        "// Regenerate: python3 hack/gen-protobuf-schema.py && rustfmt --edition 2024 apiserver/protobuf/src/schema_generated.rs",
        "",
        "use crate::schema::{Kind, Label::*, Message, Special, Ty::*, field as f};",
        "",
        f"pub(crate) static MESSAGES: [Message; {len(ordered)}] = [",
    ]
    for m in ordered:
        full = canonical[m.full.lower()]
        special = SPECIAL.get(full, "None")
        omit = set(OMIT_EMPTY.get(full, []))
        lines.append(f"    Message {{ name: {rust_str(full)}, special: Special::{special}, fields: &[")
        for f in sorted(m.fields, key=lambda f: f.tag):
            if f.json is None:
                continue
            label = {"single": "Single", "repeated": "Repeated", "map": "Map"}[f.label]
            if f.inline:
                label = "Inline"
            ty = ty_names[f.ty] if f.ty in SCALARS else f"Msg({ids[f.ty]})"
            oe = "true" if f.json in omit else "false"
            lines.append(
                f"        f({f.tag}, {rust_str(f.json)}, {label}, {ty}, {oe}),"
            )
        lines.append("    ] },")
    lines.append("];")
    lines.append("")
    ks = sorted(kinds.items())
    lines.append(f"pub(crate) static KINDS: [Kind; {len(ks)}] = [")
    for (api_version, kind), full in ks:
        lines.append(
            f"    Kind {{ api_version: {rust_str(api_version)}, kind: {rust_str(kind)}, message: {ids[full]} }}, // {full}"
        )
    lines.append("];")
    lines += merge_tables(ordered, canonical, ids)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


PATCH_STRATEGIES = {
    "merge": ("Some(P::Merge)", "false"),
    "replace": ("Some(P::Replace)", "false"),
    "retainKeys": ("None", "true"),
    "merge,retainKeys": ("Some(P::Merge)", "true"),
    "retainKeys,merge": ("Some(P::Merge)", "true"),
}
LIST_TYPES = {"atomic": "Some(L::Atomic)", "set": "Some(L::Set)", "map": "Some(L::Map)"}
GRANULARITY = {"atomic": "Atomic", "granular": "Granular"}
MERGE_REPORT: list[str] = []


def merge_tables(ordered, canonical, ids) -> list[str]:
    """`MERGE` (per field, sorted by message and tag) and `STRUCT_TYPES` (per message), appended after
    the existing tables so that adding them left every earlier line of the file unchanged."""

    def opt(value, table, what, where):
        if value is None:
            return "None"
        if value not in table:
            MERGE_REPORT.append(f"unknown {what} {value!r} on {where}")
            return "None"
        return table[value]

    entries: list[str] = []
    for m in ordered:
        full = canonical[m.full.lower()]
        for f in sorted(m.fields, key=lambda f: f.tag):
            if f.json is None or not f.merge:
                continue
            where = f"{full}.{f.json}"
            strategy, retain = ("None", "false")
            if "patchStrategy" in f.merge:
                strategy, retain = PATCH_STRATEGIES.get(f.merge["patchStrategy"], ("None", "false"))
                if f.merge["patchStrategy"] not in PATCH_STRATEGIES:
                    MERGE_REPORT.append(f"unknown patchStrategy {f.merge['patchStrategy']!r} on {where}")
            key = f.merge.get("patchMergeKey")
            key = f"Some({rust_str(key)})" if key else "None"
            list_type = opt(f.merge.get("listType"), LIST_TYPES, "listType", where)
            map_keys = "&[" + ", ".join(rust_str(k) for k in f.merge.get("listMapKey", [])) + "]"
            map_type = opt(f.merge.get("mapType"), {k: f"Some(G::{v})" for k, v in GRANULARITY.items()}, "mapType", where)
            struct_type = opt(f.merge.get("structType"), {k: f"Some(G::{v})" for k, v in GRANULARITY.items()}, "structType", where)
            entries.append(
                f"    m({ids[full]}, {f.tag}, {strategy}, {retain}, {key}, {list_type}, {map_keys}, {map_type}, {struct_type}), // {where}"
            )
    structs: list[str] = []
    for m in ordered:
        full = canonical[m.full.lower()]
        if m.struct_type is None:
            continue
        if m.struct_type not in GRANULARITY:
            MERGE_REPORT.append(f"unknown structType {m.struct_type!r} on {full}")
            continue
        structs.append(f"    ({ids[full]}, G::{GRANULARITY[m.struct_type]}), // {full}")
    n = len(entries)
    return [
        "",
        "// Merge metadata (upstream's `+patchStrategy`, `+patchMergeKey`, `+listType`, `+listMapKey`, `+mapType`,",
        "// `+structType` markers), by (message, tag), for the fields that have any.",
        "use crate::schema::{Granularity as G, FieldMerge, ListType as L, PatchStrategy as P, merge as m};",
        "",
        "#[rustfmt::skip] // one line per field",
        f"pub(crate) static MERGE: [FieldMerge; {n}] = [",
        *entries,
        "];",
        "",
        "// `+structType=` of Go types, by message.",
        f"pub(crate) static STRUCT_TYPES: [(u16, G); {len(structs)}] = [",
        *structs,
        "];",
    ]


if __name__ == "__main__":
    main()

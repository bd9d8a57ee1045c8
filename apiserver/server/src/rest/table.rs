//! `as=Table` and `as=PartialObjectMetadata` conversions.
//!
//! Today every kind uses upstream's default table convertor (`Name`, `Created At`); the per-kind
//! columns `kubectl get` shows upstream (pods' READY/STATUS/RESTARTS, ...) plug in here.

use serde_json::{Value, json};

use super::Context;

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// A Table of `objects` at `revision`.
pub(crate) fn table(
    context: &Context<'_>,
    objects: &[Value],
    revision: i64,
    continue_token: Option<&str>,
    remaining: Option<usize>,
) -> Value {
    build(
        objects,
        revision,
        continue_token,
        remaining,
        &context.query.include_object,
    )
}

/// The one-row Table a watch event carries.
pub(crate) fn table_for_watch(object: &Value, revision: i64, include: &str) -> Value {
    build(std::slice::from_ref(object), revision, None, None, include)
}

fn build(
    objects: &[Value],
    revision: i64,
    continue_token: Option<&str>,
    remaining: Option<usize>,
    include: &str,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let metadata = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
            let cells = json!([
                metadata.get("name").cloned().unwrap_or(Value::Null),
                metadata
                    .get("creationTimestamp")
                    .cloned()
                    .unwrap_or(Value::Null),
            ]);
            let mut row = json!({ "cells": cells });
            match include {
                "None" => {}
                "Object" => row["object"] = object.clone(),
                _ => row["object"] = partial_metadata(object, "v1"),
            }
            row
        })
        .collect();
    let mut metadata = json!({ "resourceVersion": revision.to_string() });
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    if let Some(remaining) = remaining {
        metadata["remainingItemCount"] = json!(remaining);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0},
            {"name": "Created At", "type": "date", "format": "", "description": CREATED_DESCRIPTION, "priority": 0},
        ],
        "rows": rows,
    })
}

/// An object reduced to its metadata.
pub(crate) fn partial_metadata(object: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

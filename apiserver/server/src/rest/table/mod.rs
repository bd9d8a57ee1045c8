//! `as=Table` and `as=PartialObjectMetadata` conversions.
//!
//! Built-in kinds get the columns and cells of upstream's printers
//! (`pkg/printers/internalversion/printers.go`, `AddHandlers`), one printer per kind in
//! [`core`], [`apps`] and [`other`]; every other kind (roles, cluster roles, CRDs, custom
//! resources, ...) gets upstream's default convertor (`Name`, `Created At`).
//!
//! Upstream's server always prints with `Wide: true` and sends every column; `kubectl` hides
//! the priority-1 ones unless `-o wide`. Cells are computed from the object's JSON as served.

mod apps;
mod core;
mod docs;
mod format;
mod other;
#[cfg(test)]
mod tests;

use std::time::SystemTime;

use serde_json::{Value, json};

use super::Context;

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

// === columns ===

/// One column definition of a Table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    /// Header, e.g. `Ready`.
    pub name: &'static str,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean` or `date`.
    pub kind: &'static str,
    /// OpenAPI format; `name` marks the object's name column.
    pub format: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0: shown by default; 1: only with `-o wide`.
    pub priority: u8,
}

/// A column shown by default.
const fn col(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 0,
    }
}

/// A column shown only with `-o wide`.
const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        priority: 1,
        ..col(name, kind, description)
    }
}

/// The `Name` column every printer starts with.
const NAME: Column = Column {
    format: "name",
    ..col("Name", "string", NAME_DESCRIPTION)
};
/// The `Age` column (a human duration in a string column).
const AGE: Column = col("Age", "string", CREATED_DESCRIPTION);

/// Columns of upstream's default table convertor.
const DEFAULT_COLUMNS: &[Column] = &[
    NAME,
    Column {
        name: "Created At",
        kind: "date",
        format: "",
        description: CREATED_DESCRIPTION,
        priority: 0,
    },
];

/// Texts shared by many printers.
const CONTAINERS: &str = "Names of each container in the template.";
const IMAGES: &str = "Images referenced by each container in the template.";

// === printers ===

/// How one kind is printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    /// The column definitions.
    pub columns: fn() -> &'static [Column],
    /// The cells of one object's row, one per column.
    pub cells: fn(&Value, SystemTime) -> Vec<Value>,
    /// Row conditions (pods: `Completed`).
    pub conditions: Option<fn(&Value) -> Option<Value>>,
    /// Rows sorted by the printer rather than by key (flow schemas: by precedence).
    pub sort: Option<fn(&Value, &Value) -> std::cmp::Ordering>,
}

impl Printer {
    const fn new(
        columns: fn() -> &'static [Column],
        cells: fn(&Value, SystemTime) -> Vec<Value>,
    ) -> Self {
        Printer {
            columns,
            cells,
            conditions: None,
            sort: None,
        }
    }
}

/// The printer of a built-in kind; `None` for kinds upstream prints with the default convertor.
pub(crate) fn printer(group: &str, kind: &str) -> Option<Printer> {
    core::printer(group, kind)
        .or_else(|| apps::printer(group, kind))
        .or_else(|| other::printer(group, kind))
}

fn default_cells(object: &Value, _now: SystemTime) -> Vec<Value> {
    vec![
        format::name(object),
        format::at(object, &["metadata", "creationTimestamp"])
            .cloned()
            .unwrap_or(Value::Null),
    ]
}

const DEFAULT: Printer = Printer::new(|| DEFAULT_COLUMNS, default_cells);

// === tables ===

/// A Table of `objects` at `revision`.
pub(crate) fn table(
    context: &Context<'_>,
    objects: &[Value],
    revision: i64,
    continue_token: Option<&str>,
    remaining: Option<usize>,
) -> Value {
    let info = &context.store.info;
    build(
        printer(&info.group, &info.kind).unwrap_or(DEFAULT),
        objects,
        SystemTime::now(),
        revision,
        continue_token,
        remaining,
        &context.query.include_object,
    )
}

/// The one-row Table a watch event carries; `api_version` and `kind` name the watched resource
/// (`apps/v1`, `Deployment`) and choose the printer.
pub(crate) fn table_for_watch(
    object: &Value,
    revision: i64,
    include: &str,
    api_version: &str,
    kind: &str,
) -> Value {
    let group = api_version.split_once('/').map_or("", |(group, _)| group);
    build(
        printer(group, kind).unwrap_or(DEFAULT),
        std::slice::from_ref(object),
        SystemTime::now(),
        revision,
        None,
        None,
        include,
    )
}

/// A Table written straight to JSON one row at a time, so that a large LIST never holds every
/// object's tree (nor every row) at once: the header when made, a row per [`TableWriter::row`],
/// the closing bytes on [`TableWriter::finish`]. The same document [`table`] builds (then
/// [`with_version`] for `version`), for printers that keep the storage order.
pub(crate) struct TableWriter {
    printer: Printer,
    now: SystemTime,
    include: IncludeObject,
    version: String,
    body: Vec<u8>,
    rows: usize,
}

/// What a row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl TableWriter {
    /// The writer for `context`'s resource, or `None` when its printer sorts rows (flow schemas),
    /// which needs every object first. `capacity` sizes the body.
    pub(crate) fn new(
        context: &Context<'_>,
        version: &str,
        revision: i64,
        continue_token: Option<&str>,
        remaining: Option<usize>,
        capacity: usize,
    ) -> Option<TableWriter> {
        let info = &context.store.info;
        let printer = printer(&info.group, &info.kind).unwrap_or(DEFAULT);
        if printer.sort.is_some() {
            return None;
        }
        Some(TableWriter::with_printer(
            printer,
            SystemTime::now(),
            &context.query.include_object,
            version,
            revision,
            continue_token,
            remaining,
            capacity,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn with_printer(
        printer: Printer,
        now: SystemTime,
        include: &str,
        version: &str,
        revision: i64,
        continue_token: Option<&str>,
        remaining: Option<usize>,
        capacity: usize,
    ) -> TableWriter {
        let include = match include {
            "None" => IncludeObject::None,
            "Object" => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        };
        let mut metadata = json!({ "resourceVersion": revision.to_string() });
        if let Some(token) = continue_token {
            metadata["continue"] = json!(token);
        }
        if let Some(remaining) = remaining {
            metadata["remainingItemCount"] = json!(remaining);
        }
        let mut body = Vec::with_capacity(capacity);
        body.extend_from_slice(b"{\"kind\":\"Table\",\"apiVersion\":");
        body.extend_from_slice(
            json!(format!("meta.k8s.io/{version}"))
                .to_string()
                .as_bytes(),
        );
        body.extend_from_slice(b",\"metadata\":");
        body.extend_from_slice(metadata.to_string().as_bytes());
        body.extend_from_slice(b",\"columnDefinitions\":");
        body.extend_from_slice(
            column_definitions((printer.columns)())
                .to_string()
                .as_bytes(),
        );
        body.extend_from_slice(b",\"rows\":[");
        TableWriter {
            printer,
            now,
            include,
            version: version.to_owned(),
            body,
            rows: 0,
        }
    }

    /// Appends the row of `object` (as stored); `external` turns it into the served version when
    /// the row carries the whole object.
    pub(crate) fn row<E>(
        &mut self,
        object: Value,
        external: impl FnOnce(Value) -> Result<Value, E>,
    ) -> Result<(), E> {
        let mut row = serde_json::Map::new();
        row.insert(
            "cells".to_owned(),
            Value::Array((self.printer.cells)(&object, self.now)),
        );
        if let Some(conditions) = self.printer.conditions.and_then(|c| c(&object)) {
            row.insert("conditions".to_owned(), conditions);
        }
        match self.include {
            IncludeObject::None => {}
            IncludeObject::Metadata => {
                let mut object = object;
                let metadata = object
                    .get_mut("metadata")
                    .map_or_else(|| json!({}), Value::take);
                row.insert(
                    "object".to_owned(),
                    json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": format!("meta.k8s.io/{}", self.version),
                        "metadata": metadata,
                    }),
                );
            }
            IncludeObject::Object => {
                row.insert("object".to_owned(), external(object)?);
            }
        }
        if self.rows > 0 {
            self.body.push(b',');
        }
        self.rows += 1;
        // Writing a Value to a Vec cannot fail: its keys are strings and the Vec grows.
        let _ = serde_json::to_writer(&mut self.body, &Value::Object(row));
        Ok(())
    }

    /// The JSON document.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.body.extend_from_slice(b"]}");
        self.body
    }
}

fn build(
    printer: Printer,
    objects: &[Value],
    now: SystemTime,
    revision: i64,
    continue_token: Option<&str>,
    remaining: Option<usize>,
    include: &str,
) -> Value {
    let mut ordered: Vec<&Value> = objects.iter().collect();
    if let Some(sort) = printer.sort {
        ordered.sort_by(|a, b| sort(a, b));
    }
    let rows: Vec<Value> = ordered
        .into_iter()
        .map(|object| {
            let mut row = json!({ "cells": (printer.cells)(object, now) });
            if let Some(conditions) = printer.conditions.and_then(|c| c(object)) {
                row["conditions"] = conditions;
            }
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
        "columnDefinitions": column_definitions((printer.columns)()),
        "rows": rows,
    })
}

fn column_definitions(columns: &[Column]) -> Value {
    columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect()
}

/// `table` (built as `meta.k8s.io/v1`) in another `meta.k8s.io` version, with its rows'
/// PartialObjectMetadata in that version too, as upstream's `asTable` sets both from the version
/// the client asked for.
pub(crate) fn with_version(table: &Value, version: &str) -> Value {
    let mut table = table.clone();
    if table.get("kind").and_then(Value::as_str) != Some("Table") {
        return table;
    }
    let api_version = json!(format!("meta.k8s.io/{version}"));
    table["apiVersion"] = api_version.clone();
    if let Some(rows) = table.get_mut("rows").and_then(Value::as_array_mut) {
        for row in rows {
            if let Some(object) = row.get_mut("object")
                && object.get("kind").and_then(Value::as_str) == Some("PartialObjectMetadata")
            {
                object["apiVersion"] = api_version.clone();
            }
        }
    }
    table
}

/// An object reduced to its metadata.
pub(crate) fn partial_metadata(object: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

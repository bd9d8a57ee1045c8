//! Strategic merge cases from upstream's own test data (strategicpatch's `MergeItem` fixtures: a
//! "current" object, the three-way patch kubectl would send, and the result), run over a schema of
//! the same shape through [`PatchSchema`]. They pin down list ordering with `$setElementOrder`,
//! deletions and server-only elements, where upstream's results are not obvious.

use serde_json::{Value, json};
use tugboat_patch::strategic::{Member, PatchSchema, apply_with_schema};
use tugboat_protobuf::PatchStrategy::{self, Merge, Replace};

/// A field of the test schema: name, strategy, merge key, element/value type.
type Field = (
    &'static str,
    Option<PatchStrategy>,
    Option<&'static str>,
    Option<&'static Type>,
);

#[derive(Debug)]
struct Type(&'static [Field]);

/// upstream's `MergeItem`.
static MERGE_ITEM: Type = Type(&[
    ("mergingList", Some(Merge), Some("name"), Some(&MERGE_ITEM)),
    ("nonMergingList", None, None, Some(&MERGE_ITEM)),
    ("mergingIntList", Some(Merge), None, None),
    ("nonMergingIntList", None, None, None),
    ("mergeItemPtr", Some(Merge), Some("name"), Some(&MERGE_ITEM)),
    ("replacingItem", Some(Replace), None, None),
    ("retainKeysMap", None, None, Some(&RETAIN_KEYS_ITEM)),
]);

/// upstream's `RetainKeysMergeItem`.
static RETAIN_KEYS_ITEM: Type =
    Type(&[("mergingList", Some(Merge), Some("name"), Some(&MERGE_ITEM))]);

impl PatchSchema for &'static Type {
    fn member(&self, key: &str) -> Member<Self> {
        self.0.iter().find(|f| f.0 == key).map_or_else(
            Member::default,
            |&(_, strategy, merge_key, schema)| Member {
                strategy,
                merge_key,
                schema,
            },
        )
    }
}

struct Case {
    description: &'static str,
    current: Value,
    patch: Value,
    result: Value,
}

#[test]
fn upstream_three_way_cases() {
    let cases = vec![
        Case {
            description: "nested patch merge with empty list",
            current: json!({"name": "hi", "mergingList": [{"name": "hello2"}]}),
            patch: json!({
                "$setElementOrder/mergingList": [{"name": "hello"}, {"name": "doesntexist"}],
                "mergingList": [{"name": "hello"}]
            }),
            result: json!({"name": "hi", "mergingList": [{"name": "hello"}, {"name": "hello2"}]}),
        },
        Case {
            description: "delete items in lists of scalars",
            current: json!({"mergingIntList": [1, 2, 3, 4]}),
            patch: json!({
                "$setElementOrder/mergingIntList": [1, 2],
                "$deleteFromPrimitiveList/mergingIntList": [3]
            }),
            result: json!({"mergingIntList": [1, 2, 4]}),
        },
        Case {
            description: "add an item in a list and preserve order",
            current: json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}]}),
            patch: json!({
                "$setElementOrder/mergingList": [{"name": 3}, {"name": 1}, {"name": 2}],
                "mergingList": [{"name": 3, "value": 3}]
            }),
            result: json!({"mergingList": [
                {"name": 3, "value": 3},
                {"name": 1, "other": "a"},
                {"name": 2, "value": 2, "other": "b"}
            ]}),
        },
        Case {
            description: "add map and delete map from merging list with conflict",
            current: json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 4, "other": "c"}]}),
            patch: json!({
                "$setElementOrder/mergingList": [{"name": 2}, {"name": 3}],
                "mergingList": [{"name": 2}, {"name": 3}, {"name": 1, "$patch": "delete"}]
            }),
            result: json!({"mergingList": [{"name": 4, "other": "c"}, {"name": 2}, {"name": 3}]}),
        },
        Case {
            description: "delete and reorder in one list, reorder in another",
            current: json!({
                "mergingList": [{"name": "a", "value": "a"}, {"name": "b", "value": "b"}],
                "mergeItemPtr": [{"name": "c", "value": "c"}, {"name": "d", "value": "d"}]
            }),
            patch: json!({
                "$setElementOrder/mergingList": [{"name": "b"}],
                "$setElementOrder/mergeItemPtr": [{"name": "d"}, {"name": "c"}],
                "mergingList": [{"$patch": "delete", "name": "a"}]
            }),
            result: json!({
                "mergingList": [{"name": "b", "value": "b"}],
                "mergeItemPtr": [{"name": "d", "value": "d"}, {"name": "c", "value": "c"}]
            }),
        },
        Case {
            description: "behavior of set element order for a merging list with duplicate",
            current: json!({"mergingList": [
                {"name": 1}, {"name": 2, "value": "dup1"}, {"name": 3}, {"name": 2, "value": "dup2"}, {"name": 4}
            ]}),
            patch: json!({"$setElementOrder/mergingList": [
                {"name": 2}, {"name": 1}, {"name": 4}, {"name": 3}, {"name": 2}
            ]}),
            result: json!({"mergingList": [
                {"name": 2, "value": "dup1"}, {"name": 2, "value": "dup2"}, {"name": 1}, {"name": 4}, {"name": 3}
            ]}),
        },
        Case {
            description: "$setElementOrder contains item that is not present in the list to be merged",
            current: json!({"mergingList": [{"name": 1}, {"name": 3}]}),
            patch: json!({
                "$setElementOrder/mergingList": [{"name": 3}, {"name": 2}, {"name": 1}],
                "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]
            }),
            result: json!({"mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]}),
        },
        Case {
            description: "$setElementOrder contains item that is not present in the int list to be merged",
            current: json!({"mergingIntList": [1, 3]}),
            patch: json!({"$setElementOrder/mergingIntList": [3, 2, 1]}),
            result: json!({"mergingIntList": [3, 1]}),
        },
        Case {
            description: "retainKeys map adds an item in nested merging list",
            current: json!({"retainKeysMap": {"name": "foo", "mergingList": [{"name": "a"}, {"name": "b"}, {"name": "x"}]}}),
            patch: json!({"retainKeysMap": {
                "$retainKeys": ["mergingList", "name"],
                "$setElementOrder/mergingList": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                "mergingList": [{"name": "c"}]
            }}),
            result: json!({"retainKeysMap": {"name": "foo", "mergingList": [
                {"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "x"}
            ]}}),
        },
        Case {
            description: "retainKeys map changes an item in nested merging list",
            current: json!({"retainKeysMap": {"name": "foo", "mergingList": [
                {"name": "a"}, {"name": "b", "value": "foo"}, {"name": "x"}
            ]}}),
            patch: json!({"retainKeysMap": {
                "$retainKeys": ["mergingList", "name"],
                "$setElementOrder/mergingList": [{"name": "a"}, {"name": "b"}],
                "mergingList": [{"name": "b", "value": "bar"}]
            }}),
            result: json!({"retainKeysMap": {"name": "foo", "mergingList": [
                {"name": "a"}, {"name": "b", "value": "bar"}, {"name": "x"}
            ]}}),
        },
        Case {
            description: "retainKeys map deletes nested merging list",
            current: json!({"retainKeysMap": {"name": "foo", "mergingList": [{"name": "a"}, {"name": "b"}]}}),
            patch: json!({"retainKeysMap": {"$retainKeys": ["name", "value"], "value": "bar", "mergingList": null}}),
            result: json!({"retainKeysMap": {"name": "foo", "value": "bar"}}),
        },
        Case {
            description: "retainKeys map deletes an item in nested merging list",
            current: json!({"retainKeysMap": {"name": "foo", "mergingList": [{"name": "a"}, {"name": "b"}, {"name": "x"}]}}),
            patch: json!({"retainKeysMap": {
                "$retainKeys": ["mergingList", "name"],
                "$setElementOrder/mergingList": [{"name": "a"}],
                "mergingList": [{"name": "b", "$patch": "delete"}]
            }}),
            result: json!({"retainKeysMap": {"name": "foo", "mergingList": [{"name": "a"}, {"name": "x"}]}}),
        },
        Case {
            description: "replace RawExtension field and merge list",
            current: json!({
                "name": "my-object", "value": "some-value", "other": "current-other",
                "mergingList": [{"name": 1}, {"name": 3}],
                "replacingItem": {"Some": "Generic", "Yaml": "Inside", "The": "RawExtension", "Field": "Period"}
            }),
            patch: json!({
                "$setElementOrder/mergingList": [{"name": 1}, {"name": 2}],
                "mergingList": [{"name": 2}],
                "replacingItem": {"Newly": "Modified", "Yaml": "Inside", "The": "RawExtension"}
            }),
            result: json!({
                "name": "my-object", "value": "some-value", "other": "current-other",
                "mergingList": [{"name": 1}, {"name": 2}, {"name": 3}],
                "replacingItem": {"Newly": "Modified", "Yaml": "Inside", "The": "RawExtension"}
            }),
        },
        Case {
            description: "preserve the order from the patch in a merging int list",
            current: json!({"mergingIntList": [1, 2, 3]}),
            patch: json!({"mergingIntList": [3, 1]}),
            result: json!({"mergingIntList": [2, 3, 1]}),
        },
    ];
    for case in cases {
        let got = apply_with_schema(&case.current, &case.patch, &MERGE_ITEM)
            .unwrap_or_else(|e| panic!("{}: {e}", case.description));
        assert_eq!(got, case.result, "{}", case.description);
    }
}

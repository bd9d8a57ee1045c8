//! ControllerRevisions, as the statefulset and daemonset controllers keep them: one per distinct
//! pod template, named `<owner>-<hash>` (FNV-1a of the template, in upstream's safe alphabet),
//! numbered in order, owned by the workload; the oldest ones no pod uses are pruned beyond the
//! history limit.

use k8s_openapi::{
    api::{apps::v1::ControllerRevision, core::v1::PodTemplateSpec},
    apimachinery::pkg::{apis::meta::v1::OwnerReference, runtime::RawExtension},
};
use kube::{
    Api, Client, ResourceExt as _,
    api::{DeleteParams, ListParams, ObjectMeta, PostParams},
};

/// The label carrying a pod's (and a revision's) revision name.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// FNV-1a (32 bit) of `bytes`, rendered with upstream's `SafeEncodeString` alphabet.
pub fn safe_hash(bytes: &[u8]) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in bytes {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string()
        .bytes()
        .map(|digit| char::from(ALPHABET[usize::from(digit) % ALPHABET.len()]))
        .collect()
}

/// The revision name for `template` of the workload `owner` (with its collision count).
pub fn revision_name(owner: &str, template: &PodTemplateSpec, collisions: i32) -> String {
    let mut bytes = serde_json::to_vec(template).unwrap_or_default();
    bytes.extend_from_slice(collisions.to_string().as_bytes());
    format!("{owner}-{}", safe_hash(&bytes))
}

/// What a workload asks of its revisions.
#[derive(Debug)]
pub struct RevisionRequest<'a> {
    /// The namespace.
    pub namespace: &'a str,
    /// The owner reference every revision carries (controller).
    pub owner: OwnerReference,
    /// The current revision's name.
    pub name: &'a str,
    /// The revision's data (upstream stores a patch of the template).
    pub data: serde_json::Value,
    /// Labels for the revision (the workload's selector labels).
    pub labels: std::collections::BTreeMap<String, String>,
    /// `revisionHistoryLimit`.
    pub history_limit: usize,
    /// Revisions that must stay (in use by pods, or the workload's current one).
    pub keep: Vec<String>,
}

/// Create the requested revision when missing; prune unused old ones beyond the limit.
pub async fn ensure(client: &Client, request: RevisionRequest<'_>) -> Result<(), kube::Error> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), request.namespace);
    let owned: Vec<ControllerRevision> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|r| {
            r.owner_references()
                .iter()
                .any(|o| o.uid == request.owner.uid)
        })
        .collect();
    if !owned.iter().any(|r| r.name_any() == request.name) {
        let next = owned.iter().filter_map(|r| r.revision).max().unwrap_or(0) + 1;
        let mut labels = request.labels.clone();
        labels.insert(REVISION_LABEL.to_owned(), request.name.to_owned());
        let revision = ControllerRevision {
            metadata: ObjectMeta {
                name: Some(request.name.to_owned()),
                namespace: Some(request.namespace.to_owned()),
                labels: Some(labels),
                owner_references: Some(vec![request.owner.clone()]),
                ..ObjectMeta::default()
            },
            data: RawExtension(request.data.clone()),
            revision: Some(next),
        };
        match api.create(&PostParams::default(), &revision).await {
            Ok(_) => {}
            Err(error) if crate::api_code(&error) == Some(409) => {}
            Err(error) if crate::is_namespace_terminating(&error) => return Ok(()),
            Err(error) => return Err(error),
        }
    }
    let mut prunable: Vec<&ControllerRevision> = owned
        .iter()
        .filter(|r| {
            let name = r.name_any();
            name != request.name && !request.keep.contains(&name)
        })
        .collect();
    prunable.sort_by_key(|r| r.revision.unwrap_or(0));
    let excess = prunable.len().saturating_sub(request.history_limit);
    for old in prunable.into_iter().take(excess) {
        match api.delete(&old.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(error) if crate::api_code(&error) == Some(404) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_use_the_safe_alphabet_and_are_stable() {
        let a = safe_hash(b"template");
        assert_eq!(a, safe_hash(b"template"));
        assert_ne!(a, safe_hash(b"other"));
        assert!(a.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }
}

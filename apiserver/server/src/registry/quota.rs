//! The ResourceQuota admission of creates, as upstream's `ResourceQuota` plugin: an object that
//! would take a namespace's quota past its hard limits is refused (403), a pod that leaves a
//! quota-constrained cpu or memory unset is refused, and an admitted object's usage is added to
//! every quota it falls under (`status.used`, compare-and-swap) before it is stored.
//!
//! A quota constrains only what its `status.hard` holds, which the resource quota controller
//! copies from `spec.hard` together with the first computed usage: until then it admits everything,
//! as upstream. Usage rules are `tugboat_machinery::quota`'s, shared with the controller, which
//! recomputes `status.used` from the objects and so also releases what deletions free.

use serde_json::{Value, json};
use tugboat_machinery::{
    catalog::ResourceInfo,
    quantity::{Format, Quantity},
    quota::{self, ResourceList},
    status::ApiError,
};

use super::{
    Registry, meta,
    store::{Stored, WriteOptions},
};

impl Registry {
    /// Admit the create of `object` (a `resource` in `namespace`) against the namespace's quotas,
    /// charging its usage to them unless `dry_run`.
    pub async fn admit_quota(
        &self,
        namespace: &str,
        info: &ResourceInfo,
        object: &Value,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        let usage = quota::usage(&info.group, &info.plural, object);
        if usage.is_empty() {
            return Ok(());
        }
        let Some(quotas) = self.store("", "v1", "resourcequotas") else {
            return Ok(());
        };
        let within = quotas.key_within(Some(namespace));
        let Ok(listed) = quotas.cache.list(&within, None, usize::MAX, |_| true) else {
            // The cache is not ready yet (start-up): nothing is constrained before the controller
            // has computed any quota's status either.
            return Ok(());
        };
        let name = meta::name(object).unwrap_or_default();
        let refuse = |why: String| ApiError::forbidden(&info.group, &info.plural, name, &why);
        let mut charges = Vec::new();
        for listed in &listed.objects {
            let current = Stored {
                value: listed.value.clone(),
                revision: listed.revision,
            }
            .to_value()?;
            let quota_name = meta::name(&current).unwrap_or_default().to_owned();
            let hard = quota::enforced(&current);
            let constrained: Vec<&str> = quota::constrained(&hard, &usage);
            if constrained.is_empty()
                || !quota::in_scope(&current, &info.group, &info.plural, object)
            {
                continue;
            }
            if info.group.is_empty() && info.plural == "pods" {
                let missing = quota::missing_compute(&hard, object);
                if !missing.is_empty() {
                    return Err(refuse(format!(
                        "failed quota: {quota_name}: must specify {missing}"
                    )));
                }
            }
            let used = quota::used(&current);
            let unknown: Vec<&str> = constrained
                .iter()
                .copied()
                .filter(|name| !used.contains_key(*name))
                .collect();
            if !unknown.is_empty() {
                return Err(refuse(format!(
                    "status unknown for quota: {quota_name}, resources: {}",
                    unknown.join(",")
                )));
            }
            check(&quota_name, &hard, &used, &usage, &constrained).map_err(refuse)?;
            charges.push(quota_name);
        }
        if dry_run {
            return Ok(());
        }
        for quota_name in charges {
            quotas
                .update_with(
                    Some(namespace),
                    &quota_name,
                    Some("status"),
                    WriteOptions::default(),
                    |current| {
                        let hard = quota::enforced(current);
                        let used = quota::used(current);
                        let constrained = quota::constrained(&hard, &usage);
                        check(&quota_name, &hard, &used, &usage, &constrained).map_err(refuse)?;
                        let mut charged = current.clone();
                        let mut new_used = serde_json::Map::new();
                        for (resource, quantity) in &used {
                            let quantity = match usage.get(resource) {
                                Some(more) if hard.contains_key(resource) => quantity.add(more),
                                _ => *quantity,
                            };
                            new_used.insert(resource.clone(), json!(quantity.to_string()));
                        }
                        if let Some(status) =
                            charged.get_mut("status").and_then(Value::as_object_mut)
                        {
                            status.insert("used".into(), Value::Object(new_used));
                        }
                        Ok(charged)
                    },
                )
                .await?;
        }
        Ok(())
    }
}

/// Refuse when `used + usage` passes `hard` for a constrained resource, with upstream's text.
fn check(
    quota_name: &str,
    hard: &ResourceList,
    used: &ResourceList,
    usage: &ResourceList,
    constrained: &[&str],
) -> Result<(), String> {
    let exceeded: Vec<&str> = constrained
        .iter()
        .copied()
        .filter(|resource| {
            let (Some(limit), Some(more)) = (hard.get(*resource), usage.get(*resource)) else {
                return false;
            };
            let now = used
                .get(*resource)
                .copied()
                .unwrap_or_else(|| Quantity::zero(Format::DecimalSi));
            now.add(more) > *limit
        })
        .collect();
    if exceeded.is_empty() {
        return Ok(());
    }
    Err(format!(
        "exceeded quota: {quota_name}, requested: {}, used: {}, limited: {}",
        quota::pretty(&quota::mask(usage, &exceeded)),
        quota::pretty(&quota::mask(used, &exceeded)),
        quota::pretty(&quota::mask(hard, &exceeded)),
    ))
}

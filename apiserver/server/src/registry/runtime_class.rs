//! Upstream's `RuntimeClass` admission plugin, on pod creation: a pod naming a RuntimeClass that
//! does not exist is forbidden; otherwise the class's pod overhead and scheduling constraints
//! (node selector, tolerations) are copied into the pod.

use serde_json::{Map, Value};
use tugboat_machinery::status::ApiError;

use super::{Registry, meta};

impl Registry {
    /// Admit a pod about to be created: see the module docs.
    pub async fn admit_pod_runtime_class(&self, pod: &mut Value) -> Result<(), ApiError> {
        let Some(class_name) = pod
            .get("spec")
            .and_then(|s| s.get("runtimeClassName"))
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Ok(());
        };
        let pod_name = meta::name(pod).unwrap_or_default().to_owned();
        let forbidden = |why: &str| ApiError::forbidden("", "pods", &pod_name, why);
        let Some(store) = self.store("node.k8s.io", "v1", "runtimeclasses") else {
            return Ok(());
        };
        let class = match store.get(None, &class_name).await {
            Ok(stored) => stored.to_value()?,
            Err(error) if error.code == 404 => {
                return Err(forbidden(&format!(
                    "pod rejected: RuntimeClass {class_name:?} not found"
                )));
            }
            Err(error) => return Err(error),
        };
        apply_runtime_class(pod, &class).map_err(|why| forbidden(&why))
    }
}

/// Copy `class`'s overhead and scheduling into `pod`; the reason to reject it on a conflict.
fn apply_runtime_class(pod: &mut Value, class: &Value) -> Result<(), String> {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    if let Some(overhead) = class
        .get("overhead")
        .and_then(|o| o.get("podFixed"))
        .filter(|o| !o.is_null())
    {
        match spec.get("overhead") {
            Some(existing)
                if existing.as_object().is_some_and(|o| !o.is_empty()) && existing != overhead =>
            {
                return Err(
                    "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
                        .to_owned(),
                );
            }
            _ => {
                spec.insert("overhead".into(), overhead.clone());
            }
        }
    }
    let Some(scheduling) = class.get("scheduling").filter(|s| !s.is_null()) else {
        return Ok(());
    };
    if let Some(selector) = scheduling.get("nodeSelector").and_then(Value::as_object) {
        let pod_selector = spec
            .entry("nodeSelector")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(pod_selector) = pod_selector.as_object_mut() {
            for (key, value) in selector {
                match pod_selector.get(key) {
                    Some(existing) if existing != value => {
                        return Err(format!(
                            "conflict: runtimeClass.scheduling.nodeSelector[{key}] = {}; pod.spec.nodeSelector[{key}] = {}",
                            value.as_str().unwrap_or_default(),
                            existing.as_str().unwrap_or_default()
                        ));
                    }
                    _ => {
                        pod_selector.insert(key.clone(), value.clone());
                    }
                }
            }
        }
    }
    if let Some(tolerations) = scheduling.get("tolerations").and_then(Value::as_array) {
        let pod_tolerations = spec
            .entry("tolerations")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(pod_tolerations) = pod_tolerations.as_array_mut() {
            for toleration in tolerations {
                if !pod_tolerations.contains(toleration) {
                    pod_tolerations.push(toleration.clone());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::apply_runtime_class;

    #[test]
    fn overhead_and_scheduling_are_copied() {
        let mut pod = json!({"spec": {"runtimeClassName": "rc", "nodeSelector": {"a": "1"},
                                      "tolerations": [{"key": "t", "operator": "Exists"}]}});
        let class = json!({"handler": "runc", "overhead": {"podFixed": {"cpu": "250m"}},
            "scheduling": {"nodeSelector": {"b": "2"},
                           "tolerations": [{"key": "t", "operator": "Exists"}, {"key": "u", "operator": "Exists"}]}});
        apply_runtime_class(&mut pod, &class).unwrap();
        assert_eq!(pod["spec"]["overhead"], json!({"cpu": "250m"}));
        assert_eq!(pod["spec"]["nodeSelector"], json!({"a": "1", "b": "2"}));
        assert_eq!(
            pod["spec"]["tolerations"],
            json!([{"key": "t", "operator": "Exists"}, {"key": "u", "operator": "Exists"}])
        );
    }

    #[test]
    fn conflicts_are_rejected() {
        let class = json!({"overhead": {"podFixed": {"cpu": "250m"}}, "scheduling": {"nodeSelector": {"a": "2"}}});
        let mut pod = json!({"spec": {"overhead": {"cpu": "1"}}});
        assert_eq!(
            apply_runtime_class(&mut pod, &class).unwrap_err(),
            "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
        );
        let mut pod = json!({"spec": {"nodeSelector": {"a": "1"}}});
        assert_eq!(
            apply_runtime_class(&mut pod, &class).unwrap_err(),
            "conflict: runtimeClass.scheduling.nodeSelector[a] = 2; pod.spec.nodeSelector[a] = 1"
        );
    }
}

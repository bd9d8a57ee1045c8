//! Objects every cluster has from its first start, created (when missing) once the registry is up:
//! the namespaces `default`, `kube-system`, `kube-public` and `kube-node-lease`, and the
//! `kubernetes` Service in `default` with its Endpoints and EndpointSlice pointing at this server.

use std::net::IpAddr;

use serde_json::{Value, json};
use tugboat_machinery::status::ApiError;

use crate::registry::{Registry, store::WriteOptions};

/// The namespaces upstream creates at start-up.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Where clients inside the cluster reach the API server.
#[derive(Debug, Clone, Copy)]
pub struct Advertise {
    /// The `kubernetes` Service's ClusterIP (first address of the service CIDR).
    pub service_ip: IpAddr,
    /// The address of this server that Endpoints point at.
    pub endpoint_ip: IpAddr,
    /// The HTTPS port of this server.
    pub port: u16,
}

/// Create what is missing. Objects that exist are left alone, except the `kubernetes`
/// Endpoints and EndpointSlice, which are rewritten to this server's address.
pub async fn run(registry: &Registry, advertise: Advertise) -> Result<(), ApiError> {
    for name in SYSTEM_NAMESPACES {
        let namespace = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        ensure(registry, "namespaces", None, namespace).await?;
    }
    let family = if advertise.endpoint_ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    };
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": advertise.service_ip.to_string(),
            "clusterIPs": [advertise.service_ip.to_string()],
            "ipFamilies": [family],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "None",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": advertise.port}],
        },
        "status": {"loadBalancer": {}},
    });
    registry
        .claim_ip(advertise.service_ip, "default", "kubernetes")
        .await?;
    ensure(registry, "services", Some("default"), service).await?;
    let service_cidr = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": "kubernetes"},
        "spec": {"cidrs": [registry.service_cidr.to_string()]},
    });
    if let Some(store) = registry.store("networking.k8s.io", "v1", "servicecidrs") {
        match store
            .create(None, service_cidr, WriteOptions::default())
            .await
        {
            Ok(_) => {}
            Err(error) if error.code == 409 => {}
            Err(error) => return Err(error),
        }
    }
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [{
            "addresses": [{"ip": advertise.endpoint_ip.to_string()}],
            "ports": [{"name": "https", "port": advertise.port, "protocol": "TCP"}],
        }],
    });
    put(registry, "", "endpoints", endpoints).await?;
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes"},
        },
        "addressType": family,
        "endpoints": [{"addresses": [advertise.endpoint_ip.to_string()], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": advertise.port, "protocol": "TCP"}],
    });
    put(registry, "discovery.k8s.io", "endpointslices", slice).await?;
    Ok(())
}

/// Create `object` unless it exists.
async fn ensure(
    registry: &Registry,
    plural: &str,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), ApiError> {
    let store = registry
        .store("", "v1", plural)
        .ok_or_else(|| ApiError::internal(&format!("no store for {plural}")))?;
    match store
        .create(namespace, object, WriteOptions::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
}

/// Create `object`, or replace it when it exists.
async fn put(
    registry: &Registry,
    group: &str,
    plural: &str,
    object: Value,
) -> Result<(), ApiError> {
    let version = "v1";
    let store = registry
        .store(group, version, plural)
        .ok_or_else(|| ApiError::internal(&format!("no store for {plural}")))?;
    match store
        .create(Some("default"), object.clone(), WriteOptions::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error.code == 409 => store
            .update(
                Some("default"),
                "kubernetes",
                object,
                None,
                WriteOptions::default(),
            )
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    }
}

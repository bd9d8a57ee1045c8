//! ClusterIP and NodePort allocation for Services.
//!
//! ClusterIPs are allocated as upstream v1.37 does with its ServiceCIDR allocator: each allocated
//! address is an `IPAddress` object (networking.k8s.io/v1) named by the address, created with a
//! compare-and-create in storage, so two servers on one etcd can never hand out the same address.
//! Addresses are picked at random from the range (the network and broadcast addresses excluded);
//! a requested address must be inside the range and free. NodePorts are picked from 30000-32767
//! among the ports no Service in the cache uses, under a lock that serializes this server's picks.

use std::{
    collections::BTreeSet,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use serde_json::{Value, json};
use tugboat_machinery::status::{ApiError, FieldError, FieldPath};

use super::{Registry, deletion::DeleteOptions, meta, store::WriteOptions};

/// The service network (`--service-cidr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCidr {
    /// The network address.
    pub network: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl ServiceCidr {
    /// Parse `10.43.0.0/16` or an IPv6 CIDR.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a CIDR"))?;
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} has an invalid address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("{text:?} has an invalid prefix length"))?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        if prefix > bits || prefix + 2 > bits {
            return Err(format!("{text:?} is too small to hold services"));
        }
        let cidr = ServiceCidr {
            network: address,
            prefix,
        };
        Ok(ServiceCidr {
            network: cidr.nth(0),
            prefix,
        })
    }

    fn host_bits(&self) -> u32 {
        let bits = if self.network.is_ipv4() { 32 } else { 128 };
        bits - u32::from(self.prefix)
    }

    /// The address at `offset` from the network address.
    fn nth(&self, offset: u128) -> IpAddr {
        match self.network {
            IpAddr::V4(v4) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                IpAddr::V4(Ipv4Addr::from(
                    (u32::from(v4) & mask).wrapping_add(offset as u32),
                ))
            }
            IpAddr::V6(v6) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                IpAddr::V6(Ipv6Addr::from((u128::from(v6) & mask).wrapping_add(offset)))
            }
        }
    }

    /// The first usable address: the `kubernetes` Service's ClusterIP.
    pub fn first(&self) -> IpAddr {
        self.nth(1)
    }

    /// How many usable addresses the range has (network and broadcast excluded), capped.
    fn usable(&self) -> u128 {
        let hosts = 1u128
            .checked_shl(self.host_bits().min(100))
            .unwrap_or(u128::MAX);
        hosts.saturating_sub(2)
    }

    /// Whether `ip` is a usable address of the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let offset = match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => u128::from(u32::from(i).wrapping_sub(u32::from(n))),
            (IpAddr::V6(n), IpAddr::V6(i)) => u128::from(i).wrapping_sub(u128::from(n)),
            _ => return false,
        };
        offset >= 1 && offset <= self.usable()
    }

    /// The IP family name used in Service specs.
    pub fn family(&self) -> &'static str {
        if self.network.is_ipv4() {
            "IPv4"
        } else {
            "IPv6"
        }
    }
}

impl std::fmt::Display for ServiceCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The NodePort range.
pub const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

fn invalid(name: &str, path: &FieldPath, value: &str, detail: &str) -> ApiError {
    ApiError::invalid(
        "",
        "Service",
        name,
        &[FieldError::invalid(path, value, detail)],
    )
}

fn random_u128() -> u128 {
    let mut bytes = [0u8; 16];
    meta::fill_random(&mut bytes);
    u128::from_le_bytes(bytes)
}

impl Registry {
    /// Give a Service being created its ClusterIP (unless headless or ExternalName) and its
    /// NodePorts (for NodePort and LoadBalancer types). Returns the addresses it allocated, to
    /// release if the create fails.
    pub async fn allocate_service(
        &self,
        namespace: &str,
        service: &mut Value,
    ) -> Result<Vec<IpAddr>, ApiError> {
        let name = meta::name(service).unwrap_or_default().to_owned();
        let spec = service
            .as_object_mut()
            .map(|root| root.entry("spec").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| ApiError::bad_request("spec must be an object"))?;
        let service_type = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_owned();
        let mut allocated = Vec::new();
        if service_type != "ExternalName" {
            let requested = spec
                .get("clusterIP")
                .and_then(Value::as_str)
                .filter(|ip| !ip.is_empty())
                .map(str::to_owned);
            let cidr = self.service_cidr;
            let ip = match requested.as_deref() {
                Some("None") => None,
                Some(text) => {
                    let path = FieldPath::new("spec").child("clusterIPs").index(0);
                    let ip: IpAddr = text.parse().map_err(|_| {
                        invalid(
                            &name,
                            &path,
                            text,
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        )
                    })?;
                    if !cidr.contains(ip) {
                        return Err(invalid(
                            &name,
                            &path,
                            text,
                            &format!(
                                "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}"
                            ),
                        ));
                    }
                    if !self.claim_ip(ip, namespace, &name).await? {
                        return Err(invalid(
                            &name,
                            &path,
                            text,
                            &format!(
                                "failed to allocate IP {ip}: provided IP is already allocated"
                            ),
                        ));
                    }
                    Some(ip)
                }
                None => Some(self.allocate_random_ip(namespace, &name).await?),
            };
            match ip {
                Some(ip) => {
                    allocated.push(ip);
                    spec.insert("clusterIP".into(), json!(ip.to_string()));
                    spec.insert("clusterIPs".into(), json!([ip.to_string()]));
                    spec.entry("ipFamilies")
                        .or_insert_with(|| json!([cidr.family()]));
                    spec.entry("ipFamilyPolicy")
                        .or_insert_with(|| json!("SingleStack"));
                }
                // Headless: the kind's defaults choose the IP family policy (RequireDualStack
                // without a selector, as upstream).
                None => {
                    spec.insert("clusterIPs".into(), json!(["None"]));
                }
            }
        }
        if matches!(service_type.as_str(), "NodePort" | "LoadBalancer") {
            let _guard = self.node_port_lock.lock().await;
            let mut used = self.used_node_ports();
            if let Some(Value::Array(ports)) = spec.get_mut("ports") {
                for (index, port) in ports.iter_mut().enumerate() {
                    let requested = port
                        .get("nodePort")
                        .and_then(Value::as_i64)
                        .filter(|p| *p != 0);
                    let node_port = match requested {
                        Some(p) => {
                            let path = FieldPath::new("spec")
                                .child("ports")
                                .index(index)
                                .child("nodePort");
                            if !NODE_PORTS.contains(&p) {
                                return Err(invalid(
                                    &name,
                                    &path,
                                    &p.to_string(),
                                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                                ));
                            }
                            if used.contains(&p) {
                                return Err(invalid(
                                    &name,
                                    &path,
                                    &p.to_string(),
                                    "provided port is already allocated",
                                ));
                            }
                            p
                        }
                        None => {
                            let span = (NODE_PORTS.end() - NODE_PORTS.start() + 1) as u128;
                            let start = (random_u128() % span) as i64;
                            (0..span as i64)
                                .map(|i| NODE_PORTS.start() + (start + i) % span as i64)
                                .find(|p| !used.contains(p))
                                .ok_or_else(|| {
                                    ApiError::internal("range for service node ports is full")
                                })?
                        }
                    };
                    used.insert(node_port);
                    port["nodePort"] = json!(node_port);
                }
            }
        }
        Ok(allocated)
    }

    fn used_node_ports(&self) -> BTreeSet<i64> {
        let Some(services) = self.store("", "v1", "services") else {
            return BTreeSet::new();
        };
        let Ok(listed) = services.cache.list(&services.prefix, None, 0, |_| true) else {
            return BTreeSet::new();
        };
        listed
            .objects
            .iter()
            .filter_map(|o| serde_json::from_slice::<Value>(&o.value).ok())
            .flat_map(|s| {
                s.get("spec")
                    .and_then(|spec| spec.get("ports"))
                    .and_then(Value::as_array)
                    .map(|ports| {
                        ports
                            .iter()
                            .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    async fn allocate_random_ip(&self, namespace: &str, name: &str) -> Result<IpAddr, ApiError> {
        let cidr = self.service_cidr;
        let usable = cidr.usable();
        // Random probes first; a nearly full range falls back to a scan.
        for _ in 0..64 {
            let offset = 1 + random_u128() % usable;
            let ip = cidr.nth(offset);
            if ip != cidr.first() && self.claim_ip(ip, namespace, name).await? {
                return Ok(ip);
            }
        }
        for offset in 2..=usable.min(1 << 20) {
            let ip = cidr.nth(offset);
            if self.claim_ip(ip, namespace, name).await? {
                return Ok(ip);
            }
        }
        Err(ApiError::internal(&format!(
            "failed to allocate a serviceIP: range is full ({cidr})"
        )))
    }

    /// Create the IPAddress object for `ip`; false if it exists.
    pub(crate) async fn claim_ip(
        &self,
        ip: IpAddr,
        namespace: &str,
        name: &str,
    ) -> Result<bool, ApiError> {
        let Some(addresses) = self.store("networking.k8s.io", "v1", "ipaddresses") else {
            return Ok(true);
        };
        let family = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        let object = json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {
                "name": ip.to_string(),
                "labels": {
                    "ipaddress.kubernetes.io/ip-family": family,
                    "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
                },
            },
            "spec": {"parentRef": {"group": "", "resource": "services", "namespace": namespace, "name": name}},
        });
        match addresses
            .create(None, object, WriteOptions::default())
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Release ClusterIPs (after a failed create or a delete).
    pub async fn release_ips(&self, ips: &[IpAddr]) {
        let Some(addresses) = self.store("networking.k8s.io", "v1", "ipaddresses") else {
            return;
        };
        for ip in ips {
            let name = ip.to_string();
            if let Err(error) = addresses
                .delete(None, &name, &DeleteOptions::default())
                .await
                && error.code != 404
            {
                tracing::warn!(%ip, %error, "releasing a ClusterIP failed");
            }
        }
    }
}

/// The ClusterIPs a Service holds.
pub fn cluster_ips(service: &Value) -> Vec<IpAddr> {
    service
        .get("spec")
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .map(|ips| {
            ips.iter()
                .filter_map(|ip| ip.as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_arithmetic() {
        let cidr = ServiceCidr::parse("10.43.7.9/16").unwrap();
        assert_eq!(cidr.to_string(), "10.43.0.0/16");
        assert_eq!(cidr.first().to_string(), "10.43.0.1");
        assert!(cidr.contains("10.43.255.254".parse().unwrap()));
        assert!(!cidr.contains("10.43.255.255".parse().unwrap()));
        assert!(!cidr.contains("10.43.0.0".parse().unwrap()));
        assert!(!cidr.contains("10.44.0.1".parse().unwrap()));
        let v6 = ServiceCidr::parse("fd00:43::/112").unwrap();
        assert_eq!(v6.first().to_string(), "fd00:43::1");
        assert!(ServiceCidr::parse("10.0.0.0/31").is_err());
        assert!(ServiceCidr::parse("nope").is_err());
    }
}

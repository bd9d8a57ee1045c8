//! The node's own names and addresses, for the serving certificate's SANs (and later the Node
//! object's addresses).
//!
//! Read from procfs rather than `getifaddrs(3)`, which would need `unsafe` or a new dependency:
//! IPv4 addresses are the `/32 host LOCAL` entries of `/proc/net/fib_trie`, IPv6 ones the lines
//! of `/proc/net/if_inet6`, and the hostname is `/proc/sys/kernel/hostname`, lowercased as k3s
//! does. Linux only, like k3s. Detection is best effort: what cannot be read is left out.

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};

/// The node's hostname and non-loopback interface addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeAddresses {
    /// The lowercased hostname, if it could be read.
    pub hostname: Option<String>,
    /// Non-loopback, non-link-local addresses of the node's interfaces, the primary one (the
    /// source address of the default route) first, the rest in ascending order.
    pub ips: Vec<IpAddr>,
}

impl NodeAddresses {
    /// Detects the node's hostname and interface addresses.
    pub fn detect() -> Self {
        let hostname = fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .and_then(|name| normalize_hostname(&name));
        let mut ips = BTreeSet::new();
        if let Ok(fib) = fs::read_to_string("/proc/net/fib_trie") {
            ips.extend(parse_fib_trie(&fib).into_iter().map(IpAddr::V4));
        }
        if let Ok(inet6) = fs::read_to_string("/proc/net/if_inet6") {
            ips.extend(parse_if_inet6(&inet6).into_iter().map(IpAddr::V6));
        }
        let mut ips: Vec<IpAddr> = ips.into_iter().filter(|ip| is_node_address(*ip)).collect();
        if let Some(primary) = primary_ipv4()
            && let Some(pos) = ips.iter().position(|ip| *ip == primary)
        {
            ips.remove(pos);
            ips.insert(0, primary);
        }
        NodeAddresses { hostname, ips }
    }

    /// The addresses as certificate SANs: the hostname, then the IPs.
    pub fn to_sans(&self) -> Vec<String> {
        self.hostname
            .iter()
            .cloned()
            .chain(self.ips.iter().map(IpAddr::to_string))
            .collect()
    }
}

/// The source address the kernel would use for the default route, found by connecting (which
/// sends nothing) a UDP socket to a public address.
fn primary_ipv4() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    is_node_address(ip).then_some(ip)
}

fn normalize_hostname(raw: &str) -> Option<String> {
    let name = raw.trim().to_ascii_lowercase();
    (!name.is_empty()).then_some(name)
}

/// Whether `ip` identifies this node to others: not loopback, link-local or unspecified.
fn is_node_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()),
        IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unspecified() || v6.is_unicast_link_local()),
    }
}

/// The local IPv4 addresses in a `/proc/net/fib_trie` dump: each `|-- a.b.c.d` leaf followed
/// by a `/32 host LOCAL` route.
pub(crate) fn parse_fib_trie(text: &str) -> BTreeSet<Ipv4Addr> {
    let mut found = BTreeSet::new();
    let mut last_leaf: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|--") {
            last_leaf = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL")
            && let Some(addr) = last_leaf
        {
            found.insert(addr);
        }
    }
    found
}

/// The IPv6 addresses in `/proc/net/if_inet6`: `<32 hex digits> <ifindex> <prefix> <scope>
/// <flags> <name>` per line.
pub(crate) fn parse_if_inet6(text: &str) -> BTreeSet<Ipv6Addr> {
    text.lines()
        .filter_map(|line| {
            let hex = line.split_whitespace().next()?;
            if hex.len() != 32 {
                return None;
            }
            u128::from_str_radix(hex, 16).ok().map(Ipv6Addr::from)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB_TRIE: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
     |-- 10.42.0.1
        /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 192.0.2.2
              /32 host LOCAL
";

    #[test]
    fn fib_trie_yields_local_host_routes_only() {
        let found: Vec<_> = parse_fib_trie(FIB_TRIE).into_iter().collect();
        assert_eq!(
            found,
            [
                Ipv4Addr::new(10, 42, 0, 1),
                Ipv4Addr::new(127, 0, 0, 1),
                Ipv4Addr::new(192, 0, 2, 2)
            ]
        );
    }

    #[test]
    fn if_inet6_lines_parse() {
        let text = "fd000000000000000000000000000002 04 40 00 82     eth0\n\
                    fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
                    garbage\n";
        let found: Vec<_> = parse_if_inet6(text).into_iter().collect();
        assert_eq!(
            found,
            [
                "fd00::2".parse::<Ipv6Addr>().unwrap(),
                "fe80::fc:ff:fe00:1".parse::<Ipv6Addr>().unwrap()
            ]
        );
    }

    #[test]
    fn loopback_and_link_local_are_not_node_addresses() {
        for ip in ["127.0.0.1", "::1", "169.254.1.1", "fe80::1", "0.0.0.0"] {
            assert!(!is_node_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["192.0.2.2", "10.42.0.1", "fd00::2", "2001:db8::1"] {
            assert!(is_node_address(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn detect_finds_no_loopback_and_sans_start_with_hostname() {
        let found = NodeAddresses::detect();
        assert!(found.ips.iter().all(|ip| !ip.is_loopback()));
        let sans = found.to_sans();
        if let Some(host) = &found.hostname {
            assert_eq!(&sans[0], host);
            assert_eq!(host, &host.to_ascii_lowercase());
        }
    }
}

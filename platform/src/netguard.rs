//! Refuses navigation and crawl targets in private, loopback and link-local ranges unless the
//! operator allowed them (`PRIVATE_NETWORK_ALLOWLIST`). The check is made on resolved addresses.

use crate::error::{EngineError, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Url;

/// An IP network written as `address/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parse `10.0.0.0/8`, `::1/128`, or a bare address (a one-address network).
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has an invalid prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Hosts and networks that may be reached although they are private.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

impl Allowlist {
    /// Parse a comma-separated list of host names, addresses and CIDR networks.
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let mut list = Self::default();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let looks_like_ip = entry.contains('/')
                || entry.contains(':')
                || entry.parse::<IpAddr>().is_ok()
                || entry.chars().all(|c| c.is_ascii_digit() || c == '.');
            if looks_like_ip {
                list.nets.push(IpNet::parse(entry)?);
            } else {
                list.hosts.push(entry.to_ascii_lowercase());
            }
        }
        Ok(list)
    }

    /// Whether this host name is listed by name.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether this address is inside a listed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }
}

/// Map IPv4-mapped and NAT64 IPv6 addresses to the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let o = v6.octets();
                return IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

/// Whether an address is in a private, loopback, link-local or otherwise non-public range.
pub fn is_restricted(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s0 & 0xfe00) == 0xfc00 // unique local
                || (s0 & 0xffc0) == 0xfe80 // link local
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0)
        }
    }
}

/// Parse a navigation target. Only `http`, `https` and `about:blank` are opened.
pub fn parse_target(raw: &str) -> Result<Url> {
    let url =
        Url::parse(raw.trim()).map_err(|e| EngineError::InvalidUrl(format!("`{raw}`: {e}")))?;
    match url.scheme() {
        "http" | "https" => {
            if url.host().is_none() {
                return Err(EngineError::InvalidUrl(format!("`{raw}` has no host")));
            }
            Ok(url)
        }
        "about" if url.as_str() == "about:blank" => Ok(url),
        other => Err(EngineError::InvalidUrl(format!(
            "`{raw}`: the scheme `{other}` is not allowed (use http or https)"
        ))),
    }
}

/// Check that a parsed URL may be reached: its host resolves only to public addresses, or to
/// addresses (or a host name) on the allowlist. Returns the addresses it resolved to.
pub async fn check_url(url: &Url, allow: &Allowlist) -> Result<Vec<IpAddr>> {
    let host = match url.host() {
        None => return Ok(Vec::new()), // about:blank
        Some(h) => h,
    };
    let ips: Vec<IpAddr> = match host {
        url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        url::Host::Domain(name) => {
            if allow.allows_host(name) {
                return Ok(Vec::new());
            }
            let port = url.port_or_known_default().unwrap_or(80);
            let addrs = tokio::net::lookup_host((name, port)).await.map_err(|e| {
                EngineError::NavigationFailed(format!("could not resolve host `{name}`: {e}"))
            })?;
            addrs.map(|a| a.ip()).collect()
        }
    };
    if ips.is_empty() {
        return Err(EngineError::NavigationFailed(format!(
            "host `{host}` resolved to no address"
        )));
    }
    for ip in &ips {
        if is_restricted(*ip) && !allow.allows_ip(*ip) {
            return Err(EngineError::BlockedUrl(format!(
                "`{url}` resolves to {ip}, a private or local address; \
                 add it to PRIVATE_NETWORK_ALLOWLIST to allow it"
            )));
        }
    }
    Ok(ips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_restricted() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(
                is_restricted(ip.parse().unwrap()),
                "{ip} should be restricted"
            );
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_restricted(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[test]
    fn allowlist_takes_hosts_addresses_and_networks() {
        let a = Allowlist::parse("127.0.0.1, ::1, 10.0.0.0/8, intranet.local").unwrap();
        assert!(a.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(!a.allows_ip("127.0.0.2".parse().unwrap()));
        assert!(a.allows_ip("10.200.0.1".parse().unwrap()));
        assert!(a.allows_ip("::ffff:10.0.0.1".parse().unwrap()));
        assert!(a.allows_ip("::1".parse().unwrap()));
        assert!(a.allows_host("Intranet.Local."));
        assert!(Allowlist::parse("10.0.0.0/33").is_err());
        assert!(Allowlist::parse("1.2.3.4/x").is_err());
    }

    #[test]
    fn only_web_schemes_parse() {
        assert!(parse_target("https://example.com/a").is_ok());
        assert!(parse_target("about:blank").is_ok());
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "chrome://settings",
            "not a url",
            "http://",
        ] {
            let e = parse_target(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_url", "{bad}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let url = parse_target("http://127.0.0.1:9/").unwrap();
        let e = check_url(&url, &Allowlist::default()).await.unwrap_err();
        assert_eq!(e.code(), "blocked_url");
        let allow = Allowlist::parse("127.0.0.1").unwrap();
        assert!(check_url(&url, &allow).await.is_ok());
        let url = parse_target("http://localhost:9/").unwrap();
        assert_eq!(
            check_url(&url, &Allowlist::default())
                .await
                .unwrap_err()
                .code(),
            "blocked_url"
        );
    }
}

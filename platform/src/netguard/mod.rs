//! The network policy every outbound connection passes: navigation and crawl targets, the
//! browser's own traffic (through the egress proxy), downloads, webhooks and LiveKit. Names are
//! resolved by the service ([`Resolver`]); an address in a private, loopback, link-local,
//! metadata or unspecified range, in any of its forms, is refused unless the operator allowed it
//! (`PRIVATE_NETWORK_ALLOWLIST`). Callers connect to exactly the addresses checked.

mod ranges;
mod resolve;

pub use ranges::{is_restricted, Allowlist, IpNet};
pub use resolve::{is_localhost, Resolver};

use crate::error::{EngineError, Result};
use std::net::{IpAddr, SocketAddr};
use url::Url;

/// What may be reached and how names are resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetPolicy {
    /// Private hosts and networks that may be reached.
    pub allow: Allowlist,
    /// How names are resolved.
    pub resolver: Resolver,
}

impl NetPolicy {
    /// The policy for an allowlist (`PRIVATE_NETWORK_ALLOWLIST`), resolving with the system.
    pub fn parse(allowlist: &str) -> std::result::Result<Self, String> {
        Ok(Self {
            allow: Allowlist::parse(allowlist)?,
            resolver: Resolver::default(),
        })
    }

    /// The same policy, resolving with these DNS servers (`DNS_SERVERS`).
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = resolver;
        self
    }

    /// Whether this address may be reached.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        !is_restricted(ip) || self.allow.allows_ip(ip)
    }

    /// Resolve `host` once and check every address: the addresses to connect to (and only
    /// those), or `blocked_url` when any is refused. A host allowlisted by name is resolved but
    /// not checked.
    pub async fn resolve_checked(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>> {
        self.resolve_checked_as(host, port, host).await
    }

    /// [`NetPolicy::resolve_checked`], naming the target `shown` in a refusal (the whole URL,
    /// say).
    async fn resolve_checked_as(
        &self,
        host: &str,
        port: u16,
        shown: &str,
    ) -> Result<Vec<SocketAddr>> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        // The URL standard's host parser: `2130706433`, `0x7f.1` and the like are IPv4.
        let parsed = url::Host::parse(bare)
            .or_else(|_| url::Host::parse(host))
            .map_err(|e| EngineError::InvalidUrl(format!("`{host}`: {e}")))?;
        let (name, ips) = match parsed {
            url::Host::Ipv4(ip) => (None, vec![IpAddr::V4(ip)]),
            url::Host::Ipv6(ip) => (None, vec![IpAddr::V6(ip)]),
            url::Host::Domain(name) => {
                let ips = self.resolver.lookup(&name).await?;
                (Some(name), ips)
            }
        };
        if ips.is_empty() {
            return Err(EngineError::NavigationFailed(format!(
                "host `{host}` resolved to no address"
            )));
        }
        let by_name = name
            .as_deref()
            .is_some_and(|n| self.allow.allows_host(n) && !is_localhost(n));
        if !by_name {
            if let Some(ip) = ips.iter().find(|ip| !self.allows_ip(**ip)) {
                return Err(EngineError::BlockedUrl(format!(
                    "`{shown}` resolves to {ip}, a private or local address; \
                     add it to PRIVATE_NETWORK_ALLOWLIST to allow it"
                )));
            }
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
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
/// addresses (or a host name) on the allowlist. Returns the addresses it resolved to (none for
/// `about:blank`).
pub async fn check_url(url: &Url, policy: &NetPolicy) -> Result<Vec<IpAddr>> {
    let Some(host) = url.host_str() else {
        return Ok(Vec::new()); // about:blank
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = policy.resolve_checked_as(host, port, url.as_str()).await?;
    Ok(addrs.into_iter().map(|a| a.ip()).collect())
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
        let e = check_url(&url, &NetPolicy::default()).await.unwrap_err();
        assert_eq!(e.code(), "blocked_url");
        let allow = NetPolicy::parse("127.0.0.1").unwrap();
        assert!(check_url(&url, &allow).await.is_ok());
        let url = parse_target("http://localhost:9/").unwrap();
        assert_eq!(
            check_url(&url, &NetPolicy::default())
                .await
                .unwrap_err()
                .code(),
            "blocked_url"
        );
    }

    #[test]
    fn private_addresses_are_restricted_in_every_ipv6_form() {
        for ip in [
            "::127.0.0.1",        // IPv4-compatible
            "::ffff:10.0.0.1",    // IPv4-mapped
            "::",                 // unspecified
            "2002:7f00:1::",      // 6to4 carrying 127.0.0.1
            "2002:c0a8:101::1",   // 6to4 carrying 192.168.1.1
            "2002:a9fe:a9fe::",   // 6to4 carrying the metadata address
            "64:ff9b::7f00:1",    // NAT64 carrying 127.0.0.1
            "64:ff9b:1::808:808", // local-use NAT64, whatever it carries
            "fec0::1",            // site-local
        ] {
            assert!(
                is_restricted(ip.parse().unwrap()),
                "{ip} should be restricted"
            );
        }
        for ip in ["2002:808:808::1", "64:ff9b::808:808", "::ffff:8.8.8.8"] {
            assert!(!is_restricted(ip.parse().unwrap()), "{ip} should be public");
        }
        let allow = Allowlist::parse("::1, 127.0.0.1").unwrap();
        assert!(allow.allows_ip("::1".parse().unwrap()));
        assert!(allow.allows_ip("::ffff:127.0.0.1".parse().unwrap()));
    }

    #[tokio::test]
    async fn every_spelling_of_loopback_is_refused() {
        let policy = NetPolicy::default();
        for host in [
            "localhost",
            "localhost.",
            "foo.localhost",
            "FOO.LOCALHOST.",
            "127.0.0.1",
            "2130706433",
            "0x7f.1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "0.0.0.0",
        ] {
            let e = policy.resolve_checked(host, 80).await.unwrap_err();
            assert_eq!(e.code(), "blocked_url", "{host}: {e}");
        }
        // Allowed by address: the checked addresses come back to connect to.
        let policy = NetPolicy::parse("127.0.0.1, ::1").unwrap();
        let addrs = policy.resolve_checked("foo.localhost", 8080).await.unwrap();
        assert!(
            addrs.contains(&"127.0.0.1:8080".parse().unwrap()),
            "{addrs:?}"
        );
        // Allowing a name never allows loopback by that name.
        let policy = NetPolicy::parse("localhost").unwrap();
        assert!(policy.resolve_checked("localhost", 80).await.is_err());
    }
}

//! Name resolution for every outbound connection the service makes or relays: the system's
//! resolver by default, or the DNS servers named in `DNS_SERVERS`. `localhost` and every
//! `*.localhost` name are loopback (RFC 6761) whatever a DNS server says, as Chromium and most
//! stacks treat them.

use crate::error::{EngineError, Result};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

/// How names are resolved.
#[derive(Clone, Default)]
pub struct Resolver {
    /// The DNS servers to ask; empty for the system's resolver.
    servers: Vec<SocketAddr>,
    /// The client for `servers`, built on first use (it needs a running runtime).
    client: Arc<OnceLock<TokioResolver>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("servers", &self.servers)
            .finish()
    }
}

impl PartialEq for Resolver {
    fn eq(&self, other: &Self) -> bool {
        self.servers == other.servers
    }
}

impl Eq for Resolver {}

/// Whether a name is `localhost` or under it (with or without the trailing dot).
pub fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

impl Resolver {
    /// Ask these DNS servers (`ip` or `ip:port`, comma-separated); empty for the system's
    /// resolver.
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let mut servers = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let addr = entry
                .parse::<SocketAddr>()
                .or_else(|_| entry.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| format!("`{entry}` is not a DNS server address (ip or ip:port)"))?;
            servers.push(addr);
        }
        Ok(Self {
            servers,
            client: Arc::default(),
        })
    }

    /// The addresses `name` resolves to (an IP literal is itself).
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>> {
        if let Ok(ip) = name.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(vec![ip]);
        }
        if is_localhost(name) {
            return Ok(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]);
        }
        let failed = |e: &dyn std::fmt::Display| {
            EngineError::NavigationFailed(format!("could not resolve host `{name}`: {e}"))
        };
        if self.servers.is_empty() {
            let addrs = tokio::net::lookup_host((name, 0))
                .await
                .map_err(|e| failed(&e))?;
            return Ok(addrs.map(|a| a.ip()).collect());
        }
        let answer = self
            .client()
            .lookup_ip(name)
            .await
            .map_err(|e| failed(&e))?;
        Ok(answer.iter().collect())
    }

    fn client(&self) -> &TokioResolver {
        self.client.get_or_init(|| {
            let servers = self
                .servers
                .iter()
                .map(|s| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = s.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = s.port();
                    NameServerConfig::new(s.ip(), true, vec![udp, tcp])
                })
                .collect();
            let mut builder = TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                TokioRuntimeProvider::default(),
            );
            // Every connection resolves afresh: a cached answer would only hide a change.
            builder.options_mut().cache_size = 0;
            builder
                .build()
                .expect("a resolver over fixed name servers builds")
        })
    }
}

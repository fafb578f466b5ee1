//! Browser egress: every request a page makes leaves Chromium through a forward proxy inside the
//! service. Chromium resolves no name itself (every host, `localhost` included, goes to the
//! proxy); the proxy resolves it once with the network policy's resolver, checks every address,
//! and connects to exactly the address it checked, so DNS rebinding and the many spellings of
//! loopback gain nothing. The service's own ports (the API, every browser's DevTools endpoint, the
//! proxies themselves) are refused on local addresses whatever the allowlist says.
//!
//! Each browser context gets a listener of its own ([`Egress::listen`]), so a refusal is told to
//! the session whose page asked; the browser as a whole is started with one too, for anything
//! outside a session's context.

mod proxy;

use crate::error::{EngineError, Result};
use crate::netguard::{is_restricted, NetPolicy};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// What a session learns of the requests the proxy refused for its pages: the last refusal (for
/// the action that caused it) and each one as it happens (for the room's `browser_error` events).
#[derive(Clone)]
pub struct Refusals {
    last: Arc<Mutex<Option<String>>>,
    each: broadcast::Sender<String>,
}

impl Default for Refusals {
    fn default() -> Self {
        Self {
            last: Arc::default(),
            each: broadcast::channel(16).0,
        }
    }
}

impl Refusals {
    /// Record a refusal.
    pub fn record(&self, why: String) {
        *self.last.lock().expect("refusals lock") = Some(why.clone());
        let _ = self.each.send(why);
    }

    /// The last refusal not yet taken.
    pub fn take(&self) -> Option<String> {
        self.last.lock().expect("refusals lock").take()
    }

    /// Every refusal from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.each.subscribe()
    }
}

/// The egress proxy's policy, shared by every listener.
pub struct Egress {
    policy: NetPolicy,
    /// Ports of the service's own (API, DevTools, the proxies), refused on local addresses.
    protected: RwLock<HashSet<u16>>,
}

impl Egress {
    /// An egress proxy applying `policy`.
    pub fn new(policy: NetPolicy) -> Arc<Self> {
        Arc::new(Self {
            policy,
            protected: RwLock::default(),
        })
    }

    /// Refuse this port on local addresses, whatever the allowlist says.
    pub fn protect_port(&self, port: u16) {
        self.protected.write().expect("ports lock").insert(port);
    }

    /// Stop protecting a port (its owner is gone).
    pub fn release_port(&self, port: u16) {
        self.protected.write().expect("ports lock").remove(&port);
    }

    /// Whether `port` on `ip` is one of the service's own (on any local address: loopback and
    /// unspecified addresses are among the restricted ones).
    fn is_protected(&self, ip: IpAddr, port: u16) -> bool {
        is_restricted(ip) && self.protected.read().expect("ports lock").contains(&port)
    }

    /// Resolve and check `host:port`: the addresses to connect to, or why not.
    async fn admit(&self, host: &str, port: u16) -> std::result::Result<Vec<SocketAddr>, Denied> {
        let addrs = self
            .policy
            .resolve_checked(host, port)
            .await
            .map_err(|e| match e {
                EngineError::BlockedUrl(why) => Denied::Refused(why),
                other => Denied::Failed(other.to_string()),
            })?;
        if let Some(a) = addrs.iter().find(|a| self.is_protected(a.ip(), port)) {
            return Err(Denied::Refused(format!(
                "`{host}:{port}` is one of this service's own ports ({a}); pages may never reach it"
            )));
        }
        Ok(addrs)
    }

    /// Start a listener on loopback; refusals are recorded in its [`EgressPort::refusals`].
    pub async fn listen(self: &Arc<Self>) -> Result<EgressPort> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| EngineError::BrowserUnavailable(format!("egress proxy: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| EngineError::BrowserUnavailable(format!("egress proxy: {e}")))?;
        self.protect_port(addr.port());
        let refusals = Refusals::default();
        let task = tokio::spawn(proxy::serve(listener, self.clone(), refusals.clone()));
        Ok(EgressPort {
            addr,
            refusals,
            egress: self.clone(),
            task,
        })
    }
}

/// Why the proxy did not connect a request.
enum Denied {
    /// The policy refuses the target: recorded for the session as `blocked_url`.
    Refused(String),
    /// The target could not be resolved: a network failure, not a refusal.
    Failed(String),
}

/// One proxy listener; dropping it stops the listener and every connection through it.
pub struct EgressPort {
    addr: SocketAddr,
    refusals: Refusals,
    egress: Arc<Egress>,
    task: tokio::task::JoinHandle<()>,
}

impl EgressPort {
    /// The proxy as Chromium names it (`--proxy-server`, a context's `proxyServer`).
    pub fn proxy_server(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where refusals through this listener are recorded.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }
}

impl Drop for EgressPort {
    fn drop(&mut self) {
        self.task.abort();
        self.egress.release_port(self.addr.port());
    }
}

/// The Chromium flags that send all of a browser's traffic through `proxy`: no name resolved by
/// Chromium, loopback not bypassed, and (unless `webrtc_udp`) no WebRTC UDP outside the proxy.
pub fn chromium_flags(proxy: &EgressPort, webrtc_udp: bool) -> Vec<String> {
    let mut flags = vec![
        format!("--proxy-server={}", proxy.proxy_server()),
        format!("--proxy-bypass-list={BYPASS_NONE}"),
        format!("--host-resolver-rules={RESOLVE_NOTHING}"),
    ];
    if !webrtc_udp {
        flags.push("--force-webrtc-ip-handling-policy=disable_non_proxied_udp".into());
        flags.push("--webrtc-ip-handling-policy=disable_non_proxied_udp".into());
    }
    flags
}

/// Chromium's proxy bypass list that bypasses nothing (`<-loopback>` removes the implicit
/// bypass of `localhost`, `*.localhost` and loopback addresses).
pub const BYPASS_NONE: &str = "<-loopback>";

/// Host resolver rules under which Chromium resolves no name itself (the proxy, named by
/// address, needs none).
const RESOLVE_NOTHING: &str = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1";

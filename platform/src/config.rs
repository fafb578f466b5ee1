//! Typed configuration, read once from the environment. A malformed value is a start-up error
//! that names the variable.

use crate::error::{EngineError, Result};
use crate::netguard::{NetPolicy, Resolver};
use crate::tenant::TenantId;
pub use crate::viewport::Viewport;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How crawl jobs are run and queued.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsConfig {
    /// Jobs one process runs at once (`JOB_WORKERS`; 0 = this process only enqueues).
    pub workers: usize,
    /// Attempts per job before it fails (`JOB_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each later one (`JOB_RETRY_DELAY_MS`).
    pub retry_delay: Duration,
    /// A job delivered to a worker that has not reported for this long is taken over by another
    /// worker (`JOB_CLAIM_IDLE_MS`; Redis queue only).
    pub claim_idle: Duration,
    /// A job still waiting for a worker after this long is failed with `no_worker` when no worker
    /// was seen at all, and reported otherwise (`JOB_STALE_SECS`).
    pub stale_after: Duration,
    /// Pages fetched at once over all jobs of this process (`CRAWL_CONCURRENCY`).
    pub crawl_concurrency: usize,
    /// Requests at once to one host (`CRAWL_PER_HOST`).
    pub per_host: usize,
    /// Jobs one tenant runs at once over all workers (`TENANT_MAX_JOBS`); its others wait
    /// queued.
    pub tenant_max_running: usize,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            max_attempts: 3,
            retry_delay: Duration::from_secs(5),
            claim_idle: Duration::from_secs(60),
            stale_after: Duration::from_secs(120),
            crawl_concurrency: 8,
            per_host: 4,
            tenant_max_running: 4,
        }
    }
}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds to (`HOST`).
    pub host: String,
    /// Port the HTTP server binds to (`PORT`).
    pub port: u16,
    /// Where the embedded backends keep their files (`DATA_DIR`).
    pub data_dir: PathBuf,
    /// Where the embedding model files are (`MODELS_DIR`).
    pub models_dir: PathBuf,
    /// The Chromium executable (`CHROMIUM_PATH`).
    pub chromium_path: PathBuf,
    /// Most Chromium processes at once (`MAX_BROWSERS`).
    pub max_browsers: usize,
    /// Most open sessions at once, over all browsers (`MAX_SESSIONS`).
    pub max_sessions: usize,
    /// Most open sessions at once for one tenant (`TENANT_MAX_SESSIONS`, default `MAX_SESSIONS`).
    pub tenant_max_sessions: usize,
    /// `TENANT_MAX_SESSIONS` when it is set: a control plane of a cluster holds each tenant to
    /// it over all engine workers together (unset, only each worker's own limit applies).
    pub tenant_max_sessions_set: Option<usize>,
    /// Most bytes one tenant may upload in an hour (`TENANT_UPLOAD_BYTES_PER_HOUR`, 1 GiB).
    pub tenant_upload_bytes_per_hour: u64,
    /// Requests per second and burst allowed per API key (`RATE_LIMIT_RPS`, `RATE_LIMIT_BURST`);
    /// off in the local mode, 20/s with a burst of 40 with `API_KEYS`; `RATE_LIMIT_RPS=0` turns
    /// it off.
    pub rate_limit: Option<(f64, u32)>,
    /// What outbound connections may reach (`PRIVATE_NETWORK_ALLOWLIST`) and how names are
    /// resolved (`DNS_SERVERS`).
    pub network: NetPolicy,
    /// API keys and the tenants they stand for (`API_KEYS`); empty means one local tenant.
    pub api_keys: HashMap<String, TenantId>,
    /// Redis for events and the job queue (`REDIS_URL`).
    pub redis_url: Option<String>,
    /// MongoDB for documents (`MONGODB_URI`).
    pub mongodb_uri: Option<String>,
    /// The MongoDB database (`MONGODB_DATABASE`, default `browser_automation_service`).
    pub mongodb_database: String,
    /// S3 for files (`S3_*`); `None`: a local directory under `DATA_DIR`.
    pub s3: Option<crate::files::S3Config>,
    /// Qdrant for vectors (`QDRANT_URL`).
    pub qdrant_url: Option<String>,
    /// Qdrant's API key (`QDRANT_API_KEY`).
    pub qdrant_api_key: Option<String>,
    /// LiveKit server (`LIVEKIT_URL`).
    pub livekit_url: Option<String>,
    /// Hosts a start call's `livekit_url` may name (`LIVEKIT_URL_ALLOWLIST`, comma-separated);
    /// by default only `LIVEKIT_URL`'s host.
    pub livekit_url_allowlist: Vec<String>,
    /// LiveKit API key and secret (`LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`): the service signs
    /// its own room tokens with them.
    pub livekit_keys: Option<LiveKitKeys>,
    /// Local UDP addresses WebRTC binds (`WEBRTC_UDP_ADDRS`, comma-separated; `0.0.0.0:0` means
    /// every non-loopback interface). Default: every interface and loopback.
    pub webrtc_udp_addrs: Vec<String>,
    /// STUN/TURN servers offered to WebRTC peers (`WEBRTC_ICE_SERVERS`, comma-separated URLs).
    pub webrtc_ice_servers: Vec<String>,
    /// How long one navigation may take (`NAVIGATION_TIMEOUT_MS`).
    pub navigation_timeout: Duration,
    /// Sessions with no action for this long are closed (`SESSION_IDLE_TIMEOUT_SECS`, 0 = never).
    pub session_idle_timeout: Option<Duration>,
    /// Recordings older than this are deleted (`RECORDING_RETENTION_DAYS`, default 30; 0 keeps
    /// them for ever).
    pub recording_retention: Option<Duration>,
    /// Log as JSON lines (`LOG_FORMAT=json`).
    pub log_json: bool,
    /// Let pages use WebRTC over UDP outside the egress proxy (`PAGE_WEBRTC_UDP=true`; off by
    /// default: UDP cannot be checked by the proxy).
    pub page_webrtc_udp: bool,
    /// Host names the API answers to (`ALLOWED_HOSTS`, `*` for any), on every route; guards a
    /// local server against DNS rebinding. Default: the loopback names.
    pub allowed_hosts: Vec<String>,
    /// Web origins whose pages may call the API (`CORS_ORIGINS`, exact origins such as
    /// `https://app.example.com`); none by default, and a request carrying any other foreign
    /// `Origin` is refused.
    pub cors_origins: Vec<String>,
    /// Crawl jobs and their queue.
    pub jobs: JobsConfig,
}

/// LiveKit API credentials; `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveKitKeys {
    /// API key.
    pub api_key: String,
    /// API secret.
    pub api_secret: String,
}

impl std::fmt::Debug for LiveKitKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveKitKeys")
            .field("api_key", &self.api_key)
            .field("api_secret", &"<hidden>")
            .finish()
    }
}

fn livekit_keys(get: &impl Fn(&str) -> Option<String>) -> Result<Option<LiveKitKeys>> {
    match (get("LIVEKIT_API_KEY"), get("LIVEKIT_API_SECRET")) {
        (Some(api_key), Some(api_secret)) => Ok(Some(LiveKitKeys {
            api_key,
            api_secret,
        })),
        (None, None) => Ok(None),
        _ => Err(EngineError::Config(
            "LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set together".into(),
        )),
    }
}

/// Whether `url` can name a LiveKit server: ws, wss, http or https, with a host.
pub fn is_livekit_url(url: &str) -> bool {
    url::Url::parse(url)
        .map(|u| matches!(u.scheme(), "ws" | "wss" | "http" | "https") && u.host().is_some())
        .unwrap_or(false)
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// S3 settings: none of `S3_*` set means no S3; any set means `S3_BUCKET` is required and the
/// access key id and secret come together or not at all.
fn s3_config(get: &impl Fn(&str) -> Option<String>) -> Result<Option<crate::files::S3Config>> {
    let names = [
        "S3_PROVIDER",
        "S3_ENDPOINT",
        "S3_REGION",
        "S3_BUCKET",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
    ];
    if names.iter().all(|n| get(n).is_none()) {
        return Ok(None);
    }
    let bucket = get("S3_BUCKET").ok_or_else(|| {
        EngineError::Config("S3_BUCKET is required when any S3_* variable is set".into())
    })?;
    let endpoint = get("S3_ENDPOINT");
    if let Some(e) = &endpoint {
        let ok = url::Url::parse(e)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .unwrap_or(false);
        if !ok {
            return Err(EngineError::Config(format!(
                "S3_ENDPOINT must be an http(s) URL, not {e:?}"
            )));
        }
    }
    let (id, secret) = (get("S3_ACCESS_KEY_ID"), get("S3_SECRET_ACCESS_KEY"));
    if id.is_some() != secret.is_some() {
        return Err(EngineError::Config(
            "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together".into(),
        ));
    }
    let provider = get("S3_PROVIDER").unwrap_or_else(|| "aws".into());
    Ok(Some(crate::files::S3Config {
        path_style: endpoint.is_some() || provider != "aws",
        provider,
        endpoint,
        region: get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        bucket,
        access_key_id: id,
        secret_access_key: secret,
    }))
}

impl Config {
    /// Read the configuration from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read the configuration from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (max_browsers, max_sessions) = pool_limits(&get)?;
        let idle: u64 = parse(&get, "SESSION_IDLE_TIMEOUT_SECS", 1800)?;
        let retention_days: u64 = parse(&get, "RECORDING_RETENTION_DAYS", 30)?;
        Ok(Self {
            jobs: jobs_config(&get)?,
            host: get("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: parse(&get, "PORT", 8000)?,
            data_dir: get("DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("data")),
            models_dir: get("MODELS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("models")),
            chromium_path: chromium_path(&get)?,
            max_browsers,
            max_sessions,
            tenant_max_sessions: parse(&get, "TENANT_MAX_SESSIONS", max_sessions)?.max(1),
            tenant_max_sessions_set: get("TENANT_MAX_SESSIONS")
                .map(|_| parse(&get, "TENANT_MAX_SESSIONS", 1usize).map(|n| n.max(1)))
                .transpose()?,
            tenant_upload_bytes_per_hour: parse(&get, "TENANT_UPLOAD_BYTES_PER_HOUR", 1u64 << 30)?,
            rate_limit: rate_limit(&get)?,
            network: network_policy(&get)?,
            api_keys: parse_api_keys(get("API_KEYS").as_deref().unwrap_or(""))?,
            redis_url: redis_url(&get)?,
            mongodb_uri: get("MONGODB_URI"),
            mongodb_database: get("MONGODB_DATABASE")
                .unwrap_or_else(|| crate::store::DEFAULT_DATABASE.to_string()),
            s3: s3_config(&get)?,
            qdrant_url: get("QDRANT_URL"),
            qdrant_api_key: get("QDRANT_API_KEY"),
            livekit_url: livekit_url(&get)?,
            livekit_url_allowlist: livekit_url_allowlist(&get),
            livekit_keys: livekit_keys(&get)?,
            webrtc_udp_addrs: match list(get("WEBRTC_UDP_ADDRS")) {
                v if v.is_empty() => vec!["0.0.0.0:0".into(), "127.0.0.1:0".into()],
                v => v,
            },
            webrtc_ice_servers: list(get("WEBRTC_ICE_SERVERS")),
            navigation_timeout: Duration::from_millis(parse(
                &get,
                "NAVIGATION_TIMEOUT_MS",
                30_000,
            )?),
            session_idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
            recording_retention: (retention_days > 0)
                .then(|| Duration::from_secs(retention_days.saturating_mul(86_400))),
            log_json: log_json(&get)?,
            page_webrtc_udp: match get("PAGE_WEBRTC_UDP").as_deref() {
                None | Some("") | Some("false") | Some("0") => false,
                Some("true") | Some("1") => true,
                Some(other) => {
                    return Err(EngineError::Config(format!(
                        "PAGE_WEBRTC_UDP must be `true` or `false`, not `{other}`"
                    )))
                }
            },
            allowed_hosts: allowed_hosts(&get),
            cors_origins: get("CORS_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        })
    }

    /// The most sessions one browser process hosts before another is started.
    pub fn sessions_per_browser(&self) -> usize {
        self.max_sessions.div_ceil(self.max_browsers)
    }
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match get(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|e| EngineError::Config(format!("{key}={v:?} is not valid: {e}"))),
    }
}

fn parse_api_keys(raw: &str) -> Result<HashMap<String, TenantId>> {
    let mut keys = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, tenant) = pair.split_once(':').ok_or_else(|| {
            EngineError::Config("API_KEYS entries must look like `key:tenant`".into())
        })?;
        let (key, tenant) = (key.trim(), tenant.trim());
        if key.is_empty() || tenant.is_empty() {
            return Err(EngineError::Config(
                "API_KEYS entries need both a key and a tenant".into(),
            ));
        }
        // A tenant's name prefixes its S3 keys (`{tenant}/`), its job ids and its channels and
        // LiveKit rooms (`{tenant}:`): a `/` or `:` in it would let one tenant's prefix
        // contain another's.
        let plain = tenant.len() <= 64
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !plain || tenant == TenantId::LOCAL {
            return Err(EngineError::Config(format!(
                "API_KEYS tenant {tenant:?} must be 1-64 of letters, digits and - _ . (and not \
                 `{}`, the name of the single tenant without keys)",
                TenantId::LOCAL
            )));
        }
        keys.insert(key.to_string(), TenantId::new(tenant));
    }
    Ok(keys)
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// `CHROMIUM_PATH`, or a `chromium` found on `PATH`.
fn chromium_path(get: &impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    match get("CHROMIUM_PATH") {
        Some(p) => Ok(PathBuf::from(p)),
        None => find_chromium().ok_or_else(|| {
            EngineError::Config(
                "CHROMIUM_PATH is not set and no chromium executable was found on PATH \
                 (install Debian's `chromium` package)"
                    .into(),
            )
        }),
    }
}

/// `MAX_BROWSERS` and `MAX_SESSIONS`, each at least 1.
fn pool_limits(get: &impl Fn(&str) -> Option<String>) -> Result<(usize, usize)> {
    let max_browsers: usize = parse(get, "MAX_BROWSERS", 2)?;
    let max_sessions: usize = parse(get, "MAX_SESSIONS", 20)?;
    for (name, v) in [
        ("MAX_BROWSERS", max_browsers),
        ("MAX_SESSIONS", max_sessions),
    ] {
        if v == 0 {
            return Err(EngineError::Config(format!("{name} must be at least 1")));
        }
    }
    Ok((max_browsers, max_sessions))
}

/// `REDIS_URL`, when set, with a Redis scheme.
fn redis_url(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    let url = get("REDIS_URL");
    if let Some(u) = &url {
        if !["redis://", "rediss://", "unix://"]
            .iter()
            .any(|p| u.starts_with(p))
        {
            return Err(EngineError::Config(
                "REDIS_URL must start with redis://, rediss:// or unix://".into(),
            ));
        }
    }
    Ok(url)
}

/// `LIVEKIT_URL_ALLOWLIST`, else the host of `LIVEKIT_URL`, else nothing.
fn livekit_url_allowlist(get: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    match get("LIVEKIT_URL_ALLOWLIST") {
        Some(list) => list
            .split(',')
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        None => get("LIVEKIT_URL")
            .and_then(|u| url::Url::parse(&u).ok())
            .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
            .into_iter()
            .collect(),
    }
}

/// `LIVEKIT_URL`, when set, with a WebSocket or HTTP scheme.
fn livekit_url(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    let url = get("LIVEKIT_URL");
    if let Some(u) = &url {
        if !is_livekit_url(u) {
            return Err(EngineError::Config(format!(
                "LIVEKIT_URL must be a ws://, wss://, http:// or https:// URL, not {u:?}"
            )));
        }
    }
    Ok(url)
}

/// `LOG_FORMAT`: `text` (the default) or `json`.
fn log_json(get: &impl Fn(&str) -> Option<String>) -> Result<bool> {
    match get("LOG_FORMAT").as_deref() {
        None | Some("text") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(EngineError::Config(format!(
            "LOG_FORMAT must be `text` or `json`, not `{other}`"
        ))),
    }
}

/// `ALLOWED_HOSTS`: loopback names by default, `*` for any.
fn allowed_hosts(get: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    match get("ALLOWED_HOSTS").as_deref() {
        None => vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
        Some("*") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect(),
    }
}

/// The job settings (`JOB_*`, `CRAWL_*`).
fn jobs_config(get: &impl Fn(&str) -> Option<String>) -> Result<JobsConfig> {
    let d = JobsConfig::default();
    Ok(JobsConfig {
        workers: parse(get, "JOB_WORKERS", d.workers)?,
        max_attempts: parse(get, "JOB_MAX_ATTEMPTS", d.max_attempts)?.max(1),
        retry_delay: Duration::from_millis(parse(get, "JOB_RETRY_DELAY_MS", 5_000)?),
        claim_idle: Duration::from_millis(parse(get, "JOB_CLAIM_IDLE_MS", 60_000)?.max(100)),
        stale_after: Duration::from_secs(parse(get, "JOB_STALE_SECS", 120)?),
        crawl_concurrency: parse(get, "CRAWL_CONCURRENCY", d.crawl_concurrency)?.max(1),
        per_host: parse(get, "CRAWL_PER_HOST", d.per_host)?.max(1),
        tenant_max_running: parse(get, "TENANT_MAX_JOBS", d.tenant_max_running)?.max(1),
    })
}

/// `RATE_LIMIT_RPS` and `RATE_LIMIT_BURST`: off without `API_KEYS` unless set, 20/s burst 40
/// with them; a rate of 0 turns the limit off.
fn rate_limit(get: &impl Fn(&str) -> Option<String>) -> Result<Option<(f64, u32)>> {
    let keyed = get("API_KEYS").is_some_and(|k| !k.trim().is_empty());
    let rps = match get("RATE_LIMIT_RPS") {
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| *r >= 0.0 && r.is_finite())
            .ok_or_else(|| {
                EngineError::Config(format!(
                    "RATE_LIMIT_RPS must be a number of requests per second, not {v:?}"
                ))
            })?,
        None if keyed => 20.0,
        None => 0.0,
    };
    if rps == 0.0 {
        return Ok(None);
    }
    let burst = parse(get, "RATE_LIMIT_BURST", ((rps * 2.0).ceil() as u32).max(1))?;
    Ok(Some((rps, burst.max(1))))
}

/// The network policy: `PRIVATE_NETWORK_ALLOWLIST` and `DNS_SERVERS`.
fn network_policy(get: &impl Fn(&str) -> Option<String>) -> Result<NetPolicy> {
    let allow = NetPolicy::parse(get("PRIVATE_NETWORK_ALLOWLIST").as_deref().unwrap_or(""))
        .map_err(|e| EngineError::Config(format!("PRIVATE_NETWORK_ALLOWLIST: {e}")))?;
    let resolver = Resolver::parse(get("DNS_SERVERS").as_deref().unwrap_or(""))
        .map_err(|e| EngineError::Config(format!("DNS_SERVERS: {e}")))?;
    Ok(allow.with_resolver(resolver))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("CHROMIUM_PATH".to_string(), "/usr/bin/chromium".to_string())])
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_one_local_user() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.port, 8000);
        assert!(c.api_keys.is_empty());
        assert!(c.redis_url.is_none());
        assert_eq!(c.sessions_per_browser(), 10);
    }

    #[test]
    fn a_tenants_session_limit_holds_over_a_cluster_only_when_it_is_set() {
        let unset = cfg(&[("MAX_SESSIONS", "30")]).unwrap();
        assert_eq!(unset.tenant_max_sessions, 30);
        assert_eq!(unset.tenant_max_sessions_set, None);
        let set = cfg(&[("TENANT_MAX_SESSIONS", "4")]).unwrap();
        assert_eq!(set.tenant_max_sessions, 4);
        assert_eq!(set.tenant_max_sessions_set, Some(4));
        let e = cfg(&[("TENANT_MAX_SESSIONS", "-1")]).unwrap_err();
        assert!(e.to_string().contains("TENANT_MAX_SESSIONS"), "{e}");
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let e = cfg(&[("MAX_SESSIONS", "many")]).unwrap_err();
        assert!(e.to_string().contains("MAX_SESSIONS"), "{e}");
        let e = cfg(&[("API_KEYS", "nokey")]).unwrap_err();
        assert!(e.to_string().contains("API_KEYS"), "{e}");
        let e = cfg(&[("PRIVATE_NETWORK_ALLOWLIST", "10.0.0.0/99")]).unwrap_err();
        assert!(e.to_string().contains("PRIVATE_NETWORK_ALLOWLIST"), "{e}");
        let e = cfg(&[("REDIS_URL", "localhost:6379")]).unwrap_err();
        assert!(e.to_string().contains("REDIS_URL"), "{e}");
    }

    #[test]
    fn api_keys_map_to_tenants() {
        let c = cfg(&[("API_KEYS", "k1:org-a, k2:org-b")]).unwrap();
        assert_eq!(c.api_keys.get("k1"), Some(&TenantId::new("org-a")));
        assert_eq!(c.api_keys.get("k2"), Some(&TenantId::new("org-b")));
        // A tenant whose name could hold another's prefix, or the local tenant's name, is
        // refused at start.
        for bad in ["k:org/a", "k:org:a", "k:local", "k:org a", "k:"] {
            let e = cfg(&[("API_KEYS", bad)]).unwrap_err();
            assert!(e.to_string().contains("API_KEYS"), "{bad}: {e}");
        }
    }
}

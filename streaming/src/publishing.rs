//! Which sessions are published to LiveKit, and where: decided once, at a session's start, by the
//! [`LiveKitPolicy`] live video installs in the session manager, so that a start whose publishing
//! cannot work is refused at once.

use browser::session::observer::{LiveKitTarget, PublishPolicy};
use browser::session::StartOptions;
use platform::{Config, EngineError, Result};

/// The service's LiveKit configuration, as the publishing policy of its sessions.
pub struct LiveKitPolicy {
    /// The configured LiveKit server (`LIVEKIT_URL`).
    pub configured_url: Option<String>,
    /// Whether the service signs its own tokens (`LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`).
    pub signs: bool,
    /// Hosts a start call's `livekit_url` may name (`LIVEKIT_URL_ALLOWLIST`, by default the
    /// configured server's host).
    pub allowed_hosts: Vec<String>,
}

impl LiveKitPolicy {
    /// The policy of a configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            configured_url: config.livekit_url.clone(),
            signs: config.livekit_keys.is_some(),
            allowed_hosts: config.livekit_url_allowlist.clone(),
        }
    }
}

impl PublishPolicy for LiveKitPolicy {
    fn livekit_target(&self, options: &StartOptions) -> Result<Option<LiveKitTarget>> {
        if let Some(url) = &options.livekit_url {
            check_host(url, &self.allowed_hosts)?;
        }
        livekit_target(options, self.configured_url.as_deref(), self.signs)
    }
}

/// A start call's `livekit_url` must name an allowed host: the service signs a token for it and
/// sends it there, so an unchecked URL would hand the token (and the video) to anyone.
pub fn check_host(url: &str, allowed: &[String]) -> Result<()> {
    if !platform::config::is_livekit_url(url) {
        return Err(EngineError::InvalidRequest(format!(
            "livekit_url {url:?} must be a ws://, wss://, http:// or https:// URL"
        )));
    }
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        })
        .ok_or_else(|| {
            EngineError::InvalidRequest(format!(
                "livekit_url {url:?} must be a ws://, wss://, http:// or https:// URL"
            ))
        })?;
    if allowed.contains(&host) {
        return Ok(());
    }
    Err(EngineError::BlockedUrl(format!(
        "livekit_url host `{host}` is not allowed: list it in LIVEKIT_URL_ALLOWLIST (by default \
         only LIVEKIT_URL's host is)"
    )))
}

/// Where the session is published in LiveKit, if anywhere: when the start call asks (a
/// `livekit_url` and/or `livekit_token`), or for every session when `LIVEKIT_URL` and the API
/// key and secret are configured. Publishing that cannot work is refused here: it needs a
/// server URL (from the call or `LIVEKIT_URL`) and a token (from the call, or signed with the
/// configured keys).
pub fn livekit_target(
    opts: &StartOptions,
    configured_url: Option<&str>,
    signs: bool,
) -> Result<Option<LiveKitTarget>> {
    let asked = opts.livekit_url.is_some() || opts.livekit_token.is_some();
    let configured = configured_url.is_some() && signs;
    if !asked && !configured {
        return Ok(None);
    }
    let url = opts
        .livekit_url
        .clone()
        .or_else(|| configured_url.map(String::from))
        .ok_or_else(|| {
            EngineError::InvalidRequest(
                "livekit_token needs a LiveKit server: pass livekit_url or set LIVEKIT_URL".into(),
            )
        })?;
    if !platform::config::is_livekit_url(&url) {
        return Err(EngineError::InvalidRequest(format!(
            "livekit_url {url:?} must be a ws://, wss://, http:// or https:// URL"
        )));
    }
    if opts.livekit_token.is_none() && !signs {
        return Err(EngineError::InvalidRequest(
            "livekit_url needs a token: pass livekit_token or set LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
                .into(),
        ));
    }
    Ok(Some(LiveKitTarget {
        url,
        token: opts.livekit_token.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calls_livekit_url_must_name_an_allowed_host() {
        let allowed = vec!["lk.example.com".to_string(), "127.0.0.1".to_string()];
        assert!(check_host("wss://lk.example.com/rtc", &allowed).is_ok());
        assert!(check_host("WSS://LK.EXAMPLE.COM.", &allowed).is_ok());
        assert!(check_host("ws://127.0.0.1:7880", &allowed).is_ok());
        for bad in [
            "wss://evil.example.net",
            "ws://169.254.169.254",
            "wss://lk.example.com.evil.net",
        ] {
            assert_eq!(
                check_host(bad, &allowed).unwrap_err().code(),
                "blocked_url",
                "{bad}"
            );
        }
        assert_eq!(
            check_host("wss://lk.example.com", &[]).unwrap_err().code(),
            "blocked_url"
        );
        assert_eq!(
            check_host("not a url", &allowed).unwrap_err().code(),
            "invalid_request"
        );
    }

    fn opts(url: Option<&str>, token: Option<&str>) -> StartOptions {
        StartOptions {
            livekit_url: url.map(String::from),
            livekit_token: token.map(String::from),
            ..StartOptions::default()
        }
    }

    #[test]
    fn livekit_publishing_is_decided_by_the_call_and_the_configuration() {
        // Nothing asked, nothing configured.
        assert!(livekit_target(&opts(None, None), None, false)
            .unwrap()
            .is_none());
        // A LiveKit URL alone, without keys, publishes nothing by itself.
        assert!(
            livekit_target(&opts(None, None), Some("ws://127.0.0.1:7880"), false)
                .unwrap()
                .is_none()
        );
        // A token and a URL from the call.
        let t = livekit_target(
            &opts(Some("wss://lk.example.com"), Some("given")),
            None,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.url.as_str(), t.token.as_deref()),
            ("wss://lk.example.com", Some("given"))
        );
        assert!(!format!("{t:?}").contains("given"), "Debug hides the token");
        // Asked for, but nothing to sign with and no token.
        let e = livekit_target(&opts(Some("wss://lk.example.com"), None), None, false).unwrap_err();
        assert!(e.to_string().contains("LIVEKIT_API_KEY"), "{e}");
        // A token but no server anywhere.
        let e = livekit_target(&opts(None, Some("t")), None, false).unwrap_err();
        assert!(e.to_string().contains("LIVEKIT_URL"), "{e}");
        // A bad URL.
        let e = livekit_target(&opts(Some("ftp://x"), Some("t")), None, false).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        // Configured: every session is published to the configured server, the token to be
        // signed by the service.
        let t = livekit_target(&opts(None, None), Some("ws://127.0.0.1:7880"), true)
            .unwrap()
            .unwrap();
        assert_eq!((t.url.as_str(), t.token), ("ws://127.0.0.1:7880", None));
    }
}

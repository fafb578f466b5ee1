//! Publishing a session's video to a LiveKit room. The official `livekit` crate cannot be built
//! here (its build script downloads libwebrtc), so this speaks LiveKit's signalling with
//! `livekit-signaling` (the signal client `livekit-api` re-exports) and sends media with
//! webrtc-rs: join, add the track, offer the publisher connection, answer the server's
//! subscriber offers, exchange candidates, mute on pause, and rejoin with backoff when the
//! connection drops.

mod joined;

use crate::peer::{new_peer, RtcSettings};
use crate::pipeline::Pipeline;
use crate::StreamError;
use browser::session::observer::LiveKitTarget;
use joined::Joined;
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalError, SignalOptions};
use platform::{LiveKitKeys, TenantId};
use proto::signal_request::Message as Req;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCIceServer};

/// How long a token the service signs for itself lasts.
pub const TOKEN_TTL: Duration = Duration::from_secs(6 * 3600);

/// Longest wait between two attempts to rejoin.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where and as whom to publish.
#[derive(Clone)]
pub struct Connection {
    /// The LiveKit server URL.
    pub url: String,
    /// The access token.
    pub token: String,
    /// The room (the session's room name).
    pub room: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("token", &"<hidden>")
            .field("room", &self.room)
            .finish()
    }
}

/// The LiveKit room a session of `tenant` named `room` is published to when the service signs
/// the token: the room name itself for the single local tenant, `{tenant}:{room}` for a tenant
/// of an API key, so two tenants' sessions of one name never share a LiveKit room. (A tenant's
/// name holds no `:`, see `API_KEYS`.) With a token from the start call, the token's own grant
/// decides.
pub fn room_name(tenant: &TenantId, room: &str) -> String {
    if tenant.is_local() {
        room.to_string()
    } else {
        format!("{tenant}:{room}")
    }
}

/// The identity the service joins rooms as.
pub fn identity(room: &str) -> String {
    format!("browser-{room}")
}

/// Sign a token that lets the service join `room` and publish video there, nothing else.
pub fn room_token(keys: &LiveKitKeys, room: &str, ttl: Duration) -> Result<String, StreamError> {
    AccessToken::with_api_key(&keys.api_key, &keys.api_secret)
        .with_identity(&identity(room))
        .with_name("Browser session")
        .with_kind("standard")
        .with_ttl(ttl)
        .with_grants(VideoGrants {
            room_join: true,
            room: room.to_string(),
            can_publish: Some(true),
            can_subscribe: Some(false),
            can_publish_data: Some(false),
            can_publish_sources: vec!["screen_share".into(), "camera".into()],
            ..Default::default()
        })
        .to_jwt()
        .map_err(|e| StreamError::LiveKit(format!("token not signed: {e}")))
}

/// The connection for a room the engine decided to publish: the token from the start call, or
/// one the service signs with its API key.
pub fn connection(
    keys: Option<&LiveKitKeys>,
    room: &str,
    target: LiveKitTarget,
) -> Result<Connection, StreamError> {
    let token = match (target.token, keys) {
        (Some(t), _) => t,
        (None, Some(keys)) => room_token(keys, room, TOKEN_TTL)?,
        (None, None) => return Err(StreamError::LiveKit(
            "no LiveKit token: pass livekit_token or set LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
                .into(),
        )),
    };
    Ok(Connection {
        url: target.url,
        token,
        room: room.to_string(),
    })
}

/// Where a publisher is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStatus {
    /// Joining the room.
    Connecting,
    /// The track is published and media flows.
    Published,
    /// The connection dropped; rejoining.
    Reconnecting,
    /// Refused (bad token, or the server said leave); not retried.
    Failed,
}

impl std::fmt::Display for PublishStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connecting => "connecting",
            Self::Published => "published",
            Self::Reconnecting => "reconnecting",
            Self::Failed => "failed",
        })
    }
}

/// A room's publisher: a task that stays joined until stopped.
pub struct Publisher {
    room: String,
    status: Arc<Mutex<PublishStatus>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

struct Context {
    conn: Connection,
    settings: RtcSettings,
    pipeline: Arc<Pipeline>,
    paused: watch::Receiver<bool>,
    width: u32,
    height: u32,
    status: Arc<Mutex<PublishStatus>>,
}

impl Publisher {
    /// Join the room and publish the pipeline's video; rejoin when the connection drops.
    pub fn start(
        conn: Connection,
        settings: RtcSettings,
        pipeline: Arc<Pipeline>,
        paused: watch::Receiver<bool>,
        width: u32,
        height: u32,
    ) -> Self {
        let status = Arc::new(Mutex::new(PublishStatus::Connecting));
        let (stop, stop_rx) = watch::channel(false);
        let span = tracing::info_span!("livekit", room = %conn.room, url = %conn.url);
        let room = conn.room.clone();
        let ctx = Context {
            conn,
            settings,
            pipeline,
            paused,
            width,
            height,
            status: status.clone(),
        };
        let task = tokio::spawn(tracing::Instrument::instrument(run(ctx, stop_rx), span));
        Self {
            room,
            status,
            stop,
            task,
        }
    }

    /// The LiveKit room it publishes to.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// Where it is.
    pub fn status(&self) -> PublishStatus {
        *self.status.lock().expect("status lock")
    }

    /// Leave the room and close the connections.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(3), self.task)
            .await
            .is_err()
        {
            tracing::debug!("publisher did not leave in time");
        }
    }
}

/// How one joined session ended.
enum End {
    /// Stopped by the service.
    Stopped,
    /// The connection dropped; rejoin.
    Dropped(String),
    /// Refused for good.
    Refused(String),
}

fn set(status: &Mutex<PublishStatus>, s: PublishStatus) {
    *status.lock().expect("status lock") = s;
}

async fn run(ctx: Context, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        let end = match session(&ctx, &mut stop).await {
            Ok(end) => end,
            Err(e) => End::Dropped(e.to_string()),
        };
        match end {
            End::Stopped => return,
            End::Refused(why) => {
                tracing::warn!(%why, "LiveKit refused the publisher");
                set(&ctx.status, PublishStatus::Failed);
                return;
            }
            End::Dropped(why) => {
                if started.elapsed() > MAX_BACKOFF {
                    backoff = Duration::from_secs(1);
                }
                tracing::warn!(%why, retry_in_ms = backoff.as_millis() as u64, "LiveKit connection lost; rejoining");
                set(&ctx.status, PublishStatus::Reconnecting);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn refused(e: &SignalError) -> bool {
    matches!(e, SignalError::Client(s, _) if s.as_u16() == 401 || s.as_u16() == 403)
        || matches!(e, SignalError::TokenFormat | SignalError::UrlParse(_))
}

fn ice_servers(servers: &[proto::IceServer]) -> Vec<RTCIceServer> {
    servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone(),
            credential: s.credential.clone(),
        })
        .collect()
}

fn candidate(init: &str) -> Option<RTCIceCandidateInit> {
    serde_json::from_str(init).ok()
}

/// Join once, publish, and serve the signalling until the connection ends.
async fn session(ctx: &Context, stop: &mut watch::Receiver<bool>) -> Result<End, StreamError> {
    let mut options = SignalOptions::default();
    options.auto_subscribe = false;
    options.region_failover = false;
    let connected = SignalClient::connect(&ctx.conn.url, &ctx.conn.token, options, None).await;
    let (client, join, mut events) = match connected {
        Ok(c) => c,
        Err(e) if refused(&e) => return Ok(End::Refused(e.to_string())),
        Err(e) => return Ok(End::Dropped(format!("join: {e}"))),
    };
    tracing::info!(
        server = %join.server_version,
        participant = %join.participant.as_ref().map(|p| p.sid.as_str()).unwrap_or(""),
        "joined LiveKit room"
    );
    let ice = ice_servers(&join.ice_servers);
    let publisher = new_peer(&ctx.settings, ice.clone()).await?;
    let mut joined = Joined::new(ctx, &client, ice, publisher);
    let result = match joined.add_track().await {
        Ok(()) => joined.serve(&mut events, stop).await,
        Err(e) => Err(e),
    };
    joined.close().await;
    if matches!(result, Ok(End::Stopped)) {
        client
            .send(Req::Leave(proto::LeaveRequest {
                can_reconnect: false,
                reason: proto::DisconnectReason::ClientInitiated as i32,
                action: proto::leave_request::Action::Disconnect as i32,
                ..Default::default()
            }))
            .await;
    }
    client.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::TokenVerifier;

    fn keys() -> LiveKitKeys {
        LiveKitKeys {
            api_key: "APIkey123".into(),
            api_secret: "a-secret-of-at-least-thirty-two-characters".into(),
        }
    }

    #[test]
    fn each_tenant_publishes_to_livekit_rooms_of_its_own() {
        assert_eq!(room_name(&TenantId::local(), "demo"), "demo");
        assert_eq!(room_name(&TenantId::new("org-a"), "demo"), "org-a:demo");
        assert_ne!(
            room_name(&TenantId::new("org-a"), "demo"),
            room_name(&TenantId::new("org-b"), "demo")
        );
    }

    #[test]
    fn the_service_token_grants_joining_and_publishing_one_room_only() {
        let token = room_token(&keys(), "demo-room", Duration::from_secs(600)).unwrap();
        let claims = TokenVerifier::with_api_key(&keys().api_key, &keys().api_secret)
            .verify(&token)
            .unwrap();
        assert_eq!(claims.iss, "APIkey123");
        assert_eq!(claims.sub, "browser-demo-room");
        assert!(claims.video.room_join);
        assert_eq!(claims.video.room, "demo-room");
        assert_eq!(claims.video.can_publish, Some(true));
        assert_eq!(claims.video.can_subscribe, Some(false));
        assert_eq!(claims.video.can_publish_data, Some(false));
        assert!(!claims.video.room_admin && !claims.video.room_create && !claims.video.room_list);
        let ttl = claims.exp as i64 - claims.nbf as i64;
        assert!((590..=610).contains(&ttl), "ttl {ttl}");
        // Signed with another secret: refused.
        assert!(
            TokenVerifier::with_api_key("APIkey123", "another-secret-of-thirty-two-chars!!")
                .verify(&token)
                .is_err()
        );
    }

    fn config(vars: &[(&str, &str)]) -> platform::Config {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        platform::Config::from_lookup(move |k| {
            if k == "CHROMIUM_PATH" {
                return Some("/bin/true".into());
            }
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    #[test]
    fn the_given_token_is_used_or_the_service_signs_one() {
        let target = |token: Option<&str>| LiveKitTarget {
            url: "wss://lk.example.com".into(),
            token: token.map(String::from),
        };
        let none = config(&[]);
        let c = connection(none.livekit_keys.as_ref(), "r", target(Some("given"))).unwrap();
        assert_eq!(
            (c.url.as_str(), c.token.as_str()),
            ("wss://lk.example.com", "given")
        );
        assert!(!format!("{c:?}").contains("given"), "Debug hides the token");
        // Nothing to sign with and no token.
        let e = connection(none.livekit_keys.as_ref(), "r", target(None)).unwrap_err();
        assert!(e.to_string().contains("LIVEKIT_API_KEY"), "{e}");
        assert_eq!(e.code(), "livekit_error");
        // Configured keys: a token the service signs for this room.
        let auto = config(&[
            ("LIVEKIT_URL", "ws://127.0.0.1:7880"),
            ("LIVEKIT_API_KEY", "APIkey123"),
            (
                "LIVEKIT_API_SECRET",
                "a-secret-of-at-least-thirty-two-characters",
            ),
        ]);
        let c = connection(auto.livekit_keys.as_ref(), "room-9", target(None)).unwrap();
        let claims = TokenVerifier::with_api_key(&keys().api_key, &keys().api_secret)
            .verify(&c.token)
            .unwrap();
        assert_eq!(claims.video.room, "room-9");
        assert!(!format!("{:?}", auto.livekit_keys).contains("thirty-two"));
    }
}

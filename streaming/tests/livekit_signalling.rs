//! LiveKit publishing against a SCRIPTED PEER, not a LiveKit server (none can be installed here).
//!
//! The scripted peer is written in this file: a WebSocket endpoint at `/rtc` that speaks LiveKit's
//! signalling protobufs (`livekit-protocol`) the way a LiveKit server does for one publisher —
//! it checks the bearer token's claims, sends a `JoinResponse`, answers `AddTrack` with
//! `TrackPublished`, answers the publisher's SDP offer from a real webrtc-rs peer that receives
//! the video, answers pings, records mutes and leaves, and can drop the connection on demand.
//! The service side is the real code: the session, screencast, encoder and
//! `streaming::livekit::Publisher` driven by the session's start, pause, resume and close.
//! What this cannot show (a real server's room logic, TURN, simulcast, other participants
//! receiving the track) is listed in the README.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use browser::session::StartOptions;
use browser::Engine;
use livekit_api::access_token::TokenVerifier;
use livekit_protocol as proto;
use platform::{Config, TenantId, Viewport};
use prost::Message as _;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streaming::LiveVideo;
use tokio::sync::Notify;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCIceGatheringState, RTCSessionDescription, Registry,
    SettingEngineBuilder,
};

const KEY: &str = "APIscripted";
const SECRET: &str = "scripted-peer-secret-of-32-characters";

/// A counter on a still background: every frame changes a little, so the encoder makes no
/// scene-change keyframes and the periodic ones are 4 s apart.
const ANIMATED: &str = r#"<!doctype html><html><body style="margin:0;background:#fff">
<div id="c" style="font:80px sans-serif;padding:40px"></div>
<script>
let n = 0;
function tick() { n++; document.getElementById('c').textContent = n; requestAnimationFrame(tick); }
requestAnimationFrame(tick);
</script></body></html>"#;

/// The received track and its SSRC.
type ReceivedTrack = (Arc<dyn TrackRemote>, u32);

/// What the scripted peer saw.
#[derive(Default)]
struct Seen {
    joins: AtomicUsize,
    rooms: Mutex<Vec<String>>,
    identities: Mutex<Vec<String>>,
    refused: AtomicUsize,
    tracks: Mutex<Vec<(u32, u32, i32)>>,
    mutes: Mutex<Vec<bool>>,
    leaves: AtomicUsize,
    packets: Arc<AtomicU64>,
    /// When each keyframe (its SPS) arrived, and the track to send keyframe requests on.
    keyframes: Arc<Mutex<Vec<Instant>>>,
    track: Mutex<Option<ReceivedTrack>>,
    drop_now: Notify,
}

/// Whether an H.264 RTP payload starts a keyframe (carries the SPS).
fn starts_keyframe(payload: &[u8]) -> bool {
    match payload.first().map(|b| b & 0x1f) {
        Some(7) => true,
        // STAP-A: the first aggregated unit's header follows its 2-byte size.
        Some(24) => payload.get(3).map(|b| b & 0x1f) == Some(7),
        // FU-A start fragment.
        Some(28) => payload
            .get(1)
            .is_some_and(|b| b & 0x80 != 0 && b & 0x1f == 7),
        _ => false,
    }
}

struct Gather(tokio::sync::mpsc::UnboundedSender<()>, Arc<Seen>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Gather {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(());
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let seen = self.1.clone();
        tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = ev {
                    seen.packets.fetch_add(1, Ordering::Relaxed);
                    *seen.track.lock().unwrap() = Some((track.clone(), p.header.ssrc));
                    if starts_keyframe(&p.payload) {
                        seen.keyframes.lock().unwrap().push(Instant::now());
                    }
                }
            }
        });
    }
}

/// The scripted peer's receiving side of the publisher connection.
async fn answer(offer: String, seen: Arc<Seen>) -> (Arc<dyn PeerConnection>, String) {
    let mut media = MediaEngine::default();
    media.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut media).unwrap();
    let (tx, mut gathered) = tokio::sync::mpsc::unbounded_channel();
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(
            SettingEngineBuilder::new()
                .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                .with_include_loopback_candidate(true)
                .build(),
        )
        .with_handler(Arc::new(Gather(tx, seen)))
        .with_runtime(webrtc::runtime::default_runtime().unwrap())
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .unwrap();
    pc.set_remote_description(RTCSessionDescription::offer(offer).unwrap())
        .await
        .unwrap();
    let a = pc.create_answer(None).await.unwrap();
    pc.set_local_description(a).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), gathered.recv())
        .await
        .unwrap();
    let sdp = pc.local_description().await.unwrap().sdp;
    (Arc::new(pc), sdp)
}

fn frame(msg: Resp) -> Message {
    Message::Binary(
        proto::SignalResponse { message: Some(msg) }
            .encode_to_vec()
            .into(),
    )
}

async fn rtc(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    axum::extract::State(seen): axum::extract::State<Arc<Seen>>,
) -> impl IntoResponse {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    let claims = match TokenVerifier::with_api_key(KEY, SECRET).verify(&token) {
        Ok(c) => c,
        Err(_) => {
            seen.refused.fetch_add(1, Ordering::SeqCst);
            return axum::http::StatusCode::UNAUTHORIZED.into_response();
        }
    };
    ws.on_upgrade(move |socket| session(socket, seen, claims))
}

async fn session(
    mut socket: WebSocket,
    seen: Arc<Seen>,
    claims: livekit_api::access_token::Claims,
) {
    seen.joins.fetch_add(1, Ordering::SeqCst);
    seen.rooms.lock().unwrap().push(claims.video.room.clone());
    seen.identities.lock().unwrap().push(claims.sub.clone());
    let join = proto::JoinResponse {
        room: Some(proto::Room {
            name: claims.video.room.clone(),
            sid: "RM_scripted".into(),
            ..Default::default()
        }),
        participant: Some(proto::ParticipantInfo {
            sid: "PA_scripted".into(),
            identity: claims.sub.clone(),
            ..Default::default()
        }),
        server_version: "scripted-peer".into(),
        ping_interval: 2,
        ping_timeout: 10,
        ..Default::default()
    };
    if socket.send(frame(Resp::Join(join))).await.is_err() {
        return;
    }
    let mut peer: Option<Arc<dyn PeerConnection>> = None;
    loop {
        let msg = tokio::select! {
            m = socket.recv() => m,
            _ = seen.drop_now.notified() => break,
        };
        let Some(Ok(msg)) = msg else { break };
        let Message::Binary(bytes) = msg else {
            continue;
        };
        let Ok(req) = proto::SignalRequest::decode(bytes.as_ref()) else {
            continue;
        };
        let reply = match req.message {
            Some(Req::AddTrack(t)) => {
                seen.tracks
                    .lock()
                    .unwrap()
                    .push((t.width, t.height, t.source));
                Some(Resp::TrackPublished(proto::TrackPublishedResponse {
                    cid: t.cid.clone(),
                    track: Some(proto::TrackInfo {
                        sid: "TR_scripted".into(),
                        name: t.name,
                        r#type: t.r#type,
                        width: t.width,
                        height: t.height,
                        ..Default::default()
                    }),
                }))
            }
            Some(Req::Offer(o)) => {
                let (pc, sdp) = answer(o.sdp, seen.clone()).await;
                peer = Some(pc);
                Some(Resp::Answer(proto::SessionDescription {
                    r#type: "answer".into(),
                    sdp,
                    id: o.id,
                    ..Default::default()
                }))
            }
            Some(Req::Mute(m)) => {
                seen.mutes.lock().unwrap().push(m.muted);
                None
            }
            Some(Req::Leave(_)) => {
                seen.leaves.fetch_add(1, Ordering::SeqCst);
                None
            }
            Some(Req::PingReq(p)) => Some(Resp::PongResp(proto::Pong {
                last_ping_timestamp: p.timestamp,
                timestamp: p.timestamp,
            })),
            _ => None,
        };
        if let Some(r) = reply {
            if socket.send(frame(r)).await.is_err() {
                break;
            }
        }
    }
    if let Some(pc) = peer {
        let _ = pc.close().await;
    }
}

/// Like LiveKit's `/rtc/validate`: why a join was refused.
async fn validate(headers: HeaderMap) -> axum::http::StatusCode {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    match TokenVerifier::with_api_key(KEY, SECRET).verify(token) {
        Ok(_) => axum::http::StatusCode::OK,
        Err(_) => axum::http::StatusCode::UNAUTHORIZED,
    }
}

async fn servers(seen: Arc<Seen>) -> (String, String) {
    let app = axum::Router::new()
        .route("/rtc", axum::routing::get(rtc))
        .route("/rtc/validate", axum::routing::get(validate))
        .route("/animated", axum::routing::get(|| async { Html(ANIMATED) }))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("ws://{addr}"), format!("http://{addr}/animated"))
}

/// The engine and live video on their own data directory, WebRTC on loopback; with `livekit`,
/// LiveKit configured there with the scripted peer's keys, without it no LiveKit at all.
async fn start(livekit: Option<&str>) -> (Arc<Engine>, Arc<LiveVideo>) {
    let dir = std::env::temp_dir().join(format!("bas-livekit-{}", uuid::Uuid::new_v4()));
    let d = dir.display().to_string();
    let livekit = livekit.map(String::from);
    let config = Config::from_lookup(|k| match k {
        "DATA_DIR" => Some(d.clone()),
        "PRIVATE_NETWORK_ALLOWLIST" => Some("127.0.0.1".into()),
        "WEBRTC_UDP_ADDRS" => Some("127.0.0.1:0".into()),
        "LIVEKIT_URL" => livekit.clone(),
        "LIVEKIT_URL_ALLOWLIST" => Some("127.0.0.1".into()),
        "LIVEKIT_API_KEY" => livekit.as_ref().map(|_| KEY.into()),
        "LIVEKIT_API_SECRET" => livekit.as_ref().map(|_| SECRET.into()),
        "REDIS_URL" | "MONGODB_URI" | "QDRANT_URL" => None,
        _ => std::env::var(k).ok(),
    })
    .unwrap();
    let engine = Engine::open(config).await.unwrap();
    let live = LiveVideo::start(engine.clone());
    (engine, live)
}

async fn until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_is_published_muted_on_pause_and_republished_after_a_drop() {
    let seen = Arc::new(Seen::default());
    let (lk_url, page) = servers(seen.clone()).await;
    let (engine, live) = start(Some(&lk_url)).await;
    let tenant = TenantId::local();
    let room = "lk-room";
    engine
        .sessions
        .start_session(
            &tenant,
            room,
            StartOptions {
                initial_url: Some(page.clone()),
                viewport: Some(Viewport {
                    width: 640,
                    height: 360,
                }),
                ..StartOptions::default()
            },
        )
        .await
        .unwrap();

    // Joined with the service's own token for this room, the track announced, media flowing.
    until(30, "RTP packets at the scripted peer", || {
        seen.packets.load(Ordering::Relaxed) > 50
    })
    .await;
    assert_eq!(*seen.rooms.lock().unwrap(), vec![room.to_string()]);
    assert_eq!(
        *seen.identities.lock().unwrap(),
        vec![format!("browser-{room}")]
    );
    assert_eq!(
        seen.tracks.lock().unwrap()[0],
        (640, 360, proto::TrackSource::ScreenShare as i32)
    );
    assert_eq!(
        live.room(&TenantId::local(), room).await.livekit.as_deref(),
        Some("published")
    );

    // A keyframe request (PLI) is answered at once, not at the next periodic keyframe (4 s).
    until(10, "a fresh keyframe", || {
        seen.keyframes
            .lock()
            .unwrap()
            .last()
            .is_some_and(|k| k.elapsed() < Duration::from_millis(300))
    })
    .await;
    let (track, ssrc) = seen.track.lock().unwrap().clone().unwrap();
    let asked = Instant::now();
    track
        .write_rtcp(vec![Box::new(
            rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
                sender_ssrc: 1,
                media_ssrc: ssrc,
            },
        )])
        .await
        .unwrap();
    until(5, "a keyframe after the request", || {
        seen.keyframes.lock().unwrap().iter().any(|k| *k > asked)
    })
    .await;
    let answered = seen
        .keyframes
        .lock()
        .unwrap()
        .iter()
        .find(|k| **k > asked)
        .map(|k| k.duration_since(asked))
        .unwrap();
    assert!(
        answered < Duration::from_millis(1500),
        "keyframe after {answered:?}"
    );

    // Pause: the track is muted and media stops; resume: unmuted and media flows again.
    engine.sessions.pause(&tenant, room).await.unwrap();
    until(10, "a mute", || {
        seen.mutes.lock().unwrap().first() == Some(&true)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = seen.packets.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = seen.packets.load(Ordering::Relaxed) - before;
    assert!(during <= 2, "{during} packets while paused");
    engine.sessions.resume(&tenant, room).await.unwrap();
    until(10, "an unmute", || {
        seen.mutes.lock().unwrap().get(1) == Some(&false)
    })
    .await;
    let resumed = seen.packets.load(Ordering::Relaxed);
    until(10, "media after resuming", || {
        seen.packets.load(Ordering::Relaxed) > resumed + 30
    })
    .await;

    // The connection drops: the publisher rejoins and publishes again.
    seen.drop_now.notify_waiters();
    until(20, "a second join", || {
        seen.joins.load(Ordering::SeqCst) >= 2
    })
    .await;
    let rejoined = seen.packets.load(Ordering::Relaxed);
    until(20, "media after rejoining", || {
        seen.packets.load(Ordering::Relaxed) > rejoined + 30
    })
    .await;
    assert_eq!(
        seen.tracks.lock().unwrap().len(),
        2,
        "the track is announced again"
    );

    // Closing the session leaves the room and releases the encoder.
    engine.sessions.close(&tenant, room).await.unwrap();
    until(10, "a leave", || seen.leaves.load(Ordering::SeqCst) >= 1).await;
    let mut v = live.room(&TenantId::local(), room).await;
    for _ in 0..50 {
        if !v.encoding {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        v = live.room(&TenantId::local(), room).await;
    }
    assert!(!v.encoding && v.livekit.is_none(), "{v:?}");
    assert_eq!(seen.refused.load(Ordering::SeqCst), 0);
    live.shutdown().await;
    engine.shutdown().await;
}

/// Two tenants' sessions of one room name, published with the service's own keys, join two
/// LiveKit rooms, each named for its tenant: no viewer of one sees the other's browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tenants_sessions_of_one_name_publish_to_separate_livekit_rooms() {
    let seen = Arc::new(Seen::default());
    let (lk_url, page) = servers(seen.clone()).await;
    let (engine, live) = start(Some(&lk_url)).await;
    let tenants = [TenantId::new("org-a"), TenantId::new("org-b")];
    for tenant in &tenants {
        engine
            .sessions
            .start_session(
                tenant,
                "demo",
                StartOptions {
                    initial_url: Some(page.clone()),
                    ..StartOptions::default()
                },
            )
            .await
            .unwrap();
    }
    until(30, "both sessions joined", || {
        seen.rooms.lock().unwrap().len() >= 2
    })
    .await;
    let mut rooms = seen.rooms.lock().unwrap().clone();
    rooms.sort();
    assert_eq!(rooms, vec!["org-a:demo", "org-b:demo"]);
    let mut identities = seen.identities.lock().unwrap().clone();
    identities.sort();
    assert_eq!(identities, vec!["browser-org-a:demo", "browser-org-b:demo"]);
    for tenant in &tenants {
        let video = live.room(tenant, "demo").await;
        assert_eq!(
            video.livekit_room,
            Some(format!("{tenant}:demo")),
            "{video:?}"
        );
        engine.sessions.close(tenant, "demo").await.unwrap();
    }
    live.shutdown().await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_token_fails_the_publisher_without_retrying() {
    let seen = Arc::new(Seen::default());
    let (lk_url, page) = servers(seen.clone()).await;
    let (engine, live) = start(None).await;
    let tenant = TenantId::local();
    engine
        .sessions
        .start_session(
            &tenant,
            "lk-bad",
            StartOptions {
                initial_url: Some(page),
                livekit_url: Some(lk_url.replace("ws://", "http://")),
                livekit_token: Some("not-a-valid-token".into()),
                ..StartOptions::default()
            },
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if live
            .room(&TenantId::local(), "lk-bad")
            .await
            .livekit
            .as_deref()
            == Some("failed")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}",
            live.room(&TenantId::local(), "lk-bad").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(seen.joins.load(Ordering::SeqCst), 0);
    assert!(seen.refused.load(Ordering::SeqCst) >= 1);
    // The session itself is unaffected.
    assert!(engine.sessions.info(&tenant, "lk-bad").is_ok());
    live.shutdown().await;
    engine.shutdown().await;
}

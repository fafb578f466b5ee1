//! Live video end to end: the service (the real binary) streams a session on an animated page;
//! a second, real headless Chromium opens the built-in viewer page (`/rooms/{room}/view`), which
//! connects over WHEP. The viewer's own WebRTC statistics must show frames decoded at the
//! session's frame rate and size; pausing the session must stop them and resuming restart them;
//! closing the session must close the viewers and stop the encoder.

mod common;

use axum::response::Html;
use common::viewers::Viewers;
use common::{eventually, Service};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ANIMATED: &str = testkit::sites::ANIMATED_PAGE;

/// A page that moves for 3 s, then stands still for 3 s, and so on.
const ALTERNATING: &str = r#"<!doctype html><html><body style="margin:0">
<div id="c" style="width:100vw;height:100vh;font:120px sans-serif"></div>
<script>
let n = 0;
function tick(t) { const c = document.getElementById('c');
  if (Math.floor(t / 3000) % 2 === 0) { n++; c.style.background = `hsl(${n % 360}, 70%, 50%)`; c.textContent = n; }
  requestAnimationFrame(tick); }
requestAnimationFrame(tick);
</script></body></html>"#;

async fn animated_site() -> String {
    let app = axum::Router::new()
        .route("/animated", axum::routing::get(|| async { Html(ANIMATED) }))
        .route(
            "/alternating",
            axum::routing::get(|| async { Html(ALTERNATING) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/animated")
}

/// Frames decoded per second over `span`, and the last statistics.
async fn rate(viewers: &Viewers, name: &str, span: Duration) -> (f64, Value) {
    // Statistics refresh every 500 ms: wait for one refresh, then measure between refreshes.
    let (f0, s0) = viewers.frames(name).await;
    let t0 = s0["stats"]["at"].as_f64().unwrap_or(0.0);
    tokio::time::sleep(span).await;
    let (f1, s1) = viewers.frames(name).await;
    let t1 = s1["stats"]["at"].as_f64().unwrap_or(0.0);
    let secs = ((t1 - t0) / 1000.0).max(0.001);
    ((f1.saturating_sub(f0)) as f64 / secs, s1)
}

fn encoder_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .map(|c| c.trim() == "video-encoder")
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

/// UDP sockets the process holds (WebRTC binds one per address per peer connection).
fn udp_sockets(pid: u32) -> usize {
    let mut inodes = std::collections::HashSet::new();
    for table in ["udp", "udp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            if let Some(inode) = line.split_whitespace().nth(9) {
                inodes.insert(inode.to_string());
            }
        }
    }
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|f| f.ok())
                .filter_map(|f| std::fs::read_link(f.path()).ok())
                .filter_map(|l| {
                    let l = l.display().to_string();
                    l.strip_prefix("socket:[")
                        .and_then(|r| r.strip_suffix(']'))
                        .map(String::from)
                })
                .filter(|i| inodes.contains(i))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_viewer_sees_the_session_at_its_rate_and_size_and_pausing_stops_it() {
    let page = animated_site().await;
    let svc = Service::start(&[]).await;
    let room = "live-demo";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": page,
               "viewport": {"width": 640, "height": 360}, "fps": 10}),
    )
    .await;
    let (_, c) = svc.get_json(&format!("/rooms/{room}/connections")).await;
    assert_eq!(c["detail"]["viewers"], 0, "{c}");
    assert_eq!(c["encoding"], false, "no encoder before a viewer: {c}");
    let udp_before = udp_sockets(svc.pid());

    // The viewer page is plain HTML with inline script only.
    let (status, html) = svc.get(&format!("/rooms/{room}/view")).await;
    assert_eq!(status, 200);
    assert!(html.contains("RTCPeerConnection") && !html.contains("<script src"));

    let viewers = Viewers::start().await;
    let view_url = format!("{}/rooms/{room}/view", svc.base);
    viewers.open("watcher-1", &view_url).await;
    let st = eventually(30, "the viewer decodes frames", || async {
        let (f, v) = viewers.frames("watcher-1").await;
        (f > 5).then_some(v)
    })
    .await;
    assert_eq!(st["state"], "connected", "{st}");

    // The configured rate and size, from the viewer's own statistics.
    let (fps, st) = rate(&viewers, "watcher-1", Duration::from_secs(4)).await;
    assert!(
        (7.0..=12.5).contains(&fps),
        "decoded {fps:.1} frames/s at fps 10: {st}"
    );
    assert_eq!(st["stats"]["frameWidth"], 640, "{st}");
    assert_eq!(st["stats"]["frameHeight"], 360, "{st}");

    // A second viewer shares the room's one encoder.
    viewers.open("watcher-2", &view_url).await;
    eventually(30, "the second viewer decodes frames", || async {
        (viewers.frames("watcher-2").await.0 > 5).then_some(())
    })
    .await;
    let (_, c) = svc.get_json(&format!("/rooms/{room}/connections")).await;
    assert_eq!(c["detail"]["viewers"], 2, "{c}");
    assert_eq!(c["encoding"], true, "{c}");
    assert_eq!(encoder_threads(svc.pid()), 1, "one encoder for two viewers");
    let (_, metrics) = svc.get("/metrics").await;
    assert!(
        metrics.contains("bas_video_viewers_total{outcome=\"joined\"} 2")
            && metrics.contains("bas_video_encoders_started_total 1"),
        "{metrics}"
    );

    // Pausing stops the frames; resuming restarts them.
    svc.ok("pause_browser_session", json!({"room_name": room}))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (paused_fps, st) = rate(&viewers, "watcher-1", Duration::from_secs(3)).await;
    assert!(
        paused_fps < 0.5,
        "{paused_fps:.2} frames/s while paused: {st}"
    );
    let (_, c) = svc.get_json(&format!("/rooms/{room}/connections")).await;
    assert_eq!(c["paused"], true, "{c}");
    svc.ok("resume_browser_session", json!({"room_name": room}))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (resumed_fps, st) = rate(&viewers, "watcher-1", Duration::from_secs(3)).await;
    assert!(
        resumed_fps > 6.0,
        "{resumed_fps:.1} frames/s after resuming: {st}"
    );

    // A viewer that leaves is no longer counted.
    viewers.close("watcher-2").await;
    eventually(30, "the departed viewer is uncounted", || async {
        let (_, c) = svc.get_json(&format!("/rooms/{room}/connections")).await;
        (c["detail"]["viewers"] == 1).then_some(())
    })
    .await;

    // Closing the session closes the viewers and releases the encoder.
    assert!(
        udp_sockets(svc.pid()) > udp_before,
        "viewers hold UDP sockets"
    );
    svc.ok("close_browser_session", json!({"room_name": room}))
        .await;
    eventually(
        15,
        "the encoder stops and the peer connections close",
        || async {
            let (_, c) = svc.get_json(&format!("/rooms/{room}/connections")).await;
            (c["detail"]["viewers"] == 0
                && c["encoding"] == false
                && encoder_threads(svc.pid()) == 0
                && udp_sockets(svc.pid()) == udp_before)
                .then_some(())
        },
    )
    .await;
    // Both viewers left and the encoder stopped, in /metrics too.
    assert_eq!(svc.metric("bas_video_viewers_left_total").await, 2.0);
    assert_eq!(svc.metric("bas_video_encoders_stopped_total").await, 1.0);
    let started = Instant::now();
    let st = eventually(30, "the viewer notices", || async {
        let v = viewers.state("watcher-1").await;
        (v["state"] != "connected").then_some(v)
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(30), "{st}");
    viewers.close("watcher-1").await;
    viewers.engine.shutdown().await;
}

/// The frames a viewer showed: (shown at, received at) in ms of the viewer page's clock.
async fn shown(viewers: &Viewers, name: &str) -> Vec<(f64, Option<f64>)> {
    let v = viewers.state(name).await;
    v["shown"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| (f[0].as_f64().unwrap(), f[1].as_f64()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn frames_carry_their_capture_time_so_motion_shows_at_once_after_a_pause_or_a_still_page() {
    let page = animated_site().await;
    let svc = Service::start(&[]).await;
    let room = "timing";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": page,
               "viewport": {"width": 640, "height": 360}, "fps": 10}),
    )
    .await;
    let viewers = Viewers::start().await;
    viewers
        .open("watcher", &format!("{}/rooms/{room}/view", svc.base))
        .await;
    eventually(30, "the viewer decodes frames", || async {
        (viewers.frames("watcher").await.0 > 20).then_some(())
    })
    .await;
    // A 5 s pause, then motion again.
    svc.ok("pause_browser_session", json!({"room_name": room}))
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    svc.ok("resume_browser_session", json!({"room_name": room}))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let frames = shown(&viewers, "watcher").await;
    let pause = frames
        .windows(2)
        .position(|w| w[1].0 - w[0].0 >= 4000.0)
        .unwrap_or_else(|| panic!("no 5 s pause among the frames shown: {frames:?}"));
    let after: Vec<f64> = frames[pause + 1..]
        .iter()
        .map(|f| f.0)
        .take_while(|t| *t - frames[pause + 1].0 <= 2000.0)
        .collect();
    assert!(
        after.len() >= 12,
        "motion resumed at {} frames in 2 s",
        after.len()
    );
    let longest = after.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(longest < 300.0, "a {longest:.0} ms freeze after resuming");

    // A page that stands still for 3 s between 3 s of motion: motion shows at once each time.
    svc.ok(
        "execute_action",
        json!({"room_name": room, "action": "navigate",
               "url": page.replace("/animated", "/alternating")}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(13)).await;
    let frames = shown(&viewers, "watcher").await;
    let (_, st) = viewers.frames("watcher").await;
    // Every frame shown as soon as it arrived (a frame stamped a gap off is held back for as
    // long as the gap), the first two seconds of the connection left out.
    let settled = frames[0].0 + 2000.0;
    let held: Vec<f64> = frames
        .iter()
        .filter(|f| f.0 > settled)
        .filter_map(|f| f.1.map(|r| f.0 - r))
        .collect();
    assert!(
        held.len() > 100,
        "receive times of {} frames: {st}",
        held.len()
    );
    let worst = held.iter().copied().fold(0.0, f64::max);
    assert!(
        worst < 300.0,
        "a frame was held {worst:.0} ms before it was shown"
    );
    assert_eq!(st["stats"]["framesDropped"], 0, "{st}");
    viewers.close("watcher").await;
    viewers.engine.shutdown().await;
}

/// A session start naming `livekit_url` is refused with 403 `blocked_url`, its detail saying
/// `why`, before any token is signed or sent.
async fn livekit_refused(svc: &Service, livekit_url: &str, why: &str) {
    let (status, body) = svc
        .call(
            "start_browser_session",
            json!({"room_name": "lk", "livekit_url": livekit_url, "livekit_token": "t"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("blocked_url")),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whep_requests_get_typed_errors() {
    let svc = Service::start(&[]).await;
    let http = common::http_client(Duration::from_secs(30));
    let offer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n";
    // Unknown session.
    let r = http
        .post(format!("{}/rooms/nobody-here/whep", svc.base))
        .header("content-type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "session_not_found", "{body}");

    svc.ok("start_browser_session", json!({"room_name": "errs"}))
        .await;
    for (sdp, why) in [
        ("hello", "not SDP"),
        ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "no video"),
    ] {
        let r = http
            .post(format!("{}/rooms/errs/whep", svc.base))
            .header("content-type", "application/sdp")
            .body(sdp)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{why}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "invalid_offer", "{why}: {body}");
    }
    let r = http
        .post(format!("{}/rooms/errs/whep", svc.base))
        .body("v=0\r\n".to_string() + &"a=x\r\n".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413, "an oversized offer is refused");
    let r = http
        .delete(format!("{}/rooms/errs/whep/no-such-viewer", svc.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "viewer_not_found", "{body}");

    // A LiveKit server the operator did not allow is refused before any token is signed or sent.
    livekit_refused(&svc, "wss://lk.example.com", "LIVEKIT_URL_ALLOWLIST").await;
    let (status, _) = svc
        .call(
            "start_browser_session",
            json!({"room_name": "lk", "livekit_url": "ftp://x", "livekit_token": "t"}),
        )
        .await;
    assert_eq!(status, 400);
    // An allowed host that resolves to a refused address is refused by the network policy.
    let mut lk = Service::start(&[("LIVEKIT_URL_ALLOWLIST", "169.254.169.254")]).await;
    livekit_refused(&lk, "ws://169.254.169.254:7880", "private or local").await;
    lk.stop();

    // The service still serves.
    let (_, c) = svc.get_json("/rooms/errs/connections").await;
    assert_eq!(c["detail"]["viewers"], 0);
    assert_eq!(svc.health().await["event_bus"]["ok"], true);
}

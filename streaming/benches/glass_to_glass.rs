//! End-to-end live-video benchmark: real Chromium renders a page that paints the current time
//! (`Date.now()`, as 44 black-or-white blocks) every animation frame; the session's video goes
//! through the screencast, the H.264 encoder and WebRTC (the service's own WHEP code) to the
//! built-in viewer page, opened in a second real headless Chromium. The viewer reads the blocks
//! back from each decoded video frame (`requestVideoFrameCallback`) and compares them with the
//! time the frame is shown: glass-to-glass latency. Reports, per size and frame rate: frames per
//! second decoded by the viewer, latency median and 95th percentile, and machine CPU (both
//! browsers included); then how many 720p streams at 10 FPS, each with a viewer, this machine
//! sustains.
//!
//! cargo bench -p streaming --bench glass_to_glass -- [SECONDS] [MAX_STREAMS]

#[path = "common/mod.rs"]
mod common;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use browser::Engine;
use platform::{Config, TenantId};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streaming::LiveVideo;

/// The source page: a changing colour and the time in ms as 44 blocks of 16x24 px, top left.
const TIMECODE: &str = r#"<!doctype html><html><body style="margin:0;overflow:hidden">
<canvas id="c"></canvas>
<script>
const c = document.getElementById('c'); c.width = innerWidth; c.height = innerHeight;
const g = c.getContext('2d'); let n = 0;
function tick() {
  n++; g.fillStyle = `hsl(${n % 360}, 70%, 50%)`; g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = '#000'; g.font = '120px sans-serif'; g.fillText(String(n), 40, 300);
  let t = Date.now();
  for (let i = 43; i >= 0; i--) { g.fillStyle = (t % 2) ? '#fff' : '#000'; g.fillRect(i * 16, 0, 16, 24); t = Math.floor(t / 2); }
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);
</script></body></html>"#;

/// Injected into the viewer page: decode each shown frame's time blocks.
const READ_TIMECODE: &str = r#"(() => {
  window.g2g = [];
  const v = document.getElementById('video');
  const c = document.createElement('canvas');
  const g = c.getContext('2d', { willReadFrequently: true });
  function frame(now, meta) {
    if (v.videoWidth >= 704) {
      c.width = 704; c.height = 24;
      g.drawImage(v, 0, 0, 704, 24, 0, 0, 704, 24);
      const d = g.getImageData(0, 0, 704, 24).data;
      let t = 0;
      for (let i = 0; i < 44; i++) { const p = (12 * 704 + i * 16 + 8) * 4; t = t * 2 + (d[p] > 127 ? 1 : 0); }
      const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
      const lat = shown - t;
      if (lat > 0 && lat < 10000) window.g2g.push(lat);
    }
    v.requestVideoFrameCallback(frame);
  }
  v.requestVideoFrameCallback(frame);
  return true;
})()"#;

#[derive(Clone)]
struct App {
    live: Arc<LiveVideo>,
}

async fn whep(State(app): State<App>, Path(room): Path<String>, body: String) -> Response {
    match app.live.offer(&TenantId::local(), &room, body).await {
        Ok(a) => (
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, "application/sdp".to_string()),
                (header::LOCATION, format!("/rooms/{room}/whep/{}", a.id)),
            ],
            a.sdp,
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn viewer_state(viewers: &Engine, name: &str, expr: &str) -> Value {
    let Ok((lease, _, _)) = viewers.sessions.live_page(&TenantId::local(), name) else {
        return Value::Null;
    };
    lease
        .page()
        .evaluate(format!("JSON.stringify({expr})"))
        .await
        .ok()
        .and_then(|v| v.into_value::<String>().ok())
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

struct Run {
    fps: Vec<f64>,
    latency_ms: Vec<f64>,
    cpu_cores: f64,
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[allow(clippy::too_many_arguments)]
async fn run(
    source: &Arc<Engine>,
    viewers: &Arc<Engine>,
    base: &str,
    streams: usize,
    w: u32,
    h: u32,
    fps: u32,
    secs: u64,
) -> Run {
    let tenant = TenantId::local();
    let mut names = Vec::new();
    for i in 0..streams {
        let room = format!("g2g-{w}-{fps}-{i}");
        common::open_session(
            source,
            &room,
            &format!("{base}/timecode"),
            (w, h),
            Some(fps),
        )
        .await;
        let viewer = format!("viewer-{i}");
        let view = format!("{base}/rooms/{room}/view");
        common::open_session(viewers, &viewer, &view, (640, 400), None).await;
        names.push((room, viewer));
    }
    // Wait until every viewer decodes, then start reading the time blocks.
    let deadline = Instant::now() + Duration::from_secs(30);
    for (_, viewer) in &names {
        loop {
            let s = viewer_state(viewers, viewer, "window.viewer").await;
            if s["stats"]["framesDecoded"].as_u64().unwrap_or(0) > 3 {
                break;
            }
            assert!(Instant::now() < deadline, "viewer never decoded: {s}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        viewer_state(viewers, viewer, READ_TIMECODE).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut before = Vec::new();
    for (_, viewer) in &names {
        before.push(viewer_state(viewers, viewer, "window.viewer.stats").await);
    }
    let cpu0 = common::cpu_jiffies();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu1 = common::cpu_jiffies();
    let mut fps_out = Vec::new();
    let mut latency = Vec::new();
    for ((_, viewer), b) in names.iter().zip(&before) {
        let a = viewer_state(viewers, viewer, "window.viewer.stats").await;
        let frames =
            a["framesDecoded"].as_f64().unwrap_or(0.0) - b["framesDecoded"].as_f64().unwrap_or(0.0);
        let span = (a["at"].as_f64().unwrap_or(0.0) - b["at"].as_f64().unwrap_or(0.0)) / 1000.0;
        fps_out.push(frames / span.max(0.001));
        let l = viewer_state(viewers, viewer, "window.g2g").await;
        if let Some(arr) = l.as_array() {
            latency.extend(arr.iter().filter_map(|x| x.as_f64()));
        }
    }
    for (room, viewer) in names {
        let _ = viewers.sessions.close(&tenant, &viewer).await;
        let _ = source.sessions.close(&tenant, &room).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let busy_cores = common::busy_cores(cpu0, cpu1);
    Run {
        fps: fps_out,
        latency_ms: latency,
        cpu_cores: busy_cores,
    }
}

fn engine_config(dir: &std::path::Path) -> Config {
    let d = dir.display().to_string();
    Config::from_lookup(|k| match k {
        "DATA_DIR" => Some(d.clone()),
        "PRIVATE_NETWORK_ALLOWLIST" => Some("127.0.0.1".into()),
        "MAX_SESSIONS" => Some("64".into()),
        "MAX_BROWSERS" => Some("1".into()),
        "WEBRTC_UDP_ADDRS" => Some("127.0.0.1:0".into()),
        // The viewer pages are trusted: their WebRTC media is UDP, which the egress proxy every
        // other page goes through cannot carry.
        "PAGE_WEBRTC_UDP" => Some("true".into()),
        "REDIS_URL" | "MONGODB_URI" | "QDRANT_URL" | "LIVEKIT_URL" => None,
        _ => std::env::var(k).ok(),
    })
    .unwrap()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(6);
    let max_streams: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    let root = std::env::temp_dir().join(format!("bas-bench-g2g-{}", std::process::id()));
    let source = Engine::open(engine_config(&root.join("source")))
        .await
        .unwrap();
    let viewers = Engine::open(engine_config(&root.join("viewers")))
        .await
        .unwrap();
    let live = LiveVideo::start(source.clone());
    let app = axum::Router::new()
        .route("/timecode", axum::routing::get(|| async { Html(TIMECODE) }))
        .route(
            "/rooms/{room}/view",
            axum::routing::get(|| async { Html(streaming::whep::VIEWER_PAGE) }),
        )
        .route("/rooms/{room}/whep", axum::routing::post(whep))
        .with_state(App { live: live.clone() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    println!(
        "glass to glass: {secs} s per run, {} cores; viewer = headless Chromium on this machine",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<10} {:>4} {:>12} {:>16} {:>13} {:>11}",
        "size", "fps", "viewer fps", "latency median", "latency p95", "CPU cores"
    );
    for (w, h, fps) in [(1280, 720, 10), (1280, 720, 30), (1920, 1080, 10)] {
        let r = run(&source, &viewers, &base, 1, w, h, fps, secs).await;
        println!(
            "{:<10} {:>4} {:>12.1} {:>13.0} ms {:>10.0} ms {:>11.2}",
            format!("{w}x{h}"),
            fps,
            r.fps[0],
            percentile(&r.latency_ms, 0.5),
            percentile(&r.latency_ms, 0.95),
            r.cpu_cores
        );
    }
    println!("\nconcurrent 1280x720 streams at 10 FPS, one viewer each:");
    println!(
        "{:>8} {:>20} {:>18} {:>16} {:>10}",
        "streams", "slowest viewer fps", "latency median", "latency p95", "sustained"
    );
    let mut sustained = 0;
    for n in 1..=max_streams {
        let r = run(&source, &viewers, &base, n, 1280, 720, 10, secs).await;
        let slowest = r.fps.iter().cloned().fold(f64::MAX, f64::min);
        let ok = slowest >= 9.0;
        println!(
            "{:>8} {:>20.1} {:>15.0} ms {:>13.0} ms {:>10}",
            n,
            slowest,
            percentile(&r.latency_ms, 0.5),
            percentile(&r.latency_ms, 0.95),
            if ok { "yes" } else { "no" }
        );
        if ok {
            sustained = n;
        } else {
            break;
        }
    }
    println!("\nthis machine sustains {sustained} concurrent 720p10 streams with a viewer each");
    live.shutdown().await;
    viewers.shutdown().await;
    source.shutdown().await;
    let _ = std::fs::remove_dir_all(root);
}

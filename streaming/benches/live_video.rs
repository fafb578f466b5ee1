//! Live-video benchmark: real Chromium screencasts an animated page (a counter and a changing
//! colour every animation frame) per session, each session's pipeline encodes it to H.264, and a
//! subscriber counts what arrives. Reports, per resolution and frame rate: frames per second
//! sustained per stream, encoder time per frame, and machine CPU per stream (from /proc/stat, so
//! Chromium's JPEG work counts too); then how many 720p streams at 10 FPS this machine sustains
//! (each within 10% of its frame rate).
//!
//! cargo bench -p streaming --bench live_video -- [SECONDS] [MAX_STREAMS]
//!
//! Glass-to-glass latency, through WebRTC to a viewer, is measured by the `glass_to_glass` bench.

#[path = "common/mod.rs"]
mod common;

use axum::response::Html;
use browser::Engine;
use platform::{Config, TenantId};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streaming::pipeline::{Pipeline, PipelineConfig};
use streaming::screencast::Screencast;

const ANIMATED: &str = r#"<!doctype html><html><body style="margin:0">
<div id="c" style="width:100vw;height:100vh;font:160px sans-serif"></div>
<script>
let n = 0;
function tick() { n++; const c = document.getElementById('c');
  c.style.background = `hsl(${n % 360}, 70%, 50%)`; c.textContent = n + ' ' + Date.now(); requestAnimationFrame(tick); }
requestAnimationFrame(tick);
</script></body></html>"#;

struct Run {
    fps: Vec<f64>,
    encode_ms: f64,
    cpu_cores_per_stream: f64,
}

async fn run(
    engine: &Arc<Engine>,
    url: &str,
    streams: usize,
    w: u32,
    h: u32,
    fps: u32,
    secs: u64,
) -> Run {
    let tenant = TenantId::local();
    let mut live = Vec::new();
    for i in 0..streams {
        let room = format!("bench-{w}-{fps}-{i}");
        common::open_session(engine, &room, url, (w, h), Some(fps)).await;
        let (lease, vp, f) = engine.sessions.live_page(&tenant, &room).unwrap();
        let cast = Screencast::start(lease.page().clone(), vp.width, vp.height, f)
            .await
            .unwrap();
        let pipe = Pipeline::start(
            cast.frames(),
            PipelineConfig::for_size(f, vp.width, vp.height),
        )
        .unwrap();
        let rx = pipe.subscribe();
        live.push((room, cast, pipe, rx));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // What arrived while the pages loaded is not counted.
    for (_, _, _, rx) in live.iter_mut() {
        while rx.try_recv().is_ok() {}
    }
    let cpu0 = common::cpu_jiffies();
    let started = Instant::now();
    let before: Vec<(u64, u64)> = live
        .iter()
        .map(|(_, _, p, _)| {
            let s = p.stats();
            (
                s.encoded.load(std::sync::atomic::Ordering::Relaxed),
                s.busy_micros.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
        .collect();
    let mut counts = vec![0usize; streams];
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        for (i, (_, _, _, rx)) in live.iter_mut().enumerate() {
            while rx.try_recv().is_ok() {
                counts[i] += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu1 = common::cpu_jiffies();
    let busy_cores = common::busy_cores(cpu0, cpu1);
    let mut enc_frames = 0u64;
    let mut enc_micros = 0u64;
    for ((_, _, p, _), (f0, b0)) in live.iter().zip(&before) {
        let s = p.stats();
        enc_frames += s.encoded.load(std::sync::atomic::Ordering::Relaxed) - f0;
        enc_micros += s.busy_micros.load(std::sync::atomic::Ordering::Relaxed) - b0;
    }
    for (room, cast, pipe, _) in live {
        drop(pipe);
        cast.stop().await;
        let _ = engine.sessions.close(&tenant, &room).await;
    }
    Run {
        fps: counts.iter().map(|&c| c as f64 / wall).collect(),
        encode_ms: enc_micros as f64 / 1000.0 / enc_frames.max(1) as f64,
        cpu_cores_per_stream: busy_cores / streams as f64,
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(5);
    let max_streams: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    let app = axum::Router::new().route("/", axum::routing::get(|| async { Html(ANIMATED) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = std::env::temp_dir().join(format!("bas-bench-video-{}", std::process::id()));
    let d = dir.display().to_string();
    let config = Config::from_lookup(|k| match k {
        "DATA_DIR" => Some(d.clone()),
        "PRIVATE_NETWORK_ALLOWLIST" => Some("127.0.0.1".into()),
        "MAX_SESSIONS" => Some("64".into()),
        _ => std::env::var(k).ok(),
    })
    .unwrap();
    let engine = Engine::open(config).await.unwrap();
    println!(
        "live video: {secs} s per run, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<10} {:>4} {:>14} {:>16} {:>18}",
        "size", "fps", "fps sustained", "encode ms/frame", "CPU cores/stream"
    );
    for (w, h) in [(1280, 720), (1920, 1080)] {
        for fps in [10, 30] {
            let r = run(&engine, &url, 1, w, h, fps, secs).await;
            println!(
                "{:<10} {:>4} {:>14.1} {:>16.1} {:>18.2}",
                format!("{w}x{h}"),
                fps,
                median(&r.fps),
                r.encode_ms,
                r.cpu_cores_per_stream
            );
        }
    }
    println!("\nconcurrent 1280x720 streams at 10 FPS:");
    println!(
        "{:>8} {:>22} {:>18} {:>10}",
        "streams", "median fps per stream", "slowest stream fps", "sustained"
    );
    let mut sustained = 0;
    let mut n = 1;
    while n <= max_streams {
        let r = run(&engine, &url, n, 1280, 720, 10, secs).await;
        let slowest = r.fps.iter().cloned().fold(f64::MAX, f64::min);
        let ok = slowest >= 9.0;
        println!(
            "{:>8} {:>22.1} {:>18.1} {:>10}",
            n,
            median(&r.fps),
            slowest,
            if ok { "yes" } else { "no" }
        );
        if ok {
            sustained = n;
        } else {
            break;
        }
        n *= 2;
    }
    println!(
        "\nthis machine sustains {sustained} concurrent 720p streams at 10 FPS (of those tried)"
    );
    engine.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

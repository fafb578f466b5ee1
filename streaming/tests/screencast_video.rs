//! A real session's page, live: real Chromium screencasts an animated page served on 127.0.0.1,
//! the pipeline encodes it to H.264, and OpenH264's decoder reads the samples back. Checks the
//! frame rate and picture size a viewer gets, that a still page costs only keep-alive frames,
//! and that pausing stops the samples.

use axum::response::Html;
use browser::session::StartOptions;
use browser::Engine;
use openh264_check::decode_all;
use platform::{Config, TenantId};
use std::time::{Duration, Instant};
use streaming::pipeline::{Pipeline, PipelineConfig, Sample};
use streaming::screencast::Screencast;

mod openh264_check {
    use streaming::pipeline::Sample;

    /// Decode samples in order; the picture sizes seen.
    pub fn decode_all(samples: &[Sample]) -> Vec<(usize, usize)> {
        use openh264::formats::YUVSource;
        let mut dec = openh264::decoder::Decoder::new().unwrap();
        samples
            .iter()
            .filter_map(|s| {
                dec.decode(&s.frame.data)
                    .ok()
                    .flatten()
                    .map(|p| p.dimensions())
            })
            .collect()
    }
}

const ANIMATED: &str = testkit::sites::ANIMATED_PAGE;

const STILL: &str = "<!doctype html><html><body><h1>Nothing moves here</h1></body></html>";

async fn site() -> String {
    let app = axum::Router::new()
        .route("/animated", axum::routing::get(|| async { Html(ANIMATED) }))
        .route("/still", axum::routing::get(|| async { Html(STILL) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn collect(rx: &mut tokio::sync::broadcast::Receiver<Sample>, for_: Duration) -> Vec<Sample> {
    let deadline = Instant::now() + for_;
    let mut out = Vec::new();
    while let Ok(Ok(s)) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        rx.recv(),
    )
    .await
    {
        out.push(s);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_is_encoded_at_its_frame_rate_and_size_and_pauses() {
    let base = site().await;
    let dir = std::env::temp_dir().join(format!("bas-stream-{}", uuid::Uuid::new_v4()));
    let d = dir.display().to_string();
    let config = Config::from_lookup(|k| match k {
        "DATA_DIR" => Some(d.clone()),
        "PRIVATE_NETWORK_ALLOWLIST" => Some("127.0.0.1".into()),
        _ => std::env::var(k).ok(),
    })
    .unwrap();
    let engine = Engine::open(config).await.unwrap();
    let tenant = TenantId::local();
    let info = engine
        .sessions
        .start_session(
            &tenant,
            "live-1",
            StartOptions {
                initial_url: Some(format!("{base}/animated")),
                viewport: Some(platform::config::Viewport {
                    width: 640,
                    height: 360,
                }),
                fps: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(info.fps, 10);
    let (lease, viewport, fps) = engine.sessions.live_page(&tenant, "live-1").unwrap();
    let cast = Screencast::start(lease.page().clone(), viewport.width, viewport.height, fps)
        .await
        .unwrap();
    let pipeline = Pipeline::start(
        cast.frames(),
        PipelineConfig::for_size(fps, viewport.width, viewport.height),
    )
    .unwrap();
    let mut rx = pipeline.subscribe();
    // Let it settle, then measure three seconds.
    collect(&mut rx, Duration::from_millis(700)).await;
    let samples = collect(&mut rx, Duration::from_secs(3)).await;
    let sizes = decode_all(&samples);
    assert!(
        (24..=33).contains(&samples.len()),
        "about 10 frames per second of an animated page: {} in 3 s",
        samples.len()
    );
    assert!(
        sizes.len() >= samples.len() - 1,
        "every sample decodes: {} of {}",
        sizes.len(),
        samples.len()
    );
    assert!(
        sizes.iter().all(|&s| s == (640, 360)),
        "the viewport's size: {sizes:?}"
    );

    // A still page: only keep-alives (one a second), not the frame rate.
    engine
        .sessions
        .execute(
            &tenant,
            "live-1",
            browser::session::actions::ActionKind::Navigate,
            &browser::session::actions::ActionFields {
                url: Some(format!("{base}/still")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    collect(&mut rx, Duration::from_millis(1500)).await;
    let still = collect(&mut rx, Duration::from_secs(3)).await;
    assert!(
        (1..=6).contains(&still.len()),
        "a still page sends keep-alives only: {} in 3 s",
        still.len()
    );

    // Paused: nothing.
    pipeline.set_paused(true);
    collect(&mut rx, Duration::from_millis(300)).await;
    let paused = collect(&mut rx, Duration::from_secs(2)).await;
    assert!(paused.is_empty(), "{} samples while paused", paused.len());
    pipeline.set_paused(false);
    let resumed = collect(&mut rx, Duration::from_millis(1500)).await;
    assert!(!resumed.is_empty(), "samples again after resuming");
    assert!(resumed[0].frame.keyframe, "resuming starts with a keyframe");

    drop(pipeline);
    cast.stop().await;
    engine.sessions.close(&tenant, "live-1").await.unwrap();
    engine.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

//! Session recordings end to end: the service (the real binary) records a session on an animated
//! page; `ffprobe` (Debian's ffmpeg) reads the stored MP4, its action track lists the session's
//! actions at their times in the recording (the pause left out), and real headless Chromium plays
//! it in a `<video>` element. A `kill -9` mid-recording leaves a playable file, stored at the next
//! start; on a real S3-compatible server (s3s-fs) the listed URL is presigned and downloads it.

mod common;

use axum::response::{Html, IntoResponse};
use common::{eventually, temp_dir, Service};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::servers::{S3Server, S3_ACCESS_KEY, S3_SECRET_KEY};

const ANIMATED: &str = testkit::sites::ANIMATED_PAGE;

/// A page playing `/recording.mp4` that says in its title how playing went.
const PLAYER: &str = r#"<!doctype html><html><head><title>loading</title></head><body>
<video id="v" src="/recording.mp4" muted autoplay playsinline></video>
<script>
const v = document.getElementById('v');
v.addEventListener('error', () => { document.title = 'error ' + (v.error && v.error.code); });
v.addEventListener('timeupdate', () => {
  if (v.currentTime > 1 && v.videoWidth > 0) document.title = 'played ' + v.videoWidth + 'x' + v.videoHeight;
});
</script></body></html>"#;

/// Serves the animated page, and a player page for whatever MP4 `video` holds.
async fn site(video: Arc<Mutex<Vec<u8>>>) -> String {
    let app = axum::Router::new()
        .route("/animated", axum::routing::get(|| async { Html(ANIMATED) }))
        .route("/player", axum::routing::get(|| async { Html(PLAYER) }))
        .route(
            "/recording.mp4",
            axum::routing::get(move || {
                let bytes = video.lock().unwrap().clone();
                async move { ([("content-type", "video/mp4")], bytes).into_response() }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// `ffprobe`'s view of a file: its streams and format.
fn probe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe (Debian's ffmpeg) is installed");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The cues of a file's subtitle track: (start in seconds, text).
fn cues(path: &Path) -> Vec<(f64, String)> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:s", "-f", "webvtt", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some((start, _)) = l.split_once(" --> ") {
            let secs = start
                .rsplit(':')
                .zip([1.0, 60.0, 3600.0])
                .map(|(p, m)| p.parse::<f64>().unwrap() * m)
                .sum();
            out.push((secs, lines.get(i + 1).unwrap_or(&"").to_string()));
        }
    }
    out
}

async fn download(svc: &Service, url: &str, to: &Path) -> Vec<u8> {
    let bytes = if url.starts_with('/') {
        let r = common::http_client(Duration::from_secs(30))
            .get(format!("{}{url}", svc.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {url}");
        r.bytes().await.unwrap().to_vec()
    } else {
        // A presigned URL: no credentials of ours.
        let r = common::http_client(Duration::from_secs(30))
            .get(url)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {url}");
        r.bytes().await.unwrap().to_vec()
    };
    std::fs::write(to, &bytes).unwrap();
    bytes
}

async fn recordings(svc: &Service, room: &str) -> Vec<Value> {
    let v = svc.ok("list_recordings", json!({"room_name": room})).await;
    v["recordings"].as_array().unwrap().clone()
}

async fn act(svc: &Service, room: &str, at: Instant, secs: f64, action: Value) {
    let due = at + Duration::from_secs_f64(secs);
    tokio::time::sleep(due.saturating_duration_since(Instant::now())).await;
    let mut args = action;
    args["room_name"] = json!(room);
    svc.ok("execute_action", args).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recorded_session_is_an_mp4_with_its_actions_that_chromium_plays() {
    let video = Arc::new(Mutex::new(Vec::new()));
    let base = site(video.clone()).await;
    let svc = Service::start(&[]).await;
    let room = "recorded";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": format!("{base}/animated"),
               "viewport": {"width": 640, "height": 360}, "fps": 10, "record": true}),
    )
    .await;
    let t0 = Instant::now();
    // Started with the session (its live video follows the session's start on a task of its own).
    eventually(10, "the recording starts", || async {
        let listed = recordings(&svc, room).await;
        (listed.len() == 1 && listed[0]["status"] == "recording").then_some(())
    })
    .await;
    // Three actions, a 5 s pause between the second and the third, 20 s in all.
    act(
        &svc,
        room,
        t0,
        3.0,
        json!({"action": "scroll", "delta_y": 200}),
    )
    .await;
    act(
        &svc,
        room,
        t0,
        6.0,
        json!({"action": "click", "x": 100, "y": 100}),
    )
    .await;
    tokio::time::sleep((t0 + Duration::from_secs(8)).saturating_duration_since(Instant::now()))
        .await;
    svc.ok("pause_browser_session", json!({"room_name": room}))
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    svc.ok("resume_browser_session", json!({"room_name": room}))
        .await;
    let url = format!("{base}/animated?again");
    act(
        &svc,
        room,
        t0,
        15.0,
        json!({"action": "navigate", "url": url}),
    )
    .await;
    tokio::time::sleep((t0 + Duration::from_secs(20)).saturating_duration_since(Instant::now()))
        .await;
    svc.ok("close_browser_session", json!({"room_name": room}))
        .await;

    let listed = recordings(&svc, room).await;
    assert_eq!(listed.len(), 1, "listed while it is stored: {listed:?}");
    let rec = eventually(30, "the recording is stored", || async {
        let listed = recordings(&svc, room).await;
        (listed.len() == 1 && listed[0]["status"] == "complete").then(|| listed[0].clone())
    })
    .await;
    let rec = &rec;
    assert_eq!(rec["actions"], 3, "{rec}");
    let duration = rec["duration_secs"].as_f64().unwrap();
    assert!((13.5..=16.5).contains(&duration), "{rec}");
    let name = rec["name"].as_str().unwrap();
    assert_eq!(
        rec["url"].as_str(),
        Some(format!("/rooms/{room}/recordings/{name}").as_str())
    );
    let file = temp_dir("recording").join("recording.mp4");
    let bytes = download(&svc, rec["url"].as_str().unwrap(), &file).await;
    assert_eq!(bytes.len() as u64, rec["size_bytes"].as_u64().unwrap());

    // What ffprobe reads: H.264 at the session's size, about 15 s at about 10 frames a second.
    let p = probe(&file);
    let streams = p["streams"].as_array().unwrap();
    let v = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(v["codec_name"], "h264", "{p}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(640), Some(360))
    );
    let secs: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((13.5..=16.5).contains(&secs), "{secs} s: {p}");
    let frames: f64 = v["nb_frames"].as_str().unwrap_or("0").parse().unwrap();
    assert!(
        (7.0..=11.0).contains(&(frames / secs)),
        "{frames} frames in {secs} s"
    );
    // The action track: each action at its time in the recording (the pause left out).
    let actions = cues(&file);
    let kinds: Vec<&str> = actions
        .iter()
        .map(|(_, t)| t.split(' ').next().unwrap())
        .collect();
    assert_eq!(kinds, ["scroll", "click", "navigate"], "{actions:?}");
    for ((at, text), expected) in actions.iter().zip([3.0, 6.0, 10.0]) {
        assert!(
            (at - expected).abs() < 1.2,
            "{text} at {at} s, not {expected} s"
        );
    }
    assert!(actions[2].1.contains("/animated?again"), "{actions:?}");

    // Real Chromium plays it.
    *video.lock().unwrap() = bytes;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "player", "initial_url": format!("{base}/player")}),
    )
    .await;
    let title = eventually(20, "Chromium plays the recording", || async {
        let ctx = svc
            .ok("get_browser_context", json!({"room_name": "player"}))
            .await;
        let t = ctx["title"].as_str().unwrap_or("").to_string();
        (t.starts_with("played") || t.starts_with("error")).then_some(t)
    })
    .await;
    assert_eq!(title, "played 640x360");
    // Nothing left behind in the spool.
    let spool = svc.data_dir.join("recordings/local/recordings/recorded");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_service_leaves_a_playable_recording_and_s3_serves_it_presigned() {
    let base = site(Arc::default()).await;
    let s3 = S3Server::start();
    s3.create_bucket("platform");
    let endpoint = s3.endpoint();
    let env = [
        ("S3_PROVIDER", "s3s-fs"),
        ("S3_ENDPOINT", endpoint.as_str()),
        ("S3_REGION", "us-east-1"),
        ("S3_BUCKET", "platform"),
        ("S3_ACCESS_KEY_ID", S3_ACCESS_KEY),
        ("S3_SECRET_ACCESS_KEY", S3_SECRET_KEY),
    ];
    let mut svc = Service::start(&env).await;
    let room = "crashy";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": format!("{base}/animated"),
               "viewport": {"width": 480, "height": 270}, "fps": 10}),
    )
    .await;
    // Switched on for the running session.
    let started = svc.ok("start_recording", json!({"room_name": room})).await;
    assert_eq!(started["status"], "recording", "{started}");
    let again = svc.ok("start_recording", json!({"room_name": room})).await;
    assert_eq!(again["name"], started["name"], "one recording at a time");
    tokio::time::sleep(Duration::from_secs(6)).await;
    svc.crash();
    let data_dir = svc.data_dir.clone();
    drop(svc);
    let svc = Service::start_in(data_dir, &env).await;
    let rec = eventually(30, "the interrupted recording is stored", || async {
        let listed = recordings(&svc, room).await;
        listed.into_iter().find(|r| r["status"] == "interrupted")
    })
    .await;
    let url = rec["url"].as_str().unwrap();
    assert!(
        url.starts_with(&endpoint) && url.contains("X-Amz-Signature"),
        "{rec}"
    );
    let file = temp_dir("recording").join("interrupted.mp4");
    download(&svc, url, &file).await;
    let p = probe(&file);
    let v = p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .cloned();
    let v = v.unwrap_or_else(|| panic!("no video stream: {p}"));
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(480), Some(270))
    );
    let secs: f64 = p["format"]["duration"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .unwrap();
    assert!(
        secs >= 3.0,
        "{secs} s of a 6 s recording cut by kill -9: {p}"
    );
    // Stopping a recording that is not running is a clear error.
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": format!("{base}/animated")}),
    )
    .await;
    let (status, v) = svc.call("stop_recording", json!({"room_name": room})).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    let (status, v) = svc
        .call("start_recording", json!({"room_name": "nobody"}))
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("session_not_found")),
        "{v}"
    );
}

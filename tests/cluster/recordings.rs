//! Recordings through a control plane: started, listed while written, stopped and fetched
//! through a control plane (REST and MCP) while an engine worker holds the session and writes the
//! file; once the session is closed and no worker holds the room, the control plane lists the
//! stored recording from the shared file store itself; another tenant sees none of it.

use crate::common::{eventually, http_client};
use crate::harness::{Cluster, ALPHA, BETA};
use serde_json::{json, Value};
use std::time::Duration;

/// The room's recordings as `list_recordings` through `cp` gives them.
async fn listed(cp: &crate::common::Service, room: &str) -> Vec<Value> {
    let v = cp.ok("list_recordings", json!({"room_name": room})).await;
    v["recordings"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recordings_are_started_listed_stopped_and_fetched_through_a_control_plane() {
    let c = Cluster::start(1, 1).await;
    let cp = &c.planes[0];
    let room = "filmed";
    cp.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": c.site.url("/animated"),
               "viewport": {"width": 640, "height": 360}, "fps": 10}),
    )
    .await;

    // Started through the control plane, written on the worker, listed as being written.
    let started = cp.ok("start_recording", json!({"room_name": room})).await;
    assert_eq!(started["status"], "recording", "{started}");
    let (status, rest) = cp.get_json(&format!("/rooms/{room}/recordings")).await;
    assert_eq!(status, 200, "{rest}");
    let running = rest["recordings"].as_array().unwrap();
    assert_eq!(running.len(), 1, "{rest}");
    assert_eq!(running[0]["name"], started["name"], "{rest}");
    assert_eq!(running[0]["status"], "recording", "{rest}");

    cp.ok(
        "execute_action",
        json!({"room_name": room, "action": "scroll", "delta_y": 200}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Stopped over REST through the control plane: stored, with the route to fetch it.
    let (status, stopped) = cp
        .post_json(&format!("/rooms/{room}/recording/stop"), json!({}))
        .await;
    assert_eq!(status, 200, "{stopped}\n{}", c.logs());
    assert_eq!(stopped["status"], "complete", "{stopped}");
    assert_eq!(stopped["actions"], 1, "{stopped}");
    let size = stopped["size_bytes"].as_u64().unwrap();
    assert!(size > 1000, "{stopped}");
    let name = stopped["name"].as_str().unwrap();
    let url = format!("/rooms/{room}/recordings/{name}");
    assert_eq!(stopped["url"].as_str(), Some(url.as_str()), "{stopped}");

    // A second stop has nothing to stop: the worker's typed error, unchanged.
    let (status, body) = cp.call("stop_recording", json!({"room_name": room})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // The control plane serves the file itself, from the shared file store.
    let http = http_client(Duration::from_secs(30));
    let r = http
        .get(format!("{}{url}", cp.base))
        .bearer_auth(ALPHA)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4");
    // Not another tenant's to fetch or list.
    let r = http
        .get(format!("{}{url}", cp.base))
        .bearer_auth(BETA)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let (_, theirs) = cp
        .call_as(Some(BETA), "list_recordings", json!({"room_name": room}))
        .await;
    assert_eq!(theirs["recordings"], json!([]), "{theirs}");

    // Closed, the room has no worker: the control plane lists the stored recording itself.
    cp.ok("close_browser_session", json!({"room_name": room}))
        .await;
    eventually(20, "the room is free", || async {
        c.holder(room).await.is_none().then_some(())
    })
    .await;
    let kept = listed(cp, room).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["name"], name, "{kept:?}");
    assert_eq!(kept[0]["status"], "complete", "{kept:?}");
    assert_eq!(kept[0]["size_bytes"].as_u64(), Some(size), "{kept:?}");
    // And a call that needs the session answers as in one process.
    let (status, body) = cp.call("start_recording", json!({"room_name": room})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("session_not_found")),
        "{body}"
    );
}

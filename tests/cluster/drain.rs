//! `SIGTERM` to one of three workers under steady traffic: its sessions move to the two others
//! with their URL and login, and no action fails; a paused session stays paused, and a recorded
//! one records on where it moved (its first part stored, a second being written).

use crate::failover::sign_in;
use crate::harness::Cluster;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drained_worker_hands_its_sessions_over_with_no_failed_action() {
    let mut c = Cluster::start(1, 1).await;
    let cp = &c.planes[0];
    cp.ok("start_browser_session", json!({"room_name": "d1"}))
        .await;
    cp.ok(
        "start_browser_session",
        json!({"room_name": "d2", "initial_url": c.site.url("/animated"),
               "viewport": {"width": 640, "height": 360}, "record": true}),
    )
    .await;
    cp.ok("start_browser_session", json!({"room_name": "d3"}))
        .await;
    cp.ok("pause_browser_session", json!({"room_name": "d3"}))
        .await;
    sign_in(&c, "d1", "grace").await;
    assert_eq!(c.holder("d1").await.as_deref(), Some("w1"));
    let first = crate::common::eventually(20, "d2 is recorded", || async {
        let v = c.planes[0]
            .ok("list_recordings", json!({"room_name": "d2"}))
            .await;
        let r = v["recordings"].as_array().unwrap().clone();
        (r.len() == 1 && r[0]["status"] == "recording").then(|| r[0]["name"].clone())
    })
    .await;
    c.add_worker("w2");
    c.add_worker("w3");
    c.wait_workers(3).await;

    // An action every 100 ms on each session, through the whole drain.
    let stop = Arc::new(AtomicBool::new(false));
    let mut traffic = Vec::new();
    for room in ["d1", "d2"] {
        let (base, stop) = (c.planes[0].base.clone(), stop.clone());
        traffic.push(tokio::spawn(async move {
            let http = crate::common::http_client(Duration::from_secs(60));
            let (mut done, mut failed) = (0, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .post(format!("{base}/mcp/tools/call"))
                    .bearer_auth(crate::harness::ALPHA)
                    .json(&json!({"name": "execute_action", "arguments": {
                        "room_name": room, "action": "scroll", "delta_y": 10}}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                if status == 200 {
                    done += 1;
                } else {
                    failed.push(format!("{status} {}", r.text().await.unwrap()));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (done, failed)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = tokio::task::block_in_place(|| c.worker("w1").stop(Duration::from_secs(60)));
    assert!(status.success(), "w1 exited with {status}\n{}", c.logs());
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for t in traffic {
        let (done, failed) = t.await.unwrap();
        assert!(
            failed.is_empty(),
            "failed actions during the drain: {failed:?}\n{}",
            c.logs()
        );
        assert!(done > 10, "only {done} actions");
    }

    // The sessions now live on the two other workers (spread: each takes the most free), still
    // signed in.
    let mut holders = std::collections::HashSet::new();
    for room in ["d1", "d2", "d3"] {
        let w = c.holder(room).await.unwrap();
        assert!(w == "w2" || w == "w3", "{room} on {w}");
        holders.insert(w);
    }
    assert_eq!(holders.len(), 2, "{holders:?}");
    let screen = c.planes[0]
        .ok("get_screen_content", json!({"room_name": "d1"}))
        .await;
    let text = screen["text"].as_str().unwrap();
    assert!(text.contains("Signed in as grace"), "{screen}");
    assert!(text.contains("Note: kept"), "{screen}");
    assert!(c
        .worker("w1")
        .log()
        .contains("session moved to another worker"));

    // The paused session came over paused: it takes no action until resumed.
    let ctx = c.planes[0]
        .ok("get_browser_context", json!({"room_name": "d3"}))
        .await;
    assert_eq!(ctx["status"], "paused", "{ctx}");
    let resumed = c.planes[0]
        .ok("resume_browser_session", json!({"room_name": "d3"}))
        .await;
    assert_eq!(resumed["status"], "active", "{resumed}");

    // The recording records on: the part written on w1 is stored, a new one is being written
    // where the session went.
    let v = c.planes[0]
        .ok("list_recordings", json!({"room_name": "d2"}))
        .await;
    let r = v["recordings"].as_array().unwrap();
    assert_eq!(r.len(), 2, "{v}");
    assert_eq!(r[0]["name"], first, "{v}");
    assert_eq!(r[0]["status"], "complete", "{v}");
    assert!(r[0]["size_bytes"].as_u64().unwrap() > 1000, "{v}");
    assert_eq!(r[1]["status"], "recording", "{v}");
}

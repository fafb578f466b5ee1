//! `SIGTERM` to a worker under steady traffic: its sessions move to the other worker with their
//! URL and login, and no action fails.

use crate::failover::sign_in;
use crate::harness::Cluster;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drained_worker_hands_its_sessions_over_with_no_failed_action() {
    let mut c = Cluster::start(1, 1).await;
    for room in ["d1", "d2"] {
        c.planes[0]
            .ok("start_browser_session", json!({"room_name": room}))
            .await;
    }
    sign_in(&c, "d1", "grace").await;
    assert_eq!(c.holder("d1").await.as_deref(), Some("w1"));
    c.add_worker("w2");
    c.wait_workers(2).await;

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

    // Both sessions now live on w2, still signed in.
    for room in ["d1", "d2"] {
        assert_eq!(c.holder(room).await.as_deref(), Some("w2"), "{room}");
    }
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
}

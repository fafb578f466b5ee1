//! One of three workers killed with SIGKILL: its sessions fail within 10 s with a `worker_lost`
//! event, the other workers' sessions keep working, and recovery restores the URL, the login
//! cookie and the page's local storage on a live worker.

use crate::harness::Cluster;
use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every message on the rooms' event channels.
async fn room_events(url: &str) -> Arc<Mutex<Vec<Value>>> {
    let client = redis::Client::open(url).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.psubscribe("browser:events:*").await.unwrap();
    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = events.clone();
    tokio::spawn(async move {
        let mut stream = pubsub.into_on_message();
        while let Some(msg) = stream.next().await {
            if let Ok(v) = serde_json::from_str(&msg.get_payload::<String>().unwrap()) {
                sink.lock().unwrap().push(v);
            }
        }
    });
    events
}

/// Sign in as `user` in `room` and keep a note in the page's local storage.
pub async fn sign_in(c: &Cluster, room: &str, user: &str) {
    let cp = &c.planes[0];
    let run = |action: &str, extra: Value| {
        let mut args = json!({"room_name": room, "action": action});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        args
    };
    cp.ok(
        "execute_action",
        run("navigate", json!({"url": c.site.url("/login")})),
    )
    .await;
    cp.ok(
        "execute_action",
        run("type", json!({"selector": "#user", "text": user})),
    )
    .await;
    cp.ok(
        "execute_action",
        run("click", json!({"selector": "#signin"})),
    )
    .await;
    cp.ok(
        "execute_action",
        run("click", json!({"selector": "#remember"})),
    )
    .await;
    let screen = cp
        .ok("get_screen_content", json!({"room_name": room}))
        .await;
    let text = screen["text"].as_str().unwrap();
    assert!(text.contains(&format!("Signed in as {user}")), "{screen}");
    assert!(text.contains("Note: kept"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_worker_fails_its_sessions_and_recovery_restores_url_and_login() {
    let mut c = Cluster::start(3, 1).await;
    let events = room_events(&c.redis.url()).await;
    let cp = c.planes[0].base.clone();
    c.planes[0]
        .ok("start_browser_session", json!({"room_name": "victim"}))
        .await;
    for room in ["bystander", "bystander2"] {
        c.planes[0]
            .ok("start_browser_session", json!({"room_name": room}))
            .await;
    }
    let victim_worker = c.holder("victim").await.unwrap();
    let others = [
        c.holder("bystander").await.unwrap(),
        c.holder("bystander2").await.unwrap(),
    ];
    assert!(
        !others.contains(&victim_worker) && others[0] != others[1],
        "three sessions on three idle workers: {victim_worker} {others:?}"
    );
    sign_in(&c, "victim", "ada").await;
    let account = c.site.url("/account");

    let killed = Instant::now();
    c.worker(&victim_worker).crash();

    // A call in the meantime does not hang: it answers worker_lost (the lease lapsed) or
    // session_failed (the session was failed already).
    let (status, body) = c.planes[0]
        .call("get_browser_context", json!({"room_name": "victim"}))
        .await;
    assert!(
        matches!(
            body["code"].as_str(),
            Some("worker_lost" | "session_failed")
        ),
        "{status} {body}"
    );
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "{:?}",
        killed.elapsed()
    );

    // Within 10 s the session is failed, with a worker_lost event on its room.
    loop {
        let list = c.planes[0].ok("list_browser_sessions", json!({})).await;
        let victim = list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["room_name"] == "victim")
            .cloned()
            .unwrap();
        let told = events.lock().unwrap().iter().any(|e| {
            e["type"] == "browser_error"
                && e["data"]["source"] == "worker_lost"
                && e["data"]["room_name"] == "victim"
        });
        if victim["status"] == "failed" && told {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "not failed within 10 s: {victim}\n{:?}",
            events.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = c.planes[0]
        .call(
            "execute_action",
            json!({"room_name": "victim", "action": "scroll"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("session_failed")),
        "{body}"
    );

    // The other workers' sessions never noticed.
    for room in ["bystander", "bystander2"] {
        let ctx = c.planes[0]
            .ok("get_browser_context", json!({"room_name": room}))
            .await;
        assert_eq!(ctx["status"], "active", "{ctx}");
    }

    let (_, metrics) = c.planes[0].get("/metrics").await;
    assert_eq!(
        crate::common::metric_value(&metrics, "bas_cluster_worker_failovers_total"),
        1.0,
        "{metrics}"
    );

    // Recovery places it on the live worker with its URL, cookie and local storage.
    let recovered = c.planes[0]
        .ok("recover_browser_session", json!({"room_name": "victim"}))
        .await;
    let now = recovered["worker"].as_str().unwrap();
    assert!(others.iter().any(|w| w == now), "{recovered}");
    assert_eq!(recovered["restored_url"], account.as_str(), "{recovered}");
    assert!(recovered.get("restore_error").is_none(), "{recovered}");
    let screen = c.planes[0]
        .ok("get_screen_content", json!({"room_name": "victim"}))
        .await;
    let text = screen["text"].as_str().unwrap();
    assert!(
        text.contains("Signed in as ada"),
        "login lost: {screen}\n{}",
        c.logs()
    );
    assert!(text.contains("Note: kept"), "local storage lost: {screen}");
    assert!(cp.starts_with("http"));
}

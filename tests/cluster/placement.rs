//! Placement over workers, calls through any control plane, one room raced by two control
//! planes, and tenants walled off on the routed path.

use crate::common::mcp_http::McpOverHttp;
use crate::harness::{Cluster, ALPHA, BETA};
use serde_json::{json, Value};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_spread_over_workers_and_any_control_plane_drives_them() {
    let c = Cluster::start(3, 2).await;
    spread(&c).await;
    mcp_without_sticky_routing(&c).await;
    race_and_tenants(&c).await;
    close_everything(&c).await;
}

async fn spread(c: &Cluster) {
    let (a, b) = (&c.planes[0], &c.planes[1]);
    // Thirty sessions opened through both control planes land evenly on the three workers.
    for i in 0..30 {
        let cp = if i % 2 == 0 { a } else { b };
        let v = cp
            .ok(
                "start_browser_session",
                json!({"room_name": format!("r{i}")}),
            )
            .await;
        assert!(v["worker"].is_string(), "{v}");
        assert_eq!(v["status"], "active", "{v}");
    }
    let list = b.ok("list_browser_sessions", json!({})).await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 30, "{list}");
    let mut per_worker: HashMap<String, usize> = HashMap::new();
    for s in sessions {
        *per_worker
            .entry(s["worker"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_worker.len(), 3, "{per_worker:?}");
    assert!(
        per_worker.values().all(|n| *n <= 10 + 2),
        "uneven placement {per_worker:?}"
    );

    // The control plane's metrics show the workers, their sessions and the routed calls.
    crate::common::eventually(10, "cluster metrics", || async {
        let (_, text) = a.get("/metrics").await;
        let v = |series: &str| crate::common::metric_value(&text, series);
        (v("bas_cluster_workers_alive") == 3.0
            && v("bas_cluster_worker_sessions{worker=\"w1\"}")
                + v("bas_cluster_worker_sessions{worker=\"w2\"}")
                + v("bas_cluster_worker_sessions{worker=\"w3\"}")
                == 30.0
            && text.contains(
                "bas_cluster_routed_call_duration_seconds_count{call=\"start\",outcome=\"ok\"}",
            ))
        .then_some(())
    })
    .await;
}

/// An MCP client sends each request to another control plane (no sticky routing) and fills in a
/// form in a session held by one of the workers.
async fn mcp_without_sticky_routing(c: &Cluster) {
    let (a, b) = (&c.planes[0], &c.planes[1]);
    let mut mcp = McpOverHttp::new(Some(ALPHA));
    mcp.initialize(&a.base).await;
    let act = |action: &str, extra: Value| {
        let mut args = json!({"room_name": "r3", "action": action});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        args
    };
    let form = c.site.url("/form");
    mcp.ok(
        &b.base,
        "execute_action",
        act("navigate", json!({"url": form})),
    )
    .await;
    mcp.ok(
        &a.base,
        "execute_action",
        act("type", json!({"selector": "#name", "text": "Ada Lovelace"})),
    )
    .await;
    let clicked = mcp
        .ok(
            &b.base,
            "execute_action",
            act("click", json!({"selector": "#send"})),
        )
        .await;
    assert!(
        clicked["page"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/submit"),
        "{clicked}"
    );
    let screen = mcp
        .ok(&a.base, "get_screen_content", json!({"room_name": "r3"}))
        .await;
    assert!(
        screen["text"]
            .as_str()
            .unwrap()
            .contains("Thanks, Ada Lovelace"),
        "{screen}"
    );
    assert_eq!(
        c.site.submissions.lock().unwrap().last().unwrap()["name"],
        "Ada Lovelace"
    );
    // An error crosses the routed path as the tool's own typed error.
    let missing = mcp
        .call(&b.base, "get_browser_context", json!({"room_name": "nope"}))
        .await;
    assert_eq!(missing["isError"], true, "{missing}");
    assert!(
        missing.to_string().contains("session_not_found"),
        "{missing}"
    );
}

async fn race_and_tenants(c: &Cluster) {
    let (a, b) = (&c.planes[0], &c.planes[1]);
    // Two control planes racing to open one room: one session, one 409.
    let (x, y) = tokio::join!(
        a.call("start_browser_session", json!({"room_name": "race"})),
        b.call("start_browser_session", json!({"room_name": "race"}))
    );
    let mut statuses = [x.0, y.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{x:?} {y:?}");
    let conflict = if x.0 == 409 { &x.1 } else { &y.1 };
    assert_eq!(conflict["code"], "session_exists", "{conflict}");

    // Another tenant sees none of it, through either control plane, and may use the same name.
    let (status, body) = a
        .call_as(
            Some(BETA),
            "get_browser_context",
            json!({"room_name": "r3"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("session_not_found")),
        "{body}"
    );
    let (status, body) = b
        .call_as(Some(BETA), "list_browser_sessions", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["sessions"], json!([]), "{body}");
    let (status, body) = b
        .call_as(
            Some(BETA),
            "start_browser_session",
            json!({"room_name": "r3"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, theirs) = a
        .call_as(
            Some(BETA),
            "get_browser_context",
            json!({"room_name": "r3"}),
        )
        .await;
    assert_eq!(theirs["url"], "about:blank", "{theirs}");
    let ours = a
        .ok("get_browser_context", json!({"room_name": "r3"}))
        .await;
    assert!(ours["url"].as_str().unwrap().ends_with("/submit"), "{ours}");
}

async fn close_everything(c: &Cluster) {
    let (a, b) = (&c.planes[0], &c.planes[1]);
    // Closing through either control plane frees the room everywhere.
    for i in 0..30 {
        let cp = if i % 2 == 0 { b } else { a };
        cp.ok(
            "close_browser_session",
            json!({"room_name": format!("r{i}")}),
        )
        .await;
    }
    a.ok("close_browser_session", json!({"room_name": "race"}))
        .await;
    let (status, _) = b
        .call_as(
            Some(BETA),
            "close_browser_session",
            json!({"room_name": "r3"}),
        )
        .await;
    assert_eq!(status, 200);
    let list = a.ok("list_browser_sessions", json!({})).await;
    assert_eq!(list["sessions"], json!([]), "{list}");
    let again = b
        .ok("start_browser_session", json!({"room_name": "r0"}))
        .await;
    assert_eq!(again["status"], "active", "{again}");
    // The tenant's count of rooms in Redis keeps only what is open, after 31 rooms came and went.
    let client = redis::Client::open(c.redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let rooms: Vec<String> = redis::cmd("SMEMBERS")
        .arg("bas:cluster:rooms:alpha")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(rooms, ["r0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_its_worker_closes_when_idle_frees_its_room() {
    let c = Cluster::start_with(1, 1, &[("SESSION_IDLE_TIMEOUT_SECS", "2")]).await;
    let cp = &c.planes[0];
    cp.ok("start_browser_session", json!({"room_name": "sleepy"}))
        .await;
    crate::common::eventually(30, "the idle session is closed", || async {
        let (status, body) = cp
            .call("get_browser_context", json!({"room_name": "sleepy"}))
            .await;
        let list = cp.ok("list_browser_sessions", json!({})).await;
        (status == 404 && body["code"] == "session_not_found" && list["sessions"] == json!([]))
            .then_some(())
    })
    .await;
    // The room is free again (within a moment: the worker frees it once the close is stored):
    // no stale owner keeps answering session_exists.
    let freed = std::time::Instant::now();
    let again = crate::common::eventually(10, "the room is free again", || async {
        let (status, body) = cp
            .call("start_browser_session", json!({"room_name": "sleepy"}))
            .await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(again["status"], "active", "{again}");
    assert!(
        freed.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        freed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenants_session_limit_holds_over_the_whole_cluster() {
    // Each worker would take 20 of the tenant's sessions; the control planes allow 2 over all.
    let c = Cluster::start_full(2, 2, &[], &[("TENANT_MAX_SESSIONS", "2")]).await;
    let (a, b) = (&c.planes[0], &c.planes[1]);
    let one = a
        .ok("start_browser_session", json!({"room_name": "t1"}))
        .await;
    let two = b
        .ok("start_browser_session", json!({"room_name": "t2"}))
        .await;
    assert_ne!(one["worker"], two["worker"], "{one} {two}");
    // A third, through either control plane, is over the tenant's share of the cluster,
    // though each worker holds only one of its sessions.
    for cp in [a, b] {
        let (status, body) = cp
            .call("start_browser_session", json!({"room_name": "t3"}))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("tenant_session_limit")),
            "{body}"
        );
    }
    // Two control planes racing for the tenant's last slot: one wins.
    a.ok("close_browser_session", json!({"room_name": "t2"}))
        .await;
    let (x, y) = tokio::join!(
        a.call("start_browser_session", json!({"room_name": "t4"})),
        b.call("start_browser_session", json!({"room_name": "t5"}))
    );
    let mut statuses = [x.0, y.0];
    statuses.sort();
    assert_eq!(statuses, [200, 429], "{x:?} {y:?}");
    // Another tenant has a share of its own.
    for room in ["t1", "t2"] {
        let (status, body) = b
            .call_as(
                Some(BETA),
                "start_browser_session",
                json!({"room_name": room}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Closing a session gives its slot back.
    a.ok("close_browser_session", json!({"room_name": "t1"}))
        .await;
    let again = b
        .ok("start_browser_session", json!({"room_name": "t3"}))
        .await;
    assert_eq!(again["status"], "active", "{again}");
}

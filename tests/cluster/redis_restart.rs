//! A Redis restart: a call in flight answers a typed error, and then everything works again
//! without restarting any process.

use crate::common::RedisServer;
use crate::harness::Cluster;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_restart_fails_calls_in_flight_with_a_typed_error_then_everything_works() {
    let mut c = Cluster::start(1, 1).await;
    c.planes[0]
        .ok("start_browser_session", json!({"room_name": "steady"}))
        .await;
    c.planes[0]
        .ok(
            "execute_action",
            json!({"room_name": "steady", "action": "navigate", "url": c.site.url("/buttons")}),
        )
        .await;

    // A four-second wait is in flight when Redis goes away.
    let base = c.planes[0].base.clone();
    let in_flight = tokio::spawn(async move {
        let http = crate::common::http_client(Duration::from_secs(60));
        let r = http
            .post(format!("{base}/mcp/tools/call"))
            .bearer_auth(crate::harness::ALPHA)
            .json(&json!({"name": "execute_action", "arguments": {
                "room_name": "steady", "action": "wait", "timeout_ms": 4000}}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().await.unwrap())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let port = c.redis.port;
    c.redis.stop();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "event_bus_error", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("retry"), "{body}");
    c.redis = RedisServer::start_on(port);

    // Without restarting anything, the session answers again and new sessions open.
    let back = Instant::now();
    loop {
        let (status, body) = c.planes[0]
            .call("get_browser_context", json!({"room_name": "steady"}))
            .await;
        if status == 200 {
            assert!(
                body["url"].as_str().unwrap().ends_with("/buttons"),
                "{body}"
            );
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "no recovery after the Redis restart: {status} {body}\n{}",
            c.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let fresh = c.planes[0]
        .ok("start_browser_session", json!({"room_name": "after"}))
        .await;
    assert_eq!(fresh["worker"], "w1", "{fresh}");
}

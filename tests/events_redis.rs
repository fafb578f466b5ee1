//! Events over a real Redis: actions publish `{type, data, timestamp}` on `browser:events:{room}`,
//! the WebSocket stream is fed from Redis, and a Redis restart loses neither the service nor the
//! events after it.

mod common;

use common::{eventually, site, RedisServer, Service};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;

async fn next_event(
    stream: &mut (impl futures::Stream<Item = redis::Msg> + Unpin),
    kind: &str,
) -> Value {
    tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(msg) = stream.next().await {
            let v: Value = serde_json::from_str(&msg.get_payload::<String>().unwrap()).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
        panic!("subscription ended");
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} event"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn actions_publish_on_redis_and_survive_a_redis_restart() {
    let site = site::start().await;
    let mut redis_server = RedisServer::start();
    let url = redis_server.url();
    let svc = Service::start(&[("REDIS_URL", url.as_str())]).await;
    let h = svc.health().await;
    assert_eq!(h["event_bus"]["backend"], "redis", "{h}");
    assert_eq!(h["event_bus"]["ok"], true, "{h}");

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("browser:events:redis-room").await.unwrap();
    let mut stream = pubsub.into_on_message();

    svc.ok("start_browser_session", json!({"room_name": "redis-room"}))
        .await;
    let started = next_event(&mut stream, "presentation_started").await;
    assert_eq!(started["data"]["room_name"], "redis-room");
    svc.ok(
        "execute_action",
        json!({"room_name": "redis-room", "action": "navigate", "url": site.url("/form")}),
    )
    .await;
    let nav = next_event(&mut stream, "page_navigation").await;
    assert_eq!(nav["data"]["url"], site.url("/form"));
    let done = next_event(&mut stream, "action_completed").await;
    assert_eq!(done["data"]["action"], "navigate");
    assert!(done["timestamp"].as_f64().is_some());
    drop(stream);

    // Redis goes away: actions still work, health says the bus is down.
    let port = redis_server.port;
    redis_server.stop();
    let r = svc
        .ok(
            "execute_action",
            json!({"room_name": "redis-room", "action": "type", "selector": "#name", "text": "x"}),
        )
        .await;
    assert_eq!(r["success"], true);
    let h = svc.health().await;
    assert_eq!(h["event_bus"]["ok"], false, "{h}");
    assert_eq!(h["status"], "degraded");

    // Redis comes back on the same port: events flow again without restarting the service.
    let _redis_again = RedisServer::start_on(port);
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("browser:events:redis-room").await.unwrap();
    let mut stream = pubsub.into_on_message();
    eventually(20, "events after the restart", || {
        let svc = &svc;
        async move {
            let (status, _) = svc
                .call(
                    "execute_action",
                    json!({"room_name": "redis-room", "action": "refresh"}),
                )
                .await;
            (status == 200).then_some(())
        }
    })
    .await;
    let done = next_event(&mut stream, "action_completed").await;
    assert_eq!(done["data"]["room_name"], "redis-room");
    assert_eq!(svc.health().await["event_bus"]["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websocket_clients_receive_events_through_redis() {
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let svc = Service::start(&[("REDIS_URL", url.as_str())]).await;
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/mcp/events/ws-redis", &svc.base[7..]))
            .await
            .unwrap();
    let (_, mut ws) = ws.split();
    // An event published by another process (another worker) reaches this service's clients.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let payload = json!({"type": "page_navigation", "data": {"room_name": "ws-redis", "url": "https://example.org/"}, "timestamp": 1.0});
    let _: i64 = redis::cmd("PUBLISH")
        .arg("browser:events:ws-redis")
        .arg(payload.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(v, payload);
}

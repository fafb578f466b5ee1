//! The Redis event bus against a real `redis-server` of the test's own: events leave in the order
//! they were published, a burst goes out whole, `flush` waits until they have left, and a Redis
//! that is down costs a publish nothing (the events of that time are lost, as pub/sub loses
//! them; later ones flow again once Redis is back).

use futures::StreamExt;
use platform::events::{Event, EventBus, EventKind, RedisBus};
use serde_json::json;
use std::time::{Duration, Instant};
use testkit::redis::RedisServer;

fn event(i: usize) -> Event {
    Event::new(EventKind::ActionCompleted, json!({ "n": i }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_leave_in_order_flush_waits_for_them_and_a_down_redis_blocks_nothing() {
    let mut redis = RedisServer::start();
    let bus = RedisBus::connect(&redis.url()).await.unwrap();
    let mut seen = bus.subscribe("test:events").await.unwrap();

    // A burst, in order, whole.
    for i in 0..2000 {
        bus.publish("test:events", &event(i)).await.unwrap();
    }
    bus.flush().await;
    for i in 0..2000 {
        let ev = tokio::time::timeout(Duration::from_secs(10), seen.next())
            .await
            .expect("every event arrives")
            .unwrap();
        assert_eq!(ev.data["n"], i, "in the order published");
    }

    // Redis goes away: publishing still answers at once.
    let port = redis.port;
    redis.stop();
    let t = Instant::now();
    for i in 0..100 {
        bus.publish("test:events", &event(10_000 + i))
            .await
            .unwrap();
    }
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "publishing waited for a Redis that is down: {:?}",
        t.elapsed()
    );
    bus.flush().await;

    // Back on the same port: later events flow again, without a new bus.
    let _again = RedisServer::start_on(port);
    let mut seen = bus.subscribe("test:events").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            bus.publish("test:events", &event(20_000)).await.unwrap();
            if let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(500), seen.next()).await
            {
                return ev;
            }
        }
    })
    .await
    .expect("events flow again after Redis is back");
    assert_eq!(got.data["n"], 20_000);
}

//! The room's event stream and the compact screen summary.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_action_emits_its_events_on_the_room_websocket() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    let room = "events-room";
    svc.ok("start_browser_session", json!({"room_name": room}))
        .await;
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/mcp/events/{room}", &svc.base[7..]))
            .await
            .unwrap();
    let (_, mut stream) = ws.split();
    let (_, conns) = svc.get(&format!("/rooms/{room}/connections")).await;
    let conns: Value = serde_json::from_str(&conns).unwrap();
    assert_eq!(conns["connections"], 1, "{conns}");

    svc.ok(
        "execute_action",
        json!({"room_name": room, "action": "navigate", "url": site.url("/buttons")}),
    )
    .await;
    // Two actions at once: the second waits its turn and says so.
    let (a, b) = tokio::join!(
        svc.call(
            "execute_action",
            json!({"room_name": room, "action": "wait", "timeout_ms": 700})
        ),
        async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            svc.call(
                "execute_action",
                json!({"room_name": room, "action": "click", "selector": "#inc"}),
            )
            .await
        }
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let _ = svc
        .call(
            "execute_action",
            json!({"room_name": room, "action": "click", "selector": "#absent"}),
        )
        .await;

    let mut seen: Vec<Value> = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(msg)) = stream.next().await {
            let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
            let done = v["type"] == "action_error";
            seen.push(v);
            if done {
                break;
            }
        }
    })
    .await;
    let kinds: Vec<&str> = seen.iter().map(|v| v["type"].as_str().unwrap()).collect();
    for k in [
        "action_processing",
        "page_navigation",
        "page_load_complete",
        "action_completed",
        "action_queued",
        "dom_change",
        "action_error",
    ] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    for v in &seen {
        assert!(v["timestamp"].as_f64().unwrap() > 1.7e9, "{v}");
        assert_eq!(v["data"]["room_name"], room, "{v}");
    }
    let nav = seen
        .iter()
        .find(|v| v["type"] == "page_navigation")
        .unwrap();
    assert_eq!(nav["data"]["url"], site.url("/buttons"));
    let err = seen.iter().find(|v| v["type"] == "action_error").unwrap();
    assert_eq!(err["data"]["error"]["code"], "element_not_found");
    // The queued click ran after the wait: its processing event follows the wait's completion.
    let pos = |pred: &dyn Fn(&Value) -> bool| seen.iter().position(pred).unwrap();
    let wait_done = pos(&|v| v["type"] == "action_completed" && v["data"]["action"] == "wait");
    let click_start = pos(&|v| v["type"] == "action_processing" && v["data"]["action"] == "click");
    assert!(wait_done < click_start, "{kinds:?}");
    // The same actions in /metrics: by kind and outcome, with their latency.
    assert_eq!(
        svc.metric("bas_actions_total{action=\"click\",outcome=\"ok\"}")
            .await,
        1.0
    );
    assert_eq!(
        svc.metric("bas_actions_total{action=\"click\",outcome=\"error\"}")
            .await,
        1.0
    );
    assert_eq!(
        svc.metric("bas_action_duration_seconds_count{action=\"click\"}")
            .await,
        2.0
    );

    drop(stream);
    eventually(5, "the connection count to drop", || async {
        let (_, c) = svc.get(&format!("/rooms/{room}/connections")).await;
        (serde_json::from_str::<Value>(&c).unwrap()["connections"] == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn screen_content_stays_small_on_a_huge_page() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "big", "initial_url": site.url("/big")}),
    )
    .await;
    let screen = svc
        .ok("get_screen_content", json!({"room_name": "big"}))
        .await;
    let size = screen.to_string().len();
    assert!(size < 20_000, "screen content is {size} bytes");
    assert_eq!(screen["elements"].as_array().unwrap().len(), 60);
    assert!(screen["truncated"]["elements_omitted"].as_u64().unwrap() > 2900);
    assert_eq!(screen["truncated"]["text"], true);
    let screen = svc
        .ok(
            "get_screen_content",
            json!({"room_name": "big", "max_elements": 5, "max_text_chars": 200}),
        )
        .await;
    assert_eq!(screen["elements"].as_array().unwrap().len(), 5);
    assert!(screen["text"].as_str().unwrap().chars().count() <= 200);
}

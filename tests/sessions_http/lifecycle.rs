//! Sessions leave nothing behind, and recover from a crashed or hung browser and from a
//! service crash or restart.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_sessions_open_and_close_without_leaving_pages_contexts_or_processes() {
    let site = site::start().await;
    let mut svc = Service::start(&[("MAX_BROWSERS", "2"), ("MAX_SESSIONS", "10")]).await;
    for batch in 0..10 {
        let rooms: Vec<String> = (0..5).map(|i| format!("leak-{batch}-{i}")).collect();
        let starts = rooms.iter().map(|r| {
            svc.call(
                "start_browser_session",
                json!({"room_name": r, "initial_url": site.url("/")}),
            )
        });
        for (status, body) in futures::future::join_all(starts).await {
            assert_eq!(status, 200, "{body}");
        }
        let closes = rooms
            .iter()
            .map(|r| svc.call("close_browser_session", json!({"room_name": r})));
        for (status, body) in futures::future::join_all(closes).await {
            assert_eq!(status, 200, "{body}");
        }
    }
    // Chromium itself reports no context and no page left from the 50 sessions: only the blank
    // pages each browser keeps ready (one fresh context each, at most 2), once refilling settles.
    let h = eventually(10, "the pool to settle", || async {
        let h = svc.health().await;
        let settled = h["chromium"]["browsers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| {
                let spares = b["spare_pages"].as_u64().unwrap();
                spares <= 2
                    && b["leased_sessions"] == 0
                    && b["contexts"].as_u64() == Some(spares)
                    && b["pages"].as_u64() == Some(spares)
            });
        (settled && h["open_sessions"] == 0).then_some(h)
    })
    .await;
    assert!(
        !h["chromium"]["browsers"].as_array().unwrap().is_empty(),
        "{h}"
    );
    // The session limit is enforced, with a typed error.
    for i in 0..10 {
        svc.ok(
            "start_browser_session",
            json!({"room_name": format!("cap-{i}")}),
        )
        .await;
    }
    let (status, body) = svc
        .call("start_browser_session", json!({"room_name": "cap-10"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("session_limit")),
        "{body}"
    );

    // After a graceful stop, no Chromium process (nor crash handler, nor zygote) survives.
    let data = svc.data_dir.clone();
    let status = svc.stop();
    assert!(status.success(), "service exit: {status:?}\n{}", svc.log());
    let left = processes_mentioning(data.to_str().unwrap());
    assert!(left.is_empty(), "processes left behind: {left:#?}");
    assert!(
        !data
            .join("chromium")
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(false),
        "profiles left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_browser_is_replaced_and_its_session_recovers() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    let room = "crashy";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": site.url("/form")}),
    )
    .await;
    let (ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{}/mcp/events/{room}",
        &svc.base[17..]
    ))
    .await
    .unwrap();
    let (_, mut events) = ws.split();

    let h = svc.health().await;
    let pid = h["chromium"]["browsers"][0]["pid"].as_u64().unwrap() as i32;
    // SAFETY: kill(2) on the Chromium the service started for this test.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    // The session reports the crash as a typed error, and a browser_error event arrives.
    let err = eventually(20, "session_failed", || async {
        let (status, body) = svc
            .call("get_browser_context", json!({"room_name": room}))
            .await;
        (status == 409 && body["code"] == "session_failed").then_some(body)
    })
    .await;
    assert!(err["detail"].as_str().unwrap().contains("recover"), "{err}");
    let ev = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = events.next().await {
            let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
            if v["type"] == "browser_error" {
                return v;
            }
        }
        panic!("event stream ended");
    })
    .await
    .expect("browser_error event");
    assert_eq!(ev["data"]["room_name"], room);
    assert_eq!(ev["data"]["recoverable"], true);

    // A replacement browser is started, and recovery reopens the last page.
    let info = svc
        .ok("recover_browser_session", json!({"room_name": room}))
        .await;
    assert_eq!(info["status"], "active");
    assert_eq!(info["restored_url"], site.url("/form"), "{info}");
    let ctx = svc
        .ok("get_browser_context", json!({"room_name": room}))
        .await;
    assert_eq!(ctx["title"], "Sign up");
    let h = svc.health().await;
    assert!(h["chromium"]["replaced"].as_u64().unwrap() >= 1, "{h}");
    assert!(
        processes_mentioning(&format!("browser-{}-1", svc.pid())).is_empty(),
        "the dead browser left processes"
    );
    let r = svc
        .ok(
            "execute_action",
            json!({"room_name": room, "action": "type", "selector": "#name", "text": "again"}),
        )
        .await;
    assert_eq!(r["success"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_survive_a_service_crash_or_restart_as_recoverable_records() {
    let site = site::start().await;
    let data = common::temp_dir("restart");
    let mut svc = Service::start_in(data.clone(), &[]).await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "phoenix", "initial_url": site.url("/buttons")}),
    )
    .await;
    let old_pid = svc.pid();
    svc.crash();
    // Chromium dies with the service (parent-death signal), even though nobody cleaned up.
    eventually(10, "orphaned Chromium to exit", || async {
        processes_mentioning(&format!("browser-{old_pid}-"))
            .is_empty()
            .then_some(())
    })
    .await;
    let mut svc = Service::start_in(data.clone(), &[]).await;
    let (status, body) = svc
        .call("get_browser_context", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("session_not_found")),
        "{body}"
    );
    let info = svc
        .ok("recover_browser_session", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(info["restored_url"], site.url("/buttons"), "{info}");
    let ctx = svc
        .ok("get_browser_context", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(ctx["title"], "Buttons");

    // A graceful stop (a deploy) leaves open sessions recoverable too; closed ones stay closed.
    svc.ok(
        "execute_action",
        json!({"room_name": "phoenix", "action": "navigate", "url": site.url("/form")}),
    )
    .await;
    svc.ok("start_browser_session", json!({"room_name": "gone"}))
        .await;
    svc.ok("close_browser_session", json!({"room_name": "gone"}))
        .await;
    assert!(svc.stop().success());
    let svc = Service::start_in(data, &[]).await;
    let info = svc
        .ok("recover_browser_session", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(info["restored_url"], site.url("/form"), "{info}");
    let (status, body) = svc
        .call("recover_browser_session", json!({"room_name": "gone"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("session_not_found")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_browser_is_detected_killed_and_replaced() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "frozen", "initial_url": site.url("/")}),
    )
    .await;
    let h = svc.health().await;
    let pid = h["chromium"]["browsers"][0]["pid"].as_u64().unwrap() as i32;
    // Freeze the whole browser: it is alive but answers nothing, as a hung Chromium would.
    // SAFETY: kill(2) on the Chromium process group this test's service started.
    unsafe {
        libc::kill(-pid, libc::SIGSTOP);
    }
    let err = eventually(30, "the hung browser to be declared dead", || async {
        let (status, body) = svc
            .call("get_browser_context", json!({"room_name": "frozen"}))
            .await;
        (status == 409 && body["code"] == "session_failed").then_some(body)
    })
    .await;
    assert!(
        err["detail"].as_str().unwrap().contains("did not answer"),
        "{err}"
    );
    // The frozen process group was killed, not left stopped, and a new browser serves.
    eventually(10, "the frozen browser to be gone", || async {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    })
    .await;
    let info = svc
        .ok("recover_browser_session", json!({"room_name": "frozen"}))
        .await;
    assert_eq!(info["restored_url"], site.url("/"));
    assert_ne!(
        svc.health().await["chromium"]["browsers"][0]["pid"]
            .as_u64()
            .unwrap() as i32,
        pid
    );
}

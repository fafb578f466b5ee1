//! Bad input answers a typed error and the service keeps serving.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_a_typed_error_and_the_service_keeps_serving() {
    let site = site::start().await;
    let svc = Service::start(&[("NAVIGATION_TIMEOUT_MS", "3000")]).await;
    let room = "errors";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": site.url("/buttons")}),
    )
    .await;

    let closed_port = common::free_port();
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"name": "get_browser_context", "arguments": {"room_name": "ghost"}}),
            404,
            "session_not_found",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "teleport"}}),
            400,
            "invalid_arguments",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click", "selector": "#nothing-here"}}),
            404,
            "element_not_found",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click", "selector": "!!"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click", "ref": "e9999"}}),
            404,
            "element_not_found",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "not a url"}}),
            400,
            "invalid_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "file:///etc/passwd"}}),
            400,
            "invalid_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": format!("http://127.0.0.1:{closed_port}/")}}),
            502,
            "navigation_failed",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "http://169.254.169.254/latest/meta-data/"}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "http://[::1]:9/"}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": site.url("/redirect-internal")}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "http://no-such-host.invalid/"}}),
            502,
            "navigation_failed",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": site.url("/hang")}}),
            504,
            "timeout",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "send_keys", "keys": "Hyper+Q"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "wait", "selector": "#never", "timeout_ms": 300}}),
            504,
            "timeout",
        ),
        (
            json!({"name": "start_browser_session", "arguments": {"room_name": room}}),
            409,
            "session_exists",
        ),
        (
            json!({"name": "start_browser_session", "arguments": {"room_name": "bad room name!"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "start_browser_session", "arguments": {"room_name": "x", "initial_url": "http://10.0.0.8/"}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "no_such_tool", "arguments": {}}),
            404,
            "unknown_tool",
        ),
    ];
    for (body, status, code) in cases {
        let (got_status, got) = svc
            .call(body["name"].as_str().unwrap(), body["arguments"].clone())
            .await;
        assert_eq!(
            (got_status, got["code"].as_str().unwrap_or("")),
            (status, code),
            "{body} -> {got}"
        );
        assert!(
            got["error"].is_string() && got["detail"].is_string(),
            "{got}"
        );
    }
    // A link into a private network is refused when clicked, not only when typed as a URL; the
    // page's blocked image before it does not confuse the report.
    svc.ok(
        "execute_action",
        json!({"room_name": room, "action": "navigate", "url": site.url("/internal-link")}),
    )
    .await;
    let (status, body) = svc
        .call(
            "execute_action",
            json!({"room_name": room, "action": "click", "selector": "#in"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("blocked_url")),
        "{body}"
    );

    // A malformed body is a typed 400 too, and unknown routes a typed 404.
    let client = common::http_client(Duration::from_secs(30));
    let r = client
        .post(format!("{}/mcp/tools/call", svc.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad_request");
    let (status, body) = svc.get("/nope").await;
    assert_eq!(status, 404, "{body}");

    // Nothing above hurt the session or the service: the page still works.
    let r = svc
        .ok(
            "execute_action",
            json!({"room_name": room, "action": "navigate", "url": site.url("/form")}),
        )
        .await;
    assert_eq!(r["page"]["title"], "Sign up");
    let h = svc.health().await;
    assert_eq!(h["status"], "ok", "{h}");
}

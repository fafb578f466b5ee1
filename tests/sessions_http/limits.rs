//! Limits per tenant: sessions, uploads and the request rate. Over a limit answers 429 with
//! `Retry-After` and a code naming the limit; another tenant still works.

use super::*;

/// An API call as a tenant: the status, the `Retry-After` header and the body.
async fn call_as(
    svc: &Service,
    key: &str,
    tool: &str,
    args: Value,
) -> (u16, Option<String>, Value) {
    let r = common::http_client(Duration::from_secs(60))
        .post(format!("{}/mcp/tools/call", svc.base))
        .bearer_auth(key)
        .json(&json!({"name": tool, "arguments": args}))
        .send()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), retry, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_tenant_over_its_limits_leaves_the_others_working() {
    let site = site::start().await;
    let svc = Service::start(&[
        ("API_KEYS", "key-a:org-a,key-b:org-b"),
        ("MAX_SESSIONS", "6"),
        ("TENANT_MAX_SESSIONS", "2"),
        ("TENANT_UPLOAD_BYTES_PER_HOUR", "3000"),
        ("RATE_LIMIT_RPS", "2"),
        ("RATE_LIMIT_BURST", "30"),
    ])
    .await;
    let start = |room: &str| json!({"room_name": room, "initial_url": site.url("/")});

    // Sessions: org-a fills its share; the service still has room for org-b.
    for room in ["a1", "a2"] {
        let (status, _, body) = call_as(&svc, "key-a", "start_browser_session", start(room)).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, retry, body) = call_as(&svc, "key-a", "start_browser_session", start("a3")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("tenant_session_limit")),
        "{body}"
    );
    assert!(retry.is_some(), "429 carries Retry-After");
    let (status, _, body) = call_as(&svc, "key-b", "start_browser_session", start("b1")).await;
    assert_eq!(status, 200, "another tenant still opens sessions: {body}");

    // Uploads: org-a's hourly quota, org-b unaffected.
    let upload = |key: &'static str, bytes: usize| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::text("word ".repeat(bytes / 5)).file_name("notes.txt"),
        );
        common::http_client(Duration::from_secs(60))
            .post(format!("{}/api/knowledge/ingest/upload", svc.base))
            .bearer_auth(key)
            .multipart(form)
            .send()
    };
    assert_eq!(upload("key-a", 2000).await.unwrap().status(), 202);
    let r = upload("key-a", 2000).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "upload_quota_exceeded"
    );
    assert_eq!(upload("key-b", 2000).await.unwrap().status(), 202);

    // The request rate: org-a's burst runs out; org-b's requests still pass.
    let mut limited = None;
    for _ in 0..40 {
        let (status, retry, body) =
            call_as(&svc, "key-a", "list_browser_sessions", json!({})).await;
        if status == 429 {
            assert_eq!(body["code"], "rate_limited", "{body}");
            limited = retry;
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        limited.is_some(),
        "the burst of 30 at 2/s ran out within 40 requests, with Retry-After"
    );
    let (status, _, body) = call_as(&svc, "key-b", "list_browser_sessions", json!({})).await;
    assert_eq!(status, 200, "another tenant is not rate limited: {body}");
}

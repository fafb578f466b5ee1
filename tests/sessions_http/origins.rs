//! Browsers elsewhere cannot drive the API: foreign `Origin`s and `Host`s are refused on every
//! route (uploads and WebSocket upgrades included), CORS answers for listed origins alone, and
//! clients that are not web pages (no `Origin`) and the service's own pages work as before.

use super::*;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example.net";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn foreign_origins_and_hosts_are_refused_and_listed_origins_get_cors() {
    let svc = Service::start(&[("CORS_ORIGINS", APP)]).await;
    let client = common::http_client(Duration::from_secs(30));
    let call = |origin: Option<&str>| {
        let mut r = client
            .post(format!("{}/mcp/tools/call", svc.base))
            .json(&json!({"name": "list_browser_sessions", "arguments": {}}));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    // No Origin (an agent, a server): served.
    assert_eq!(call(None).await.unwrap().status(), 200);
    // The service's own pages (the docs console): served.
    assert_eq!(call(Some(&svc.base)).await.unwrap().status(), 200);
    // A listed origin: served, with CORS headers.
    let r = call(Some(APP)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], APP);
    // Any other web page: 403 in the error shape, without CORS headers.
    let r = call(Some(EVIL)).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "forbidden");

    // Preflights: answered for the listed origin alone.
    let preflight = |origin: &'static str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/knowledge/explore/start", svc.base),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let r = preflight(APP).await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], APP);
    assert!(r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert_eq!(preflight(EVIL).await.unwrap().status(), 403);

    // A cross-site multipart upload is refused before it is read.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::text("hello").file_name("a.txt"),
    );
    let r = client
        .post(format!("{}/api/knowledge/ingest/upload", svc.base))
        .header("origin", EVIL)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A cross-site WebSocket is refused at the upgrade.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/mcp/events/some-room", &svc.base[7..]),
    )
    .unwrap();
    req.headers_mut().insert("origin", EVIL.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403)
        }
        other => panic!("a foreign origin's WebSocket was not refused: {other:?}"),
    }

    // A Host the service does not answer to (DNS rebinding) is refused on every route.
    for path in ["/health", "/openapi.json", "/mcp/tools", "/mcp"] {
        let r = client
            .get(format!("{}{path}", svc.base))
            .header("host", "attacker.example:80")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let h = svc.health().await;
    assert_eq!(h["status"], "ok", "{h}");
}

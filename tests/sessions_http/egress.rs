//! The egress wall: a page on an allowlisted address tries every page-initiated request form
//! against a loopback-only server, by every spelling of loopback, a name a DNS server answers
//! with a private address and a name whose answer changes between lookups; that server receives
//! nothing and the session keeps working. The service's own ports (DevTools, the API) stay out of
//! reach even with loopback allowlisted.

use super::*;
use common::attacker::{Attacker, Secret, SECRET};
use common::DnsServer;
use std::net::Ipv4Addr;

/// Navigate the room's page; the HTTP status and answer.
async fn navigate(svc: &Service, room: &str, url: &str) -> (u16, Value) {
    svc.call(
        "execute_action",
        json!({"room_name": room, "action": "navigate", "url": url}),
    )
    .await
}

/// The DevTools port of the service's (only) browser, from the file Chromium writes in its
/// profile.
fn devtools_port(svc: &Service) -> u16 {
    let root = svc.data_dir.join("chromium");
    for entry in std::fs::read_dir(&root).unwrap() {
        let file = entry.unwrap().path().join("DevToolsActivePort");
        if let Ok(text) = std::fs::read_to_string(file) {
            return text.lines().next().unwrap().trim().parse().unwrap();
        }
    }
    panic!("no DevToolsActivePort under {}", root.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_reach_no_private_address_by_any_spelling_or_request_form() {
    let secret = Secret::start().await;
    let attacker = Attacker::start().await;
    let dns = DnsServer::start(&[
        ("private.test", &[Ipv4Addr::LOCALHOST]),
        // Public on one lookup, loopback on the next.
        (
            "rebind.test",
            &[Ipv4Addr::new(203, 0, 113, 7), Ipv4Addr::LOCALHOST],
        ),
    ])
    .await;
    let svc = Service::start(&[
        ("PRIVATE_NETWORK_ALLOWLIST", "127.0.0.2"),
        ("DNS_SERVERS", &dns.addr.to_string()),
        ("NAVIGATION_TIMEOUT_MS", "8000"),
    ])
    .await;
    let room = "egress";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": attacker.url("/ok")}),
    )
    .await;
    let s = secret.port;
    let mut hosts = vec![
        "127.0.0.1".to_string(),
        "localhost".into(),
        "foo.localhost".into(),
        "localhost.".into(),
        "private.test".into(),
        "rebind.test".into(),
        "2130706433".into(),
    ];
    if secret.v6 {
        hosts.push("[::1]".into());
    }
    let mut targets: Vec<String> = hosts
        .iter()
        .map(|h| format!("http://{h}:{s}/secret"))
        .collect();
    targets.push(format!("https://127.0.0.1:{s}/secret"));
    targets.push(format!("https://localhost:{s}/secret"));

    // Every request form against every target, from an allowed page.
    let (status, body) = navigate(&svc, room, &attacker.attack_url(&targets)).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let screen = svc
        .ok("get_screen_content", json!({"room_name": room}))
        .await;
    assert!(!screen.to_string().contains(SECRET), "{screen}");
    assert_eq!(
        secret.connections(),
        0,
        "the loopback-only server was reached"
    );

    // A redirect there is refused and reported as such.
    let via_redirect = attacker.url(&format!(
        "/redirect?{}",
        common::attacker::query(&targets[..1])
    ));
    let (status, body) = navigate(&svc, room, &via_redirect).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("blocked_url")),
        "{body}"
    );
    // A name that does not resolve is a failed navigation, not a refusal.
    let unresolved = attacker.url(&format!(
        "/redirect?{}",
        common::attacker::query(&["http://no-such-name.test/".to_string()])
    ));
    let (status, body) = navigate(&svc, room, &unresolved).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("navigation_failed")),
        "{body}"
    );
    // A script navigation there is refused too (the page that runs it loads; where it goes does not).
    for t in &targets {
        let js = attacker.url(&format!(
            "/js-redirect?{}",
            common::attacker::query(std::slice::from_ref(t))
        ));
        navigate(&svc, room, &js).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Typed directly, every spelling is refused (the rebinding name may first answer its public
    // address, which then just does not answer).
    for h in hosts.iter().filter(|h| *h != "rebind.test") {
        let (status, body) = navigate(&svc, room, &format!("http://{h}:{s}/")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("blocked_url")),
            "{h}: {body}"
        );
    }
    assert_eq!(
        secret.connections(),
        0,
        "the loopback-only server was reached"
    );
    assert!(
        dns.queries("private.test") > 0,
        "names are resolved by the configured DNS server"
    );

    // The session still works.
    let r = svc
        .ok(
            "execute_action",
            json!({"room_name": room, "action": "navigate", "url": attacker.url("/ok")}),
        )
        .await;
    assert_eq!(r["page"]["title"], "OK", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_services_own_ports_stay_out_of_reach_with_loopback_allowed() {
    let attacker = Attacker::start().await;
    let svc = Service::start(&[
        ("PRIVATE_NETWORK_ALLOWLIST", "127.0.0.1,127.0.0.2"),
        ("NAVIGATION_TIMEOUT_MS", "8000"),
    ])
    .await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "victim", "initial_url": attacker.url("/ok?victim")}),
    )
    .await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "intruder", "initial_url": attacker.url("/ok")}),
    )
    .await;
    let dt = devtools_port(&svc);
    let client = common::http_client(Duration::from_secs(10));
    let list = |client: reqwest::Client| async move {
        client
            .get(format!("http://127.0.0.1:{dt}/json/list"))
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    };
    let victim = list(client.clone())
        .await
        .into_iter()
        .find(|t| t["url"].as_str().is_some_and(|u| u.ends_with("/ok?victim")))
        .expect("the victim's page is listed");
    let id = victim["id"].as_str().unwrap();
    let api = svc.base.trim_start_matches("http://").to_string();
    let targets = vec![
        format!("http://127.0.0.1:{dt}/json/close/{id}"),
        format!("http://localhost:{dt}/json/close/{id}"),
        format!("http://127.0.0.1:{dt}/json/list"),
        format!("http://{api}/mcp/tools"),
    ];
    let (status, body) = navigate(&svc, "intruder", &attacker.attack_url(&targets)).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_secs(4)).await;

    // The victim's page is still there and its session still works.
    assert!(
        list(client.clone()).await.iter().any(|t| t["id"] == id),
        "the victim's page was closed through DevTools"
    );
    let r = svc
        .ok(
            "execute_action",
            json!({"room_name": "victim", "action": "navigate", "url": attacker.url("/ok")}),
        )
        .await;
    assert_eq!(r["page"]["title"], "OK", "{r}");
    // Typed directly: refused, though loopback is allowed.
    for url in [
        format!("http://127.0.0.1:{dt}/json/list"),
        format!("{}/health", svc.base),
    ] {
        let (status, body) = navigate(&svc, "intruder", &url).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("blocked_url")),
            "{url}: {body}"
        );
    }
    let h = svc.health().await;
    assert_eq!(h["status"], "ok", "{h}");
}

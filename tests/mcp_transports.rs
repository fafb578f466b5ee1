//! Agents drive real pages through both MCP transports, with the reference MCP client (the Python
//! `mcp` package), and the tests check what the pages show and what the site received.

mod common;

use common::{find_element, site, McpClient, Service};
use serde_json::{json, Value};

const TOOLS: [&str; 8] = [
    "start_browser_session",
    "pause_browser_session",
    "resume_browser_session",
    "close_browser_session",
    "execute_action",
    "get_browser_context",
    "get_screen_content",
    "recover_browser_session",
];

fn act(mcp: &mut McpClient, room: &str, action: &str, fields: Value) -> Value {
    let mut args = json!({"room_name": room, "action": action});
    args.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    mcp.ok("execute_action", args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streamable_http_drives_forms_buttons_links_scrolling_and_history() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    let mut mcp = McpClient::http(&svc.base, None);
    assert_eq!(mcp.server_name, "browser-automation-service");

    let tools = mcp.list_tools();
    for name in TOOLS {
        let t = tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert_eq!(t["input_schema"]["type"], "object", "{name}");
        assert!(
            t["output_schema"].is_object(),
            "{name} has no output schema"
        );
    }

    let room = "agent-room-1";
    let info = mcp.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": site.url("/form")}),
    );
    assert_eq!(info["status"], "active");
    assert_eq!(info["viewport"], json!({"width": 1920, "height": 1080}));

    // Fill the form by refs from the screen content, then submit with a click.
    let screen = mcp.ok("get_screen_content", json!({"room_name": room}));
    assert_eq!(screen["title"], "Sign up");
    let name_ref = find_element(&screen, |e| e["name"] == "Full name")["ref"].clone();
    let email_ref = find_element(&screen, |e| e["name"] == "Email")["ref"].clone();
    let send_ref =
        find_element(&screen, |e| e["role"] == "button" && e["name"] == "Send")["ref"].clone();
    act(
        &mut mcp,
        room,
        "type",
        json!({"ref": name_ref, "text": "Ada Lovelace"}),
    );
    act(
        &mut mcp,
        room,
        "type",
        json!({"selector": "#email", "text": "ada@example.org"}),
    );
    act(
        &mut mcp,
        room,
        "type",
        json!({"selector": "#pw", "text": "secret"}),
    );
    act(
        &mut mcp,
        room,
        "click",
        json!({"selector": "input[name=news]"}),
    );

    // The typed values are visible to the agent, but a password never is.
    let screen = mcp.ok("get_screen_content", json!({"room_name": room}));
    let form = &screen["forms"][0];
    let field = |n: &str| {
        form["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(field("name")["value"], "Ada Lovelace");
    assert_eq!(field("email")["value"], "ada@example.org");
    assert_eq!(field("pw")["value"], "••••");
    assert_eq!(field("news")["checked"], true);
    // Refs are stable while the document lives.
    assert_eq!(
        find_element(&screen, |e| e["name"] == "Full name")["ref"],
        name_ref
    );
    let _ = email_ref;

    let done = act(&mut mcp, room, "click", json!({"ref": send_ref}));
    assert_eq!(done["page"]["title"], "Submitted", "{done}");
    {
        let subs = site.submissions.lock().unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0]["name"], "Ada Lovelace");
        assert_eq!(subs[0]["email"], "ada@example.org");
        assert_eq!(subs[0]["pw"], "secret");
        assert_eq!(subs[0]["news"], "yes");
    }
    let screen = mcp.ok("get_screen_content", json!({"room_name": room}));
    assert!(
        screen["text"]
            .as_str()
            .unwrap()
            .contains("Thanks, Ada Lovelace"),
        "{}",
        screen["text"]
    );

    // Buttons: click by selector changes the page; click by coordinates from the screen content.
    act(
        &mut mcp,
        room,
        "navigate",
        json!({"url": site.url("/buttons")}),
    );
    let r = act(&mut mcp, room, "click", json!({"selector": "#inc"}));
    assert_eq!(r["dom_changed"], true);
    let screen = mcp.ok("get_screen_content", json!({"room_name": room}));
    let inc = find_element(&screen, |e| e["name"] == "Add one");
    act(
        &mut mcp,
        room,
        "click",
        json!({"x": inc["x"], "y": inc["y"]}),
    );
    let screen = mcp.ok("get_screen_content", json!({"room_name": room}));
    assert!(
        screen["text"].as_str().unwrap().contains("Count: 2"),
        "{}",
        screen["text"]
    );
    let ctx = mcp.ok("get_browser_context", json!({"room_name": room}));
    assert_eq!(ctx["cursor"]["x"], inc["x"].as_f64().unwrap());

    // Wait for content that appears later.
    act(&mut mcp, room, "click", json!({"selector": "#later"}));
    let w = act(
        &mut mcp,
        room,
        "wait",
        json!({"selector": "#ready", "timeout_ms": 5000}),
    );
    assert!(w["details"]["waited_ms"].as_u64().unwrap() > 0);
    act(
        &mut mcp,
        room,
        "wait",
        json!({"text": "Ready now", "timeout_ms": 1000}),
    );

    // Keys: type, select all, delete.
    act(
        &mut mcp,
        room,
        "type",
        json!({"selector": "#keys", "text": "abc"}),
    );
    act(
        &mut mcp,
        room,
        "send_keys",
        json!({"keys": "Control+a Backspace"}),
    );
    act(&mut mcp, room, "type", json!({"text": "xy"}));
    let screen = mcp.ok("get_screen_content", json!({"room_name": room}));
    assert_eq!(
        find_element(&screen, |e| e["name"] == "Key target")["value"],
        "xy"
    );

    // A link click navigates; go_back returns; refresh reloads.
    let r = act(&mut mcp, room, "click", json!({"selector": "#home"}));
    assert_eq!(r["page"]["title"], "Fixture Home");
    let r = act(&mut mcp, room, "go_back", json!({}));
    assert_eq!(r["page"]["url"], site.url("/buttons"));
    let r = act(&mut mcp, room, "refresh", json!({}));
    assert_eq!(r["page"]["ready_state"], "complete");

    // Scrolling moves the viewport, and a far element scrolls into view.
    act(
        &mut mcp,
        room,
        "navigate",
        json!({"url": site.url("/long")}),
    );
    let r = act(&mut mcp, room, "scroll", json!({"delta_y": 1200}));
    assert_eq!(r["page"]["scroll_y"], 1200);
    let r = act(&mut mcp, room, "scroll", json!({}));
    assert!(
        r["page"]["scroll_y"].as_i64().unwrap() > 1200,
        "default scroll is one screen down: {r}"
    );
    let r = act(&mut mcp, room, "scroll", json!({"selector": "#bottom"}));
    let ctx = mcp.ok("get_browser_context", json!({"room_name": room}));
    assert!(ctx["scroll_y"].as_i64().unwrap() > 10_000, "{ctx} / {r}");
    assert!(ctx["page_height"].as_i64().unwrap() > 16_000, "{ctx}");

    // A slow page loads; one that never finishes times out with a typed error, and the session
    // keeps working afterwards.
    let r = act(
        &mut mcp,
        room,
        "navigate",
        json!({"url": site.url("/slow?ms=1200")}),
    );
    assert_eq!(r["page"]["title"], "Slow");
    let code = mcp.err_code(
        "execute_action",
        json!({"room_name": room, "action": "navigate", "url": site.url("/hang"), "timeout_ms": 1500}),
    );
    assert_eq!(code, "timeout");
    let r = act(&mut mcp, room, "navigate", json!({"url": site.url("/")}));
    assert_eq!(r["page"]["title"], "Fixture Home");

    // Errors are MCP error results with a code.
    assert_eq!(
        mcp.err_code("get_browser_context", json!({"room_name": "nobody"})),
        "session_not_found"
    );
    assert_eq!(
        mcp.err_code(
            "execute_action",
            json!({"room_name": room, "action": "click", "selector": "#missing"})
        ),
        "element_not_found"
    );
    // An unknown tool is a protocol error (JSON-RPC invalid params), not a tool's error result.
    let r = mcp.call_raw("no_such_tool", json!({}));
    assert_eq!(r["ok"], false, "{r}");
    let exception = r["exception"].as_str().unwrap_or_default();
    assert!(exception.contains("unknown tool"), "{r}");

    // Pause refuses actions; resume accepts them again.
    assert_eq!(
        mcp.ok("pause_browser_session", json!({"room_name": room}))["status"],
        "paused"
    );
    assert_eq!(
        mcp.err_code(
            "execute_action",
            json!({"room_name": room, "action": "refresh"})
        ),
        "session_paused"
    );
    assert_eq!(
        mcp.ok("resume_browser_session", json!({"room_name": room}))["status"],
        "active"
    );
    act(&mut mcp, room, "refresh", json!({}));

    // A screenshot comes as an image block, not as text flooding the context.
    let r = mcp.call(
        "get_screen_content",
        json!({"room_name": room, "include_screenshot": true}),
    );
    assert_eq!(r["images"], json!(["image/jpeg"]));
    assert!(r["texts"][0].as_str().unwrap().len() < 5000);

    assert_eq!(
        mcp.ok("close_browser_session", json!({"room_name": room}))["status"],
        "closed"
    );
    assert_eq!(
        mcp.err_code("get_browser_context", json!({"room_name": room})),
        "session_not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stdio_serves_the_same_tools() {
    let site = site::start().await;
    let data = common::temp_dir("stdio");
    let env = vec![
        ("DATA_DIR".to_string(), data.display().to_string()),
        (
            "PRIVATE_NETWORK_ALLOWLIST".to_string(),
            "127.0.0.1".to_string(),
        ),
        ("RUST_LOG".to_string(), "warn".to_string()),
    ];
    let mut mcp = McpClient::stdio(common::BIN, env);
    assert_eq!(mcp.server_name, "browser-automation-service");
    assert!(mcp.list_tools().len() >= TOOLS.len());
    let room = "desktop";
    mcp.ok(
        "start_browser_session",
        json!({"room_name": room, "viewport": {"width": 1280, "height": 720}}),
    );
    act(
        &mut mcp,
        room,
        "navigate",
        json!({"url": site.url("/form")}),
    );
    act(
        &mut mcp,
        room,
        "type",
        json!({"selector": "#name", "text": "Grace Hopper"}),
    );
    act(&mut mcp, room, "send_keys", json!({"keys": "Enter"}));
    let ctx = mcp.ok("get_browser_context", json!({"room_name": room}));
    assert_eq!(ctx["title"], "Submitted");
    assert_eq!(ctx["viewport"], json!({"width": 1280, "height": 720}));
    assert_eq!(site.submissions.lock().unwrap()[0]["name"], "Grace Hopper");
    assert_eq!(
        mcp.err_code(
            "execute_action",
            json!({"room_name": room, "action": "navigate", "url": "http://10.1.2.3/"})
        ),
        "blocked_url"
    );
    mcp.ok("close_browser_session", json!({"room_name": room}));
    drop(mcp);
    // The stdio server exits with its client and takes its browsers with it.
    common::eventually(20, "the stdio server's browsers to exit", || async {
        common::processes_mentioning(data.to_str().unwrap())
            .is_empty()
            .then_some(())
    })
    .await;
}

/// Both reference clients, the Python `mcp` package and the official TypeScript SDK (which
/// validates every result against the tool's output schema, error results included), show the
/// message and code of a tool error, and see an unknown tool as a protocol error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_and_typescript_clients_both_read_tool_errors() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    let clients = [
        ("python", McpClient::http(&svc.base, None)),
        ("typescript", McpClient::typescript(&svc.base, None)),
    ];
    for (lang, mut mcp) in clients {
        let room = format!("errors-{lang}");
        let started = mcp.ok(
            "start_browser_session",
            json!({"room_name": room, "initial_url": site.url("/")}),
        );
        assert_eq!(started["room_name"], room.as_str(), "{lang}: {started}");
        mcp.ok("pause_browser_session", json!({"room_name": room}));
        let paused = mcp.call(
            "execute_action",
            json!({"room_name": room, "action": "refresh"}),
        );
        assert_eq!(paused["is_error"], true, "{lang}: {paused}");
        let text = paused["texts"][0].as_str().unwrap_or_default();
        assert!(
            text.contains("session_paused") && text.contains("paused"),
            "{lang}: {paused}"
        );
        assert_eq!(
            mcp.err_code("get_browser_context", json!({"room_name": "nobody"})),
            "session_not_found",
            "{lang}"
        );
        let unknown = mcp.call_raw("no_such_tool", json!({}));
        assert_eq!(unknown["ok"], false, "{lang}: {unknown}");
        assert!(
            unknown["exception"]
                .as_str()
                .unwrap_or_default()
                .contains("unknown tool"),
            "{lang}: {unknown}"
        );
        mcp.ok("close_browser_session", json!({"room_name": room}));
    }
}

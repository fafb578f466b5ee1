//! Session benchmark (not a test): session start latency on a warm pool, action round-trip
//! through MCP over streamable HTTP with one session open and with many, and memory per open
//! session.
//!
//! Run: `cargo bench --bench sessions [-- --quick] [-- --open N]` (`--quick`: fewer iterations;
//! `--open N`: the click line with N sessions open, default 100). It starts the release binary
//! against a local page and prints medians, 90th and 95th percentiles.

#[path = "../tests/common/mod.rs"]
mod common;

use common::mcp_http::McpOverHttp;
use common::{site, Service};
use serde_json::json;
use std::time::{Duration, Instant};
use testkit::stats::percentile;

fn report(name: &str, samples: &mut [f64], unit: &str) {
    let n = samples.len();
    let med = percentile(samples, 0.5);
    let p90 = percentile(samples, 0.9);
    let p95 = percentile(samples, 0.95);
    println!("| {name} | {n} | {med:.1} {unit} | {p90:.1} {unit} | {p95:.1} {unit} |");
}

/// `execute_action` click round trips on the `/buttons` page of room `room`.
async fn clicks(mcp: &mut McpOverHttp, base: &str, room: &str, n: usize) -> Vec<f64> {
    let mut click = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        mcp.ok(
            base,
            "execute_action",
            json!({"room_name": room, "action": "click", "selector": "#inc"}),
        )
        .await;
        click.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    click
}

/// Proportional set size (KiB) of every process whose command line mentions `needle`.
fn pss_kib(needle: &str) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmd).contains(needle) {
            continue;
        }
        if let Ok(rollup) = std::fs::read_to_string(entry.path().join("smaps_rollup")) {
            for line in rollup.lines() {
                if let Some(v) = line.strip_prefix("Pss:") {
                    total += v
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0);
                }
            }
        }
    }
    total
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let crowd: usize = args
        .iter()
        .position(|a| a == "--open")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(100);
    let (starts, actions, open) = if quick { (5, 20, 4) } else { (30, 200, 10) };
    let site = site::start().await;
    let most = (crowd + open + 2).to_string();
    // `BAS_BENCH_LOG` (a `RUST_LOG` filter) keeps more of the service's log in its data directory.
    let log = std::env::var("BAS_BENCH_LOG").unwrap_or_else(|_| "warn".into());
    let svc = Service::start(&[
        ("MAX_SESSIONS", most.as_str()),
        ("MAX_BROWSERS", "2"),
        ("RUST_LOG", log.as_str()),
    ])
    .await;
    let url = site.url("/form");
    println!(
        "browser-automation-service session benchmark ({})",
        if quick { "quick" } else { "full" }
    );
    println!(
        "machine: {} cores; Chromium from CHROMIUM_PATH or PATH",
        std::thread::available_parallelism().unwrap()
    );
    println!();
    println!("| measure | samples | median | p90 | p95 |");
    println!("|---|---|---|---|---|");

    // Warm up: the first session also starts the page's network service and caches.
    svc.ok(
        "start_browser_session",
        json!({"room_name": "warm", "initial_url": url}),
    )
    .await;
    svc.ok("close_browser_session", json!({"room_name": "warm"}))
        .await;

    // Back to back (each start right after the previous session closed, while the pool tops up
    // its spare pages), then one a second (an idle machine, as a lone agent sees it).
    for (pause, line) in [
        (
            0,
            "session start, warm pool, to first page loaded, back to back (HTTP API)",
        ),
        (
            1000,
            "session start, warm pool, to first page loaded, one a second (HTTP API)",
        ),
    ] {
        let mut samples = Vec::new();
        for i in 0..starts {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let room = format!("start-{pause}-{i}");
            let t = Instant::now();
            svc.ok(
                "start_browser_session",
                json!({"room_name": room, "initial_url": url}),
            )
            .await;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
            svc.ok("close_browser_session", json!({"room_name": room}))
                .await;
        }
        report(line, &mut samples, "ms");
    }

    let base = svc.base.clone();
    let mut mcp = McpOverHttp::new(None);
    mcp.initialize(&base).await;
    mcp.ok(
        &base,
        "start_browser_session",
        json!({"room_name": "rt", "initial_url": site.url("/long")}),
    )
    .await;
    let mut ctx = Vec::new();
    let mut scroll = Vec::new();
    let mut click = Vec::new();
    for i in 0..actions {
        let t = Instant::now();
        mcp.ok(&base, "get_browser_context", json!({"room_name": "rt"}))
            .await;
        ctx.push(t.elapsed().as_secs_f64() * 1000.0);
        let dy = if i % 2 == 0 { 300 } else { -300 };
        let t = Instant::now();
        mcp.ok(
            &base,
            "execute_action",
            json!({"room_name": "rt", "action": "scroll", "delta_y": dy}),
        )
        .await;
        scroll.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    mcp.ok(
        &base,
        "execute_action",
        json!({"room_name": "rt", "action": "navigate", "url": site.url("/buttons")}),
    )
    .await;
    click.extend(clicks(&mut mcp, &base, "rt", actions).await);
    report("MCP/HTTP round-trip: get_browser_context", &mut ctx, "ms");
    report(
        "MCP/HTTP round-trip: execute_action scroll",
        &mut scroll,
        "ms",
    );
    report(
        "MCP/HTTP round-trip: execute_action click, 1 session open",
        &mut click,
        "ms",
    );

    // The same clicks with a crowd of other sessions open (each on its own page, idle).
    for i in 0..crowd.saturating_sub(1) {
        svc.ok(
            "start_browser_session",
            json!({"room_name": format!("crowd-{i}"), "initial_url": url}),
        )
        .await;
    }
    let mut crowded = clicks(&mut mcp, &base, "rt", actions).await;
    report(
        &format!("MCP/HTTP round-trip: execute_action click, {crowd} sessions open"),
        &mut crowded,
        "ms",
    );
    for i in 0..crowd.saturating_sub(1) {
        svc.ok(
            "close_browser_session",
            json!({"room_name": format!("crowd-{i}")}),
        )
        .await;
    }
    mcp.ok(&base, "close_browser_session", json!({"room_name": "rt"}))
        .await;

    // Memory: PSS of the whole Chromium tree with no session, then with `open` sessions.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let needle = svc.data_dir.to_str().unwrap().to_string();
    let before = pss_kib(&needle);
    for i in 0..open {
        svc.ok(
            "start_browser_session",
            json!({"room_name": format!("mem-{i}"), "initial_url": url}),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = pss_kib(&needle);
    let per = (after.saturating_sub(before)) as f64 / open as f64 / 1024.0;
    println!("| memory per open session (Chromium PSS, {open} sessions on a small form page) | {open} | {per:.1} MiB | - | - |");
    println!();
    println!(
        "Chromium tree PSS: {:.0} MiB idle (one warm browser), {:.0} MiB with {open} sessions",
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
}

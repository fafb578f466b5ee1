//! Cluster benchmark (not a test): the routed path beside the in-process one, in one run.
//!
//! Run: `cargo bench --bench cluster [-- --quick] [-- --max N]`. It starts its own
//! `redis-server`, a plain `serve` (control plane and engine in one process) and a cluster of one
//! control plane and one worker, on the same machine and the same local page, and prints:
//! - `get_browser_context` and `click` round trips over `POST /mcp/tools/call`, p50 and p99,
//!   in-process and routed, measured alternately;
//! - sessions opened per second back to back, both ways;
//! - then, with three workers behind the control plane, sessions opened in steps until the click
//!   median passes 100 ms (or `--max`, default 90, is reached): the most sessions the machine
//!   holds at a click p50 under 100 ms.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{site, temp_dir, RedisServer, Service, Worker};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testkit::stats::percentile;

/// One timed call (ms); the call must succeed.
async fn timed(svc: &Service, name: &str, args: Value) -> f64 {
    let t = Instant::now();
    let (status, body) = svc.call(name, args).await;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(status, 200, "{name}: {body}");
    ms
}

fn click(room: &str) -> Value {
    json!({"room_name": room, "action": "click", "selector": "#inc"})
}

fn worker_env(redis: &str, id: &str, most: &str) -> Vec<(String, String)> {
    vec![
        ("REDIS_URL".into(), redis.into()),
        ("WORKER_ID".into(), id.into()),
        ("JOB_WORKERS".into(), "0".into()),
        ("MAX_SESSIONS".into(), most.into()),
        ("MAX_BROWSERS".into(), "2".into()),
        ("RUST_LOG".into(), "warn".into()),
    ]
}

fn start_worker(dir: &std::path::Path, redis: &str, id: &str, most: &str) -> Worker {
    let env = worker_env(redis, id, most);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Worker::start(dir, id, &env)
}

/// Wait until the control plane sees `n` workers.
async fn wait_workers(cp: &Service, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while cp.health().await["cluster"]["workers_alive"].as_u64() != Some(n) {
        assert!(Instant::now() < deadline, "workers did not register");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Round trips of one call, in-process and routed alternately: (in-process, routed) samples.
async fn alternate(
    local: &Service,
    routed: &Service,
    name: &str,
    args: Value,
    n: usize,
) -> [Vec<f64>; 2] {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        a.push(timed(local, name, args.clone()).await);
        b.push(timed(routed, name, args.clone()).await);
    }
    [a, b]
}

fn row(name: &str, [local, routed]: &mut [Vec<f64>; 2]) {
    let (l50, l99) = (percentile(local, 0.5), percentile(local, 0.99));
    let (r50, r99) = (percentile(routed, 0.5), percentile(routed, 0.99));
    println!(
        "| {name} | {} | {l50:.2} ms | {l99:.2} ms | {r50:.2} ms | {r99:.2} ms | {:+.2} ms |",
        local.len(),
        r50 - l50
    );
}

/// Sessions opened back to back per second on `svc`.
async fn open_rate(svc: &Service, prefix: &str, n: usize, url: &str) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        timed(
            svc,
            "start_browser_session",
            json!({"room_name": format!("{prefix}{i}"), "initial_url": url}),
        )
        .await;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    for i in 0..n {
        svc.ok(
            "close_browser_session",
            json!({"room_name": format!("{prefix}{i}")}),
        )
        .await;
    }
    rate
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let most: usize = args
        .iter()
        .position(|a| a == "--max")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(90);
    let (calls, opens) = if quick { (50, 5) } else { (300, 20) };
    let site = site::start().await;
    let page = site.url("/buttons");
    let redis = RedisServer::start();
    let dir = temp_dir("bench-cluster");
    let cap = (most + 10).to_string();
    let w1 = start_worker(&dir, &redis.url(), "w1", &cap);
    let url = redis.url();
    let routed = Service::control_plane(
        dir.clone(),
        "cp1",
        &[("REDIS_URL", url.as_str()), ("RUST_LOG", "warn")],
    )
    .await;
    let local = Service::start(&[("MAX_SESSIONS", "40"), ("RUST_LOG", "warn")]).await;
    wait_workers(&routed, 1).await;

    println!(
        "browser-automation-service cluster benchmark ({})",
        if quick { "quick" } else { "full" }
    );
    println!(
        "machine: {} cores; one redis-server, every process on this machine",
        std::thread::available_parallelism().unwrap()
    );
    println!();
    println!("| call | samples | in-process p50 | in-process p99 | routed p50 | routed p99 | routing adds (p50) |");
    println!("|---|---|---|---|---|---|---|");
    for svc in [&local, &routed] {
        svc.ok(
            "start_browser_session",
            json!({"room_name": "b", "initial_url": page}),
        )
        .await;
        for _ in 0..10 {
            timed(svc, "execute_action", click("b")).await;
        }
    }
    let ctx = json!({"room_name": "b"});
    let mut s = alternate(&local, &routed, "get_browser_context", ctx, calls).await;
    row("get_browser_context", &mut s);
    let mut s = alternate(&local, &routed, "execute_action", click("b"), calls).await;
    row("execute_action click", &mut s);
    let l = open_rate(&local, "lo", opens, &page).await;
    let r = open_rate(&routed, "ro", opens, &page).await;
    println!();
    println!("| sessions opened back to back (to first page loaded) | in-process | routed |");
    println!("|---|---|---|");
    println!("| per second, {opens} sessions | {l:.2} | {r:.2} |");
    drop(local);

    // Capacity: three workers behind the control plane.
    let w2 = start_worker(&dir, &redis.url(), "w2", &cap);
    let w3 = start_worker(&dir, &redis.url(), "w3", &cap);
    wait_workers(&routed, 3).await;
    capacity(&routed, &page, most, if quick { 10 } else { 15 }).await;
    drop((w1, w2, w3));
}

/// Open sessions in steps of `step` until the click median passes 100 ms or `most` are open.
async fn capacity(routed: &Service, page: &str, most: usize, step: usize) {
    println!();
    println!("| sessions open (3 workers) | click p50 | click p99 |");
    println!("|---|---|---|");
    let mut open = 1; // room "b"
    let mut held = 0;
    while open < most {
        for _ in 0..step.min(most - open) {
            routed
                .ok(
                    "start_browser_session",
                    json!({"room_name": format!("c{open}"), "initial_url": page}),
                )
                .await;
            open += 1;
        }
        let mut samples = Vec::new();
        for i in 0..40 {
            let room = if i % 4 == 0 {
                "b".to_string()
            } else {
                format!("c{}", 1 + (i * 7) % (open - 1))
            };
            samples.push(timed(routed, "execute_action", click(&room)).await);
        }
        let p50 = percentile(&mut samples, 0.5);
        let p99 = percentile(&mut samples, 0.99);
        println!("| {open} | {p50:.1} ms | {p99:.1} ms |");
        if p50 >= 100.0 {
            break;
        }
        held = open;
    }
    println!();
    println!("most sessions held at a click p50 under 100 ms: {held} (stopped at --max {most} or at the first step over)");
}

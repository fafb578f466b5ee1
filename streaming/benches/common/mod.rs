//! Shared by the live-video benchmarks: machine CPU use from `/proc/stat`.

/// Total and idle jiffies of the whole machine so far.
pub fn cpu_jiffies() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (v.iter().sum(), idle)
}

/// Cores kept busy between two readings of [`cpu_jiffies`].
pub fn busy_cores(before: (u64, u64), after: (u64, u64)) -> f64 {
    let (t0, i0) = before;
    let (t1, i1) = after;
    let busy = ((t1 - t0) - (i1 - i0)) as f64 / (t1 - t0).max(1) as f64;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    busy * cores
}

/// Open a session of the local tenant on `url` at `width`x`height` (and `fps`, when given).
pub async fn open_session(
    engine: &browser::Engine,
    room: &str,
    url: &str,
    (width, height): (u32, u32),
    fps: Option<u32>,
) {
    engine
        .sessions
        .start_session(
            &platform::TenantId::local(),
            room,
            browser::session::StartOptions {
                initial_url: Some(url.to_string()),
                viewport: Some(platform::Viewport { width, height }),
                fps,
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("session {room}: {e}"));
}

//! Waiting for what a test expects, and reading what the service shows.

use serde_json::Value;
use std::time::{Duration, Instant};

/// Find an element in screen content by a predicate on it.
pub fn find_element(screen: &Value, pred: impl Fn(&Value) -> bool) -> &Value {
    screen["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| pred(e))
        .unwrap_or_else(|| panic!("no such element in {}", screen["elements"]))
}

/// Poll until `f` returns Some, or panic after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of one series (`name{labels}`) in a metrics text, 0 when absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

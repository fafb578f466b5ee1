//! Politeness: at most a few requests at once to one host, a delay between requests when the
//! site asks for one (robots.txt `Crawl-delay`), and a pause when it answers `Retry-After`.
//! Shared by every job of the process; a host is a scheme's host and port (an origin).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest `Crawl-delay` honoured; a site asking for more gets this.
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(30);

struct Host {
    slots: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
    /// No request starts before this (`Retry-After`).
    not_before: Mutex<Instant>,
}

/// Per-host limits.
pub struct HostGate {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

/// Held while a request to a host is in flight.
pub struct HostPermit {
    _slot: OwnedSemaphorePermit,
}

impl HostGate {
    /// At most `per_host` requests at once to one host.
    pub fn new(per_host: usize) -> Self {
        Self {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Wait for a free slot on `host` and, when `delay` is set, until `delay` after the previous
    /// request to it started.
    pub async fn acquire(&self, host: &str, delay: Option<Duration>) -> HostPermit {
        let h = self.host(host);
        let slot = h
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("host semaphore is never closed");
        loop {
            let until = *h.not_before.lock().expect("host hold lock");
            if until <= Instant::now() {
                break;
            }
            tokio::time::sleep_until(until).await;
        }
        if let Some(delay) = delay.filter(|d| !d.is_zero()) {
            let delay = delay.min(MAX_CRAWL_DELAY);
            let mut next = h.next_start.lock().await;
            let now = Instant::now();
            if *next > now {
                tokio::time::sleep_until(*next).await;
            }
            *next = Instant::now() + delay;
        }
        HostPermit { _slot: slot }
    }

    /// Start no request to `host` for `wait` (it answered `Retry-After`); other hosts go on.
    pub fn hold(&self, host: &str, wait: Duration) {
        let h = self.host(host);
        let mut until = h.not_before.lock().expect("host hold lock");
        *until = (*until).max(Instant::now() + wait);
    }

    fn host(&self, host: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().expect("host gate lock");
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Arc::new(Semaphore::new(self.per_host)),
                    next_start: tokio::sync::Mutex::new(Instant::now()),
                    not_before: Mutex::new(Instant::now()),
                })
            })
            .clone()
    }
}

/// How often one page is tried again after answering `Retry-After`.
pub const RETRIES_AFTER: u32 = 3;

/// Pages of one run that answered `Retry-After`, and how often.
#[derive(Default)]
pub struct RetryBudget {
    tries: HashMap<String, u32>,
}

impl RetryBudget {
    /// Whether the page (by its normalised URL) may be tried again.
    pub fn take(&mut self, url: &str) -> bool {
        let n = self.tries.entry(url.to_string()).or_insert(0);
        *n += 1;
        *n <= RETRIES_AFTER
    }
}

/// The politeness key of a URL: its host and port.
pub fn host_key(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_host_are_spaced_by_the_crawl_delay() {
        let gate = Arc::new(HostGate::new(4));
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..3 {
            let _p = gate.acquire("a.test", Some(Duration::from_secs(2))).await;
            starts.push(start.elapsed());
        }
        assert_eq!(
            starts,
            [
                Duration::ZERO,
                Duration::from_secs(2),
                Duration::from_secs(4)
            ]
        );
        // Another host is not held up.
        let t = Instant::now();
        let _p = gate.acquire("b.test", Some(Duration::from_secs(2))).await;
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_host_waits_and_the_others_do_not() {
        let gate = HostGate::new(4);
        gate.hold("a.test:80", Duration::from_secs(2));
        let t = Instant::now();
        drop(gate.acquire("b.test:80", None).await);
        assert_eq!(t.elapsed(), Duration::ZERO);
        drop(gate.acquire("a.test:80", None).await);
        assert_eq!(t.elapsed(), Duration::from_secs(2));
        // A shorter hold never shortens a longer one.
        gate.hold("a.test:80", Duration::from_secs(5));
        gate.hold("a.test:80", Duration::from_secs(1));
        drop(gate.acquire("a.test:80", None).await);
        assert_eq!(t.elapsed(), Duration::from_secs(7));
        let u = url::Url::parse("https://Docs.Example.org/x").unwrap();
        assert_eq!(host_key(&u), "docs.example.org:443");
    }

    #[tokio::test]
    async fn at_most_per_host_requests_at_once() {
        let gate = HostGate::new(2);
        let a = gate.acquire("a.test", None).await;
        let _b = gate.acquire("a.test", None).await;
        let third = tokio::time::timeout(Duration::from_millis(50), gate.acquire("a.test", None));
        assert!(third.await.is_err(), "a third request must wait");
        drop(a);
        let third = tokio::time::timeout(Duration::from_millis(500), gate.acquire("a.test", None));
        assert!(third.await.is_ok());
    }
}

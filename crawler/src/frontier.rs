//! The crawl frontier: breadth-first within the start URL's site, each page once (by its
//! normalised URL), within depth, page-count, include/exclude and robots.txt limits. It is plain
//! data (serde), so a job can store it and resume where it was.

use crate::robots::Robots;
use crate::urlnorm::{normalize, same_site};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use url::Url;

/// Limits of a crawl.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scope {
    /// Most pages admitted (the start page included).
    pub max_pages: usize,
    /// Most link hops from the start page.
    pub max_depth: u32,
    /// Path patterns a page must match (`*` matches anything, `/docs/*`); empty: every path.
    #[serde(default)]
    pub include: Vec<String>,
    /// Path patterns that exclude a page.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// A page to fetch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Its normalised URL: what counts as seen, and the URL it is stored under.
    pub url: String,
    /// Link hops from the start page.
    pub depth: u32,
    /// The URL exactly as linked (resolved, fragment dropped) when it differs from `url`: the
    /// one fetched, since a server may answer `/docs/` and not `/docs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<String>,
}

impl Entry {
    fn new(url: &Url, depth: u32) -> Self {
        let key = normalize(url).to_string();
        let mut linked = url.clone();
        linked.set_fragment(None);
        let linked = (linked.as_str() != key).then(|| linked.to_string());
        Entry {
            url: key,
            depth,
            linked,
        }
    }

    /// The URL to fetch: as linked.
    pub fn fetch_url(&self) -> &str {
        self.linked.as_deref().unwrap_or(&self.url)
    }
}

/// What became of an offered URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Queued for fetching.
    Admitted,
    /// Already queued or fetched (perhaps as another variant of the same URL).
    Duplicate,
    /// On another site: recorded as an external link, never followed.
    External,
    /// Deeper than `max_depth`.
    TooDeep,
    /// Outside the include patterns, or inside an exclude pattern.
    Excluded,
    /// robots.txt disallows it.
    Disallowed,
    /// `max_pages` pages were admitted already.
    LimitReached,
}

/// The frontier of one crawl.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Frontier {
    start: String,
    scope: Scope,
    queue: VecDeque<Entry>,
    seen: HashSet<String>,
    admitted: usize,
    #[serde(skip)]
    robots: Option<Robots>,
}

/// Whether `path` matches a pattern where `*` stands for any run of characters; the whole path
/// must match.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == path;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !path.starts_with(first)
        || !path[first.len()..].ends_with(last)
        || path.len() < first.len() + last.len()
    {
        return false;
    }
    let mut pos = first.len();
    let end = path.len() - last.len();
    for part in &parts[1..parts.len() - 1] {
        match path[pos..end].find(part) {
            Some(i) => pos += i + part.len(),
            None => return false,
        }
    }
    true
}

impl Frontier {
    /// A frontier seeded with the start URL at depth 0.
    pub fn new(start: &Url, scope: Scope) -> Self {
        let entry = Entry::new(start, 0);
        let mut f = Frontier {
            start: entry.url.clone(),
            scope,
            queue: VecDeque::new(),
            seen: HashSet::new(),
            admitted: 0,
            robots: None,
        };
        f.seen.insert(entry.url.clone());
        f.queue.push_back(entry);
        f.admitted = 1;
        f
    }

    /// Apply a site's robots.txt to URLs offered from now on (and to those still queued).
    pub fn set_robots(&mut self, robots: Robots) {
        let start = self.start.clone();
        self.queue.retain(|e| {
            e.url == start
                || Url::parse(&e.url)
                    .map(|u| robots.allows(&path_and_query(&u)))
                    .unwrap_or(false)
        });
        self.robots = Some(robots);
    }

    /// Offer a URL found at `depth` (one more than the page it was found on).
    pub fn offer(&mut self, url: &Url, depth: u32) -> Offer {
        let start = Url::parse(&self.start).expect("stored start URL parses");
        if !same_site(&start, url) {
            return Offer::External;
        }
        let entry = Entry::new(url, depth);
        if self.seen.contains(&entry.url) {
            return Offer::Duplicate;
        }
        if depth > self.scope.max_depth {
            return Offer::TooDeep;
        }
        let url = normalize(url);
        let path = url.path();
        let included =
            self.scope.include.is_empty() || self.scope.include.iter().any(|p| glob_match(p, path));
        if !included || self.scope.exclude.iter().any(|p| glob_match(p, path)) {
            return Offer::Excluded;
        }
        if let Some(r) = &self.robots {
            if !r.allows(&path_and_query(&url)) {
                return Offer::Disallowed;
            }
        }
        if self.admitted >= self.scope.max_pages {
            return Offer::LimitReached;
        }
        self.seen.insert(entry.url.clone());
        self.admitted += 1;
        self.queue.push_back(entry);
        Offer::Admitted
    }

    /// Mark a URL as known without queueing it (the final URL of a redirect, a page stored before
    /// a restart), so it is never fetched again.
    pub fn mark_seen(&mut self, url: &Url) {
        self.seen.insert(normalize(url).to_string());
    }

    /// Whether a URL (or another variant of it) is already queued or fetched.
    pub fn contains(&self, url: &Url) -> bool {
        self.seen.contains(normalize(url).as_str())
    }

    /// Put a popped entry back at the head of the queue (a fetch that was interrupted).
    pub fn requeue(&mut self, entry: Entry) {
        self.queue.push_front(entry);
    }

    /// The start URL (normalised).
    pub fn start(&self) -> &str {
        &self.start
    }

    /// The next page to fetch, breadth first.
    pub fn pop(&mut self) -> Option<Entry> {
        self.queue.pop_front()
    }

    /// Pages still queued.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Pages admitted so far (fetched or queued).
    pub fn admitted(&self) -> usize {
        self.admitted
    }
}

fn path_and_query(u: &Url) -> String {
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn scope(max_pages: usize, max_depth: u32) -> Scope {
        Scope {
            max_pages,
            max_depth,
            include: vec![],
            exclude: vec![],
        }
    }

    #[test]
    fn breadth_first_once_per_page_within_the_site() {
        let mut f = Frontier::new(&u("https://docs.example.org/start/"), scope(10, 2));
        let first = f.pop().unwrap();
        assert_eq!(
            (first.url.as_str(), first.depth),
            ("https://docs.example.org/start", 0)
        );
        assert_eq!(first.fetch_url(), "https://docs.example.org/start/");
        assert_eq!(
            f.offer(&u("https://docs.example.org/a"), 1),
            Offer::Admitted
        );
        assert_eq!(
            f.offer(&u("https://docs.example.org/b"), 1),
            Offer::Admitted
        );
        assert_eq!(
            f.offer(&u("https://docs.example.org/a/#top"), 1),
            Offer::Duplicate
        );
        assert_eq!(
            f.offer(&u("https://docs.example.org/start"), 1),
            Offer::Duplicate
        );
        assert_eq!(
            f.offer(&u("https://other.example.org/a"), 1),
            Offer::External
        );
        assert_eq!(
            f.offer(&u("https://docs.example.org/deep"), 3),
            Offer::TooDeep
        );
        let a = f.pop().unwrap();
        assert_eq!(a.url, "https://docs.example.org/a");
        assert_eq!(a.fetch_url(), "https://docs.example.org/a");
        assert_eq!(
            f.offer(&u("https://docs.example.org/a/child"), 2),
            Offer::Admitted
        );
        assert_eq!(f.pop().unwrap().url, "https://docs.example.org/b");
        assert_eq!(f.pop().unwrap().url, "https://docs.example.org/a/child");
        assert_eq!(f.pop(), None);
    }

    #[test]
    fn limits_patterns_and_robots() {
        let mut f = Frontier::new(
            &u("https://example.org/docs/"),
            Scope {
                max_pages: 3,
                max_depth: 5,
                include: vec!["/docs*".into()],
                exclude: vec!["/docs/old/*".into()],
            },
        );
        assert_eq!(
            f.offer(&u("https://example.org/blog/x"), 1),
            Offer::Excluded
        );
        assert_eq!(
            f.offer(&u("https://example.org/docs/old/x"), 1),
            Offer::Excluded
        );
        f.set_robots(Robots::parse(
            "User-agent: *\nDisallow: /docs/private",
            "bas",
        ));
        assert_eq!(
            f.offer(&u("https://example.org/docs/private/x"), 1),
            Offer::Disallowed
        );
        assert_eq!(
            f.offer(&u("https://example.org/docs/a"), 1),
            Offer::Admitted
        );
        assert_eq!(
            f.offer(&u("https://example.org/docs/b"), 1),
            Offer::Admitted
        );
        assert_eq!(
            f.offer(&u("https://example.org/docs/c"), 1),
            Offer::LimitReached
        );
        assert_eq!(f.admitted(), 3);
    }

    #[test]
    fn pages_are_fetched_as_linked_and_seen_once_in_any_variant() {
        let mut f = Frontier::new(&u("https://example.org/docs/"), scope(10, 3));
        assert_eq!(f.pop().unwrap().fetch_url(), "https://example.org/docs/");
        let linked = u("https://example.org/guide/?b=2&utm_source=x&a=1#part");
        assert_eq!(f.offer(&linked, 1), Offer::Admitted);
        for variant in [
            "https://example.org/guide?a=1&b=2",
            "https://example.org/guide/?a=1&b=2",
        ] {
            assert_eq!(f.offer(&u(variant), 1), Offer::Duplicate, "{variant}");
        }
        let e = f.pop().unwrap();
        assert_eq!(e.url, "https://example.org/guide?a=1&b=2");
        assert_eq!(
            e.fetch_url(),
            "https://example.org/guide/?b=2&utm_source=x&a=1"
        );
        // A frontier stored before entries kept their linked form still reads.
        let old: Entry =
            serde_json::from_str(r#"{"url":"https://example.org/x","depth":1}"#).unwrap();
        assert_eq!(old.fetch_url(), "https://example.org/x");
    }

    #[test]
    fn survives_a_round_trip_through_storage() {
        let mut f = Frontier::new(&u("https://example.org/"), scope(10, 3));
        f.pop();
        f.offer(&u("https://example.org/a"), 1);
        let stored = serde_json::to_string(&f).unwrap();
        let mut back: Frontier = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.offer(&u("https://example.org/a"), 1), Offer::Duplicate);
        assert_eq!(back.pop().unwrap().url, "https://example.org/a");
        assert_eq!(back.offer(&u("https://example.org/"), 1), Offer::Duplicate);
    }

    #[test]
    fn globs_match_whole_paths() {
        assert!(glob_match("/docs/*", "/docs/a/b"));
        assert!(glob_match("/docs*", "/docs"));
        assert!(!glob_match("/docs/*", "/blog/docs/a"));
        assert!(glob_match("*.html", "/a/b.html"));
        assert!(glob_match("/a/*/c", "/a/b/c"));
        assert!(!glob_match("/a/*/c", "/a/b/d"));
        assert!(glob_match("/exact", "/exact"));
        assert!(!glob_match("/exact", "/exact/more"));
    }
}

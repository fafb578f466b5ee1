//! URL normalisation for the crawl frontier: two URLs that name the same page normalise to the
//! same string, so the page is fetched once.

use url::Url;

/// Query parameters that track visitors and never change the page.
const TRACKING: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
    "mc_cid",
    "mc_eid",
    "ref_src",
];

/// Normalise a URL: fragment dropped, scheme and host lower-cased (the `url` crate does that and
/// removes default ports), empty query dropped, tracking parameters removed, the remaining query
/// parameters sorted, and a trailing slash removed from any path but the root.
pub fn normalize(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !TRACKING.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        pairs.sort();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let path = u.path().to_string();
    if path.len() > 1 && path.ends_with('/') {
        u.set_path(path.trim_end_matches('/'));
    }
    u
}

/// Whether `url` is on the same site (scheme, host and port) as `start`.
pub fn same_site(start: &Url, url: &Url) -> bool {
    start.scheme() == url.scheme()
        && start.host_str().map(str::to_ascii_lowercase)
            == url.host_str().map(str::to_ascii_lowercase)
        && start.port_or_known_default() == url.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(&Url::parse(s).unwrap()).to_string()
    }

    #[test]
    fn variants_of_one_page_normalise_alike() {
        let same = [
            "https://Docs.Example.org:443/guide/?b=2&a=1#intro",
            "https://docs.example.org/guide?a=1&b=2",
            "https://docs.example.org/guide/?a=1&utm_source=x&b=2",
            "HTTPS://docs.example.org/guide?a=1&b=2#other",
        ];
        for s in same {
            assert_eq!(n(s), "https://docs.example.org/guide?a=1&b=2", "{s}");
        }
        assert_eq!(n("https://docs.example.org/?"), "https://docs.example.org/");
        assert_eq!(n("https://docs.example.org"), "https://docs.example.org/");
        assert_ne!(
            n("https://docs.example.org/a?x=1"),
            n("https://docs.example.org/a?x=2")
        );
    }

    #[test]
    fn same_site_means_scheme_host_and_port() {
        let start = Url::parse("https://docs.example.org/start").unwrap();
        assert!(same_site(
            &start,
            &Url::parse("https://DOCS.example.org:443/x").unwrap()
        ));
        assert!(!same_site(
            &start,
            &Url::parse("http://docs.example.org/x").unwrap()
        ));
        assert!(!same_site(
            &start,
            &Url::parse("https://example.org/x").unwrap()
        ));
        assert!(!same_site(
            &start,
            &Url::parse("https://docs.example.org:8443/x").unwrap()
        ));
    }
}

//! sitemap.xml: the `<loc>` URLs of a `urlset`, or of a `sitemapindex` (the caller fetches those
//! sitemaps in turn).

/// What a sitemap document lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sitemap {
    /// Page URLs (`<urlset>`).
    pub pages: Vec<String>,
    /// Further sitemaps (`<sitemapindex>`).
    pub sitemaps: Vec<String>,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Parse a sitemap. Malformed input yields what could be read; at most `limit` URLs are kept.
pub fn parse(xml: &str, limit: usize) -> Sitemap {
    let is_index = xml.contains("<sitemapindex");
    let mut out = Sitemap::default();
    let mut rest = xml;
    while let Some(start) = rest.find("<loc>") {
        rest = &rest[start + 5..];
        let Some(end) = rest.find("</loc>") else {
            break;
        };
        let mut loc = rest[..end].trim();
        if let Some(inner) = loc
            .strip_prefix("<![CDATA[")
            .and_then(|l| l.strip_suffix("]]>"))
        {
            loc = inner.trim();
        }
        let loc = unescape(loc);
        if loc.starts_with("http://") || loc.starts_with("https://") {
            if is_index {
                out.sitemaps.push(loc);
            } else {
                out.pages.push(loc);
            }
        }
        if out.pages.len() + out.sitemaps.len() >= limit {
            break;
        }
        rest = &rest[end + 6..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urlsets_and_indexes() {
        let urlset = r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <url><loc>https://example.org/a?x=1&amp;y=2</loc></url>
          <url><loc> <![CDATA[https://example.org/b]]> </loc><lastmod>2026-01-01</lastmod></url>
          <url><loc>ftp://example.org/c</loc></url></urlset>"#;
        assert_eq!(
            parse(urlset, 100).pages,
            vec!["https://example.org/a?x=1&y=2", "https://example.org/b"]
        );
        let index =
            "<sitemapindex><sitemap><loc>https://example.org/s1.xml</loc></sitemap></sitemapindex>";
        assert_eq!(
            parse(index, 100).sitemaps,
            vec!["https://example.org/s1.xml"]
        );
        assert_eq!(parse(urlset, 1).pages.len(), 1);
        assert_eq!(
            parse("<urlset><loc>https://x.org/unclosed", 10),
            Sitemap::default()
        );
    }
}

//! Page extraction: the main content of an HTML document as Markdown, leaving out navigation,
//! headers, footers, sidebars, forms and scripts; plus what a knowledge base wants to know about
//! the page (title, description, headings, code blocks with their language, links).

use crate::content;
use crate::markdown;
use crate::page_parts::squash;
pub use crate::page_parts::{resolve_link, CodeBlock, Heading};
use scraper::{Html, Selector};
use serde::Serialize;
use url::Url;

/// A link on the page (anywhere on it, navigation included: a crawler follows those too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The absolute URL, fragment removed.
    pub url: String,
    /// The link text.
    pub text: String,
    /// Whether it points to the same scheme and host as the page.
    pub internal: bool,
}

/// What a page holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// `<title>`, or the first heading.
    pub title: String,
    /// The meta description (or Open Graph description).
    pub description: Option<String>,
    /// Headings of the main content.
    pub headings: Vec<Heading>,
    /// The main content as Markdown.
    pub markdown: String,
    /// Code blocks of the main content.
    pub code_blocks: Vec<CodeBlock>,
    /// Links on the page, each URL once, in document order.
    pub links: Vec<Link>,
    /// `<link rel=canonical>`, made absolute: the URL the page says it is best known by.
    pub canonical: Option<String>,
    /// The page's language (`<html lang>`, else `og:locale`).
    pub language: Option<String>,
    /// When the page says it last changed (`article:modified_time`, `og:updated_time`,
    /// `last-modified`, schema.org `dateModified`).
    pub modified: Option<String>,
}

/// The first non-empty value of `attr` on an element matching `selector`.
fn first_attr(doc: &Html, selector: &str, attr: &str) -> Option<String> {
    doc.select(&sel(selector))
        .filter_map(|e| e.value().attr(attr))
        .map(squash)
        .find(|v| !v.is_empty())
}

/// The page's language and last change, as it states them.
fn language_and_modified(doc: &Html) -> (Option<String>, Option<String>) {
    let language = first_attr(doc, "html[lang]", "lang")
        .or_else(|| first_attr(doc, r#"meta[property="og:locale"]"#, "content"));
    let modified = first_attr(
        doc,
        r#"meta[property="article:modified_time"], meta[property="og:updated_time"],
           meta[name="last-modified"], meta[itemprop="dateModified"]"#,
        "content",
    )
    .or_else(|| first_attr(doc, r#"time[itemprop="dateModified"]"#, "datetime"))
    .or_else(|| json_ld_modified(doc));
    (language, modified)
}

/// `dateModified` from the page's schema.org JSON-LD, if it has one.
fn json_ld_modified(doc: &Html) -> Option<String> {
    doc.select(&sel(r#"script[type="application/ld+json"]"#))
        .filter_map(|s| {
            serde_json::from_str::<serde_json::Value>(&s.text().collect::<String>()).ok()
        })
        .find_map(|v| {
            let items = match &v {
                serde_json::Value::Array(a) => a.clone(),
                v => v["@graph"]
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![v.clone()]),
            };
            items
                .iter()
                .find_map(|i| i["dateModified"].as_str().map(str::to_string))
        })
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("static selector")
}

/// Extract a page. `base` is the page's URL (after redirects), used to make links absolute.
pub fn extract(html: &str, base: Option<&Url>) -> Extracted {
    let doc = Html::parse_document(html);
    let title = doc
        .select(&sel("title"))
        .next()
        .map(|t| squash(&t.text().collect::<String>()))
        .unwrap_or_default();
    let description = doc
        .select(&sel(
            r#"meta[name="description"], meta[property="og:description"]"#,
        ))
        .filter_map(|m| m.value().attr("content"))
        .map(squash)
        .find(|d| !d.is_empty());

    let canonical = doc
        .select(&sel("link[rel][href]"))
        .find(|l| {
            l.value().attr("rel").is_some_and(|r| {
                r.split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"))
            })
        })
        .and_then(|l| resolve_link(base, l.value().attr("href")?))
        .map(|u| u.to_string());

    let (language, modified) = language_and_modified(&doc);

    let mut out = markdown::Output::default();
    if let Some(content) = content::find(&doc) {
        markdown::render_root(content.root, &content.skip, base, &mut out);
    }
    let title = if title.is_empty() {
        out.headings
            .first()
            .map(|h| h.text.clone())
            .unwrap_or_default()
    } else {
        title
    };

    let mut links: Vec<Link> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for a in doc.select(&sel("a[href]")) {
        let Some(url) = a.value().attr("href").and_then(|h| resolve_link(base, h)) else {
            continue;
        };
        if !seen.insert(url.to_string()) {
            continue;
        }
        let internal = base.is_some_and(|b| {
            b.scheme() == url.scheme()
                && b.host() == url.host()
                && b.port_or_known_default() == url.port_or_known_default()
        });
        links.push(Link {
            url: url.to_string(),
            text: squash(&a.text().collect::<String>()),
            internal,
        });
    }

    Extracted {
        title,
        description,
        headings: out.headings,
        markdown: out.markdown.trim().to_string(),
        code_blocks: out.code_blocks,
        links,
        canonical,
        language,
        modified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head><title> Install  guide </title>
      <meta name="description" content="How to install the tool."></head>
      <body>
        <header class="site-header"><a href="/">Home</a> <a href="/docs/">Docs</a></header>
        <nav><ul><li><a href="/a">Nav A</a></li></ul></nav>
        <div class="cookie-banner">We use cookies</div>
        <main>
          <h1>Installing</h1>
          <p>Run the <code>setup</code> script, then read <a href="intro#top">the intro</a>
             or <a href="https://other.example/x">elsewhere</a>.</p>
          <pre><code class="language-bash">./setup.sh --yes
echo done</code></pre>
          <h2>Options</h2>
          <ul><li>fast <strong>mode</strong></li><li>safe mode<ul><li>nested</li></ul></li></ul>
          <ol><li>first</li><li>second</li></ol>
          <blockquote><p>Quoted words.</p></blockquote>
          <table><tr><th>Flag</th><th>Meaning</th></tr><tr><td>-y</td><td>yes</td></tr></table>
          <div class="highlight-python"><pre>print("hi")</pre></div>
          <script>var tracking = 1;</script>
          <form><input name="q"><button>Search</button></form>
        </main>
        <aside>Related posts</aside>
        <footer>Copyright 2026 <a href="mailto:a@b.c">mail</a></footer>
      </body></html>"#;

    fn page() -> Extracted {
        extract(
            PAGE,
            Some(&Url::parse("https://docs.example/guide/install").unwrap()),
        )
    }

    #[test]
    fn images_are_well_formed_markdown_or_nothing() {
        let html = r#"<html><head><link rel="alternate" href="/feed">
          <link rel="Canonical" href="/guide/install/#top"></head><body><main>
          <p><a href="/story"><img alt="[https://cdn.example/a.jpg]" src="https://cdn.example/a.jpg"></a>
          <img alt="A [red] door" src="/img/door (1).png">
          <img src="/img/spacer.gif"> <img alt="  " src="/img/b.png"></p>
        </main></body></html>"#;
        let e = extract(
            html,
            Some(&Url::parse("https://docs.example/guide/install").unwrap()),
        );
        assert_eq!(
            e.markdown,
            "![A \\[red\\] door](https://docs.example/img/door%20%281%29.png)"
        );
        assert_eq!(
            e.canonical.as_deref(),
            Some("https://docs.example/guide/install/")
        );
        assert_eq!((e.language, e.modified), (None, None));
    }

    #[test]
    fn the_page_states_its_language_and_last_change() {
        let meta = extract(
            r#"<html lang="de-CH"><head>
              <meta property="article:modified_time" content="2026-10-02T08:00:00Z"></head>
              <body><main><p>Inhalt</p></main></body></html>"#,
            None,
        );
        assert_eq!(meta.language.as_deref(), Some("de-CH"));
        assert_eq!(meta.modified.as_deref(), Some("2026-10-02T08:00:00Z"));
        let ld = extract(
            r#"<html><head><meta property="og:locale" content="fr_FR">
              <script type="application/ld+json">{"@context":"https://schema.org",
                "@graph":[{"@type":"WebSite"},{"@type":"Article","dateModified":"2026-09-30"}]}</script>
              </head><body><main><p>Texte</p></main></body></html>"#,
            None,
        );
        assert_eq!(ld.language.as_deref(), Some("fr_FR"));
        assert_eq!(ld.modified.as_deref(), Some("2026-09-30"));
    }

    #[test]
    fn keeps_the_main_content_and_leaves_boilerplate_out() {
        let e = page();
        assert_eq!(e.title, "Install guide");
        assert_eq!(e.description.as_deref(), Some("How to install the tool."));
        let md = &e.markdown;
        assert!(md.starts_with("# Installing"), "{md}");
        for gone in [
            "Nav A",
            "cookies",
            "Related posts",
            "Copyright",
            "tracking",
            "Search",
        ] {
            assert!(!md.contains(gone), "{gone:?} leaked into:\n{md}");
        }
        assert!(md.contains("Run the `setup` script, then read [the intro](https://docs.example/guide/intro) or [elsewhere](https://other.example/x)."), "{md}");
        assert!(
            md.contains("```bash\n./setup.sh --yes\necho done\n```"),
            "{md}"
        );
        assert!(md.contains("## Options"), "{md}");
        assert!(
            md.contains("- fast **mode**\n- safe mode\n  - nested"),
            "{md}"
        );
        assert!(md.contains("1. first\n2. second"), "{md}");
        assert!(md.contains("> Quoted words."), "{md}");
        assert!(
            md.contains("| Flag | Meaning |\n| --- | --- |\n| -y | yes |"),
            "{md}"
        );
    }

    #[test]
    fn lists_headings_code_blocks_and_links() {
        let e = page();
        assert_eq!(
            e.headings,
            vec![
                Heading {
                    level: 1,
                    text: "Installing".into()
                },
                Heading {
                    level: 2,
                    text: "Options".into()
                },
            ]
        );
        assert_eq!(e.code_blocks.len(), 2);
        assert_eq!(e.code_blocks[0].language.as_deref(), Some("bash"));
        assert_eq!(
            e.code_blocks[1],
            CodeBlock {
                language: Some("python".into()),
                code: "print(\"hi\")".into()
            }
        );
        let urls: Vec<(&str, bool)> = e
            .links
            .iter()
            .map(|l| (l.url.as_str(), l.internal))
            .collect();
        assert_eq!(
            urls,
            vec![
                ("https://docs.example/", true),
                ("https://docs.example/docs/", true),
                ("https://docs.example/a", true),
                ("https://docs.example/guide/intro", true),
                ("https://other.example/x", false),
            ],
            "mailto: and fragments are not links to crawl"
        );
    }

    #[test]
    fn falls_back_to_the_body_and_the_first_heading() {
        let e = extract(
            "<html><body><nav>menu</nav><h2>Only heading</h2><p>Text  here.</p></body></html>",
            None,
        );
        assert_eq!(e.title, "Only heading");
        assert_eq!(e.markdown, "## Only heading\n\nText here.");
        assert!(e.links.is_empty());
    }

    #[test]
    fn survives_broken_and_empty_html() {
        assert_eq!(extract("", None).markdown, "");
        let e = extract("<p>unclosed <b>bold <i>both</p><div><pre>x", None);
        assert!(
            e.markdown.contains("unclosed **bold *both***"),
            "{}",
            e.markdown
        );
    }
}

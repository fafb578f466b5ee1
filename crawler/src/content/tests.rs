//! The content finder on pages built to hold each kind of boilerplate it must leave out.

use crate::extract::extract;

fn para(words: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("<p>{words}, sentence number {i}, which goes on for a while longer.</p>"))
        .collect()
}

#[test]
fn the_article_without_teasers_related_links_comments_or_captions() {
    let html = format!(
        r#"<html><body>
        <div class="wrapper content-sidebar">
          <div class="main-column">
            <article class="post"><h1>Tuft cells</h1>
              <div class="byline">By A. Writer, Nov 18</div>
              {body}
              <div class="photo-caption">A cell under the microscope. Photo: Lab</div>
              <ul class="related-links"><li><a href="/a">Related one</a></li><li><a href="/b">Related two</a></li></ul>
              <div class="list">{teasers}</div>
            </article>
            <div id="comments" class="comments-area post-comments">{comments}</div>
          </div>
          <aside class="sidebar">{side}</aside>
        </div></body></html>"#,
        body = para("Tuft cells taste danger in the gut", 6),
        teasers = (0..6)
            .map(|i| format!(
                "<div><a href=\"/story/{i}\">Most popular story number {i} of the week</a></div>"
            ))
            .collect::<String>(),
        comments = para("I disagree with this comment entirely", 10),
        side = para("Sidebar text about other things", 3),
    );
    let md = extract(&html, None).markdown;
    assert!(md.starts_with("# Tuft cells"), "{md}");
    assert_eq!(md.matches("Tuft cells taste danger").count(), 6, "{md}");
    for gone in [
        "By A. Writer",
        "Photo: Lab",
        "Related one",
        "Most popular",
        "I disagree",
        "Sidebar text",
    ] {
        assert!(!md.contains(gone), "{gone} in {md}");
    }
}

#[test]
fn teaser_articles_inside_the_article_are_left_out() {
    let html = format!(
        r#"<html><body><article class="post">{body}
          <h3>You may also like</h3>
          <article class="postbox">{t1}</article><article class="postbox">{t2}</article>
        </article></body></html>"#,
        body = para("The real story of the page", 5),
        t1 = para("A teaser for another story", 1),
        t2 = para("Yet another teaser here", 1),
    );
    let md = extract(&html, None).markdown;
    assert_eq!(md.matches("The real story").count(), 5, "{md}");
    assert!(!md.contains("teaser"), "{md}");
}

#[test]
fn text_written_into_a_div_and_declared_bodies_are_found() {
    let text = "Two of the five vehicles of the unit were broken into this morning, and the police came to see the damage. ".repeat(4);
    let html = format!(
        r#"<html><body><div class="row"><div class="col"><img src="/a.jpg">{text}<br><br>More of it.<div class="share">Share this</div></div></div>
        <footer>Address of the town hall, phone and opening hours, every day</footer></body></html>"#
    );
    let md = extract(&html, None).markdown;
    assert!(md.contains("Two of the five vehicles"), "{md}");
    assert!(
        !md.contains("town hall") && !md.contains("Share this"),
        "{md}"
    );
    // schema.org's articleBody is taken at its word, short as it is, over a list of links.
    let html = r#"<html><body><div class="news-ticker">
        <div><a href="/1">Headline one of the ticker</a> 11/20/2019</div>
        <div><a href="/2">Headline two of the ticker</a> 11/20/2019</div>
        <div><a href="/3">Headline three of the ticker</a> 11/20/2019</div></div>
        <div itemprop="articleBody">A short breaking story of two sentences: a man was stabbed at a lecture in Berlin. It has no more than this to say for now.</div>
        </body></html>"#;
    let md = extract(html, None).markdown;
    assert_eq!(
        md,
        "A short breaking story of two sentences: a man was stabbed at a lecture in Berlin. \
         It has no more than this to say for now."
    );
}

#[test]
fn a_page_of_links_keeps_its_links() {
    let html = r#"<html><body><main><h1>Documentation</h1><ul>
        <li><a href="/docs/intro">Introduction</a></li><li><a href="/docs/guide">Guide</a></li>
        <li><a href="/docs/api">API reference</a></li></ul></main></body></html>"#;
    let md = extract(html, None).markdown;
    assert!(
        md.contains("[Guide](/docs/guide)") || md.contains("Guide"),
        "{md}"
    );
    assert!(md.contains("API reference"), "{md}");
}

/// The Markdown of a page, extracted on a thread with a stack as small as a runtime
/// worker's share, within a deadline.
fn on_a_small_stack(html: String) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || tx.send(extract(&html, None).markdown).unwrap())
        .unwrap();
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("extraction finished")
}

#[test]
fn a_page_nested_thousands_deep_is_read_on_a_small_stack() {
    // Each level a paragraph of its own: every check that walked up the tree from each
    // element would cost the square of the depth. (html5ever's own parse of such a page
    // grows with the square of its depth too, so the test stays at a few thousand.)
    let level = "<div>Every level of this page has a sentence of its own, with commas, ";
    let html = format!(
        "<html><body>{}{}</body></html>",
        level.repeat(3_000),
        "</div>".repeat(3_000)
    );
    let md = on_a_small_stack(html);
    assert!(md.starts_with("Every level of this page"), "{md}");
    // Below the renderer's depth the text comes flat, and nothing is lost of it.
    let text = "<p>A paragraph deep down in the page, long enough to be the page's text, with \
                commas, words and more words.</p>";
    let html = format!(
        "<html><body><main>{}{text}{}</main></body></html>",
        "<section>".repeat(2_000),
        "</section>".repeat(2_000)
    );
    let md = on_a_small_stack(html);
    assert!(md.contains("A paragraph deep down in the page"), "{md}");
}

//! `browser-automation-service extract`: one HTML document on stdin, its main content as Markdown
//! (or everything extracted as JSON) on stdout, and a clear error for bad input.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], input: &[u8]) -> (bool, String, String) {
    let mut child = Command::new(common::BIN)
        .arg("extract")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PAGE: &str = r#"<html><head><title>Guide</title></head><body>
<nav><a href="/">Home</a></nav>
<article><h1>Guide</h1><p>Read <a href="next">the next page</a>.</p>
<pre><code class="language-rust">fn main() {}</code></pre></article>
<footer>(c) someone</footer></body></html>"#;

#[test]
fn prints_the_main_content_as_markdown() {
    let (ok, out, err) = run(
        &["--url", "https://example.org/docs/guide"],
        PAGE.as_bytes(),
    );
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "# Guide\n\nRead [the next page](https://example.org/docs/next).\n\n```rust\nfn main() {}\n```"
    );
}

#[test]
fn prints_everything_as_json() {
    let (ok, out, err) = run(
        &["--json", "--url", "https://example.org/docs/guide"],
        PAGE.as_bytes(),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["title"], "Guide");
    assert_eq!(v["code_blocks"][0]["language"], "rust");
    assert_eq!(v["links"][0]["url"], "https://example.org/");
    assert_eq!(v["links"][1]["url"], "https://example.org/docs/next");
}

#[test]
fn a_bad_url_is_a_clear_error() {
    let (ok, _, err) = run(&["--url", "not a url"], PAGE.as_bytes());
    assert!(!ok);
    assert!(err.contains("--url"), "{err}");
}

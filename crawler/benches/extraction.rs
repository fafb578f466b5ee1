//! Main-content extraction on a public benchmark: runs the crawler's extractor on every page of a
//! directory of HTML files and writes what it found as the benchmark's prediction file
//! (`{"version", "output": {id: {"articleBody"}}}`), with the time each page took. The
//! benchmark's own script scores it; `bench/extraction/run.sh` runs the whole comparison.
//!
//! `cargo bench --bench extraction -- HTML_DIR GROUND_TRUTH_JSON OUT_JSON`

use crawler::extract::extract;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::Instant;
use url::Url;

/// The text of the Markdown, as a reader sees it: link targets, images, fences and markup gone,
/// since the benchmark scores words of plain text.
fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") || t.starts_with("| ---") {
            continue;
        }
        out.push_str(&strip_inline(t));
        out.push('\n');
    }
    out
}

/// The index of the bracket that closes the one at `start` (`open`/`close` balanced), or the
/// end of the line.
fn closing(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    for (i, c) in chars.iter().enumerate().skip(start) {
        if *c == open {
            depth += 1;
        } else if *c == close {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    chars.len()
}

/// `[text](url)` to `text`, `![alt](src)` to nothing.
fn strip_inline(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && chars.get(i + 1) == Some(&'(') {
            // The destination, parentheses balanced.
            i = closing(&chars, i + 1, '(', ')');
        } else if c == '!' && chars.get(i + 1) == Some(&'[') {
            // An image: its alt text is not article text; its destination follows as `](`,
            // left for the branch above.
            i = closing(&chars, i + 1, '[', ']');
            continue;
        } else if !matches!(c, '[' | '*' | '`' | '#' | '>' | '|') {
            out.push(c);
        } else {
            out.push(' ');
        }
        i += 1;
    }
    out
}

/// The Markdown without its first heading when that heading is the page's title: the benchmark
/// scores the article body, with the headline as a field of its own (as `Extracted::title` is).
fn body(markdown: &str, title: &str) -> String {
    let (first, rest) = markdown.split_once('\n').unwrap_or((markdown, ""));
    let heading = first.trim_start_matches('#').trim();
    let title = title.to_lowercase();
    if first.starts_with('#') && !heading.is_empty() && title.contains(&heading.to_lowercase()) {
        rest.to_string()
    } else {
        markdown.to_string()
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [dir, truth, out] = args.as_slice() else {
        eprintln!("usage: cargo bench --bench extraction -- HTML_DIR GROUND_TRUTH_JSON OUT_JSON");
        std::process::exit(2);
    };
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(truth).expect("ground truth"))
        .expect("ground truth is JSON");
    let mut output = Map::new();
    let mut times = Vec::new();
    let mut ids: Vec<&String> = truth.as_object().expect("an object").keys().collect();
    ids.sort();
    for id in ids {
        let path = PathBuf::from(dir).join(format!("{id}.html"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let html = String::from_utf8_lossy(&bytes);
        let base = truth[id]["url"].as_str().and_then(|u| Url::parse(u).ok());
        let started = Instant::now();
        let page = extract(&html, base.as_ref());
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        output.insert(
            id.clone(),
            json!({"articleBody": plain_text(&body(&page.markdown, &page.title))}),
        );
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    let doc = json!({"version": env!("CARGO_PKG_VERSION"), "output": output});
    std::fs::write(out, serde_json::to_string(&doc).unwrap()).expect("write the predictions");
    println!(
        "ours: {} pages, {median:.2} ms median, {p90:.2} ms p90 per page",
        times.len()
    );
}

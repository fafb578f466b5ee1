//! Rendering an element tree to Markdown: blocks separated by blank lines, inline text with its
//! whitespace collapsed, code kept verbatim.

mod docs;

use crate::page_parts::{resolve_link, squash, CodeBlock, Heading};
use ego_tree::NodeId;
use scraper::node::Node;
use scraper::ElementRef;
use std::collections::HashSet;
use url::Url;

/// What rendering collects besides the Markdown itself.
#[derive(Default)]
pub(crate) struct Output {
    pub markdown: String,
    pub headings: Vec<Heading>,
    pub code_blocks: Vec<CodeBlock>,
}

/// Elements never part of the content.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "nav",
    "aside", "form", "button", "select", "input", "textarea", "label", "dialog", "menu", "head",
];

/// Class or id words that mark boilerplate.
const BOILERPLATE: &[&str] = &[
    "nav",
    "menu",
    "footer",
    "sidebar",
    "breadcrumb",
    "cookie",
    "banner",
    "advert",
    "share",
    "social",
    "skip-link",
    "toc-sidebar",
    "related",
    "headerlink",
    "hash-link",
];

const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "figure",
    "figcaption",
    "details",
    "summary",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "pre",
    "blockquote",
    "table",
    "hr",
    "dl",
    "dt",
    "dd",
    "address",
    "body",
    "center",
];

fn is_block(name: &str) -> bool {
    BLOCKS.contains(&name)
}

fn is_boilerplate(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if SKIPPED.contains(&v.name()) {
        return true;
    }
    if v.attr("hidden").is_some() || v.attr("aria-hidden") == Some("true") {
        return true;
    }
    // A page-wide header or footer is boilerplate; one inside an article is part of it.
    if matches!(v.name(), "header" | "footer")
        && el
            .ancestors()
            .filter_map(ElementRef::wrap)
            .all(|a| !matches!(a.value().name(), "article" | "main"))
    {
        return true;
    }
    let words = v.attr("class").unwrap_or_default().to_ascii_lowercase()
        + " "
        + &v.attr("id").unwrap_or_default().to_ascii_lowercase();
    words
        .split(|c: char| c.is_whitespace() || c == '_')
        .any(|w| {
            BOILERPLATE.iter().any(|b| {
                w == *b || w.starts_with(&format!("{b}-")) || w.ends_with(&format!("-{b}"))
            })
        })
}

fn code_language(el: &ElementRef<'_>) -> Option<String> {
    let mut candidates = vec![*el];
    candidates.extend(
        el.children()
            .filter_map(ElementRef::wrap)
            .filter(|c| c.value().name() == "code"),
    );
    // The wrappers generators put around code (a Pygments table sits five levels under its
    // `highlight-python` div), up to the page's own containers.
    candidates.extend(
        el.ancestors()
            .filter_map(ElementRef::wrap)
            .take_while(|a| !matches!(a.value().name(), "body" | "main" | "article"))
            .take(6),
    );
    for c in candidates {
        if let Some(lang) = c
            .value()
            .attr("data-lang")
            .or(c.value().attr("data-language"))
        {
            return Some(lang.to_ascii_lowercase());
        }
        for class in c.value().classes() {
            for prefix in ["language-", "lang-", "highlight-", "sourceCode-"] {
                if let Some(l) = class.strip_prefix(prefix) {
                    if !l.is_empty() {
                        return Some(l.to_ascii_lowercase());
                    }
                }
            }
        }
    }
    None
}

struct Ctx<'b> {
    base: Option<&'b Url>,
    out: &'b mut Output,
    /// Elements left out (not content, as the content finder decided).
    skip: &'b HashSet<NodeId>,
    /// Elements being rendered, outermost to innermost (see [`MAX_DEPTH`]).
    depth: std::rc::Rc<std::cell::Cell<usize>>,
}

/// How deep the renderer goes into nested elements; below that, an element is its text alone.
/// Rendering recurses, and a page of a hundred thousand nested `<div>`s must not overflow the
/// stack of the thread that reads it.
const MAX_DEPTH: usize = 128;

/// One level of rendering depth, given back when dropped.
struct Level(std::rc::Rc<std::cell::Cell<usize>>);

impl Drop for Level {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Text as a Markdown quote: each line behind `> `, blank lines as `>`.
fn quote(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text under an element, whitespace collapsed (iterative: any depth).
fn flat_text(el: ElementRef<'_>) -> String {
    squash(&el.text().collect::<String>())
}

impl Ctx<'_> {
    /// One level deeper, or `None` at [`MAX_DEPTH`].
    fn deeper(&self) -> Option<Level> {
        let d = self.depth.get();
        if d >= MAX_DEPTH {
            return None;
        }
        self.depth.set(d + 1);
        Some(Level(self.depth.clone()))
    }

    fn left_out(&self, el: &ElementRef<'_>) -> bool {
        self.skip.contains(&el.id()) || is_boilerplate(el)
    }
}

/// Render the content root into `out`, leaving out the elements in `skip`.
pub(crate) fn render_root(
    root: ElementRef<'_>,
    skip: &HashSet<NodeId>,
    base: Option<&Url>,
    out: &mut Output,
) {
    let mut ctx = Ctx {
        base,
        out,
        skip,
        depth: Default::default(),
    };
    let md = container(root, &mut ctx, false);
    ctx.out.markdown = md;
}

/// Render an element's children: runs of inline content become paragraphs, blocks render
/// themselves; the pieces are joined by blank lines. In a list item (`in_item`), a nested list
/// follows its text on the next line.
fn container(el: ElementRef<'_>, ctx: &mut Ctx<'_>, in_item: bool) -> String {
    let Some(_guard) = ctx.deeper() else {
        return flat_text(el);
    };
    let mut blocks: Vec<String> = Vec::new();
    let mut list_at: Vec<bool> = Vec::new();
    let mut inline_run = String::new();
    let flush = |run: &mut String, blocks: &mut Vec<String>| {
        let p = squash_inline(run);
        if !p.is_empty() {
            blocks.push(p);
        }
        run.clear();
    };
    for child in el.children() {
        match child.value() {
            Node::Text(t) => inline_run.push_str(t),
            Node::Element(e) => {
                let Some(c) = ElementRef::wrap(child) else {
                    continue;
                };
                if ctx.left_out(&c) {
                    continue;
                }
                if is_block(e.name()) {
                    flush(&mut inline_run, &mut blocks);
                    list_at.resize(blocks.len(), false);
                    let b = block(c, ctx);
                    if !b.trim().is_empty() {
                        blocks.push(b);
                        list_at.push(matches!(e.name(), "ul" | "ol"));
                    }
                } else if e.name() == "br" {
                    inline_run.push(LINE_BREAK);
                } else {
                    inline_run.push_str(&inline(c, ctx));
                }
            }
            _ => {}
        }
    }
    flush(&mut inline_run, &mut blocks);
    list_at.resize(blocks.len(), false);
    let mut out = String::new();
    for (i, b) in blocks.iter().enumerate() {
        if i > 0 {
            out.push_str(if in_item && list_at[i] { "\n" } else { "\n\n" });
        }
        out.push_str(b);
    }
    out
}

/// Stands for a `<br>` in inline text until paragraphs are squashed (source newlines are just
/// whitespace). It is whitespace itself, so anything squashed whole drops it.
const LINE_BREAK: char = '\u{2028}';

/// Collapse whitespace in inline text but keep explicit line breaks (from `<br>`).
fn squash_inline(s: &str) -> String {
    s.split(LINE_BREAK)
        .map(squash)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("  \n")
}

fn block(el: ElementRef<'_>, ctx: &mut Ctx<'_>) -> String {
    if let Some(kind) = docs::kind(&el) {
        return docs::render(kind, el, ctx);
    }
    if let Some((img, caption)) = matches!(el.value().name(), "figure" | "div")
        .then(|| figure_parts(&el))
        .flatten()
    {
        return figure(img, caption, ctx);
    }
    let name = el.value().name();
    match name {
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
            let level = name[1..].parse::<u8>().unwrap_or(1);
            let text = squash(&inline_children(el, ctx));
            if text.is_empty() {
                return String::new();
            }
            ctx.out.headings.push(Heading {
                level,
                text: squash(&el.text().collect::<String>()),
            });
            format!("{} {text}", "#".repeat(level as usize))
        }
        "pre" => {
            let code = docs::code_text(el);
            let code = code.trim_matches('\n').to_string();
            let language = code_language(&el);
            ctx.out.code_blocks.push(CodeBlock {
                language: language.clone(),
                code: code.clone(),
            });
            let fence = if code.contains("```") { "~~~~" } else { "```" };
            format!("{fence}{}\n{code}\n{fence}", language.unwrap_or_default())
        }
        "ul" | "ol" => list(el, ctx, name == "ol"),
        "blockquote" => quote(&container(el, ctx, false)),
        "hr" => "---".into(),
        "table" => table(el, ctx),
        _ => container(el, ctx, false),
    }
}

fn list(el: ElementRef<'_>, ctx: &mut Ctx<'_>, ordered: bool) -> String {
    let mut items = Vec::new();
    let mut n = 0;
    for li in el
        .children()
        .filter_map(ElementRef::wrap)
        .filter(|c| c.value().name() == "li")
    {
        n += 1;
        let marker = if ordered {
            format!("{n}. ")
        } else {
            "- ".into()
        };
        let body = container(li, ctx, true);
        let indent = " ".repeat(marker.len());
        let mut lines = body.lines();
        let first = lines.next().unwrap_or_default();
        let mut item = format!("{marker}{first}");
        for l in lines {
            item.push('\n');
            if !l.is_empty() {
                item.push_str(&indent);
                item.push_str(l);
            }
        }
        items.push(item);
    }
    items.join("\n")
}

fn table(el: ElementRef<'_>, ctx: &mut Ctx<'_>) -> String {
    let rows: Vec<Vec<String>> = el
        .descendent_elements()
        .filter(|e| e.value().name() == "tr")
        .map(|tr| {
            tr.children()
                .filter_map(ElementRef::wrap)
                .filter(|c| matches!(c.value().name(), "td" | "th"))
                .map(|c| squash(&inline_children(c, ctx)).replace('|', "\\|"))
                .collect()
        })
        .filter(|r: &Vec<String>| !r.is_empty())
        .collect();
    let Some(width) = rows.iter().map(Vec::len).max() else {
        return String::new();
    };
    let line = |r: &Vec<String>| {
        let mut cells = r.clone();
        cells.resize(width, String::new());
        format!("| {} |", cells.join(" | "))
    };
    let mut out = vec![line(&rows[0]), format!("|{}", " --- |".repeat(width))];
    out.extend(rows[1..].iter().map(line));
    out.join("\n")
}

fn inline_children(el: ElementRef<'_>, ctx: &mut Ctx<'_>) -> String {
    let Some(_guard) = ctx.deeper() else {
        return flat_text(el);
    };
    let mut s = String::new();
    for child in el.children() {
        match child.value() {
            Node::Text(t) => s.push_str(t),
            Node::Element(e) => {
                if let Some(c) = ElementRef::wrap(child) {
                    if ctx.left_out(&c) {
                        continue;
                    }
                    if e.name() == "br" {
                        s.push(LINE_BREAK);
                    } else {
                        s.push_str(&inline(c, ctx));
                    }
                }
            }
            _ => {}
        }
    }
    s
}

/// Put `open` and `close` around inline text, keeping the whitespace at its ends outside them
/// (`" bold "` becomes `" **bold** "`, not `"** bold **"`). Empty text stays as it is.
fn surround(text: &str, open: &str, close: &str) -> String {
    let inner = text.trim();
    if inner.is_empty() {
        return text.to_string();
    }
    let lead = if text.starts_with(char::is_whitespace) {
        " "
    } else {
        ""
    };
    let trail = if text.ends_with(char::is_whitespace) {
        " "
    } else {
        ""
    };
    format!("{lead}{open}{inner}{close}{trail}")
}

fn inline(el: ElementRef<'_>, ctx: &mut Ctx<'_>) -> String {
    match el.value().name() {
        "code" | "kbd" | "samp" | "tt" => {
            let t: String = el.text().collect();
            let t = squash(&t);
            if t.is_empty() {
                String::new()
            } else if t.contains('`') {
                format!("`` {t} ``")
            } else {
                format!("`{t}`")
            }
        }
        "strong" | "b" => surround(&inline_children(el, ctx), "**", "**"),
        "em" | "i" => surround(&inline_children(el, ctx), "*", "*"),
        // A heading's own permalink (`#section`, shown as a pilcrow or a link icon).
        "a" if el.value().attr("href").is_some_and(|h| h.starts_with('#'))
            && el
                .ancestors()
                .filter_map(ElementRef::wrap)
                .take(4)
                .any(|a| matches!(a.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")) =>
        {
            String::new()
        }
        "a" => {
            let text = inline_children(el, ctx);
            match el
                .value()
                .attr("href")
                .and_then(|h| resolve_link(ctx.base, h))
            {
                Some(url) => surround(&text, "[", &format!("]({})", md_url(&url))),
                _ => text,
            }
        }
        "img" => match (
            el.value().attr("alt"),
            el.value()
                .attr("src")
                .and_then(|s| resolve_link(ctx.base, s)),
        ) {
            (Some(alt), Some(src)) => image(alt, &src),
            _ => String::new(),
        },
        _ => inline_children(el, ctx),
    }
}

/// An image's alt text as Markdown: brackets escaped; none when it is empty or only a URL
/// (some pages put the image's own address there), which says nothing to a reader.
fn md_alt(alt: &str) -> Option<String> {
    let alt = squash(alt);
    let bare = alt.trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace());
    if bare.is_empty() || Url::parse(bare).is_ok_and(|u| u.has_host()) {
        return None;
    }
    Some(alt.replace('[', "\\[").replace(']', "\\]"))
}

/// `![alt](src)`, or nothing when the alt text says nothing (see [`md_alt`]).
fn image(alt: &str, src: &Url) -> String {
    md_alt(alt)
        .map(|alt| format!("![{alt}]({})", md_url(src)))
        .unwrap_or_default()
}

/// A URL as a Markdown link destination: parentheses (which would end it) percent-encoded.
fn md_url(url: &Url) -> String {
    url.as_str().replace('(', "%28").replace(')', "%29")
}

/// The image and caption of a figure (`<figure>` with `<figcaption>`, or a WordPress
/// `wp-caption` block), when it holds exactly one image.
fn figure_parts<'a>(el: &ElementRef<'a>) -> Option<(ElementRef<'a>, Option<ElementRef<'a>>)> {
    let name = el.value().name();
    let classes = el.value().attr("class").unwrap_or_default();
    if name != "figure" && !classes.split_whitespace().any(|c| c == "wp-caption") {
        return None;
    }
    let mut images = el
        .descendent_elements()
        .filter(|e| e.value().name() == "img");
    let img = images.next()?;
    if images.next().is_some() {
        return None;
    }
    let caption = el.descendent_elements().find(|e| {
        e.value().name() == "figcaption" || e.value().classes().any(|c| c == "wp-caption-text")
    });
    Some((img, caption))
}

/// A figure as one image: `![caption or alt](src)`, or nothing when it has neither.
fn figure(img: ElementRef<'_>, caption: Option<ElementRef<'_>>, ctx: &mut Ctx<'_>) -> String {
    let caption = caption.map(|c| squash(&c.text().collect::<String>()));
    let alt = caption
        .filter(|c| !c.is_empty())
        .or_else(|| img.value().attr("alt").map(String::from))
        .unwrap_or_default();
    match img
        .value()
        .attr("src")
        .and_then(|s| resolve_link(ctx.base, s))
    {
        Some(src) => image(&alt, &src),
        None => String::new(),
    }
}

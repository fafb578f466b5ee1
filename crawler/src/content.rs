//! Finding a page's main content, the way the best extractors do: paragraphs score the blocks
//! that hold them (longer text and more commas score more, text in links scores less), class and
//! id words say which blocks are content and which are boilerplate, the best-scoring block is the
//! content, with its siblings that score well too, and blocks inside it that are mostly links
//! (teaser lists, "related", tag clouds) are left out. `<main>`, `role=main`, `<article>` and
//! schema.org's `articleBody` are taken at their word when they hold the text; when the chosen
//! block is too small, the whole body is.

use ego_tree::iter::Edge;
use ego_tree::NodeId;
use scraper::node::Node;
use scraper::{ElementRef, Html, Selector};
use std::collections::{HashMap, HashSet};

/// Characters of text and of link text under an element.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    text: usize,
    link: usize,
    commas: usize,
}

/// The main content: where it is, and what inside it to leave out.
pub(crate) struct Content<'a> {
    /// The element to render.
    pub root: ElementRef<'a>,
    /// Elements under it that are not content (boilerplate, teasers, link-dense blocks).
    pub skip: HashSet<NodeId>,
}

/// Class and id words of blocks that are not content.
#[rustfmt::skip]
const UNLIKELY: &[&str] = &[
    "ad", "ads", "advert", "advertisement", "banner", "breadcrumb", "breadcrumbs", "byline",
    "comment", "comments", "community", "cookie", "disqus", "footer", "gdpr", "header",
    "masthead", "menu", "modal", "nav", "navbar", "newsletter", "outbrain", "pagination",
    "pager", "popular", "popup", "promo", "recommended", "related", "remark", "replies",
    "rss", "share", "sharing", "shoutbox", "sidebar", "signup", "skyscraper", "social",
    "sponsor", "sponsored", "subscribe", "subscription", "supplemental", "taboola", "tags", "toolbar",
    "trending", "widget", "author-bio", "paywall", "teaser", "teasers", "more-stories", "read-more",
    "caption", "credit", "credits", "gallery", "slideshow", "carousel", "dateline", "timestamp",
    "author", "authors", "published", "updated", "date", "meta",
];

/// Class and id words of blocks that are content.
#[rustfmt::skip]
const LIKELY: &[&str] = &[
    "article", "body", "content", "entry", "main", "post", "story", "text",
    "blog", "prose", "markdown", "documentation", "docs", "page",
];

fn words(el: &ElementRef<'_>) -> Vec<String> {
    let v = el.value();
    let raw = format!(
        "{} {}",
        v.attr("class").unwrap_or_default(),
        v.attr("id").unwrap_or_default()
    )
    .to_ascii_lowercase();
    let mut out = Vec::new();
    for w in raw.split(|c: char| c.is_whitespace()) {
        if w.is_empty() {
            continue;
        }
        out.push(w.to_string());
        out.extend(
            w.split(['-', '_'])
                .filter(|p| !p.is_empty())
                .map(String::from),
        );
    }
    out
}

/// Class and id words that mark boilerplate whatever else the class says (`post-comments`).
#[rustfmt::skip]
const NEVER_CONTENT: &[&str] = &[
    "comment", "comments", "disqus", "respond", "share", "sharing", "social", "related",
    "newsletter", "subscribe", "cookie", "gdpr", "outbrain", "taboola", "recommended", "trending",
    "popular", "breadcrumb", "breadcrumbs", "pagination", "sponsored",
];

/// What an element's class and id words say about it, read once.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    /// They name what is never content (comments, share bars).
    never: bool,
    /// +1 for a content word, -1 for a boilerplate word, 0 otherwise.
    weight: i32,
}

impl Verdict {
    fn of(el: &ElementRef<'_>) -> Self {
        let w = words(el);
        let never = !matches!(el.value().name(), "article" | "main" | "body")
            && w.iter().any(|w| NEVER_CONTENT.contains(&w.as_str()))
            && !w.iter().any(|w| w == "article");
        if never {
            return Self { never, weight: -1 };
        }
        let bad = w.iter().any(|w| UNLIKELY.contains(&w.as_str()));
        let good = w.iter().any(|w| LIKELY.contains(&w.as_str()));
        let weight = match (good, bad) {
            (true, false) => 1,
            (false, true) => -1,
            _ => 0,
        };
        Self { never, weight }
    }

    /// They name boilerplate (and nothing that names content).
    fn unlikely(self) -> bool {
        self.weight < 0
    }
}

/// Sizes of every element, in one pass from the leaves up (iterative: any depth).
fn sizes(doc: &Html) -> HashMap<NodeId, Size> {
    let mut out = HashMap::new();
    let mut stack: Vec<Size> = vec![Size::default()];
    let (mut links, mut hidden) = (0usize, 0usize);
    let unseen = |name: &str| matches!(name, "script" | "style" | "noscript" | "template" | "svg");
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => {
                if let Node::Element(e) = node.value() {
                    links += usize::from(e.name() == "a");
                    hidden += usize::from(unseen(e.name()));
                }
                stack.push(Size::default());
            }
            Edge::Close(node) => {
                let mut s = stack.pop().unwrap_or_default();
                match node.value() {
                    Node::Text(t) if hidden == 0 => {
                        s.text = t.trim().chars().count();
                        s.commas = t.matches(',').count();
                        if links > 0 {
                            s.link = s.text;
                        }
                    }
                    Node::Element(e) => {
                        links -= usize::from(e.name() == "a");
                        if unseen(e.name()) {
                            hidden -= 1;
                            s = Size::default();
                        }
                        out.insert(node.id(), s);
                    }
                    _ => {}
                }
                if let Some(parent) = stack.last_mut() {
                    parent.text += s.text;
                    parent.link += s.link;
                    parent.commas += s.commas;
                }
            }
        }
    }
    out
}

/// The text an element holds itself: its text nodes and inline children, not its blocks.
fn own_text(el: &ElementRef<'_>, sizes: &HashMap<NodeId, Size>) -> Size {
    let mut s = Size::default();
    for c in el.children() {
        match c.value() {
            Node::Text(t) => {
                s.text += t.trim().chars().count();
                s.commas += t.matches(',').count();
            }
            Node::Element(e)
                if matches!(
                    e.name(),
                    "a" | "span"
                        | "strong"
                        | "b"
                        | "em"
                        | "i"
                        | "u"
                        | "small"
                        | "font"
                        | "sup"
                        | "sub"
                        | "mark"
                        | "abbr"
                        | "cite"
                        | "q"
                        | "time"
                ) =>
            {
                let cs = sizes.get(&c.id()).copied().unwrap_or_default();
                s.text += cs.text;
                s.link += cs.link;
                s.commas += cs.commas;
            }
            _ => {}
        }
    }
    s
}

fn link_density(s: &Size) -> f64 {
    if s.text == 0 {
        0.0
    } else {
        s.link as f64 / s.text as f64
    }
}

fn tag_weight(name: &str) -> f64 {
    match name {
        "article" => 10.0,
        "div" | "section" | "main" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("static selector")
}

/// The page as the content finder measures it.
struct Page<'a> {
    doc: &'a Html,
    sizes: HashMap<NodeId, Size>,
    /// Characters of text in the body.
    body_text: usize,
}

impl<'a> Page<'a> {
    fn size(&self, el: &ElementRef<'_>) -> Size {
        self.sizes.get(&el.id()).copied().unwrap_or_default()
    }

    /// Whether a block is (inside) boilerplate by its name or its class words. A wrapper that
    /// holds half the page's text is not boilerplate whatever its class says (themes name
    /// their main column `content-sidebar` and the like).
    fn excluded(&self, el: &ElementRef<'_>) -> bool {
        // Boilerplate wrappers sit near what they wrap; looking further up on a page nested
        // thousands deep would cost the square of its depth.
        std::iter::once(*el)
            .chain(el.ancestors().filter_map(ElementRef::wrap))
            .take(64)
            .any(|a| {
                let small = self.size(&a).text * 2 < self.body_text;
                let named = matches!(
                    a.value().name(),
                    "nav" | "aside" | "footer" | "form" | "header"
                );
                // Comments may hold most of the page; only a wrapper of nearly all of it is
                // spared.
                let most = self.size(&a).text * 5 < self.body_text * 4;
                let verdict = Verdict::of(&a);
                (most && verdict.never) || (small && (named || verdict.unlikely()))
            })
    }

    /// Score the blocks of the page by the paragraphs they hold; the best one is the content.
    fn best_block(&self) -> Option<ElementRef<'a>> {
        let mut scores: HashMap<NodeId, f64> = HashMap::new();
        for p in self
            .doc
            .select(&sel("p, pre, td, blockquote, li, div, section"))
        {
            let name = p.value().name();
            let size = self.size(&p);
            // A div or section holding other blocks counts by its own text alone (text
            // written straight into it, between `<br>`s).
            // Its text then scores the block itself, as a paragraph of its own would.
            let holds_blocks = matches!(name, "div" | "section" | "li" | "td")
                && p.children().filter_map(ElementRef::wrap).any(|c| {
                    matches!(
                        c.value().name(),
                        "p" | "div" | "section" | "pre" | "table" | "ul" | "ol"
                    )
                });
            let size = if holds_blocks {
                own_text(&p, &self.sizes)
            } else {
                size
            };
            if size.text < 25 || self.excluded(&p) {
                continue;
            }
            let own = 1.0 + size.commas as f64 + (size.text as f64 / 100.0).min(3.0);
            let from_self = holds_blocks.then_some(p);
            for (level, a) in from_self
                .into_iter()
                .chain(p.ancestors().filter_map(ElementRef::wrap))
                .take(3)
                .enumerate()
            {
                if matches!(a.value().name(), "html" | "body") {
                    break;
                }
                let divider = match level {
                    0 => 1.0,
                    1 => 2.0,
                    n => n as f64 * 3.0,
                };
                let entry = scores.entry(a.id()).or_insert_with(|| {
                    tag_weight(a.value().name()) + 25.0 * Verdict::of(&a).weight as f64
                });
                *entry += own / divider;
                // A paragraph of an `<article>` scores for that article, not for what holds
                // it (a list of teaser articles is not an article).
                if a.value().name() == "article" {
                    break;
                }
            }
        }
        scores
            .into_iter()
            .filter_map(|(id, score)| {
                let el = ElementRef::wrap(self.doc.tree.get(id)?)?;
                let s = self.size(&el);
                Some((el, score * (1.0 - link_density(&s))))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(el, _)| el)
    }

    /// A declared content element (`articleBody`, `<article>`, `<main>`, `role=main`) that
    /// holds the best block: it is the content, with its own structure.
    fn declared(&self, best: Option<ElementRef<'a>>) -> Option<ElementRef<'a>> {
        // Prose of its own: nested `<article>`s (teasers) and comments not counted.
        let prose = |e: &ElementRef<'_>| {
            let s = self.size(e);
            let nested: usize = e
                .descendent_elements()
                .skip(1)
                .filter(|d| {
                    (d.value().name() == "article" || Verdict::of(d).never)
                        && !d
                            .ancestors()
                            .take_while(|a| a.id() != e.id())
                            .filter_map(ElementRef::wrap)
                            .any(|a| a.value().name() == "article" || Verdict::of(&a).never)
                })
                .map(|d| {
                    let n = self.size(&d);
                    n.text - n.link
                })
                .sum();
            (s.text - s.link).saturating_sub(nested)
        };
        for s in ["[itemprop=articleBody]", "article", "main", "[role=main]"] {
            let found = self
                .doc
                .select(&sel(s))
                .filter(|e| !self.excluded(e))
                .max_by_key(|e| prose(e));
            if let Some(e) = found {
                // It holds the best block, or it is a good part of it (the best block being
                // a wrapper around the article and its comments, related links and footer).
                let holds_best = best.is_none_or(|b| {
                    b.id() == e.id()
                        || b.ancestors().any(|a| a.id() == e.id())
                        || (e.ancestors().any(|a| a.id() == b.id())
                            && prose(&e) * 10 >= prose(&b) * 3)
                });
                // schema.org's `articleBody` is the article's own word for it.
                let authoritative = s.starts_with("[itemprop") && prose(&e) >= 100;
                if authoritative || (holds_best && prose(&e) >= 140) {
                    return Some(e);
                }
            }
        }
        None
    }

    /// Blocks under `root` that are not content: named as boilerplate (comments, share bars,
    /// related stories) and small, teasers (`<article>`s inside the article), and blocks that
    /// are mostly links (teaser lists, tag clouds) when the root has prose of its own.
    fn left_out(&self, root: ElementRef<'_>, best: Option<ElementRef<'_>>) -> HashSet<NodeId> {
        let mut skip = HashSet::new();
        let total = self.size(&root);
        // The best block and what holds it, looked up once (a check per element that walked
        // up the tree would take time in the square of the page's depth).
        let best_line: HashSet<NodeId> = best
            .into_iter()
            .flat_map(|b| std::iter::once(b.id()).chain(b.ancestors().map(|a| a.id())))
            .collect();
        let holds_best = |el: &ElementRef<'_>| best_line.contains(&el.id());
        // `<article>`s inside an article are teasers; inside a wrapper, one may be the article.
        let teasers = root.value().name() == "article";
        for el in root.descendent_elements().skip(1) {
            let s = self.size(&el);
            let small = s.text * 2 < total.text;
            if small
                && !holds_best(&el)
                && (Verdict::of(&el).unlikely() || (teasers && el.value().name() == "article"))
            {
                skip.insert(el.id());
            }
        }
        // Previous/next links closing the content: trailing blocks that are links alone (in
        // the root, or in the one element that holds all of its text).
        let mut holder = root;
        while let Some(only) = holder
            .children()
            .filter_map(ElementRef::wrap)
            .find(|c| self.size(c).text == self.size(&holder).text && self.size(c).text > 0)
        {
            holder = only;
        }
        let children: Vec<ElementRef<'_>> =
            holder.children().filter_map(ElementRef::wrap).collect();
        for el in children.into_iter().rev() {
            let s = self.size(&el);
            if s.text == 0 {
                continue;
            }
            let links_alone = s.link == s.text && s.text < 100;
            if !links_alone || matches!(el.value().name(), "ul" | "ol" | "p") {
                break;
            }
            skip.insert(el.id());
        }
        if total.text - total.link < 300 {
            // A page of links (an index, a docs landing page): its links are its content.
            return skip;
        }
        for el in root.descendent_elements() {
            let name = el.value().name();
            if !matches!(name, "div" | "section" | "ul" | "ol" | "table" | "p" | "dl") {
                continue;
            }
            let s = self.size(&el);
            let threshold = if matches!(name, "ul" | "ol" | "dl") {
                0.6
            } else {
                0.5
            };
            if s.text > 0 && link_density(&s) > threshold && s.text - s.link < 200 {
                skip.insert(el.id());
            }
        }
        skip
    }
}

/// The page's main content.
pub(crate) fn find(doc: &Html) -> Option<Content<'_>> {
    let sizes = sizes(doc);
    let body = doc.select(&sel("body")).next();
    let body_text = body.and_then(|b| sizes.get(&b.id())).map_or(0, |s| s.text);
    let page = Page {
        doc,
        sizes,
        body_text,
    };
    let best = page.best_block();
    let root = page.declared(best).or(best).or(body)?;
    // Too small to be the content: the whole body.
    let root = match body {
        Some(b) if page.size(&root).text < 100 && body_text > page.size(&root).text * 3 => b,
        _ => root,
    };
    let skip = page.left_out(root, best);
    Some(Content { root, skip })
}

#[cfg(test)]
mod tests;

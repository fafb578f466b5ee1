//! Blocks that documentation generators write, rendered for a reader: tab sets with every tab
//! (hidden ones too) under its label, admonitions as a quote headed by their title, and code with
//! its line numbers left out (Pygments' line-number tables and spans, Docusaurus' and MkDocs'
//! line-number elements).

use super::{container, quote, Ctx};
use crate::page_parts::squash;
use ego_tree::iter::Edge;
use scraper::node::Node;
use scraper::ElementRef;

/// A documentation block an element is.
pub(super) enum DocBlock {
    /// Tabs: Docusaurus and sphinx-tabs (`role=tablist`), MkDocs Material (`tabbed-set`),
    /// sphinx-design (`sd-tab-set`).
    Tabs,
    /// A note, tip or warning: `admonition` (MkDocs, Sphinx, Docusaurus), callouts and hints.
    Admonition,
    /// A Pygments table of line numbers beside the code.
    CodeTable,
}

fn has_class(el: &ElementRef<'_>, f: impl Fn(&str) -> bool) -> bool {
    el.value().classes().any(f)
}

/// What kind of documentation block `el` is, if any.
pub(super) fn kind(el: &ElementRef<'_>) -> Option<DocBlock> {
    let name = el.value().name();
    if name == "table" && has_class(el, |c| c == "highlighttable") {
        return Some(DocBlock::CodeTable);
    }
    if name != "div" && name != "section" && name != "aside" {
        return None;
    }
    // A tab list among the children, or the panels (their tab list just before them).
    let tablist = el
        .children()
        .filter_map(ElementRef::wrap)
        .any(|c| matches!(c.value().attr("role"), Some("tablist") | Some("tabpanel")));
    if tablist || has_class(el, |c| matches!(c, "tabbed-set" | "sd-tab-set" | "tab-set")) {
        return Some(DocBlock::Tabs);
    }
    let admonition = has_class(el, |c| {
        let c = c.to_ascii_lowercase();
        c == "admonition"
            || c == "theme-admonition"
            || c == "callout"
            || c == "hint"
            || c.ends_with("-callout")
            || c.starts_with("callout-")
    });
    admonition.then_some(DocBlock::Admonition)
}

/// Render a documentation block.
pub(super) fn render(kind: DocBlock, el: ElementRef<'_>, ctx: &mut Ctx<'_>) -> String {
    match kind {
        DocBlock::Tabs => tabs(el, ctx),
        DocBlock::Admonition => admonition(el, ctx),
        DocBlock::CodeTable => el
            .descendent_elements()
            .filter(|e| e.value().name() == "pre")
            .find(|pre| {
                !pre.ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| is_line_numbers(&a))
            })
            .map(|pre| super::block(pre, ctx))
            .unwrap_or_default(),
    }
}

/// Whether an element holds line numbers, not code.
pub(super) fn is_line_numbers(el: &ElementRef<'_>) -> bool {
    has_class(el, |c| {
        let c = c.to_ascii_lowercase();
        c == "linenos"
            || c == "lineno"
            || c == "linenodiv"
            || c.contains("line-number")
            || c.contains("linenumber")
    }) || el
        .value()
        .attr("id")
        .is_some_and(|id| id.starts_with("__codelineno"))
}

/// The text of a code block without its line numbers.
pub(super) fn code_text(pre: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut numbers = 0usize;
    for edge in pre.traverse() {
        match edge {
            Edge::Open(node) => {
                if let Some(e) = ElementRef::wrap(node) {
                    numbers += usize::from(is_line_numbers(&e));
                } else if let Node::Text(t) = node.value() {
                    if numbers == 0 {
                        out.push_str(t);
                    }
                }
            }
            Edge::Close(node) => {
                if let Some(e) = ElementRef::wrap(node) {
                    numbers -= usize::from(is_line_numbers(&e));
                }
            }
        }
    }
    out
}

/// Every tab of a tab set, each under its label in bold, hidden tabs included.
fn tabs(el: ElementRef<'_>, ctx: &mut Ctx<'_>) -> String {
    let by_role = |role: &str| -> Vec<ElementRef<'_>> {
        el.descendent_elements()
            .filter(|e| e.value().attr("role") == Some(role))
            .collect()
    };
    let by_class = |class: &str| -> Vec<ElementRef<'_>> {
        el.descendent_elements()
            .filter(|e| e.value().classes().any(|c| c == class))
            .collect()
    };
    let mut labels = by_role("tab");
    if labels.is_empty() {
        // Panels without their tab list: it is the element just before them.
        if let Some(list) = el
            .prev_siblings()
            .filter_map(ElementRef::wrap)
            .next()
            .filter(|p| p.value().attr("role") == Some("tablist"))
        {
            labels = list
                .descendent_elements()
                .filter(|e| e.value().attr("role") == Some("tab"))
                .collect();
        }
    }
    if labels.is_empty() {
        labels = el
            .descendent_elements()
            .filter(|e| e.value().name() == "label")
            .collect();
    }
    let mut panels = by_role("tabpanel");
    for class in ["tabbed-block", "sd-tab-content", "tab-content"] {
        if panels.is_empty() {
            panels = by_class(class);
        }
    }
    if panels.is_empty() {
        return container(el, ctx, false);
    }
    let mut out = Vec::new();
    for (i, panel) in panels.into_iter().enumerate() {
        let label = labels
            .get(i)
            .map(|l| squash(&l.text().collect::<String>()))
            .unwrap_or_default();
        let body = container(panel, ctx, false);
        if label.is_empty() {
            out.push(body);
        } else {
            out.push(format!("**{label}**\n\n{body}"));
        }
    }
    out.join("\n\n")
}

/// An admonition as a quote: its title in bold, then its body.
fn admonition(el: ElementRef<'_>, ctx: &mut Ctx<'_>) -> String {
    let title = el
        .descendent_elements()
        .find(|e| {
            has_class(e, |c| {
                let c = c.to_ascii_lowercase();
                c.contains("admonition-title")
                    || c.contains("admonitionheading")
                    || c.contains("admonition-heading")
                    || c.contains("callout-title")
            })
        })
        .map(|t| squash(&t.text().collect::<String>()));
    let body = container(el, ctx, false);
    let mut blocks: Vec<&str> = body.split("\n\n").collect();
    let title = match title {
        // The title is rendered as the body's first block: it becomes the heading.
        Some(t) if blocks.first().is_some_and(|b| squash(b) == t) => {
            blocks.remove(0);
            Some(t)
        }
        t => t,
    };
    let body = blocks.join("\n\n");
    match title.filter(|t| !t.is_empty()) {
        Some(t) => quote(&format!("**{t}**\n\n{body}")),
        None => quote(&body),
    }
}

//! Word (DOCX) and PowerPoint (PPTX) files: zip archives of XML parts. Reading is bounded: at most
//! [`MAX_ENTRIES`] entries, each part inflated to at most [`MAX_PART`] bytes and all parts
//! together to at most [`MAX_TOTAL`], so a zip bomb fails the job instead of filling memory.

use super::{MarkdownWriter, MAX_NESTING};
use crate::extract::Extracted;
use crate::ingest::IngestError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::io::{Cursor, Read};

/// Most entries an archive may have.
pub const MAX_ENTRIES: usize = 10_000;
/// Most bytes one XML part may inflate to.
pub const MAX_PART: u64 = 64 * 1024 * 1024;
/// Most bytes all parts read may inflate to.
pub const MAX_TOTAL: u64 = 256 * 1024 * 1024;

struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    inflated: u64,
}

impl<'a> Archive<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, IngestError> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| IngestError::Malformed(format!("not a readable zip archive: {e}")))?;
        if zip.len() > MAX_ENTRIES {
            return Err(IngestError::Malformed(format!(
                "the archive has {} entries (at most {MAX_ENTRIES})",
                zip.len()
            )));
        }
        Ok(Self { zip, inflated: 0 })
    }

    fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect()
    }

    /// A part's bytes, or `None` when there is no such part.
    fn part(&mut self, name: &str) -> Result<Option<Vec<u8>>, IngestError> {
        let mut f = match self.zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(IngestError::Malformed(format!("{name}: {e}"))),
        };
        let room = MAX_PART.min(MAX_TOTAL.saturating_sub(self.inflated));
        let mut out = Vec::new();
        (&mut f)
            .take(room + 1)
            .read_to_end(&mut out)
            .map_err(|e| IngestError::Malformed(format!("{name}: {e}")))?;
        if out.len() as u64 > room {
            return Err(IngestError::Malformed(format!(
                "{name} inflates beyond {} MB: refusing a possible zip bomb",
                room / (1024 * 1024)
            )));
        }
        self.inflated += out.len() as u64;
        Ok(Some(out))
    }
}

fn local(e: &BytesStart<'_>) -> Vec<u8> {
    e.local_name().as_ref().to_vec()
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// A step of a walk over XML.
pub(crate) enum Node<'a, 'b> {
    /// An element opens (an empty element opens and closes).
    Open(&'a BytesStart<'b>),
    /// An element closes: its local name.
    Close(&'a [u8]),
    /// Character data.
    Text(&'a str),
}

/// Walk an XML part, with nesting bounded by [`MAX_NESTING`] and DTD entities never expanded.
pub(crate) fn walk(xml: &[u8], mut on: impl FnMut(Node<'_, '_>)) -> Result<(), IngestError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        let ev = reader.read_event_into(&mut buf).map_err(|e| {
            IngestError::Malformed(format!(
                "malformed XML at byte {}: {e}",
                reader.buffer_position()
            ))
        })?;
        match ev {
            Event::Start(e) => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(IngestError::Malformed(format!(
                        "XML nested deeper than {MAX_NESTING} levels"
                    )));
                }
                on(Node::Open(&e));
            }
            Event::Empty(e) => {
                on(Node::Open(&e));
                on(Node::Close(e.local_name().as_ref()));
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                on(Node::Close(e.local_name().as_ref()));
            }
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| IngestError::Malformed(format!("XML text: {e}")))?;
                on(Node::Text(&s));
            }
            Event::CData(t) => on(Node::Text(&String::from_utf8_lossy(&t))),
            Event::GeneralRef(r) => {
                let name = r
                    .decode()
                    .map_err(|e| IngestError::Malformed(format!("XML reference: {e}")))?;
                if let Some(ch) = r.resolve_char_ref().ok().flatten() {
                    on(Node::Text(&ch.to_string()));
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                    on(Node::Text(s));
                }
                // Other entities are left out: DTD entities are never expanded.
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if depth != 0 {
        return Err(IngestError::Malformed("XML ends inside an element".into()));
    }
    Ok(())
}

/// The `dc:title` of `docProps/core.xml`, when there is one.
fn core_title(ar: &mut Archive<'_>) -> Result<String, IngestError> {
    let Some(xml) = ar.part("docProps/core.xml")? else {
        return Ok(String::new());
    };
    let mut in_title = false;
    let mut title = String::new();
    walk(&xml, |n| match n {
        Node::Open(e) if local(e) == b"title" => in_title = true,
        Node::Close(b"title") => in_title = false,
        Node::Text(t) if in_title => title.push_str(t),
        _ => {}
    })?;
    Ok(title.trim().to_string())
}

/// A Word document: paragraphs, headings (by paragraph style), list items and tables.
pub fn docx(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let mut ar = Archive::open(bytes)?;
    let xml = ar.part("word/document.xml")?.ok_or_else(|| {
        IngestError::Malformed("not a Word document (no word/document.xml)".into())
    })?;
    let mut w = MarkdownWriter::default();
    let mut para = String::new();
    let mut style: Option<String> = None;
    let mut listed = false;
    let mut in_text = false;
    let mut cells: Vec<String> = Vec::new();
    let mut in_cell = 0usize;
    let mut first_heading = String::new();
    walk(&xml, |n| {
        let (name, start) = match &n {
            Node::Open(e) => (local(e), true),
            Node::Close(name) => (name.to_vec(), false),
            Node::Text(t) => {
                if in_text {
                    para.push_str(t);
                }
                return;
            }
        };
        match (name.as_slice(), start) {
            (b"t", s) => in_text = s,
            (b"tab", true) => para.push('\t'),
            (b"br", true) | (b"cr", true) => para.push('\n'),
            (b"pStyle", true) => {
                if let Node::Open(e) = &n {
                    style = attr(e, b"val");
                }
            }
            (b"numPr", true) => listed = true,
            (b"tc", true) => in_cell += 1,
            (b"tc", false) => {
                in_cell = in_cell.saturating_sub(1);
                cells.push(std::mem::take(&mut para).trim().replace('\n', " "));
            }
            (b"tr", false) => {
                let row = std::mem::take(&mut cells);
                if row.iter().any(|c| !c.is_empty()) {
                    w.paragraph(&format!("| {} |", row.join(" | ")));
                }
            }
            (b"p", false) if in_cell > 0 => {
                para.push(' ');
                style = None;
                listed = false;
            }
            (b"p", false) => {
                let text = std::mem::take(&mut para);
                let level = style.as_deref().and_then(heading_level);
                match level {
                    Some(l) => {
                        if first_heading.is_empty() {
                            first_heading = text.trim().to_string();
                        }
                        w.heading(l, &text)
                    }
                    None if listed => w.paragraph(&format!("- {}", text.trim())),
                    None => w.paragraph(&text),
                }
                style = None;
                listed = false;
            }
            _ => {}
        }
    })?;
    let title = core_title(&mut ar)?;
    let title = if title.is_empty() {
        first_heading
    } else {
        title
    };
    Ok(w.finish(title))
}

/// A Word paragraph style's heading level (`Title` and `Heading1` are 1).
fn heading_level(style: &str) -> Option<u8> {
    let s = style.to_ascii_lowercase();
    if s == "title" {
        return Some(1);
    }
    let n = s.strip_prefix("heading")?.trim();
    n.parse::<u8>()
        .ok()
        .filter(|l| (1..=9).contains(l))
        .map(|l| l.min(6))
}

/// A PowerPoint deck: each slide's text in slide order, under a `Slide N` heading (its title
/// placeholder, when it has one, names the slide).
pub fn pptx(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let mut ar = Archive::open(bytes)?;
    let mut slides: Vec<(u32, String)> = ar
        .names()
        .into_iter()
        .filter_map(|n| {
            let num = n
                .strip_prefix("ppt/slides/slide")?
                .strip_suffix(".xml")?
                .parse::<u32>()
                .ok()?;
            Some((num, n))
        })
        .collect();
    if slides.is_empty() && ar.part("ppt/presentation.xml")?.is_none() {
        return Err(IngestError::Malformed(
            "not a PowerPoint deck (no ppt/presentation.xml)".into(),
        ));
    }
    slides.sort();
    let mut w = MarkdownWriter::default();
    let mut first_title = String::new();
    for (num, name) in slides {
        let Some(xml) = ar.part(&name)? else { continue };
        let mut paras: Vec<(bool, String)> = Vec::new();
        let mut cur = String::new();
        let mut in_text = false;
        let mut shape_is_title = false;
        walk(&xml, |n| match n {
            Node::Open(e) => match local(e).as_slice() {
                b"sp" => shape_is_title = false,
                b"ph" => {
                    if matches!(attr(e, b"type").as_deref(), Some("title" | "ctrTitle")) {
                        shape_is_title = true;
                    }
                }
                b"t" => in_text = true,
                b"br" => cur.push('\n'),
                _ => {}
            },
            Node::Close(b"t") => in_text = false,
            Node::Close(b"p") => paras.push((shape_is_title, std::mem::take(&mut cur))),
            Node::Close(_) => {}
            Node::Text(t) => {
                if in_text {
                    cur.push_str(t)
                }
            }
        })?;
        let title = paras
            .iter()
            .find(|(t, s)| *t && !s.trim().is_empty())
            .map(|(_, s)| s.trim().to_string());
        match &title {
            Some(t) => w.heading(2, &format!("Slide {num}: {t}")),
            None => w.heading(2, &format!("Slide {num}")),
        }
        if first_title.is_empty() {
            first_title = title.clone().unwrap_or_default();
        }
        for (is_title, p) in &paras {
            if !*is_title {
                w.paragraph(p);
            }
        }
    }
    let title = core_title(&mut ar)?;
    let title = if title.is_empty() { first_title } else { title };
    Ok(w.finish(title))
}

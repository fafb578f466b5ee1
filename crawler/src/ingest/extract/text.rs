//! Text formats: plain text, Markdown, HTML, JSON, XML, YAML and source code. Text must be UTF-8
//! (a byte-order mark is dropped); data files are checked for well-formedness and bounded
//! nesting; code and data are kept as code.

use super::office::{walk, Node};
use super::{MarkdownWriter, MAX_NESTING};
use crate::extract::{CodeBlock, Extracted, Heading};
use crate::ingest::IngestError;

/// Bytes as UTF-8 text, without a byte-order mark.
pub fn utf8(bytes: &[u8]) -> Result<&str, IngestError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(body).map_err(|e| {
        IngestError::Malformed(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// Plain text, as is.
pub fn plain(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let text = utf8(bytes)?;
    let mut d = super::document(String::new());
    d.markdown = text.trim().to_string();
    Ok(d)
}

/// Markdown: kept as written; headings and fenced code blocks recorded; the first level-1
/// heading is the title.
pub fn markdown(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let text = utf8(bytes)?;
    let mut d = super::document(String::new());
    let mut fence: Option<(String, Option<String>, String)> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some((marker, lang, code)) = &mut fence {
            if t.starts_with(marker.as_str())
                && t.trim_start_matches(marker.chars().next().unwrap_or('`'))
                    .trim()
                    .is_empty()
            {
                d.code_blocks.push(CodeBlock {
                    language: lang.clone(),
                    code: std::mem::take(code),
                });
                fence = None;
            } else {
                code.push_str(line);
                code.push('\n');
            }
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            let ch = t.chars().next().unwrap_or('`');
            let n = t.chars().take_while(|&c| c == ch).count();
            let lang = t[n..].trim();
            fence = Some((
                ch.to_string().repeat(n),
                (!lang.is_empty())
                    .then(|| lang.split_whitespace().next().unwrap_or(lang).to_string()),
                String::new(),
            ));
            continue;
        }
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            let h = t[hashes..].trim().trim_end_matches('#').trim().to_string();
            if hashes == 1 && d.title.is_empty() {
                d.title = h.clone();
            }
            d.headings.push(Heading {
                level: hashes as u8,
                text: h,
            });
        }
    }
    if let Some((_, lang, code)) = fence {
        d.code_blocks.push(CodeBlock {
            language: lang,
            code,
        });
    }
    d.markdown = text.trim().to_string();
    Ok(d)
}

/// HTML: the main content as Markdown, by the same extraction crawled pages get.
pub fn html(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let text = utf8(bytes)?;
    Ok(crate::extract::extract(text, None))
}

/// Source code (or YAML): one code block in its language.
pub fn code(bytes: &[u8], language: &str) -> Result<Extracted, IngestError> {
    let text = utf8(bytes)?;
    let mut w = MarkdownWriter::default();
    w.code(Some(language), text);
    Ok(w.finish(String::new()))
}

/// How deeply JSON text nests, without parsing it (strings skipped).
fn json_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// JSON (or JSON Lines): checked, then kept as a JSON code block, pretty-printed.
pub fn json(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let text = utf8(bytes)?;
    let depth = json_depth(text);
    if depth > MAX_NESTING {
        return Err(IngestError::Malformed(format!(
            "JSON nested {depth} levels deep (at most {MAX_NESTING})"
        )));
    }
    let pretty = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()),
        Err(whole) => {
            // JSON Lines: one value per non-empty line.
            let mut out = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let v: serde_json::Value = serde_json::from_str(line).map_err(|_| {
                    IngestError::Malformed(format!("invalid JSON: {whole} (line {})", i + 1))
                })?;
                out.push(serde_json::to_string(&v).unwrap_or_default());
            }
            if out.is_empty() {
                return Err(IngestError::Malformed(format!("invalid JSON: {whole}")));
            }
            out.join("\n")
        }
    };
    let mut w = MarkdownWriter::default();
    w.code(Some("json"), &pretty);
    Ok(w.finish(String::new()))
}

/// XML: checked for well-formedness; its text, element by element, and a `title` element's text
/// as the title. DTD entities are never expanded (no billion laughs).
pub fn xml(bytes: &[u8]) -> Result<Extracted, IngestError> {
    utf8(bytes)?;
    let mut w = MarkdownWriter::default();
    let mut title = String::new();
    let mut in_title = false;
    let mut cur = String::new();
    let mut roots = 0usize;
    let mut depth = 0usize;
    walk(bytes, |n| match n {
        Node::Open(e) => {
            if depth == 0 {
                roots += 1;
            }
            depth += 1;
            in_title = e.local_name().as_ref() == b"title" && title.is_empty();
        }
        Node::Close(_) => {
            depth = depth.saturating_sub(1);
            let text = std::mem::take(&mut cur);
            if in_title {
                title = text.trim().to_string();
                in_title = false;
            }
            w.paragraph(&text);
        }
        Node::Text(t) => cur.push_str(t),
    })?;
    if roots == 0 {
        return Err(IngestError::Malformed("XML without a root element".into()));
    }
    Ok(w.finish(title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_text_and_records_structure() {
        let d = markdown(b"# Rotor Guide\n\nIntro.\n\n## Setup\n\n```bash\nmake install\n```\n")
            .unwrap();
        assert_eq!(d.title, "Rotor Guide");
        assert_eq!(d.headings.len(), 2);
        assert_eq!(d.code_blocks[0].language.as_deref(), Some("bash"));
        assert_eq!(d.code_blocks[0].code, "make install\n");
        assert!(d.markdown.contains("Intro."));
    }

    #[test]
    fn json_is_checked_and_bounded() {
        let d = json(br#"{"name": "rotor", "parts": [1, 2]}"#).unwrap();
        assert!(d.markdown.starts_with("```json\n{"), "{}", d.markdown);
        let lines = json(b"{\"a\":1}\n{\"b\":2}\n").unwrap();
        assert!(lines.markdown.contains("{\"b\":2}"));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = json(deep.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("nested"), "{e}");
        assert!(json(b"{\"a\": ").is_err());
    }

    #[test]
    fn xml_must_be_well_formed_and_entities_stay_unexpanded() {
        let d = xml(b"<doc><title>Manual</title><p>Turn the &amp; rotor.</p></doc>").unwrap();
        assert_eq!(d.title, "Manual");
        assert!(d.markdown.contains("Turn the & rotor."), "{}", d.markdown);
        assert!(xml(b"<a><b></a>").is_err());
        let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><l>&b;</l>";
        let d = xml(bomb).unwrap();
        assert!(
            d.markdown.len() < 100,
            "entities must not expand: {}",
            d.markdown
        );
        let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
        assert!(xml(deep.as_bytes()).is_err());
    }
}

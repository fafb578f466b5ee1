//! Document parsers: a file's bytes to the same shape a crawled page has (title, headings,
//! Markdown, code blocks). Each entry point takes untrusted bytes and returns an error, never
//! panics on purpose, and bounds what it allocates (zip entries and their inflated size, XML and
//! JSON nesting); the job runs them off the async runtime with a time limit and catches panics.
//! `fuzz/` has a cargo-fuzz target per entry point.

pub mod office;
pub mod pdf;
pub mod text;

use super::kinds::FileKind;
use super::IngestError;
use crate::extract::{CodeBlock, Extracted, Heading};

/// Most nesting an XML or JSON document may have.
pub const MAX_NESTING: usize = 256;

/// Extract a document of a text or document kind (media files have no text to extract).
pub fn extract(
    kind: &FileKind,
    filename: &str,
    bytes: &[u8],
    keep_code: bool,
) -> Result<Extracted, IngestError> {
    let mut doc = match kind {
        FileKind::Pdf => pdf::extract(bytes)?,
        FileKind::Docx => office::docx(bytes)?,
        FileKind::Pptx => office::pptx(bytes)?,
        FileKind::Markdown => text::markdown(bytes)?,
        FileKind::Text => text::plain(bytes)?,
        FileKind::Html => text::html(bytes)?,
        FileKind::Json => text::json(bytes)?,
        FileKind::Yaml => text::code(bytes, "yaml")?,
        FileKind::Xml => text::xml(bytes)?,
        FileKind::Code(lang) => text::code(bytes, lang)?,
        FileKind::Audio(_) | FileKind::Video(_) => {
            return Err(IngestError::Malformed(
                "media files have no text to extract".into(),
            ))
        }
    };
    if doc.title.trim().is_empty() {
        doc.title = stem(filename);
    }
    if !keep_code {
        doc.code_blocks.clear();
    }
    Ok(doc)
}

/// [`extract`] in a thread of its own with a time limit: a parser that panics or runs too long
/// fails this file with [`IngestError::Malformed`], never the caller. (A parser past its time
/// limit is left to finish in the background; its result is dropped.)
pub fn extract_guarded(
    kind: &FileKind,
    filename: &str,
    bytes: Vec<u8>,
    keep_code: bool,
    limit: std::time::Duration,
) -> Result<Extracted, IngestError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (kind, filename) = (kind.clone(), filename.to_string());
    std::thread::Builder::new()
        .name("ingest-parse".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                extract(&kind, &filename, &bytes, keep_code)
            }));
            let _ = tx.send(r);
        })
        .map_err(|e| IngestError::Malformed(format!("cannot start the parser: {e}")))?;
    match rx.recv_timeout(limit) {
        Ok(Ok(r)) => r,
        Ok(Err(_)) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(IngestError::Malformed(
                "the parser failed on this file (it is malformed or hostile)".into(),
            ))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(IngestError::Malformed(format!(
            "reading the file took longer than {}s",
            limit.as_secs()
        ))),
    }
}

/// A file name without its directory and extension.
pub fn stem(filename: &str) -> String {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    match base.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s.to_string(),
        _ => base.to_string(),
    }
}

/// An empty document with a title.
pub(crate) fn document(title: String) -> Extracted {
    Extracted {
        title,
        description: None,
        headings: Vec::new(),
        markdown: String::new(),
        code_blocks: Vec::new(),
        links: Vec::new(),
        canonical: None,
        language: None,
        modified: None,
    }
}

/// Builds Markdown from headings, paragraphs and code, recording headings and code blocks.
#[derive(Default)]
pub(crate) struct MarkdownWriter {
    pub markdown: String,
    pub headings: Vec<Heading>,
    pub code_blocks: Vec<CodeBlock>,
}

impl MarkdownWriter {
    fn gap(&mut self) {
        if !self.markdown.is_empty() && !self.markdown.ends_with("\n\n") {
            if !self.markdown.ends_with('\n') {
                self.markdown.push('\n');
            }
            self.markdown.push('\n');
        }
    }

    /// A heading of a level (1-6).
    pub fn heading(&mut self, level: u8, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let level = level.clamp(1, 6);
        self.gap();
        self.markdown.push_str(&"#".repeat(level as usize));
        self.markdown.push(' ');
        self.markdown.push_str(text);
        self.markdown.push('\n');
        self.headings.push(Heading {
            level,
            text: text.to_string(),
        });
    }

    /// A paragraph.
    pub fn paragraph(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.gap();
        self.markdown.push_str(text);
        self.markdown.push('\n');
    }

    /// A fenced code block.
    pub fn code(&mut self, language: Option<&str>, code: &str) {
        let fence = if code.contains("```") { "~~~~" } else { "```" };
        self.gap();
        self.markdown.push_str(fence);
        self.markdown.push_str(language.unwrap_or(""));
        self.markdown.push('\n');
        self.markdown.push_str(code.trim_end_matches('\n'));
        self.markdown.push('\n');
        self.markdown.push_str(fence);
        self.markdown.push('\n');
        self.code_blocks.push(CodeBlock {
            language: language.map(str::to_string),
            code: code.to_string(),
        });
    }

    /// The document, titled.
    pub fn finish(self, title: String) -> Extracted {
        let mut d = document(title);
        d.markdown = self.markdown.trim_end().to_string();
        d.headings = self.headings;
        d.code_blocks = self.code_blocks;
        d
    }
}

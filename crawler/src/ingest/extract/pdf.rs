//! PDF: the text of each page (pdf-extract over lopdf), one section per page.

use super::MarkdownWriter;
use crate::extract::Extracted;
use crate::ingest::IngestError;

/// Extract a PDF's text, page by page.
pub fn extract(bytes: &[u8]) -> Result<Extracted, IngestError> {
    if !bytes.starts_with(b"%PDF-")
        && !bytes[..bytes.len().min(1024)]
            .windows(5)
            .any(|w| w == b"%PDF-")
    {
        return Err(IngestError::Malformed("not a PDF (no %PDF- header)".into()));
    }
    let pages = pdf_extract::extract_text_from_mem_by_pages(bytes)
        .map_err(|e| IngestError::Malformed(format!("unreadable PDF: {e}")))?;
    let mut w = MarkdownWriter::default();
    let many = pages.len() > 1;
    for (i, text) in pages.iter().enumerate() {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if many {
            w.heading(2, &format!("Page {}", i + 1));
        }
        for para in text.split("\n\n") {
            let para = para.split_whitespace().collect::<Vec<_>>().join(" ");
            w.paragraph(&para);
        }
    }
    if w.markdown.trim().is_empty() {
        return Err(IngestError::Malformed(
            "the PDF has no extractable text (scanned pages need OCR, which this service does not do)"
                .into(),
        ));
    }
    Ok(w.finish(String::new()))
}

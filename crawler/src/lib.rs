//! Knowledge retrieval. So far: [`extract`], which turns one HTML page into its main content as
//! clean Markdown, with its title, description, headings, code blocks and links. Crawl jobs,
//! chunking and embeddings build on it.

#![warn(missing_docs)]

pub mod extract;
mod markdown;

pub use extract::{extract, CodeBlock, Extracted, Heading, Link};

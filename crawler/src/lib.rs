//! Knowledge retrieval: [`fetch`], which fetches pages over HTTP(S) with the private-network check
//! on every redirect and the right charset; [`extract`], which turns one HTML page into its main
//! content as clean Markdown, with its title, description, headings, code blocks and links; the
//! crawl frontier ([`frontier`]) with its rules: URL normalisation ([`urlnorm`]), robots.txt
//! ([`robots`]) and sitemaps ([`sitemap`]); knowledge-exploration jobs ([`jobs`]) built on them
//! (their API, workers and runs); file ingestion ([`ingest`]); passages ([`chunk`]), embeddings
//! ([`embed`]) and search ([`knowledge`]). Pages that need scripts are rendered through
//! `platform::Renderer`; this crate never depends on the browser crate.

pub mod chunk;
mod content;
pub mod embed;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod ingest;
pub mod jobs;
pub mod knowledge;
mod markdown;
mod page_parts;
pub mod robots;
pub mod sitemap;
pub mod urlnorm;

pub use extract::{extract, CodeBlock, Extracted, Heading, Link};
pub use jobs::Jobs;

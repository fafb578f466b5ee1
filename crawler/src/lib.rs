//! Knowledge retrieval. So far: [`fetch`], which fetches pages over HTTP(S) with the
//! private-network check on every redirect and the right charset; [`extract`], which turns one HTML
//! page into its main content as clean Markdown, with its title, description, headings, code
//! blocks and links; and the crawl frontier ([`frontier`]) with its rules: URL normalisation
//! ([`urlnorm`]), robots.txt ([`robots`]) and sitemaps ([`sitemap`]); and knowledge-exploration
//! jobs ([`jobs`]) built on them: their API, workers and runs. Chunking and embeddings come next.

pub mod chunk;
pub mod embed;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod ingest;
pub mod jobs;
pub mod knowledge;
mod markdown;
pub mod robots;
pub mod sitemap;
pub mod urlnorm;

pub use extract::{extract, CodeBlock, Extracted, Heading, Link};
pub use jobs::Jobs;

//! Knowledge retrieval (crawl jobs, extraction, chunking, embeddings): not built yet. The crate
//! exists so the workspace has the layout the architecture fixes; it exports nothing.

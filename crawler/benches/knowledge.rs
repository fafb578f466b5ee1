//! Semantic-knowledge benchmark: embedding throughput (passages per second through
//! all-MiniLM-L6-v2 on the CPU, batched as the indexer does) and query latency with 10k and 100k
//! stored passages (embedding the question, exact cosine search over the tenant's vectors, and
//! the hybrid keyword side: BM25 in the in-memory keyword index the service searches, and
//! SQLite FTS5, the store's own keyword search used beside Qdrant). Figures are medians.
//!
//! `cargo bench -p crawler --bench knowledge [-- PASSAGES_TO_EMBED QUERIES MOST_STORED]`
//!
//! With `BAS_BENCH_PYTHON` naming a Python that has sentence-transformers (what
//! `bench/embeddings/run.sh` sets up), the same passages are also embedded by sentence-transformers
//! on PyTorch in the same run: both rates and the largest cosine distance between the two
//! vectors of each passage are printed.

use crawler::chunk::{chunk, DEFAULT_MAX_WORDS};
use crawler::embed::{MiniLm, DIMENSION, MODEL_NAME};
use platform::store::{ChunkRecord, PassageStore, SqliteStore};
use platform::vectors::{ExactIndex, KeywordIndex, VectorFilter, VectorIndex, VectorPoint};
use platform::TenantId;
use std::path::PathBuf;
use std::time::Instant;

const WORDS: &[&str] = &[
    "browser", "session", "crawl", "page", "index", "vector", "query", "passage", "model", "token",
    "server", "client", "request", "answer", "cache", "memory", "thread", "queue", "worker", "job",
    "garden", "river", "mountain", "kitchen", "recipe", "engine", "planet", "orbit", "market",
    "budget", "loan", "interest", "tyre", "road", "travel", "sleep", "night", "coffee", "music",
];

/// A deterministic pseudo-random generator (xorshift), so every run embeds the same text.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 2_000_001) as f32 / 1_000_000.0 - 1.0
    }
}

/// A page of Markdown with sections of prose, chunked as the indexer chunks pages.
fn passages(n: usize, rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        let mut md = String::new();
        for s in 0..4 {
            md.push_str(&format!("## Section {s}\n\n"));
            for _ in 0..3 {
                let len = 30 + (rng.next() % 50) as usize;
                let sentence: Vec<&str> = (0..len)
                    .map(|_| WORDS[(rng.next() % WORDS.len() as u64) as usize])
                    .collect();
                md.push_str(&sentence.join(" "));
                md.push_str(".\n\n");
            }
        }
        out.extend(
            chunk("Generated page", &md, DEFAULT_MAX_WORDS)
                .iter()
                .map(|c| c.embedding_text()),
        );
    }
    out.truncate(n);
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn unit_vector(rng: &mut Rng) -> Vec<f32> {
    let mut v: Vec<f32> = (0..DIMENSION).map(|_| rng.unit()).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// Embed the same passages with sentence-transformers on PyTorch (`bench/embeddings`) and print
/// its rate beside ours and the largest cosine distance between the two vectors of a passage.
fn pytorch_peer(
    python: &str,
    model_dir: &std::path::Path,
    texts: &[String],
    ours: &[Vec<f32>],
    rate: f64,
) {
    let dir = std::env::temp_dir().join(format!("bas-embed-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, output) = (dir.join("passages.json"), dir.join("vectors.json"));
    std::fs::write(&input, serde_json::to_vec(texts).unwrap()).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bench/embeddings/pytorch_embed.py"
    );
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(model_dir)
        .arg(&input)
        .arg(&output)
        .output()
        .expect("run the PyTorch side (BAS_BENCH_PYTHON)");
    assert!(
        out.status.success(),
        "PyTorch side failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    let theirs: Vec<Vec<f32>> = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    assert_eq!(theirs.len(), ours.len());
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| {
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
            1.0 - dot / (norm(a) * norm(b))
        })
        .fold(0.0f32, f32::max);
    let peer = report["rate"].as_f64().unwrap();
    println!(
        "sentence-transformers on PyTorch {} ({} threads, batches of {}), same passages: {peer:.1} passages/s; ours / theirs = {:.2}x",
        report["torch"].as_str().unwrap_or("?"),
        report["threads"],
        report["batch_size"],
        rate / peer
    );
    println!("largest cosine distance between our vector and theirs for a passage: {worst:.2e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let to_embed: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(512);
    let queries: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let most_stored: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let models = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"));
    let model = MiniLm::load(&MiniLm::dir_in(&models)).expect("model (scripts/install-model.sh)");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{MODEL_NAME}, {DIMENSION}-d, our encoder on the CPU (gemm kernels, {cores} cores)");

    // Embedding throughput: passages of a typical size (up to 180 words), batched.
    let texts = passages(to_embed, &mut rng);
    let words: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
    model.embed(&texts[..32.min(texts.len())]).unwrap(); // warm up
    let mut rates = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        ours = model.embed(&texts).unwrap();
        assert_eq!(ours.len(), texts.len());
        rates.push(texts.len() as f64 / t.elapsed().as_secs_f64());
    }
    let rate = median(rates);
    println!(
        "embedding: {rate:.1} passages/s (median of 3 runs of {} passages, {:.0} words each on average)",
        texts.len(),
        words as f64 / texts.len() as f64
    );
    if let Ok(python) = std::env::var("BAS_BENCH_PYTHON") {
        pytorch_peer(&python, &MiniLm::dir_in(&models), &texts, &ours, rate);
    }
    let questions: Vec<String> = (0..queries)
        .map(|i| {
            format!(
                "how does the {} {} work with the {}?",
                WORDS[i % WORDS.len()],
                WORDS[(i * 7) % WORDS.len()],
                WORDS[(i * 13) % WORDS.len()]
            )
        })
        .collect();
    let mut embed_ms = Vec::new();
    let mut query_vectors = Vec::new();
    for q in &questions {
        let t = Instant::now();
        query_vectors.push(model.embed(std::slice::from_ref(q)).unwrap().remove(0));
        embed_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "embedding a question: {:.2} ms median",
        median(embed_ms.clone())
    );

    // Query latency over stored passages (synthetic unit vectors; the search cost does not
    // depend on what they encode).
    let tenant = TenantId::local();
    let dir = std::env::temp_dir().join(format!("bas-knowledge-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("store.sqlite3")).unwrap();
    let index = ExactIndex::new();
    let words = KeywordIndex::new();
    let mut stored = 0usize;
    println!(
        "{:>9} {:>16} {:>16} {:>13} {:>17} {:>16} {:>14}",
        "passages",
        "exact search ms",
        "+ job filter ms",
        "keyword ms",
        "+ job filter ms",
        "keyword (FTS) ms",
        "load index s"
    );
    for target in [10_000usize, 100_000]
        .into_iter()
        .filter(|t| *t <= most_stored)
    {
        // Pages of 10 passages, on 4 jobs.
        while stored < target {
            let page = stored / 10;
            let url = format!("https://bench.test/page/{page}");
            let job = format!("job-{}", page % 4);
            let texts = passages(10, &mut rng);
            let records: Vec<ChunkRecord> = texts
                .into_iter()
                .enumerate()
                .map(|(i, text)| ChunkRecord {
                    chunk_id: crawler::knowledge::chunk_id(&tenant, &url, i),
                    tenant_id: tenant.clone(),
                    job_id: job.clone(),
                    url: url.clone(),
                    site: "bench.test".into(),
                    title: format!("Page {page}"),
                    heading_path: vec![format!("Page {page}")],
                    index: i as u32,
                    text,
                    model: MODEL_NAME.into(),
                    dimension: DIMENSION as u32,
                    vector: unit_vector(&mut rng),
                    updated_at: 0.0,
                })
                .collect();
            let points: Vec<VectorPoint> = records.iter().cloned().map(VectorPoint::from).collect();
            words.replace_page(&tenant, &url, &records);
            store
                .replace_chunks(&tenant, &job, &url, records)
                .await
                .unwrap();
            index.replace_page(&tenant, &url, points).await.unwrap();
            stored += 10;
        }
        let mut all = Vec::new();
        let mut filtered = Vec::new();
        let mut keyword = Vec::new();
        let mut in_memory = Vec::new();
        let mut in_memory_job = Vec::new();
        let job_filter = VectorFilter {
            job_id: Some("job-1".into()),
            site: None,
        };
        for (q, v) in questions.iter().zip(&query_vectors) {
            let t = Instant::now();
            let hits = index
                .search(&tenant, v, &VectorFilter::default(), 5)
                .await
                .unwrap();
            all.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(hits.len(), 5);
            let t = Instant::now();
            index.search(&tenant, v, &job_filter, 5).await.unwrap();
            filtered.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            let hits = words.search(&tenant, q, &VectorFilter::default(), 20);
            in_memory.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(hits.len(), 20);
            let t = Instant::now();
            words.search(&tenant, q, &job_filter, 20);
            in_memory_job.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            store
                .keyword_search(&tenant, q, None, None, 20)
                .await
                .unwrap();
            keyword.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        // What a restart costs: the embedded indexes are loaded from the store.
        let t = Instant::now();
        let fresh = ExactIndex::new();
        let chunks = store.all_chunk_vectors().await.unwrap();
        KeywordIndex::new().load(&chunks);
        fresh
            .load(chunks.into_iter().map(VectorPoint::from).collect())
            .unwrap();
        let load = t.elapsed().as_secs_f64();
        println!(
            "{:>9} {:>16.2} {:>16.2} {:>13.2} {:>17.2} {:>16.2} {:>14.2}",
            stored,
            median(all),
            median(filtered),
            median(in_memory),
            median(in_memory_job),
            median(keyword),
            load
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

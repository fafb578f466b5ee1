//! The keyword side of hybrid search, in memory beside the exact vector index: an inverted index
//! per tenant (term → passages holding it, with the term's count in each), ranked by BM25
//! (k1 = 1.2, b = 0.75) over the tenant's live passages. A query walks only its terms' lists,
//! adding each passage's share into one score array, and keeps the best `limit` in a heap: no
//! passage text is read at query time. The formula is the store's ([`keywords::idf`],
//! [`keywords::term_weight`]), so both keyword searches score alike. Words are the store's index terms
//! ([`crate::store::keywords::words`]: lower case, plural `s` folded), taken from the passage's
//! title, headings and text, as the MongoDB store indexes them.
//!
//! Replaced passages leave a tombstone (their slot is dead and their terms' document frequencies
//! are lowered at once, so scores stay exact); the postings are compacted once a quarter of the
//! slots are dead. A page's slots are found through a map from its URL, not by a scan.

use super::VectorFilter;
use crate::store::{keywords, ChunkRecord};
use crate::tenant::TenantId;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::RwLock;

/// One term's passages, in slot order: the slot and the term's count there (capped at 255).
#[derive(Default)]
struct Postings {
    slots: Vec<u32>,
    counts: Vec<u8>,
}

/// A passage's slot.
struct Slot {
    chunk_id: String,
    job: u32,
    site: u32,
    /// Words in the passage; 0 once dead.
    len: u32,
    /// Its distinct terms (to lower their document frequencies when it goes).
    terms: Box<[u32]>,
    live: bool,
}

#[derive(Default)]
struct TenantKeywords {
    terms: HashMap<String, u32>,
    postings: Vec<Postings>,
    /// Live passages holding each term.
    df: Vec<u32>,
    slots: Vec<Slot>,
    /// Each page's live slots.
    by_url: HashMap<String, Vec<u32>>,
    live: usize,
    total_len: u64,
    names: HashMap<String, u32>,
}

impl TenantKeywords {
    fn name_id(&mut self, name: &str) -> u32 {
        let next = self.names.len() as u32;
        *self.names.entry(name.to_string()).or_insert(next)
    }

    fn add(&mut self, c: &ChunkRecord) {
        let slot = self.slots.len() as u32;
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let mut len = 0u32;
        let all = [c.title.as_str()]
            .into_iter()
            .chain(c.heading_path.iter().map(String::as_str))
            .chain([c.text.as_str()]);
        for w in all.flat_map(keywords::words) {
            len += 1;
            let next = self.terms.len() as u32;
            let id = *self.terms.entry(w).or_insert(next);
            if id == next {
                self.postings.push(Postings::default());
                self.df.push(0);
            }
            *counts.entry(id).or_default() += 1;
        }
        let mut terms: Vec<u32> = counts.keys().copied().collect();
        terms.sort_unstable();
        for &t in &terms {
            let p = &mut self.postings[t as usize];
            p.slots.push(slot);
            p.counts.push(counts[&t].min(255) as u8);
            self.df[t as usize] += 1;
        }
        let (job, site) = (self.name_id(&c.job_id), self.name_id(&c.site));
        self.by_url.entry(c.url.clone()).or_default().push(slot);
        self.slots.push(Slot {
            chunk_id: c.chunk_id.clone(),
            job,
            site,
            len,
            terms: terms.into_boxed_slice(),
            live: true,
        });
        self.live += 1;
        self.total_len += len as u64;
    }

    fn remove_url(&mut self, url: &str) {
        for slot in self.by_url.remove(url).unwrap_or_default() {
            let s = &mut self.slots[slot as usize];
            s.live = false;
            for &t in s.terms.iter() {
                self.df[t as usize] -= 1;
            }
            self.live -= 1;
            self.total_len -= s.len as u64;
            s.len = 0;
            s.terms = Box::default();
        }
        if self.slots.len() > 64 && self.slots.len() - self.live > self.slots.len() / 4 {
            self.compact();
        }
    }

    /// Drop dead slots and renumber the rest, keeping postings in slot order.
    fn compact(&mut self) {
        let mut renumber = vec![u32::MAX; self.slots.len()];
        let mut next = 0u32;
        for (i, s) in self.slots.iter().enumerate() {
            if s.live {
                renumber[i] = next;
                next += 1;
            }
        }
        self.slots.retain(|s| s.live);
        for slots in self.by_url.values_mut() {
            for slot in slots.iter_mut() {
                *slot = renumber[*slot as usize];
            }
        }
        for p in &mut self.postings {
            let mut kept = 0;
            for i in 0..p.slots.len() {
                let to = renumber[p.slots[i] as usize];
                if to != u32::MAX {
                    p.slots[kept] = to;
                    p.counts[kept] = p.counts[i];
                    kept += 1;
                }
            }
            p.slots.truncate(kept);
            p.counts.truncate(kept);
        }
    }

    fn search(&self, text: &str, filter: &VectorFilter, limit: usize) -> Vec<(String, f64)> {
        let wanted = |name: &Option<String>| match name {
            None => Some(None),
            Some(n) => self.names.get(n).map(|&id| Some(id)),
        };
        let (Some(job), Some(site)) = (wanted(&filter.job_id), wanted(&filter.site)) else {
            return Vec::new();
        };
        if self.live == 0 || limit == 0 {
            return Vec::new();
        }
        let n = self.live as f64;
        let avg_len = self.total_len as f64 / n;
        let mut scores = vec![0f64; self.slots.len()];
        for term in keywords::terms(text) {
            let Some(&t) = self.terms.get(&term) else {
                continue;
            };
            let df = self.df[t as usize] as f64;
            if df == 0.0 {
                continue;
            }
            let idf = keywords::idf(n, df);
            let p = &self.postings[t as usize];
            for (&slot, &count) in p.slots.iter().zip(&p.counts) {
                let s = &self.slots[slot as usize];
                if s.live {
                    let weight = keywords::term_weight(count as f64, s.len as f64, avg_len);
                    scores[slot as usize] += idf * weight;
                }
            }
        }
        let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(limit + 1);
        for (i, &score) in scores.iter().enumerate() {
            if score <= 0.0 {
                continue;
            }
            let s = &self.slots[i];
            if job.is_some_and(|j| j != s.job) || site.is_some_and(|x| x != s.site) {
                continue;
            }
            let r = Ranked(score, &s.chunk_id);
            if heap.len() < limit {
                heap.push(r);
            } else if heap.peek().is_some_and(|worst| r < *worst) {
                heap.pop();
                heap.push(r);
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|Ranked(score, id)| (id.to_string(), score))
            .collect()
    }
}

/// A scored passage; "less" is better (higher score, then lower id), so the heap's top is the
/// worst kept and a sorted vector is best first.
struct Ranked<'a>(f64, &'a str);
impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked<'_> {}
impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then_with(|| self.1.cmp(other.1))
    }
}

/// Every tenant's keyword index in memory.
#[derive(Default)]
pub struct KeywordIndex {
    tenants: RwLock<HashMap<String, TenantKeywords>>,
}

impl KeywordIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add passages without removing anything first (loading the store at start).
    pub fn load<'a>(&self, chunks: impl IntoIterator<Item = &'a ChunkRecord>) {
        let mut all = self.tenants.write().expect("keyword index lock");
        for c in chunks {
            all.entry(c.tenant_id.as_str().to_string())
                .or_default()
                .add(c);
        }
    }

    /// Replace a tenant's page's passages with these (an empty list removes them).
    pub fn replace_page(&self, tenant: &TenantId, url: &str, chunks: &[ChunkRecord]) {
        let mut all = self.tenants.write().expect("keyword index lock");
        let t = all.entry(tenant.as_str().to_string()).or_default();
        t.remove_url(url);
        for c in chunks {
            t.add(c);
        }
    }

    /// The tenant's `limit` passages that best match the words of `text` by BM25: ids and
    /// scores, best first (ties by id).
    pub fn search(
        &self,
        tenant: &TenantId,
        text: &str,
        filter: &VectorFilter,
        limit: usize,
    ) -> Vec<(String, f64)> {
        let all = self.tenants.read().expect("keyword index lock");
        all.get(tenant.as_str())
            .map(|t| t.search(text, filter, limit))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(tenant: &str, url: &str, i: usize, job: &str, text: &str) -> ChunkRecord {
        ChunkRecord {
            chunk_id: format!("{url}#{i}"),
            tenant_id: TenantId::new(tenant),
            job_id: job.into(),
            url: url.into(),
            site: url.split('/').nth(2).unwrap_or_default().into(),
            title: String::new(),
            heading_path: Vec::new(),
            index: i as u32,
            text: text.into(),
            model: "m".into(),
            dimension: 0,
            vector: Vec::new(),
            updated_at: 0.0,
        }
    }

    /// The reference: BM25 over every passage's text, as the MongoDB store scores candidates.
    fn reference(chunks: &[ChunkRecord], q: &str) -> Vec<(String, f64)> {
        let cands: Vec<(String, String)> = chunks
            .iter()
            .map(|c| (c.chunk_id.clone(), c.text.clone()))
            .collect();
        keywords::bm25(&keywords::terms(q), &cands, chunks.len() as u64)
    }

    #[test]
    fn scores_are_bm25_over_the_live_passages_and_follow_replacements() {
        let words = ["rotor", "widget", "gear", "axle", "bolt", "spring", "lever"];
        let mut chunks = Vec::new();
        let mut x = 7u64;
        for i in 0..300 {
            let text: Vec<&str> = (0..(5 + i % 17))
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    words[((x >> 33) % (1 + (x >> 40) % 7)) as usize]
                })
                .collect();
            chunks.push(chunk(
                "t",
                &format!("https://a.test/{}", i / 3),
                i % 3,
                "j",
                &text.join(" "),
            ));
        }
        let index = KeywordIndex::new();
        index.load(&chunks);
        let t = TenantId::new("t");
        let none = VectorFilter::default();
        for q in ["rotor", "widget gears", "lever spring axle", "nothing here"] {
            let got = index.search(&t, q, &none, 10);
            let want = reference(&chunks, q);
            assert_eq!(got.len(), want.len().min(10), "{q}");
            for (g, w) in got.iter().zip(&want) {
                assert!((g.1 - w.1).abs() < 1e-3, "{q}: {got:?} vs {want:?}");
            }
        }
        // Replace half the pages (with text holding a new word), remove some: still exact.
        for page in 0..60 {
            let url = format!("https://a.test/{page}");
            chunks.retain(|c| c.url != url);
            let fresh: Vec<ChunkRecord> = if page % 4 == 0 {
                Vec::new()
            } else {
                vec![chunk("t", &url, 0, "j2", "sprocket rotor sprocket")]
            };
            index.replace_page(&t, &url, &fresh);
            chunks.extend(fresh);
        }
        for q in ["sprocket", "rotor widget", "bolt"] {
            let got = index.search(&t, q, &none, 5);
            let want = reference(&chunks, q);
            assert_eq!(got.len(), want.len().min(5), "{q}");
            for (g, w) in got.iter().zip(&want) {
                assert!((g.1 - w.1).abs() < 1e-3, "{q}: {got:?} vs {want:?}");
            }
        }
        // Filters: the job, and a tenant sees only its own.
        let job2 = VectorFilter {
            job_id: Some("j2".into()),
            site: None,
        };
        let hits = index.search(&t, "rotor", &job2, 100);
        assert_eq!(hits.len(), 45, "every replaced page's passage holds rotor");
        assert!(hits.iter().all(|(id, _)| id.ends_with("#0")));
        let unknown = VectorFilter {
            job_id: Some("nope".into()),
            site: None,
        };
        assert!(index.search(&t, "rotor", &unknown, 5).is_empty());
        assert!(index
            .search(&TenantId::new("other"), "rotor", &none, 5)
            .is_empty());
    }
}

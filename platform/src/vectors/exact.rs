//! Exact cosine search in memory. Vectors are L2-normalised, so cosine is a dot product; each
//! tenant's vectors sit in one contiguous array, scanned in full (no approximation). Loaded from
//! the store at start; the store stays the source of truth.

use super::{VectorFilter, VectorIndex, VectorPoint};
use crate::error::{EngineError, Result};
use crate::tenant::TenantId;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::RwLock;

#[derive(Default)]
struct TenantVectors {
    dim: usize,
    data: Vec<f32>,
    meta: Vec<Meta>,
}

struct Meta {
    chunk_id: String,
    job_id: String,
    site: String,
    url: String,
}

impl TenantVectors {
    fn remove_url(&mut self, url: &str) {
        let mut i = 0;
        while i < self.meta.len() {
            if self.meta[i].url == url {
                let last = self.meta.len() - 1;
                self.meta.swap_remove(i);
                if i != last {
                    let (head, tail) = self.data.split_at_mut(last * self.dim);
                    head[i * self.dim..(i + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
                }
                self.data.truncate(last * self.dim);
            } else {
                i += 1;
            }
        }
    }
}

/// A scored candidate in the top-k heap (smallest score on top).
#[derive(PartialEq)]
struct Scored(f32, usize);
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// Every tenant's vectors in memory.
#[derive(Default)]
pub struct ExactIndex {
    tenants: RwLock<HashMap<String, TenantVectors>>,
}

impl ExactIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&self, tenant: &TenantId, points: Vec<VectorPoint>) -> Result<()> {
        let mut all = self.tenants.write().expect("index lock");
        let t = all.entry(tenant.as_str().to_string()).or_default();
        for p in points {
            if t.dim == 0 {
                t.dim = p.vector.len();
            }
            if p.vector.len() != t.dim {
                return Err(EngineError::InvalidRequest(format!(
                    "vector of dimension {} where the index holds {}",
                    p.vector.len(),
                    t.dim
                )));
            }
            t.data.extend_from_slice(&p.vector);
            t.meta.push(Meta {
                chunk_id: p.chunk_id,
                job_id: p.job_id,
                site: p.site,
                url: p.url,
            });
        }
        Ok(())
    }

    /// Add points without removing anything first (loading the store at start).
    pub fn load(&self, points: Vec<VectorPoint>) -> Result<()> {
        let mut by_tenant: HashMap<String, Vec<VectorPoint>> = HashMap::new();
        for p in points {
            by_tenant
                .entry(p.tenant_id.as_str().to_string())
                .or_default()
                .push(p);
        }
        for (tenant, points) in by_tenant {
            self.insert(&TenantId::new(tenant), points)?;
        }
        Ok(())
    }

    fn search_now(
        &self,
        tenant: &TenantId,
        vector: &[f32],
        filter: &VectorFilter,
        top_k: usize,
    ) -> Vec<(String, f32)> {
        let all = self.tenants.read().expect("index lock");
        let Some(t) = all.get(tenant.as_str()) else {
            return Vec::new();
        };
        if t.dim != vector.len() || top_k == 0 {
            return Vec::new();
        }
        let mut heap: BinaryHeap<Scored> = BinaryHeap::with_capacity(top_k + 1);
        for (i, row) in t.data.chunks_exact(t.dim).enumerate() {
            let m = &t.meta[i];
            if filter.job_id.as_deref().is_some_and(|j| j != m.job_id)
                || filter.site.as_deref().is_some_and(|s| s != m.site)
            {
                continue;
            }
            let score = dot(row, vector);
            if heap.len() < top_k {
                heap.push(Scored(score, i));
            } else if heap.peek().is_some_and(|worst| score > worst.0) {
                heap.pop();
                heap.push(Scored(score, i));
            }
        }
        let mut out: Vec<(String, f32)> = heap
            .into_iter()
            .map(|Scored(s, i)| (t.meta[i].chunk_id.clone(), s))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

/// The dot product, in eight independent sums so that the compiler can use SIMD lanes (a
/// single running sum is a chain of dependent additions it may not reorder).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[async_trait::async_trait]
impl VectorIndex for ExactIndex {
    fn backend(&self) -> &'static str {
        "exact"
    }

    async fn replace_page(
        &self,
        tenant: &TenantId,
        url: &str,
        points: Vec<VectorPoint>,
    ) -> Result<()> {
        if let Some(t) = self
            .tenants
            .write()
            .expect("index lock")
            .get_mut(tenant.as_str())
        {
            t.remove_url(url);
        }
        self.insert(tenant, points)
    }

    async fn search(
        &self,
        tenant: &TenantId,
        vector: &[f32],
        filter: &VectorFilter,
        top_k: usize,
    ) -> Result<Vec<(String, f32)>> {
        Ok(self.search_now(tenant, vector, filter, top_k))
    }

    async fn count(&self) -> Result<u64> {
        let n = self
            .tenants
            .read()
            .expect("index lock")
            .values()
            .map(|t| t.meta.len() as u64)
            .sum();
        Ok(n)
    }

    async fn health(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: &str, tenant: &str, job: &str, url: &str, v: [f32; 3]) -> VectorPoint {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        VectorPoint {
            chunk_id: id.into(),
            tenant_id: TenantId::new(tenant),
            job_id: job.into(),
            site: "a.test".into(),
            url: url.into(),
            heading_path: vec![],
            vector: v.iter().map(|x| x / n).collect(),
        }
    }

    #[test]
    fn dot_products_match_the_plain_sum() {
        for n in [0usize, 1, 7, 8, 9, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "n = {n}");
        }
    }

    #[tokio::test]
    async fn nearest_first_within_tenant_and_filters_and_pages_replace() {
        let idx = ExactIndex::new();
        let a = TenantId::new("a");
        idx.load(vec![
            point("x", "a", "j1", "u1", [1.0, 0.0, 0.0]),
            point("y", "a", "j1", "u2", [0.9, 0.1, 0.0]),
            point("z", "a", "j2", "u3", [0.0, 1.0, 0.0]),
            point("w", "b", "j9", "u9", [1.0, 0.0, 0.0]),
        ])
        .unwrap();
        let q = [1.0, 0.0, 0.0];
        let all = VectorFilter::default();
        let hits = idx.search(&a, &q, &all, 2).await.unwrap();
        assert_eq!(
            hits.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert!((hits[0].1 - 1.0).abs() < 1e-6);
        let j2 = VectorFilter {
            job_id: Some("j2".into()),
            site: None,
        };
        assert_eq!(idx.search(&a, &q, &j2, 5).await.unwrap()[0].0, "z");
        assert!(idx
            .search(&TenantId::new("c"), &q, &all, 5)
            .await
            .unwrap()
            .is_empty());
        // Re-crawling u1 replaces its passages; u2 keeps its own.
        idx.replace_page(
            &a,
            "u1",
            vec![point("x2", "a", "j3", "u1", [0.0, 0.0, 1.0])],
        )
        .await
        .unwrap();
        let hits = idx.search(&a, &q, &all, 5).await.unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(ids[0], "y");
        assert!(!ids.contains(&"x") && ids.contains(&"x2"));
        assert_eq!(idx.count().await.unwrap(), 4);
    }
}

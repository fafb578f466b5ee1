//! Qdrant over its REST API: one collection per embedding model (`brwsr_auto_svc_{model}`),
//! cosine distance, each point's payload carrying the tenant, job, site, page URL and heading
//! path; every search filters on the tenant. (Qdrant's REST API rather than `qdrant-client`:
//! the service already has an HTTP client, and gRPC would add tonic and prost to the build.)
//!
//! No Qdrant server can be installed here: the request bodies are unit-tested, and the
//! end-to-end test runs only with `QDRANT_URL` set.

use super::{VectorFilter, VectorIndex, VectorPoint};
use crate::error::{EngineError, Result};
use crate::tenant::TenantId;
use serde_json::{json, Value};
use std::time::Duration;

/// A Qdrant collection for one embedding model.
pub struct QdrantIndex {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
    collection: String,
}

fn err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Store(format!("qdrant: {e}"))
}

/// The collection holding one model's vectors.
pub fn collection_name(model: &str) -> String {
    let safe: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("brwsr_auto_svc_{safe}")
}

/// The filter every request carries: the tenant, and the caller's own limits.
pub fn filter_body(tenant: &TenantId, filter: &VectorFilter, url: Option<&str>) -> Value {
    let mut must = vec![json!({"key": "tenant_id", "match": {"value": tenant.as_str()}})];
    if let Some(j) = &filter.job_id {
        must.push(json!({"key": "job_id", "match": {"value": j}}));
    }
    if let Some(s) = &filter.site {
        must.push(json!({"key": "site", "match": {"value": s}}));
    }
    if let Some(u) = url {
        must.push(json!({"key": "url", "match": {"value": u}}));
    }
    json!({"must": must})
}

/// The upsert body for points.
pub fn points_body(points: &[VectorPoint]) -> Value {
    json!({"points": points.iter().map(|p| json!({
        "id": p.chunk_id,
        "vector": p.vector,
        "payload": {
            "chunk_id": p.chunk_id,
            "tenant_id": p.tenant_id.as_str(),
            "job_id": p.job_id,
            "site": p.site,
            "url": p.url,
            "heading_path": p.heading_path,
        }
    })).collect::<Vec<_>>()})
}

impl QdrantIndex {
    /// Connect to Qdrant at `base` and make sure the model's collection exists (cosine, `dim`).
    pub async fn connect(
        base: &str,
        api_key: Option<String>,
        model: &str,
        dim: usize,
    ) -> Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(err)?;
        let q = Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            api_key,
            collection: collection_name(model),
        };
        let exists = q.call(reqwest::Method::GET, "", None).await;
        if exists.is_err() {
            q.call(
                reqwest::Method::PUT,
                "",
                Some(json!({"vectors": {"size": dim, "distance": "Cosine"}})),
            )
            .await?;
            for field in ["tenant_id", "job_id", "site", "url"] {
                q.call(
                    reqwest::Method::PUT,
                    "/index?wait=true",
                    Some(json!({"field_name": field, "field_schema": "keyword"})),
                )
                .await?;
            }
        }
        Ok(q)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/collections/{}{path}", self.base, self.collection);
        let mut req = self.http.request(method, &url);
        if let Some(k) = &self.api_key {
            req = req.header("api-key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| err(e.without_url()))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(err(format!("{status}: {}", v["status"])));
        }
        Ok(v)
    }
}

#[async_trait::async_trait]
impl VectorIndex for QdrantIndex {
    fn backend(&self) -> &'static str {
        "qdrant"
    }

    async fn replace_page(
        &self,
        tenant: &TenantId,
        url: &str,
        points: Vec<VectorPoint>,
    ) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            "/points/delete?wait=true",
            Some(json!({"filter": filter_body(tenant, &VectorFilter::default(), Some(url))})),
        )
        .await?;
        if !points.is_empty() {
            self.call(
                reqwest::Method::PUT,
                "/points?wait=true",
                Some(points_body(&points)),
            )
            .await?;
        }
        Ok(())
    }

    async fn search(
        &self,
        tenant: &TenantId,
        vector: &[f32],
        filter: &VectorFilter,
        top_k: usize,
    ) -> Result<Vec<(String, f32)>> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/points/search",
                Some(json!({
                    "vector": vector,
                    "limit": top_k,
                    "filter": filter_body(tenant, filter, None),
                    "with_payload": ["chunk_id"],
                })),
            )
            .await?;
        Ok(v["result"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .filter_map(|h| {
                        Some((
                            h["payload"]["chunk_id"].as_str()?.to_string(),
                            h["score"].as_f64()? as f32,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn count(&self) -> Result<u64> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/points/count",
                Some(json!({"exact": true})),
            )
            .await?;
        Ok(v["result"]["count"].as_u64().unwrap_or(0))
    }

    async fn health(&self) -> Result<()> {
        self.call(reqwest::Method::GET, "", None).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_always_carry_the_tenant_and_name_the_model() {
        assert_eq!(
            collection_name("all-MiniLM-L6-v2"),
            "brwsr_auto_svc_all-MiniLM-L6-v2"
        );
        assert_eq!(
            collection_name("org/model v2"),
            "brwsr_auto_svc_org_model_v2"
        );
        let f = filter_body(
            &TenantId::new("org-a"),
            &VectorFilter {
                job_id: Some("j1".into()),
                site: Some("docs.test".into()),
            },
            None,
        );
        assert_eq!(
            f,
            json!({"must": [
                {"key": "tenant_id", "match": {"value": "org-a"}},
                {"key": "job_id", "match": {"value": "j1"}},
                {"key": "site", "match": {"value": "docs.test"}},
            ]})
        );
        let p = points_body(&[VectorPoint {
            chunk_id: "6f1c0c8e-0000-5000-8000-000000000000".into(),
            tenant_id: TenantId::new("org-a"),
            job_id: "j1".into(),
            site: "docs.test".into(),
            url: "https://docs.test/a".into(),
            heading_path: vec!["A".into(), "B".into()],
            vector: vec![0.6, 0.8],
        }]);
        assert_eq!(p["points"][0]["id"], "6f1c0c8e-0000-5000-8000-000000000000");
        assert_eq!(p["points"][0]["payload"]["tenant_id"], "org-a");
        assert_eq!(p["points"][0]["payload"]["heading_path"], json!(["A", "B"]));
        assert_eq!(p["points"][0]["vector"], json!([0.6f32, 0.8f32]));
    }
}

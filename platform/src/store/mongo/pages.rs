//! Pages and links in MongoDB: unique per job and URL (per job, source and target for links) by
//! unique indexes, so a job step repeated after a redelivery stores nothing twice. A sequence
//! number keeps them in crawl order.

use super::{collect, decode, encode, is_duplicate, mongo_err, MongoStore};
use crate::error::Result;
use crate::store::PageStore;
use crate::store::{LinkQuery, LinkRecord, PageOutcome, PageQuery, PageRecord, Paged};
use crate::tenant::TenantId;
use mongodb::bson::{doc, Document, Regex};
use mongodb::error::ErrorKind;

/// A case-insensitive regular expression matching `s` literally, as a `$regex` operator (the
/// operator form works on every MongoDB-compatible server; SecantusDB ignores BSON regex values
/// on indexed fields).
fn contains(s: &str) -> Document {
    let re = pattern(s);
    doc! {"$regex": re.pattern, "$options": re.options}
}

fn pattern(s: &str) -> Regex {
    let mut pattern = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        if "\\^$.|?*+()[]{}".contains(ch) {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    Regex {
        pattern,
        options: "i".into(),
    }
}

fn page_filter(tenant: &TenantId, q: &PageQuery) -> Document {
    let mut f = doc! {"tenant_id": tenant.as_str()};
    if let Some(j) = &q.job_id {
        f.insert("job_id", j);
    }
    match q.outcome {
        PageOutcome::All => {}
        PageOutcome::Ok => {
            f.insert("ok", true);
        }
        PageOutcome::Failed => {
            f.insert("ok", false);
        }
    }
    if let Some(u) = &q.url_contains {
        f.insert("url", contains(u));
    }
    if let Some(t) = &q.text {
        let re = contains(t);
        f.insert(
            "$or",
            vec![doc! {"title": re.clone()}, doc! {"markdown": re}],
        );
    }
    f
}

impl MongoStore {
    /// One page of a query's documents in sequence order, and how many match in all.
    async fn paged<T: serde::de::DeserializeOwned>(
        &self,
        coll: &mongodb::Collection<Document>,
        filter: Document,
        offset: u64,
        limit: u64,
    ) -> Result<Paged<T>> {
        let total = coll
            .count_documents(filter.clone())
            .await
            .map_err(mongo_err)?;
        let cursor = coll
            .find(filter)
            .sort(doc! {"seq": 1})
            .skip(offset)
            .limit(limit.min(i64::MAX as u64) as i64)
            .await
            .map_err(mongo_err)?;
        let items = collect(cursor)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        Ok(Paged { items, total })
    }
}

#[async_trait::async_trait]
impl PageStore for MongoStore {
    async fn put_page(&self, page: PageRecord) -> Result<bool> {
        // The unique (job, URL) index decides; a duplicate only leaves a gap in the sequence.
        let mut d = encode(&page)?;
        d.insert("seq", self.next_seq("pages", 1).await?);
        d.insert("indexed", false);
        match self.pages.insert_one(d).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(mongo_err(e)),
        }
    }

    async fn has_page(&self, job_id: &str, url: &str) -> Result<bool> {
        Ok(self
            .pages
            .find_one(doc! {"job_id": job_id, "url": url})
            .projection(doc! {"_id": 1})
            .await
            .map_err(mongo_err)?
            .is_some())
    }

    async fn get_page(
        &self,
        tenant: &TenantId,
        job_id: Option<&str>,
        url: &str,
    ) -> Result<Option<PageRecord>> {
        let mut f = doc! {"tenant_id": tenant.as_str(), "url": url};
        if let Some(j) = job_id {
            f.insert("job_id", j);
        }
        self.pages
            .find_one(f)
            .sort(doc! {"seq": -1})
            .await
            .map_err(mongo_err)?
            .map(decode)
            .transpose()
    }

    async fn list_pages(&self, tenant: &TenantId, q: &PageQuery) -> Result<Paged<PageRecord>> {
        self.paged(&self.pages, page_filter(tenant, q), q.offset, q.limit)
            .await
    }

    async fn put_links(&self, links: Vec<LinkRecord>) -> Result<usize> {
        if links.is_empty() {
            return Ok(0);
        }
        let first = self.next_seq("links", links.len() as u64).await?;
        let docs = links
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut d = encode(l)?;
                d.insert("seq", first + i as i64);
                Ok(d)
            })
            .collect::<Result<Vec<_>>>()?;
        match self.links.insert_many(docs).ordered(false).await {
            Ok(r) => Ok(r.inserted_ids.len()),
            Err(e) => match e.kind.as_ref() {
                ErrorKind::InsertMany(f)
                    if f.write_concern_error.is_none()
                        && f.write_errors
                            .as_deref()
                            .unwrap_or_default()
                            .iter()
                            .all(|w| w.code == 11000) =>
                {
                    Ok(links.len() - f.write_errors.as_ref().map_or(0, Vec::len))
                }
                _ => Err(mongo_err(e)),
            },
        }
    }

    async fn list_links(&self, tenant: &TenantId, q: &LinkQuery) -> Result<Paged<LinkRecord>> {
        let mut f = doc! {"tenant_id": tenant.as_str()};
        if let Some(j) = &q.job_id {
            f.insert("job_id", j);
        }
        if let Some(e) = q.external {
            f.insert("external", e);
        }
        if let Some(u) = &q.from_url {
            f.insert("from_url", u);
        }
        if let Some(u) = &q.to_url {
            f.insert("to_url", u);
        }
        self.paged(&self.links, f, q.offset, q.limit).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_filters_match_literally() {
        let re = super::pattern("100% (a.b)");
        assert_eq!(re.pattern, "100% \\(a\\.b\\)");
        assert_eq!(re.options, "i");
    }
}

//! A crawled page's links: offered to the frontier and stored (links that leave the crawl's
//! scope as external), and, for a page stored by an earlier run, offered again from the store.

use super::{Run, RunError};
use crate::extract::Link;
use crate::frontier::{Entry, Offer};
use crate::urlnorm::normalize;
use platform::store::{LinkQuery, LinkRecord, PageRecord};
use url::Url;

impl Run<'_> {
    /// Offer again the links of a page an earlier run stored after its last checkpoint.
    pub(super) async fn reoffer_stored_links(&mut self, entry: &Entry) -> Result<(), RunError> {
        let job = self.job.job_id.clone();
        for l in self.links_from(&job, &entry.url, Some(false)).await? {
            if let Ok(u) = Url::parse(&l.to_url) {
                self.offer(&u, entry.depth + 1);
            }
        }
        Ok(())
    }

    /// The links a job (of this tenant) stored from one page: all, or only the external
    /// (`Some(true)`) or internal ones.
    pub(super) async fn links_from(
        &self,
        job_id: &str,
        from_url: &str,
        external: Option<bool>,
    ) -> Result<Vec<LinkRecord>, RunError> {
        let query = LinkQuery {
            job_id: Some(job_id.to_string()),
            external,
            from_url: Some(from_url.to_string()),
            limit: 10_000,
            ..Default::default()
        };
        let store = &self.deps.platform.store;
        Ok(store.list_links(&self.job.tenant_id, &query).await?.items)
    }

    /// Offer a page's links to the frontier and store them (links that leave the crawl's
    /// scope as external). Returns the external ones with their texts.
    pub(super) async fn store_links(
        &mut self,
        record: &PageRecord,
        links: &[Link],
        off_site: Option<Url>,
        depth: u32,
    ) -> Result<Vec<(String, String)>, RunError> {
        let mut link_docs = Vec::new();
        let mut external = Vec::new();
        if let Some(u) = off_site {
            external.push((u.to_string(), String::new()));
        }
        for link in links {
            let Ok(u) = Url::parse(&link.url) else {
                continue;
            };
            match self.offer(&u, depth + 1) {
                Offer::External => external.push((u.to_string(), link.text.clone())),
                _ => {
                    link_docs.push(self.link(record, normalize(&u).to_string(), &link.text, false))
                }
            }
        }
        for (to, text) in &external {
            link_docs.push(self.link(record, to.clone(), text, true));
        }
        self.deps.platform.store.put_links(link_docs).await?;
        Ok(external)
    }

    /// The stored form of one link from `record`.
    fn link(&self, record: &PageRecord, to_url: String, text: &str, external: bool) -> LinkRecord {
        LinkRecord {
            tenant_id: self.job.tenant_id.clone(),
            job_id: self.job.job_id.clone(),
            from_url: record.url.clone(),
            to_url,
            text: text.to_string(),
            external,
        }
    }
}

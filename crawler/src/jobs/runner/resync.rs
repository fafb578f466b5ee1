//! What a resync adds to a run: every page the job resynced had is asked for again (so a page
//! that is gone is found gone even when nothing links to it any more), each page is compared with
//! its stored version, and what a page became decides what happens to its knowledge: unchanged
//! pages keep their passages and links, changed and new ones are embedded, removed ones leave
//! search.

use super::{Run, RunError};
use crate::extract::Link;
use platform::store::{PageChange, PageOutcome, PageQuery, PageRecord};
use url::Url;

/// Most pages of the job resynced offered again (its own `max_pages` bounds them first).
const MOST_SEEDED: u64 = 100_000;

impl Run<'_> {
    /// On a resync's first run: offer every page the job resynced stored with content, at the
    /// depth it was found.
    pub(super) async fn seed_from_previous(&mut self) -> Result<(), RunError> {
        let Some(previous) = self.job.resync_of.clone() else {
            return Ok(());
        };
        let pages = self
            .deps
            .platform
            .store
            .list_pages(
                &self.job.tenant_id,
                &PageQuery {
                    job_id: Some(previous),
                    outcome: PageOutcome::Ok,
                    limit: MOST_SEEDED.min(self.job.options.max_pages as u64),
                    ..Default::default()
                },
            )
            .await?;
        for page in pages.items {
            if let Ok(u) = Url::parse(&page.url) {
                self.offer(&u, page.depth);
            }
        }
        Ok(())
    }

    /// The links a carried (unchanged, not read again) page had in the job resynced.
    pub(super) async fn carried_links(&self, record: &PageRecord) -> Result<Vec<Link>, RunError> {
        let Some(previous) = self.job.resync_of.clone() else {
            return Ok(Vec::new());
        };
        let links = self.links_from(&previous, &record.url, None).await?;
        Ok(links
            .into_iter()
            .map(|l| Link {
                url: l.to_url,
                text: l.text,
                internal: !l.external,
            })
            .collect())
    }

    /// Count a stored page with content by what it became, and queue its knowledge: passages
    /// carried over when its content is the same, embedded when it is new or changed.
    pub(super) async fn settle_content(&mut self, record: &PageRecord) -> Result<(), RunError> {
        let c = &mut self.job.counters;
        c.pages_completed += 1;
        let knowledge = &self.deps.knowledge;
        match record.change {
            Some(PageChange::Unchanged) => {
                c.pages_unchanged += 1;
                knowledge.carry_page(record.clone()).await?;
                return Ok(());
            }
            Some(PageChange::Changed) => c.pages_changed += 1,
            Some(PageChange::New) => c.pages_new += 1,
            Some(PageChange::Removed) | None => {}
        }
        knowledge.index_page(record.clone());
        Ok(())
    }

    /// A page that is gone: counted, and its passages dropped from search.
    pub(super) async fn settle_removed(&mut self, record: &PageRecord) -> Result<(), RunError> {
        self.job.counters.pages_removed += 1;
        self.deps.knowledge.remove_page(record).await?;
        Ok(())
    }
}

/// The page as the job resynced (`previous`, its stored key) stored it under `url`, if any; a
/// store that does not answer makes the page count as new (read in full) rather than stop the
/// crawl.
pub(super) async fn previous_page(
    platform: &platform::Platform,
    tenant: &platform::TenantId,
    previous: Option<&str>,
    url: &str,
) -> Option<PageRecord> {
    let previous = previous?;
    match platform.store.get_page(tenant, Some(previous), url).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, url, "the page before the resync could not be read");
            None
        }
    }
}

//! Tenants: every session, job and document belongs to one, and every read filters by it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The organization (or, in normal mode, the user) that owns a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// The single tenant used when no API keys are configured.
    pub const LOCAL: &'static str = "local";

    /// Wrap a tenant id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The local tenant, for a single user on their own machine.
    pub fn local() -> Self {
        Self(Self::LOCAL.to_string())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the local tenant (no `API_KEYS`).
    pub fn is_local(&self) -> bool {
        self.0 == Self::LOCAL
    }

    /// The key a job of this tenant is stored under. Job ids are the tenant's own names
    /// (a caller may choose them), so each tenant has its own id space: the local tenant's
    /// ids are stored as they are, every other tenant's as `{tenant}/{id}`. A job id never
    /// holds `/`, so [`public_job_id`] gives the id back.
    pub fn job_key(&self, job_id: &str) -> String {
        if self.is_local() {
            job_id.to_string()
        } else {
            format!("{}/{job_id}", self.0)
        }
    }
}

/// The id a tenant knows a stored job by: its key without the tenant (see
/// [`TenantId::job_key`]).
pub fn public_job_id(key: &str) -> &str {
    key.rsplit_once('/').map_or(key, |(_, id)| id)
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenant_has_its_own_job_ids() {
        let acme = TenantId::new("acme");
        let beta = TenantId::new("beta");
        assert_ne!(acme.job_key("crawl-1"), beta.job_key("crawl-1"));
        assert_eq!(public_job_id(&acme.job_key("crawl-1")), "crawl-1");
        assert_eq!(TenantId::local().job_key("crawl-1"), "crawl-1");
        assert_eq!(public_job_id("crawl-1"), "crawl-1");
        // A tenant name with a slash still gives the job id back.
        assert_eq!(public_job_id(&TenantId::new("a/b").job_key("x")), "x");
    }
}

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
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

//! Files handed to the service (uploaded documents, media, thumbnails): a local directory by
//! default, S3 or an S3-compatible server when `S3_*` is configured. Keys follow
//! `{organizationId}/knowledge/{knowledgeId}/{timestamp}-{filename}` with the filename made safe.

mod local;
mod s3;

pub use local::LocalFiles;
pub use s3::{S3Config, S3Files};

use crate::error::{EngineError, Result};
use std::path::Path;
use std::time::Duration;

/// How long a presigned URL is valid by default.
pub const PRESIGN_DEFAULT: Duration = Duration::from_secs(3600);

/// Persistent storage of files.
#[async_trait::async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Which backend this is (`local` or `s3`).
    fn backend(&self) -> &'static str;
    /// The bucket files are put in (`None` for the local directory).
    fn bucket(&self) -> Option<&str>;
    /// Store the file at `path` under `key`; returns its size in bytes.
    async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> Result<u64>;
    /// Copy the file under `key` (in `bucket`, or the store's own) to `dest`, refusing it once it
    /// exceeds `max_bytes`; returns its size.
    async fn get_file(
        &self,
        bucket: Option<&str>,
        key: &str,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<u64>;
    /// A URL anyone may GET the file with until `expires_in` has passed, signed with the
    /// service's own credentials; `None` when the backend has no such URLs (the local directory).
    async fn presign_get(
        &self,
        bucket: Option<&str>,
        key: &str,
        expires_in: Duration,
    ) -> Result<Option<String>>;
    /// Remove a file (no error when it is not there).
    async fn delete(&self, key: &str) -> Result<()>;
    /// The files whose keys start with `prefix`, with their sizes, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>>;
    /// Check the backend answers.
    async fn health(&self) -> Result<()>;
}

/// A filename made safe for a key: letters, digits, `.`, `-` and `_` kept, anything else `_`;
/// no leading dot; at most 120 characters (the extension kept); `file` when nothing is left.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out = String::with_capacity(base.len());
    for ch in base.chars() {
        let keep = ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_');
        let ch = if keep { ch } else { '_' };
        if ch == '_' && out.ends_with('_') {
            continue;
        }
        out.push(ch);
    }
    let trimmed = out.trim_start_matches(['.', '_']).to_string();
    let mut s = if trimmed.is_empty() {
        "file".to_string()
    } else {
        trimmed
    };
    if s.len() > 120 {
        let ext = s
            .rfind('.')
            .filter(|&i| s.len() - i <= 16)
            .map(|i| s[i..].to_string())
            .unwrap_or_default();
        s.truncate(120 - ext.len());
        s.push_str(&ext);
    }
    s
}

/// A key segment (organization or knowledge id) made safe: as [`safe_filename`].
fn safe_segment(s: &str) -> String {
    safe_filename(s)
}

/// Whether the service may read `bucket`/`key` with its own S3 credentials on behalf of
/// `tenant`: only in its own bucket (`bucket_of_store`), and, when several tenants share the
/// service (`multi_tenant`), only under the tenant's prefix (`{organization}/`, as the keys the
/// service writes). Anything else is `forbidden`, decided before any request to S3.
pub fn check_scope(
    bucket_of_store: Option<&str>,
    multi_tenant: bool,
    tenant: &crate::TenantId,
    bucket: &str,
    key: &str,
) -> crate::error::Result<()> {
    use crate::error::EngineError;
    if bucket_of_store != Some(bucket) {
        return Err(EngineError::Forbidden(format!(
            "the bucket `{bucket}` is not this service's; hand over a presigned URL for it"
        )));
    }
    if key.starts_with('/') || key.split('/').any(|s| s == ".." || s == ".") {
        return Err(EngineError::Forbidden(format!(
            "the key `{key}` is not a plain object key"
        )));
    }
    let prefix = format!("{}/", safe_segment(tenant.as_str()));
    if multi_tenant && !key.starts_with(&prefix) {
        return Err(EngineError::Forbidden(format!(
            "the key `{key}` lies outside this tenant's prefix `{prefix}`; hand over a presigned URL for it"
        )));
    }
    Ok(())
}

/// The key of a knowledge file: `{organizationId}/knowledge/{knowledgeId}/{timestamp}-{filename}`
/// (`timestamp` in milliseconds since the Unix epoch).
pub fn knowledge_key(
    organization: &str,
    knowledge_id: &str,
    timestamp_ms: u64,
    filename: &str,
) -> String {
    format!(
        "{}/knowledge/{}/{timestamp_ms}-{}",
        safe_segment(organization),
        safe_segment(knowledge_id),
        safe_filename(filename)
    )
}

/// Refuse keys that could leave the store's namespace (`..`, absolute paths, empty segments).
pub(crate) fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.len() > 1024
        || key.starts_with('/')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || key.contains(['\\', '\0']);
    if bad {
        return Err(EngineError::InvalidRequest(format!(
            "invalid file key {key:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_platform_layout_with_safe_names() {
        assert_eq!(
            knowledge_key(
                "org-1",
                "kn 7",
                1700000000000,
                "../../etc/Q3 report (final).pdf"
            ),
            "org-1/knowledge/kn_7/1700000000000-Q3_report_final_.pdf"
        );
        assert_eq!(safe_filename(".env"), "env");
        assert_eq!(safe_filename("日本語"), "file");
        let long = format!("{}.docx", "a".repeat(300));
        let s = safe_filename(&long);
        assert_eq!(s.len(), 120);
        assert!(s.ends_with(".docx"));
    }

    #[test]
    fn keys_cannot_escape_the_store() {
        for bad in ["", "/abs", "a/../b", "a//b", "a\\b", "./a"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        check_key("org/knowledge/k/1-a.pdf").unwrap();
    }
}

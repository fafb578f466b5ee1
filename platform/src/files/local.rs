//! Files in a local directory (the embedded default): `{DATA_DIR}/files/{key}`. Writes go to a
//! temporary name first and are renamed into place, so a reader never sees half a file.

use super::{check_key, FileStore};
use crate::error::{EngineError, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Files in a local directory.
pub struct LocalFiles {
    root: PathBuf,
}

fn io_err(what: &str, e: std::io::Error) -> EngineError {
    EngineError::Files(format!("{what}: {e}"))
}

impl LocalFiles {
    /// Use (and create) the directory `root`.
    pub fn open(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root)
            .map_err(|e| EngineError::Config(format!("cannot create {}: {e}", root.display())))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// Where a key's file is.
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

#[async_trait::async_trait]
impl FileStore for LocalFiles {
    fn backend(&self) -> &'static str {
        "local"
    }

    fn bucket(&self) -> Option<&str> {
        None
    }

    async fn put_file(&self, key: &str, path: &Path, _content_type: &str) -> Result<u64> {
        let dest = self.path_of(key)?;
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io_err("creating the file's directory", e))?;
        }
        let tmp = dest.with_extension(format!("part-{}", uuid::Uuid::new_v4()));
        let n = tokio::fs::copy(path, &tmp)
            .await
            .map_err(|e| io_err("writing the file", e))?;
        tokio::fs::rename(&tmp, &dest)
            .await
            .map_err(|e| io_err("writing the file", e))?;
        Ok(n)
    }

    async fn get_file(
        &self,
        bucket: Option<&str>,
        key: &str,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<u64> {
        if let Some(b) = bucket {
            return Err(EngineError::InvalidRequest(format!(
                    "bucket {b:?} is not reachable: files are kept in a local directory (set S3_* to use S3)"
                )));
        }
        let src = self.path_of(key)?;
        let meta = match tokio::fs::metadata(&src).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EngineError::FileNotFound(key.to_string()))
            }
            Err(e) => return Err(io_err("reading the file", e)),
        };
        if meta.len() > max_bytes {
            return Err(EngineError::FileTooLarge(format!(
                "{key} is {} bytes; the limit for its type is {max_bytes}",
                meta.len()
            )));
        }
        tokio::fs::copy(&src, dest)
            .await
            .map_err(|e| io_err("reading the file", e))
    }

    async fn presign_get(
        &self,
        _bucket: Option<&str>,
        _key: &str,
        _expires_in: Duration,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match tokio::fs::remove_file(self.path_of(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("removing the file", e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut dirs = vec![root.clone()];
            while let Some(dir) = dirs.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    let path = e.path();
                    let Ok(meta) = e.metadata() else { continue };
                    let key = path
                        .strip_prefix(&root)
                        .map(|k| k.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if meta.is_dir() {
                        // Only directories on the way to the prefix, or under it.
                        if prefix.starts_with(&format!("{key}/")) || key.starts_with(&prefix) {
                            dirs.push(path);
                        }
                    } else if key.starts_with(&prefix) {
                        out.push((key, meta.len()));
                    }
                }
            }
            out.sort();
            out
        })
        .await
        .map_err(|e| EngineError::Files(format!("listing files: {e}")))
    }

    async fn health(&self) -> Result<()> {
        tokio::fs::metadata(&self.root)
            .await
            .map(|_| ())
            .map_err(|e| io_err("the files directory", e))
    }
}

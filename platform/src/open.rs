//! Opening the backends the configuration names (the embedded default otherwise): the one place
//! where configuration meets the backend implementations, so that neither depends on the other.

use crate::config::Config;
use crate::error::{EngineError, Result};
use crate::files::{FileStore, LocalFiles, S3Files};
use crate::store::{DocumentStore, MongoStore, SqliteStore};
use std::sync::Arc;

/// Open the store the configuration names: MongoDB when `MONGODB_URI` is set, otherwise the
/// embedded SQLite store in `DATA_DIR`.
pub async fn documents(config: &Config) -> Result<Arc<dyn DocumentStore>> {
    if let Some(uri) = &config.mongodb_uri {
        let store = MongoStore::connect(uri, &config.mongodb_database).await?;
        tracing::info!(database = %config.mongodb_database, "documents in MongoDB");
        return Ok(Arc::new(store));
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        EngineError::Config(format!(
            "DATA_DIR {} cannot be created: {e}",
            config.data_dir.display()
        ))
    })?;
    Ok(Arc::new(SqliteStore::open(
        &config.data_dir.join("store.sqlite3"),
    )?))
}

/// Open the file store the configuration names: S3 when `S3_BUCKET` is set, otherwise the
/// `files` directory under `DATA_DIR`.
pub async fn files(config: &Config) -> Result<Arc<dyn FileStore>> {
    if let Some(s3) = &config.s3 {
        let files = S3Files::connect(s3.clone()).await?;
        tracing::info!(bucket = %s3.bucket, endpoint = ?s3.endpoint, "files in S3");
        return Ok(Arc::new(files));
    }
    Ok(Arc::new(LocalFiles::open(&config.data_dir.join("files"))?))
}

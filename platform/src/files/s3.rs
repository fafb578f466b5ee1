//! Files in S3 or an S3-compatible server (aws-sdk-s3, TLS by rustls with ring). Path-style
//! addressing for S3-compatible servers (any `S3_ENDPOINT`); credentials from `S3_ACCESS_KEY_ID`
//! and `S3_SECRET_ACCESS_KEY`, or the default AWS chain (environment, profile, web identity,
//! container and instance metadata) when they are absent. Secrets are never logged: the
//! configuration's `Debug` hides them and error messages carry only the service's answer.

use super::{check_key, FileStore};
use crate::error::{EngineError, Result};
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Where files go in S3 (`S3_PROVIDER`, `S3_ENDPOINT`, `S3_REGION`, `S3_BUCKET`,
/// `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`).
#[derive(Clone, PartialEq)]
pub struct S3Config {
    /// `aws` or the name of an S3-compatible provider (`minio`, `r2`, ...): informational.
    pub provider: String,
    /// The endpoint of an S3-compatible server; `None` for AWS.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` when not given).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The access key id (with the secret); `None`: the default AWS credential chain.
    pub access_key_id: Option<String>,
    /// The secret access key.
    pub secret_access_key: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`): on with a custom endpoint.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("provider", &self.provider)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "***"))
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("path_style", &self.path_style)
            .finish()
    }
}

/// Files in an S3 bucket.
pub struct S3Files {
    client: Client,
    config: S3Config,
}

/// An S3 error as the service answered it (code and message), never the request.
fn s3_err<E>(what: &str, e: aws_sdk_s3::error::SdkError<E>) -> EngineError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_s3::error::SdkError;
    let detail = match &e {
        SdkError::ServiceError(s) => {
            let m = s.err();
            format!(
                "{} {}",
                m.code().unwrap_or("error"),
                m.message().unwrap_or_default()
            )
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                "timed out".into()
            } else if d.is_io() {
                "cannot connect".into()
            } else {
                "the request could not be sent".into()
            }
        }
        _ => "no usable answer".into(),
    };
    EngineError::Files(format!("S3 {what}: {}", detail.trim()))
}

fn is_not_found<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    e: &aws_sdk_s3::error::SdkError<E>,
) -> bool {
    matches!(e, aws_sdk_s3::error::SdkError::ServiceError(s)
        if matches!(s.err().code(), Some("NoSuchKey") | Some("NotFound")))
}

impl S3Files {
    /// Build the client (no request is made until the first use; see [`FileStore::health`]).
    pub async fn connect(config: S3Config) -> Result<Self> {
        use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(config.region.clone()));
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            loader = loader.credentials_provider(Credentials::new(
                id.clone(),
                secret.clone(),
                None,
                None,
                "S3_ACCESS_KEY_ID",
            ));
        }
        let shared = loader.load().await;
        let mut b = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(config.path_style)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            );
        if let Some(ep) = &config.endpoint {
            b = b.endpoint_url(ep);
        }
        Ok(Self {
            client: Client::from_conf(b.build()),
            config,
        })
    }

    /// The client (for tests and tools that need more than the trait).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait::async_trait]
impl FileStore for S3Files {
    fn backend(&self) -> &'static str {
        "s3"
    }

    fn bucket(&self) -> Option<&str> {
        Some(&self.config.bucket)
    }

    async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> Result<u64> {
        check_key(key)?;
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| EngineError::Files(format!("reading {}: {e}", path.display())))?
            .len();
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| EngineError::Files(format!("reading {}: {e}", path.display())))?;
        self.client
            .put_object()
            .bucket(&self.config.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size as i64)
            .body(body)
            .send()
            .await
            .map_err(|e| s3_err("put", e))?;
        Ok(size)
    }

    async fn get_file(
        &self,
        bucket: Option<&str>,
        key: &str,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<u64> {
        let out = self
            .client
            .get_object()
            .bucket(bucket.unwrap_or(&self.config.bucket))
            .key(key)
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Err(EngineError::FileNotFound(key.into())),
            Err(e) => return Err(s3_err("get", e)),
        };
        if let Some(len) = out.content_length().filter(|&l| l as u64 > max_bytes) {
            return Err(EngineError::FileTooLarge(format!(
                "{key} is {len} bytes; the limit for its type is {max_bytes}"
            )));
        }
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| EngineError::Files(format!("writing {}: {e}", dest.display())))?;
        let mut body = out.body;
        let mut n = 0u64;
        while let Some(bytes) = body
            .try_next()
            .await
            .map_err(|e| EngineError::Files(format!("S3 get: the download broke off: {e}")))?
        {
            n += bytes.len() as u64;
            if n > max_bytes {
                return Err(EngineError::FileTooLarge(format!(
                    "{key} exceeds the limit for its type ({max_bytes} bytes)"
                )));
            }
            file.write_all(&bytes)
                .await
                .map_err(|e| EngineError::Files(format!("writing {}: {e}", dest.display())))?;
        }
        file.flush()
            .await
            .map_err(|e| EngineError::Files(format!("writing {}: {e}", dest.display())))?;
        Ok(n)
    }

    async fn presign_get(
        &self,
        bucket: Option<&str>,
        key: &str,
        expires_in: Duration,
    ) -> Result<Option<String>> {
        let cfg = PresigningConfig::expires_in(expires_in)
            .map_err(|e| EngineError::InvalidRequest(format!("presign: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(bucket.unwrap_or(&self.config.bucket))
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| s3_err("presign", e))?;
        Ok(Some(req.uri().to_string()))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.config.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_err("delete", e))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.config.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_err("list", e))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    out.push((k.to_string(), o.size().unwrap_or(0).max(0) as u64));
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated().unwrap_or(false) => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }

    async fn health(&self) -> Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.config.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_err("bucket check", e))
    }
}

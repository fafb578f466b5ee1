//! Starting an ingestion: the request bodies of `POST /api/knowledge/ingest/start` and of the
//! multipart upload, their checks (answered at once, with a typed error), and the job they
//! create.

use super::kinds::{self, FileKind};
use super::{download, KIND};
use crate::jobs::{webhooks, JobView, Jobs, StartRequest};
use platform::files::knowledge_key;
use platform::jobs::{FileMetadata, FileSource, JobOptions, JobRecord, RenderMode, S3Reference};
use platform::webhooks::WebhookConfig;
use platform::{netguard, EngineError, Result, TenantId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What is ingested.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// A documentation site (`source_url`): crawled.
    Documentation,
    /// A web site (`source_url`): crawled.
    Website,
    /// A video file.
    Video,
    /// A document, data or code file.
    File,
}

/// Where the platform put the file.
#[derive(Debug, Clone, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct S3ReferenceBody {
    /// The bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The bucket's region.
    #[serde(default)]
    pub region: Option<String>,
    /// The S3-compatible endpoint, when not AWS.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A presigned GET URL for the object (required unless the service holds S3 credentials).
    #[serde(default)]
    pub presigned_url: Option<String>,
    /// When the presigned URL expires (RFC 3339).
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// What the platform knows about the file.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileMetadataBody {
    /// The original file name (its extension names the type).
    #[serde(default)]
    pub filename: Option<String>,
    /// Its size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Its media type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// When it was uploaded (RFC 3339).
    #[serde(default)]
    pub uploaded_at: Option<String>,
}

/// How to ingest.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestOptions {
    /// Most pages to crawl (site sources).
    #[serde(default)]
    pub max_pages: Option<usize>,
    /// Most link hops (site sources).
    #[serde(default)]
    pub max_depth: Option<u32>,
    /// Keep code blocks and code files as code (default true).
    #[serde(default)]
    pub extract_code_blocks: Option<bool>,
    /// Make thumbnails of a video (default false; needs ffmpeg).
    #[serde(default)]
    pub extract_thumbnails: Option<bool>,
}

/// `POST /api/knowledge/ingest/start`.
#[derive(Debug, Clone, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestStartRequest {
    /// `documentation`, `website`, `video` or `file`.
    pub source_type: SourceType,
    /// The site to crawl (`documentation`, `website`), or a file's download URL.
    #[serde(default)]
    pub source_url: Option<String>,
    /// The file in S3 (`video`, `file`).
    #[serde(default)]
    pub s3_reference: Option<S3ReferenceBody>,
    /// What is known about the file.
    #[serde(default)]
    pub file_metadata: Option<FileMetadataBody>,
    /// How to ingest.
    #[serde(default)]
    pub options: IngestOptions,
    /// The job's id; generated when absent.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Push the job's events to this receiver, signed (see the README's "Webhooks").
    #[serde(default)]
    pub webhook: Option<crate::jobs::webhooks::WebhookRequest>,
}

/// A file uploaded to the service (the multipart form's fields, the file already on disk).
#[derive(Debug, Clone)]
pub struct Upload {
    /// The file's name.
    pub filename: String,
    /// Its media type, as sent.
    pub content_type: Option<String>,
    /// `file` or `video` (default: from the file's type).
    pub source_type: Option<SourceType>,
    /// The job's id.
    pub job_id: Option<String>,
    /// How to ingest.
    pub options: IngestOptions,
    /// Where to push the job's events.
    pub webhook: Option<webhooks::WebhookRequest>,
}

/// The most bytes a file claiming `kind` may have (the largest limit when nothing is claimed).
pub fn limit_for(kind: Option<&FileKind>) -> u64 {
    kind.map(|k| k.class().limit())
        .unwrap_or_else(|| FileKind::Video("mp4").class().limit())
}

fn last_segment(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_string()
}

fn check_claim(
    source_type: SourceType,
    filename: &str,
    claimed: Option<&FileKind>,
    size: Option<u64>,
) -> Result<()> {
    if let (SourceType::Video, Some(k)) = (source_type, claimed) {
        if !matches!(k, FileKind::Video(_)) {
            return Err(EngineError::InvalidRequest(format!(
                "source_type `video` but {filename:?} is {}",
                k.name()
            )));
        }
    }
    if let (Some(size), limit) = (size, limit_for(claimed)) {
        if size > limit {
            return Err(EngineError::FileTooLarge(format!(
                "{filename:?} is {size} bytes; the limit for {} is {limit}",
                claimed
                    .map(|k| k.name())
                    .unwrap_or_else(|| "any file".into())
            )));
        }
    }
    Ok(())
}

/// The file a `file` or `video` source names, and how it is shown: an S3 reference, or a
/// download URL taken as a presigned one.
fn file_reference(
    s3_reference: Option<S3ReferenceBody>,
    source_url: Option<String>,
) -> Result<(S3ReferenceBody, String)> {
    match (s3_reference, source_url) {
        (Some(r), _) => {
            if r.bucket.trim().is_empty() || r.key.trim().is_empty() {
                return Err(EngineError::InvalidRequest(
                    "`s3_reference` needs `bucket` and `key`".into(),
                ));
            }
            let display = format!("s3://{}/{}", r.bucket, r.key);
            Ok((r, display))
        }
        (None, Some(url)) => {
            let parsed = netguard::parse_target(&url)?;
            let reference = S3ReferenceBody {
                bucket: String::new(),
                key: last_segment(parsed.path()),
                region: None,
                endpoint: None,
                presigned_url: Some(url.clone()),
                expires_at: None,
            };
            Ok((reference, download::display(&url)))
        }
        (None, None) => Err(EngineError::InvalidRequest(
            "a `file` or `video` source needs `s3_reference` (or a download `source_url`)".into(),
        )),
    }
}

/// The stored form of a checked file source.
fn file_source(
    source_type: SourceType,
    reference: S3ReferenceBody,
    filename: String,
    meta: FileMetadataBody,
    options: &IngestOptions,
) -> FileSource {
    FileSource {
        source_type: serde_json::to_value(source_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "file".into()),
        s3_reference: Some(S3Reference {
            bucket: reference.bucket,
            key: reference.key,
            region: reference.region,
            endpoint: reference.endpoint,
            presigned_url: reference.presigned_url,
            expires_at: reference.expires_at,
        }),
        stored_key: None,
        metadata: FileMetadata {
            filename,
            size: meta.size,
            content_type: meta.content_type,
            uploaded_at: meta.uploaded_at,
        },
        extract_code_blocks: options.extract_code_blocks.unwrap_or(true),
        extract_thumbnails: options.extract_thumbnails.unwrap_or(false),
    }
}

impl Jobs {
    /// Start an ingestion: a site source becomes a crawl job; a file source is checked (type,
    /// declared size, URL) and queued as an ingestion job.
    pub async fn ingest_start(
        &self,
        tenant: &TenantId,
        req: IngestStartRequest,
    ) -> Result<JobView> {
        if matches!(
            req.source_type,
            SourceType::Documentation | SourceType::Website
        ) {
            return self.ingest_site(tenant, req).await;
        }
        let meta = req.file_metadata.unwrap_or_default();
        let (reference, display) = file_reference(req.s3_reference, req.source_url)?;
        self.check_reachable(tenant, &reference).await?;
        let filename = meta
            .filename
            .clone()
            .filter(|f| !f.trim().is_empty())
            .unwrap_or_else(|| last_segment(&reference.key));
        let claimed = FileKind::claimed(&filename, meta.content_type.as_deref());
        check_claim(req.source_type, &filename, claimed.as_ref(), meta.size)?;
        let source = file_source(req.source_type, reference, filename, meta, &req.options);
        let webhook = webhooks::check(req.webhook, &self.platform().config.network).await?;
        self.create_ingestion(tenant, req.job_id, display, source, webhook)
            .await
    }

    /// A site source: a crawl job.
    async fn ingest_site(&self, tenant: &TenantId, req: IngestStartRequest) -> Result<JobView> {
        let url = req.source_url.ok_or_else(|| {
            EngineError::InvalidRequest(
                "`source_url` is required for `documentation` and `website` sources".into(),
            )
        })?;
        let start = StartRequest {
            start_url: url,
            max_pages: req.options.max_pages,
            max_depth: req.options.max_depth,
            job_id: req.job_id,
            include_patterns: Vec::new(),
            exclude_patterns: Vec::new(),
            render: RenderMode::Auto,
            concurrency: None,
            webhook: req.webhook,
        };
        self.start_job(tenant, start).await
    }

    /// Whether the service may fetch the file: a presigned URL must be http(s) and pass the
    /// network policy; without one, the service must hold S3 credentials and the object lie in
    /// its bucket, under the tenant's prefix.
    async fn check_reachable(&self, tenant: &TenantId, reference: &S3ReferenceBody) -> Result<()> {
        match &reference.presigned_url {
            Some(u) => {
                let url = netguard::parse_target(u)?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(EngineError::InvalidUrl(
                        "`presigned_url` must be an http or https URL".into(),
                    ));
                }
                netguard::check_url(&url, &self.platform().config.network)
                    .await
                    .map(|_| ())
            }
            None if self.platform().files.backend() != "s3" => Err(EngineError::InvalidRequest(
                "`s3_reference.presigned_url` is required: this service holds no S3 credentials"
                    .into(),
            )),
            None => {
                let platform = self.platform();
                platform::files::check_scope(
                    platform.files.bucket(),
                    !platform.config.api_keys.is_empty(),
                    tenant,
                    &reference.bucket,
                    &reference.key,
                )
            }
        }
    }

    /// Ingest a file uploaded to the service (the embedded default's path, no S3 needed): the
    /// file at `path` is checked (size by its claimed type, type by its content), kept in the
    /// file store, and queued as an ingestion job.
    pub async fn ingest_upload(
        &self,
        tenant: &TenantId,
        upload: Upload,
        path: &Path,
    ) -> Result<JobView> {
        let claimed = FileKind::claimed(&upload.filename, upload.content_type.as_deref());
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| EngineError::Files(format!("the upload: {e}")))?
            .len();
        let source_type = upload.source_type.unwrap_or(match claimed {
            Some(FileKind::Video(_)) => SourceType::Video,
            _ => SourceType::File,
        });
        if matches!(source_type, SourceType::Documentation | SourceType::Website) {
            return Err(EngineError::InvalidRequest(
                "an upload's `source_type` is `file` or `video`".into(),
            ));
        }
        check_claim(source_type, &upload.filename, claimed.as_ref(), Some(size))?;
        let webhook = webhooks::check(upload.webhook, &self.platform().config.network).await?;
        let head = kinds::read_head(path, 8192)
            .await
            .map_err(|e| EngineError::Files(format!("the upload: {e}")))?;
        let kind = kinds::check_file(&upload.filename, claimed, &head, size)?;
        let job_id = self.new_job_id(upload.job_id)?;
        let ms = (platform::store::now_secs() * 1000.0) as u64;
        let key = knowledge_key(tenant.as_str(), &job_id, ms, &upload.filename);
        let files = &self.platform().files;
        files
            .put_file(
                &key,
                path,
                upload.content_type.as_deref().unwrap_or(kind.media_type()),
            )
            .await?;
        let display = match files.bucket() {
            Some(b) => format!("s3://{b}/{key}"),
            None => format!("files:///{key}"),
        };
        let source = FileSource {
            source_type: if source_type == SourceType::Video {
                "video"
            } else {
                "file"
            }
            .into(),
            s3_reference: None,
            stored_key: Some(key),
            metadata: FileMetadata {
                filename: upload.filename,
                size: Some(size),
                content_type: upload.content_type,
                uploaded_at: None,
            },
            extract_code_blocks: upload.options.extract_code_blocks.unwrap_or(true),
            extract_thumbnails: upload.options.extract_thumbnails.unwrap_or(false),
        };
        self.create_ingestion(tenant, Some(job_id), display, source, webhook)
            .await
    }

    async fn create_ingestion(
        &self,
        tenant: &TenantId,
        job_id: Option<String>,
        display: String,
        source: FileSource,
        webhook: Option<WebhookConfig>,
    ) -> Result<JobView> {
        let job_id = self.new_job_id(job_id)?;
        let options = JobOptions {
            start_url: display,
            max_pages: 1,
            max_depth: 0,
            include_patterns: Vec::new(),
            exclude_patterns: Vec::new(),
            render: RenderMode::Never,
            concurrency: 1,
            file: Some(source),
        };
        let mut job = JobRecord::new(tenant.job_key(&job_id), tenant.clone(), options);
        job.kind = KIND.into();
        job.webhook = webhook;
        let queued = self.create(job).await?;
        tracing::info!(job_id = %job_id, file = %queued.options.start_url, "ingestion queued");
        Ok(JobView::from_record(&queued, false))
    }
}

//! One run of an ingestion job: get the file (presigned URL with retries, a fresh URL when the
//! handed one expired and the service holds S3 credentials, or the service's own file store),
//! check its type from its content, extract it off the async runtime with a time limit, and store
//! it as the job's one page (indexed for search like crawled pages). Safe to repeat: a page
//! already stored for the job is not stored twice.

use super::kinds::{self, FileKind};
use super::{download, extract, media, IngestError};
use crate::jobs::events;
use crate::jobs::run::{RunDeps, RunError, RunOutcome};
use platform::files::{self, knowledge_key, PRESIGN_DEFAULT};
use platform::jobs::{FileSource, JobRecord, JobStatus};
use platform::store::{now_secs, JobUpdate, PageRecord};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a parser may take on one file.
pub const PARSE_LIMIT: Duration = Duration::from_secs(120);
/// Thumbnails made per video.
const THUMBNAILS: usize = 3;

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Scratch {
    /// A new scratch directory under the data directory's `tmp`.
    async fn new(deps: &RunDeps) -> Result<Self, IngestError> {
        let dir = deps
            .platform
            .config
            .data_dir
            .join("tmp")
            .join(format!("ingest-{}", uuid::Uuid::new_v4()));
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| IngestError::Download(format!("scratch directory: {e}")))?;
        Ok(Self(dir))
    }
}

/// Run an ingestion job that was moved to `running` with `run_id`.
pub async fn run(
    deps: &RunDeps,
    job: JobRecord,
    run_id: String,
    shutdown: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let Some(source) = job.options.file.clone() else {
        return Err(IngestError::Malformed("an ingestion job without a file".into()).into());
    };
    let store = &deps.platform.store;
    if store.has_page(&job.job_id, &job.options.start_url).await? {
        return Ok(RunOutcome::Completed);
    }
    let scratch = Scratch::new(deps).await?;
    let page = tokio::select! {
        r = fetch_and_extract(deps, &job, &source, &scratch.0) => r?,
        _ = shutdown.cancelled() => return Ok(RunOutcome::Interrupted),
    };
    // The owner may have paused or cancelled the job meanwhile.
    match store.get_job(None, &job.job_id).await? {
        Some(j) if j.run_id.as_deref() != Some(&run_id) => return Ok(RunOutcome::Superseded),
        Some(j) if j.status == JobStatus::Cancelled => return Ok(RunOutcome::Cancelled),
        Some(j) if j.status == JobStatus::Paused => return Ok(RunOutcome::Paused),
        None => return Ok(RunOutcome::Cancelled),
        _ => {}
    }
    record_page(deps, &job, run_id, page).await?;
    Ok(RunOutcome::Completed)
}

/// Get the file into `dir`, check its type from its content, and extract it into a page.
async fn fetch_and_extract(
    deps: &RunDeps,
    job: &JobRecord,
    source: &FileSource,
    dir: &Path,
) -> Result<PageRecord, IngestError> {
    let file = dir.join("file");
    let claimed = FileKind::claimed(
        &source.metadata.filename,
        source.metadata.content_type.as_deref(),
    );
    let limit = super::limit_for(claimed.as_ref());
    let size = acquire(deps, job, source, &file, limit).await?;
    let head = kinds::read_head(&file, 8192)
        .await
        .map_err(|e| IngestError::Download(format!("reading the download: {e}")))?;
    let kind = kinds::check_file(&source.metadata.filename, claimed, &head, size)?;
    build_page(deps, job, source, &kind, &file, size, dir).await
}

/// Store the job's one page (once), index it, and count it on the job with its events.
async fn record_page(
    deps: &RunDeps,
    job: &JobRecord,
    run_id: String,
    page: PageRecord,
) -> Result<(), RunError> {
    let stored = deps.platform.store.put_page(page.clone()).await?;
    if stored {
        deps.knowledge.index_page(page.clone());
    }
    let current = job.options.start_url.clone();
    let updated = deps
        .platform
        .update_job(
            &job.job_id,
            None,
            Box::new(move |j| {
                if j.run_id.as_deref() != Some(&run_id) {
                    return false;
                }
                j.counters.pages_completed = 1;
                j.counters.pages_admitted = 1;
                j.counters.pages_queued = 0;
                j.current_url = Some(current);
                true
            }),
        )
        .await?;
    if let JobUpdate::Updated(j) = &updated {
        if stored {
            events::page_completed(deps.platform.events.as_ref(), j, &page).await;
            crate::jobs::webhooks::page_completed(&deps.platform, j, &page).await;
        }
        events::progress(deps.platform.events.as_ref(), j).await;
    }
    tracing::info!(kind = %page.content_type.as_deref().unwrap_or(""), words = page.word_count, "file ingested");
    Ok(())
}

/// Get the file to `dest`; returns its size.
async fn acquire(
    deps: &RunDeps,
    job: &JobRecord,
    source: &FileSource,
    dest: &Path,
    limit: u64,
) -> Result<u64, IngestError> {
    let files = &deps.platform.files;
    if let Some(key) = &source.stored_key {
        return Ok(files.get_file(None, key, dest, limit).await?);
    }
    let Some(r) = &source.s3_reference else {
        return Err(IngestError::Malformed("the job names no file".into()));
    };
    // The service's own credentials read only what the tenant may have: its bucket, the
    // tenant's prefix.
    let scope = files::check_scope(
        files.bucket(),
        !deps.platform.config.api_keys.is_empty(),
        &job.tenant_id,
        &r.bucket,
        &r.key,
    );
    let holds_s3 = files.backend() == "s3" && !r.bucket.is_empty();
    let Some(url) = &r.presigned_url else {
        if holds_s3 {
            scope.map_err(|e| IngestError::Rejected(e.to_string()))?;
            return Ok(files.get_file(Some(&r.bucket), &r.key, dest, limit).await?);
        }
        return Err(IngestError::Rejected(
            "no presigned_url, and this service holds no S3 credentials".into(),
        ));
    };
    let client = download::client()?;
    let allow = &deps.platform.config.network;
    let expires_at = r.expires_at.as_deref();
    match download::fetch(&client, url, dest, limit, allow, expires_at).await {
        Err(IngestError::Expired(why)) if holds_s3 && scope.is_ok() => {
            tracing::info!(job_id = %job.job_id, "presigned URL expired; signing a fresh one");
            let fresh = files
                .presign_get(Some(&r.bucket), &r.key, PRESIGN_DEFAULT)
                .await?
                .ok_or(IngestError::Expired(why))?;
            download::fetch(&client, &fresh, dest, limit, allow, None).await
        }
        Err(IngestError::Expired(why)) if holds_s3 => Err(IngestError::Expired(format!(
            "{why}, and the object lies outside what this tenant may read with the service's \
             credentials, so no fresh one is signed: hand over a new presigned URL"
        ))),
        Err(IngestError::Expired(why)) => Err(IngestError::Expired(format!(
            "{why}, and this service holds no S3 credentials to sign a fresh one: hand over a new presigned URL"
        ))),
        other => other,
    }
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

/// The job's one page, made from the file: a media file is described (format, length,
/// thumbnails when asked), anything else is extracted.
async fn build_page(
    deps: &RunDeps,
    job: &JobRecord,
    source: &FileSource,
    kind: &FileKind,
    file: &Path,
    size: u64,
    scratch: &Path,
) -> Result<PageRecord, IngestError> {
    let mut page = PageRecord::empty(
        job.tenant_id.clone(),
        &job.job_id,
        job.options.start_url.clone(),
        0,
        "file",
    );
    page.ok = true;
    page.content_type = Some(kind.media_type().to_string());
    match kind {
        FileKind::Audio(format) | FileKind::Video(format) => {
            let media = MediaFile {
                is_video: matches!(kind, FileKind::Video(_)),
                format,
                file,
                size,
            };
            describe_media(deps, job, source, &media, scratch, &mut page).await?;
        }
        _ => extract_document(source, kind, file, &mut page).await?,
    }
    page.word_count = page.markdown.split_whitespace().count() as u64;
    Ok(page)
}

/// An audio or video file being ingested.
struct MediaFile<'a> {
    is_video: bool,
    format: &'a str,
    file: &'a Path,
    size: u64,
}

/// Describe an audio or video file on its page (there is no transcript), with thumbnails of a
/// video when asked.
async fn describe_media(
    deps: &RunDeps,
    job: &JobRecord,
    source: &FileSource,
    m: &MediaFile<'_>,
    scratch: &Path,
    page: &mut PageRecord,
) -> Result<(), IngestError> {
    let name = &source.metadata.filename;
    let kind = if m.is_video { "video" } else { "audio" };
    let info = media::probe(m.file, kind, m.format).await;
    let title = extract::stem(name);
    let mut md = format!(
        "# {title}\n\n{} file `{name}`: {}, {}",
        if m.is_video { "Video" } else { "Audio" },
        info.format,
        human(m.size)
    );
    if let Some(d) = info.duration_secs {
        md.push_str(&format!(", {} long", media::clock(d)));
    }
    md.push('.');
    if let Some(at) = &source.metadata.uploaded_at {
        md.push_str(&format!(" Uploaded {at}."));
    }
    md.push_str(
        "\n\nNo transcript: transcripts need a speech model, which this service does not run.",
    );
    if m.is_video && source.extract_thumbnails {
        let dir = scratch.join("thumbs");
        std::fs::create_dir_all(&dir)
            .map_err(|e| IngestError::Media(format!("thumbnails: {e}")))?;
        match media::thumbnails(m.file, &dir, info.duration_secs, THUMBNAILS).await {
            Ok(made) => {
                store_thumbnails(deps, job, &made, page).await?;
                md.push_str(&format!("\n\n{} thumbnails stored.", made.len()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "no thumbnails");
                md.push_str(&format!("\n\nThumbnails were not made: {e}"));
            }
        }
    }
    page.title = title;
    page.description = Some(format!("{} {}", info.kind, info.format));
    page.content_type = source
        .metadata
        .content_type
        .clone()
        .or(Some(format!("{}/{}", info.kind, info.format)));
    page.markdown = md;
    Ok(())
}

/// Keep a video's thumbnails in the file store, listed on its page.
async fn store_thumbnails(
    deps: &RunDeps,
    job: &JobRecord,
    made: &[PathBuf],
    page: &mut PageRecord,
) -> Result<(), IngestError> {
    let ms = (now_secs() * 1000.0) as u64;
    for (i, p) in made.iter().enumerate() {
        let key = knowledge_key(
            job.tenant_id.as_str(),
            &job.job_id,
            ms,
            &format!("thumbnail-{:02}.jpg", i + 1),
        );
        deps.platform.files.put_file(&key, p, "image/jpeg").await?;
        page.files.push(key);
    }
    Ok(())
}

/// Extract a document, data or code file into its page, off the async runtime with a time
/// limit.
async fn extract_document(
    source: &FileSource,
    kind: &FileKind,
    file: &Path,
    page: &mut PageRecord,
) -> Result<(), IngestError> {
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| IngestError::Download(format!("reading the download: {e}")))?;
    let (k, n, keep) = (
        kind.clone(),
        source.metadata.filename.clone(),
        source.extract_code_blocks,
    );
    let doc = tokio::task::spawn_blocking(move || {
        extract::extract_guarded(&k, &n, bytes, keep, PARSE_LIMIT)
    })
    .await
    .map_err(|_| IngestError::Malformed("the parser failed on this file".into()))??;
    page.title = doc.title;
    page.description = doc.description;
    page.headings = doc.headings;
    page.code_blocks = doc.code_blocks;
    page.markdown = doc.markdown;
    if !matches!(kind, FileKind::Pdf | FileKind::Docx | FileKind::Pptx) {
        page.encoding = Some("utf-8".into());
    }
    Ok(())
}

//! One run of an ingestion job: get the file (presigned URL with retries, a fresh URL when the
//! handed one expired and the service holds S3 credentials, or the service's own file store),
//! check its type from its content, extract it off the async runtime with a time limit, and store
//! it as the job's one page (indexed for search like crawled pages). Safe to repeat: a page
//! already stored for the job is not stored twice.

use super::kinds::{self, FileKind};
use super::{download, extract, media, IngestError};
use crate::jobs::events;
use crate::jobs::run::{RunDeps, RunError, RunOutcome};
use platform::files::{knowledge_key, PRESIGN_DEFAULT};
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
    let url = job.options.start_url.clone();
    if store.has_page(&job.job_id, &url).await? {
        return Ok(RunOutcome::Completed);
    }
    let dir = deps
        .platform
        .config
        .data_dir
        .join("tmp")
        .join(format!("ingest-{}", uuid::Uuid::new_v4()));
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| IngestError::Download(format!("scratch directory: {e}")))?;
    let scratch = Scratch(dir);
    let file = scratch.0.join("file");
    let claimed = FileKind::claimed(
        &source.metadata.filename,
        source.metadata.content_type.as_deref(),
    );
    let limit = super::limit_for(claimed.as_ref());
    let work = async {
        let size = acquire(deps, &job, &source, &file, limit).await?;
        let head = kinds::read_head(&file, 8192)
            .await
            .map_err(|e| IngestError::Download(format!("reading the download: {e}")))?;
        let kind = kinds::check_file(&source.metadata.filename, claimed, &head, size)?;
        build_page(deps, &job, &source, &kind, &file, size, &scratch.0).await
    };
    let page = tokio::select! {
        r = work => r?,
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
    let stored = store.put_page(page.clone()).await?;
    if stored {
        deps.knowledge.index_page(page.clone());
    }
    let rid = run_id.clone();
    let current = url.clone();
    let updated = deps
        .platform
        .update_job(
            &job.job_id,
            None,
            Box::new(move |j| {
                if j.run_id.as_deref() != Some(&rid) {
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
        }
        events::progress(deps.platform.events.as_ref(), j).await;
    }
    tracing::info!(kind = %page.content_type.as_deref().unwrap_or(""), words = page.word_count, "file ingested");
    Ok(RunOutcome::Completed)
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
    let holds_s3 = files.backend() == "s3" && !r.bucket.is_empty();
    let Some(url) = &r.presigned_url else {
        if holds_s3 {
            return Ok(files.get_file(Some(&r.bucket), &r.key, dest, limit).await?);
        }
        return Err(IngestError::Rejected(
            "no presigned_url, and this service holds no S3 credentials".into(),
        ));
    };
    let client = download::client()?;
    let allow = &deps.platform.config.allowlist;
    let expires_at = r.expires_at.as_deref();
    match download::fetch(&client, url, dest, limit, allow, expires_at).await {
        Err(IngestError::Expired(why)) if holds_s3 => {
            tracing::info!(job_id = %job.job_id, "presigned URL expired; signing a fresh one");
            let fresh = files
                .presign_get(Some(&r.bucket), &r.key, PRESIGN_DEFAULT)
                .await?
                .ok_or(IngestError::Expired(why))?;
            download::fetch(&client, &fresh, dest, limit, allow, None).await
        }
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

async fn build_page(
    deps: &RunDeps,
    job: &JobRecord,
    source: &FileSource,
    kind: &FileKind,
    file: &Path,
    size: u64,
    scratch: &Path,
) -> Result<PageRecord, IngestError> {
    let name = &source.metadata.filename;
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
            let is_video = matches!(kind, FileKind::Video(_));
            let info = media::probe(file, if is_video { "video" } else { "audio" }, format).await;
            let title = extract::stem(name);
            let mut md = format!(
                "# {title}\n\n{} file `{name}`: {}, {}",
                if is_video { "Video" } else { "Audio" },
                info.format,
                human(size)
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
            if is_video && source.extract_thumbnails {
                let dir = scratch.join("thumbs");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| IngestError::Media(format!("thumbnails: {e}")))?;
                match media::thumbnails(file, &dir, info.duration_secs, THUMBNAILS).await {
                    Ok(made) => {
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
        }
        _ => {
            let bytes = tokio::fs::read(file)
                .await
                .map_err(|e| IngestError::Download(format!("reading the download: {e}")))?;
            let (k, n, keep) = (kind.clone(), name.clone(), source.extract_code_blocks);
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
        }
    }
    page.word_count = page.markdown.split_whitespace().count() as u64;
    Ok(page)
}

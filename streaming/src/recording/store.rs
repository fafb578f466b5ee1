//! Where recordings live: on local disk while they are written (`DATA_DIR/recordings/{key}`,
//! the MP4 and its action track), then in the file store under
//! `{organization}/recordings/{room}/{started}.mp4` (the start in milliseconds) with a JSON
//! sidecar of what is known about it. A recording the service could not finish (a crash, a
//! `kill -9`) is stored from its spooled, fragmented MP4 at the next start; recordings past the
//! retention are deleted.

use browser::session::observer::RecordingInfo;
use platform::files::{safe_filename, FileStore, PRESIGN_DEFAULT};
use platform::media::probe_duration;
use platform::store::now_secs;
use platform::{EngineError, Result, TenantId};
use std::path::{Path, PathBuf};

/// A recording being written on local disk.
#[derive(Debug, Clone)]
pub struct Spooled {
    /// The fragmented MP4 ffmpeg writes.
    pub mp4: PathBuf,
    /// The action track.
    pub vtt: PathBuf,
    /// Its key in the file store.
    pub key: String,
    /// As listed while it runs.
    pub info: RecordingInfo,
    /// An exclusive lock on `{mp4}.lock`, held while the recording is written (by any clone):
    /// another process sharing the spool directory (engine workers with one `DATA_DIR`) sees it
    /// and leaves the recording alone at its start; the lock ends with the process that held
    /// it, so what a crash left is taken over.
    pub lock: Option<std::sync::Arc<std::fs::File>>,
}

/// The lock file beside a spooled MP4.
fn lock_path(mp4: &Path) -> PathBuf {
    mp4.with_extension("lock")
}

/// Take the exclusive lock on `path` (created when missing): `None` when another process holds
/// it, or when it cannot be opened (the caller goes on without it).
fn take_lock(path: &Path) -> std::result::Result<Option<std::fs::File>, ()> {
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
    else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(()),
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

/// The key prefix of a room's recordings.
pub fn prefix(tenant: &TenantId, room: &str) -> String {
    format!(
        "{}/recordings/{}/",
        safe_filename(tenant.as_str()),
        safe_filename(room)
    )
}

/// The key of a room's recording `name` (`{ms}.mp4`).
pub fn key(tenant: &TenantId, room: &str, name: &str) -> String {
    format!("{}{name}", prefix(tenant, room))
}

/// The milliseconds a recording's name starts with (`{started}.mp4`).
fn started_ms(name: &str) -> Option<u64> {
    name.strip_suffix(".mp4")
        .or_else(|| name.strip_suffix(".json"))?
        .parse()
        .ok()
}

/// What is known of a recording the service could not finish: its name, room and start.
fn interrupted(name: &str, room: &str, started_ms: u64) -> RecordingInfo {
    RecordingInfo {
        name: name.to_string(),
        room_name: room.to_string(),
        status: "interrupted".into(),
        started_at: started_ms as f64 / 1000.0,
        ended_at: None,
        duration_secs: None,
        size_bytes: None,
        actions: None,
        url: None,
    }
}

/// A new recording of a room, spooled under `root`.
pub fn spool(root: &Path, tenant: &TenantId, room: &str) -> Result<Spooled> {
    let started = now_secs();
    let name = format!("{}.mp4", (started * 1000.0) as u64);
    let key = key(tenant, room, &name);
    let mp4 = root.join(&key);
    if let Some(dir) = mp4.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| EngineError::Files(format!("cannot create {}: {e}", dir.display())))?;
    }
    // Locked before the MP4 exists, so no other process's start can take it for a leftover.
    let lock = take_lock(&lock_path(&mp4))
        .map_err(|()| EngineError::Files(format!("{} is being recorded", mp4.display())))?
        .map(std::sync::Arc::new);
    Ok(Spooled {
        lock,
        vtt: mp4.with_extension("vtt"),
        mp4,
        key,
        info: RecordingInfo {
            name,
            room_name: room.to_string(),
            status: "recording".into(),
            started_at: started,
            ended_at: None,
            duration_secs: None,
            size_bytes: None,
            actions: None,
            url: None,
        },
    })
}

/// Store a finished recording (`video`, the spooled MP4 or its version with the action track)
/// and its sidecar, then remove the spooled files.
pub async fn store(
    files: &dyn FileStore,
    spooled: &Spooled,
    video: &Path,
    status: &str,
    duration: Option<f64>,
    actions: u32,
) -> RecordingInfo {
    let mut info = spooled.info.clone();
    info.status = status.to_string();
    info.ended_at = Some(now_secs());
    info.duration_secs = duration.map(|d| (d * 1000.0).round() / 1000.0);
    info.actions = Some(actions);
    match files.put_file(&spooled.key, video, "video/mp4").await {
        Ok(size) => info.size_bytes = Some(size),
        Err(e) => {
            // Left in the spool: stored at the next start.
            tracing::warn!(error = %e, key = %spooled.key, "recording not stored yet");
            return info;
        }
    }
    let sidecar = spooled.mp4.with_extension("json");
    let written = serde_json::to_vec(&info)
        .map_err(|e| e.to_string())
        .and_then(|json| std::fs::write(&sidecar, json).map_err(|e| e.to_string()));
    let json_key = spooled.key.replace(".mp4", ".json");
    match written {
        Ok(()) => {
            if let Err(e) = files
                .put_file(&json_key, &sidecar, "application/json")
                .await
            {
                tracing::warn!(error = %e, "recording details not stored");
            }
        }
        Err(e) => tracing::warn!(error = %e, "recording details not written"),
    }
    for p in [
        &spooled.mp4,
        &spooled.vtt,
        &sidecar,
        &spooled.mp4.with_extension("actions.mp4"),
        &lock_path(&spooled.mp4),
    ] {
        let _ = std::fs::remove_file(p);
    }
    info
}

/// Store what a crash left in the spool under `root`: each MP4 as it was written (fragmented,
/// so playable up to its last fragment), as `interrupted`.
pub async fn recover(files: &dyn FileStore, root: &Path) {
    let mut dirs = vec![root.to_path_buf()];
    let mut found = Vec::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "mp4")
                && !p.to_string_lossy().ends_with(".actions.mp4")
            {
                found.push(p);
            }
        }
    }
    for mp4 in found {
        let Ok(key) = mp4
            .strip_prefix(root)
            .map(|k| k.to_string_lossy().into_owned())
        else {
            continue;
        };
        let parts: Vec<&str> = key.split('/').collect();
        let (Some(room), Some(name)) = (parts.get(2), parts.get(3)) else {
            continue;
        };
        let Some(ms) = started_ms(name) else { continue };
        // Another process (an engine worker sharing this directory) is still writing it.
        let Ok(lock) = take_lock(&lock_path(&mp4)) else {
            tracing::debug!(key, "a recording another process is writing was left alone");
            continue;
        };
        let vtt = mp4.with_extension("vtt");
        let actions = std::fs::read_to_string(&vtt)
            .map(|t| t.matches(" --> ").count() as u32)
            .unwrap_or(0);
        let spooled = Spooled {
            info: interrupted(name, room, ms),
            vtt,
            key: key.clone(),
            mp4: mp4.clone(),
            lock: lock.map(std::sync::Arc::new),
        };
        let duration = probe_duration(&mp4).await;
        store(files, &spooled, &mp4, "interrupted", duration, actions).await;
        tracing::info!(key, "a recording interrupted by a stop was stored");
    }
}

/// Where a listed recording can be fetched: a presigned URL on S3, else the service's route.
pub async fn url_of(files: &dyn FileStore, key: &str, room: &str, name: &str) -> Result<String> {
    Ok(match files.presign_get(None, key, PRESIGN_DEFAULT).await? {
        Some(u) => u,
        None => format!("/rooms/{room}/recordings/{name}"),
    })
}

/// A room's stored recordings, oldest first; `scratch` is a directory for reading sidecars.
pub async fn list(
    files: &dyn FileStore,
    tenant: &TenantId,
    room: &str,
    scratch: &Path,
) -> Result<Vec<RecordingInfo>> {
    let prefix = prefix(tenant, room);
    let keys = files.list(&prefix).await?;
    let mut out = Vec::new();
    for (key, size) in keys.iter().filter(|(k, _)| k.ends_with(".mp4")) {
        let name = key.trim_start_matches(&prefix).to_string();
        let Some(ms) = started_ms(&name) else {
            continue;
        };
        let json_key = key.replace(".mp4", ".json");
        let mut info = match keys.iter().any(|(k, _)| *k == json_key) {
            true => read_sidecar(files, &json_key, scratch).await,
            false => None,
        }
        .unwrap_or_else(|| interrupted(&name, room, ms));
        info.size_bytes = Some(*size);
        info.url = Some(url_of(files, key, room, &name).await?);
        out.push(info);
    }
    out.sort_by(|a, b| a.started_at.total_cmp(&b.started_at));
    Ok(out)
}

async fn read_sidecar(files: &dyn FileStore, key: &str, scratch: &Path) -> Option<RecordingInfo> {
    let tmp = scratch.join(format!(".sidecar-{}.json", uuid::Uuid::new_v4().simple()));
    let read = files.get_file(None, key, &tmp, 1 << 20).await.ok();
    let info = read.and_then(|_| std::fs::read(&tmp).ok());
    let _ = std::fs::remove_file(&tmp);
    serde_json::from_slice(&info?).ok()
}

/// The stored recordings, as a process that records none itself lists them (a control plane).
pub struct Archive {
    /// The file store.
    pub files: std::sync::Arc<dyn FileStore>,
    /// A directory for reading sidecars.
    pub scratch: PathBuf,
}

#[async_trait::async_trait]
impl browser::session::observer::RecordingArchive for Archive {
    async fn stored(&self, tenant: &TenantId, room: &str) -> Result<Vec<RecordingInfo>> {
        std::fs::create_dir_all(&self.scratch).map_err(|e| {
            EngineError::Files(format!("cannot create {}: {e}", self.scratch.display()))
        })?;
        list(self.files.as_ref(), tenant, room, &self.scratch).await
    }
}

/// Copy a room's stored recording `name` to `dest`; its size. An unknown name is
/// `file_not_found`.
pub async fn fetch(
    files: &dyn FileStore,
    tenant: &TenantId,
    room: &str,
    name: &str,
    dest: &Path,
) -> Result<u64> {
    if started_ms(name).is_none() || !name.ends_with(".mp4") {
        return Err(EngineError::FileNotFound(name.to_string()));
    }
    let key = key(tenant, room, name);
    files.get_file(None, &key, dest, u64::MAX).await
}

/// Whether a key is a recording (or its sidecar) started before `cutoff_ms`.
pub fn expired(key: &str, cutoff_ms: u64) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    parts.len() == 4
        && parts[1] == "recordings"
        && started_ms(parts[3]).is_some_and(|ms| ms < cutoff_ms)
}

/// Delete recordings older than `retention`.
pub async fn sweep(files: &dyn FileStore, retention: std::time::Duration) {
    let cutoff = ((now_secs() - retention.as_secs_f64()) * 1000.0).max(0.0) as u64;
    let keys = match files.list("").await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "recordings not swept");
            return;
        }
    };
    for (key, _) in keys.into_iter().filter(|(k, _)| expired(k, cutoff)) {
        match files.delete(&key).await {
            Ok(()) => tracing::info!(key, "recording past its retention deleted"),
            Err(e) => tracing::warn!(error = %e, key, "expired recording not deleted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_keyed_per_tenant_and_room_and_expire_by_their_start() {
        let t = TenantId::new("org-a");
        assert_eq!(prefix(&t, "demo room"), "org-a/recordings/demo_room/");
        assert!(expired("org-a/recordings/demo/1000.mp4", 2000));
        assert!(expired("org-a/recordings/demo/1000.json", 2000));
        assert!(!expired("org-a/recordings/demo/3000.mp4", 2000));
        assert!(!expired("org-a/knowledge/k/1000-file.mp4", 2000));
        assert!(!expired("org-a/recordings/demo/notes.mp4", 2000));
    }

    #[tokio::test]
    async fn a_recording_another_process_writes_is_left_alone_and_one_a_crash_left_is_stored() {
        let dir = std::env::temp_dir().join(format!("bas-spool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("spool");
        let files = platform::files::LocalFiles::open(&dir.join("files")).unwrap();
        let t = TenantId::new("org-a");
        let live = spool(&root, &t, "demo").unwrap();
        std::fs::write(&live.mp4, b"written so far").unwrap();
        // A process starting beside the writer (which holds the lock) takes nothing of it.
        recover(&files, &root).await;
        assert!(live.mp4.exists());
        assert!(files.list("org-a/recordings/").await.unwrap().is_empty());
        // Once the writer is gone, and its lock with it, the next start stores what it left.
        let mp4 = live.mp4.clone();
        drop(live);
        recover(&files, &root).await;
        assert!(!mp4.exists());
        assert!(!lock_path(&mp4).exists());
        let stored = files.list("org-a/recordings/demo/").await.unwrap();
        assert!(
            stored.iter().any(|(k, _)| k.ends_with(".mp4")),
            "{stored:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

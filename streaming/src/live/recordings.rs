//! Recording a room's video: a recording keeps the room's encoder running like a viewer does,
//! follows the session's pauses, and ends with the session (closed, failed or the service
//! stopping), stored with what was written. Listing reads the file store, so recordings outlive
//! their sessions and the process.

use super::{LiveVideo, RoomState};
use crate::recording::{store, ActiveRecording, Inputs};
use crate::StreamError;
use browser::session::observer::{RecordingControl, RecordingInfo};
use platform::events::room_channel;
use platform::{EngineError, TenantId};
use std::path::PathBuf;
use std::sync::Weak;

impl LiveVideo {
    /// Where recordings are written before they are stored.
    pub(super) fn spool_root(&self) -> PathBuf {
        self.engine.platform.config.data_dir.join("recordings")
    }

    /// Start recording a session's video; the running recording when there is one.
    pub async fn start_recording(
        &self,
        tenant: &TenantId,
        room: &str,
    ) -> Result<RecordingInfo, StreamError> {
        let state = self.room_for(tenant, room)?;
        let mut st = state.lock().await;
        if let Some(r) = &st.recording {
            return Ok(r.info.clone());
        }
        let (pipeline, viewport) = self.source(room, &mut st).await?;
        let started = self.begin(tenant, room, &mut st, pipeline, viewport).await;
        if started.is_err() {
            self.release_if_unused(room, &mut st).await;
        }
        started
    }

    async fn begin(
        &self,
        tenant: &TenantId,
        room: &str,
        st: &mut RoomState,
        pipeline: std::sync::Arc<crate::pipeline::Pipeline>,
        viewport: platform::Viewport,
    ) -> Result<RecordingInfo, StreamError> {
        let platform = &self.engine.platform;
        let events = platform
            .events
            .subscribe(&room_channel(tenant, room))
            .await?;
        let spooled = store::spool(&self.spool_root(), tenant, room)?;
        let inputs = Inputs {
            pipeline,
            paused: st.paused.subscribe(),
            events,
            width: viewport.width,
            height: viewport.height,
        };
        let r = ActiveRecording::start(spooled, inputs, platform.files.clone()).await?;
        let info = r.info.clone();
        tracing::info!(room, name = %info.name, "recording started");
        st.recording = Some(r);
        Ok(info)
    }

    /// Stop a session's recording and store it.
    pub async fn stop_recording(
        &self,
        tenant: &TenantId,
        room: &str,
    ) -> Result<RecordingInfo, StreamError> {
        self.engine.sessions.info(tenant, room)?;
        let none = || EngineError::InvalidRequest(format!("no recording is running in {room}"));
        let state = self.room_state(tenant, room).ok_or_else(none)?;
        let mut st = state.lock().await;
        let r = st.recording.take().ok_or_else(none)?;
        let mut info = r.finish().await;
        self.release_if_unused(room, &mut st).await;
        if info.size_bytes.is_some() {
            // Stored: where to fetch it, as the listing would say.
            let key = store::key(tenant, room, &info.name);
            let files = self.engine.platform.files.as_ref();
            info.url = Some(store::url_of(files, &key, room, &info.name).await?);
        }
        Ok(info)
    }

    /// A room's recordings: those stored, oldest first, then the one being written.
    pub async fn recordings(
        &self,
        tenant: &TenantId,
        room: &str,
    ) -> Result<Vec<RecordingInfo>, StreamError> {
        let files = self.engine.platform.files.as_ref();
        let spool = self.spool_root();
        std::fs::create_dir_all(&spool)
            .map_err(|e| EngineError::Files(format!("cannot create {}: {e}", spool.display())))?;
        let finishing: Vec<RecordingInfo> = self
            .finishing
            .lock()
            .expect("finishing lock")
            .iter()
            .filter(|(t, i)| t == tenant && i.room_name == room)
            .map(|(_, i)| i.clone())
            .collect();
        let mut list = store::list(files, tenant, room, &spool).await?;
        list.retain(|r| !finishing.iter().any(|f| f.name == r.name));
        list.extend(finishing);
        if let Some(state) = self.room_state(tenant, room) {
            if let Some(r) = &state.lock().await.recording {
                list.push(r.info.clone());
            }
        }
        Ok(list)
    }

    /// At start: store recordings a crash cut short, and delete those past the retention (then
    /// every six hours).
    pub(super) fn keep_recordings(&self) {
        let files = self.engine.platform.files.clone();
        let spool = self.spool_root();
        let retention = self.engine.platform.config.recording_retention;
        tokio::spawn(async move {
            store::recover(files.as_ref(), &spool).await;
            let Some(retention) = retention else { return };
            loop {
                store::sweep(files.as_ref(), retention).await;
                tokio::time::sleep(std::time::Duration::from_secs(6 * 3600)).await;
            }
        });
    }
}

/// A stream error as the engine's (what the session tools answer with).
fn engine_error(e: StreamError) -> EngineError {
    match e {
        StreamError::Engine(e) => e,
        other => EngineError::Browser(format!("video: {other}")),
    }
}

/// The tools' handle on recordings: the live video of this process, while it runs.
pub(super) struct Recorder(pub(super) Weak<LiveVideo>);

impl Recorder {
    fn live(&self) -> platform::Result<std::sync::Arc<LiveVideo>> {
        self.0
            .upgrade()
            .ok_or_else(|| EngineError::InvalidRequest("live video has stopped".into()))
    }
}

#[async_trait::async_trait]
impl RecordingControl for Recorder {
    async fn start(&self, tenant: &TenantId, room: &str) -> platform::Result<RecordingInfo> {
        let live = self.live()?;
        live.start_recording(tenant, room)
            .await
            .map_err(engine_error)
    }

    async fn stop(&self, tenant: &TenantId, room: &str) -> platform::Result<RecordingInfo> {
        let live = self.live()?;
        live.stop_recording(tenant, room)
            .await
            .map_err(engine_error)
    }

    async fn list(&self, tenant: &TenantId, room: &str) -> platform::Result<Vec<RecordingInfo>> {
        let live = self.live()?;
        live.recordings(tenant, room).await.map_err(engine_error)
    }
}

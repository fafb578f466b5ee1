//! Live video per session room: one screencast and one encoder per session, started when the
//! first viewer or LiveKit publisher needs it and stopped when the last one leaves, shared by
//! every WHEP viewer and the LiveKit publisher. Follows the session's life through the engine's
//! [`SessionObserver`]: a pause stops sending, a resume restarts it with a keyframe, the end of
//! the session closes every connection and releases the encoder.

mod recordings;

use crate::livekit::{self, Publisher};
use crate::peer::RtcSettings;
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::screencast::Screencast;
use crate::whep::{self, Viewer};
use crate::StreamError;
use browser::session::observer::{LiveKitTarget, SessionChange, SessionObserver};
use browser::Engine;
use platform::events::{emit, room_channel, EventKind};
use platform::store::SessionStatus;
use platform::telemetry::{self, Telemetry};
use platform::{TenantId, Viewport};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// Most viewers of one room.
pub const MAX_VIEWERS_PER_ROOM: usize = 16;

/// A viewer's answer: its id (for `DELETE`) and the SDP answer.
#[derive(Debug, Clone)]
pub struct ViewerAnswer {
    /// The viewer's id.
    pub id: String,
    /// The SDP answer.
    pub sdp: String,
}

/// What one room's video is doing.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RoomVideo {
    /// Connected WHEP viewers.
    pub viewers: usize,
    /// Whether an encoder is running for the room.
    pub encoding: bool,
    /// Whether sending is paused (the session is paused).
    pub paused: bool,
    /// LiveKit publishing: `connecting`, `published`, `reconnecting`, `failed`; absent when the
    /// room is not published to LiveKit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub livekit: Option<String>,
    /// The LiveKit room the session is published to (see [`livekit::room_name`]); absent when
    /// it is not published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub livekit_room: Option<String>,
}

/// A running screencast and its encoder.
struct Source {
    screencast: Screencast,
    pipeline: Arc<Pipeline>,
    viewport: Viewport,
}

struct RoomState {
    tenant: TenantId,
    source: Option<Source>,
    viewers: HashMap<String, Viewer>,
    publisher: Option<Publisher>,
    recording: Option<crate::recording::ActiveRecording>,
    paused: watch::Sender<bool>,
}

/// One room's video state, shared by its viewers and its publisher.
type SharedRoom = Arc<tokio::sync::Mutex<RoomState>>;

/// Live video for every session of this process.
pub struct LiveVideo {
    engine: Arc<Engine>,
    settings: RtcSettings,
    /// Rooms by (tenant, room name), as sessions are.
    rooms: Mutex<HashMap<(TenantId, String), SharedRoom>>,
    /// Recordings of ended sessions being finished and stored, listed as `finishing`.
    finishing: Mutex<Vec<(TenantId, browser::session::observer::RecordingInfo)>>,
    me: Weak<LiveVideo>,
}

struct Observer(mpsc::UnboundedSender<(TenantId, String, SessionChange)>);

impl SessionObserver for Observer {
    fn session_changed(&self, tenant: &TenantId, room: &str, change: SessionChange) {
        let _ = self.0.send((tenant.clone(), room.to_string(), change));
    }
}

impl LiveVideo {
    /// Start live video for the engine's sessions.
    pub fn start(engine: Arc<Engine>) -> Arc<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let live = Arc::new_cyclic(|me| Self {
            settings: RtcSettings::from_config(&engine.platform.config),
            engine: engine.clone(),
            rooms: Mutex::new(HashMap::new()),
            finishing: Mutex::new(Vec::new()),
            me: me.clone(),
        });
        engine.sessions.observe(Arc::new(Observer(tx)));
        engine.sessions.set_publish_policy(Arc::new(
            crate::publishing::LiveKitPolicy::from_config(&engine.platform.config),
        ));
        engine
            .sessions
            .set_recorder(Arc::new(recordings::Recorder(Arc::downgrade(&live))));
        live.keep_recordings();
        let weak = Arc::downgrade(&live);
        // Changes are applied one at a time, in order.
        tokio::spawn(async move {
            while let Some((tenant, room, change)) = rx.recv().await {
                let Some(live) = weak.upgrade() else { return };
                live.apply(tenant, room, change).await;
            }
        });
        live
    }

    fn room_state(&self, tenant: &TenantId, room: &str) -> Option<SharedRoom> {
        let key = (tenant.clone(), room.to_string());
        self.rooms.lock().expect("rooms lock").get(&key).cloned()
    }

    /// The room's state, created for a session the tenant owns.
    fn room_for(
        &self,
        tenant: &TenantId,
        room: &str,
    ) -> Result<Arc<tokio::sync::Mutex<RoomState>>, StreamError> {
        let info = self.engine.sessions.info(tenant, room)?;
        let mut rooms = self.rooms.lock().expect("rooms lock");
        Ok(rooms
            .entry((tenant.clone(), room.to_string()))
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(RoomState {
                    tenant: tenant.clone(),
                    source: None,
                    viewers: HashMap::new(),
                    publisher: None,
                    recording: None,
                    paused: watch::channel(info.status == SessionStatus::Paused).0,
                }))
            })
            .clone())
    }

    /// The room's encoder and the picture size it encodes, started if it is not running.
    async fn source(
        &self,
        room: &str,
        st: &mut RoomState,
    ) -> Result<(Arc<Pipeline>, Viewport), StreamError> {
        if let Some(s) = &st.source {
            return Ok((s.pipeline.clone(), s.viewport));
        }
        let (lease, viewport, fps) = self.engine.sessions.live_page(&st.tenant, room)?;
        let screencast =
            Screencast::start(lease.page().clone(), viewport.width, viewport.height, fps).await?;
        let pipeline = Arc::new(Pipeline::start(
            screencast.frames(),
            PipelineConfig::for_size(fps, viewport.width, viewport.height),
        )?);
        pipeline.set_paused(*st.paused.borrow());
        self.engine
            .platform
            .telemetry
            .record(telemetry::EncoderChanged {
                room,
                started: true,
            });
        tracing::info!(
            room,
            width = viewport.width,
            height = viewport.height,
            fps,
            "encoder started"
        );
        st.source = Some(Source {
            screencast,
            pipeline: pipeline.clone(),
            viewport,
        });
        Ok((pipeline, viewport))
    }

    /// Stop the encoder when nothing uses it.
    async fn release_if_unused(&self, room: &str, st: &mut RoomState) {
        if st.viewers.is_empty() && st.publisher.is_none() && st.recording.is_none() {
            if let Some(src) = st.source.take() {
                stop_source(src, self.telemetry(), room).await;
            }
        }
    }

    fn telemetry(&self) -> &Telemetry {
        &self.engine.platform.telemetry
    }

    /// A WHEP viewer's offer: answer it and start sending the room's video.
    pub async fn offer(
        &self,
        tenant: &TenantId,
        room: &str,
        offer: String,
    ) -> Result<ViewerAnswer, StreamError> {
        whep::check_offer(&offer)?;
        let offer = whep::filter_candidates(&offer, &self.engine.platform.config.network);
        let state = self.room_for(tenant, room)?;
        let mut st = state.lock().await;
        if st.viewers.len() >= MAX_VIEWERS_PER_ROOM {
            return Err(StreamError::TooManyViewers(
                room.to_string(),
                MAX_VIEWERS_PER_ROOM,
            ));
        }
        let (pipeline, _) = self.source(room, &mut st).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let on_end = {
            let (me, room, id) = (self.me.clone(), room.to_string(), id.clone());
            let tenant = tenant.clone();
            move || {
                tokio::spawn(async move {
                    if let Some(me) = me.upgrade() {
                        me.remove_viewer(&tenant, &room, &id).await;
                    }
                });
            }
        };
        let span = tracing::info_span!("viewer", room, viewer = %id);
        let connected = whep::connect(
            &self.settings,
            offer,
            pipeline,
            st.paused.subscribe(),
            on_end,
        )
        .instrument(span)
        .await;
        match connected {
            Ok((viewer, sdp)) => {
                st.viewers.insert(id.clone(), viewer);
                self.engine
                    .platform
                    .telemetry
                    .record(telemetry::ViewerJoined {
                        room,
                        refused: None,
                    });
                tracing::debug!(room, viewer = %id, viewers = st.viewers.len(), "viewers");
                Ok(ViewerAnswer { id, sdp })
            }
            Err(e) => {
                self.engine
                    .platform
                    .telemetry
                    .record(telemetry::ViewerJoined {
                        room,
                        refused: Some(e.code()),
                    });
                self.release_if_unused(room, &mut st).await;
                Err(e)
            }
        }
    }

    async fn remove_viewer(&self, tenant: &TenantId, room: &str, id: &str) -> bool {
        let Some(state) = self.room_state(tenant, room) else {
            return false;
        };
        let mut st = state.lock().await;
        let Some(v) = st.viewers.remove(id) else {
            return false;
        };
        v.close().await;
        self.telemetry().record(telemetry::ViewerLeft { room });
        self.release_if_unused(room, &mut st).await;
        true
    }

    /// A viewer leaves (WHEP `DELETE`).
    pub async fn close_viewer(
        &self,
        tenant: &TenantId,
        room: &str,
        id: &str,
    ) -> Result<(), StreamError> {
        self.engine.sessions.info(tenant, room)?;
        if self.remove_viewer(tenant, room, id).await {
            Ok(())
        } else {
            Err(StreamError::ViewerNotFound(id.to_string()))
        }
    }

    /// What a room's video is doing (all zero for a room without video).
    pub async fn room(&self, tenant: &TenantId, room: &str) -> RoomVideo {
        let Some(state) = self.room_state(tenant, room) else {
            return RoomVideo::default();
        };
        let st = state.lock().await;
        let paused = *st.paused.borrow();
        RoomVideo {
            viewers: st.viewers.len(),
            encoding: st.source.is_some(),
            paused,
            livekit: st.publisher.as_ref().map(|p| p.status().to_string()),
            livekit_room: st.publisher.as_ref().map(|p| p.room().to_string()),
        }
    }

    async fn apply(&self, tenant: TenantId, room: String, change: SessionChange) {
        match change {
            SessionChange::Started { livekit, record } => {
                if record {
                    if let Err(e) = self.start_recording(&tenant, &room).await {
                        self.video_error(&tenant, &room, &e, "recording").await;
                    }
                }
                if let Err(e) = self.start_publishing(&tenant, &room, livekit).await {
                    self.video_error(&tenant, &room, &e, "livekit").await;
                }
            }
            SessionChange::Paused | SessionChange::Resumed => {
                let paused = change == SessionChange::Paused;
                if let Some(state) = self.room_state(&tenant, &room) {
                    let st = state.lock().await;
                    st.paused.send_replace(paused);
                    if let Some(src) = &st.source {
                        src.pipeline.set_paused(paused);
                    }
                }
            }
            SessionChange::Ended => {
                let key = (tenant.clone(), room.clone());
                let state = self.rooms.lock().expect("rooms lock").get(&key).cloned();
                if let Some(state) = state {
                    let mut st = state.lock().await;
                    // Listed as finishing from the moment it is no longer in its room.
                    let finishing = st.recording.as_ref().map(|r| {
                        let mut info = r.info.clone();
                        info.status = "finishing".into();
                        (tenant.clone(), info)
                    });
                    if let Some(f) = finishing.clone() {
                        self.finishing.lock().expect("finishing lock").push(f);
                    }
                    self.rooms.lock().expect("rooms lock").remove(&key);
                    let viewers = close_room(&mut st, self.telemetry(), &room).await;
                    if let Some((_, info)) = finishing {
                        let mut f = self.finishing.lock().expect("finishing lock");
                        f.retain(|(t, i)| !(*t == tenant && i.name == info.name));
                    }
                    tracing::info!(room, viewers, "session ended: video closed");
                }
            }
        }
    }

    /// A recording or a LiveKit publication (`source`) could not start: logged, and told to the
    /// room as a recoverable `browser_error`.
    async fn video_error(&self, tenant: &TenantId, room: &str, e: &StreamError, source: &str) {
        tracing::warn!(room, error = %e, source, "live video not started");
        emit(
            self.engine.platform.events.as_ref(),
            &room_channel(tenant, room),
            EventKind::BrowserError,
            serde_json::json!({"room_name": room, "reason": e.to_string(),
                "code": e.code(), "recoverable": true, "source": source}),
        )
        .await;
    }

    async fn start_publishing(
        &self,
        tenant: &TenantId,
        room: &str,
        target: Option<LiveKitTarget>,
    ) -> Result<(), StreamError> {
        let Some(target) = target else {
            return Ok(());
        };
        let conn = livekit::connection(
            self.engine.platform.config.livekit_keys.as_ref(),
            &livekit::room_name(tenant, room),
            target,
        )?;
        let state = self.room_for(tenant, room)?;
        let mut st = state.lock().await;
        if let Some(old) = st.publisher.take() {
            old.stop().await;
        }
        let (pipeline, viewport) = self.source(room, &mut st).await?;
        let publisher = Publisher::start(
            conn,
            self.settings.clone(),
            pipeline,
            st.paused.subscribe(),
            viewport.width,
            viewport.height,
        );
        st.publisher = Some(publisher);
        Ok(())
    }

    /// Close every connection and encoder (at shutdown).
    pub async fn shutdown(&self) {
        let rooms: Vec<_> = self.rooms.lock().expect("rooms lock").drain().collect();
        for ((_, room), state) in rooms {
            close_room(&mut *state.lock().await, self.telemetry(), &room).await;
            tracing::debug!(room, "video closed at shutdown");
        }
        // Recordings of sessions that ended just before (a drain hands sessions over, then
        // stops) are being stored: wait for them, so that none is left to a later start.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self.finishing.lock().expect("finishing lock").is_empty()
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// Close a room's viewers, its LiveKit publisher, its recording (stored with what was written)
/// and its encoder; how many viewers it had.
async fn close_room(st: &mut RoomState, telemetry: &Telemetry, room: &str) -> usize {
    let viewers = st.viewers.len();
    if let Some(r) = st.recording.take() {
        let info = r.finish().await;
        tracing::info!(room, name = %info.name, status = %info.status, "recording stored");
    }
    for (_, v) in st.viewers.drain() {
        v.close().await;
        telemetry.record(telemetry::ViewerLeft { room });
    }
    if let Some(p) = st.publisher.take() {
        p.stop().await;
    }
    if let Some(src) = st.source.take() {
        stop_source(src, telemetry, room).await;
    }
    viewers
}

/// Stop a screencast and join its encoder thread off the async workers.
async fn stop_source(src: Source, telemetry: &Telemetry, room: &str) {
    src.screencast.stop().await;
    let pipeline = src.pipeline;
    let _ = tokio::task::spawn_blocking(move || drop(pipeline)).await;
    telemetry.record(telemetry::EncoderChanged {
        room,
        started: false,
    });
}

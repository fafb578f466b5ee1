//! One joined LiveKit session as a state machine: the publisher and subscriber connections,
//! the published track, and one method per input the signalling loop waits for.

use super::{candidate, set, Context, End, PublishStatus};
use crate::peer::{new_peer, Peer, VideoTrack};
use crate::StreamError;
use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalEvent};
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use std::time::Duration;
use tokio::sync::watch;
use webrtc::peer_connection::{RTCIceServer, RTCPeerConnectionState, RTCSessionDescription};

/// How long the server has to publish the track after joining.
const PUBLISH_DEADLINE: Duration = Duration::from_secs(15);

/// One joined session as a state machine: the loop in [`Joined::serve`] waits for the next
/// input (a signal message, a change of the publisher connection's state, pause or resume, stop,
/// the publish deadline) and hands it to the one method that handles it; a method answers
/// `Some(end)` when the session is over.
pub(super) struct Joined<'a> {
    ctx: &'a Context,
    client: &'a SignalClient,
    ice: Vec<RTCIceServer>,
    publisher: Peer,
    /// The connection the server offers for subscribing (data channels only here).
    subscriber: Option<Peer>,
    /// The client id of the video track.
    cid: String,
    /// The track's server id, once the server published it.
    track_sid: String,
    /// Whether the publisher connection has been offered.
    offered: bool,
    /// The track until media starts flowing, then the task pumping it.
    track: Option<VideoTrack>,
    pump: Option<tokio::task::JoinHandle<()>>,
}

impl<'a> Joined<'a> {
    pub(super) fn new(
        ctx: &'a Context,
        client: &'a SignalClient,
        ice: Vec<RTCIceServer>,
        publisher: Peer,
    ) -> Self {
        Self {
            ctx,
            client,
            ice,
            publisher,
            subscriber: None,
            cid: format!("TR_{}", uuid::Uuid::new_v4().simple()),
            track_sid: String::new(),
            offered: false,
            track: None,
            pump: None,
        }
    }

    /// Add the video track to the publisher connection and ask the server to publish it.
    pub(super) async fn add_track(&mut self) -> Result<(), StreamError> {
        let track = VideoTrack::add(&self.publisher.pc, &self.cid, &self.cid).await?;
        self.track = Some(track);
        let muted = *self.ctx.paused.borrow();
        self.client
            .send(Req::AddTrack(proto::AddTrackRequest {
                cid: self.cid.clone(),
                name: "browser".into(),
                r#type: proto::TrackType::Video as i32,
                width: self.ctx.width,
                height: self.ctx.height,
                muted,
                source: proto::TrackSource::ScreenShare as i32,
                ..Default::default()
            }))
            .await;
        Ok(())
    }

    /// Wait for inputs and handle each until the session ends.
    pub(super) async fn serve(
        &mut self,
        events: &mut tokio::sync::mpsc::UnboundedReceiver<SignalEvent>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<End, StreamError> {
        let mut paused = self.ctx.paused.clone();
        let deadline = tokio::time::sleep(PUBLISH_DEADLINE);
        tokio::pin!(deadline);
        loop {
            let step = tokio::select! {
                ev = events.recv() => self.on_signal(ev).await?,
                changed = self.publisher.state.changed() => self.on_publisher_state(changed.is_ok()),
                changed = paused.changed() => {
                    if changed.is_ok() {
                        let muted = *paused.borrow_and_update();
                        self.on_pause(muted).await;
                    }
                    None
                }
                _ = stop.changed() => Some(End::Stopped),
                _ = &mut deadline, if self.track.is_some() => {
                    Some(End::Dropped("the track was not published within 15 s".into()))
                }
            };
            if let Some(end) = step {
                return Ok(end);
            }
        }
    }

    /// A signalling event from the server.
    async fn on_signal(&mut self, ev: Option<SignalEvent>) -> Result<Option<End>, StreamError> {
        let msg = match ev {
            None => return Ok(Some(End::Dropped("signal connection closed".into()))),
            Some(SignalEvent::Close(why)) => {
                return Ok(Some(End::Dropped(format!(
                    "signal connection closed: {why}"
                ))))
            }
            Some(SignalEvent::Message(m)) => *m,
        };
        match msg {
            Resp::TrackPublished(p) if p.cid == self.cid => {
                self.on_track_published(p.track.map(|t| t.sid).unwrap_or_default())
                    .await?
            }
            Resp::Answer(a) => self.on_answer(a.sdp).await?,
            Resp::Offer(o) => self.on_subscriber_offer(o).await?,
            Resp::Trickle(t) => self.on_trickle(t).await,
            Resp::Leave(l) => return Ok(Some(Self::on_leave(&l))),
            _ => {}
        }
        Ok(None)
    }

    /// The server published the track: offer the publisher connection (once).
    async fn on_track_published(&mut self, sid: String) -> Result<(), StreamError> {
        self.track_sid = sid;
        if !self.offered {
            self.offered = true;
            let sdp = self.publisher.offer().await?;
            self.client
                .send(Req::Offer(proto::SessionDescription {
                    r#type: "offer".into(),
                    sdp,
                    ..Default::default()
                }))
                .await;
        }
        Ok(())
    }

    /// The server's answer to the publisher offer.
    async fn on_answer(&mut self, sdp: String) -> Result<(), StreamError> {
        let answer = RTCSessionDescription::answer(sdp)
            .map_err(|e| StreamError::LiveKit(format!("bad answer: {e}")))?;
        self.publisher
            .pc
            .set_remote_description(answer)
            .await
            .map_err(|e| StreamError::LiveKit(format!("answer refused: {e}")))
    }

    /// The server's offer for the subscriber connection (data channels; this publisher
    /// subscribes to nothing): answer it.
    async fn on_subscriber_offer(
        &mut self,
        o: proto::SessionDescription,
    ) -> Result<(), StreamError> {
        if self.subscriber.is_none() {
            self.subscriber = Some(new_peer(&self.ctx.settings, self.ice.clone()).await?);
        }
        let sub = self.subscriber.as_mut().expect("subscriber peer");
        let offer = RTCSessionDescription::offer(o.sdp)
            .map_err(|e| StreamError::LiveKit(format!("bad offer: {e}")))?;
        sub.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| StreamError::LiveKit(format!("offer refused: {e}")))?;
        let sdp = sub.answer().await?;
        self.client
            .send(Req::Answer(proto::SessionDescription {
                r#type: "answer".into(),
                sdp,
                id: o.id,
                ..Default::default()
            }))
            .await;
        Ok(())
    }

    /// A candidate for one of the two connections.
    async fn on_trickle(&mut self, t: proto::TrickleRequest) {
        let Some(init) = candidate(&t.candidate_init) else {
            return;
        };
        let pc = if t.target == proto::SignalTarget::Subscriber as i32 {
            self.subscriber.as_ref().map(|s| s.pc.clone())
        } else {
            Some(self.publisher.pc.clone())
        };
        if let Some(pc) = pc {
            if let Err(e) = pc.add_ice_candidate(init).await {
                tracing::debug!(error = %e, "candidate not added");
            }
        }
    }

    /// The server asks to leave: for good, or to reconnect.
    fn on_leave(l: &proto::LeaveRequest) -> End {
        if l.action == proto::leave_request::Action::Disconnect as i32 && !l.can_reconnect {
            return End::Refused(format!("the server asked to leave (reason {})", l.reason));
        }
        End::Dropped("the server asked to reconnect".into())
    }

    /// The publisher connection changed state: start the media once connected.
    fn on_publisher_state(&mut self, alive: bool) -> Option<End> {
        if !alive {
            return Some(End::Dropped("publisher connection gone".into()));
        }
        let state = *self.publisher.state.borrow_and_update();
        match state {
            RTCPeerConnectionState::Connected => {
                self.start_media();
                None
            }
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                Some(End::Dropped(format!("publisher connection {state}")))
            }
            _ => None,
        }
    }

    /// Start pumping the pipeline's samples into the track (once).
    fn start_media(&mut self) {
        let Some(track) = self.track.take() else {
            return;
        };
        set(&self.ctx.status, PublishStatus::Published);
        tracing::info!(track = %self.track_sid, "publishing to LiveKit");
        let pipeline = self.ctx.pipeline.clone();
        let samples = pipeline.subscribe();
        let paused = self.ctx.paused.clone();
        self.pump = Some(tokio::spawn(async move {
            if let Err(e) = track.pump(pipeline, samples, paused).await {
                tracing::debug!(error = %e, "LiveKit track stopped");
            }
        }));
    }

    /// The session was paused or resumed: mute or unmute the published track.
    async fn on_pause(&mut self, muted: bool) {
        if self.track_sid.is_empty() {
            return;
        }
        self.client
            .send(Req::Mute(proto::MuteTrackRequest {
                sid: self.track_sid.clone(),
                muted,
            }))
            .await;
    }

    /// Stop the media and close both connections.
    pub(super) async fn close(self) {
        if let Some(p) = self.pump {
            p.abort();
        }
        let _ = self.publisher.pc.close().await;
        if let Some(s) = self.subscriber {
            let _ = s.pc.close().await;
        }
    }
}

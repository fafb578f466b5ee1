//! WebRTC peers (webrtc-rs) that send one H.264 video track: the settings every peer shares,
//! building a peer, and pumping a pipeline's samples into its track.

use crate::pipeline::{Pipeline, Sample};
use crate::rtp_clock::RtpClock;
use crate::StreamError;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::Track;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

/// H.264 constrained baseline, packetization mode 1: what OpenH264 produces and every browser
/// decodes.
pub const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// How long gathering local candidates may take.
const GATHER_WITHIN: Duration = Duration::from_secs(5);

/// Keyframe requests closer together than this are answered once.
const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(500);

/// Settings shared by every peer of this process.
#[derive(Debug, Clone)]
pub struct RtcSettings {
    /// Local UDP addresses to bind (`0.0.0.0:0`: every non-loopback interface).
    pub udp_addrs: Vec<String>,
    /// STUN/TURN server URLs offered to ICE.
    pub ice_servers: Vec<String>,
}

impl RtcSettings {
    /// From the engine's configuration (`WEBRTC_UDP_ADDRS`, `WEBRTC_ICE_SERVERS`).
    pub fn from_config(config: &platform::Config) -> Self {
        Self {
            udp_addrs: config.webrtc_udp_addrs.clone(),
            ice_servers: config.webrtc_ice_servers.clone(),
        }
    }
}

fn rtc_error(what: &str, e: impl std::fmt::Display) -> StreamError {
    StreamError::WebRtc(format!("{what}: {e}"))
}

/// The H.264 codec this crate sends.
pub(crate) fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: rtc::peer_connection::configuration::media_engine::MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        rtcp_feedback: vec![
            RTCPFeedback {
                typ: "nack".into(),
                parameter: String::new(),
            },
            RTCPFeedback {
                typ: "nack".into(),
                parameter: "pli".into(),
            },
            RTCPFeedback {
                typ: "ccm".into(),
                parameter: "fir".into(),
            },
        ],
    }
}

/// What a peer reports back besides its connection state.
#[derive(Debug)]
pub(crate) enum PeerEvent {
    /// Every local candidate is in the local description.
    Gathered,
}

struct Handler {
    events: mpsc::UnboundedSender<PeerEvent>,
    state: watch::Sender<RTCPeerConnectionState>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.events.send(PeerEvent::Gathered);
        }
    }

    async fn on_ice_candidate(&self, _event: RTCPeerConnectionIceEvent) {}

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }
}

/// A peer with its event stream.
pub(crate) struct Peer {
    pub pc: Arc<dyn PeerConnection>,
    pub events: mpsc::UnboundedReceiver<PeerEvent>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
}

/// Build a peer: H.264 only, multicast DNS off (servers and loopback have no use for it), the
/// configured addresses and ICE servers plus `extra_ice` (from a LiveKit join).
pub(crate) async fn new_peer(
    settings: &RtcSettings,
    extra_ice: Vec<RTCIceServer>,
) -> Result<Peer, StreamError> {
    let mut media = MediaEngine::default();
    media
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: h264(),
                payload_type: 102,
            },
            RtpCodecKind::Video,
        )
        .map_err(|e| rtc_error("codec", e))?;
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(|e| rtc_error("interceptors", e))?
        // Last in the chain: every interceptor has seen the inbound RTCP first.
        .with(
            rtc::interceptor::Slot::from(14_000),
            crate::keyframes::KeyframeRequests::default(),
        );
    let mut ice: Vec<RTCIceServer> = settings
        .ice_servers
        .iter()
        .map(|u| RTCIceServer {
            urls: vec![u.clone()],
            ..Default::default()
        })
        .collect();
    ice.extend(extra_ice);
    let config = RTCConfigurationBuilder::new().with_ice_servers(ice).build();
    let setting = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .build();
    let (tx, events) = mpsc::unbounded_channel();
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let runtime = webrtc::runtime::default_runtime()
        .ok_or_else(|| StreamError::WebRtc("no async runtime for WebRTC".into()))?;
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(setting)
        .with_handler(Arc::new(Handler {
            events: tx,
            state: state_tx,
        }))
        .with_runtime(runtime)
        .with_udp_addrs(settings.udp_addrs.clone())
        .build()
        .await
        .map_err(|e| rtc_error("peer connection", e))?;
    Ok(Peer {
        pc: Arc::new(pc),
        events,
        state,
    })
}

impl Peer {
    /// Set `desc` as the local description and wait until every candidate is gathered: the SDP
    /// to send (no trickle).
    async fn local_sdp(&mut self, desc: RTCSessionDescription) -> Result<String, StreamError> {
        self.pc
            .set_local_description(desc)
            .await
            .map_err(|e| rtc_error("local description", e))?;
        let wait = async { matches!(self.events.recv().await, Some(PeerEvent::Gathered)) };
        if !matches!(tokio::time::timeout(GATHER_WITHIN, wait).await, Ok(true)) {
            return Err(StreamError::WebRtc(
                "ICE candidates were not gathered".into(),
            ));
        }
        Ok(self
            .pc
            .local_description()
            .await
            .ok_or_else(|| StreamError::WebRtc("no local description".into()))?
            .sdp)
    }

    /// Make an offer: its SDP, every candidate included.
    pub async fn offer(&mut self) -> Result<String, StreamError> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(|e| rtc_error("offer", e))?;
        self.local_sdp(offer).await
    }

    /// Answer the remote offer already set: the answer's SDP, every candidate included.
    pub async fn answer(&mut self) -> Result<String, StreamError> {
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(|e| StreamError::InvalidOffer(format!("no answer to this offer: {e}")))?;
        self.local_sdp(answer).await
    }
}

/// A video track added to a peer.
pub(crate) struct VideoTrack {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
}

impl VideoTrack {
    /// Add an H.264 track to `pc`.
    pub async fn add(
        pc: &Arc<dyn PeerConnection>,
        stream_id: &str,
        track_id: &str,
    ) -> Result<Self, StreamError> {
        let ssrc = rand_ssrc();
        let track = Arc::new(
            TrackLocalStaticSample::new(
                Instant::now(),
                MediaStreamTrack::new(
                    stream_id.to_string(),
                    track_id.to_string(),
                    "browser".to_string(),
                    RtpCodecKind::Video,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(ssrc),
                            ..Default::default()
                        },
                        codec: h264(),
                        ..Default::default()
                    }],
                ),
            )
            .map_err(|e| rtc_error("track", e))?,
        );
        let sender = pc
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(|e| rtc_error("add track", e))?;
        Ok(Self { track, sender })
    }

    /// Send samples from `samples` until it closes, `stop` turns true, or a write fails.
    /// While `paused` is true nothing is sent; after a gap the pump waits for a keyframe.
    pub async fn pump(
        self,
        pipeline: Arc<Pipeline>,
        mut samples: broadcast::Receiver<Sample>,
        mut paused: watch::Receiver<bool>,
    ) -> Result<(), StreamError> {
        let params = self
            .sender
            .get_parameters()
            .await
            .map_err(|e| rtc_error("sender parameters", e))?;
        let payload_type = params
            .rtp_parameters
            .codecs
            .first()
            .map(|c| c.payload_type)
            .ok_or_else(|| StreamError::WebRtc("no codec was negotiated".into()))?;
        let ssrc = *self
            .track
            .ssrcs()
            .await
            .first()
            .ok_or_else(|| StreamError::WebRtc("track has no SSRC".into()))?;
        let mut need_keyframe = true;
        let mut clock = RtpClock::default();
        let mut last_request = Instant::now() - KEYFRAME_REQUEST_GAP;
        let mut feedback = true;
        loop {
            let sample = tokio::select! {
                s = samples.recv() => s,
                ev = self.track.poll(), if feedback => {
                    let Some(TrackLocalEvent::OnRtcpPacket(packets)) = ev else {
                        feedback = false;
                        continue;
                    };
                    // Answer keyframe requests, at most one per gap (a viewer repeats them).
                    if packets.iter().any(|p| crate::keyframes::is_keyframe_request(p.as_ref()))
                        && last_request.elapsed() >= KEYFRAME_REQUEST_GAP
                    {
                        last_request = Instant::now();
                        tracing::debug!("keyframe requested by the viewer");
                        pipeline.request_keyframe();
                    }
                    continue;
                }
                changed = paused.changed() => {
                    if changed.is_err() { return Ok(()); }
                    need_keyframe = true;
                    continue;
                }
            };
            let sample = match sample {
                Ok(s) => s,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    need_keyframe = true;
                    pipeline.request_keyframe();
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
            if *paused.borrow() {
                continue;
            }
            if need_keyframe && !sample.frame.keyframe {
                pipeline.request_keyframe();
                continue;
            }
            need_keyframe = false;
            self.write_stamped(&mut clock, &sample, ssrc, payload_type)
                .await?;
        }
    }

    /// Write a sample stamped with its capture time: the clock is moved on by the time since the
    /// previous frame's capture (an empty sample: no packet), then the frame is written without
    /// moving it further.
    async fn write_stamped(
        &self,
        clock: &mut RtpClock,
        sample: &Sample,
        ssrc: u32,
        payload_type: u8,
    ) -> Result<(), StreamError> {
        let step = clock.advance(sample.captured);
        let writer = || self.track.sample_writer(ssrc, payload_type);
        if !step.is_zero() {
            let skip = rtc::media::Sample {
                duration: step,
                ..rtc::media::Sample::new(sample.captured)
            };
            writer()
                .write_sample(&skip)
                .await
                .map_err(|e| rtc_error("advance the clock", e))?;
        }
        let out = rtc::media::Sample {
            data: bytes::Bytes::copy_from_slice(&sample.frame.data),
            duration: Duration::ZERO,
            ..rtc::media::Sample::new(sample.captured)
        };
        writer()
            .write_sample(&out)
            .await
            .map_err(|e| rtc_error("write sample", e))
    }
}

fn rand_ssrc() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() as u32).max(1)
}

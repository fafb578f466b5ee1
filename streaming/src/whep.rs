//! WHEP viewers (WebRTC-HTTP Egress Protocol): a viewer posts an SDP offer, the service answers
//! with every candidate in the answer (no trickle), then sends the session's video until the
//! viewer leaves, its connection fails, or the session ends.

use crate::peer::{new_peer, RtcSettings, VideoTrack};
use crate::pipeline::Pipeline;
use crate::StreamError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState, RTCSessionDescription};

/// The built-in viewer page: plays a room's video over WHEP in any browser, with no external
/// script; exposes its connection state and inbound video statistics as `window.viewer`.
pub const VIEWER_PAGE: &str = include_str!("viewer.html");

/// Largest SDP offer accepted.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;

/// How long a connection may take to come up before the viewer is dropped.
const CONNECT_WITHIN: Duration = Duration::from_secs(20);

/// One connected viewer.
pub(crate) struct Viewer {
    pc: Arc<dyn PeerConnection>,
    task: tokio::task::JoinHandle<()>,
}

impl Viewer {
    /// Close the viewer's connection.
    pub async fn close(self) {
        self.task.abort();
        let _ = self.pc.close().await;
    }
}

/// Check that an offer is an SDP offer with a video section.
pub fn check_offer(sdp: &str) -> Result<(), StreamError> {
    if sdp.len() > MAX_OFFER_BYTES {
        return Err(StreamError::InvalidOffer(format!(
            "larger than {MAX_OFFER_BYTES} bytes"
        )));
    }
    if !sdp.starts_with("v=0") {
        return Err(StreamError::InvalidOffer(
            "not an SDP offer (it must start with v=0)".into(),
        ));
    }
    if !sdp.lines().any(|l| l.starts_with("m=video")) {
        return Err(StreamError::InvalidOffer(
            "the offer has no video section (add a recvonly video transceiver)".into(),
        ));
    }
    Ok(())
}

/// The offer without the ICE candidates the network policy refuses: an address that is not
/// allowed, or a name (an mDNS `.local` name the service would have to resolve). Otherwise a
/// viewer's offer could make the service send UDP to any address; a viewer whose candidates are
/// all dropped still connects through the peer-reflexive candidates its own checks reveal.
pub fn filter_candidates(sdp: &str, policy: &platform::netguard::NetPolicy) -> String {
    let keep = |line: &str| {
        let Some(rest) = line.strip_prefix("a=candidate:") else {
            return true;
        };
        rest.split_whitespace()
            .nth(4)
            .and_then(|addr| addr.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| policy.allows_ip(ip))
    };
    let mut out: String = sdp
        .split_inclusive('\n')
        .filter(|l| keep(l.trim_end()))
        .collect();
    if !sdp.ends_with('\n') && out.ends_with('\n') && !out.is_empty() {
        out.pop();
    }
    out
}

/// Answer a viewer's offer (checked with [`check_offer`] by the caller) and start sending. `on_end` runs once when the viewer's connection
/// ends by itself (failed, closed by the viewer, never connected).
pub(crate) async fn connect(
    settings: &RtcSettings,
    offer: String,
    pipeline: Arc<Pipeline>,
    paused: watch::Receiver<bool>,
    on_end: impl FnOnce() + Send + 'static,
) -> Result<(Viewer, String), StreamError> {
    let mut peer = new_peer(settings, Vec::new()).await?;
    let result = async {
        let track = VideoTrack::add(&peer.pc, "browser-session", "video").await?;
        let offer = RTCSessionDescription::offer(offer)
            .map_err(|e| StreamError::InvalidOffer(e.to_string()))?;
        peer.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| StreamError::InvalidOffer(e.to_string()))?;
        let sdp = peer.answer().await?;
        Ok::<_, StreamError>((track, sdp))
    }
    .await;
    let (track, sdp) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = peer.pc.close().await;
            return Err(e);
        }
    };
    let pc = peer.pc.clone();
    let mut state = peer.state.clone();
    let task = tokio::spawn(async move {
        let connected = tokio::time::timeout(CONNECT_WITHIN, async {
            loop {
                let s = *state.borrow_and_update();
                match s {
                    RTCPeerConnectionState::Connected => return true,
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        return false
                    }
                    _ => {}
                }
                if state.changed().await.is_err() {
                    return false;
                }
            }
        })
        .await
        .unwrap_or(false);
        if connected {
            tracing::debug!("viewer connected");
            let samples = pipeline.subscribe();
            let ended = async {
                loop {
                    if state.changed().await.is_err() {
                        return;
                    }
                    if matches!(
                        *state.borrow(),
                        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                    ) {
                        return;
                    }
                }
            };
            tokio::select! {
                r = track.pump(pipeline.clone(), samples, paused) => {
                    if let Err(e) = r { tracing::debug!(error = %e, "viewer stopped"); }
                }
                _ = ended => {}
            }
        }
        drop(pipeline);
        on_end();
    });
    Ok((Viewer { pc, task }, sdp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_on_refused_addresses_are_dropped() {
        let offer = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
            a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n\
            a=candidate:2 1 udp 2122260223 10.1.2.3 50001 typ host\r\n\
            a=candidate:3 1 udp 2122260223 169.254.169.254 53 typ host\r\n\
            a=candidate:4 1 udp 2122260223 abcd-1234.local 50002 typ host\r\n\
            a=candidate:5 1 udp 1686052607 93.184.216.34 50003 typ srflx raddr 0.0.0.0 rport 0\r\n\
            a=end-of-candidates\r\n";
        let strict = platform::netguard::NetPolicy::default();
        let kept = filter_candidates(offer, &strict);
        assert!(kept.contains("93.184.216.34"), "{kept}");
        for gone in ["127.0.0.1", "10.1.2.3", "169.254.169.254", ".local"] {
            assert!(!kept.contains(gone), "{gone} kept: {kept}");
        }
        assert!(kept.starts_with("v=0\r\nm=video") && kept.ends_with("a=end-of-candidates\r\n"));
        // Loopback viewers work when loopback is allowed.
        let loopback = platform::netguard::NetPolicy::parse("127.0.0.1").unwrap();
        assert!(filter_candidates(offer, &loopback).contains("127.0.0.1 50000"));
    }

    #[test]
    fn offers_are_checked_before_any_peer_is_built() {
        assert!(check_offer("hello").is_err());
        assert!(check_offer(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        )
        .is_err());
        assert!(check_offer(&format!("v=0\r\n{}", "a=x\r\n".repeat(20_000))).is_err());
        assert!(check_offer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n").is_ok());
    }
}

//! The RTP clock of one viewer's video track: every frame is stamped with the time it was
//! captured. webrtc-rs stamps a sample with the track's running timestamp and then advances it by
//! the sample's duration, so a frame's stamp would be the previous frame's time plus the previous
//! gap: after a pause or a still page, the first frames are stamped a whole gap off and the
//! viewer holds them for seconds. Here each frame is written with no duration of its own, after
//! an empty sample that advances the clock (no packet, no sequence number) by exactly the time
//! since the previous frame's capture, counted in whole ticks from the first frame so that
//! rounding never accumulates.

use std::time::{Duration, Instant};

/// RTP ticks per second of video (RFC 6184).
pub const VIDEO_CLOCK_RATE: u64 = 90_000;

/// The capture times of the frames sent so far, as RTP ticks.
#[derive(Debug, Default)]
pub struct RtpClock {
    first: Option<Instant>,
    ticks: u64,
}

impl RtpClock {
    /// How far to advance the track's clock before sending the frame captured at `captured`:
    /// zero for the first frame (and for a frame not after the previous one).
    pub fn advance(&mut self, captured: Instant) -> Duration {
        let first = *self.first.get_or_insert(captured);
        let at = captured.saturating_duration_since(first);
        let ticks = (at.as_nanos() * VIDEO_CLOCK_RATE as u128 / 1_000_000_000) as u64;
        let step = ticks.saturating_sub(self.ticks);
        self.ticks = self.ticks.max(ticks);
        ticks_duration(step)
    }
}

/// A duration webrtc-rs turns back into exactly `ticks` (it truncates `seconds * rate`, so half a
/// tick is added against floating-point error).
pub fn ticks_duration(ticks: u64) -> Duration {
    if ticks == 0 {
        return Duration::ZERO;
    }
    let nanos = ticks as u128 * 1_000_000_000 / VIDEO_CLOCK_RATE as u128;
    Duration::from_nanos(nanos as u64 + 5_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What webrtc-rs does with a sample's duration.
    fn as_ticks(d: Duration) -> u64 {
        (d.as_secs_f64() * VIDEO_CLOCK_RATE as f64) as u64
    }

    #[test]
    fn each_frame_is_stamped_at_its_capture_time() {
        let t0 = Instant::now();
        let mut clock = RtpClock::default();
        let mut stamp = 0u64;
        let mut stamps = Vec::new();
        // Frames 100 ms apart, a 5 s pause, then frames again, and odd gaps.
        let times = [0, 100, 200, 5_200, 5_300, 5_333, 5_366, 6_366];
        for ms in times {
            stamp += as_ticks(clock.advance(t0 + Duration::from_millis(ms)));
            stamps.push(stamp);
        }
        let expected: Vec<u64> = times.iter().map(|ms| ms * 90).collect();
        assert_eq!(stamps, expected);
    }

    #[test]
    fn rounding_never_accumulates_and_time_never_runs_back() {
        let t0 = Instant::now();
        let mut clock = RtpClock::default();
        let mut stamp = 0u64;
        for i in 0..10_000u64 {
            // 30 fps: 33.333... ms, not a whole number of ticks per frame in milliseconds.
            let at = t0 + Duration::from_nanos(i * 1_000_000_000 / 30);
            stamp += as_ticks(clock.advance(at));
        }
        assert_eq!(stamp, 9_999 * 3_000);
        assert_eq!(clock.advance(t0), Duration::ZERO);
    }
}

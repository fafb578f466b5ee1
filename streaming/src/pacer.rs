//! When to encode: at most the session's frame rate; a frame only when the page changed, and
//! when it is still, the last picture again only as often as viewers need (a keep-alive, so
//! decoders and jitter buffers do not stall), not at the full frame rate.

use std::time::{Duration, Instant};

/// What the encoder should do at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Encode the new frame.
    Encode,
    /// Encode the last frame again (the page is still).
    Repeat,
    /// Nothing to send.
    Idle,
}

/// Paces one session's frames.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    keep_alive: Duration,
    last_sent: Option<Instant>,
}

impl Pacer {
    /// At most `fps` frames per second; a still page repeats its picture every `keep_alive`.
    pub fn new(fps: u32, keep_alive: Duration) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / fps.max(1) as f64),
            keep_alive,
            last_sent: None,
        }
    }

    /// Time between ticks.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Decide at `now` whether to send, given whether a new frame arrived since the last send
    /// and whether there is any frame at all.
    pub fn step(&mut self, now: Instant, new_frame: bool, have_frame: bool) -> Step {
        let since = self.last_sent.map(|t| now.saturating_duration_since(t));
        // Allow a tenth of an interval early (timer jitter), so ticks at the frame interval are
        // not skipped, yet a faster source is not sent faster than the frame rate.
        let due = since.is_none_or(|s| s + self.interval / 10 >= self.interval);
        let step = if new_frame && due {
            Step::Encode
        } else if have_frame && since.is_some_and(|s| s >= self.keep_alive) {
            Step::Repeat
        } else {
            Step::Idle
        };
        if step != Step::Idle {
            self.last_sent = Some(now);
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moving_page_is_sent_at_the_frame_rate_and_a_still_one_rarely() {
        let mut p = Pacer::new(10, Duration::from_secs(1));
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // A page that changes every 16 ms (60 Hz): 10 frames per second are sent.
        let sent = (0..60)
            .filter(|i| p.step(at(i * 1000 / 60), true, true) != Step::Idle)
            .count();
        assert!((9..=11).contains(&sent), "{sent}");
        // Still for three seconds, ticked at the frame rate: one repeat per second.
        let repeats: Vec<Step> = (1..=30)
            .map(|i| p.step(at(1000 + i * 100), false, true))
            .filter(|s| *s != Step::Idle)
            .collect();
        assert_eq!(repeats, vec![Step::Repeat; 3]);
        // Nothing yet: nothing to send.
        let mut q = Pacer::new(10, Duration::from_secs(1));
        assert_eq!(q.step(at(5000), false, false), Step::Idle);
    }
}

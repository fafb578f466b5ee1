//! The action track of a recording, as WebVTT: one cue per action (what was done, where), at the
//! recording's time. Written as the session runs, so a crash keeps what happened until then;
//! muxed into the MP4 as a subtitle track when the recording ends.

use std::io::Write;
use std::path::Path;

/// How long an action's cue shows.
const CUE_MS: u64 = 2000;

/// `HH:MM:SS.mmm`.
pub fn timestamp(ms: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// One cue: shown from `at_ms` for two seconds; the text on one line, with nothing in it that
/// WebVTT would read as markup or as the end of the cue.
pub fn cue(at_ms: u64, text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace("-->", "->")
        .replace('&', "&amp;")
        .replace('<', "&lt;");
    format!(
        "{} --> {}\n{}\n\n",
        timestamp(at_ms),
        timestamp(at_ms + CUE_MS),
        clean.trim()
    )
}

/// The action track being written.
pub struct VttWriter {
    file: std::fs::File,
    /// Cues written.
    pub cues: u32,
}

impl VttWriter {
    /// Create the file with its header.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let mut file = std::fs::File::create(path)?;
        file.write_all(b"WEBVTT\n\n")?;
        Ok(Self { file, cues: 0 })
    }

    /// Add a cue and flush it to disk.
    pub fn add(&mut self, at_ms: u64, text: &str) -> std::io::Result<()> {
        self.file.write_all(cue(at_ms, text).as_bytes())?;
        self.file.flush()?;
        self.cues += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_are_timed_and_cannot_break_the_track() {
        assert_eq!(timestamp(3_723_004), "01:02:03.004");
        assert_eq!(
            cue(5_250, "click <b>Submit</b> --> http://a.test/?x=1&y=2\nnext"),
            "00:00:05.250 --> 00:00:07.250\nclick &lt;b>Submit&lt;/b> -> http://a.test/?x=1&amp;y=2 next\n\n"
        );
    }
}

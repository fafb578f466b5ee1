//! Session recordings: an MP4 (H.264, fragmented while written) of a session's video with its
//! actions as a subtitle track, kept in the file store and listed per room. [`recorder`] writes
//! one, [`store`] keeps, lists, recovers and expires them; [`mp4`], [`ivf`] and [`vtt`] are the
//! formats on the way.

pub mod ivf;
pub mod mp4;
pub mod recorder;
pub mod store;
pub mod vtt;

pub use recorder::{ActiveRecording, Inputs};

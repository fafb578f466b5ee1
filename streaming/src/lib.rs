//! Live video of sessions (screencast, H.264, WebRTC, LiveKit): not built yet. The crate exists so
//! the workspace has the layout the architecture fixes; it exports nothing.

//! What travels between control planes and workers: a command in an envelope, and its answer.

use browser::session::actions::{ActionFields, ActionKind};
use browser::session::screen::ScreenOptions;
use browser::session::{Carried, StartOptions};
use platform::error::{Code, EngineError};
use platform::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One session call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// `start_browser_session`.
    Start {
        /// Its options.
        options: StartOptions,
    },
    /// `pause_browser_session`.
    Pause,
    /// `resume_browser_session`.
    Resume,
    /// `close_browser_session`.
    Close,
    /// `recover_browser_session`.
    Recover,
    /// Take over a session another worker handed over, with what it carried along.
    TakeOver {
        /// Its LiveKit target.
        #[serde(default)]
        carried: Carried,
    },
    /// `execute_action`.
    Execute {
        /// The action.
        kind: ActionKind,
        /// Its fields.
        fields: ActionFields,
    },
    /// `get_browser_context`.
    Context,
    /// `get_screen_content`.
    Screen {
        /// Its options.
        options: ScreenOptions,
    },
    /// A WHEP viewer's offer for the session's live video.
    WhepOffer {
        /// The SDP offer.
        sdp: String,
    },
    /// A WHEP viewer leaves.
    WhepClose {
        /// The viewer's id.
        viewer: String,
    },
    /// `start_recording`.
    StartRecording,
    /// `stop_recording`.
    StopRecording,
    /// `list_recordings` of a room a worker holds (the one being written is listed there).
    Recordings,
}

impl Call {
    /// The call's name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start { .. } => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Close => "close",
            Self::Recover => "recover",
            Self::TakeOver { .. } => "take_over",
            Self::Execute { .. } => "execute",
            Self::Context => "context",
            Self::Screen { .. } => "screen",
            Self::WhepOffer { .. } => "whep_offer",
            Self::WhepClose { .. } => "whep_close",
            Self::StartRecording => "start_recording",
            Self::StopRecording => "stop_recording",
            Self::Recordings => "recordings",
        }
    }
}

/// A command: a call for one tenant's room, who waits for it, and until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Correlates the answer.
    pub id: String,
    /// The channel the answer goes to.
    pub reply_to: String,
    /// Whose session.
    pub tenant: TenantId,
    /// The room.
    pub room: String,
    /// What to do.
    pub call: Call,
    /// Milliseconds since the Unix epoch after which nobody waits for the answer any more.
    pub deadline_ms: u64,
    /// How many workers passed it on already (a moved session's commands are forwarded once).
    #[serde(default)]
    pub hops: u8,
}

/// An error as it crosses processes: its code and message, unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// The code.
    pub code: Code,
    /// The message.
    pub message: String,
}

/// The answer to an [`Envelope`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// The envelope's id.
    pub id: String,
    /// The result, as the tool's structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Value>,
    /// Or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
}

impl Reply {
    /// The answer carrying `result`.
    pub fn of(id: String, result: Result<Value, EngineError>) -> Self {
        match result {
            Ok(v) => Self {
                id,
                ok: Some(v),
                error: None,
            },
            Err(e) => Self {
                id,
                ok: None,
                error: Some(WireError {
                    code: e.code(),
                    message: e.to_string(),
                }),
            },
        }
    }

    /// The result it carries: an error comes back with the code and message it left with.
    pub fn into_result(self) -> Result<Value, EngineError> {
        match (self.ok, self.error) {
            (_, Some(e)) => Err(EngineError::Remote {
                code: e.code,
                message: e.message,
            }),
            (Some(v), None) => Ok(v),
            (None, None) => Ok(Value::Null),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_crosses_with_its_code_and_message_unchanged() {
        let e = EngineError::SessionNotFound("r1".into());
        let reply = Reply::of("1".into(), Err(e.clone()));
        let json = serde_json::to_string(&reply).unwrap();
        let back: Reply = serde_json::from_str(&json).unwrap();
        let got = back.into_result().unwrap_err();
        assert_eq!(got.code(), e.code());
        assert_eq!(got.to_string(), e.to_string());
    }

    #[test]
    fn an_action_travels_with_its_fields() {
        let call = Call::Execute {
            kind: ActionKind::Click,
            fields: ActionFields {
                selector: Some("#go".into()),
                ..Default::default()
            },
        };
        let json = serde_json::to_value(&call).unwrap();
        assert_eq!(json["call"], "execute");
        let back: Call = serde_json::from_value(json).unwrap();
        match back {
            Call::Execute { kind, fields } => {
                assert_eq!(kind, ActionKind::Click);
                assert_eq!(fields.selector.as_deref(), Some("#go"));
            }
            other => panic!("{other:?}"),
        }
    }
}

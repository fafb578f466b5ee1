//! Chromium's DevTools errors as the service's errors.

use chromiumoxide::error::CdpError;
use platform::EngineError;

/// The service's error for a DevTools failure: a timeout, a script exception, a lost connection
/// (the browser is unavailable) or any other error Chromium answered with.
pub fn cdp_error(e: CdpError) -> EngineError {
    match e {
        CdpError::Timeout => EngineError::Timeout("Chromium did not answer in time".into()),
        CdpError::JavascriptException(ex) => EngineError::Script(
            ex.exception
                .as_ref()
                .and_then(|o| o.description.clone())
                .unwrap_or_else(|| ex.text.clone()),
        ),
        CdpError::Ws(_) | CdpError::ChannelSendError(_) | CdpError::NoResponse => {
            EngineError::BrowserUnavailable(e.to_string())
        }
        other => EngineError::Browser(other.to_string()),
    }
}

/// `.cdp()` on a DevTools result turns its error into the service's.
pub trait CdpResult<T> {
    /// The result with the service's error.
    fn cdp(self) -> Result<T, EngineError>;
}

impl<T> CdpResult<T> for Result<T, CdpError> {
    fn cdp(self) -> Result<T, EngineError> {
        self.map_err(cdp_error)
    }
}

//! The actions an agent can take on a session's page, with their flat request shape and the
//! validation that turns a request into a typed action.

use super::driver::PageState;

mod input;
mod navigation;
mod wait;

use super::keys::{parse_keys, Chord};
use chromiumoxide::Page;
use platform::egress::Refusals;
use platform::error::{EngineError, Result};
use platform::netguard::{self, NetPolicy};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;

/// The action names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Load a URL.
    Navigate,
    /// Click an element (by `selector` or `ref`) or a point (`x`, `y`).
    Click,
    /// Type `text` into an element (by `selector` or `ref`) or the focused one.
    Type,
    /// Scroll by `delta_x`/`delta_y` (default: one screen down), or scroll an element into view.
    Scroll,
    /// Wait for an element, for `text` to appear, for `timeout_ms`, or for the page to load.
    Wait,
    /// Go back one entry in the session's history.
    GoBack,
    /// Reload the page.
    Refresh,
    /// Press keys: `Enter`, `Tab`, `Control+A`, several separated by spaces.
    SendKeys,
}

impl ActionKind {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Navigate => "navigate",
            Self::Click => "click",
            Self::Type => "type",
            Self::Scroll => "scroll",
            Self::Wait => "wait",
            Self::GoBack => "go_back",
            Self::Refresh => "refresh",
            Self::SendKeys => "send_keys",
        }
    }
}

/// An action request with its fields flat, as agents send it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionFields {
    /// `navigate`: the URL to load (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `click`, `type`, `scroll`, `wait`: a CSS selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// `click`, `type`, `scroll`, `wait`: an element reference from `get_screen_content` (e.g. `e12`).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub element_ref: Option<String>,
    /// `click`: viewport x coordinate in CSS pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    /// `click`: viewport y coordinate in CSS pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    /// `type`: the text to type; `wait`: text to wait for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `type`: replace the field's current value instead of appending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<bool>,
    /// `send_keys`: keys like `Enter`, `Tab`, `Control+A`, several separated by spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    /// `scroll`: horizontal pixels (positive scrolls right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_x: Option<f64>,
    /// `scroll`: vertical pixels (positive scrolls down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_y: Option<f64>,
    /// `wait`: how long to wait, or the most to wait for a condition (default 10000, at most 60000);
    /// `navigate`, `go_back`, `refresh`: the load timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// Where a click or typing goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A CSS selector.
    Selector(String),
    /// An element reference from the screen content.
    Ref(String),
    /// A point in the viewport.
    Point(f64, f64),
}

/// What `wait` waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// An element to be present and visible.
    Element(Target),
    /// Text to appear in the page.
    Text(String),
    /// A fixed time.
    Time(Duration),
    /// The document to finish loading.
    Load,
}

/// A validated action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Load a URL.
    Navigate(url::Url),
    /// Click.
    Click(Target),
    /// Type text.
    Type {
        /// Into which element (`None`: the focused one).
        target: Option<Target>,
        /// What to type.
        text: String,
        /// Replace the current value.
        clear: bool,
    },
    /// Scroll.
    Scroll {
        /// An element to scroll into view instead of scrolling by deltas.
        target: Option<Target>,
        /// Horizontal pixels.
        dx: f64,
        /// Vertical pixels.
        dy: f64,
    },
    /// Wait.
    Wait(WaitFor, Duration),
    /// Back one history entry.
    GoBack,
    /// Reload.
    Refresh,
    /// Press keys.
    SendKeys(Vec<Chord>),
}

const MAX_WAIT: Duration = Duration::from_secs(60);
const DEFAULT_WAIT: Duration = Duration::from_secs(10);

fn element_target(f: &ActionFields) -> Result<Option<Target>> {
    match (&f.selector, &f.element_ref) {
        (Some(_), Some(_)) => Err(EngineError::InvalidRequest(
            "give `selector` or `ref`, not both".into(),
        )),
        (Some(s), None) if s.trim().is_empty() => {
            Err(EngineError::InvalidRequest("`selector` is empty".into()))
        }
        (Some(s), None) => Ok(Some(Target::Selector(s.clone()))),
        (None, Some(r)) => Ok(Some(Target::Ref(r.trim().to_string()))),
        (None, None) => Ok(None),
    }
}

impl Action {
    /// Check a request's fields and build the action.
    pub fn parse(kind: ActionKind, f: &ActionFields) -> Result<Self> {
        let need = |field: &str| {
            EngineError::InvalidRequest(format!("`{}` needs `{field}`", kind.as_str()))
        };
        let timeout = f.timeout_ms.map(Duration::from_millis);
        if let Some(t) = timeout {
            if t > MAX_WAIT {
                return Err(EngineError::InvalidRequest(format!(
                    "`timeout_ms` may be at most {}",
                    MAX_WAIT.as_millis()
                )));
            }
        }
        Ok(match kind {
            ActionKind::Navigate => {
                let url = f.url.as_deref().ok_or_else(|| need("url"))?;
                Action::Navigate(netguard::parse_target(url)?)
            }
            ActionKind::Click => match (element_target(f)?, f.x, f.y) {
                (Some(t), None, None) => Action::Click(t),
                (None, Some(x), Some(y))
                    if x.is_finite() && y.is_finite() && x >= 0.0 && y >= 0.0 =>
                {
                    Action::Click(Target::Point(x, y))
                }
                (None, Some(_), Some(_)) => {
                    return Err(EngineError::InvalidRequest(
                        "`x` and `y` must be non-negative numbers".into(),
                    ))
                }
                _ => return Err(need("`selector`, `ref`, or both `x` and `y`")),
            },
            ActionKind::Type => Action::Type {
                target: element_target(f)?,
                text: f.text.clone().ok_or_else(|| need("text"))?,
                clear: f.clear.unwrap_or(false),
            },
            ActionKind::Scroll => {
                let target = element_target(f)?;
                let (dx, dy) = match (f.delta_x, f.delta_y) {
                    (None, None) if target.is_none() => (0.0, f64::NAN), // one screen, decided later
                    (dx, dy) => (dx.unwrap_or(0.0), dy.unwrap_or(0.0)),
                };
                Action::Scroll { target, dx, dy }
            }
            ActionKind::Wait => {
                let limit = timeout.unwrap_or(DEFAULT_WAIT);
                match (element_target(f)?, &f.text) {
                    (Some(t), None) => Action::Wait(WaitFor::Element(t), limit),
                    (None, Some(text)) => Action::Wait(WaitFor::Text(text.clone()), limit),
                    (None, None) => match timeout {
                        Some(t) => Action::Wait(WaitFor::Time(t), t),
                        None => Action::Wait(WaitFor::Load, DEFAULT_WAIT),
                    },
                    (Some(_), Some(_)) => {
                        return Err(EngineError::InvalidRequest(
                            "`wait` takes an element or `text`, not both".into(),
                        ))
                    }
                }
            }
            ActionKind::GoBack => Action::GoBack,
            ActionKind::Refresh => Action::Refresh,
            ActionKind::SendKeys => {
                Action::SendKeys(parse_keys(f.keys.as_deref().ok_or_else(|| need("keys"))?)?)
            }
        })
    }
}

/// What a session's page needs from its session to run actions.
pub struct ActionContext<'a> {
    /// The page.
    pub page: &'a Page,
    /// The page's lease (for the direct DevTools connection navigation uses).
    pub lease: &'a crate::pool::PageLease,
    /// Private networks that may be reached.
    pub network: &'a NetPolicy,
    /// How long a load may take.
    pub nav_timeout: Duration,
    /// The requests the egress proxy refused for this page.
    pub blocked: &'a Refusals,
    /// The mouse position, updated by clicks.
    pub cursor: &'a Mutex<(f64, f64)>,
}

/// What an action did, besides the page state after it.
pub struct ActionEffect {
    /// Action-specific details.
    pub details: Value,
    /// The page state after the action.
    pub state: PageState,
}

/// Run one action on the page and report its effect and the page state after it.
pub async fn run(
    ctx: &ActionContext<'_>,
    action: &Action,
    timeout_ms: Option<u64>,
) -> Result<ActionEffect> {
    let load_timeout = timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(ctx.nav_timeout);
    match action {
        Action::Navigate(url) => navigation::navigate_to(ctx, url, load_timeout).await,
        Action::Click(target) => input::click(ctx, target).await,
        Action::Type {
            target,
            text,
            clear,
        } => input::type_text(ctx, target.as_ref(), text, *clear).await,
        Action::Scroll { target, dx, dy } => input::scroll(ctx, target.as_ref(), *dx, *dy).await,
        Action::Wait(what, limit) => wait::wait(ctx, what, *limit).await,
        Action::GoBack => navigation::go_back(ctx, load_timeout).await,
        Action::Refresh => navigation::refresh(ctx, load_timeout).await,
        Action::SendKeys(chords) => input::send_keys(ctx, chords).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> ActionFields {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn requests_are_validated_into_actions() {
        assert!(matches!(
            Action::parse(ActionKind::Click, &fields(json!({"ref": "e3"}))).unwrap(),
            Action::Click(Target::Ref(r)) if r == "e3"
        ));
        assert_eq!(
            Action::parse(ActionKind::Click, &fields(json!({"x": 10.0, "y": 20.0}))).unwrap(),
            Action::Click(Target::Point(10.0, 20.0))
        );
        assert_eq!(
            Action::parse(ActionKind::Click, &fields(json!({})))
                .unwrap_err()
                .code(),
            "invalid_request"
        );
        assert_eq!(
            Action::parse(ActionKind::Navigate, &fields(json!({})))
                .unwrap_err()
                .code(),
            "invalid_request"
        );
        assert_eq!(
            Action::parse(ActionKind::Navigate, &fields(json!({"url": "ftp://x"})))
                .unwrap_err()
                .code(),
            "invalid_url"
        );
        assert_eq!(
            Action::parse(ActionKind::Wait, &fields(json!({"timeout_ms": 120000})))
                .unwrap_err()
                .code(),
            "invalid_request"
        );
        assert!(matches!(
            Action::parse(ActionKind::Wait, &fields(json!({"text": "Done"}))).unwrap(),
            Action::Wait(WaitFor::Text(_), _)
        ));
        assert!(serde_json::from_value::<ActionFields>(json!({"colour": "red"})).is_err());
    }
}

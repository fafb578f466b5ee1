//! Low-level page operations over CDP: evaluate scripts, wait for loads, dispatch input.

use super::keys::Chord;
use crate::cdp::CdpResult;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::input::{
    DispatchKeyEventParams, DispatchKeyEventType, DispatchMouseEventParams, DispatchMouseEventType,
    InsertTextParams, MouseButton,
};
use chromiumoxide::cdp::browser_protocol::page::{
    EventFrameNavigated, EventFrameRequestedNavigation, EventFrameStoppedLoading, StopLoadingParams,
};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::Page;
use platform::error::{EngineError, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant};

const REFS_JS: &str = include_str!("js/refs.js");
const OBSERVE_JS: &str = include_str!("js/observe.js");
const STATE_JS: &str = include_str!("js/state.js");
pub(crate) const SCREEN_JS: &str = include_str!("js/screen.js");
pub(crate) const LOCATE_JS: &str = include_str!("js/locate.js");
pub(crate) const SCROLL_JS: &str = include_str!("js/scroll.js");

/// The page state read after every action.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PageState {
    /// The main frame's URL.
    pub url: String,
    /// The document title.
    pub title: String,
    /// `loading`, `interactive` or `complete`.
    pub ready_state: String,
    /// Horizontal scroll offset in CSS pixels.
    pub scroll_x: i64,
    /// Vertical scroll offset in CSS pixels.
    pub scroll_y: i64,
    /// The layout viewport.
    pub viewport: platform::config::Viewport,
    /// The document's full width.
    pub page_width: i64,
    /// The document's full height.
    pub page_height: i64,
    /// DOM mutations counted in this document so far.
    #[serde(default)]
    pub mutations: u64,
}

/// Evaluate an expression in the page's main world and return its JSON value.
pub async fn eval<T: DeserializeOwned>(page: &Page, expression: &str) -> Result<T> {
    let params = EvaluateParams::builder()
        .expression(expression)
        .return_by_value(true)
        .await_promise(true)
        .user_gesture(true)
        .build()
        .map_err(EngineError::Browser)?;
    let resp = page.execute(params).await.cdp()?.result;
    if let Some(ex) = resp.exception_details {
        let msg = ex
            .exception
            .as_ref()
            .and_then(|o| o.description.clone())
            .unwrap_or(ex.text);
        return Err(EngineError::Script(msg));
    }
    let value = resp.result.value.unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|e| EngineError::Browser(format!("unexpected script result: {e}")))
}

/// Call one of the engine's page functions with JSON arguments.
pub async fn call<T: DeserializeOwned>(page: &Page, function: &str, args: &Value) -> Result<T> {
    let src = function.replace("REFS", REFS_JS.trim().trim_end_matches(';'));
    eval(
        page,
        &format!("({})({})", src.trim().trim_end_matches(';'), args),
    )
    .await
}

/// Read the page state. The first read in a document also starts its mutation counter (cheaper
/// than registering a script for every new document, which costs a renderer round-trip per session).
pub async fn state(page: &Page) -> Result<PageState> {
    let expr = format!(
        "{}\n{}",
        OBSERVE_JS.trim(),
        STATE_JS.trim().trim_end_matches(';')
    );
    eval(page, &expr).await
}

/// Lay the page out at `viewport` (CSS pixels, scale 1, not mobile). Spare pages and sessions are
/// sized through this one call, so a spare already at a session's viewport needs no resize.
pub async fn set_viewport(page: &Page, viewport: platform::config::Viewport) -> Result<()> {
    page.execute(SetDeviceMetricsOverrideParams::new(
        viewport.width as i64,
        viewport.height as i64,
        1.0,
        false,
    ))
    .await
    .cdp()?;
    Ok(())
}

/// Read the page state once the document has loaded, waiting in the page for its `load` event:
/// one round trip, where polling the state would add up to a polling interval to every page load.
/// No page timer is used (a render counts the page's timers as work still to do); the caller's
/// deadline bounds the wait.
async fn loaded_state(page: &Page) -> Result<PageState> {
    let expr = format!(
        "{}\nnew Promise((done) => document.readyState === 'complete' ? done() \
         : addEventListener('load', () => done(), {{ once: true }})).then(() => {})",
        OBSERVE_JS.trim(),
        STATE_JS.trim().trim_end_matches(';')
    );
    eval(page, &expr).await
}

/// Wait until the document has finished loading, or fail with a timeout after stopping the load.
pub async fn wait_for_load(page: &Page, timeout: Duration) -> Result<PageState> {
    let deadline = Instant::now() + timeout;
    loop {
        // A navigation in flight can destroy the context while the page waits, and a document
        // replaced by another never fires its `load`: ask again, at least every 2 s.
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(2));
        if let Ok(Ok(s)) = tokio::time::timeout(wait, loaded_state(page)).await {
            if s.ready_state == "complete" {
                return Ok(s);
            }
        }
        if Instant::now() >= deadline {
            let _ = page.execute(StopLoadingParams::default()).await;
            return Err(EngineError::Timeout(format!(
                "the page did not finish loading within {} ms",
                timeout.as_millis()
            )));
        }
        // A read that failed at once (a context destroyed by a navigation) asks again shortly.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Watches for navigations an input may start. Chromium reports a requested navigation while it
/// handles the input event (link clicks, form submissions, `location` changes), so a short grace
/// period after the input is enough to know, instead of a fixed sleep after every click.
pub struct NavWatch {
    requested: chromiumoxide::listeners::EventStream<EventFrameRequestedNavigation>,
    navigated: chromiumoxide::listeners::EventStream<EventFrameNavigated>,
    stopped: chromiumoxide::listeners::EventStream<EventFrameStoppedLoading>,
}

/// How long to wait after an input for Chromium to report a navigation it started: briefly after
/// most inputs, longer after one that looks like it loads a page (a link, a form submission),
/// where Blink may schedule the navigation a task later. Either wait ends when the report comes.
pub const QUICK_GRACE: Duration = Duration::from_millis(20);
/// See [`QUICK_GRACE`].
pub const NAVIGATION_GRACE: Duration = Duration::from_millis(500);

impl NavWatch {
    /// Start watching; call before dispatching the input.
    pub async fn start(page: &Page) -> Result<Self> {
        Ok(Self {
            requested: page
                .event_listener::<EventFrameRequestedNavigation>()
                .await
                .cdp()?,
            navigated: page.event_listener::<EventFrameNavigated>().await.cdp()?,
            stopped: page
                .event_listener::<EventFrameStoppedLoading>()
                .await
                .cdp()?,
        })
    }

    /// After the input: if it started a navigation, wait until the frame has committed the new
    /// document (or given up on it: a 204, a download, a refusal), then for the load.
    pub async fn settle(
        mut self,
        page: &Page,
        before_url: &str,
        grace: Duration,
        timeout: Duration,
    ) -> Result<PageState> {
        use futures::StreamExt;
        let requested = match tokio::time::timeout(grace, self.requested.next()).await {
            Ok(Some(ev)) => Some(ev.frame_id.clone()),
            _ => None,
        };
        if let Some(frame) = requested {
            let deadline = tokio::time::Instant::now() + timeout;
            // Until the commit, the old document still answers "complete".
            let committed = async {
                loop {
                    tokio::select! {
                        Some(ev) = self.navigated.next() => if ev.frame.id == frame { return },
                        Some(ev) = self.stopped.next() => if ev.frame_id == frame { return },
                        else => return,
                    }
                }
            };
            if tokio::time::timeout_at(deadline, committed).await.is_err() {
                let _ = page.execute(StopLoadingParams::default()).await;
                return Err(EngineError::Timeout(format!(
                    "the navigation did not commit within {} ms",
                    timeout.as_millis()
                )));
            }
            return wait_for_load(
                page,
                deadline.saturating_duration_since(tokio::time::Instant::now()),
            )
            .await;
        }
        let s = match tokio::time::timeout(Duration::from_secs(2), state(page)).await {
            Ok(Ok(s)) => s,
            _ => return wait_for_load(page, timeout).await,
        };
        if s.ready_state != "complete" || s.url != before_url {
            return wait_for_load(page, timeout).await;
        }
        Ok(s)
    }
}

/// Move the mouse to a point and click there with the left button.
pub async fn click_at(page: &Page, x: f64, y: f64) -> Result<()> {
    let mv = DispatchMouseEventParams::builder()
        .r#type(DispatchMouseEventType::MouseMoved)
        .x(x)
        .y(y)
        .build()
        .map_err(EngineError::Browser)?;
    page.execute(mv).await.cdp()?;
    for pressed in [true, false] {
        let kind = if pressed {
            DispatchMouseEventType::MousePressed
        } else {
            DispatchMouseEventType::MouseReleased
        };
        let ev = DispatchMouseEventParams::builder()
            .r#type(kind)
            .x(x)
            .y(y)
            .button(MouseButton::Left)
            .buttons(if pressed { 1 } else { 0 })
            .click_count(1)
            .build()
            .map_err(EngineError::Browser)?;
        page.execute(ev).await.cdp()?;
    }
    Ok(())
}

/// Type text into the focused element as one text insertion (fires `input` events).
pub async fn insert_text(page: &Page, text: &str) -> Result<()> {
    page.execute(InsertTextParams::new(text)).await.cdp()?;
    Ok(())
}

fn key_event(
    kind: DispatchKeyEventType,
    def: &super::keys::KeyDef,
    modifiers: i64,
    with_text: bool,
) -> Result<DispatchKeyEventParams> {
    let mut b = DispatchKeyEventParams::builder()
        .r#type(kind)
        .modifiers(modifiers)
        .key(def.key.clone())
        .code(def.code.clone())
        .windows_virtual_key_code(def.key_code)
        .native_virtual_key_code(def.key_code);
    if with_text {
        if let Some(t) = &def.text {
            b = b.text(t.clone()).unmodified_text(t.clone());
        }
    }
    b.build().map_err(EngineError::Browser)
}

/// Press key chords in order, holding each chord's modifiers around its key.
pub async fn press(page: &Page, chords: &[Chord]) -> Result<()> {
    for chord in chords {
        let mut mods = 0;
        for h in &chord.held {
            mods |= super::keys::modifier_bit(h);
            page.execute(key_event(DispatchKeyEventType::RawKeyDown, h, mods, false)?)
                .await
                .cdp()?;
        }
        let down = if chord.key.text.is_some() {
            DispatchKeyEventType::KeyDown
        } else {
            DispatchKeyEventType::RawKeyDown
        };
        page.execute(key_event(down, &chord.key, chord.modifiers, true)?)
            .await
            .cdp()?;
        page.execute(key_event(
            DispatchKeyEventType::KeyUp,
            &chord.key,
            chord.modifiers,
            false,
        )?)
        .await
        .cdp()?;
        for h in chord.held.iter().rev() {
            mods &= !super::keys::modifier_bit(h);
            page.execute(key_event(DispatchKeyEventType::KeyUp, h, mods, false)?)
                .await
                .cdp()?;
        }
    }
    Ok(())
}

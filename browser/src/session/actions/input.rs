//! Input actions: click, type, scroll and keys, at an element (a selector or a reference from the
//! screen content) or a point.

use super::navigation::settle_or_report;
use super::{ActionContext, ActionEffect, Target};
use crate::session::driver;
use crate::session::keys::Chord;
use chromiumoxide::Page;
use platform::error::{EngineError, Result};
use serde_json::{json, Value};
use std::time::Duration;

/// Where an element is, and whether clicking it probably loads another page.
pub(super) struct Located {
    x: f64,
    y: f64,
    tag: String,
    navigates: bool,
}

pub(super) async fn locate(
    page: &Page,
    target: &Target,
    focus: bool,
    clear: bool,
) -> Result<Located> {
    let args = match target {
        Target::Selector(s) => json!({"selector": s, "focus": focus, "clear": clear}),
        Target::Ref(r) => json!({"ref": r, "focus": focus, "clear": clear}),
        Target::Point(x, y) => json!({"point": [x, y]}),
    };
    let v: Value = driver::call(page, driver::LOCATE_JS, &args).await?;
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        let detail = v
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        return Err(match err {
            "bad_selector" => EngineError::InvalidRequest(format!("invalid CSS selector {detail}")),
            "not_visible" => {
                EngineError::ElementNotFound(format!("{detail} (present but not visible)"))
            }
            _ => EngineError::ElementNotFound(detail),
        });
    }
    Ok(Located {
        x: v["x"].as_f64().unwrap_or(0.0),
        y: v["y"].as_f64().unwrap_or(0.0),
        tag: v["tag"].as_str().unwrap_or_default().to_string(),
        navigates: v["navigates"].as_bool().unwrap_or(false),
    })
}

fn grace_for(navigates: bool) -> Duration {
    if navigates {
        driver::NAVIGATION_GRACE
    } else {
        driver::QUICK_GRACE
    }
}

/// Click an element or a point; a navigation it starts is waited for.
pub(super) async fn click(ctx: &ActionContext<'_>, target: &Target) -> Result<ActionEffect> {
    let page = ctx.page;
    let before = driver::state(page).await?;
    let at = locate(page, target, false, false).await?;
    // A refusal recorded before this input (a blocked image, say) is not its doing.
    ctx.blocked.take();
    let watch = driver::NavWatch::start(page).await?;
    driver::click_at(page, at.x, at.y).await?;
    *ctx.cursor.lock().expect("cursor lock") = (at.x, at.y);
    let state = settle_or_report(ctx, watch, &before.url, grace_for(at.navigates)).await?;
    Ok(ActionEffect {
        details: json!({"x": at.x, "y": at.y, "element": at.tag}),
        state,
    })
}

/// Type text into an element (or the focused one), replacing its value with `clear`.
pub(super) async fn type_text(
    ctx: &ActionContext<'_>,
    target: Option<&Target>,
    text: &str,
    clear: bool,
) -> Result<ActionEffect> {
    let page = ctx.page;
    if let Some(t) = target {
        locate(page, t, true, clear).await?;
    }
    driver::insert_text(page, text).await?;
    let state = driver::state(page).await?;
    Ok(ActionEffect {
        details: json!({"typed_chars": text.chars().count()}),
        state,
    })
}

/// Scroll by deltas at the cursor (one screen down by default), or an element into view.
pub(super) async fn scroll(
    ctx: &ActionContext<'_>,
    target: Option<&Target>,
    dx: f64,
    dy: f64,
) -> Result<ActionEffect> {
    let page = ctx.page;
    let details = if let Some(t) = target {
        let at = locate(page, t, false, false).await?;
        json!({"scrolled_into_view": at.tag, "x": at.x, "y": at.y})
    } else {
        let before = driver::state(page).await?;
        let dy = if dy.is_nan() {
            (before.viewport.height as f64 * 0.8).round()
        } else {
            dy
        };
        let (cx, cy) = *ctx.cursor.lock().expect("cursor lock");
        let (px, py) = if cx > 0.0 || cy > 0.0 {
            (cx, cy)
        } else {
            (
                before.viewport.width as f64 / 2.0,
                before.viewport.height as f64 / 2.0,
            )
        };
        driver::call::<Value>(
            page,
            driver::SCROLL_JS,
            &json!({"x": px, "y": py, "dx": dx, "dy": dy}),
        )
        .await?
    };
    let state = driver::state(page).await?;
    Ok(ActionEffect { details, state })
}

/// Press key chords; an Enter that submits a form is given time to navigate.
pub(super) async fn send_keys(ctx: &ActionContext<'_>, chords: &[Chord]) -> Result<ActionEffect> {
    let page = ctx.page;
    let before = driver::state(page).await?;
    ctx.blocked.take();
    let watch = driver::NavWatch::start(page).await?;
    driver::press(page, chords).await?;
    // Enter in a form field submits it: give that navigation time to be reported.
    let submits = chords.iter().any(|c| c.key.key == "Enter");
    let state = settle_or_report(ctx, watch, &before.url, grace_for(submits)).await?;
    Ok(ActionEffect {
        details: json!({"chords": chords.len()}),
        state,
    })
}

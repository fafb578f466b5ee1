//! The `wait` action: for an element, a text, a time, or the page load.

use super::input::locate;
use super::{ActionContext, ActionEffect, WaitFor};
use crate::session::driver;
use platform::error::{EngineError, Result};
use serde_json::json;
use std::time::Duration;

pub(super) async fn wait(
    ctx: &ActionContext<'_>,
    what: &WaitFor,
    limit: Duration,
) -> Result<ActionEffect> {
    let page = ctx.page;
    let started = std::time::Instant::now();
    let deadline = started + limit;
    match what {
        WaitFor::Time(t) => {
            tokio::time::sleep(*t).await;
        }
        WaitFor::Load => {
            driver::wait_for_load(page, limit).await?;
        }
        WaitFor::Element(target) => loop {
            match locate(page, target, false, false).await {
                Ok(_) => break,
                Err(EngineError::ElementNotFound(d)) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(EngineError::Timeout(format!(
                            "{d} did not appear within {} ms",
                            limit.as_millis()
                        )));
                    }
                }
                Err(EngineError::Script(_)) | Err(EngineError::Browser(_)) => {} // navigating
                Err(e) => return Err(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        },
        WaitFor::Text(text) => loop {
            let found: bool = driver::call(
                page,
                "(t) => !!document.body && document.body.innerText.includes(t)",
                &json!(text),
            )
            .await
            .unwrap_or(false);
            if found {
                break;
            }
            if std::time::Instant::now() >= deadline {
                return Err(EngineError::Timeout(format!(
                    "the text {text:?} did not appear within {} ms",
                    limit.as_millis()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        },
    }
    let state = driver::state(page).await?;
    Ok(ActionEffect {
        details: json!({"waited_ms": started.elapsed().as_millis() as u64}),
        state,
    })
}

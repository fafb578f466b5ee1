//! API keys: with `API_KEYS` set, every route but `/health` needs `Authorization: Bearer <key>`
//! (or `?token=<key>` for WebSocket clients, which cannot set headers), and the key decides the
//! tenant. With none set, every request belongs to the one local tenant.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use platform::TenantId;

/// The tenant a request acts for, from its key.
pub fn tenant_for(state: &AppState, req: &Request) -> Result<TenantId, ApiError> {
    let keys = &state.platform.config.api_keys;
    if keys.is_empty() {
        return Ok(TenantId::local());
    }
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(String::from);
    let query = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v.to_string())
    });
    let key = header.or(query).ok_or_else(|| {
        ApiError::Unauthorized("an API key is required: Authorization: Bearer <key>".into())
    })?;
    keys.get(&key)
        .cloned()
        .ok_or_else(|| ApiError::Unauthorized("unknown API key".into()))
}

/// Middleware: put the caller's [`TenantId`] into the request's extensions, or answer 401.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    match tenant_for(&state, &req) {
        Ok(tenant) => {
            req.extensions_mut().insert(tenant);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

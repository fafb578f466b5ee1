//! Request extractors whose rejections answer in the API's error shape, `{error, detail, code}`:
//! a JSON body ([`JsonBody`]) and query parameters ([`QueryParams`]).

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON request body: a malformed one (or one that is not an object) answers 400 `bad_request`
/// saying what is wrong with it, one over the route's size limit 413 `payload_too_large`, one of
/// another type 415.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(mut value) = Json::<Value>::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(e.body_text()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(e.body_text()),
                _ => ApiError::BadRequest(e.body_text()),
            })?;
        // Every body of this API is a JSON object (serde would also read a struct from an array).
        if !value.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        integral_numbers(&mut value);
        if beyond_int64(&value) {
            return Err(ApiError::BadRequest(INT64_RANGE.into()));
        }
        T::deserialize(value)
            .map(Self)
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))
    }
}

/// Numbers written with a zero fraction (`13.0`) as integers: JSON Schema counts them as integers,
/// and integer fields must take them.
fn integral_numbers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                *v = if f < 0.0 {
                    Value::from(f as i64)
                } else {
                    Value::from(f as u64)
                };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// What a number beyond the document's integer range is refused with.
const INT64_RANGE: &str = "invalid body: integers are 64-bit signed (at most 9223372036854775807)";

/// Whether a body holds an integer above `i64::MAX`: the OpenAPI document declares every integer
/// `int64`, so the service refuses what its document calls invalid even where a field is unsigned.
fn beyond_int64(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_u64().is_some_and(|u| u > i64::MAX as u64),
        Value::Array(items) => items.iter().any(beyond_int64),
        Value::Object(map) => map.values().any(beyond_int64),
        _ => false,
    }
}

/// Whether a query value is a decimal integer above `i64::MAX` (see [`beyond_int64`]).
fn query_beyond_int64(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<i64>().is_err()
}

/// Query parameters: malformed ones answer 400 `bad_request` saying what is wrong with them.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Query(pairs)) =
            Query::<Vec<(String, String)>>::from_request_parts(parts, state).await
        {
            if let Some((name, _)) = pairs.iter().find(|(_, v)| query_beyond_int64(v)) {
                return Err(ApiError::BadRequest(format!(
                    "invalid query parameter {name}: integers are 64-bit signed (at most {})",
                    i64::MAX
                )));
            }
        }
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use axum::http::Request;
    use axum::routing::{get, post};
    use axum::Router;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct Body1 {
        count: u32,
        #[serde(default)]
        name: Option<String>,
    }

    #[derive(serde::Deserialize)]
    struct Params {
        limit: Option<u32>,
    }

    fn router() -> Router {
        Router::new()
            .route(
                "/body",
                post(|JsonBody(b): JsonBody<Body1>| async move {
                    format!("{} {}", b.count, b.name.unwrap_or_default())
                }),
            )
            .route(
                "/query",
                get(|QueryParams(p): QueryParams<Params>| async move { format!("{:?}", p.limit) }),
            )
            .layer(DefaultBodyLimit::max(64))
    }

    async fn send(req: Request<Body>) -> (StatusCode, String) {
        let resp = router().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn post_json(body: &str, content_type: &str) -> Request<Body> {
        Request::post("/body")
            .header("content-type", content_type)
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    fn code(body: &str) -> String {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        assert!(v["error"].is_string() && v["detail"].is_string(), "{v}");
        v["code"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn bodies_are_read_or_refused_in_the_error_shape() {
        let (s, b) = send(post_json(
            r#"{"count": 3, "name": "x"}"#,
            "application/json",
        ))
        .await;
        assert_eq!((s, b.as_str()), (StatusCode::OK, "3 x"));
        // 13.0 is an integer to JSON Schema, so it is one here too.
        let (s, b) = send(post_json(r#"{"count": 13.0}"#, "application/json")).await;
        assert_eq!((s, b.as_str()), (StatusCode::OK, "13 "));
        for (body, content_type, status, expected) in [
            ("[3, null]", "application/json", 400, "bad_request"),
            ("{\"count\": -1}", "application/json", 400, "bad_request"),
            ("{\"count\": 1.5}", "application/json", 400, "bad_request"),
            (
                "{\"count\": 1, \"n\": [9223372036854775808]}",
                "application/json",
                400,
                "bad_request",
            ),
            ("{not json", "application/json", 400, "bad_request"),
            (
                "{\"count\": 1}",
                "text/plain",
                415,
                "unsupported_media_type",
            ),
        ] {
            let (s, b) = send(post_json(body, content_type)).await;
            assert_eq!(s.as_u16(), status, "{body}: {b}");
            assert_eq!(code(&b), expected, "{body}");
        }
        let big = format!("{{\"count\": 1, \"name\": \"{}\"}}", "x".repeat(100));
        let (s, b) = send(post_json(&big, "application/json")).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
        assert_eq!(code(&b), "payload_too_large");
    }

    #[tokio::test]
    async fn query_parameters_are_read_or_refused_in_the_error_shape() {
        let get = |q: &str| {
            Request::get(format!("/query{q}"))
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(
            send(get("?limit=7")).await,
            (StatusCode::OK, "Some(7)".into())
        );
        assert_eq!(send(get("")).await, (StatusCode::OK, "None".into()));
        let (s, b) = send(get("?limit=x")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(code(&b), "bad_request");
        // The document declares integers int64: one beyond it is refused, not read as unsigned.
        let (s, b) = send(get("?limit=9223372036854775808")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(b.contains("limit") && b.contains("64-bit"), "{b}");
    }
}

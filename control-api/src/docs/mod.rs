//! Docs pages that render the OpenAPI document with no external script or stylesheet, so they
//! work offline and behind strict networks.

use axum::response::Html;

/// `GET /docs`: every operation with a form to try it.
pub async fn swagger_page() -> Html<&'static str> {
    Html(include_str!("try.html"))
}

/// `GET /redoc`: a reading view of the reference.
pub async fn redoc_page() -> Html<&'static str> {
    Html(include_str!("reference.html"))
}

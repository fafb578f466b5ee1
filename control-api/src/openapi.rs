//! The OpenAPI document: its paths come from the router (each route is declared once, by its
//! handler's `#[utoipa::path]`), its schemas and tags from here.

use utoipa::OpenApi;

/// The API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(title = "browser-automation-service", description = "A pool of real headless Chromium browsers for AI agents and the platform. With API_KEYS set, send `Authorization: Bearer <key>`."),
    components(schemas(crate::error::ErrorBody, crate::tools_api::ToolCall, crate::tools_api::ToolList,
                       crate::tools_api::RoomConnections, crate::rooms::RoomCounts,
                       crawler::jobs::StartRequest, crawler::jobs::JobIdRequest, crawler::jobs::JobView,
                       crawler::jobs::JobList, crawler::jobs::ResultsPage, crawler::jobs::PageView,
                       crawler::jobs::QueryRequest, crawler::jobs::QueryAnswer, crawler::jobs::PageSummary,
                       crawler::jobs::SiteMapEntry, crawler::knowledge::SearchRequest,
                       crawler::knowledge::SearchAnswer, crawler::knowledge::SearchHit,
                       crawler::ingest::IngestStartRequest, crawler::ingest::S3ReferenceBody,
                       crawler::ingest::FileMetadataBody, crawler::ingest::IngestOptions,
                       crawler::ingest::SourceType, crate::ingest_api::UploadForm)),
    tags((name = "knowledge", description = "Knowledge-exploration jobs: crawl a site, or ingest a file, into stored pages, links and passages, and search them"),
         (name = "mcp", description = "MCP tools over plain HTTP; the streamable-HTTP MCP endpoint is /mcp"),
         (name = "events", description = "Real-time events"),
         (name = "rooms", description = "Rooms and their connections"),
         (name = "service", description = "Health and metrics"))
)]
pub struct ApiDoc;

/// The error answers every operation can give besides its own, documented on each (their body is
/// `ErrorBody`): 401 without a valid key when `API_KEYS` is set (every route but `/health`);
/// 403 for a foreign `Host` or `Origin`;
/// 400, 413 and 415 for a body that cannot be read, is too large or is of another type; 400 for
/// parameters that cannot be read.
fn with_common_errors(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            let mut add = |status: &str, description: &str| {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description).into());
            };
            if path != "/health" {
                add("401", "A missing or unknown API key (when API_KEYS is set)");
            }
            if path != "/health" && path != "/metrics" {
                add(
                    "429",
                    "Over the API key's request rate (`rate_limited`, with Retry-After; when API_KEYS or RATE_LIMIT_RPS is set)",
                );
            }
            add(
                "403",
                "A Host the service does not answer to, or a web page's Origin not listed in CORS_ORIGINS",
            );
            if op.request_body.is_some() {
                add("400", "A body that cannot be read as documented");
                add("413", "A body over the route's size limit");
                add("415", "A body of another media type");
            }
            if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                add("400", "Parameters that cannot be read as documented");
            }
        }
    }
    doc
}

/// The document with the tool names of `POST /mcp/tools/call` taken from the tool catalogue
/// (each tool is declared once, in `mcp_server::tools`).
fn with_tool_names(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    use utoipa::openapi::RefOr;
    let names: Vec<&str> = mcp_server::tools::TOOLS.iter().map(|t| t.name).collect();
    let call = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("ToolCall"));
    if let Some(RefOr::T(Schema::Object(call))) = call {
        if let Some(RefOr::T(Schema::Object(name))) = call.properties.get_mut("name") {
            if name.schema_type == SchemaType::Type(Type::String) {
                name.enum_values = Some(names.into_iter().map(Into::into).collect());
            }
        }
    }
    doc
}

/// The whole document, as `GET /openapi.json` serves it.
#[cfg(test)]
pub fn openapi() -> utoipa::openapi::OpenApi {
    complete(crate::api_routes().split_for_parts().1)
}

/// The document the router's routes describe, completed: the tool names from the catalogue and
/// the error answers every operation can give.
pub fn complete(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    with_common_errors(with_tool_names(doc))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_documents_its_error_answers() {
        let doc = serde_json::to_value(super::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 18, "{}", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                let has = |s: &str| responses.contains_key(s);
                assert_eq!(has("401"), path != "/health", "{method} {path}");
                if op.get("requestBody").is_some() {
                    for s in ["400", "413", "415"] {
                        assert!(has(s), "{method} {path} lacks {s}");
                    }
                }
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let loc = p["in"].as_str().unwrap();
                    let name = p["name"].as_str().unwrap();
                    if loc == "path" {
                        assert!(path.contains(&format!("{{{name}}}")), "{path}: {name}");
                    }
                }
            }
        }
    }

    #[test]
    fn tool_call_names_come_from_the_catalogue() {
        let doc = serde_json::to_value(super::openapi()).unwrap();
        let names = &doc["components"]["schemas"]["ToolCall"]["properties"]["name"]["enum"];
        let expected: Vec<&str> = mcp_server::tools::TOOLS.iter().map(|t| t.name).collect();
        assert_eq!(names, &serde_json::json!(expected), "{names}");
    }
}

//! The tool catalogue: names, descriptions, input and output schemas, and dispatch to the engine.

use crate::error::ToolError;
use browser::session::actions::{ActionFields, ActionKind};
use browser::session::screen::{ScreenContent, ScreenOptions};
use browser::session::{ActionResult, BrowserContext, SessionInfo, StartOptions};
use browser::Engine;
use crawler::jobs::{
    JobIdRequest, JobList, JobView, ListRequest, QueryAnswer, QueryRequest, ResultsPage,
    ResultsRequest, StartRequest as JobStartRequest,
};
use platform::TenantId;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A session tool's only argument.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomArgs {
    /// The session's room name.
    pub room_name: String,
}

/// Arguments of `start_browser_session` (schema only: parsing splits `room_name` off).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StartArgs {
    /// The room the session belongs to (1-128 of letters, digits, `-_.:@`).
    pub room_name: String,
    /// How to start it.
    #[serde(flatten)]
    pub options: StartOptions,
}

/// Arguments of `execute_action` (schema only: parsing splits the flat fields off).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExecuteArgs {
    /// The session's room name.
    pub room_name: String,
    /// Which action to run.
    pub action: ActionKind,
    /// The action's own fields.
    #[serde(flatten)]
    pub fields: ActionFields,
}

/// Arguments of `get_screen_content`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenArgs {
    /// The session's room name.
    pub room_name: String,
    /// Most interactive elements to list (those in the viewport first). Default 60, at most 300.
    #[serde(default)]
    pub max_elements: Option<usize>,
    /// Most characters of visible text. Default 3000, at most 20000.
    #[serde(default)]
    pub max_text_chars: Option<usize>,
    /// Include a JPEG screenshot of the viewport.
    #[serde(default)]
    pub include_screenshot: Option<bool>,
}

/// Arguments of `list_browser_sessions`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// The sessions of the caller.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionList {
    /// Open sessions, by room name.
    pub sessions: Vec<SessionInfo>,
}

/// Arguments of `get_knowledge_results` (schema only: parsing splits `job_id` off).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ResultsArgs {
    /// The job.
    pub job_id: String,
    /// Which pages (MCP defaults: 5 pages, 4000 Markdown characters each).
    #[serde(flatten)]
    pub request: ResultsRequest,
}

/// What the tools work on: the engine (sessions) and the job service (explorations).
pub struct Services {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Knowledge-exploration jobs.
    pub jobs: Arc<crawler::Jobs>,
}

/// A tool's output: structured content, plus an image for MCP clients when there is one.
pub struct ToolOutput {
    /// The structured result (matches the tool's output schema).
    pub structured: Value,
    /// `(mime_type, base64)` of an image to show.
    pub image: Option<(String, String)>,
}

struct Spec {
    name: &'static str,
    description: &'static str,
    input: Arc<JsonObject>,
    output: Arc<JsonObject>,
    read_only: bool,
}

fn spec<I: JsonSchema + 'static, O: JsonSchema + 'static>(
    name: &'static str,
    description: &'static str,
    read_only: bool,
) -> Spec {
    Spec {
        name,
        description,
        input: schema_for_input::<I>().unwrap_or_else(|e| panic!("input schema of {name}: {e}")),
        output: schema_for_output::<O>(),
        read_only,
    }
}

fn specs() -> Vec<Spec> {
    vec![
        spec::<StartArgs, SessionInfo>(
            "start_browser_session",
            "Open a browser session for a room: a fresh, isolated incognito browser context (no cookies or storage shared with any other session). Optionally loads initial_url. People can watch it live at /rooms/{room_name}/view; with livekit_url/livekit_token (or LiveKit configured on the service) its video is published to the LiveKit room of the same name.",
            false,
        ),
        spec::<RoomArgs, SessionInfo>("pause_browser_session", "Pause a session: it takes no actions and publishes no video until resumed.", false),
        spec::<RoomArgs, SessionInfo>("resume_browser_session", "Resume a paused session.", false),
        spec::<RoomArgs, SessionInfo>("close_browser_session", "Close a session and free its browser context.", false),
        spec::<ExecuteArgs, ActionResult>(
            "execute_action",
            "Run one action in a session: navigate (url), click (selector, ref from get_screen_content, or x/y), type (text into selector/ref or the focused element; clear to replace), scroll (delta_x/delta_y, or selector/ref into view; default one screen down), wait (selector/ref, text, timeout_ms, or page load), go_back, refresh, send_keys (keys like 'Enter', 'Control+A Tab'). Returns the page state after the action.",
            false,
        ),
        spec::<RoomArgs, BrowserContext>(
            "get_browser_context",
            "Where the session is: URL, title, ready state, scroll position, viewport, page size and cursor position.",
            true,
        ),
        spec::<ScreenArgs, ScreenContent>(
            "get_screen_content",
            "What the page shows, compactly: visible text, headings, interactive elements with stable refs for execute_action, and forms with their values. Bounded in size (max_elements, max_text_chars); optional screenshot.",
            true,
        ),
        spec::<RoomArgs, SessionInfo>(
            "recover_browser_session",
            "Recover a session whose browser crashed (or that was open when the service restarted): a fresh browser context, loaded with the last URL.",
            false,
        ),
        spec::<NoArgs, SessionList>("list_browser_sessions", "The caller's open browser sessions.", true),
        spec::<JobStartRequest, JobView>(
            "start_knowledge_exploration",
            "Start crawling a website or documentation site into clean, stored knowledge: breadth-first within the start URL's site, honouring robots.txt and sitemaps, pages as Markdown with code blocks and links. Returns the job_id at once; watch it with get_exploration_status.",
            false,
        ),
        spec::<JobIdRequest, JobView>(
            "get_exploration_status",
            "A job's status (queued, running, paused, completed, failed, cancelled), progress 0-100, pages done, failed and queued, current URL, elapsed seconds, and its status history.",
            true,
        ),
        spec::<JobIdRequest, JobView>("pause_exploration", "Pause a queued or running job; it keeps its place.", false),
        spec::<JobIdRequest, JobView>("resume_exploration", "Resume a paused job where it stopped (or retry a failed one).", false),
        spec::<JobIdRequest, JobView>("cancel_exploration", "Cancel a job for good; pages stored so far stay queryable.", false),
        spec::<ListRequest, JobList>("list_explorations", "The caller's jobs, newest first, optionally with one status.", true),
        spec::<ResultsArgs, ResultsPage>(
            "get_knowledge_results",
            "A page of a job's stored pages in crawl order, with Markdown content (cut to max_chars, default 4000), headings, code blocks and errors. Use offset/next_offset to page.",
            true,
        ),
        spec::<QueryRequest, QueryAnswer>(
            "query_knowledge",
            "Search and look up stored knowledge. With `query` (a question in your own words): the passages that best answer it, semantic search over embeddings, with page URL, title, heading path, score and text (`top_k`, default 5; `hybrid: true` adds keyword matching; filter by `job_id` or `site`). Without it: kind=pages (summaries with snippets; filter by text, url, job_id), kind=page (one page's Markdown by url), kind=links (links on a page, external or internal), kind=site_map (the site's pages as a tree of paths).",
            true,
        ),
    ]
}

/// Every tool, as MCP lists them.
pub fn list() -> Vec<Tool> {
    specs()
        .into_iter()
        .map(|s| {
            Tool::new(s.name, s.description, s.input)
                .with_raw_output_schema(s.output)
                .with_annotations(
                    ToolAnnotations::new()
                        .read_only(s.read_only)
                        .open_world(true),
                )
        })
        .collect()
}

fn parse<T: DeserializeOwned>(args: Map<String, Value>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args))
        .map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

fn out<T: Serialize>(v: T) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput {
        structured: serde_json::to_value(v)
            .map_err(|e| ToolError::InvalidArguments(e.to_string()))?,
        image: None,
    })
}

/// Take a required string field (`room_name`, `job_id`) out of a tool's arguments; the rest is
/// parsed by the engine's own types.
fn split_field(
    mut map: Map<String, Value>,
    field: &str,
) -> Result<(String, Map<String, Value>), ToolError> {
    match map.remove(field) {
        Some(Value::String(s)) => Ok((s, map)),
        _ => Err(ToolError::InvalidArguments(format!(
            "`{field}` (a string) is required"
        ))),
    }
}

fn split_room(map: Map<String, Value>) -> Result<(String, Map<String, Value>), ToolError> {
    split_field(map, "room_name")
}

/// Call a tool by name for a tenant. Every transport goes through here.
pub async fn call(
    services: &Services,
    tenant: &TenantId,
    name: &str,
    args: Value,
) -> Result<ToolOutput, ToolError> {
    let map = match args {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        _ => {
            return Err(ToolError::InvalidArguments(
                "arguments must be a JSON object".into(),
            ))
        }
    };
    let sessions = &services.engine.sessions;
    let jobs = &services.jobs;
    match name {
        "start_knowledge_exploration" => out(jobs.start_job(tenant, parse(map)?).await?),
        "get_exploration_status" => out(jobs
            .status(tenant, &parse::<JobIdRequest>(map)?.job_id)
            .await?),
        "pause_exploration" => out(jobs
            .pause(tenant, &parse::<JobIdRequest>(map)?.job_id)
            .await?),
        "resume_exploration" => out(jobs
            .resume(tenant, &parse::<JobIdRequest>(map)?.job_id)
            .await?),
        "cancel_exploration" => out(jobs
            .cancel(tenant, &parse::<JobIdRequest>(map)?.job_id)
            .await?),
        "list_explorations" => out(jobs.list(tenant, parse(map)?).await?),
        "get_knowledge_results" => {
            let (job_id, rest) = split_field(map, "job_id")?;
            let mut req: ResultsRequest = parse(rest)?;
            req.limit = req.limit.or(Some(5));
            req.max_chars = req.max_chars.or(Some(4000));
            out(jobs.results(tenant, &job_id, req).await?)
        }
        "query_knowledge" => out(jobs.query(tenant, parse(map)?).await?),
        "start_browser_session" => {
            let (room, rest) = split_room(map)?;
            let opts: StartOptions = parse(rest)?;
            out(sessions.start_session(tenant, &room, opts).await?)
        }
        "pause_browser_session" => out(sessions
            .pause(tenant, &parse::<RoomArgs>(map)?.room_name)
            .await?),
        "resume_browser_session" => out(sessions
            .resume(tenant, &parse::<RoomArgs>(map)?.room_name)
            .await?),
        "close_browser_session" => out(sessions
            .close(tenant, &parse::<RoomArgs>(map)?.room_name)
            .await?),
        "recover_browser_session" => out(sessions
            .recover(tenant, &parse::<RoomArgs>(map)?.room_name)
            .await?),
        "get_browser_context" => out(sessions
            .browser_context(tenant, &parse::<RoomArgs>(map)?.room_name)
            .await?),
        "list_browser_sessions" => {
            parse::<NoArgs>(map)?;
            out(SessionList {
                sessions: sessions.list(tenant),
            })
        }
        "get_screen_content" => {
            let a: ScreenArgs = parse(map)?;
            let d = ScreenOptions::default();
            let opts = ScreenOptions {
                max_elements: a.max_elements.unwrap_or(d.max_elements),
                max_text_chars: a.max_text_chars.unwrap_or(d.max_text_chars),
                include_screenshot: a.include_screenshot.unwrap_or(false),
            };
            let content = sessions.screen_content(tenant, &a.room_name, opts).await?;
            let image = content
                .screenshot
                .as_ref()
                .map(|s| (s.mime_type.clone(), s.data.clone()));
            let mut o = out(content)?;
            o.image = image;
            Ok(o)
        }
        "execute_action" => {
            let (room, mut map) = split_room(map)?;
            let kind: ActionKind = match map.remove("action") {
                Some(v) => serde_json::from_value(v).map_err(|_| {
                    ToolError::InvalidArguments(
                        "`action` must be one of navigate, click, type, scroll, wait, go_back, refresh, send_keys".into(),
                    )
                })?,
                None => return Err(ToolError::InvalidArguments("`action` is required".into())),
            };
            let fields: ActionFields = parse(map)?;
            out(sessions.execute(tenant, &room, kind, &fields).await?)
        }
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_object_schemas_and_the_required_names() {
        let tools = list();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        for n in [
            "start_browser_session",
            "pause_browser_session",
            "resume_browser_session",
            "close_browser_session",
            "execute_action",
            "get_browser_context",
            "get_screen_content",
            "recover_browser_session",
            "start_knowledge_exploration",
            "get_exploration_status",
            "pause_exploration",
            "resume_exploration",
            "cancel_exploration",
            "get_knowledge_results",
            "query_knowledge",
        ] {
            assert!(names.contains(&n), "{n} missing");
        }
        for t in &tools {
            assert_eq!(
                t.input_schema.get("type"),
                Some(&Value::String("object".into())),
                "{}",
                t.name
            );
            assert!(t.output_schema.is_some(), "{}", t.name);
        }
        let exec = tools.iter().find(|t| t.name == "execute_action").unwrap();
        let props = exec.input_schema.get("properties").unwrap();
        for f in [
            "room_name",
            "action",
            "url",
            "selector",
            "ref",
            "x",
            "y",
            "text",
            "keys",
            "delta_x",
            "delta_y",
            "timeout_ms",
        ] {
            assert!(
                props.get(f).is_some(),
                "execute_action lacks `{f}`: {props}"
            );
        }
    }
}

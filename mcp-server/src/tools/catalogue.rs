//! Every tool, declared once: name, description, input and output types (their schemas), and
//! the handler, which parses the arguments and calls the engine or the job service.

use super::{out, parse, schemas, split_field, Services, ToolDef, ToolOutput};
use super::{ExecuteArgs, NoArgs, ResultsArgs, RoomArgs, ScreenArgs, SessionList, StartArgs};
use crate::error::ToolError;
use browser::session::actions::{ActionFields, ActionKind};
use browser::session::observer::{RecordingInfo, RecordingList};
use browser::session::screen::{ScreenContent, ScreenOptions};
use browser::session::{ActionResult, BrowserContext, SessionInfo, StartOptions};
use crawler::jobs::{
    JobIdRequest, JobList, JobView, ListRequest, QueryAnswer, QueryRequest, ResultsPage,
    ResultsRequest, ResyncRequest, StartRequest as JobStartRequest,
};
use platform::TenantId;
use serde_json::{Map, Value};

type Args = Map<String, Value>;
type Outcome = Result<ToolOutput, ToolError>;

/// One entry of [`TOOLS`]: `name, Input => Output, read_only, description, handler`.
macro_rules! tool {
    ($name:literal, $input:ty => $output:ty, read_only: $ro:expr, $description:literal, $handler:path) => {
        ToolDef {
            name: $name,
            description: $description,
            read_only: $ro,
            schemas: schemas::<$input, $output>,
            run: |services, tenant, args| Box::pin($handler(services, tenant, args)),
        }
    };
}

/// Every tool, in the order MCP lists them.
pub static TOOLS: &[ToolDef] = &[
    tool!("start_browser_session", StartArgs => SessionInfo, read_only: false,
        "Open a browser session for a room: a fresh, isolated incognito browser context (no cookies or storage shared with any other session). Optionally loads initial_url. People can watch it live at /rooms/{room_name}/view; with livekit_url/livekit_token (or LiveKit configured on the service) its video is published to the LiveKit room of the same name.",
        start_browser_session),
    tool!("pause_browser_session", RoomArgs => SessionInfo, read_only: false,
        "Pause a session: it takes no actions and publishes no video until resumed.",
        pause_browser_session),
    tool!("resume_browser_session", RoomArgs => SessionInfo, read_only: false,
        "Resume a paused session.",
        resume_browser_session),
    tool!("close_browser_session", RoomArgs => SessionInfo, read_only: false,
        "Close a session and free its browser context.",
        close_browser_session),
    tool!("execute_action", ExecuteArgs => ActionResult, read_only: false,
        "Run one action in a session: navigate (url), click (selector, ref from get_screen_content, or x/y), type (text into selector/ref or the focused element; clear to replace), scroll (delta_x/delta_y, or selector/ref into view; default one screen down), wait (selector/ref, text, timeout_ms, or page load), go_back, refresh, send_keys (keys like 'Enter', 'Control+A Tab'). Returns the page state after the action.",
        execute_action),
    tool!("get_browser_context", RoomArgs => BrowserContext, read_only: true,
        "Where the session is: URL, title, ready state, scroll position, viewport, page size and cursor position.",
        get_browser_context),
    tool!("get_screen_content", ScreenArgs => ScreenContent, read_only: true,
        "What the page shows, compactly: visible text, headings, interactive elements with stable refs for execute_action, and forms with their values. Bounded in size (max_elements, max_text_chars); optional screenshot.",
        get_screen_content),
    tool!("recover_browser_session", RoomArgs => SessionInfo, read_only: false,
        "Recover a session whose browser crashed (or that was open when the service restarted): a fresh browser context, loaded with the last URL.",
        recover_browser_session),
    tool!("start_recording", RoomArgs => RecordingInfo, read_only: false,
        "Record a session's video from now on: an MP4 (H.264) with the session's actions as a subtitle track, stored when it stops (stop_recording, or the session closing). Pausing the session pauses the recording. start_browser_session takes record: true to record from the start.",
        start_recording),
    tool!("stop_recording", RoomArgs => RecordingInfo, read_only: false,
        "Stop a session's recording and store it; returns its duration, size and where to fetch it.",
        stop_recording),
    tool!("list_recordings", RoomArgs => RecordingList, read_only: true,
        "A room's recordings (also of sessions already closed), oldest first, with status, duration, size, action count and a URL to fetch each.",
        list_recordings),
    tool!("list_browser_sessions", NoArgs => SessionList, read_only: true,
        "The caller's open browser sessions.",
        list_browser_sessions),
    tool!("start_knowledge_exploration", JobStartRequest => JobView, read_only: false,
        "Start crawling a website or documentation site into clean, stored knowledge: breadth-first within the start URL's site, honouring robots.txt and sitemaps, pages as Markdown with code blocks and links. Returns the job_id at once; watch it with get_exploration_status.",
        start_knowledge_exploration),
    tool!("get_exploration_status", JobIdRequest => JobView, read_only: true,
        "A job's status (queued, running, paused, completed, failed, cancelled), progress 0-100, pages done, failed and queued, current URL, elapsed seconds, and its status history.",
        get_exploration_status),
    tool!("pause_exploration", JobIdRequest => JobView, read_only: false,
        "Pause a queued or running job; it keeps its place.",
        pause_exploration),
    tool!("resume_exploration", JobIdRequest => JobView, read_only: false,
        "Resume a paused job where it stopped (or retry a failed one).",
        resume_exploration),
    tool!("cancel_exploration", JobIdRequest => JobView, read_only: false,
        "Cancel a job for good; pages stored so far stay queryable.",
        cancel_exploration),
    tool!("resync_exploration", ResyncRequest => JobView, read_only: false,
        "Resync a finished exploration: a new job over the same site and options that asks for every stored page conditionally, re-extracts and re-embeds only the pages whose content changed, adds new pages and drops pages that now answer 404/410 from search. Its status reports pages_unchanged, pages_changed, pages_new and pages_removed, and resync_of names the job it resynced.",
        resync_exploration),
    tool!("list_explorations", ListRequest => JobList, read_only: true,
        "The caller's jobs, newest first, optionally with one status, or only the syncs of one source (start_url: the first crawl and each resync).",
        list_explorations),
    tool!("get_knowledge_results", ResultsArgs => ResultsPage, read_only: true,
        "A page of a job's stored pages in crawl order, with Markdown content (cut to max_chars, default 4000), headings, code blocks and errors. Use offset/next_offset to page.",
        get_knowledge_results),
    tool!("query_knowledge", QueryRequest => QueryAnswer, read_only: true,
        "Search and look up stored knowledge. With `query` (a question in your own words): the passages that best answer it, semantic search over embeddings, with page URL, title, heading path, score and text (`top_k`, default 5; `hybrid: true` adds keyword matching; filter by `job_id` or `site`). Without it: kind=pages (summaries with snippets; filter by text, url, job_id), kind=page (one page's Markdown by url), kind=links (links on a page, external or internal), kind=site_map (the site's pages as a tree of paths).",
        query_knowledge),
];

async fn start_browser_session(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let (room, rest) = split_field(args, "room_name")?;
    let opts: StartOptions = parse(rest)?;
    out(s.sessions.start_session(tenant, &room, opts).await?)
}

async fn pause_browser_session(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    out(s.sessions.pause(tenant, &room).await?)
}

async fn resume_browser_session(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    out(s.sessions.resume(tenant, &room).await?)
}

async fn close_browser_session(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    out(s.sessions.close(tenant, &room).await?)
}

async fn recover_browser_session(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    out(s.sessions.recover(tenant, &room).await?)
}

async fn start_recording(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    out(s.sessions.start_recording(tenant, &room).await?)
}

async fn stop_recording(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    out(s.sessions.stop_recording(tenant, &room).await?)
}

async fn list_recordings(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    let recordings = s.sessions.recordings(tenant, &room).await?;
    out(RecordingList { recordings })
}

async fn get_browser_context(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let room = parse::<RoomArgs>(args)?.room_name;
    out(s.sessions.browser_context(tenant, &room).await?)
}

async fn list_browser_sessions(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    parse::<NoArgs>(args)?;
    out(SessionList {
        sessions: s.sessions.list(tenant).await?,
    })
}

async fn get_screen_content(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let a: ScreenArgs = parse(args)?;
    let d = ScreenOptions::default();
    let opts = ScreenOptions {
        max_elements: a.max_elements.unwrap_or(d.max_elements),
        max_text_chars: a.max_text_chars.unwrap_or(d.max_text_chars),
        include_screenshot: a.include_screenshot.unwrap_or(false),
    };
    let content = s
        .sessions
        .screen_content(tenant, &a.room_name, opts)
        .await?;
    let image = content
        .screenshot
        .as_ref()
        .map(|s| (s.mime_type.clone(), s.data.clone()));
    let mut o = out(content)?;
    o.image = image;
    Ok(o)
}

async fn execute_action(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let (room, mut rest) = split_field(args, "room_name")?;
    let kind: ActionKind = match rest.remove("action") {
        Some(v) => serde_json::from_value(v).map_err(|_| {
            ToolError::InvalidArguments(
                "`action` must be one of navigate, click, type, scroll, wait, go_back, refresh, send_keys".into(),
            )
        })?,
        None => return Err(ToolError::InvalidArguments("`action` is required".into())),
    };
    let fields: ActionFields = parse(rest)?;
    out(s.sessions.execute(tenant, &room, kind, &fields).await?)
}

async fn start_knowledge_exploration(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    out(s.jobs.start_job(tenant, parse(args)?).await?)
}

async fn get_exploration_status(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let job = parse::<JobIdRequest>(args)?.job_id;
    out(s.jobs.status(tenant, &job).await?)
}

async fn pause_exploration(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let job = parse::<JobIdRequest>(args)?.job_id;
    out(s.jobs.pause(tenant, &job).await?)
}

async fn resume_exploration(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let job = parse::<JobIdRequest>(args)?.job_id;
    out(s.jobs.resume(tenant, &job).await?)
}

async fn cancel_exploration(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let job = parse::<JobIdRequest>(args)?.job_id;
    out(s.jobs.cancel(tenant, &job).await?)
}

async fn resync_exploration(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    out(s.jobs.resync(tenant, parse(args)?).await?)
}

async fn list_explorations(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    out(s.jobs.list(tenant, parse(args)?).await?)
}

async fn get_knowledge_results(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    let (job_id, rest) = split_field(args, "job_id")?;
    let mut req: ResultsRequest = parse(rest)?;
    req.limit = req.limit.or(Some(5));
    req.max_chars = req.max_chars.or(Some(4000));
    out(s.jobs.results(tenant, &job_id, req).await?)
}

async fn query_knowledge(s: &Services, tenant: &TenantId, args: Args) -> Outcome {
    out(s.jobs.query(tenant, parse(args)?).await?)
}

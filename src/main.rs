//! The `browser-automation-service` binary: command-line parsing and wiring only.

mod app;

use anyhow::Context;
use app::{App, Role};
use clap::{Parser, Subcommand};
use crawler::jobs::{JobView, StartRequest};
use crawler::knowledge::SearchRequest;
use platform::jobs::{JobStatus, RenderMode};
use platform::{Config, TenantId};
use std::time::Duration;

/// A pool of real headless Chromium browsers for AI agents (MCP) and a SaaS platform (HTTP).
#[derive(Parser)]
#[command(name = "browser-automation-service", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP control API and MCP over streamable HTTP (`/mcp`).
    Serve {
        /// Run a control plane only: no Chromium here; sessions go to engine workers (`worker`)
        /// over Redis (`REDIS_URL`), jobs to the queue they take them from.
        #[arg(long)]
        no_engine: bool,
        /// The control plane's id in the cluster (default: host and process id).
        #[arg(long, env = "CONTROL_PLANE_ID")]
        id: Option<String>,
    },
    /// Serve MCP over stdin/stdout, for desktop MCP clients. Logs go to stderr.
    Mcp,
    /// Run an engine worker: crawl jobs from the Redis queue (`REDIS_URL`), and live sessions
    /// that control planes (`serve --no-engine`) place on it. Start as many as you like, on any
    /// machine sharing Redis, the store and the file store. `SIGTERM` drains it: its sessions
    /// move to other workers before it exits.
    Worker {
        /// Its id in the cluster; a worker restarted with the same id within its lease gets the
        /// commands sent to it meanwhile (default: host and process id).
        #[arg(long, env = "WORKER_ID")]
        id: Option<String>,
        /// The address viewers reach it at for WebRTC (default: its host name).
        #[arg(long, env = "WEBRTC_PUBLIC_IP")]
        address: Option<String>,
    },
    /// Crawl one site in the foreground with a progress bar, then print a summary. The pages go
    /// to the store like any job's (query them with `serve` or `mcp`).
    Crawl {
        /// Where the crawl starts.
        url: String,
        /// Most pages.
        #[arg(long, default_value_t = 100)]
        max_pages: usize,
        /// Most link hops from the start page.
        #[arg(long, default_value_t = 3)]
        max_depth: u32,
        /// `auto` (render pages that need scripts), `always` or `never`.
        #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
        render: String,
        /// Path patterns a page must match (`/docs/*`); repeat for more.
        #[arg(long)]
        include: Vec<String>,
        /// Path patterns that keep a page out; repeat for more.
        #[arg(long)]
        exclude: Vec<String>,
        /// Pages fetched at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Print the final status as JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Search the stored knowledge: the passages that best answer a question, in your own
    /// words. Starts no browser.
    Query {
        /// The question.
        text: String,
        /// Passages to print.
        #[arg(long, default_value_t = 5)]
        top_k: usize,
        /// Only this job's pages.
        #[arg(long)]
        job: Option<String>,
        /// Only pages on this host.
        #[arg(long)]
        site: Option<String>,
        /// Fuse with keyword search.
        #[arg(long)]
        hybrid: bool,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read one HTML document on stdin and print its main content as Markdown (the crawler's own
    /// extraction). Starts no browser.
    Extract {
        /// The page's URL, to make its links absolute.
        #[arg(long)]
        url: Option<String>,
        /// Print everything extracted (title, description, headings, code blocks, links) as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Most bytes `extract` reads from stdin.
const MAX_EXTRACT_INPUT: u64 = 50 * 1024 * 1024;

fn extract(url: Option<String>, json: bool) -> anyhow::Result<()> {
    use std::io::Read;
    let base = url
        .map(|u| url::Url::parse(&u).with_context(|| format!("--url {u:?} is not a URL")))
        .transpose()?;
    let mut raw = Vec::new();
    std::io::stdin()
        .take(MAX_EXTRACT_INPUT + 1)
        .read_to_end(&mut raw)
        .context("reading stdin")?;
    anyhow::ensure!(
        raw.len() as u64 <= MAX_EXTRACT_INPUT,
        "the document is larger than {} MiB",
        MAX_EXTRACT_INPUT / 1024 / 1024
    );
    let html = String::from_utf8_lossy(&raw);
    let page = crawler::extract(&html, base.as_ref());
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
    } else {
        println!("{}", page.markdown);
    }
    Ok(())
}

fn init_logging(config: &Config, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "warn,chromiumoxide=off"
    } else {
        "info,chromiumoxide=off,rmcp=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

async fn serve(app: &App) -> anyhow::Result<()> {
    let config = &app.platform.config;
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("listening on http://{bound}");
    let services = app.services().expect("serve runs an engine");
    // Pages never reach the API, whatever the allowlist says.
    if let Some(engine) = &services.engine {
        engine.pool.egress().protect_port(bound.port());
    }
    let live = app.live().cloned();
    let result = control_api::serve(services, live, listener, shutdown_signal()).await;
    tracing::info!("shutting down: jobs back to the queue, sessions and browsers closed");
    result.context("HTTP server failed")
}

async fn mcp_stdio(app: &App) -> anyhow::Result<()> {
    let services = app.services().expect("mcp runs an engine");
    tokio::select! {
        r = mcp_server::serve_stdio(services) => r.context("MCP over stdio"),
        _ = shutdown_signal() => Ok(()),
    }
}

async fn worker(app: &App) -> anyhow::Result<()> {
    tracing::info!(
        workers = app.platform.config.jobs.workers,
        "taking crawl jobs from the Redis queue"
    );
    // Probes and Prometheus reach the worker on HOST:PORT (/health, /metrics).
    let config = &app.platform.config;
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let engine = app.services().and_then(|s| s.engine.clone());
    let probes = engine.map(|e| {
        tracing::info!("health and metrics on http://{addr}");
        tokio::spawn(async move {
            let _ = axum::serve(listener, control_api::worker_router(e)).await;
        })
    });
    shutdown_signal().await;
    if let Some(worker) = app.worker() {
        tracing::info!("draining: sessions move to other workers");
        worker.drain().await;
    }
    if let Some(p) = probes {
        p.abort();
    }
    tracing::info!("shutting down: jobs in progress go back to the queue");
    Ok(())
}

/// The host name, for default ids and addresses.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}

/// Options of the `crawl` command.
struct CrawlArgs {
    request: StartRequest,
    json: bool,
}

async fn crawl(app: &App, args: CrawlArgs) -> anyhow::Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    let tenant = TenantId::local();
    let jobs = app.jobs().expect("crawl runs the job service");
    let started = std::time::Instant::now();
    let job = jobs.start_job(&tenant, args.request).await?;
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} pages  {wide_msg}",
        )
        .expect("static template"),
    );
    let mut interrupt = std::pin::pin!(shutdown_signal());
    let last = loop {
        let v = jobs.status(&tenant, &job.job_id).await?;
        let done = v.pages_completed + v.pages_failed;
        bar.set_length((done + v.pages_queued).max(1));
        bar.set_position(done);
        bar.set_message(v.current_url.clone().unwrap_or_default());
        if v.status.is_terminal() {
            break v;
        }
        tokio::select! {
            _ = &mut interrupt => {
                bar.abandon_with_message("interrupted");
                eprintln!("interrupted: job {} goes on where it stopped the next time the service runs on this DATA_DIR", job.job_id);
                return Ok(());
            }
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    };
    bar.finish_and_clear();
    // Make the pages searchable before the process ends (the next start would index them anyway).
    if last.status == JobStatus::Completed {
        let spinner = ProgressBar::new_spinner();
        spinner.set_message("embedding the pages for search");
        spinner.enable_steady_tick(Duration::from_millis(120));
        app.knowledge
            .drain(&last.job_id, Duration::from_secs(3600))
            .await;
        spinner.finish_and_clear();
    }
    let last = jobs.status(&tenant, &last.job_id).await?;
    let failed = jobs
        .results(
            &tenant,
            &last.job_id,
            crawler::jobs::ResultsRequest {
                outcome: Some(platform::store::PageOutcome::Failed),
                limit: Some(20),
                max_chars: Some(0),
                ..Default::default()
            },
        )
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&last)?);
    } else {
        print_summary(&last, started.elapsed(), &failed);
    }
    anyhow::ensure!(
        last.status == JobStatus::Completed,
        "the crawl {}: {}",
        last.status.as_str(),
        last.error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("")
    );
    Ok(())
}

fn print_summary(v: &JobView, took: Duration, failed: &crawler::jobs::ResultsPage) {
    let secs = took.as_secs_f64().max(0.001);
    let done = v.pages_completed + v.pages_failed;
    println!("job        {}", v.job_id);
    println!("status     {}", v.status.as_str());
    println!("start      {}", v.options.start_url);
    println!("stored     {} pages with content", v.pages_completed);
    println!(
        "failed     {} pages (recorded with their error)",
        v.pages_failed
    );
    println!(
        "skipped    {} URLs (duplicates, robots.txt, patterns, limits)",
        v.pages_skipped
    );
    println!("external   {} links to other sites", v.external_links);
    if let Some(n) = v.pages_indexed {
        println!("searchable {n} pages (query them: browser-automation-service query \"...\")");
    }
    println!("took       {secs:.1}s ({:.1} pages/s)", done as f64 / secs);
    for p in &failed.pages {
        let e = p.page.error.as_ref();
        println!(
            "  failed   {}  {}",
            p.page.url,
            e.map(|e| e.code.to_string()).unwrap_or_default()
        );
    }
}

/// `query`: search the store with the model, without browsers or job workers.
async fn query(app: &App, request: SearchRequest, json: bool) -> anyhow::Result<()> {
    let answer = app.knowledge.search(&TenantId::local(), request).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    if answer.hits.is_empty() {
        println!("nothing found (crawl a site first: browser-automation-service crawl URL)");
    }
    for (i, hit) in answer.hits.iter().enumerate() {
        println!("{}. {:.3}  {}", i + 1, hit.score, hit.url);
        println!("   {}", hit.heading_path.join(" > "));
        let text: String = hit.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = text.chars().take(300).collect();
        let more = if short.len() < text.len() { "…" } else { "" };
        println!("   {short}{more}\n");
    }
    Ok(())
}

/// Build the `crawl` command's request.
#[allow(clippy::too_many_arguments)]
fn crawl_request(
    url: String,
    max_pages: usize,
    max_depth: u32,
    render: &str,
    include: Vec<String>,
    exclude: Vec<String>,
    concurrency: usize,
) -> StartRequest {
    let render = match render {
        "always" => RenderMode::Always,
        "never" => RenderMode::Never,
        _ => RenderMode::Auto,
    };
    StartRequest {
        start_url: url,
        max_pages: Some(max_pages),
        max_depth: Some(max_depth),
        job_id: None,
        include_patterns: include,
        exclude_patterns: exclude,
        render,
        concurrency: Some(concurrency),
        webhook: None,
    }
}

/// What the command runs.
fn role_of(command: &Command) -> Role {
    let default_id = || format!("{}-{}", host_name(), std::process::id());
    match command {
        Command::Serve {
            no_engine: true,
            id,
        } => Role::ControlPlane {
            id: id.clone().unwrap_or_else(default_id),
        },
        Command::Serve { .. } => Role::Serve,
        Command::Mcp => Role::Mcp,
        Command::Worker { id, address } => Role::Worker {
            cluster: Some((
                id.clone().unwrap_or_else(default_id),
                address.clone().unwrap_or_else(host_name),
            )),
        },
        Command::Crawl { .. } => Role::Crawl,
        Command::Query { .. } | Command::Extract { .. } => Role::Query,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Extract { url, json } = cli.command {
        return extract(url, json);
    }
    let mut config = Config::from_env().context("configuration")?;
    init_logging(
        &config,
        matches!(cli.command, Command::Crawl { .. } | Command::Query { .. }),
    );
    match &cli.command {
        Command::Serve {
            no_engine: true, ..
        } => anyhow::ensure!(
            config.redis_url.is_some(),
            "`serve --no-engine` routes sessions to engine workers over Redis: set REDIS_URL"
        ),
        Command::Worker { .. } => {
            anyhow::ensure!(
                config.redis_url.is_some(),
                "`worker` takes jobs from Redis: set REDIS_URL (without it, `serve` runs jobs in-process)"
            );
        }
        Command::Crawl { .. } => config.jobs.workers = config.jobs.workers.max(1),
        _ => {}
    }
    let app = App::start(config, role_of(&cli.command)).await?;
    let result = match cli.command {
        Command::Serve { .. } => serve(&app).await,
        Command::Worker { .. } => worker(&app).await,
        Command::Mcp => mcp_stdio(&app).await,
        Command::Query {
            text,
            top_k,
            job,
            site,
            hybrid,
            json,
        } => {
            let request = SearchRequest {
                query: text,
                top_k: Some(top_k),
                job_id: job,
                site,
                hybrid: Some(hybrid),
            };
            query(&app, request, json).await
        }
        Command::Crawl {
            url,
            max_pages,
            max_depth,
            render,
            include,
            exclude,
            concurrency,
            json,
        } => {
            let request = crawl_request(
                url,
                max_pages,
                max_depth,
                &render,
                include,
                exclude,
                concurrency,
            );
            crawl(&app, CrawlArgs { request, json }).await
        }
        Command::Extract { .. } => unreachable!("handled before anything starts"),
    };
    app.shutdown().await;
    result
}

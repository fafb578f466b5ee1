//! The `browser-automation-service` binary: command-line parsing and wiring only.

use anyhow::Context;
use clap::{Parser, Subcommand};
use engine::{Config, Engine};
use std::sync::Arc;

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
    Serve,
    /// Serve MCP over stdin/stdout, for desktop MCP clients. Logs go to stderr.
    Mcp,
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

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,chromiumoxide=off,rmcp=warn"));
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

async fn serve(engine: Arc<Engine>) -> anyhow::Result<()> {
    let addr = format!("{}:{}", engine.config.host, engine.config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let result = control_api::serve(engine.clone(), listener, shutdown_signal()).await;
    tracing::info!("shutting down: closing sessions and browsers");
    engine.shutdown().await;
    result.context("HTTP server failed")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Extract { url, json } = cli.command {
        return extract(url, json);
    }
    let config = Config::from_env().context("configuration")?;
    init_logging(&config);
    let engine = Engine::start(config).await.context("starting the engine")?;
    match cli.command {
        Command::Serve => serve(engine).await,
        Command::Mcp => {
            let served = tokio::select! {
                r = mcp_server::serve_stdio(engine.clone()) => r.context("MCP over stdio"),
                _ = shutdown_signal() => Ok(()),
            };
            engine.shutdown().await;
            served
        }
        Command::Extract { .. } => unreachable!("handled before the engine starts"),
    }
}

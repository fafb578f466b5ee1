//! The forward proxy: HTTP/1.1 with `CONNECT` tunnels (HTTPS, WebSockets) and absolute-form
//! requests (plain HTTP), each admitted by [`Egress::admit`] and connected to exactly the
//! addresses it checked. A refusal answers 403 (Chromium fails the request) and is recorded for
//! the session.

use super::{Denied, Egress, Refusals};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

type Body = BoxBody<Bytes, hyper::Error>;

/// How long connecting to an admitted address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Accept connections until aborted; aborting drops every connection task with it.
pub(super) async fn serve(listener: TcpListener, egress: Arc<Egress>, refusals: Refusals) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (egress, refusals) = (egress.clone(), refusals.clone());
                connections.spawn(connection(stream, egress, refusals));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serve one client connection (several requests with keep-alive, or one tunnel).
async fn connection(stream: TcpStream, egress: Arc<Egress>, refusals: Refusals) {
    let service = hyper::service::service_fn(move |req| {
        let (egress, refusals) = (egress.clone(), refusals.clone());
        async move { handle(req, &egress, &refusals).await }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(e) = served {
        tracing::trace!(error = %e, "egress connection ended");
    }
}

/// Why a plain-HTTP request got no answer: the connection is closed instead, so that Chromium
/// fails the request with a network error (as it would without a proxy) rather than showing a
/// page of the proxy's.
#[derive(Debug)]
struct NoAnswer(String);

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoAnswer {}

/// A refused or failed request: a `CONNECT` gets a status (Chromium fails the tunnel), plain HTTP
/// gets its connection closed.
fn fail(
    req: &Request<Incoming>,
    status: StatusCode,
    why: String,
) -> Result<Response<Body>, NoAnswer> {
    if req.method() == Method::CONNECT {
        Ok(answer(status, why))
    } else {
        Err(NoAnswer(why))
    }
}

async fn handle(
    req: Request<Incoming>,
    egress: &Egress,
    refusals: &Refusals,
) -> Result<Response<Body>, NoAnswer> {
    let target = match target(&req) {
        Ok(t) => t,
        Err(why) => return fail(&req, StatusCode::BAD_REQUEST, why),
    };
    let addrs = match egress.admit(&target.host, target.port).await {
        Ok(a) => a,
        Err(Denied::Refused(why)) => {
            tracing::info!(host = %target.host, port = target.port, reason = %why, "page request refused");
            refusals.record(why.clone());
            return fail(&req, StatusCode::FORBIDDEN, why);
        }
        Err(Denied::Failed(why)) => return fail(&req, StatusCode::BAD_GATEWAY, why),
    };
    let upstream = match connect(&addrs).await {
        Ok(s) => s,
        Err(why) => return fail(&req, StatusCode::BAD_GATEWAY, why),
    };
    if req.method() == Method::CONNECT {
        Ok(tunnel(req, upstream))
    } else {
        forward(req, upstream).await
    }
}

/// Where a request goes.
struct Target {
    host: String,
    port: u16,
}

/// The host and port of a `CONNECT host:port` or an absolute-form `GET http://host/...`.
fn target(req: &Request<Incoming>) -> Result<Target, String> {
    let uri = req.uri();
    let Some(authority) = uri.authority() else {
        return Err("a proxy request names its target host".into());
    };
    let port = match (authority.port_u16(), uri.scheme_str()) {
        (Some(p), _) => p,
        (None, Some("https")) => 443,
        (None, Some("http")) | (None, None) if req.method() != Method::CONNECT => 80,
        _ => return Err(format!("`{authority}` names no port")),
    };
    if req.method() != Method::CONNECT && uri.scheme_str() != Some("http") {
        return Err(format!("only http is proxied without CONNECT, not `{uri}`"));
    }
    Ok(Target {
        host: authority.host().to_string(),
        port,
    })
}

/// Connect to the first admitted address that answers.
async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = String::from("no address");
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = format!("{addr}: {e}"),
            Err(_) => last = format!("{addr}: timed out"),
        }
    }
    Err(format!("cannot connect: {last}"))
}

/// Answer 200 and splice the client's upgraded connection to `upstream`.
fn tunnel(req: Request<Incoming>, mut upstream: TcpStream) -> Response<Body> {
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => {
                let mut client = TokioIo::new(upgraded);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
            Err(e) => tracing::trace!(error = %e, "tunnel not upgraded"),
        }
    });
    Response::new(empty())
}

/// Send a plain-HTTP request over `upstream` (origin-form, without proxy headers) and relay the
/// answer; a protocol upgrade (`101`) is spliced through.
async fn forward(
    mut req: Request<Incoming>,
    upstream: TcpStream,
) -> Result<Response<Body>, NoAnswer> {
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake(TokioIo::new(upstream))
        .await
        .map_err(|e| NoAnswer(format!("upstream: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::trace!(error = %e, "upstream connection ended");
        }
    });
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let host = req.uri().authority().map(|a| a.to_string());
    let client_upgrade = hyper::upgrade::on(&mut req);
    let (mut parts, body) = req.into_parts();
    parts.uri = path.parse().unwrap_or_default();
    parts.headers.remove("proxy-connection");
    parts.headers.remove("proxy-authorization");
    if let (false, Some(h)) = (parts.headers.contains_key(hyper::header::HOST), host) {
        if let Ok(v) = h.parse() {
            parts.headers.insert(hyper::header::HOST, v);
        }
    }
    let mut resp = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(|e| NoAnswer(format!("upstream: {e}")))?;
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        let server_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            if let (Ok(c), Ok(s)) = (client_upgrade.await, server_upgrade.await) {
                let (mut c, mut s) = (TokioIo::new(c), TokioIo::new(s));
                let _ = tokio::io::copy_bidirectional(&mut c, &mut s).await;
            }
        });
    }
    Ok(resp.map(|b| b.boxed()))
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

/// A proxy answer of its own, with a reason.
fn answer(status: StatusCode, why: String) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from(why))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

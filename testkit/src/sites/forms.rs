//! The fixture web site the end-to-end tests drive: real pages served on 127.0.0.1 with forms,
//! buttons, links, a long page, slow and never-finishing pages, a sign-in that sets a cookie,
//! and a redirect to an address the service must refuse.

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Form submissions the site received, in order.
pub type Submissions = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A running fixture site.
pub struct Site {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The port.
    pub port: u16,
    /// What was submitted to `/submit`.
    pub submissions: Submissions,
}

impl Site {
    /// A URL on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>{body}</body></html>"
    ))
}

async fn index() -> Html<String> {
    page(
        "Fixture Home",
        r#"<h1>Fixture home</h1><nav><a href="/form">Form page</a> <a href="/buttons">Buttons page</a> <a href="/long">Long page</a></nav>"#,
    )
}

async fn form() -> Html<String> {
    page(
        "Sign up",
        r#"<h1>Sign up</h1>
        <form method="post" action="/submit" id="signup">
          <label for="name">Full name</label> <input id="name" name="name" required>
          <label for="email">Email</label> <input id="email" name="email" type="email">
          <label for="pw">Password</label> <input id="pw" name="pw" type="password">
          <label><input type="checkbox" name="news" value="yes"> Newsletter</label>
          <select name="plan"><option value="free">Free</option><option value="pro">Pro</option></select>
          <button type="submit" id="send">Send</button>
        </form>"#,
    )
}

async fn submit(
    State(subs): State<Submissions>,
    Form(fields): Form<HashMap<String, String>>,
) -> Html<String> {
    let name = fields.get("name").cloned().unwrap_or_default();
    subs.lock().unwrap().push(fields);
    page(
        "Submitted",
        &format!(
            "<h1>Thanks, {}</h1><a href=\"/\">Home</a>",
            html_escape(&name)
        ),
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn login_form() -> Html<String> {
    page(
        "Sign in",
        r#"<h1>Sign in</h1>
        <form method="post" action="/login" id="login">
          <label for="user">User</label> <input id="user" name="user">
          <button type="submit" id="signin">Sign in</button>
        </form>"#,
    )
}

/// Signing in sets a session cookie (no expiry, HTTP only) and goes to `/account`.
async fn login(Form(fields): Form<HashMap<String, String>>) -> impl IntoResponse {
    let user: String = fields
        .get("user")
        .map(|u| u.chars().filter(char::is_ascii_alphanumeric).collect())
        .unwrap_or_default();
    (
        [(
            axum::http::header::SET_COOKIE,
            format!("sid={user}; Path=/; HttpOnly"),
        )],
        Redirect::to("/account"),
    )
}

/// Who is signed in (by the cookie), and the note the page keeps in local storage.
async fn account(headers: axum::http::HeaderMap) -> Html<String> {
    let user = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("sid=").map(str::to_string));
    let who = match user {
        Some(u) if !u.is_empty() => format!("Signed in as {}", html_escape(&u)),
        _ => "Not signed in".to_string(),
    };
    page(
        "Account",
        &format!(
            r#"<h1 id="who">{who}</h1>
        <p>Note: <span id="note"></span></p>
        <button id="remember" onclick="localStorage.setItem('note', 'kept'); document.getElementById('note').textContent = 'kept'">Remember</button>
        <script>document.getElementById('note').textContent = localStorage.getItem('note') || 'none';</script>"#
        ),
    )
}

async fn buttons() -> Html<String> {
    page(
        "Buttons",
        r#"<h1>Buttons</h1>
        <p>Count: <span id="count">0</span></p>
        <button id="inc" onclick="document.getElementById('count').textContent = String(Number(document.getElementById('count').textContent) + 1)">Add one</button>
        <button id="later" onclick="setTimeout(() => { const p = document.createElement('p'); p.id = 'ready'; p.textContent = 'Ready now'; document.body.appendChild(p); }, 600)">Load later</button>
        <input id="keys" placeholder="Key target">
        <a id="home" href="/">Go home</a>"#,
    )
}

async fn long() -> Html<String> {
    let mut body = String::from("<h1>Long page</h1>");
    for i in 1..=40 {
        body.push_str(&format!(
            "<h2>Section {i}</h2><p style=\"height:400px\">Paragraph {i} text.</p>"
        ));
    }
    body.push_str(r#"<a id="bottom" href="/form">Bottom link</a>"#);
    page("Long", &body)
}

async fn big() -> Html<String> {
    let mut body = String::from("<h1>Big page</h1>");
    for i in 0..3000 {
        body.push_str(&format!("<p>Paragraph number {i} with some words to make the page long.</p><a href=\"/x/{i}\">Link {i}</a>"));
    }
    page("Big", &body)
}

#[derive(serde::Deserialize)]
struct Slow {
    ms: u64,
}

async fn slow(Query(q): Query<Slow>) -> Html<String> {
    tokio::time::sleep(Duration::from_millis(q.ms)).await;
    page("Slow", &format!("<h1>Slow page after {} ms</h1>", q.ms))
}

async fn hang() -> Html<String> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    page("Never", "never")
}

async fn redirect_internal(State(port): State<u16>) -> impl IntoResponse {
    // 127.0.0.2 is loopback but not on the tests' allowlist (127.0.0.1 only).
    Redirect::temporary(&format!("http://127.0.0.2:{port}/"))
}

async fn scripted() -> Html<String> {
    // The text is assembled at run time, so it is nowhere in the page source.
    page(
        "Scripted",
        r#"<div id="app">Loading…</div>
        <script>
          setTimeout(() => {
            const h = document.createElement("h1");
            h.textContent = ["Rendered", "by", "script"].join(" ");
            const app = document.getElementById("app");
            app.replaceChildren(h);
          }, 250);
        </script>"#,
    )
}

async fn internal_link(State(port): State<u16>) -> Html<String> {
    page(
        "Internal link",
        &format!(
            r#"<img src="http://127.0.0.2:{port}/pixel.png" alt=""><a id="in" href="http://127.0.0.2:{port}/">Intranet</a>"#
        ),
    )
}

/// Start the site on a free port.
pub async fn start() -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let submissions: Submissions = Arc::default();
    let app = Router::new()
        .route("/", get(index))
        .route("/form", get(form))
        .route("/submit", post(submit).with_state(submissions.clone()))
        .route("/buttons", get(buttons))
        .route("/login", get(login_form).post(login))
        .route("/account", get(account))
        .route("/animated", get(|| async { Html(super::ANIMATED_PAGE) }))
        .route("/long", get(long))
        .route("/big", get(big))
        .route("/slow", get(slow))
        .route("/hang", get(hang))
        .route(
            "/redirect-internal",
            get(redirect_internal).with_state(port),
        )
        .route("/internal-link", get(internal_link).with_state(port))
        .route("/scripted", get(scripted));
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Site {
        base: format!("http://127.0.0.1:{port}"),
        port,
        submissions,
    }
}

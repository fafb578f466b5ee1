//! Webhooks: a local receiver gets each event once, signed with HMAC-SHA256 over the timestamp
//! and the body; a receiver that fails three times gets the event on the fourth attempt, even
//! across a restart of the service between attempts; a webhook on a refused address is refused
//! when the job starts.

use super::*;
use axum::http::{HeaderMap, StatusCode};
use common::changing_site::{ChangingSite, Validator};
use common::eventually;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

const SECRET: &str = "receiver-secret-0123456789";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    event: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

/// A receiver answering 500 to the first `fail_completed` attempts of `job.completed`.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(fail_completed: usize) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let g = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let got = g.clone();
                async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    let event = h("x-webhook-event");
                    let mut got = got.lock().unwrap();
                    let tries = got.iter().filter(|r| r.event == event).count();
                    let answered = if event == "job.completed" && tries < fail_completed {
                        500
                    } else {
                        200
                    };
                    got.push(Received {
                        id: h("x-webhook-id"),
                        event,
                        timestamp: h("x-webhook-timestamp"),
                        signature: h("x-webhook-signature"),
                        body,
                        answered,
                    });
                    StatusCode::from_u16(answered).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got }
    }

    fn of(&self, event: &str) -> Vec<Received> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|r| r.event == event).cloned().collect()
    }
}

/// What a receiver checks: HMAC-SHA256 over `{timestamp}.{body}` with the shared secret.
fn signed(r: &Received) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", r.timestamp, r.body).as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    expected == r.signature
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_deliver_each_event_once_signed_and_retry_across_a_restart() {
    let site = ChangingSite::start().await;
    site.set(
        "/",
        "Home",
        "<p>The home of the handbook.</p><a href=\"/a\">A</a>",
        Validator::ETag,
    );
    site.set(
        "/a",
        "Lenses",
        "<p>Lenses bend light to a focus.</p>",
        Validator::ETag,
    );
    let receiver = Receiver::start(3).await;
    let mut svc = Service::start(&[]).await;
    let webhook = json!({
        "url": receiver.url,
        "secret": SECRET,
        "events": ["job.started", "job.completed", "page.completed"],
    });
    let job = svc
        .start_job(json!({"start_url": site.url("/"), "render": "never", "webhook": webhook}))
        .await;
    svc.wait_job(&job, Duration::from_secs(60), |v| {
        v["status"] == "completed"
    })
    .await;
    // The first attempt of `job.completed` fails; the service restarts before the next.
    let r = receiver.clone();
    eventually(20, "the first attempt of job.completed", || {
        let r = r.clone();
        async move { (!r.of("job.completed").is_empty()).then_some(()) }
    })
    .await;
    svc.stop();
    let data_dir = svc.data_dir.clone();
    drop(svc);
    let svc = Service::start_in(data_dir, &[]).await;
    let r = receiver.clone();
    eventually(60, "job.completed delivered after the restart", || {
        let r = r.clone();
        async move {
            r.of("job.completed")
                .iter()
                .any(|x| x.answered == 200)
                .then_some(())
        }
    })
    .await;

    let completed = receiver.of("job.completed");
    let answers: Vec<u16> = completed.iter().map(|r| r.answered).collect();
    assert_eq!(
        answers,
        [500, 500, 500, 200],
        "delivered on the fourth attempt"
    );
    assert!(
        completed.iter().all(|r| r.id == completed[0].id),
        "one delivery, retried"
    );
    let started = receiver.of("job.started");
    assert_eq!(started.len(), 1, "{started:?}");
    let pages = receiver.of("page.completed");
    let mut urls: Vec<String> = pages
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["page"]["url"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    urls.sort();
    assert_eq!(urls, [site.url("/"), site.url("/a")], "each page once");
    for r in receiver.got.lock().unwrap().iter() {
        assert!(signed(r), "bad signature on {r:?}");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            (body["id"].as_str(), body["event"].as_str()),
            (Some(r.id.as_str()), Some(r.event.as_str()))
        );
    }
    let done: Value = serde_json::from_str(&completed[3].body).unwrap();
    assert_eq!(done["job"]["job_id"], job.as_str());
    assert_eq!(done["job"]["status"], "completed");
    assert_eq!(done["job"]["pages_completed"], 2);

    // The status shows every delivery and its attempts, never the secret.
    let status = svc.job(&job).await;
    let hook = &status["webhook"];
    assert_eq!(hook["url"], receiver.url.as_str());
    assert!(!status.to_string().contains(SECRET));
    let deliveries = hook["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 4, "{hook}");
    let d = deliveries
        .iter()
        .find(|d| d["event"] == "job.completed")
        .unwrap();
    assert_eq!(d["status"], "delivered");
    let codes: Vec<_> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [json!(500), json!(500), json!(500), json!(200)]);
    assert!(
        deliveries.iter().all(|d| d["status"] == "delivered"),
        "{hook}"
    );

    // Refused at the start: an address the network policy refuses, a secret too short.
    let refused = |url: &str, secret: &str| json!({"start_url": site.url("/"), "webhook": {"url": url, "secret": secret}});
    let (s, v) = svc
        .post_json(
            "/api/knowledge/explore/start",
            refused("http://10.20.30.40/hook", SECRET),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("blocked_url")), "{v}");
    let (s, v) = svc
        .post_json(
            "/api/knowledge/explore/start",
            refused("http://169.254.169.254/latest", SECRET),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("blocked_url")), "{v}");
    let (s, v) = svc
        .post_json(
            "/api/knowledge/explore/start",
            refused(&receiver.url, "short"),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (_, list) = svc.get_json("/api/knowledge/explore/jobs").await;
    assert_eq!(
        list["jobs"].as_array().unwrap().len(),
        1,
        "nothing started: {list}"
    );
}

//! File ingestion end to end, against the real binary: uploads of every file type with the
//! embedded backends; and the platform's path with a real MongoDB-compatible server (SecantusDB)
//! and a real S3-compatible server that verifies signatures (s3s-fs): presigned-URL ingestion,
//! an expired URL (re-signed when the service holds S3 credentials, a clear failure when it
//! does not), a tampered URL, retries of a flaky download, and hostile files. Ingested files are
//! found by semantic search like crawled pages.

mod common;
use testkit::documents as fixtures;
use testkit::servers;

use common::Service;
use platform::files::{FileStore, S3Config, S3Files};
use serde_json::{json, Value};
use servers::{MongoServer, S3Server, S3_ACCESS_KEY, S3_SECRET_KEY};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

async fn upload(
    svc: &Service,
    name: &str,
    ctype: Option<&str>,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    if let Some(c) = ctype {
        part = part.mime_str(c).unwrap();
    }
    let mut form = reqwest::multipart::Form::new().part("file", part);
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let r = common::http_client(Duration::from_secs(60))
        .post(format!("{}/api/knowledge/ingest/upload", svc.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn ingested(svc: &Service, job_id: &str) -> Value {
    let done = svc.wait_indexed(job_id, WAIT).await;
    assert_eq!(done["status"], "completed", "{done}\n{}", svc.log());
    let pages = svc.all_pages(job_id).await;
    assert_eq!(pages.len(), 1, "one page per file: {pages:?}");
    pages[0].clone()
}

/// Wait until the job a start answer (`202`) names has completed or failed; its final status.
async fn ended(svc: &Service, accepted: &Value) -> Value {
    let id = accepted["job_id"].as_str().unwrap();
    svc.wait_job(id, WAIT, |j| {
        j["status"] == "failed" || j["status"] == "completed"
    })
    .await
}

async fn search(svc: &Service, query: &str, job_id: &str) -> Value {
    let (status, v) = svc
        .post_json(
            "/api/knowledge/search",
            json!({"query": query, "job_id": job_id, "top_k": 3}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn every_file_type_is_ingested_from_an_upload_and_searchable() {
    let svc = Service::start(&[]).await;
    let cases: Vec<(&str, Option<&str>, Vec<u8>, &str)> = vec![
        ("manual.pdf", None, fixtures::pdf(&[&["The rotor must be greased every 300 hours."]]), "greased every 300 hours"),
        ("report.docx", None, fixtures::docx("Rotor report", &[("Heading1", "Findings"), ("", "Bearing wear doubled in cold weather.")]), "Bearing wear doubled in cold weather."),
        ("deck.pptx", None, fixtures::pptx(&[("Roadmap", &["Ship the quiet rotor in spring."])]), "Ship the quiet rotor in spring."),
        ("notes.md", None, b"# Notes\n\nThe flux gasket is made of cork.\n".to_vec(), "flux gasket is made of cork"),
        ("plain.txt", Some("text/plain"), b"Coolant must stay below forty degrees.".to_vec(), "Coolant must stay below forty degrees."),
        ("page.html", None, b"<html><head><title>Care</title></head><body><main><p>Polish the housing with a dry cloth.</p></main></body></html>".to_vec(), "Polish the housing with a dry cloth."),
        ("specs.json", None, br#"{"rotor": {"max_rpm": 4200}}"#.to_vec(), "\"max_rpm\": 4200"),
        ("deploy.yaml", None, b"rotor:\n  replicas: 3\n".to_vec(), "replicas: 3"),
        ("feed.xml", None, b"<feed><title>Rotor news</title><entry>New seals shipped.</entry></feed>".to_vec(), "New seals shipped."),
        ("spin.py", None, b"def spin(rpm):\n    return rpm * 2\n".to_vec(), "def spin(rpm)"),
    ];
    let mut jobs = Vec::new();
    for (name, ctype, bytes, _) in &cases {
        let (status, v) = upload(&svc, name, *ctype, bytes.clone(), &[]).await;
        assert_eq!(status, 202, "{name}: {v}");
        assert_eq!(v["kind"], "ingestion");
        jobs.push(v["job_id"].as_str().unwrap().to_string());
    }
    for ((name, _, _, phrase), job) in cases.iter().zip(&jobs) {
        let page = ingested(&svc, job).await;
        let md = page["markdown"].as_str().unwrap();
        assert!(md.contains(phrase), "{name}: {phrase:?} not in {md}");
        assert_eq!(page["fetched_via"], "file");
        assert!(
            page["url"]
                .as_str()
                .unwrap()
                .starts_with("files:///local/knowledge/"),
            "{page}"
        );
    }
    let code = svc.all_pages(&jobs[9]).await;
    assert_eq!(
        code[0]["code_blocks"][0]["language"], "python",
        "code is kept as code"
    );

    // Found by meaning, like crawled pages.
    let found = search(&svc, "how often should the rotor be lubricated?", &jobs[0]).await;
    assert!(
        found["hits"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("greased"),
        "{found}"
    );
    let found = search(&svc, "what happens to bearings when it is cold", &jobs[1]).await;
    assert!(
        found["hits"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Bearing wear"),
        "{found}"
    );

    // The uploaded files are kept in the local file store.
    let kept = std::fs::read_dir(svc.data_dir.join("files/local/knowledge"))
        .unwrap()
        .count();
    assert_eq!(kept, cases.len());
}

#[tokio::test]
async fn media_files_keep_metadata_and_video_thumbnails() {
    let svc = Service::start(&[]).await;
    let (status, v) = upload(&svc, "hum.wav", None, fixtures::wav(2), &[]).await;
    assert_eq!(status, 202, "{v}");
    let page = ingested(&svc, v["job_id"].as_str().unwrap()).await;
    let md = page["markdown"].as_str().unwrap();
    assert!(md.contains("Audio file `hum.wav`: wav"), "{md}");
    assert!(md.contains("0:02 long"), "{md}");
    assert!(md.contains("No transcript"), "{md}");

    let (status, v) = upload(
        &svc,
        "tour.mp4",
        None,
        fixtures::mp4(3),
        &[("extract_thumbnails", "true")],
    )
    .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["options"]["file"]["source_type"], "video");
    let page = ingested(&svc, v["job_id"].as_str().unwrap()).await;
    let md = page["markdown"].as_str().unwrap();
    assert!(md.contains("Video file `tour.mp4`: mp4"), "{md}");
    assert!(md.contains("0:03 long"), "{md}");
    let thumbs = page["files"].as_array().expect("thumbnail keys");
    assert_eq!(thumbs.len(), 3, "{page}");
    for key in thumbs {
        let path = svc.data_dir.join("files").join(key.as_str().unwrap());
        let jpeg = std::fs::read(&path).unwrap();
        assert_eq!(
            &jpeg[..3],
            &[0xFF, 0xD8, 0xFF],
            "{} is a JPEG",
            path.display()
        );
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_and_hostile_files_fail_only_their_job() {
    let svc = Service::start(&[]).await;
    // The type is checked from the content at once.
    let (status, v) = upload(
        &svc,
        "invoice.pdf",
        None,
        b"MZ\x90\0 this is an executable".to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, 415, "{v}");
    assert_eq!(v["code"], "unsupported_file_type");
    // Limits are enforced while the upload arrives (data files: 10 MB).
    let (status, v) = upload(&svc, "big.json", None, vec![b' '; 11 * 1024 * 1024], &[]).await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["code"], "file_too_large");
    let (status, v) = upload(&svc, "x.json", None, b"{}".to_vec(), &[("colour", "red")]).await;
    assert_eq!(status, 400, "{v}");
    // The form's fields are checked too (multipart carries text: what each must hold is said
    // in the error).
    for (field, value, says) in [
        ("extract_code_blocks", "maybe", "must be true or false"),
        ("extract_thumbnails", "{}", "must be true or false"),
        ("source_type", "7", "`file` or `video`"),
    ] {
        let (status, v) = upload(&svc, "x.json", None, b"{}".to_vec(), &[(field, value)]).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("bad_request")),
            "{field}: {v}"
        );
        assert!(
            v["detail"].as_str().unwrap_or_default().contains(says),
            "{field}: {v}"
        );
    }

    // Files that look right but are broken or hostile fail their job with a reason, at once.
    let bomb = fixtures::docx_bomb(80);
    let pdf = fixtures::pdf(&[&["fine"]]);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let hostile: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bomb.docx", bomb, "zip bomb"),
        ("broken.pdf", pdf[..pdf.len() / 2].to_vec(), "PDF"),
        ("deep.json", deep.into_bytes(), "nested"),
    ];
    for (name, bytes, why) in hostile {
        let (status, v) = upload(&svc, name, None, bytes, &[]).await;
        assert_eq!(status, 202, "{name}: {v}");
        let done = ended(&svc, &v).await;
        assert_eq!(done["status"], "failed", "{name}: {done}");
        assert_eq!(done["error"]["code"], "malformed_file", "{name}: {done}");
        assert!(
            done["error"]["message"].as_str().unwrap().contains(why),
            "{name}: {done}"
        );
        assert_eq!(done["attempts"], 1, "a hostile file is not retried: {done}");
    }
    // The process kept serving.
    assert_eq!(svc.health().await["status"], "ok");
    let (status, v) = upload(&svc, "ok.md", None, b"# Still fine\n".to_vec(), &[]).await;
    assert_eq!(status, 202, "{v}");
    ingested(&svc, v["job_id"].as_str().unwrap()).await;
}

/// A bucket on a real S3-compatible server, and a client of it for the test's own uploads.
async fn bucket() -> (S3Server, S3Files) {
    let s3 = S3Server::start();
    s3.create_bucket("platform");
    let files = S3Files::connect(S3Config {
        provider: "s3s-fs".into(),
        endpoint: Some(s3.endpoint()),
        region: "us-east-1".into(),
        bucket: "platform".into(),
        access_key_id: Some(S3_ACCESS_KEY.into()),
        secret_access_key: Some(S3_SECRET_KEY.into()),
        path_style: true,
    })
    .await
    .unwrap();
    (s3, files)
}

/// The service's settings for the test's S3-compatible server (the bucket `platform`).
fn s3_env(endpoint: &str) -> [(&'static str, &str); 6] {
    [
        ("S3_PROVIDER", "s3s-fs"),
        ("S3_ENDPOINT", endpoint),
        ("S3_REGION", "us-east-1"),
        ("S3_BUCKET", "platform"),
        ("S3_ACCESS_KEY_ID", S3_ACCESS_KEY),
        ("S3_SECRET_ACCESS_KEY", S3_SECRET_KEY),
    ]
}

async fn put(files: &S3Files, key: &str, bytes: &[u8]) {
    let path = std::env::temp_dir().join(format!("bas-put-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, bytes).unwrap();
    files
        .put_file(key, &path, "application/octet-stream")
        .await
        .unwrap();
    std::fs::remove_file(path).ok();
}

fn start_body(key: &str, url: &str, filename: &str, size: usize, expires_at: &str) -> Value {
    json!({
        "source_type": "file",
        "s3_reference": {"bucket": "platform", "key": key, "region": "us-east-1",
                         "presigned_url": url, "expires_at": expires_at},
        "file_metadata": {"filename": filename, "size": size,
                          "uploaded_at": "2026-11-25T10:00:00Z"},
        "options": {"extract_code_blocks": true}
    })
}

#[tokio::test]
async fn presigned_ingestion_on_mongodb_and_s3() {
    let mongo = MongoServer::start();
    let (s3, files) = bucket().await;
    let endpoint = s3.endpoint();
    let uri = mongo.uri();
    let mongo_env = [
        ("MONGODB_URI", uri.as_str()),
        ("MONGODB_DATABASE", "bas_e2e"),
    ];
    let svc = Service::start(&[&mongo_env[..], &s3_env(&endpoint)].concat()).await;
    let health = svc.health().await;
    assert_eq!(health["store"]["backend"], "mongodb", "{health}");
    assert_eq!(health["files"]["backend"], "s3", "{health}");
    assert!(
        !svc.log().contains(S3_SECRET_KEY),
        "the secret is never logged"
    );

    let doc = fixtures::docx(
        "Field guide",
        &[("", "Seal the rotor housing before washing it.")],
    );
    let key = "org-a/knowledge/kn-1/1764064800000-field_guide.docx";
    put(&files, key, &doc).await;
    let url = files
        .presign_get(None, key, Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap();
    let (status, v) = svc
        .post_json(
            "/api/knowledge/ingest/start",
            start_body(
                key,
                &url,
                "field guide.docx",
                doc.len(),
                "2099-01-01T00:00:00Z",
            ),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let shown = v["options"]["file"]["s3_reference"]["presigned_url"]
        .as_str()
        .unwrap();
    assert!(
        !shown.contains("X-Amz-Signature"),
        "the signature is not echoed: {shown}"
    );
    let job = v["job_id"].as_str().unwrap().to_string();
    let page = ingested(&svc, &job).await;
    assert_eq!(page["url"], format!("s3://platform/{key}"));
    assert_eq!(page["title"], "Field guide");
    let found = search(&svc, "cleaning the housing", &job).await;
    assert!(
        found["hits"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Seal the rotor housing"),
        "{found}"
    );

    // An expired URL: the service holds S3 credentials, so it signs a fresh one.
    let short = files
        .presign_get(None, key, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, v) = svc
        .post_json(
            "/api/knowledge/ingest/start",
            start_body(key, &short, "guide.docx", doc.len(), "2020-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    ingested(&svc, v["job_id"].as_str().unwrap()).await;

    // A tampered URL (another key under the same signature) fails at once, not retried.
    put(&files, "org-a/knowledge/kn-1/secret.docx", &doc).await;
    let tampered = url.replace("field_guide.docx", "secret.docx");
    let (status, v) = svc
        .post_json(
            "/api/knowledge/ingest/start",
            start_body(
                "org-a/knowledge/kn-1/secret.docx",
                &tampered,
                "secret.docx",
                doc.len(),
                "2099-01-01T00:00:00Z",
            ),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let done = ended(&svc, &v).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "download_rejected", "{done}");
    assert_eq!(done["attempts"], 1);
    assert!(!done.to_string().contains("X-Amz-Signature"), "{done}");

    // Declared sizes over the type's limit are refused before anything is fetched.
    let (status, v) = svc
        .post_json(
            "/api/knowledge/ingest/start",
            start_body(
                key,
                &url,
                "huge.docx",
                60 * 1024 * 1024,
                "2099-01-01T00:00:00Z",
            ),
        )
        .await;
    assert_eq!(status, 413, "{v}");
    // Unknown jobs stay unknown.
    let (status, v) = svc.get_json("/api/knowledge/explore/status/nope").await;
    assert_eq!((status, v["code"].as_str()), (404, Some("job_not_found")));
    drop(mongo);
}

#[tokio::test]
async fn without_s3_credentials_an_expired_url_fails_with_its_reason() {
    let (_s3, files) = bucket().await;
    let svc = Service::start(&[]).await;
    let key = "org-a/knowledge/kn-2/1-notes.md";
    put(&files, key, b"# Notes\n\nShort-lived.\n").await;
    let short = files
        .presign_get(None, key, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, v) = svc
        .post_json(
            "/api/knowledge/ingest/start",
            start_body(key, &short, "notes.md", 22, "2020-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let done = ended(&svc, &v).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "presigned_url_expired", "{done}");
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new presigned URL"),
        "{done}"
    );

    // Without a presigned URL and without credentials: refused at once.
    let mut body = start_body(key, "", "notes.md", 22, "2099-01-01T00:00:00Z");
    body["s3_reference"]
        .as_object_mut()
        .unwrap()
        .remove("presigned_url");
    let (status, v) = svc.post_json("/api/knowledge/ingest/start", body).await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test]
async fn a_flaky_download_is_retried_with_backoff() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/bucket/notes.md",
        axum::routing::get(move || {
            let n = h.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "busy".to_string(),
                    )
                } else {
                    (
                        axum::http::StatusCode::OK,
                        "# Flaky\n\nArrived on the third try.\n".to_string(),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let svc = Service::start(&[]).await;
    let url = format!("http://{addr}/bucket/notes.md?X-Amz-Signature=abc");
    let (status, v) = svc
        .post_json(
            "/api/knowledge/ingest/start",
            start_body("notes.md", &url, "notes.md", 40, "2099-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let page = ingested(&svc, v["job_id"].as_str().unwrap()).await;
    assert!(page["markdown"].as_str().unwrap().contains("third try"));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "two failures, then the file"
    );

    // A private-network URL not on the allowlist is refused at once.
    let (status, v) = svc
        .post_json(
            "/api/knowledge/ingest/start",
            start_body(
                "k",
                "http://10.1.2.3/x.md",
                "x.md",
                1,
                "2099-01-01T00:00:00Z",
            ),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("blocked_url")),
        "{v}"
    );
}

/// With the S3 backend and several tenants, an S3 reference without a presigned URL is read with
/// the service's own credentials only in its bucket and under the caller's prefix: another
/// tenant's key, another bucket or a key that climbs out answer 403 at once.
#[tokio::test]
async fn s3_references_stay_within_the_tenants_prefix() {
    let (s3, files) = bucket().await;
    let endpoint = s3.endpoint();
    let keys = [("API_KEYS", "key-a:org-a,key-b:org-b")];
    let svc = Service::start(&[&keys[..], &s3_env(&endpoint)].concat())
        .await
        .with_key("key-a");
    let key = "org-a/knowledge/kn-9/1-notes.md";
    put(&files, key, b"# Notes\n\nThe pump runs on Tuesdays.\n").await;
    let body = |bucket: &str, key: &str| {
        json!({"source_type": "file",
               "s3_reference": {"bucket": bucket, "key": key},
               "file_metadata": {"filename": "notes.md"}})
    };
    // The owner reads its own file with the service's credentials.
    let (status, v) = svc
        .post_json("/api/knowledge/ingest/start", body("platform", key))
        .await;
    assert_eq!(status, 202, "{v}");
    ingested(&svc, v["job_id"].as_str().unwrap()).await;
    // Another tenant naming it is refused before anything is fetched.
    let r = common::http_client(Duration::from_secs(30))
        .post(format!("{}/api/knowledge/ingest/start", svc.base))
        .bearer_auth("key-b")
        .json(&body("platform", key))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "forbidden");
    // So are another bucket and a key that climbs out of the prefix.
    for (bucket, k) in [
        ("elsewhere", key),
        ("platform", "org-a/../org-b/secret.md"),
        ("platform", "org-b/knowledge/x.md"),
    ] {
        let (status, v) = svc
            .post_json("/api/knowledge/ingest/start", body(bucket, k))
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("forbidden")),
            "{bucket}/{k}: {v}"
        );
    }
}

/// An upload takes a webhook as a form field, checked like the start bodies': a receiver the
/// network policy refuses is refused before the file is kept, and an allowed one gets the job's
/// events.
#[tokio::test]
async fn an_upload_pushes_its_events_to_a_webhook() {
    let got: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let g = g.clone();
            async move {
                let event = headers.get("x-webhook-event").and_then(|v| v.to_str().ok());
                g.lock().unwrap().push(event.unwrap_or("").to_string());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let svc = Service::start(&[]).await;
    let text = b"Webhooks tell the platform when an uploaded file is ready.".to_vec();
    let webhook = |url: &str| json!({"url": url, "secret": "upload-secret-0123456789"}).to_string();
    let refused = webhook("http://10.9.8.7/hook");
    let (status, v) = upload(&svc, "a.txt", None, text.clone(), &[("webhook", &refused)]).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("blocked_url")),
        "{v}"
    );
    let (status, v) = upload(
        &svc,
        "a.txt",
        None,
        text.clone(),
        &[("webhook", "{not json")],
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let allowed = webhook(&hook);
    let (status, v) = upload(&svc, "a.txt", None, text, &[("webhook", &allowed)]).await;
    assert_eq!(status, 202, "{v}");
    ingested(&svc, v["job_id"].as_str().unwrap()).await;
    common::eventually(
        30,
        "job.started and job.completed are delivered",
        || async {
            let got = got.lock().unwrap().clone();
            (got.contains(&"job.started".to_string()) && got.contains(&"job.completed".to_string()))
                .then_some(())
        },
    )
    .await;
    let status = svc.job(v["job_id"].as_str().unwrap()).await;
    assert_eq!(status["webhook"]["url"], hook.as_str(), "{status}");
}

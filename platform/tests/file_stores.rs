//! The file stores against what backs them: the local directory, and a real S3-compatible server
//! (s3s-fs, started here) that verifies SigV4 signatures and presigned URLs. One suite runs on
//! both; presigned URLs are checked on S3 (the local directory has none).

use testkit::servers;

use platform::files::{knowledge_key, FileStore, LocalFiles, S3Config, S3Files};
use servers::{S3Server, S3_ACCESS_KEY, S3_SECRET_KEY};
use std::path::PathBuf;
use std::time::Duration;

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bas-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s3_config(server: &S3Server, secret: &str) -> S3Config {
    S3Config {
        provider: "s3s-fs".into(),
        endpoint: Some(server.endpoint()),
        region: "us-east-1".into(),
        bucket: "knowledge".into(),
        access_key_id: Some(S3_ACCESS_KEY.into()),
        secret_access_key: Some(secret.into()),
        path_style: true,
    }
}

async fn s3() -> (S3Server, S3Files) {
    let server = S3Server::start();
    server.create_bucket("knowledge");
    let files = S3Files::connect(s3_config(&server, S3_SECRET_KEY))
        .await
        .unwrap();
    (server, files)
}

async fn stores_round_trip_files_and_enforce_limits(store: &dyn FileStore) {
    let dir = temp("files");
    let src = dir.join("in.md");
    let body = "# Rotor manual\n\nTurn it clockwise.\n".repeat(100);
    std::fs::write(&src, &body).unwrap();
    let key = knowledge_key("org-a", "kn-1", 1_700_000_000_000, "Rotor manual (v2).md");
    assert_eq!(
        key,
        "org-a/knowledge/kn-1/1700000000000-Rotor_manual_v2_.md"
    );
    let n = store.put_file(&key, &src, "text/markdown").await.unwrap();
    assert_eq!(n, body.len() as u64);
    store.health().await.unwrap();

    let out = dir.join("out.md");
    let got = store.get_file(None, &key, &out, 1 << 20).await.unwrap();
    assert_eq!(got, body.len() as u64);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), body);

    let small = store
        .get_file(None, &key, &dir.join("small.md"), 100)
        .await
        .unwrap_err();
    assert_eq!(small.code(), "file_too_large", "{small}");

    let missing = store
        .get_file(None, "org-a/knowledge/kn-1/none.md", &dir.join("x"), 100)
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "file_not_found", "{missing}");

    assert_eq!(
        store
            .put_file("../escape", &src, "text/plain")
            .await
            .unwrap_err()
            .code(),
        "invalid_request"
    );

    store.delete(&key).await.unwrap();
    assert_eq!(
        store
            .get_file(None, &key, &out, 1 << 20)
            .await
            .unwrap_err()
            .code(),
        "file_not_found"
    );
    store.delete(&key).await.unwrap();
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn local_directory_store() {
    let root = temp("local-files");
    let store = LocalFiles::open(&root).unwrap();
    stores_round_trip_files_and_enforce_limits(&store).await;
    assert_eq!(
        store
            .presign_get(None, "a/b", Duration::from_secs(60))
            .await
            .unwrap(),
        None
    );
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn s3_compatible_store() {
    let (_server, store) = s3().await;
    stores_round_trip_files_and_enforce_limits(&store).await;
}

#[tokio::test]
async fn presigned_urls_work_until_they_expire_and_only_as_signed() {
    let (_server, store) = s3().await;
    let dir = temp("presign");
    let src = dir.join("a.txt");
    std::fs::write(&src, "hello rotor").unwrap();
    let key = "org-a/knowledge/kn-1/1-a.txt";
    store.put_file(key, &src, "text/plain").await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();

    let url = store
        .presign_get(None, key, Duration::from_secs(3600))
        .await
        .unwrap()
        .expect("S3 presigns");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(
        !url.contains(S3_SECRET_KEY),
        "the secret never appears in a URL"
    );
    let ok = http.get(&url).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "hello rotor");

    // Another key with the same signature: refused by the server.
    let tampered = url.replace("1-a.txt", "1-b.txt");
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);

    let short = store
        .presign_get(None, key, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = http.get(&short).send().await.unwrap();
    assert_eq!(expired.status(), 403, "an expired URL is refused");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn wrong_credentials_are_a_clear_error_without_the_secret() {
    let server = S3Server::start();
    server.create_bucket("knowledge");
    let store = S3Files::connect(s3_config(&server, "not-the-secret-xyz"))
        .await
        .unwrap();
    let err = store.health().await.unwrap_err();
    assert_eq!(err.code(), "file_store_error");
    assert!(!err.to_string().contains("not-the-secret-xyz"), "{err}");
    let cfg = format!("{:?}", s3_config(&server, "not-the-secret-xyz"));
    assert!(!cfg.contains("not-the-secret-xyz"), "{cfg}");
    assert!(!cfg.contains(S3_ACCESS_KEY), "{cfg}");
}

//! The API does what its OpenAPI document says: schemathesis (PyPI) generates requests from
//! `/openapi.json`, valid and invalid, and checks every answer against the document (status codes,
//! media types, response schemas, headers, no server errors, invalid data refused). The service
//! and schemathesis run in a network namespace of their own with only loopback, so the URLs it
//! makes up reach nothing outside (see tests/schemathesis/run.sh and schemathesis.toml).

mod common;

use std::process::Command;

#[test]
fn the_api_conforms_to_its_openapi_document() {
    let venv = std::env::var("BAS_VENV").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/.cache/browser-automation-service/venv")
    });
    let schemathesis = format!("{venv}/bin/schemathesis");
    assert!(
        std::path::Path::new(&schemathesis).exists(),
        "schemathesis is not installed in {venv}: run scripts/test.sh (it installs it)"
    );
    let data_dir = common::temp_dir("schemathesis");
    // As root a network namespace is ours to make; otherwise inside a user namespace of our own
    // (where the kernel allows unprivileged ones).
    let mut unshare = vec!["--net", "--fork"];
    if unsafe { libc::geteuid() } != 0 {
        unshare.splice(0..0, ["--user", "--map-root-user"]);
    }
    let out = Command::new("unshare")
        .args(&unshare)
        .arg("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/schemathesis/run.sh"
        ))
        .arg(common::BIN)
        .arg(&schemathesis)
        .env("DATA_DIR", &data_dir)
        .env("MODELS_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
        .env("MAX_SESSIONS", "4")
        .env("SESSION_IDLE_TIMEOUT_SECS", "0")
        .env("RUST_LOG", "warn,chromiumoxide=off")
        .env_remove("PRIVATE_NETWORK_ALLOWLIST")
        .env_remove("REDIS_URL")
        .env_remove("MONGODB_URI")
        .env_remove("API_KEYS")
        .output()
        .expect("unshare runs (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(data_dir.join("service.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{stderr}\nservice log (tail):\n{}",
        log.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        stdout.contains("API Operations") && stdout.contains("Tested: 2"),
        "schemathesis tested no operation:\n{stdout}"
    );
    // The run's summary (shown with --no-capture).
    let summary = stdout
        .find("SUMMARY")
        .map(|i| &stdout[i..])
        .unwrap_or(&stdout);
    println!("{summary}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

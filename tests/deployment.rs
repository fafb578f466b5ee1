//! The deployment in `docker/`: the compose file as Debian's `docker-compose` reads it (a
//! control plane, two workers and every backend, with health checks and restart policies), and
//! the Kubernetes example as YAML. Building and running the images needs a registry and a Docker
//! daemon, which the tests do not have; the README says so.

mod common;

use serde_json::Value;
use std::process::Command;

const COMPOSE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/compose.yaml");

/// `docker-compose config` of the compose file, as JSON (through the tests' Python, which reads
/// the YAML it prints).
fn compose_config() -> Value {
    let out = Command::new("docker-compose")
        .args(["-f", COMPOSE, "config"])
        .output()
        .expect("run docker-compose (install Debian's docker-compose)");
    assert!(
        out.status.success(),
        "docker-compose refuses the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_to_json(&String::from_utf8(out.stdout).unwrap(), false)
}

/// YAML (one document, or all of a stream) as JSON, read by PyYAML in the tests' Python.
fn yaml_to_json(yaml: &str, all: bool) -> Value {
    use std::io::Write;
    let script = if all {
        "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))"
    } else {
        "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"
    };
    let mut child = Command::new(common::python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not YAML");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_compose_file_runs_a_control_plane_two_workers_and_every_backend() {
    let config = compose_config();
    let services = config["services"].as_object().unwrap();
    for name in [
        "control-plane",
        "worker-1",
        "worker-2",
        "redis",
        "mongo",
        "minio",
        "qdrant",
        "livekit",
    ] {
        assert!(services.contains_key(name), "no service {name}");
    }
    let cp = &services["control-plane"];
    assert_eq!(cp["command"], serde_json::json!(["serve", "--no-engine"]));
    assert!(cp["healthcheck"]["test"].to_string().contains("/health"));
    let (mut ids, mut udp) = (Vec::new(), Vec::new());
    for w in ["worker-1", "worker-2"] {
        let s = &services[w];
        assert_eq!(s["command"], serde_json::json!(["worker"]), "{w}");
        assert_eq!(s["restart"], "unless-stopped", "{w}");
        assert!(
            s["healthcheck"]["test"].to_string().contains("/health"),
            "{w}"
        );
        // Enough time to drain: sessions move to the other worker before it exits.
        assert_eq!(s["stop_grace_period"], "60s", "{w}");
        let env = &s["environment"];
        assert_eq!(env["REDIS_URL"], "redis://redis:6379", "{w}");
        ids.push(env["WORKER_ID"].as_str().unwrap().to_string());
        udp.push(env["WEBRTC_UDP_ADDRS"].as_str().unwrap().to_string());
    }
    assert_ne!(ids[0], ids[1], "two workers with one id");
    assert_ne!(udp[0], udp[1], "two workers on one WebRTC port");
    // Every part shares the same backends.
    for name in ["control-plane", "worker-1", "worker-2"] {
        let env = &services[name]["environment"];
        assert_eq!(env["MONGODB_URI"], "mongodb://mongo:27017", "{name}");
        assert_eq!(env["QDRANT_URL"], "http://qdrant:6333", "{name}");
        assert_eq!(env["S3_ENDPOINT"], "http://minio:9000", "{name}");
    }
}

#[test]
fn the_kubernetes_example_has_a_deployment_per_role_and_scales_workers_with_keda() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/k8s");
    let mut docs = Vec::new();
    for f in ["control-plane.yaml", "worker.yaml", "keda.yaml"] {
        let text = std::fs::read_to_string(format!("{dir}/{f}")).unwrap();
        docs.extend(yaml_to_json(&text, true).as_array().unwrap().clone());
    }
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .clone()
    };
    let cp = find("Deployment", "bas-control-plane");
    let args = &cp["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(*args, serde_json::json!(["serve", "--no-engine"]));
    let worker = find("Deployment", "bas-worker");
    let spec = &worker["spec"]["template"]["spec"];
    assert_eq!(spec["containers"][0]["args"], serde_json::json!(["worker"]));
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert!(spec["terminationGracePeriodSeconds"].as_u64().unwrap() >= 60);
    assert_eq!(
        worker["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    let scaled = find("ScaledObject", "bas-worker");
    let triggers = scaled["spec"]["triggers"].as_array().unwrap();
    let kinds: Vec<&str> = triggers
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["redis-streams", "prometheus"]);
    assert_eq!(triggers[0]["metadata"]["stream"], "bas:jobs");
    assert!(triggers[1]["metadata"]["query"]
        .as_str()
        .unwrap()
        .contains("bas_cluster_worker_free_slots"));
}

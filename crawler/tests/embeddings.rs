//! The Rust embedder against the reference implementation: vectors made by sentence-transformers
//! from the same model files (`tests/fixtures/minilm-reference.json`, written by
//! `scripts/make-reference-vectors.py`) must agree with ours to a cosine above 0.999, alone and
//! in batches of mixed lengths (padding must not change a text's vector).

use crawler::embed::{EmbedError, Embedder, MiniLm, DIMENSION};
use serde_json::Value;
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    MiniLm::dir_in(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models"
    )))
}

fn reference() -> Vec<(String, Vec<f32>)> {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/minilm-reference.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&raw).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["text"].as_str().unwrap().to_string(),
                i["vector"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect(),
            )
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn vectors_match_sentence_transformers() {
    let model = MiniLm::load(&model_dir()).expect("model in ./models (scripts/install-model.sh)");
    let items = reference();
    assert!(items.len() >= 8);
    let texts: Vec<String> = items.iter().map(|(t, _)| t.clone()).collect();
    // All at once: short and long texts padded together in one batch.
    let batched = model.embed(&texts).unwrap();
    for ((text, want), got) in items.iter().zip(&batched) {
        assert_eq!(got.len(), DIMENSION);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "L2-normalised: {norm}");
        let c = cosine(got, want);
        assert!(c > 0.999, "{text:?}: cosine {c} to the reference");
    }
    // One at a time: the same vectors.
    for ((text, want), in_batch) in items.iter().zip(&batched) {
        let alone = model.embed(std::slice::from_ref(text)).unwrap().remove(0);
        assert!(cosine(&alone, want) > 0.999, "{text:?} alone");
        assert!(
            cosine(&alone, in_batch) > 0.9999,
            "{text:?}: batch vs alone"
        );
    }
    // Different texts get different vectors (not a constant).
    assert!(cosine(&batched[0], &batched[3]) < 0.5);
}

#[tokio::test]
async fn the_embedding_thread_answers_async_callers_in_order() {
    let embedder = Embedder::start(&model_dir()).unwrap();
    let items = reference();
    let texts: Vec<String> = items.iter().map(|(t, _)| t.clone()).collect();
    // Several callers at once, each gets its own texts' vectors back.
    let calls = texts.iter().map(|t| {
        let e = embedder.clone();
        let t = t.clone();
        async move { e.embed(vec![t]).await }
    });
    let answers = futures::future::join_all(calls).await;
    for ((text, want), got) in items.iter().zip(answers) {
        let got = got.unwrap().remove(0);
        assert!(cosine(&got, want) > 0.999, "{text:?}");
    }
    assert_eq!(embedder.embed(vec![]).await.unwrap().len(), 0);
}

#[test]
fn a_missing_or_broken_model_is_an_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("bas-model-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let err = MiniLm::load(&dir).err().unwrap();
    assert!(
        matches!(&err, EmbedError::Model { path, .. } if path.ends_with("config.json")),
        "{err}"
    );
    assert_eq!(err.code(), "embedding_model_unavailable");

    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(model_dir().join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("tokenizer.json"), b"{ not json").unwrap();
    let err = MiniLm::load(&dir).err().unwrap();
    assert!(
        matches!(&err, EmbedError::Model { path, .. } if path.ends_with("tokenizer.json")),
        "{err}"
    );

    std::fs::copy(
        model_dir().join("tokenizer.json"),
        dir.join("tokenizer.json"),
    )
    .unwrap();
    // Truncated weights.
    let weights = std::fs::read(model_dir().join("model.safetensors")).unwrap();
    std::fs::write(dir.join("model.safetensors"), &weights[..weights.len() / 2]).unwrap();
    let err = MiniLm::load(&dir).err().unwrap();
    assert!(
        matches!(&err, EmbedError::Model { path, .. } if path.ends_with("model.safetensors")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

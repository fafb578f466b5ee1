"""The peer side of the embedding benchmark: all-MiniLM-L6-v2 through sentence-transformers on
PyTorch (CPU), on the passages the Rust bench wrote, timed the same way (median of 3 runs over
all of them, after a warm-up), and the vectors written back for the Rust side to compare.

usage: python pytorch_embed.py MODEL_DIR PASSAGES_JSON VECTORS_JSON
Prints one line of JSON: {"rate": passages/s, "torch": version, "threads": n, "batch_size": n}.
"""
import json
import statistics
import sys
import time

import torch
from sentence_transformers import SentenceTransformer, models

model_dir, passages_path, vectors_path = sys.argv[1:4]
texts = json.load(open(passages_path))

# The model directory holds the Hugging Face files only (no sentence-transformers modules.json):
# build the pipeline all-MiniLM-L6-v2 is published with, mean pooling then L2 normalisation.
word = models.Transformer(model_dir, max_seq_length=256)
dimension = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
pool = models.Pooling(dimension(), pooling_mode="mean")
model = SentenceTransformer(modules=[word, pool, models.Normalize()], device="cpu")

BATCH = 32  # sentence-transformers' default, as a user of it gets
model.encode(texts[:32], batch_size=BATCH)  # warm up
rates = []
vectors = None
with torch.inference_mode():
    for _ in range(3):
        t = time.perf_counter()
        vectors = model.encode(texts, batch_size=BATCH, convert_to_numpy=True)
        rates.append(len(texts) / (time.perf_counter() - t))
json.dump(vectors.tolist(), open(vectors_path, "w"))
print(json.dumps({
    "rate": statistics.median(rates),
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "batch_size": BATCH,
}))

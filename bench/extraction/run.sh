#!/usr/bin/env bash
# Score the crawler's main-content extractor and trafilatura, side by side in one run, on the
# Article Extraction Benchmark (https://github.com/scrapinghub/article-extraction-benchmark:
# 181 news and blog pages with their article bodies), with the benchmark's own evaluate.py.
#
# usage: bash bench/extraction/run.sh BENCHMARK_CHECKOUT
#   BENCHMARK_CHECKOUT: a clone of that repository (its html/, ground-truth.json, evaluate.py).
# trafilatura is installed from PyPI into a virtual environment of the bench's own
# (BENCH_VENV, default ~/.cache/browser-automation-service/bench-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bench="$(cd "${1:?usage: run.sh BENCHMARK_CHECKOUT}" && pwd)"
venv="${BENCH_VENV:-$HOME/.cache/browser-automation-service/bench-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q trafilatura lxml_html_clean

# The pages, unzipped once for both extractors.
mkdir -p "$work/html" "$work/output"
for f in "$bench"/html/*.html.gz; do
  gzip -dc "$f" > "$work/html/$(basename "$f" .gz)"
done
cp "$bench/ground-truth.json" "$bench/evaluate.py" "$work/"

(cd "$root" && cargo bench --quiet --workspace --bench extraction -- \
  "$work/html" "$work/ground-truth.json" "$work/output/ours.json")
"$venv/bin/python" "$here/trafilatura_run.py" \
  "$work/html" "$work/ground-truth.json" "$work/output/trafilatura.json"
(cd "$work" && "$venv/bin/python" evaluate.py --n-bootstrap 200)

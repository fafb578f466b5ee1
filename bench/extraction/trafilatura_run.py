"""Run trafilatura on the benchmark's pages, as the benchmark's own runner does (plain text, no
comments, no tables left out), timing each page; write the prediction file the benchmark scores.

usage: python trafilatura_run.py HTML_DIR GROUND_TRUTH_JSON OUT_JSON
"""
import json
import statistics
import sys
import time
from pathlib import Path

import trafilatura


def main() -> None:
    html_dir, truth_path, out_path = map(Path, sys.argv[1:4])
    truth = json.loads(truth_path.read_text(encoding="utf8"))
    output, times = {}, []
    for key in sorted(truth):
        html = (html_dir / f"{key}.html").read_bytes().decode("utf8", errors="replace")
        started = time.perf_counter()
        text = trafilatura.extract(html, include_comments=False)
        times.append((time.perf_counter() - started) * 1000)
        output[key] = {"articleBody": text or ""}
    out_path.write_text(
        json.dumps({"version": trafilatura.__version__, "output": output}), encoding="utf8"
    )
    times.sort()
    print(
        f"trafilatura {trafilatura.__version__}: {len(times)} pages, "
        f"{statistics.median(times):.2f} ms median, {times[len(times) * 9 // 10]:.2f} ms p90 per page"
    )


if __name__ == "__main__":
    main()

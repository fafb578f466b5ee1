#!/usr/bin/env bash
# Run schemathesis against the service, both inside a network namespace of their own that has
# only a loopback interface: the requests it generates (start URLs, pages to open, presigned URLs)
# can reach nothing but the service. Called by tests/openapi_conformance.rs as
#   unshare --net --fork bash tests/schemathesis/run.sh SERVICE_BINARY SCHEMATHESIS_BINARY
# with the service's environment set (DATA_DIR, MODELS_DIR, ...).
set -euo pipefail
BIN="$1"
ST="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
ip link set lo up
PORT=8000
export HOST=127.0.0.1 PORT
"$BIN" serve >"$DATA_DIR/service.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true' EXIT
PY="$(dirname "$ST")/python"
"$PY" - "$PORT" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2)
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("the service did not become healthy in 60 s")
        time.sleep(0.2)
PY
cd "$HERE"
SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$HERE" "$ST" --no-color --config-file "$HERE/schemathesis.toml" \
  run "http://127.0.0.1:$PORT/openapi.json"

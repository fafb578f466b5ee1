#!/usr/bin/env bash
# Run every test: unit tests and end-to-end tests against real Chromium, a real Redis and the
# reference MCP client (the Python `mcp` package). Installs what the tests need when missing:
#   - chromium and redis-server from Debian's packages,
#   - ffmpeg from Debian's packages (video thumbnails),
#   - a Python virtual environment with `mcp`, schemathesis and the MongoDB-compatible server SecantusDB
#     (BAS_VENV, default ~/.cache/browser-automation-service/venv),
#   - the S3-compatible server s3s-fs, built from crates.io into BAS_TOOLS
#     (default ~/.cache/browser-automation-service/tools),
#   - the official TypeScript MCP client (npm @modelcontextprotocol/sdk, pinned in
#     testkit/ts-client/package-lock.json) into testkit/ts-client/node_modules, with Debian's
#     nodejs and npm when the machine has no Node.js,
#   - the embedding model in ./models (scripts/install-model.sh).
# Extra arguments go to the test runner (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
ensure_packages /usr/lib/chromium/chromium:chromium redis-server:redis-server ffmpeg:ffmpeg nasm:nasm \
  ip:iproute2 unshare:util-linux docker-compose:docker-compose
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || ensure_packages /nonexistent-venv-marker:python3-venv

VENV="${BAS_VENV:-$HOME/.cache/browser-automation-service/venv}"
if ! "$VENV/bin/python" -c "import mcp" >/dev/null 2>&1 || [ ! -x "$VENV/bin/secantusd-py" ] \
  || [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "creating the test client environment in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r tests/requirements.txt
fi
export BAS_TEST_PYTHON="$VENV/bin/python"
export BAS_VENV="$VENV"

TOOLS="${BAS_TOOLS:-$HOME/.cache/browser-automation-service/tools}"
if [ ! -x "$TOOLS/bin/s3s-fs" ]; then
  echo "building the S3-compatible test server s3s-fs into $TOOLS"
  cargo install s3s-fs@0.14.1 --features binary --locked --root "$TOOLS"
fi
export BAS_TEST_S3S_FS="$TOOLS/bin/s3s-fs"
bash scripts/install-model.sh

command -v npm >/dev/null 2>&1 || ensure_packages node:nodejs npm:npm
TS_CLIENT=testkit/ts-client
if [ ! -d "$TS_CLIENT/node_modules/@modelcontextprotocol/sdk" ] \
  || [ "$TS_CLIENT/package-lock.json" -nt "$TS_CLIENT/node_modules/.package-lock.json" ]; then
  echo "installing the TypeScript MCP client into $TS_CLIENT"
  (cd "$TS_CLIENT" && npm ci --no-audit --no-fund --loglevel=error)
fi

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --locked "$@"
else
  exec cargo test --workspace --locked "$@"
fi

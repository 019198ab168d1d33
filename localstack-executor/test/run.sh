#!/usr/bin/env bash
# Runs the executor integration tests. Starts host LocalStack in the background if nothing answers
# on 127.0.0.1:4566 and stops it afterwards (also on failure). Extra args go to unittest.
# BIG_LAYER=1 also runs the ~145 MB ffmpeg/ffprobe layer test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXEC="$(cd "$HERE/.." && pwd)"
REPO="$(cd "$EXEC/.." && pwd)"
PY="${LOCALSTACK_VENV:-$REPO/.localstack/venv}/bin/python"
[[ -x "$PY" ]] || { echo "run.sh: no venv; run localstack-executor/setup.sh first" >&2; exit 1; }
started=0
if ! curl -fs -o /dev/null --max-time 2 http://127.0.0.1:4566/_localstack/health; then
  "$EXEC/start.sh" --background
  started=1
fi
cleanup() { if [[ $started == 1 ]]; then "$EXEC/stop.sh"; fi; }
trap cleanup EXIT
"$PY" -m unittest discover -s "$HERE" -v "$@"

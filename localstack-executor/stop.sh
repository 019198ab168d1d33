#!/usr/bin/env bash
# Stop a LocalStack started with start.sh --background (and the Lambda node processes it spawned).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="$(cd "$HERE/.." && pwd)/.localstack"
PIDFILE="$STATE/localstack.pid"
if [[ ! -f "$PIDFILE" ]]; then
  echo "stop.sh: no pid file ($PIDFILE); nothing to stop"
  exit 0
fi
pid="$(cat "$PIDFILE")"
if kill -0 "$pid" 2>/dev/null; then
  # Lambda shims run in their own process groups; remember them in case LocalStack dies uncleanly
  children="$(pgrep -P "$pid" 2>/dev/null || true)"
  kill -TERM "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop.sh: LocalStack (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  for c in $children; do
    kill -0 "$c" 2>/dev/null && kill -KILL -- "-$c" 2>/dev/null || kill -KILL "$c" 2>/dev/null || true
  done
  echo "stop.sh: stopped LocalStack (pid $pid)"
else
  echo "stop.sh: LocalStack (pid $pid) was not running"
fi
rm -f "$PIDFILE"

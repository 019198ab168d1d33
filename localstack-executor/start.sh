#!/usr/bin/env bash
# Start LocalStack community (the release in localstack-executor/VERSION) on the HOST (no Docker)
# with the 'process' Lambda executor.
#   start.sh               foreground; Ctrl-C stops LocalStack and every Lambda process it started
#   start.sh --background  detach, wait until healthy, write .localstack/localstack.pid (stop.sh stops it)
# Exits non-zero with the log tail if LocalStack is not healthy within LOCALSTACK_START_TIMEOUT seconds.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
STATE="$REPO/.localstack"
VENV="${LOCALSTACK_VENV:-$STATE/venv}"
PIDFILE="$STATE/localstack.pid"
LOGFILE="$STATE/localstack.log"
PORT="${LOCALSTACK_PORT:-4566}"
HEALTH="http://127.0.0.1:$PORT/_localstack/health"
TIMEOUT="${LOCALSTACK_START_TIMEOUT:-90}"

mode=foreground
case "${1:-}" in
  --background|-d) mode=background ;;
  ""|--foreground) ;;
  -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
  *) echo "start.sh: unknown argument $1" >&2; exit 2 ;;
esac

die() { echo "start.sh: ERROR: $*" >&2; exit 1; }

[[ -x "$VENV/bin/python" ]] || die "no venv at $VENV - run localstack-executor/setup.sh first"
LOCALSTACK_VERSION="$(tr -d '[:space:]' <"$HERE/VERSION")"
# setup.sh leaves this stamp after installing exactly that release; a venv of another pin would
# start a LocalStack the executor plugin and the tests were not written for.
[[ -f "$VENV/.installed-localstack-$LOCALSTACK_VERSION" ]] ||
  die "the venv at $VENV does not have localstack-core $LOCALSTACK_VERSION (localstack-executor/VERSION) - run localstack-executor/setup.sh"
if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  die "LocalStack already running (pid $(cat "$PIDFILE")); stop it with localstack-executor/stop.sh"
fi
if curl -fsS -o /dev/null --max-time 2 "$HEALTH" 2>/dev/null; then
  die "something already answers on $HEALTH (another LocalStack?)"
fi

mkdir -p "$STATE/filesystem" "$STATE/tmp"
rm -rf "${STATE:?}/tmp/"*  # lambda code cache of the previous run (persistence is off)

# --- configuration (offline-safe; override any of these from the environment) ----------------
export LOCALSTACK_HOST="${LOCALSTACK_HOST:-127.0.0.1:$PORT}"
export GATEWAY_LISTEN="${GATEWAY_LISTEN:-127.0.0.1:$PORT}"
export SQS_ENDPOINT_STRATEGY="${SQS_ENDPOINT_STRATEGY:-path}"
export LAMBDA_RUNTIME_EXECUTOR="${LAMBDA_RUNTIME_EXECUTOR:-process}"
# cdk bootstrap needs ecr+ssm+s3+iam+cloudformation(+sts); the app adds sns/sqs/lambda/stepfunctions/kms/logs/cloudwatch
export SERVICES="${LOCALSTACK_SERVICES:-s3,sns,sqs,lambda,stepfunctions,events,kms,iam,logs,cloudwatch,ssm,sts,cloudformation,ecr}"
export PERSISTENCE=0
export FILESYSTEM_ROOT="$STATE/filesystem"
export TMPDIR="$STATE/tmp"           # LocalStack unzips Lambda code/layers into $TMPDIR/lambda/...
export DNS_ADDRESS=0                 # no DNS server (needs port 53 and upstream DNS)
export DISABLE_EVENTS=1              # no analytics
export SKIP_SSL_CERT_DOWNLOAD=1      # self-signed cert instead of a download
export LOCALSTACK_EXECUTOR_NODE="${LOCALSTACK_EXECUTOR_NODE:-$REPO/node_modules/.bin/node}"
export LOCALSTACK_EXECUTOR_NODE_MODULES="${LOCALSTACK_EXECUTOR_NODE_MODULES:-$REPO/node_modules}"
export LOCALSTACK_EXECUTOR_SHIM="${LOCALSTACK_EXECUTOR_SHIM:-$HERE/shim.mjs}"
export PYTHONUNBUFFERED=1
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_PROFILE  # LocalStack's own internal clients must not use them
[[ -x "$LOCALSTACK_EXECUTOR_NODE" ]] || die "node not found at $LOCALSTACK_EXECUTOR_NODE (run npm ci or set LOCALSTACK_EXECUTOR_NODE)"

: >"$LOGFILE"
t0=$(date +%s.%N)
if [[ $mode == background ]]; then
  # setsid: own session, survives the calling shell; stop.sh signals it by pid
  setsid "$VENV/bin/python" -m localstack.runtime.main >>"$LOGFILE" 2>&1 </dev/null &
else
  "$VENV/bin/python" -m localstack.runtime.main > >(tee -a "$LOGFILE") 2>&1 </dev/null &
fi
pid=$!
echo "$pid" >"$PIDFILE"

cleanup_fg() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

fail() {
  echo "start.sh: ERROR: $*" >&2
  echo "----- last 40 lines of $LOGFILE -----" >&2
  tail -n 40 "$LOGFILE" >&2 || true
  echo "-------------------------------------" >&2
  cleanup_fg
  exit 1
}

[[ $mode == foreground ]] && trap 'cleanup_fg; exit 130' INT TERM

deadline=$(( $(date +%s) + TIMEOUT ))
until curl -fsS -o /dev/null --max-time 2 "$HEALTH" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || fail "LocalStack (pid $pid) exited during startup"
  (( $(date +%s) < deadline )) || fail "LocalStack not healthy at $HEALTH after ${TIMEOUT}s"
  sleep 0.5
done
elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
echo "start.sh: LocalStack ready at http://127.0.0.1:$PORT after ${elapsed}s (pid $pid, log $LOGFILE, executor $LAMBDA_RUNTIME_EXECUTOR)"

if [[ $mode == background ]]; then
  exit 0
fi
trap 'cleanup_fg; exit 0' INT TERM
wait "$pid" || true
rm -f "$PIDFILE"

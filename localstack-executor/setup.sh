#!/usr/bin/env bash
# Idempotent: creates .localstack/venv (gitignored) with Python 3.13 and installs
# localstack-core[runtime]==<localstack-executor/VERSION> plus our 'process' Lambda runtime
# executor plugin (editable).
# Works non-interactively (CI=true, no stdin). Re-running is cheap when nothing changed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="${LOCALSTACK_VENV:-$REPO/.localstack/venv}"
LOCALSTACK_VERSION="$(tr -d '[:space:]' <"$HERE/VERSION")"   # the one pin, shared with the TypeScript tooling
[[ -n "$LOCALSTACK_VERSION" ]] || { echo "setup.sh: ERROR: $HERE/VERSION is empty" >&2; exit 1; }
# localstack-core only has lower bounds on its deps; newer releases broke it (cbor2 6 dropped
# cbor2._decoder, pyOpenSSL 26 dropped X509.add_extensions). Resolve as of its release day instead.
RESOLVE_AS_OF="2026-02-27T00:00:00Z"
STAMP="$VENV/.installed-localstack-$LOCALSTACK_VERSION"

find_python() {
  local candidates=()
  if [[ -n "${LOCALSTACK_PYTHON:-}" ]]; then candidates+=("$LOCALSTACK_PYTHON"); fi
  if command -v pyenv >/dev/null 2>&1; then
    local root; root="$(pyenv root)"
    # newest 3.13.x / 3.14.x first
    while IFS= read -r p; do candidates+=("$p"); done < <(ls -d "$root"/versions/3.1[34]*/bin/python3.1[34] 2>/dev/null | sort -rV)
  fi
  for name in python3.13 python3.14; do
    if command -v "$name" >/dev/null 2>&1; then candidates+=("$(command -v "$name")"); fi
  done
  for p in "${candidates[@]}"; do
    if [[ -x "$p" ]] && "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)'; then
  echo "setup.sh: existing venv $VENV is not Python >= 3.13; recreating" >&2
  rm -rf "$VENV"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  if ! PY="$(find_python)"; then
    echo "setup.sh: ERROR: Python >= 3.13 not found." >&2
    echo "  LocalStack $LOCALSTACK_VERSION needs Python 3.13 (it imports warnings.deprecated)." >&2
    echo "  Looked at \$LOCALSTACK_PYTHON, \$(pyenv root)/versions/3.13*/bin/python3.13 and python3.13/python3.14 on PATH." >&2
    echo "  Install one (e.g. 'pyenv install 3.13') or set LOCALSTACK_PYTHON=/path/to/python3.13." >&2
    exit 1
  fi
  echo "setup.sh: creating venv $VENV with $PY ($("$PY" --version))"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
start=$(date +%s)
if [[ ! -f "$STAMP" ]]; then
  echo "setup.sh: installing localstack-core[runtime]==$LOCALSTACK_VERSION, deps as of $RESOLVE_AS_OF (about 30-40 s)"
  "$VENV/bin/pip" install --quiet --upgrade 'pip>=26'   # for --uploaded-prior-to
  "$VENV/bin/pip" install --quiet --uploaded-prior-to "$RESOLVE_AS_OF" "localstack-core[runtime]==$LOCALSTACK_VERSION"
  touch "$STAMP"
fi
# Editable, so the plugin finds shim.mjs and the repo's node_modules relative to its source.
if ! "$VENV/bin/python" - <<'PY' 2>/dev/null
from importlib.metadata import entry_points
import sys
eps = entry_points(group="localstack.lambda.runtime_executor")
sys.exit(0 if any(e.name == "process" for e in eps) else 1)
PY
then
  echo "setup.sh: installing the 'process' Lambda executor plugin (editable)"
  "$VENV/bin/pip" install --quiet --no-deps -e "$HERE/python"
fi
"$VENV/bin/python" - <<'PY'
from importlib.metadata import entry_points, version
eps = {e.name: e.value for e in entry_points(group="localstack.lambda.runtime_executor")}
assert "process" in eps, f"plugin entry point missing: {eps}"
print(f"setup.sh: localstack-core {version('localstack-core')}, runtime executors: {sorted(eps)}")
PY
echo "setup.sh: done in $(( $(date +%s) - start )) s (venv: $VENV)"

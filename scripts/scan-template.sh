#!/usr/bin/env bash
# Scans the synthesized template with checkov and cfn-lint (both from PyPI, pinned,
# in a venv under .tools/) and prints the counts. Fails on any checkov finding that
# is neither fixed nor skipped in the resource's Metadata with a reason, and on any
# cfn-lint error or warning (an accepted one goes to IGNORE_CHECKS with its reason).
# Usage: scripts/scan-template.sh [template]   (default: cdk.out/VideoPipeline.template.json)
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV_VERSION=3.3.30
CFN_LINT_VERSION=1.58.0
VENV=.tools/scan-venv
TEMPLATE=${1:-cdk.out/VideoPipeline.template.json}

[ -f "$TEMPLATE" ] || { echo "scan-template: $TEMPLATE not found; run npm run synth first" >&2; exit 2; }

if [ ! -x "$VENV/bin/checkov" ] || [ ! -x "$VENV/bin/cfn-lint" ] ||
  ! "$VENV/bin/pip" show checkov 2>/dev/null | grep -qx "Version: $CHECKOV_VERSION" ||
  ! "$VENV/bin/pip" show cfn-lint 2>/dev/null | grep -qx "Version: $CFN_LINT_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "checkov==$CHECKOV_VERSION" "cfn-lint==$CFN_LINT_VERSION"
fi

report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT

# checkov: skips live in each resource's Metadata (checkov: skip: [{id, comment}]).
"$VENV/bin/checkov" --framework cloudformation --file "$TEMPLATE" \
  --output json --skip-download > "$report/checkov.json" || true
checkov_rc=0
"$VENV/bin/python" - "$report/checkov.json" <<'PY' || checkov_rc=$?
import json, sys
data = json.load(open(sys.argv[1]))
if isinstance(data, list):
    data = next((d for d in data if d.get("check_type") == "cloudformation"), data[0])
summary = data.get("summary", {})
results = data.get("results", {})
failed = results.get("failed_checks", [])
skipped = results.get("skipped_checks", [])
unexplained = [s for s in skipped if not (s.get("check_result", {}).get("suppress_comment") or "").strip()]
print(f"checkov: {summary.get('passed', 0)} passed, {len(failed)} failed, {len(skipped)} skipped in template metadata ({len(skipped) - len(unexplained)} with a reason)")
for f in failed:
    print(f"  FAILED {f['check_id']} {f['resource']}: {f['check_name']}")
for s in unexplained:
    print(f"  SKIPPED WITHOUT A REASON {s['check_id']} {s['resource']}")
sys.exit(1 if failed or unexplained else 0)
PY

# cfn-lint: errors and warnings both fail; informational findings are printed.
# Ignored, each with its reason:
#   W3005  CDK's Function writes DependsOn its role next to the GetAtt of that role; redundant, harmless.
IGNORE_CHECKS=(W3005)
set +e
"$VENV/bin/cfn-lint" --format parseable --ignore-checks "${IGNORE_CHECKS[@]}" -- "$TEMPLATE" > "$report/cfn-lint.txt"
set -e
errors=$(grep -c ':E[0-9]' "$report/cfn-lint.txt" || true)
warnings=$(grep -c ':W[0-9]' "$report/cfn-lint.txt" || true)
infos=$(grep -c ':I[0-9]' "$report/cfn-lint.txt" || true)
echo "cfn-lint: $errors errors, $warnings warnings, $infos informational (ignored: ${IGNORE_CHECKS[*]})"
cat "$report/cfn-lint.txt"

if [ "$checkov_rc" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
  echo "scan-template: unacknowledged findings (see above)" >&2
  exit 1
fi

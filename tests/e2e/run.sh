#!/usr/bin/env bash
# Run the end-to-end suite: build (or reuse cached) binaries, then pytest.
#
#   bash tests/e2e/run.sh [pytest args...]
#
# Env: PYTHON (default python3, or .venv/bin/python when present),
#      GITOPS_BASE_E2E_CACHE, CRDS_DIR, GITOPS_BASE_E2E_WORKDIR,
#      GITOPS_BASE_E2E_REPORT (write timings JSON there). See docs/e2e.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

t0=$(date +%s)
bash tests/e2e/build-tools.sh
echo "== e2e: tools ready in $(( $(date +%s) - t0 ))s"

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c 'import pytest, yaml' 2>/dev/null; then
  echo "e2e: $PYTHON lacks a dependency of the harness: pytest, PyYAML" >&2
  exit 1
fi

t1=$(date +%s)
set +e
# Default to the whole suite unless test paths were given. The node tier (tests/e2e/node) has
# its own entry point: tests/e2e/node/run.sh (make e2e-node).
paths=(tests/e2e --ignore=tests/e2e/node)
for a in "$@"; do
  case "$a" in -*) ;; *) [ -e "${a%%::*}" ] && paths=() ;; esac
done
"$PYTHON" -m pytest "${paths[@]}" -ra "$@"
rc=$?
set -e
echo "== e2e: pytest finished in $(( $(date +%s) - t1 ))s (exit $rc)"
exit $rc

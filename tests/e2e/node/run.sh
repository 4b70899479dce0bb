#!/usr/bin/env bash
# Run the node tier of the e2e suite (docs/e2e.md, "A real node"): build (or reuse cached)
# control-plane, node and add-on binaries, then pytest tests/e2e/node. Needs root (network namespaces,
# containers, iptables).
#
#   bash tests/e2e/node/run.sh [pytest args...]
#
# Env: as tests/e2e/run.sh (PYTHON, GITOPS_BASE_E2E_CACHE, CRDS_DIR,
#      GITOPS_BASE_E2E_REPORT).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$REPO"

if [ "$(id -u)" != 0 ]; then
  echo "e2e-node: the node runs containers, iptables and network namespaces: run it as root" >&2
  exit 1
fi

t0=$(date +%s)
bash tests/e2e/build-tools.sh
bash tests/e2e/node/build-node-tools.sh
bash tests/e2e/node/build-addon-tools.sh
echo "== e2e-node: tools ready in $(( $(date +%s) - t0 ))s"

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c 'import pytest, yaml' 2>/dev/null; then
  echo "e2e-node: $PYTHON lacks a dependency of the harness: pytest, PyYAML" >&2
  exit 1
fi

t1=$(date +%s)
set +e
paths=(tests/e2e/node)
for a in "$@"; do
  case "$a" in -*) ;; *) [ -e "${a%%::*}" ] && paths=() ;; esac
done
"$PYTHON" -m pytest "${paths[@]}" -ra "$@"
rc=$?
set -e
echo "== e2e-node: pytest finished in $(( $(date +%s) - t1 ))s (exit $rc)"
exit $rc

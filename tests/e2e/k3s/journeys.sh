#!/usr/bin/env bash
# The end-to-end journeys against a real k3s cluster with Argo CD installed, from a checkout of
# this base: bootstrap from a deployed_apps payload, add a service, roll an image, guard rails.
# Argo CD reads a copy of the checkout that this script serves over plain HTTP on this host.
#
#   KUBECONFIG=... tests/e2e/k3s/journeys.sh
#
# Needs: kubectl, git, python3, the project's .venv (make install), a cluster whose pods can
# reach this host on port 8418; `gitops-base bootstrap` installs Argo CD (see docs/e2e.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
host_ip=${HOST_IP:-$(hostname -I | awk '{print $1}')}
env_name=e2e
cli=("$repo/.venv/bin/gitops-base")
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

cleanup() { [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
wait_app() { # wait_app NAME: Synced and Healthy
  kubectl -n argocd wait "application/$1" --for=jsonpath='{.status.sync.status}'=Synced --timeout=10m
  kubectl -n argocd wait "application/$1" --for=jsonpath='{.status.health.status}'=Healthy --timeout=10m
}
refresh() { kubectl -n argocd annotate application "$@" argocd.argoproj.io/refresh=hard --overwrite >/dev/null; }
commit() { # commit, and refresh what git's "dumb" HTTP clients read
  git -C "$work/gitops" add -A && git -C "$work/gitops" commit -qm "$1"
  git -C "$work/gitops" update-server-info
}

step "a copy of the base, served at http://$host_ip:8418/gitops/.git"
mkdir -p "$work/gitops"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 cp --parents -t "$work/gitops")
cd "$work/gitops"
ln -s "$repo/.venv" .venv
ln -s "$repo/node_modules" node_modules
mkdir -p "clusters/$env_name"
sed -e "s/^name: dev/name: $env_name/" \
    -e "s|^  url: .*|  url: http://$host_ip:8418/gitops/.git|" \
    -e "s|^acme_email: .*|acme_email: ${ACME_EMAIL:-gitops-base-ci@users.noreply.github.com}|" \
    "$repo/clusters/dev/cluster.yaml" >"clusters/$env_name/cluster.yaml"
git init -q -b main && commit "base"
python3 -m http.server 8418 --bind 0.0.0.0 --directory "$work" >/dev/null 2>&1 &
server_pid=$!

step "journey 1: bootstrap from a deployed_apps payload"
"${cli[@]}" generate --input "$here/payload.json"
"${cli[@]}" synth
commit "first deploy"
# Installs the pinned Argo CD (checksum verified), applies root.yaml and waits. The repository
# is public to the cluster (plain HTTP, no credential). The platform syncs; its ClusterIssuers
# turn Ready only when the runner reaches Let's Encrypt with a contact it accepts (bootstrap
# refuses one it does not: ACME_EMAIL, default a no-reply address at a public domain), so its
# health is not part of this journey.
"${cli[@]}" bootstrap --env "$env_name" --wait-for root,shop --timeout 1200
kubectl -n argocd wait application/platform --for=jsonpath='{.status.sync.status}'=Synced --timeout=10m
wait_app shop
kubectl -n shop rollout status deployment/hello --timeout=5m
test "$(kubectl get namespace shop -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')" = restricted

step "journey 2: add a service, then remove it"
python3 - "$here/payload.json" >"$work/two.json" <<'PY'
import json, sys
payload = json.load(open(sys.argv[1]))
extra = dict(payload["deployed_apps"][0], name="hello-two")
payload["deployed_apps"].append(extra)
print(json.dumps(payload))
PY
"${cli[@]}" generate --input "$work/two.json" && "${cli[@]}" synth && commit "add hello-two"
refresh shop
kubectl -n shop rollout status deployment/hello-two --timeout=5m
"${cli[@]}" generate --input "$here/payload.json" && "${cli[@]}" synth && commit "remove hello-two"
refresh shop
kubectl -n shop wait deployment/hello-two --for=delete --timeout=5m

step "journey 3: roll an image"
"${cli[@]}" set-image hello 1.28-alpine && "${cli[@]}" synth && commit "roll hello"
refresh shop
kubectl -n shop rollout status deployment/hello --timeout=5m
test "$(kubectl -n shop get deployment hello -o jsonpath='{.spec.template.spec.containers[0].image}')" \
  = docker.io/nginxinc/nginx-unprivileged:1.28-alpine

step "journey 4: guard rails (a cluster-scoped object in the app folder is refused)"
cat >"dist/$env_name/app/clusterrole-escalate.yaml" <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: escalate
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
YAML
commit "try a ClusterRole from the app"
refresh shop
for _ in $(seq 60); do
  conditions=$(kubectl -n argocd get application shop -o jsonpath='{.status.conditions[*].message}')
  [[ "$conditions" == *"not permitted in project"* ]] && break
  sleep 5
done
echo "$conditions"
[[ "$conditions" == *"not permitted in project"* ]]
! kubectl get clusterrole escalate 2>/dev/null

step "all journeys passed"

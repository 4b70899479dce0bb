#!/usr/bin/env bash
# The end-to-end journeys against a real k3s cluster with Argo CD installed, from a checkout of
# this base: bootstrap from a deployed_apps payload on the quickstart's single-VM path (doctor
# first, ingress.exposure: service-lb, the app reached on ports 80 and 443 of the node), add a
# service, roll an image, guard rails. Argo CD reads a copy of the checkout that this script
# serves over plain HTTP on this host.
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

# The node clients reach: the single VM's address (its InternalIP; on a VM with only a public
# address, that one).
node_ip=$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')

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
    -e "s|^  exposure: .*|  exposure: service-lb|" \
    -e "s|^  publish_status_address: .*|  publish_status_address: [$node_ip]|" \
    "$repo/clusters/dev/cluster.yaml" >"clusters/$env_name/cluster.yaml"
grep -q '^  exposure: service-lb$' "clusters/$env_name/cluster.yaml"
git init -q -b main && commit "base"
python3 -m http.server 8418 --bind 0.0.0.0 --directory "$work" >/dev/null 2>&1 &
server_pid=$!

step "journey 1: bootstrap from a deployed_apps payload"
"${cli[@]}" generate --input "$here/payload.json"
"${cli[@]}" synth
commit "first deploy"
host=$(sed -n 's/^  - host: //p' "dist/$env_name/app/ingress-hello.yaml")
test -n "$host"
# doctor before bootstrap, as the quickstart runs it: everything but the host's DNS record and
# port 80 (no controller yet) passes on the fresh k3s.
set +e
"${cli[@]}" doctor --env "$env_name" | tee "$work/doctor-before.txt"
set -e
for check in "ACME contact" repository kubeconfig "k3s components" listener; do
  grep -q "^✓ $check: " "$work/doctor-before.txt" || { echo "doctor: $check did not pass" >&2; exit 1; }
done
# Another patch of a supported minor is a warning (!), not a failure.
grep -q "^[✓!] k3s version: " "$work/doctor-before.txt"
grep -q "^✗ DNS $host: " "$work/doctor-before.txt"
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

step "journey 1, the single VM: the app on ports 80 and 443 of the node, through ServiceLB"
wait_app ingress-nginx
kubectl -n ingress-nginx get service ingress-nginx-controller -o wide
test "$(kubectl -n ingress-nginx get service ingress-nginx-controller -o jsonpath='{.spec.type}')" = LoadBalancer
# Port 80, the path of Let's Encrypt's HTTP-01 check: the controller routes it to the app
# (no redirect to HTTPS for /.well-known/acme-challenge/), which has no such file.
code=$(curl -s -o /dev/null -w '%{http_code}' --resolve "$host:80:$node_ip" \
  "http://$host/.well-known/acme-challenge/k3s-journey")
echo "port 80: HTTP $code"
test "$code" = 404
# Port 443: the app's page (-k: the certificate is staging's, or the controller's own until
# Let's Encrypt can reach the host).
page=$(curl -sSfk --resolve "$host:443:$node_ip" "https://$host/")
[[ "$page" == *"Welcome to nginx"* ]]
# doctor after bootstrap, the host's record pointing at the node: every check passes.
if [[ -n "${CI:-}" ]]; then
  echo "$node_ip $host" | sudo tee -a /etc/hosts >/dev/null
  "${cli[@]}" doctor --env "$env_name"
fi

step "journey 2: add a service, then remove it"
python3 - "$here/payload.json" >"$work/two.json" <<'PY'
import json, sys
payload = json.load(open(sys.argv[1]))
extra = dict(payload["deployed_apps"][0], name="hello-two")
extra.pop("fqdn")  # one host, one service
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

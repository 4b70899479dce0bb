#!/usr/bin/env bash
# Build the binaries the e2e harness runs, from the Go module proxy, pinned by
# the wrapper modules under tests/e2e/tools/*/go.mod, and cache them outside
# the repository keyed by version:
#
#   ${GITOPS_BASE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-base/e2e}/bin/<name>-<version>
#
# Idempotent: a binary already in the cache is not rebuilt. Prints what it
# builds and how long each step took. Also installs redis-server and dnsmasq-base
# from Debian when they are missing (CI machines start fresh).
#
# Usage: tests/e2e/build-tools.sh [--print-paths] [--no-redis]
#   --print-paths  only print NAME=PATH lines for the cached binaries (no build)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$HERE/tools"
CACHE="${GITOPS_BASE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-base/e2e}"
BIN="$CACHE/bin"

PRINT_ONLY=0
WANT_REDIS=1
for arg in "$@"; do
  case "$arg" in
    --print-paths) PRINT_ONLY=1 ;;
    --no-redis) WANT_REDIS=0 ;;
    *) echo "build-tools.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

. "$TOOLS/modver.sh"  # GOTOOLCHAIN, GOFLAGS and modver()
export CGO_ENABLED=0

K8S_VERSION="$(modver "$TOOLS/kubernetes" k8s.io/kubernetes)"
ETCD_VERSION="$(modver "$TOOLS/etcd" go.etcd.io/etcd/server/v3)"
ARGOCD_VERSION="$(modver "$TOOLS/argocd" github.com/argoproj/argo-cd/v3)"
HELM_VERSION="$(modver "$TOOLS/helm" helm.sh/helm/v4)"

APISERVER="$BIN/kube-apiserver-$K8S_VERSION"
KCM="$BIN/kube-controller-manager-$K8S_VERSION"
ETCD="$BIN/etcd-$ETCD_VERSION"
ARGOCD="$BIN/argocd-$ARGOCD_VERSION"
HELM="$BIN/helm-$HELM_VERSION"

if [ "$PRINT_ONLY" = 1 ]; then
  echo "KUBE_APISERVER=$APISERVER"
  echo "KUBE_CONTROLLER_MANAGER=$KCM"
  echo "ETCD=$ETCD"
  echo "ARGOCD=$ARGOCD"
  echo "HELM=$HELM"
  echo "REDIS_SERVER=$(command -v redis-server || echo redis-server)"
  exit 0
fi

mkdir -p "$BIN"
command -v go >/dev/null || { echo "build-tools.sh: go is not on PATH" >&2; exit 1; }

now() { date +%s; }
T_ALL=$(now)

# build NAME OUTPUT MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name="$1" out="$2" dir="$3" pkg="$4" ldflags="${5:-}"
  if [ -x "$out" ]; then
    echo "== $name: cached at $out"
    return 0
  fi
  echo "== $name: building $pkg into $out ($(go version | awk '{print $3}'))"
  local t0 tmp
  t0=$(now)
  tmp="$out.tmp.$$"
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg")
  mv -f "$tmp" "$out"
  echo "== $name: built in $(( $(now) - t0 ))s"
}

# ---- Kubernetes -------------------------------------------------------------
k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
K8S_LDFLAGS="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$k8s_minor \
-X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
-X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION \
-X k8s.io/client-go/pkg/version.gitMajor=1 \
-X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"
build kube-apiserver "$APISERVER" "$TOOLS/kubernetes" \
  k8s.io/kubernetes/cmd/kube-apiserver "$K8S_LDFLAGS"
build kube-controller-manager "$KCM" "$TOOLS/kubernetes" \
  k8s.io/kubernetes/cmd/kube-controller-manager "$K8S_LDFLAGS"

# ---- etcd -------------------------------------------------------------------
build etcd "$ETCD" "$TOOLS/etcd" go.etcd.io/etcd/server/v3

# ---- Argo CD (multi-call binary; run via argv[0] symlinks) ------------------
ARGOCD_LDFLAGS="-X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v} \
-X github.com/argoproj/argo-cd/v3/common.gitTag=$ARGOCD_VERSION \
-X github.com/argoproj/argo-cd/v3/common.gitTreeState=clean \
-X github.com/argoproj/argo-cd/v3/common.kubectlVersion=$(modver "$TOOLS/argocd" k8s.io/kubectl) \
-X github.com/argoproj/argo-cd/v3/common.buildDate=1970-01-01T00:00:00Z"
build argocd "$ARGOCD" "$TOOLS/argocd" github.com/argoproj/argo-cd/v3/cmd "$ARGOCD_LDFLAGS"

# ---- helm (Argo CD's repo-server runs it for Helm sources) ------------------
# The version Argo CD ships in its image (hack/tool-versions.sh, helm4_version).
HELM_LDFLAGS="-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION \
-X helm.sh/helm/v4/internal/version.metadata= \
-X helm.sh/helm/v4/internal/version.gitTreeState=clean"
build helm "$HELM" "$TOOLS/helm" helm.sh/helm/v4/cmd/helm "$HELM_LDFLAGS"

# ---- Redis (Debian) ---------------------------------------------------------
if [ "$WANT_REDIS" = 1 ]; then
  if command -v redis-server >/dev/null; then
    echo "== redis-server: $(command -v redis-server) ($(redis-server --version | awk '{print $3}'))"
  else
    echo "== redis-server: missing, installing Debian's redis-server"
    t0=$(now)
    if [ "$(id -u)" != 0 ]; then
      echo "build-tools.sh: redis-server is missing and this is not root; install it (apt-get install -y redis-server)" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Keep the package from starting a system-wide instance: the harness runs
    # its own, on a free loopback port, in its temp dir.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1 || {
      apt-get update >/dev/null
      apt-get install -y --no-install-recommends redis-server >/dev/null
    }
    echo "== redis-server: installed in $(( $(now) - t0 ))s"
  fi
fi

# ---- dnsmasq (Debian) -------------------------------------------------------
# The DNS server `gitops-base doctor`'s test answers host records with (test_doctor.py).
if command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ]; then
  echo "== dnsmasq: $(command -v dnsmasq || echo /usr/sbin/dnsmasq)"
else
  echo "== dnsmasq: missing, installing Debian's dnsmasq-base"
  t0=$(now)
  if [ "$(id -u)" != 0 ]; then
    echo "build-tools.sh: dnsmasq is missing and this is not root; install it (apt-get install -y dnsmasq-base)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends dnsmasq-base >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends dnsmasq-base >/dev/null
  }
  echo "== dnsmasq: installed in $(( $(now) - t0 ))s"
fi

echo "== all tools ready in $(( $(now) - T_ALL ))s (cache: $BIN)"

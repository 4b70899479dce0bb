#!/usr/bin/env bash
# Build what the node tier of the e2e suite runs (docs/e2e.md, "A real node"), from the Go
# module proxy, pinned by the wrapper modules under tests/e2e/tools/*/go.mod, and cache it next
# to the control-plane binaries, keyed by version:
#
#   ${GITOPS_BASE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-base/e2e}/bin/<name>-<version>
#
#   kubelet, kube-proxy, kube-scheduler   tests/e2e/tools/kubernetes (same version as kube-apiserver)
#   containerd, containerd-shim-runc-v2, ctr   tests/e2e/tools/containerd
#   runc (cgo, libseccomp)                tests/e2e/tools/runc
#   coredns                               tests/e2e/tools/coredns
#   kube-router (network policies only)   tests/e2e/tools/kube-router
#   e2e-server, e2e-pause, e2e-ingress    tests/e2e/node/images (the test images' binaries)
#
# and installs the Debian packages the node needs when they are missing (root only):
# containernetworking-plugins, iptables, ipset, conntrack, libseccomp-dev, pkg-config; and git,
# gpg, gpg-agent, gpgconf and tini for Argo CD's image.
#
# Idempotent: a binary already in the cache is not rebuilt. Prints how long each step took.
#
# Usage: tests/e2e/node/build-node-tools.sh [--print-paths] [--no-apt]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$(cd "$HERE/../tools" && pwd)"
CACHE="${GITOPS_BASE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-base/e2e}"
BIN="$CACHE/bin"

PRINT_ONLY=0
WANT_APT=1
for arg in "$@"; do
  case "$arg" in
    --print-paths) PRINT_ONLY=1 ;;
    --no-apt) WANT_APT=0 ;;
    *) echo "build-node-tools.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

. "$TOOLS/modver.sh"  # GOTOOLCHAIN, GOFLAGS and modver()

K8S_VERSION="$(modver "$TOOLS/kubernetes" k8s.io/kubernetes)"
CONTAINERD_VERSION="$(modver "$TOOLS/containerd" github.com/containerd/containerd/v2)"
RUNC_VERSION="$(modver "$TOOLS/runc" github.com/opencontainers/runc)"
COREDNS_VERSION="$(modver "$TOOLS/coredns" github.com/coredns/coredns)"
KUBE_ROUTER_VERSION="$(modver "$TOOLS/kube-router" github.com/cloudnativelabs/kube-router/v2)"
# The test images' binaries are versioned by the hash of their sources.
IMAGES_VERSION="$(cd "$HERE/images" && find . -name '*.go' -o -name go.mod | LC_ALL=C sort \
  | xargs cat | sha256sum | cut -c1-12)"

declare -A OUT=(
  [kubelet]="$BIN/kubelet-$K8S_VERSION"
  [kube-proxy]="$BIN/kube-proxy-$K8S_VERSION"
  [kube-scheduler]="$BIN/kube-scheduler-$K8S_VERSION"
  [containerd]="$BIN/containerd-$CONTAINERD_VERSION"
  [containerd-shim-runc-v2]="$BIN/containerd-shim-runc-v2-$CONTAINERD_VERSION"
  [ctr]="$BIN/ctr-$CONTAINERD_VERSION"
  [runc]="$BIN/runc-$RUNC_VERSION"
  [coredns]="$BIN/coredns-$COREDNS_VERSION"
  [kube-router]="$BIN/kube-router-$KUBE_ROUTER_VERSION"
  [e2e-server]="$BIN/e2e-server-$IMAGES_VERSION"
  [e2e-pause]="$BIN/e2e-pause-$IMAGES_VERSION"
  [e2e-ingress]="$BIN/e2e-ingress-$IMAGES_VERSION"
)
ORDER=(containerd containerd-shim-runc-v2 ctr runc coredns kube-router e2e-server e2e-pause
  e2e-ingress kubelet kube-proxy kube-scheduler)

if [ "$PRINT_ONLY" = 1 ]; then
  for name in "${ORDER[@]}"; do
    key="$(echo "$name" | tr 'a-z-' 'A-Z_')"
    echo "$key=${OUT[$name]}"
  done
  exit 0
fi

now() { date +%s; }
T_ALL=$(now)

# ---- Debian packages --------------------------------------------------------
APT_PKGS=(containernetworking-plugins iptables ipset conntrack libseccomp-dev pkg-config
  git gpg gpg-agent gpgconf tini)
if [ "$WANT_APT" = 1 ]; then
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "build-node-tools.sh: missing Debian packages: ${missing[*]}; install them" \
        "(apt-get install -y ${missing[*]}) or run as root" >&2
      exit 1
    fi
    echo "== apt: installing ${missing[*]}"
    t0=$(now)
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update >/dev/null
      apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    }
    echo "== apt: installed in $(( $(now) - t0 ))s"
  fi
fi

mkdir -p "$BIN"
command -v go >/dev/null || { echo "build-node-tools.sh: go is not on PATH" >&2; exit 1; }

# build NAME MODULE_DIR PACKAGE CGO LDFLAGS [TAGS]
build() {
  local name="$1" dir="$2" pkg="$3" cgo="$4" ldflags="$5" tags="${6:-}" out t0 tmp
  out="${OUT[$name]}"
  if [ -x "$out" ]; then
    echo "== $name: cached at $out"
    return 0
  fi
  echo "== $name: building $pkg into $out ($(go version | awk '{print $3}'))"
  t0=$(now)
  tmp="$out.tmp.$$"
  (cd "$dir" && CGO_ENABLED="$cgo" go build -trimpath -tags "$tags" \
    -ldflags "-s -w $ldflags" -o "$tmp" "$pkg")
  mv -f "$tmp" "$out"
  echo "== $name: built in $(( $(now) - t0 ))s"
}

# ---- containerd ---------------------------------------------------------------
CTRD_LDFLAGS="-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION \
-X github.com/containerd/containerd/v2/version.Revision=module-proxy"
for c in containerd containerd-shim-runc-v2 ctr; do
  build "$c" "$TOOLS/containerd" "github.com/containerd/containerd/v2/cmd/$c" 0 \
    "$CTRD_LDFLAGS" no_btrfs
done

# ---- runc (cgo: seccomp through libseccomp) ----------------------------------
build runc "$TOOLS/runc" github.com/opencontainers/runc 1 "" "seccomp urfave_cli_no_docs"

# ---- CoreDNS ------------------------------------------------------------------
build coredns "$TOOLS/coredns" github.com/coredns/coredns 0 \
  "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"

# ---- kube-router (run with only its network policy controller) ---------------
build kube-router "$TOOLS/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router 0 \
  "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION \
-X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=1970-01-01T00:00:00Z"

# ---- the test images' binaries (static) ---------------------------------------
build e2e-server "$HERE/images" ./server 0 ""
build e2e-pause "$HERE/images" ./pause 0 ""
build e2e-ingress "$HERE/images" ./ingress 0 ""

# ---- Kubernetes node components (same module and flags as kube-apiserver) ----
k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
K8S_LDFLAGS="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$k8s_minor \
-X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
-X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION \
-X k8s.io/client-go/pkg/version.gitMajor=1 \
-X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"
for c in kubelet kube-proxy kube-scheduler; do
  build "$c" "$TOOLS/kubernetes" "k8s.io/kubernetes/cmd/$c" 0 "$K8S_LDFLAGS"
done

echo "== node tools ready in $(( $(now) - T_ALL ))s (cache: $BIN)"

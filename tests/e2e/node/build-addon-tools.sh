#!/usr/bin/env bash
# Build the binaries of the platform add-ons the node tier runs as pods (docs/e2e.md, "The
# add-ons on the node"), and the ACME server and DNS server of its stand-in internet, from the
# Go module proxy plus, where a module is not served, the pinned source trees of
# tests/e2e/node/addon-sources.txt. Cached next to the other e2e binaries, keyed by version:
#
#   ${GITOPS_BASE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-base/e2e}/bin/<name>-<version>
#
#   cert-manager-{controller,webhook,cainjector,acmesolver,startupapicheck}   tests/e2e/tools/cert-manager
#   secrets-store-csi-driver              tests/e2e/tools/secrets-store-csi-driver
#   csi-node-driver-registrar             tests/e2e/tools/node-driver-registrar
#   livenessprobe                         tests/e2e/tools/livenessprobe
#   infisical-csi-provider                tests/e2e/tools/infisical-csi-provider
#   kubectl (the CSI chart's CRD hook)    tests/e2e/tools/kubernetes
#   pebble, pebble-challtestsrv           tests/e2e/tools/pebble
#
# The wrapper modules that replace a module with a pinned tree name it `./src/<tree>`: each
# is built in a copy under <cache>/build/<wrapper>/ whose src/ is <cache>/src, where
# tests/e2e/harness/sources.py extracts and verifies the trees.
#
# Idempotent: a binary already in the cache is not rebuilt. Prints how long each step took.
#
# Usage: tests/e2e/node/build-addon-tools.sh [--print-paths]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$(cd "$HERE/../tools" && pwd)"
CACHE="${GITOPS_BASE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-base/e2e}"
BIN="$CACHE/bin"

PRINT_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --print-paths) PRINT_ONLY=1 ;;
    *) echo "build-addon-tools.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

. "$TOOLS/modver.sh"  # GOTOOLCHAIN, GOFLAGS and modver()

# The version of a module replaced by a pinned tree: the tree's name ends in it.
replver() {
  local dir="$1" mod="$2" v
  v="$(awk -v m="$mod" '
    $1 == "replace" { $1 = ""; $0 = $0 }
    $1 == m && $2 == "=>" { print $3 }' "$dir/go.mod" \
    | sed -E 's#^\./src/[^/]*-(v[0-9][^/-]*)[^/]*(/.*)?$#\1#')"
  if [ -z "$v" ]; then
    echo "$(basename "$0"): $mod is not replaced by a pinned tree in $dir/go.mod" >&2
    exit 1
  fi
  echo "$v"
}

CM_VERSION="$(modver "$TOOLS/cert-manager" github.com/cert-manager/cert-manager)"
CM_CMD_VERSION="$(replver "$TOOLS/cert-manager" github.com/cert-manager/cert-manager/controller-binary)"
if [ "$CM_VERSION" != "$CM_CMD_VERSION" ]; then
  echo "build-addon-tools.sh: cert-manager's library is $CM_VERSION but its binaries' tree is" \
    "$CM_CMD_VERSION (tests/e2e/tools/cert-manager/go.mod)" >&2
  exit 1
fi
CSI_VERSION="$(modver "$TOOLS/secrets-store-csi-driver" sigs.k8s.io/secrets-store-csi-driver)"
REGISTRAR_VERSION="$(replver "$TOOLS/node-driver-registrar" github.com/kubernetes-csi/node-driver-registrar)"
LIVENESS_VERSION="$(replver "$TOOLS/livenessprobe" github.com/kubernetes-csi/livenessprobe)"
INFISICAL_VERSION="$(replver "$TOOLS/infisical-csi-provider" github.com/infisical/infisical-csi-provider)"
K8S_VERSION="$(modver "$TOOLS/kubernetes" k8s.io/kubernetes)"
PEBBLE_VERSION="$(modver "$TOOLS/pebble" github.com/letsencrypt/pebble/v2)"

CM_BINARIES=(controller webhook cainjector acmesolver startupapicheck)
declare -A OUT=(
  [secrets-store-csi-driver]="$BIN/secrets-store-csi-driver-$CSI_VERSION"
  [csi-node-driver-registrar]="$BIN/csi-node-driver-registrar-$REGISTRAR_VERSION"
  [livenessprobe]="$BIN/livenessprobe-$LIVENESS_VERSION"
  [infisical-csi-provider]="$BIN/infisical-csi-provider-$INFISICAL_VERSION"
  [kubectl]="$BIN/kubectl-$K8S_VERSION"
  [pebble]="$BIN/pebble-$PEBBLE_VERSION"
  [pebble-challtestsrv]="$BIN/pebble-challtestsrv-$PEBBLE_VERSION"
)
ORDER=()
for b in "${CM_BINARIES[@]}"; do
  OUT[cert-manager-$b]="$BIN/cert-manager-$b-$CM_VERSION"
  ORDER+=("cert-manager-$b")
done
ORDER+=(secrets-store-csi-driver csi-node-driver-registrar livenessprobe infisical-csi-provider
  kubectl pebble pebble-challtestsrv)

if [ "$PRINT_ONLY" = 1 ]; then
  for name in "${ORDER[@]}"; do
    key="$(echo "$name" | tr 'a-z-' 'A-Z_')"
    echo "$key=${OUT[$name]}"
  done
  exit 0
fi

now() { date +%s; }
T_ALL=$(now)
mkdir -p "$BIN"
command -v go >/dev/null || { echo "build-addon-tools.sh: go is not on PATH" >&2; exit 1; }

missing=0
for name in "${ORDER[@]}"; do [ -x "${OUT[$name]}" ] || missing=1; done
if [ "$missing" = 1 ]; then
  # ---- the pinned source trees (only what a missing binary may need) ----------
  t0=$(now)
  PYTHON_BIN="${PYTHON:-python3}"
  "$PYTHON_BIN" "$HERE/../harness/sources.py" "$CACHE/src" "$CACHE" >/dev/null
  echo "== sources: verified in $(( $(now) - t0 ))s ($CACHE/src)"
fi

# The directory a wrapper module builds in: itself when it replaces nothing with a pinned
# tree, else a copy beside <cache>/src.
build_dir() {
  local wrapper="$1" dir
  if ! grep -q '=> \./src/' "$TOOLS/$wrapper/go.mod"; then
    echo "$TOOLS/$wrapper"
    return
  fi
  dir="$CACHE/build/$wrapper"
  mkdir -p "$dir"
  cp "$TOOLS/$wrapper/go.mod" "$TOOLS/$wrapper/go.sum" "$dir/"
  ln -sfn "$CACHE/src" "$dir/src"
  echo "$dir"
}

# build NAME WRAPPER PACKAGE LDFLAGS
build() {
  local name="$1" wrapper="$2" pkg="$3" ldflags="$4" out t0 tmp dir
  out="${OUT[$name]}"
  if [ -x "$out" ]; then
    echo "== $name: cached at $out"
    return 0
  fi
  dir="$(build_dir "$wrapper")"
  echo "== $name: building $pkg into $out ($(go version | awk '{print $3}'))"
  t0=$(now)
  tmp="$out.tmp.$$"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg")
  mv -f "$tmp" "$out"
  echo "== $name: built in $(( $(now) - t0 ))s"
}

# ---- cert-manager -------------------------------------------------------------
CM_LDFLAGS="-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CM_VERSION \
-X github.com/cert-manager/cert-manager/pkg/util.AppGitCommit=module-proxy \
-X github.com/cert-manager/cert-manager/pkg/util.AppGitState=clean"
for b in "${CM_BINARIES[@]}"; do
  build "cert-manager-$b" cert-manager "github.com/cert-manager/cert-manager/$b-binary" \
    "$CM_LDFLAGS"
done

# ---- secrets-store CSI driver and the chart's sidecars ----------------------------
build secrets-store-csi-driver secrets-store-csi-driver \
  sigs.k8s.io/secrets-store-csi-driver/cmd/secrets-store-csi-driver \
  "-X sigs.k8s.io/secrets-store-csi-driver/pkg/version.BuildVersion=$CSI_VERSION \
-X sigs.k8s.io/secrets-store-csi-driver/pkg/version.BuildTime=1970-01-01-00:00 \
-X sigs.k8s.io/secrets-store-csi-driver/pkg/version.Vcs=module-proxy"
build csi-node-driver-registrar node-driver-registrar \
  github.com/kubernetes-csi/node-driver-registrar/cmd/csi-node-driver-registrar \
  "-X main.version=$REGISTRAR_VERSION"
build livenessprobe livenessprobe github.com/kubernetes-csi/livenessprobe/cmd/livenessprobe \
  "-X main.version=$LIVENESS_VERSION"

# ---- Infisical CSI provider ---------------------------------------------------------
build infisical-csi-provider infisical-csi-provider github.com/infisical/infisical-csi-provider \
  "-X github.com/infisical/infisical-csi-provider/internal/version.BuildVersion=$INFISICAL_VERSION"

# ---- kubectl (the CSI driver chart's CRD hook image runs it) ------------------------
k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl \
  "-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$k8s_minor \
-X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
-X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION \
-X k8s.io/client-go/pkg/version.gitMajor=1 \
-X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"

# ---- Pebble: Let's Encrypt's ACME test server and its DNS server --------------------
build pebble pebble github.com/letsencrypt/pebble/v2/cmd/pebble "-X main.version=$PEBBLE_VERSION"
build pebble-challtestsrv pebble github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv ""

echo "== add-on tools ready in $(( $(now) - T_ALL ))s (cache: $BIN)"

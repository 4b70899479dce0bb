# Sourced by tests/e2e/build-tools.sh and tests/e2e/node/build-node-tools.sh.
#
# Never let the go command fetch a toolchain or touch the network for anything but modules;
# never let a stray GOFLAGS=-mod=mod rewrite the pinned go.sum.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"

# The version of module $2 required by wrapper module $1 (read from go.mod, no network needed).
modver() {
  local dir="$1" mod="$2" v
  v="$(awk -v m="$mod" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$dir/go.mod")"
  if [ -z "$v" ]; then
    echo "$(basename "$0"): $mod is not required in $dir/go.mod" >&2
    exit 1
  fi
  echo "$v"
}

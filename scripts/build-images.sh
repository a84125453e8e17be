#!/usr/bin/env bash
# Builds the two images with buildah and runs each once with podman (`--version`).
#
#   scripts/build-images.sh                 local Node 24 bases (no registry pulls), then the images
#   NODE_IMAGE=node:24-bookworm-slim RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot \
#     scripts/build-images.sh               the Dockerfiles' own bases (needs a reachable registry)
#
# No public container registry is reachable on our machines, so by default the bases are made
# here, FROM scratch, out of the Node 24 binary in node_modules/node (npm's `node` package) and
# the shared libraries it links:
#   localhost/msd-node-build:24    node + npm + /bin/sh (dash) + env: enough for the build stage
#   localhost/msd-node-runtime:24  node and its libraries only: no shell, like distroless
# Images: localhost/msd/segment-server:<version>, localhost/msd/fetcher:<version>.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version="$(node -p "require('./package.json').version")"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
isolation=(--isolation chroot)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

for tool in buildah podman; do
  command -v "$tool" >/dev/null || {
    echo "build-images: $tool is missing: apt-get install -y buildah podman runc" >&2; exit 1; }
done

node_bin="$(readlink -f node_modules/node/bin/node 2>/dev/null || true)"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

# Copies a binary and the libraries it links (as ldd resolves them) into a rootfs.
add_binary() { # rootfs source destination
  local rootfs="$1" src="$2" dest="$3"
  mkdir -p "$rootfs$(dirname "$dest")"
  cp -L "$src" "$rootfs$dest"
  ldd "$src" | grep -o '/[^ ]*' | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -Ln "$lib" "$rootfs$lib" 2>/dev/null || true
  done
}

make_base() { # tag with-build-tools(0|1)
  local tag="$1" build_tools="$2" rootfs
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' RETURN
  [ -x "$node_bin" ] && "$node_bin" --version | grep -q '^v24\.' || {
    echo "build-images: node_modules/node/bin/node is not Node 24: run 'make install'" >&2; return 1; }
  add_binary "$rootfs" "$node_bin" /usr/local/bin/node
  strip --strip-debug "$rootfs/usr/local/bin/node" 2>/dev/null || true
  mkdir -p "$rootfs/tmp" "$rootfs/etc" "$rootfs/app"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:10001:10001:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:10001:\n' >"$rootfs/etc/group"
  if [ "$build_tools" = 1 ]; then
    add_binary "$rootfs" "$(command -v dash)" /bin/sh
    add_binary "$rootfs" "$(command -v env)" /usr/bin/env
    mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/root"
    cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  fi
  printf 'FROM scratch\nCOPY . /\nENV PATH=/usr/local/bin:/usr/bin:/bin\n' >"$rootfs/Containerfile"
  # The build stage's npm must trust what this machine trusts (e.g. a TLS-inspecting proxy's CA).
  if [ "$build_tools" = 1 ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$rootfs/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
    printf 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n' >>"$rootfs/Containerfile"
  fi
  buildah build "${isolation[@]}" --quiet -f "$rootfs/Containerfile" -t "$tag" "$rootfs" >/dev/null
  echo "build-images: base $tag ($(du -sh "$rootfs" | cut -f1))"
}

if [ -z "${NODE_IMAGE:-}" ]; then
  make_base localhost/msd-node-build:24 1
  make_base localhost/msd-node-runtime:24 0
  NODE_IMAGE=localhost/msd-node-build:24
  RUNTIME_IMAGE=localhost/msd-node-runtime:24
fi

for program in segment-server fetcher; do
  image="localhost/msd/$program:$version"
  echo "build-images: building $image (build base $NODE_IMAGE, runtime base ${RUNTIME_IMAGE:-Dockerfile default})"
  buildah build "${isolation[@]}" "${limits[@]}" --layers \
    --build-arg "NODE_IMAGE=$NODE_IMAGE" \
    ${RUNTIME_IMAGE:+--build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE"} \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    -f "services/$program/Dockerfile" -t "$image" . >"${TMPDIR:-/tmp}/msd-build-$program.log" 2>&1 || {
      tail -30 "${TMPDIR:-/tmp}/msd-build-$program.log" >&2
      echo "build-images: building $image failed (full log: ${TMPDIR:-/tmp}/msd-build-$program.log)" >&2; exit 1; }
  # Run it once the way Kubernetes would: read-only root, non-root, all capabilities dropped.
  out="$(podman run --rm --runtime runc --network host --cgroup-manager cgroupfs "${limits[@]}" \
    --read-only --cap-drop ALL --security-opt no-new-privileges "$image" --version)"
  user="$(podman image inspect --format '{{.Config.User}}' "$image")"
  echo "build-images: $image ($(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec)) user $user: --version -> $out"
done

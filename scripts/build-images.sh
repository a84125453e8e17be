#!/usr/bin/env bash
# Builds the two images with buildah and runs each once with podman (`--version`).
#
#   scripts/build-images.sh                 local Node 24 bases (no registry pulls), then the images
#   REGISTRY=r.example/msd scripts/build-images.sh
#                                           tags r.example/msd/{segment-server,fetcher}:<appVersion>,
#                                           exactly what the chart names with
#                                           --set global.imageRegistry=r.example/msd
#   PUSH=1 REGISTRY=... scripts/build-images.sh   ... and pushes both (buildah push)
#   scripts/build-images.sh --print-tags    prints the two tags and the helm flag, builds nothing
#   NODE_IMAGE=node:24-bookworm-slim RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot \
#     scripts/build-images.sh               the Dockerfiles' own bases (needs a reachable registry)
#
# No public container registry is reachable on our machines, so by default the bases are made
# here, FROM scratch, out of the Node 24 binary in node_modules/node (npm's `node` package) and
# the shared libraries it links:
#   localhost/msd-node-build:24    node + npm + /bin/sh (dash) + env: enough for the build stage
#   localhost/msd-node-runtime:24  node and its libraries only: no shell, like distroless
# Images: $REGISTRY/segment-server:<version>, $REGISTRY/fetcher:<version>; REGISTRY defaults to
# localhost/msd, the chart's default image.registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# The tag is the chart's appVersion (the chart's default tag), which must be the programs' version.
version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' charts/multi-server-downloader/Chart.yaml)"
package_version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -1)"
if [ "$version" != "$package_version" ]; then
  echo "build-images: package.json version $package_version differs from the chart's appVersion $version:" \
    "the chart would name images that were never built; make them equal" >&2; exit 1
fi
registry="${REGISTRY:-localhost/msd}"
registry="${registry%/}"
image_of() { echo "$registry/$1:$version"; }
if [ "${1:-}" = "--print-tags" ]; then
  image_of segment-server
  image_of fetcher
  echo "helm: --set global.imageRegistry=$registry"
  exit 0
fi
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
  local tag="$1" build_tools="$2" rootfs node_version
  [ -x "$node_bin" ] && "$node_bin" --version | grep -q '^v24\.' || {
    echo "build-images: node_modules/node/bin/node is not Node 24: run 'make install'" >&2; return 1; }
  node_version="$("$node_bin" --version)"
  # Reuse a base made from the same Node version (MSD_REBUILD_BASE=1 forces a new one).
  if [ -z "${MSD_REBUILD_BASE:-}" ] && [ "$(podman image inspect --format '{{index .Config.Labels "msd.node.version"}}' "$tag" 2>/dev/null)" = "$node_version" ]; then
    echo "build-images: base $tag (Node $node_version) already present"; return 0
  fi
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' RETURN
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
  printf 'FROM scratch\nCOPY . /\nENV PATH=/usr/local/bin:/usr/bin:/bin\nLABEL msd.node.version=%s\n' "$node_version" >"$rootfs/Containerfile"
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
  image="$(image_of "$program")"
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

# Smoke test of the built images together, configured the way the chart configures them:
# a segment-server container serves a file, the helm-test script (charts/.../files) checks it from
# inside the fetcher image, and a fetcher container downloads and verifies the file.
# All containers: read-only root, uid 10001, no capabilities, host network on 127.0.0.1.
smoke="$(mktemp -d)"
server_ctr="msd-smoke-server-$$"
cleanup() { podman rm -f "$server_ctr" >/dev/null 2>&1 || true; rm -rf "$smoke"; }
trap cleanup EXIT
mkdir -p "$smoke/data" "$smoke/out"
chmod 0755 "$smoke"
chown 10001:10001 "$smoke/out" "$smoke/data" 2>/dev/null || chmod 0777 "$smoke/out" "$smoke/data"
read -r data_port grpc_port metrics_port < <(node -e '
  const net = require("net"); const ports = []; const servers = [];
  (async () => { for (let i = 0; i < 3; i++) { const s = net.createServer(); servers.push(s);
    await new Promise((r) => s.listen(0, "127.0.0.1", r)); ports.push(s.address().port); }
    servers.forEach((s) => s.close()); console.log(ports.join(" ")); })();')
run=(podman run --runtime runc --network host --cgroup-manager cgroupfs "${limits[@]}"
     --read-only --cap-drop ALL --security-opt no-new-privileges --user 10001:10001)
# The file: written by the chart's demo step (generate-demo.js) with the segment-server image's node.
"${run[@]}" --rm -v "$smoke/data:/data" -v "$root/charts/multi-server-downloader/files:/opt/msd:ro" \
  --entrypoint node "$(image_of segment-server)" /opt/msd/generate-demo.js \
  --out=/data/data.bin --size=$((3 * 1024 * 1024 + 777)) --seed=smoke | sed 's/^/build-images: smoke: /'
"${run[@]}" -d --name "$server_ctr" -v "$smoke/data:/data:ro" \
  -e MSD_FILE=/data/data.bin -e MSD_PORT="$data_port" -e MSD_BIND=127.0.0.1 -e MSD_SERVER_ID=0 \
  -e MSD_NUM_SERVERS=1 -e MSD_GRPC_PORT="$grpc_port" -e MSD_METRICS_PORT="$metrics_port" \
  -e MSD_LOG_FORMAT=json "$(image_of segment-server)" >/dev/null
"${run[@]}" --rm -v "$root/charts/multi-server-downloader/files:/opt/msd:ro" -e NODE_PATH=/app/node_modules \
  --entrypoint node "$(image_of fetcher)" /opt/msd/check-servers.js \
  --grpc="127.0.0.1:$grpc_port" --data="127.0.0.1:$data_port" --bytes=4096 --timeout=60 \
  | sed 's/^/build-images: smoke: /'
"${run[@]}" --rm -v "$smoke/out:/out" -e MSD_SERVERS="127.0.0.1:$data_port" -e MSD_OUTPUT=/out/ \
  -e MSD_LOG_FORMAT=json "$(image_of fetcher)" >"$smoke/fetcher.log" 2>&1 \
  || { cat "$smoke/fetcher.log" >&2; echo "build-images: smoke: the fetcher container failed" >&2; exit 1; }
cmp "$smoke/data/data.bin" "$smoke/out/data.bin" \
  || { echo "build-images: smoke: fetched file differs" >&2; exit 1; }
podman stop --time 30 "$server_ctr" >/dev/null   # SIGTERM (STOPSIGNAL), as the kubelet sends
code="$(podman inspect --format '{{.State.ExitCode}}' "$server_ctr")"
[ "$code" = 0 ] || { podman logs "$server_ctr" | tail -20 >&2; echo "build-images: smoke: server exited $code on SIGTERM" >&2; exit 1; }
echo "build-images: smoke: fetched $(stat -c %s "$smoke/out/data.bin") bytes through the containers, identical; server exited 0 on SIGTERM"

if [ -n "${PUSH:-}" ]; then
  for program in segment-server fetcher; do
    buildah push "$(image_of "$program")" "docker://$(image_of "$program")"
    echo "build-images: pushed $(image_of "$program")"
  done
fi
echo "build-images: install with: helm install dl charts/multi-server-downloader --set global.imageRegistry=$registry"

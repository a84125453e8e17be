#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real. Idempotent: does
# nothing when everything is present. Needs root (CI and these machines run as root).
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v promtool >/dev/null || need+=(prometheus)
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null || need+=(python3-grpcio python3-grpc-tools)
[ -d /usr/share/grpc-proto ] || [ -f /usr/include/grpc/health/v1/health.proto ] || need+=(grpc-proto)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v nginx >/dev/null || need+=(nginx-light)
command -v aria2c >/dev/null || need+=(aria2)
command -v axel >/dev/null || need+=(axel)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: missing Debian packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "install-test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null

#!/usr/bin/env bash
# Installs the Debian packages the tests and the benchmark run for real: Prometheus, Pushgateway
# and promtool; Python's gRPC (an independent health client); openssl (test certificates);
# e2fsprogs; the peers of `make bench` (curl, aria2, axel, nginx-light), iperf3 (loopback
# ceiling) and GNU time (exact peak RSS and CPU). Idempotent: does nothing when everything is
# present. Needs root (CI and these machines run as root). Starts no daemon.
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v promtool >/dev/null || need+=(prometheus)
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null || need+=(python3-grpcio python3-grpc-tools)
[ -d /usr/share/grpc-proto ] || [ -f /usr/include/grpc/health/v1/health.proto ] || need+=(grpc-proto)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v aria2c >/dev/null || need+=(aria2)
command -v axel >/dev/null || need+=(axel)
command -v nginx >/dev/null || need+=(nginx-light)
command -v iperf3 >/dev/null || need+=(iperf3)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: missing Debian packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "install-test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# iperf3's package asks whether to start a daemon; never start one here.
echo 'iperf3 iperf3/start_daemon boolean false' | debconf-set-selections 2>/dev/null || true
# Packages with services (nginx, iperf3, prometheus) must not start them: the tests run their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
flock /tmp/msd-apt.lock apt-get update -qq
flock /tmp/msd-apt.lock apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null

#!/usr/bin/env bash
# Installs the Debian packages `make bench` compares against or measures with: the peers
# (curl, aria2, axel, nginx-light), the loopback ceiling (iperf3) and GNU time (exact peak
# RSS and CPU of each client). Idempotent: does nothing when everything is present.
set -euo pipefail
need=()
command -v curl >/dev/null || need+=(curl)
command -v aria2c >/dev/null || need+=(aria2)
command -v axel >/dev/null || need+=(axel)
command -v nginx >/dev/null || need+=(nginx-light)
command -v iperf3 >/dev/null || need+=(iperf3)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-bench-deps: missing Debian packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "install-bench-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# iperf3's package asks whether to start a daemon; never start one here.
echo 'iperf3 iperf3/start_daemon boolean false' | debconf-set-selections 2>/dev/null || true
# Packages with services (nginx, iperf3) must not start them: no daemon on port 80 or 5201.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
flock /tmp/msd-apt.lock apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

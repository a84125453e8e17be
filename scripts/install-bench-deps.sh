#!/usr/bin/env bash
# `make bench` needs the same Debian packages as the tests (the peers, iperf3, GNU time among them).
exec bash "$(dirname "$0")/install-test-deps.sh"

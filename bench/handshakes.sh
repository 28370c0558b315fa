#!/usr/bin/env bash
# IKEv2 handshake and scale benchmark: p2sgw serve and strongSwan's charon as responders to
# `p2sgw bench ikev2`, in network namespaces of its own, and p2sgw serve's memory at 1k, 10k and
# 100k sessions. Run as root from the repository root:
#
#   sudo bench/handshakes.sh [flags of bench/handshakes, e.g. -reps 1 -skip scale]
#
# Results: bench/out/handshakes.md and bench/out/handshakes.json (bench/out is not committed);
# working files (gateway directories, logs, perf data) under bench/out/handshakes/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "handshakes.sh: run as root (it builds network namespaces)" >&2; exit 1; }
for tool in ip charon-systemd swanctl perf; do
	command -v "$tool" >/dev/null || { echo "handshakes.sh: $tool is missing (apt-get install iproute2 charon-systemd strongswan-swanctl linux-perf)" >&2; exit 1; }
done
go build -o bench/out/handshakes/handshakes ./bench/handshakes
exec bench/out/handshakes/handshakes "$@"

#!/usr/bin/env bash
# run.sh: TCP throughput and added latency of p2sgw and of the best user-space peers, in one
# run, on the same namespace topology; then the Go micro-benchmarks of the data path.
#
#   sudo bench/throughput/run.sh            # full: 5 × 10 s per cell, 200 pings
#   sudo bench/throughput/run.sh --quick    # first look: 2 × 4 s, 100 pings, short micro-benchmarks
#
# Rows (--rows picks some, e.g. --rows a,e):
#   a  no tunnel: client → gateway namespace → VNet host, plain routing
#   b  wireguard-go pair (golang.zx2c4.com/wireguard at go.mod's version), wg from wireguard-tools
#   c  strongSwan 5.9.8 charon pair with kernel-libipsec, certificates, ESP AES-GCM-128, virtual IP
#   d  OpenVPN 2.6 pair, UDP, AES-128-GCM, DCO off
#   e  p2sgw serve (SSTP) + p2sgw's own SSTP client (bench/throughput/sstpclient), EAP-TLS
#   f  p2sgw serve (IKEv2) + p2sgw connect
#
# For each row: a fresh topology (lib.sh), the row's tunnel (rows.sh), PINGS pings at 10 ms,
# then iperf3 from the client to the VNet host with 1 and 4 streams, RUNS runs of DURATION
# seconds each (the first second omitted); the CPU of the machine and of each tunnel daemon
# is recorded per run. Results go to bench/out/throughput-<time>/, with report.md made by
# bench/throughput/report. Nothing is added to the root namespace; every process started is
# stopped by PID and the namespaces are removed on exit, also on failure or Ctrl-C.
set -uo pipefail

usage() {
	sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	cat <<'EOF'

Options:
  --quick            2 runs × 4 s, 100 pings, micro-benchmarks at 0.2 s × 1
  --rows LIST        rows to run, comma-separated (default a,b,c,d,e,f)
  --runs N           runs per cell (default 5)
  --time S           seconds per run (default 10)
  --pings N          pings per row (default 200)
  --reverse          also measure VNet → client (iperf3 -R)
  --no-micro         skip the Go micro-benchmarks
  --micro-only       only the Go micro-benchmarks
  --no-install       do not apt-get install missing Debian packages
  --out DIR          output directory (default bench/out/throughput-<time>)
  --quiet-max PCT    wait before a run while the machine is busier than PCT % (100 = one core; default 30)
  --foreign-max PCT  run again (twice at most) when processes not of this benchmark took more
                     than PCT % of a core during a run (default 25)
  --p2sgw-rev REV    build p2sgw and the SSTP client from commit REV (git archive) instead of
                     the working tree, e.g. --p2sgw-rev HEAD while others edit the tree
EOF
}

ARGS="$*"
RUNS=5 DURATION=10 PINGS=200 DIRECTIONS=up MICRO=yes MICRO_ONLY=no INSTALL=yes
ROWS=a,b,c,d,e,f OUT='' QUIET_MAX=30 QUIET_WAIT=60 FOREIGN_MAX=25 P2SGW_REV=''
BENCHTIME=1s BENCHCOUNT=5
while (($#)); do
	case $1 in
	--quick) RUNS=2 DURATION=4 PINGS=100 BENCHTIME=200ms BENCHCOUNT=1 QUIET_WAIT=20 ;;
	--rows) ROWS=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--time) DURATION=$2; shift ;;
	--pings) PINGS=$2; shift ;;
	--reverse) DIRECTIONS="up down" ;;
	--no-micro) MICRO=no ;;
	--micro-only) MICRO_ONLY=yes ;;
	--no-install) INSTALL=no ;;
	--out) OUT=$2; shift ;;
	--quiet-max) QUIET_MAX=$2; shift ;;
	--foreign-max) FOREIGN_MAX=$2; shift ;;
	--p2sgw-rev) P2SGW_REV=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO" || exit 1
# shellcheck source=bench/throughput/lib.sh
. "$HERE/lib.sh"
# shellcheck source=bench/throughput/rows.sh
. "$HERE/rows.sh"

(($(id -u) == 0)) || die "run as root (namespaces, TUN devices): sudo $0 $*"

# Debian packages: the command each row needs and the package that has it.
PACKAGES=(iperf3 wireguard-tools strongswan-swanctl charon-systemd libcharon-extra-plugins
	libstrongswan-extra-plugins strongswan-pki openvpn openssl iproute2 iputils-ping procps)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[ "$INSTALL" = yes ] || die "missing Debian packages: ${missing[*]} (run without --no-install)"
	log "installing ${missing[*]}"
	# --no-install-recommends: wireguard-tools recommends a kernel image.
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
		die "apt-get install ${missing[*]} failed"
}

# build compiles p2sgw, the SSTP client, the report tool and wireguard-go (at the version
# of golang.zx2c4.com/wireguard that go.mod requires) into $OUT/bin. With --p2sgw-rev,
# p2sgw and the SSTP client are built from that commit's tree, unpacked in $OUT/src.
build() {
	local bin=$OUT/bin src=$REPO
	mkdir -p "$bin"
	if [ -n "$P2SGW_REV" ]; then
		src=$OUT/src
		mkdir -p "$src/bench/throughput"
		git archive "$P2SGW_REV" | tar -x -C "$src" || die "git archive $P2SGW_REV failed"
		cp -r "$HERE/sstpclient" "$src/bench/throughput/"
	fi
	log "building p2sgw and sstpclient (from ${P2SGW_REV:-the working tree}), and report"
	(cd "$src" && go build -o "$bin/p2sgw" ./cmd/p2sgw) || die "go build ./cmd/p2sgw failed"
	(cd "$src" && go build -o "$bin/sstpclient" ./bench/throughput/sstpclient) || die "go build sstpclient failed"
	go build -o "$bin/report" ./bench/throughput/report || die "go build report failed"
	WG_VERSION=$(go list -m -f '{{.Version}}' golang.zx2c4.com/wireguard) || die "go list -m golang.zx2c4.com/wireguard failed"
	log "building wireguard-go $WG_VERSION"
	# go install pkg@version builds the module on its own, with its own go.mod.
	(cd / && GOFLAGS='' GOBIN="$bin" go install "golang.zx2c4.com/wireguard@$WG_VERSION") || die "go install golang.zx2c4.com/wireguard@$WG_VERSION failed"
	P2SGW=$bin/p2sgw SSTPCLIENT=$bin/sstpclient WG_BIN=$bin/wireguard REPORT=$bin/report
}

pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }

# describe writes what the report needs to say what was measured, and on what.
describe() {
	local rev dirty=""
	local changed
	if [ -n "$P2SGW_REV" ]; then
		rev=$(git rev-parse --short=12 "$P2SGW_REV" 2>/dev/null || echo "?")
		dirty=" (built from git archive $P2SGW_REV)"
	else
		rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo "?")
		# Uncommitted Go files that go into the binaries (tests and bench/ do not).
		changed=$(git status --porcelain -- '*.go' 2>/dev/null | grep -v -e '_test\.go$' -e ' bench/' | awk '{print $1" "$2}' | paste -sd, -)
		[ -n "$changed" ] && dirty=" with uncommitted changes: ${changed//,/, }"
	fi
	{
		echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
		echo "cores: $(nproc) ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
		echo "cpu flags: $(grep -o -w -E 'aes|pclmulqdq|avx2|vaes|vpclmulqdq|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
		echo "memory: $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
		echo "kernel: $(uname -r)"
		echo "os: Debian $(cat /etc/debian_version)"
		echo "hypervisor: $(lscpu | sed -n 's/^Hypervisor vendor: *//p')"
		echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$OUT/machine.txt"
	{
		echo "go: $(go version | cut -d' ' -f3-)"
		echo "p2sgw: $rev$dirty"
		echo "wireguard-go: golang.zx2c4.com/wireguard $WG_VERSION ($("$WG_BIN" --version 2>/dev/null | head -1))"
		echo "wireguard-tools: $(pkgver wireguard-tools)"
		echo "strongSwan: $(pkgver charon-systemd) (charon-systemd, libcharon-extra-plugins $(pkgver libcharon-extra-plugins))"
		echo "OpenVPN: $(openvpn --version 2>/dev/null | head -1 | cut -d' ' -f1-2) (Debian $(pkgver openvpn))"
		echo "OpenSSL: $(openssl version 2>/dev/null)"
		echo "iperf3: $(iperf3 --version 2>/dev/null | head -1) (Debian $(pkgver iperf3))"
	} >"$OUT/versions.txt"
	{
		echo "command: sudo bench/throughput/run.sh $ARGS"
		echo "iperf3: $RUNS runs × $DURATION s per cell (first second omitted), 1 and 4 streams, directions: $DIRECTIONS"
		echo "ping: $PINGS pings at 10 ms"
		echo "go test -bench: -benchtime $BENCHTIME -count $BENCHCOUNT, in the working tree (also with --p2sgw-rev)"
		echo "quiet guard: before each run, wait up to $QUIET_WAIT s for the machine to be ≤ $QUIET_MAX % busy (100 = one core)"
		echo "foreign guard: a run during which other processes took > $FOREIGN_MAX % of a core is run again, twice at most"
	} >"$OUT/settings.txt"
}

# run_row ID: a fresh topology, the row's path, the measurements, and everything removed.
run_row() {
	local id=$1 rc
	ROWDIR=$OUT/rows/$id-${ROW_NAME[$id]}
	mkdir -p "$ROWDIR"
	{
		echo "id=$id"
		echo "name=${ROW_NAME[$id]}"
		echo "label=${ROW_LABEL[$id]}"
		echo "cipher=${ROW_CIPHER[$id]}"
	} >"$ROWDIR/meta"
	log "row $id: ${ROW_LABEL[$id]}"
	topology_up
	iperf_server_up || { echo "status=failed: iperf3 server did not start" >>"$ROWDIR/meta"; teardown; return; }
	SKIP_REASON=
	"row_$id"
	rc=$?
	if ((rc == 2)); then
		log "row $id skipped: $SKIP_REASON"
		echo "status=$SKIP_REASON" >>"$ROWDIR/meta"
	elif ((rc != 0)); then
		log "row $id failed to come up (logs in $ROWDIR)"
		echo "status=failed: the tunnel did not come up (logs in ${ROWDIR#"$REPO"/})" >>"$ROWDIR/meta"
	elif ! measure; then
		echo "status=failed: the VNet host did not answer through the tunnel" >>"$ROWDIR/meta"
	else
		echo "status=ok" >>"$ROWDIR/meta"
	fi
	teardown
}

teardown() {
	stop_all
	topology_down
}

# micro runs the Go micro-benchmarks of the data path into $OUT/micro.txt, in the working
# tree: they are about the code at hand, and some live in files not yet committed. Each
# package's test binary is built first, then run after wait_quiet, and the machine's load
# during it is noted, so that a neighbour's burst shows.
MICRO_PACKAGES=("./esp ." "./esp/replay ." "./ike/transform ." "./dataplane ." "./ike BenchmarkHandshake")

micro() {
	local spec pkg pattern bin quiet b0 t0 s0 i0 b1 t1 s1 i1
	local dir=$OUT/bin/micro
	mkdir -p "$dir"
	: >"$OUT/micro.txt"
	log "Go micro-benchmarks (-benchtime $BENCHTIME -count $BENCHCOUNT)"
	for spec in "${MICRO_PACKAGES[@]}"; do
		read -r pkg pattern <<<"$spec"
		bin=$dir/$(tr / _ <<<"${pkg#./}").test
		go test -c -o "$bin" "$pkg" >>"$OUT/micro.txt" 2>&1 || { log "go test -c $pkg failed: see micro.txt"; continue; }
		quiet=$(wait_quiet)
		read -r b0 t0 s0 i0 < <(cpu_stat)
		(cd "$pkg" && "$bin" -test.run '^$' -test.bench "$pattern" -test.benchmem \
			-test.benchtime "$BENCHTIME" -test.count "$BENCHCOUNT") >>"$OUT/micro.txt" 2>&1 ||
			log "the benchmarks of $pkg failed: see micro.txt"
		read -r b1 t1 s1 i1 < <(cpu_stat)
		echo "# $pkg: machine busy $(((b1 - b0) * 100 * NCPU / (t1 - t0 > 0 ? t1 - t0 : 1))) %, $quiet % before" >>"$OUT/micro.txt"
		log "  $pkg: $(grep -c "^Benchmark" "$OUT/micro.txt") results so far"
	done
}

cleanup() {
	trap - EXIT INT TERM
	teardown
}

trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

[ -n "$OUT" ] || OUT=$REPO/bench/out/throughput-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/rows" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
ln -sfn "$OUT" "$REPO/bench/out/throughput-latest" 2>/dev/null
exec 2> >(tee -a "$OUT/run.log" >&2)

remove_stale
install_packages
build
describe
if [ "$MICRO_ONLY" = no ]; then
	for id in ${ROWS//,/ }; do
		[ -n "${ROW_NAME[$id]:-}" ] || die "unknown row $id (rows: ${ROW_IDS[*]})"
		run_row "$id"
	done
fi
[ "$MICRO" = yes ] && micro
"$REPORT" -dir "$OUT" >"$OUT/report.md" || die "report failed"
cat "$OUT/report.md"
log "results in ${OUT#"$REPO"/}/ (report.md; raw iperf3 JSON, pings, CPU and logs under rows/)"

# lib.sh: the topology, the processes and the measurements of bench/throughput/run.sh.
# Sourced, not run. Everything here acts only on the namespaces p2b-<pid>-{c,gw,vnet} that
# this run creates, and on the processes it starts (by PID).
#
# The topology (the addresses of internal/testnet, without its bridge):
#
#   namespace   link   address          routes
#   $NS_C       eth0   198.18.1.1/16    (each row adds its own route to 198.19.0.0/16)
#   $NS_GW      inet   198.18.0.1/16    ip_forward=1; each row adds its route to the pool
#               vnet   198.19.0.1/16
#   $NS_V       eth0   198.19.0.10/16   default via 198.19.0.1; iperf3 -s
#
# The pool is 100.64.0.0/24. The root namespace gets no address and no route.

CLIENT_ADDR=198.18.1.1
GW_ADDR=198.18.0.1
GW_VNET_ADDR=198.19.0.1
VNET_HOST=198.19.0.10
VNET_PREFIX=198.19.0.0/16
POOL=100.64.0.0/24

NS_C=p2b-$$-c
NS_GW=p2b-$$-gw
NS_V=p2b-$$-vnet

# PIDS lists every process this run started, in start order; PID_OF maps a row's role
# (gw, client, iperf) to its PID for the CPU accounting.
PIDS=()
declare -A PID_OF=()

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# start ROLE NS LOGFILE CMD… runs CMD in NS in the background and records its PID.
# ip netns exec and env exec their command, so $! is the daemon's own PID.
start() {
	local role=$1 ns=$2 logf=$3; shift 3
	ip netns exec "$ns" "$@" >"$logf" 2>&1 </dev/null &
	local pid=$!
	PIDS+=("$pid")
	PID_OF[$role]=$pid
	log "started $role (pid $pid) in $ns: $*"
}

alive() { kill -0 "$1" 2>/dev/null; }

# stop_pid PID: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
	local pid=$1 i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	log "pid $pid ignored SIGTERM for 5 s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# stop_all stops this run's processes, the last started first.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	PIDS=()
	PID_OF=()
}

# topology_up builds the three namespaces; topology_down removes them, and with them
# every link, address and route a row added.
topology_up() {
	local ns
	for ns in "$NS_C" "$NS_GW" "$NS_V"; do
		ip netns add "$ns" || die "ip netns add $ns"
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_C" link add eth0 type veth peer name inet netns "$NS_GW"
	ip -n "$NS_C" addr add "$CLIENT_ADDR/16" dev eth0
	ip -n "$NS_C" link set eth0 up
	ip -n "$NS_GW" addr add "$GW_ADDR/16" dev inet
	ip -n "$NS_GW" link set inet up
	ip -n "$NS_GW" link add vnet type veth peer name eth0 netns "$NS_V"
	ip -n "$NS_GW" addr add "$GW_VNET_ADDR/16" dev vnet
	ip -n "$NS_GW" link set vnet up
	ip -n "$NS_V" addr add "$VNET_HOST/16" dev eth0
	ip -n "$NS_V" link set eth0 up
	ip -n "$NS_V" route add default via "$GW_VNET_ADDR"
	# A new namespace may inherit the root namespace's setting: set all three.
	nsx "$NS_C" sysctl -qw net.ipv4.ip_forward=0
	nsx "$NS_V" sysctl -qw net.ipv4.ip_forward=0
	nsx "$NS_GW" sysctl -qw net.ipv4.ip_forward=1
}

topology_down() {
	local ns pid
	for ns in "$NS_C" "$NS_GW" "$NS_V"; do
		[ -e "/var/run/netns/$ns" ] || continue
		# Whatever still runs inside was started by this run (a daemon's child).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			log "pid $pid ($(cat /proc/"$pid"/comm 2>/dev/null)) still in $ns: stopping it"
			stop_pid "$pid"
		done
		ip netns del "$ns" || log "could not delete namespace $ns"
	done
}

# remove_stale deletes namespaces p2b-<pid>-* of earlier runs whose process is gone.
remove_stale() {
	local f name pid
	for f in /var/run/netns/p2b-*; do
		[ -e "$f" ] || continue
		name=${f##*/}
		pid=${name#p2b-}
		pid=${pid%%-*}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		alive "$pid" && continue
		log "removing stale namespace $name (pid $pid is gone)"
		ip netns del "$name"
	done
}

# wait_for SECONDS DESCRIPTION CMD… retries CMD every 0.2 s until it succeeds.
wait_for() {
	local secs=$1 what=$2; shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || { log "timed out after ${secs}s waiting for $what"; return 1; }
		sleep 0.2
	done
}

# --- CPU accounting -------------------------------------------------------------------

NCPU=$(nproc)

# cpu_stat prints "busy total steal irq" in jiffies from /proc/stat: busy is everything but
# idle and iowait (steal included), irq is hard and soft interrupts.
cpu_stat() {
	awk '/^cpu /{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t, $9, $7+$8; exit}' /proc/stat
}

# proc_ticks PID prints the process's utime+stime (all threads) in jiffies, or 0.
proc_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	awk '{print $12+$13}' <<<"$s"
}

# busy_now SECONDS prints the machine's busy percentage (100 = one core) over SECONDS.
busy_now() {
	local b0 t0 s0 i0 b1 t1 s1 i1
	read -r b0 t0 s0 i0 < <(cpu_stat)
	sleep "$1"
	read -r b1 t1 s1 i1 < <(cpu_stat)
	echo $(((b1 - b0) * 100 * NCPU / (t1 - t0 > 0 ? t1 - t0 : 1)))
}

# wait_quiet waits (up to QUIET_WAIT s) until the machine is below QUIET_MAX % busy over
# one second while our tunnels idle, so that a run does not start inside someone else's
# burst. It prints the last figure.
wait_quiet() {
	local deadline=$((SECONDS + QUIET_WAIT)) b
	while :; do
		b=$(busy_now 1)
		if ((b <= QUIET_MAX || SECONDS >= deadline)); then
			echo "$b"
			return
		fi
		log "machine ${b}% busy before a run (limit ${QUIET_MAX}%): waiting"
	done
}

# --- measurements ---------------------------------------------------------------------

IPERF_PORT=5201

iperf_server_up() {
	start iperf "$NS_V" "$ROWDIR/iperf3-server.log" iperf3 -s -B "$VNET_HOST" -p "$IPERF_PORT"
	wait_for 10 "iperf3 server listening" iperf_listening
}

iperf_listening() { nsx "$NS_V" ss -Htln "sport = :$IPERF_PORT" | grep -q LISTEN; }

iperf_server_restart() {
	stop_pid "${PID_OF[iperf]}"
	iperf_server_up
}

# json_num FILE KEY prints the first number after "KEY": in iperf3's JSON, or 0.
json_num() {
	awk -F'[:,]' -v k="\"$2\"" '$1 ~ k {gsub(/[ \t]/, "", $2); print $2; found=1; exit} END{if(!found) print 0}' "$1"
}

# iperf_once BASE DIR STREAMS: one iperf3 run from the client to the VNet host (DIR up) or
# back (DIR down): its JSON in BASE.json, the CPU in BASE.cpu (percent of one core: the
# machine, steal, interrupts, each daemon of the row, and "foreign": what no process of
# this benchmark was charged). Returns 1 if iperf3 failed, 3 if foreign load exceeded FOREIGN_MAX.
iperf_once() {
	local base=$1 dir=$2 streams=$3
	local quiet b0 t0 s0 i0 b1 t1 s1 i1 role rc span ours=0 v
	local -A p0=() used=()
	local rev=()
	[ "$dir" = down ] && rev=(-R)
	quiet=$(wait_quiet)
	for role in "${!PID_OF[@]}"; do p0[$role]=$(proc_ticks "${PID_OF[$role]}"); done
	read -r b0 t0 s0 i0 < <(cpu_stat)
	timeout $((DURATION + 30)) ip netns exec "$NS_C" iperf3 -c "$VNET_HOST" -p "$IPERF_PORT" \
		-t "$DURATION" -O 1 -P "$streams" "${rev[@]}" --connect-timeout 5000 -J >"$base.json" 2>"$base.err"
	rc=$?
	read -r b1 t1 s1 i1 < <(cpu_stat)
	span=$((t1 - t0 > 0 ? t1 - t0 : 1))
	for role in "${!p0[@]}"; do
		v=$((($(proc_ticks "${PID_OF[$role]}") - p0[$role]) * 100 * NCPU / span))
		used[$role]=$v
		ours=$((ours + v))
	done
	# The iperf3 client lives only during the run: its own report has its CPU.
	v=$(json_num "$base.json" host_total)
	v=${v%.*}
	ours=$((ours + ${v:-0}))
	local busy=$(((b1 - b0) * 100 * NCPU / span)) steal=$(((s1 - s0) * 100 * NCPU / span)) irq=$(((i1 - i0) * 100 * NCPU / span))
	# Process times include the interrupts that struck them (the kernel charges a tick to
	# the task it interrupts), so interrupts are not subtracted: "foreign" also holds the
	# softirq work that ran while no process of ours was on the CPU.
	local foreign=$((busy - steal - ours))
	((foreign < 0)) && foreign=0
	{
		echo "quiet_before=$quiet"
		echo "busy=$busy"
		echo "steal=$steal"
		echo "irq=$irq"
		echo "iperf_client=${v:-0}"
		for role in "${!used[@]}"; do echo "$role=${used[$role]}"; done
		echo "foreign=$foreign"
	} >"$base.cpu"
	if ((rc != 0)) || grep -q '"error"' "$base.json"; then
		log "  $dir -P $streams ${base##*-}: iperf3 failed (exit $rc): $(grep -o '"error":.*' "$base.json" | head -1) $(head -c 300 "$base.err")"
		iperf_server_restart
		return 1
	fi
	local mbps
	mbps=$(awk '{printf "%.0f", $1/1e6}' <<<"$(json_received_bps "$base.json")")
	log "  $dir -P $streams run ${base##*-}: $mbps Mbit/s (cpu: $(grep -v quiet_before "$base.cpu" | tr '\n' ' '))"
	((foreign > FOREIGN_MAX)) && return 3
	return 0
}

# json_received_bps prints end.sum_received.bits_per_second of an iperf3 JSON report.
json_received_bps() {
	awk '/"sum_received"/{f=1} f && /"bits_per_second"/{gsub(/[^0-9.e+]/, "", $2); print $2; exit}' FS=: "$1"
}

# iperf_cell DIR STREAMS N: run N of a cell, as $ROWDIR/DIR-STREAMS-N.*. A failed run is
# tried once more; a run during which other work took more than FOREIGN_MAX % is tried up
# to twice more, the contended attempts kept as …-N.contended-K.*; the last attempt
# stands, marked contended=1 if it was.
iperf_cell() {
	local dir=$1 streams=$2 n=$3
	local base="$ROWDIR/$dir-$streams-$n" try rc f
	for try in 1 2 3; do
		iperf_once "$base" "$dir" "$streams"
		rc=$?
		case $rc in
		0) return 0 ;;
		1) ((try < 2)) && continue; return 1 ;;
		3)
			if ((try < 3)); then
				log "  other work used more than ${FOREIGN_MAX}% of a core during that run: again"
				for f in "$base".json "$base".cpu "$base".err; do mv "$f" "${f%.*}.contended-$try.${f##*.}"; done
				continue
			fi
			echo "contended=1" >>"$base.cpu"
			return 0
			;;
		esac
	done
}

# ping_run: PINGS pings at 10 ms from the client to the VNet host, in $ROWDIR/ping.txt.
ping_run() {
	nsx "$NS_C" ping -n -c "$PINGS" -i 0.01 -W 1 "$VNET_HOST" >"$ROWDIR/ping.txt" 2>&1
	log "  ping: $(tail -1 "$ROWDIR/ping.txt")"
}

# measure runs the whole row's measurements over whatever path the row set up.
measure() {
	local dir streams n
	wait_for 15 "the VNet host to answer through the path" \
		nsx "$NS_C" ping -n -c 1 -W 1 "$VNET_HOST" || return 1
	wait_quiet >/dev/null
	ping_run
	for dir in $DIRECTIONS; do
		for streams in 1 4; do
			for n in $(seq "$RUNS"); do
				iperf_cell "$dir" "$streams" "$n"
			done
		done
	done
}

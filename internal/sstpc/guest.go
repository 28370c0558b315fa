package sstpc

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// The guest reports on its console in lines that start with marker:
//
//	P2SGW-ADDR <ppp0 address>
//	P2SGW-PING <address> ok|fail
//	P2SGW-FETCH <index in Options.Fetch> ok <size> <sha256>
//	P2SGW-FETCH <index in Options.Fetch> err <curl's message>
//	P2SGW-RETRY <why>
//	P2SGW-DONE
const marker = "P2SGW-"

// Guest timing. The guest gives up on the tunnel guestSlack before Options.Timeout, so
// that it can still report and power off on its own.
const (
	guestSlack  = 5 * time.Second
	pingCount   = 3
	fetchTime   = 10 * time.Second // per URL
	quitTime    = 5 * time.Second  // for sstpc and pppd to end after SIGTERM
	startupRace = 3                // seconds: see guestScript
	maxRetries  = 15
	// helloDelay holds back the guest's TLS handshake records to the server: see
	// delayHello.
	helloDelay = 200 * time.Millisecond
)

// modules are the UML kernel modules pppd needs, in load order, under
// /usr/lib/uml/modules/$(uname -r)/kernel/.
var modules = []string{
	"lib/crc-ccitt.ko",
	"drivers/net/slip/slhc.ko",
	"drivers/net/ppp/ppp_generic.ko",
	"drivers/net/ppp/ppp_async.ko",
}

// delayModules are the UML kernel modules for delayHello, in load order. (Debian's UML
// kernel has nf_tables without its ip family, hence tc's u32 classifier.)
var delayModules = []string{
	"net/sched/sch_prio.ko",
	"net/sched/sch_netem.ko",
	"net/sched/cls_u32.ko",
}

// delayHello renders the guest commands that hold back, by helloDelay, each TLS handshake
// record the guest sends to the server: TCP segments to the server whose payload starts
// 0x16 0x03, the ClientHello and, with TLS 1.2, the client's second flight. Nothing else
// is delayed, so the tunnel's traffic is not.
//
// This works around sstpc's start-up race (see raceLines). sstpc 1.0.18 sets up the
// receiver for the HTTP response only in the completion callback of its HTTP request,
// which runs only when sstp_stream_send returned SSTP_INPROG. The server wins the race
// when its first flight is already in the guest's socket at OpenSSL's first read after
// writing the ClientHello: then one SSL_write does the whole TLS handshake and writes the
// request, sstp_stream_send returns SSTP_OKAY, no event is left, and event_base_dispatch
// returns 1. On UML that read often comes a millisecond or more after the write, as late
// as the stub's answer. The delay is in the guest's own qdisc, after write() returned, so
// the answer cannot be there before that read unless sstpc is kept off the guest's CPU for
// all of helloDelay.
//
// The u32 filters of a prio qdisc put the records into band 3, whose child is netem; the
// other bands take everything else. u32 offsets count from the IP header, which the
// guest sends without options, so there is one filter for each TCP header length.
func delayHello(w func(string, ...any), server netip.AddrPort) {
	for _, m := range delayModules {
		w("insmod $m/%s || echo %serror insmod %s", m, marker, m)
	}
	w("tc -batch - <<'P2SGW_TC_EOF' || echo %serror hello delay", marker)
	w("qdisc add dev eth0 root handle 1: prio bands 3 priomap 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1")
	w("qdisc add dev eth0 parent 1:3 handle 30: netem delay %dms", helloDelay.Milliseconds())
	for doff := 5; doff <= 15; doff++ {
		w("filter add dev eth0 parent 1: protocol ip prio 1 u32 match u8 0x45 0xff at 0 match ip protocol 6 0xff "+
			"match ip dst %s/32 match u16 %d 0xffff at 22 match u8 0x%x0 0xf0 at 32 match u16 0x1603 0xffff at %d flowid 1:3",
			server.Addr(), server.Port(), doff, 20+4*doff)
	}
	w("P2SGW_TC_EOF")
}

// raceLines matches every line sstpc 1.0.18 logs when it loses its start-up race: it
// connected, sent its HTTP request (unless it was still in the TLS handshake), and its
// event loop ran out of events before it read any answer — sstp_http_send_hello drops the
// completion callback that would read the response when the send finishes at once. With
// any other line in the log sstpc has acted on an answer from the server, and the failure
// is the server's to explain: that one is never retried. delayHello makes the race
// unlikely; the retries are what is left.
const raceLines = `^$|Resolved .* to |Connected to |The event loop terminated unsuccessfully|` + marker + `sstpc-exit`

// refuse are pppd's options that leave only the chosen authentication method.
var refuse = map[string]string{
	AuthMSCHAPv2: "refuse-pap refuse-chap refuse-mschap refuse-eap",
	AuthPAP:      "refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap",
}

// guestScript renders the guest's init, a POSIX sh script that runs as PID 1:
//
//  1. Mount the guest's own proc, sysfs, devtmpfs and devpts over the host's (hostfs would
//     show the host's), and tmpfs on /run and /tmp, the only places sstpc and pppd write
//     (/var/run and /var/lock point into /run on Debian). The root stays read-only.
//  2. Load the PPP modules; devtmpfs then has /dev/ppp.
//  3. Address eth0, route the server's address through the tap, and delay the guest's TLS
//     handshake records to the server (delayHello).
//  4. Run sstpc, which starts pppd on a pty with the plugin that hands it the MPPE keys for
//     the crypto binding. sstpc 1.0.18 can end within a second with "The event loop
//     terminated unsuccessfully" before it has read anything from the server, should it
//     still lose its start-up race (delayHello): retry that exact failure (raceLines), up
//     to maxRetries times, never one after sstpc acted on an answer.
//  5. Wait for ppp0's address, or for sstpc to end, or for the deadline.
//  6. Route everything else into the tunnel, ping, fetch, report.
//  7. Stop sstpc (pppd terminates the link) and power off.
func guestScript(o Options, g *guestNet, timeout time.Duration) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("#!/bin/sh")
	w("# init of a p2sgw sstpc test guest (internal/sstpc); the root is the host's, read-only")
	w("export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C")
	w("mount -t proc proc /proc && mount -t sysfs sysfs /sys &&")
	w("{ grep -q '^devtmpfs /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev; } &&")
	w("mkdir -p /dev/pts && mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts &&")
	w("mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /tmp && mkdir /run/lock ||")
	w("  { echo %serror mounts; echo o > /proc/sysrq-trigger; }", marker)
	w("m=/usr/lib/uml/modules/$(uname -r)/kernel")
	for _, m := range modules {
		w("insmod $m/%s || echo %serror insmod %s", m, marker, m)
	}
	w("[ -e /dev/ppp ] || mknod /dev/ppp c 108 0")
	w("ip link set lo up")
	w("ip addr add %s dev eth0 && ip link set eth0 up", netip.PrefixFrom(g.guest, 30))
	w("ip route add %s/32 via %s dev eth0 || echo %serror network", o.Server.Addr(), g.host, marker)
	delayHello(w, o.Server)
	if o.CAFile != "" {
		ca, _ := os.ReadFile(o.CAFile) // checked by Options.check
		w("cat > /run/ca.pem <<'P2SGW_CA_EOF'\n%s\nP2SGW_CA_EOF", strings.TrimSpace(string(ca)))
	}
	w("deadline=$(($(date +%%s) + %s))", seconds(timeout-guestSlack))
	w("try=0")
	w("while :; do")
	w("  try=$((try + 1)); start=$(date +%%s); rm -f /run/sstpc.log")
	w("  (%s & echo $! > /run/sstpc.pid; wait $!; echo \"%ssstpc-exit $?\") 2>&1 | tee /run/sstpc.log &", sstpcCommand(o), marker)
	w("  addr=")
	w("  while [ $(date +%%s) -lt $deadline ]; do")
	w("    set -- $(ip -4 -o addr show dev ppp0 2>/dev/null)")
	w("    if [ \"$3\" = inet ]; then addr=$4; break; fi")
	w("    grep -a -q %ssstpc-exit /run/sstpc.log && break", marker)
	w("    sleep 0.2")
	w("  done")
	w("  [ -z \"$addr\" ] && [ $(($(date +%%s) - start)) -le %d ] && [ $try -le %d ] &&", startupRace, maxRetries)
	w("    grep -a -q 'The event loop terminated unsuccessfully' /run/sstpc.log &&")
	w("    ! grep -a -v -q -E '%s' /run/sstpc.log || break", raceLines)
	w("  echo \"%sRETRY sstpc start-up race, attempt $try\"", marker)
	w("done")
	w("if [ -n \"$addr\" ]; then")
	w("  echo \"%sADDR $addr\"", marker)
	// pppd gives ppp0 its address before it sets the link up: the route waits for that.
	w("  for i in $(seq 50); do ip route add default dev ppp0 2>/dev/null && break; sleep 0.1; done")
	for _, a := range o.Ping {
		w("  if ping -n -c %d -W 2 %s; then echo %sPING %s ok; else echo %sPING %s fail; fi", pingCount, a, marker, a, marker, a)
	}
	for i, u := range o.Fetch {
		w("  if curl -sS --noproxy '*' --max-time %s -o /run/body -- %s 2>/run/curl.err; then", seconds(fetchTime), shellQuote(u))
		w("    echo \"%sFETCH %d ok $(stat -c %%s /run/body) $(sha256sum < /run/body | cut -d' ' -f1)\"", marker, i)
		w("  else echo \"%sFETCH %d err $(tr '\\n' ' ' < /run/curl.err)\"; fi", marker, i)
	}
	w("fi")
	w("kill $(cat /run/sstpc.pid) 2>/dev/null")
	w("for i in $(seq %d); do grep -a -q %ssstpc-exit /run/sstpc.log && break; sleep 0.2; done", int(quitTime/(200*time.Millisecond)), marker)
	w("echo %sDONE", marker)
	w("echo o > /proc/sysrq-trigger")
	w("sleep 10")
	return b.String()
}

// sstpcCommand renders the sstpc command line: sstp options, the server, then pppd's
// options. pppd must not touch the guest's routes or DNS beyond ppp0, must not ask the
// server to authenticate itself, and runs no scripts from the host's /etc/ppp for IPCP.
func sstpcCommand(o Options) string {
	args := []string{"sstpc", "--log-stderr", "--log-level", "4"}
	if o.CAFile != "" {
		args = append(args, "--ca-cert", "/run/ca.pem")
	} else {
		args = append(args, "--cert-warn")
	}
	args = append(args, "--user", shellQuote(o.User), "--password", shellQuote(o.Password),
		o.Server.String(),
		"noauth", "nodefaultroute", "noipdefault", "nodetach", "nomppe",
		"noccp", "novj", "nodeflate", "nobsdcomp",
		"ip-up-script", "/bin/true", "ip-down-script", "/bin/true",
		"logfd", "2", "debug",
		refuse[o.auth()])
	return strings.Join(args, " ")
}

// shellQuote quotes s as one sh word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseConsole fills res from the marker lines in res.Log. Lines it does not understand
// are ignored: they are for people reading Log.
func parseConsole(res *Result, o Options) {
	sc := bufio.NewScanner(strings.NewReader(res.Log))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, marker)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "ADDR":
			if len(f) == 2 {
				if a, err := netip.ParseAddr(f[1]); err == nil {
					res.Connected, res.Addr = true, a
				}
			}
		case "PING":
			if len(f) == 3 {
				if a, err := netip.ParseAddr(f[1]); err == nil {
					if res.Pings == nil {
						res.Pings = map[netip.Addr]bool{}
					}
					res.Pings[a] = f[2] == "ok"
				}
			}
		case "FETCH":
			parseFetch(res, o, f[1:])
		case "RETRY":
			res.Retries++
		}
	}
}

// parseFetch reads "<index> ok <size> <sha256>" or "<index> err <message…>".
func parseFetch(res *Result, o Options, f []string) {
	if len(f) < 2 {
		return
	}
	i, err := strconv.Atoi(f[0])
	if err != nil || i < 0 || i >= len(o.Fetch) {
		return
	}
	var r Fetch
	switch {
	case f[1] == "ok" && len(f) == 4:
		if r.Size, err = strconv.ParseInt(f[2], 10, 64); err != nil {
			return
		}
		r.SHA256 = f[3]
	case f[1] == "err":
		r.Err = strings.Join(f[2:], " ")
		if r.Err == "" {
			r.Err = "curl failed"
		}
	default:
		return
	}
	if res.Fetches == nil {
		res.Fetches = map[string]Fetch{}
	}
	res.Fetches[o.Fetch[i]] = r
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
)

// The rows the ratios and targets refer to, by name (rows.sh ROW_NAME).
const (
	rowPlain     = "plain"
	rowWireGuard = "wireguard-go"
	rowSwan      = "strongswan"
	rowSSTP      = "p2sgw-sstp"
	rowIKEv2     = "p2sgw-ikev2"
)

// Issue 9's targets for the IKEv2 tunnel.
const (
	targetVsWireGuard = 1.0 // throughput ≥ 1.0× the wireguard-go pair
	targetVsSwan      = 4.0 // throughput ≥ 4× the strongSwan libipsec pair
	targetAddedMs     = 0.2 // ping median ≤ 0.2 ms over no tunnel
)

func write(w io.Writer, r *run) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	kvTable(p, "Machine", r.machine)
	kvTable(p, "Versions", r.versions)
	kvTable(p, "Settings", r.settings)
	pathsTable(p, r)
	for _, dir := range []string{"up", "down"} {
		if hasDirection(r, dir) {
			throughputTable(p, r, dir)
		}
	}
	latencyTable(p, r)
	targetsTable(p, r)
	microTable(p, r)
	return bw.Flush()
}

type printer func(format string, a ...any)

func kvTable(p printer, title string, kvs []keyValue) {
	if len(kvs) == 0 {
		return
	}
	p("### %s\n\n| | |\n|---|---|\n", title)
	for _, kv := range kvs {
		p("| %s | %s |\n", kv.key, cellText(kv.value))
	}
	p("\n")
}

func pathsTable(p printer, r *run) {
	if len(r.rows) == 0 {
		return
	}
	p("### Rows\n\n| row | path | cipher, transport | status |\n|---|---|---|---|\n")
	for _, rw := range r.rows {
		p("| %s | %s | %s | %s |\n", rw.id, cellText(rw.label), cellText(rw.cipher), cellText(rw.status))
	}
	p("\n")
}

func hasDirection(r *run, dir string) bool {
	for _, rw := range r.rows {
		if rw.cells[dir+"-1"] != nil || rw.cells[dir+"-4"] != nil {
			return true
		}
	}
	return false
}

// cores is the machine's core count from machine.txt, 2 if it does not say.
func (r *run) cores() int {
	for _, kv := range r.machine {
		if kv.key == "cores" {
			var n int
			if _, err := fmt.Sscanf(kv.value, "%d", &n); err == nil && n > 0 {
				return n
			}
		}
	}
	return 2
}

func (r *run) row(name string) *row {
	for i := range r.rows {
		if r.rows[i].name == name {
			return &r.rows[i]
		}
	}
	return nil
}

// mbps is the median throughput of a row's cell, or NaN if it has none.
func (rw *row) mbps(key string) float64 {
	if rw == nil || rw.cells[key] == nil || len(rw.cells[key].mbps) == 0 {
		return math.NaN()
	}
	return median(rw.cells[key].mbps)
}

func throughputTable(p printer, r *run, dir string) {
	title := "client → VNet host (iperf3 -c)"
	if dir == "down" {
		title = "VNet host → client (iperf3 -R)"
	}
	wg, swan := r.row(rowWireGuard), r.row(rowSwan)
	p("### TCP throughput, %s\n\n", title)
	p("Mbit/s: **median** of the runs (min–max, number of runs). Ratios: this row's median over the other row's. CPU: percent of one core, median over the runs: gateway daemon / client daemon / whole machine (of %d00) / other processes.\n\n", r.cores())
	p("| row | path | 1 stream | 4 streams | vs wireguard-go (1 / 4) | vs strongSwan libipsec (1 / 4) | CPU, 1 stream | CPU, 4 streams |\n")
	p("|---|---|---:|---:|---:|---:|---|---|\n")
	for _, rw := range r.rows {
		if rw.status != "ok" && len(rw.cells) == 0 {
			p("| %s | %s | %s | | | | | |\n", rw.id, cellText(rw.label), cellText(rw.status))
			continue
		}
		k1, k4 := dir+"-1", dir+"-4"
		p("| %s | %s | %s | %s | %s / %s | %s / %s | %s | %s |\n", rw.id, cellText(rw.label),
			spread(rw.cells[k1]), spread(rw.cells[k4]),
			ratio(rw.mbps(k1), wg.mbps(k1)), ratio(rw.mbps(k4), wg.mbps(k4)),
			ratio(rw.mbps(k1), swan.mbps(k1)), ratio(rw.mbps(k4), swan.mbps(k4)),
			cpuText(rw.cells[k1]), cpuText(rw.cells[k4]))
	}
	p("\n")
}

func spread(c *cell) string {
	if c == nil || len(c.mbps) == 0 {
		if c != nil && c.failed > 0 {
			return fmt.Sprintf("all %d runs failed", c.failed)
		}
		return "–"
	}
	lo, hi := quantile(c.mbps, 0), quantile(c.mbps, 1)
	s := fmt.Sprintf("**%.0f** (%.0f–%.0f, %d)", median(c.mbps), lo, hi, len(c.mbps))
	if c.failed > 0 {
		s += fmt.Sprintf(", %d failed", c.failed)
	}
	contended := 0
	for _, m := range c.cpu {
		if m["contended"] == 1 {
			contended++
		}
	}
	if contended > 0 {
		s += fmt.Sprintf(", %d contended", contended)
	}
	return s
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func cpuText(c *cell) string {
	if c == nil || len(c.cpu) == 0 {
		return "–"
	}
	med := func(key string) (float64, bool) {
		var xs []float64
		for _, m := range c.cpu {
			if v, ok := m[key]; ok {
				xs = append(xs, v)
			}
		}
		return median(xs), len(xs) > 0
	}
	var parts []string
	for _, k := range []string{"gw", "client"} {
		if v, ok := med(k); ok {
			parts = append(parts, fmt.Sprintf("%.0f", v))
		} else {
			parts = append(parts, "–")
		}
	}
	busy, _ := med("busy")
	other := "–"
	if v, ok := med("foreign"); ok {
		other = fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%s / %.0f / %s", strings.Join(parts, " / "), busy, other)
}

func latencyTable(p printer, r *run) {
	plain := r.row(rowPlain)
	p("### Latency (ping from the client to the VNet host, 10 ms interval, idle path)\n\n")
	p("| row | path | median ms (p10–p90) | added over no tunnel, ms | replies |\n|---|---|---:|---:|---:|\n")
	for _, rw := range r.rows {
		if rw.ping == nil {
			continue
		}
		added := "–"
		if plain != nil && plain.ping != nil {
			added = fmt.Sprintf("%+.3f", rw.ping.median-plain.ping.median)
		}
		p("| %s | %s | **%.3f** (%.3f–%.3f) | %s | %d/%d |\n", rw.id, cellText(rw.label),
			rw.ping.median, rw.ping.p10, rw.ping.p90, added, rw.ping.received, rw.ping.sent)
	}
	p("\n")
}

// verdict is a target's outcome for one row.
type verdict struct {
	value string
	met   string // "met", "not met" or why it cannot be said
}

func targetsTable(p printer, r *run) {
	wg, swan, plain := r.row(rowWireGuard), r.row(rowSwan), r.row(rowPlain)
	type target struct {
		name  string
		check func(rw *row) verdict
	}
	vsPeer := func(peer *row, key string, want float64) func(*row) verdict {
		return func(rw *row) verdict {
			a, b := rw.mbps(key), peer.mbps(key)
			if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
				return verdict{"–", "not measured"}
			}
			x := a / b
			return verdict{fmt.Sprintf("%.2f× (%.0f vs %.0f Mbit/s)", x, a, b), metText(x >= want)}
		}
	}
	var targets []target
	for _, dir := range []string{"up", "down"} {
		if !hasDirection(r, dir) {
			continue
		}
		way := "client → VNet"
		if dir == "down" {
			way = "VNet → client"
		}
		targets = append(targets,
			target{way + ", 1 stream ≥ 1.0× wireguard-go", vsPeer(wg, dir+"-1", targetVsWireGuard)},
			target{way + ", 4 streams ≥ 1.0× wireguard-go", vsPeer(wg, dir+"-4", targetVsWireGuard)},
			target{way + ", 1 stream ≥ 4× strongSwan libipsec", vsPeer(swan, dir+"-1", targetVsSwan)},
			target{way + ", 4 streams ≥ 4× strongSwan libipsec", vsPeer(swan, dir+"-4", targetVsSwan)},
		)
	}
	targets = append(targets,
		target{"added latency ≤ 0.2 ms (ping median)", func(rw *row) verdict {
			if rw.ping == nil || plain == nil || plain.ping == nil {
				return verdict{"–", "not measured"}
			}
			d := rw.ping.median - plain.ping.median
			return verdict{fmt.Sprintf("%+.3f ms", d), metText(d <= targetAddedMs)}
		}})
	ike, sstp := r.row(rowIKEv2), r.row(rowSSTP)
	p("### Targets of issue 9\n\n")
	p("The targets are the IKEv2 tunnel's; SSTP is shown against the same bars for comparison only.\n\n")
	p("| target | IKEv2 (row f) | IKEv2: met? | SSTP (row e) | SSTP: met? |\n|---|---|---|---|---|\n")
	for _, t := range targets {
		vi, vs := rowVerdict(ike, t.check), rowVerdict(sstp, t.check)
		p("| %s | %s | **%s** | %s | %s |\n", t.name, vi.value, vi.met, vs.value, vs.met)
	}
	p("\n")
}

func rowVerdict(rw *row, check func(*row) verdict) verdict {
	switch {
	case rw == nil:
		return verdict{"–", "not run"}
	case rw.status != "ok" && len(rw.cells) == 0:
		return verdict{"–", cellText(rw.status)}
	}
	return check(rw)
}

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

func microTable(p printer, r *run) {
	if len(r.micro) == 0 {
		return
	}
	p("### Go micro-benchmarks (median of the -count runs)\n\n")
	if r.microErr != "" {
		p("A benchmark failed: `%s` (see micro.txt).\n\n", r.microErr)
	}
	if len(r.microLoad) > 0 {
		p("Machine load while each package's benchmarks ran (100 %% = one core; a benchmark itself uses about one): %s.\n\n",
			strings.Join(r.microLoad, "; "))
	}
	p("| package | benchmark | ns/op | MB/s | B/op | allocs/op | other | runs |\n|---|---|---:|---:|---:|---:|---|---:|\n")
	for _, b := range r.micro {
		mb := "–"
		if b.hasMB {
			mb = fmt.Sprintf("%.0f", b.mbPerS)
		}
		p("| %s | %s | %s | %s | %.0f | %.0f | %s | %d |\n", strings.TrimPrefix(b.pkg, "github.com/p2sgw/p2sgw/"),
			strings.TrimPrefix(b.name, "Benchmark"), nsText(b.nsPerOp), mb, b.bPerOp, b.allocsPerOp, strings.Join(b.extra, ", "), b.runs)
	}
	p("\n")
}

func nsText(ns float64) string {
	if ns >= 100 {
		return fmt.Sprintf("%.0f", ns)
	}
	return fmt.Sprintf("%.1f", ns)
}

// cellText makes s safe inside a Markdown table cell.
func cellText(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

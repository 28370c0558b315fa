package main

import (
	"fmt"
	"strings"

	"github.com/p2sgw/p2sgw/internal/loadgen"
)

// Results is everything one benchmark run measured: handshakes.json.
type Results struct {
	Machine     Machine      `json:"machine"`
	Concurrency int          `json:"concurrency"` // the generator's, for the rate and scale runs
	Commands    []string     `json:"commands"`
	Rates       []Run        `json:"runs"`
	Scale       []ScalePoint `json:"scale"`
	// ScaleGenerators are the reports of the scale run's generators, after their hold.
	ScaleGenerators []loadgen.Report `json:"scale_generators"`
	Profiles        []Profile        `json:"profiles"`
}

// Run is one generator run against a fresh responder.
type Run struct {
	Responder   string         `json:"responder"` // p2sgw or strongswan
	Group       string         `json:"group"`
	Concurrency int            `json:"concurrency"`
	Sessions    int            `json:"sessions"`
	Sweep       bool           `json:"sweep,omitempty"`
	Report      loadgen.Report `json:"report"`
	// CPU seconds during the run: the responder's, the generator's, and the whole machine's
	// (busy time of all cores), which tells how much went elsewhere.
	ResponderCPU float64 `json:"responder_cpu_seconds"`
	GeneratorCPU float64 `json:"generator_cpu_seconds"`
	BusyCPU      float64 `json:"machine_busy_cpu_seconds"`
	ResponderRSS int64   `json:"responder_rss_bytes"` // after the ramp
	Attempts     int     `json:"attempts"`            // runs made to get one undisturbed by other load
	// Lag is how long after the generator's last handshake the responder counted every
	// session (Counted, then); the responder's CPU and the machine's include it.
	Lag     float64 `json:"responder_lag_seconds"`
	Counted int     `json:"responder_counted"`
	// Profiled: perf recorded the responder during the run, which slows it; not in the medians.
	Profiled bool `json:"profiled,omitempty"`
}

// rate is the handshakes per second until the responder counted them all.
func (r Run) rate() float64 {
	if d := r.Report.EstablishSeconds + r.Lag; d > 0 {
		return float64(min(r.Report.Established, r.Counted)) / d
	}
	return 0
}

// other is the cores that went to other processes during the run (the generator's CPU spans
// a little more than the ramp, so this errs low).
func (r Run) other() float64 { return r.cores(r.BusyCPU - r.ResponderCPU - r.GeneratorCPU) }

// msPerHandshake is the responder's CPU per established session.
func (r Run) msPerHandshake() float64 {
	if r.Report.Established == 0 {
		return 0
	}
	return r.ResponderCPU * 1000 / float64(r.Report.Established)
}

// cores is CPU seconds over the run's wall time (the ramp and the responder's lag).
func (r Run) cores(cpu float64) float64 {
	if d := r.Report.RampSeconds + r.Lag; d > 0 {
		return cpu / d
	}
	return 0
}

// ScalePoint is p2sgw serve at one plateau of the scale run.
type ScalePoint struct {
	Target      int     `json:"target"`
	Sessions    int     `json:"sessions"`     // what the gateway counted
	RampSeconds float64 `json:"ramp_seconds"` // until the gateway counted the step's sessions
	// ClientSeconds is until the generator had them all up.
	ClientSeconds float64 `json:"client_seconds"`
	RSS           int64   `json:"vmrss_bytes"`
	HWM           int64   `json:"vmhwm_bytes"`
	GeneratorRSS  int64   `json:"generator_rss_bytes"`
	TimedOut      bool    `json:"timed_out,omitempty"`
	IdleCores     float64 `json:"idle_cores,omitempty"` // the gateway's CPU while holding (top plateau)
	// Go's view of the gateway's memory at the plateau (its /metrics) and the heap profile
	// (its /debug/pprof/heap): where the bytes per session go.
	HeapInuse  int64  `json:"go_heap_inuse_bytes,omitempty"`
	StackInuse int64  `json:"go_stack_inuse_bytes,omitempty"`
	Goroutines int    `json:"go_goroutines,omitempty"`
	HeapFile   string `json:"heap_profile,omitempty"`
	HeapTop    string `json:"heap_top,omitempty"`
}

// Profile is a perf profile of p2sgw serve: its data file and two views of it.
type Profile struct {
	Name string `json:"name"`
	Data string `json:"data"`
	// Flat is the top of the flat profile (self time by symbol); Cumulative the share of
	// the gateway's functions, the state database and the crypto with what they call.
	Flat       string `json:"flat"`
	Cumulative string `json:"cumulative"`
}

// markdown renders the results as the fragment bench/out/handshakes.md.
func (res *Results) markdown(o options) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	m := res.Machine
	w("## IKEv2 handshakes and sessions (bench/handshakes.sh)")
	w("")
	w("Machine: %s, %d cores, %d GiB; kernel %s; %s; p2sgw %s; strongSwan %s. Load average at the start: %s.",
		m.CPU, m.Cores, m.MemoryGiB, m.Kernel, m.Go, m.Revision, m.StrongSwan, m.LoadAvg)
	w("")
	w("Generator: `p2sgw bench ikev2` (internal/loadgen) in a client namespace, %d source addresses, ECDSA P-256 client", o.sources)
	w("certificates (100, round-robin), IKE AES-GCM-16-256/PRF-SHA256 with the group shown, ESP AES-GCM-16-256.")
	w("Responder, generator and kernel share the same %d cores, so a run's rate is what the box does with both ends on it;", m.Cores)
	w("\"responder-only capacity\" divides the cores by the responder's CPU per handshake. \"other\" is machine busy time")
	w("not accounted to the responder or the generator (kernel networking, and any foreign load). \"handshakes/s\" runs")
	w("until the responder counts every session (p2sgw registers a session after it sends the IKE_AUTH answer, and may lag);")
	w("\"client view\" ends at the generator's last verified IKE_AUTH answer.")
	w("")
	res.writeSweep(w)
	res.writeRates(w, o)
	res.writeScale(w)
	for _, p := range res.Profiles {
		w("### Profile: %s", p.Name)
		w("")
		w("perf record -e cpu-clock -F 999 -g -p PID; flat (self) and, below, cumulative (with callees) shares of the gateway's CPU:")
		w("")
		w("```text")
		w("%s", p.Flat)
		w("```")
		w("")
		w("```text")
		w("%s", p.Cumulative)
		w("```")
		w("")
	}
	w("### Commands")
	w("")
	w("```sh")
	w("sudo bench/handshakes.sh   # = go run ./bench/handshakes %s", strings.Join(flagsOf(o), " "))
	for _, c := range res.Commands {
		w("%s", c)
	}
	w("```")
	return b.String()
}

func flagsOf(o options) []string {
	return []string{fmt.Sprintf("-sessions %d -reps %d -sources %d", o.sessions, o.reps, o.sources)}
}

func (res *Results) writeSweep(w func(string, ...any)) {
	var sweep []Run
	for _, r := range res.Rates {
		if r.Sweep {
			sweep = append(sweep, r)
		}
	}
	if len(sweep) == 0 {
		return
	}
	w("### Concurrency sweep (x25519, %d sessions a run)", sweep[0].Sessions)
	w("")
	w("| responder | in flight | handshakes/s | client view /s | p50 ms | p99 ms | responder cores | generator cores | other cores |")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range sweep {
		w("| %s | %d | %.0f | %.0f | %.1f | %.1f | %.2f | %.2f | %.2f |", r.Responder, r.Report.Concurrency, r.rate(), r.Report.Rate,
			r.Report.Latency.P50, r.Report.Latency.P99, r.cores(r.ResponderCPU), r.cores(r.GeneratorCPU),
			r.other())
	}
	w("")
	w("The rate runs below use %d handshakes in flight.", res.Concurrency)
	w("")
}

func (res *Results) writeRates(w func(string, ...any), o options) {
	groups := map[string]map[string][]Run{}
	for _, r := range res.Rates {
		if r.Sweep || r.Profiled || r.Sessions != o.sessions {
			continue
		}
		if groups[r.Responder] == nil {
			groups[r.Responder] = map[string][]Run{}
		}
		groups[r.Responder][r.Group] = append(groups[r.Responder][r.Group], r)
	}
	if len(groups) == 0 {
		return
	}
	w("### Handshake rate (%d sessions a run, median of the runs)", o.sessions)
	w("")
	w("| responder | group | handshakes/s (runs) | client view /s | setup p50 / p90 / p99 ms | failed | cookies | responder CPU per handshake | responder cores | generator cores | other cores | responder-only capacity, %d cores |", res.Machine.Cores)
	w("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	medians := map[string]*Run{}
	for _, name := range []string{"p2sgw", "p2sgw-tmpfs", "strongswan"} {
		for _, g := range []string{"x25519", "ecp256"} {
			runs := groups[name][g]
			med := median(runs)
			if med == nil {
				continue
			}
			medians[name+"/"+g] = med
			var all []string
			for _, r := range runs {
				all = append(all, fmt.Sprintf("%.0f", r.rate()))
			}
			l := med.Report.Latency
			capacity := 0.0
			if ms := med.msPerHandshake(); ms > 0 {
				capacity = float64(res.Machine.Cores) * 1000 / ms
			}
			w("| %s | %s | **%.0f** (%s) | %.0f | %.1f / %.1f / %.1f | %d | %d | %.2f ms | %.2f | %.2f | %.2f | %.0f/s |", name, g, med.rate(),
				strings.Join(all, ", "), med.Report.Rate, l.P50, l.P90, l.P99, med.Report.Failed, med.Report.Cookies, med.msPerHandshake(),
				med.cores(med.ResponderCPU), med.cores(med.GeneratorCPU), med.other(), capacity)
		}
	}
	w("")
	if _, ok := groups["p2sgw-tmpfs"]; ok {
		w("p2sgw-tmpfs is a diagnostic, not a configuration to run: p2sgw serve with its state directory on a tmpfs,")
		w("so that the two fsynced bbolt transactions of each handshake (the address lease, the session record) cost")
		w("no disk flush. The difference to p2sgw is what the state database's synchronous writes cost.")
		w("")
	}
	for _, g := range []string{"x25519", "ecp256"} {
		p, s := medians["p2sgw/"+g], medians["strongswan/"+g]
		if p == nil || s == nil || s.rate() == 0 || p.msPerHandshake() == 0 {
			continue
		}
		w("- %s: p2sgw %.0f/s vs strongSwan %.0f/s on the shared box = **%.1f×**; by responder CPU per handshake %.2f ms vs %.2f ms = **%.1f×**.",
			g, p.rate(), s.rate(), p.rate()/s.rate(), p.msPerHandshake(), s.msPerHandshake(), s.msPerHandshake()/p.msPerHandshake())
	}
	w("")
}

func (res *Results) writeScale(w func(string, ...any)) {
	if len(res.Scale) == 0 {
		return
	}
	w("### Sessions held by p2sgw serve (x25519, one gateway, steps by separate generator processes)")
	w("")
	w("| sessions | step's ramp: client / gateway | VmRSS | VmRSS per session | marginal per session | VmHWM | Go heap in use | goroutine stacks | goroutines | generators' RSS |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var prev *ScalePoint
	for i := range res.Scale {
		p := &res.Scale[i]
		marginal := "—"
		if prev != nil && p.Sessions > prev.Sessions {
			marginal = fmt.Sprintf("%.1f KiB", float64(p.RSS-prev.RSS)/float64(p.Sessions-prev.Sessions)/1024)
		}
		perSession := 0.0
		if p.Sessions > 0 {
			perSession = float64(p.RSS) / float64(p.Sessions) / 1024
		}
		note := ""
		if p.TimedOut {
			note = " (timed out)"
		}
		w("| %d%s | %.0f s / %.0f s | %.0f MiB | %.1f KiB | %s | %.0f MiB | %.0f MiB | %.0f MiB | %d | %.0f MiB |", p.Sessions, note, p.ClientSeconds, p.RampSeconds, mib(p.RSS), perSession,
			marginal, mib(p.HWM), mib(p.HeapInuse), mib(p.StackInuse), p.Goroutines, mib(p.GeneratorRSS))
		prev = p
	}
	if top := res.Scale[len(res.Scale)-1]; top.IdleCores > 0 {
		w("")
		w("Holding %d sessions (dead peer detection every 30 s, answered by the generators) costs the gateway %.2f cores.", top.Sessions, top.IdleCores)
	}
	if top := res.Scale[len(res.Scale)-1]; top.HeapTop != "" {
		w("")
		w("The gateway's heap at %d sessions (`go tool pprof -top -sample_index=inuse_space` of its /debug/pprof/heap, %s):", top.Sessions, top.HeapFile)
		w("")
		w("```text")
		w("%s", top.HeapTop)
		w("```")
	}
	for i, r := range res.ScaleGenerators {
		if h := r.Hold; h != nil {
			w("")
			w("Generator %d: %d of %d up (%.0f/s, p50 %.0f ms, p99 %.0f ms); after a %.0f s hold %d up, %d liveness checks answered, %d deleted by the gateway.",
				i+1, r.Established, r.Sessions, r.Rate, r.Latency.P50, r.Latency.P99, h.Seconds, h.End, h.Liveness, h.DeletedByGateway)
		}
	}
	w("")
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/p2sgw/p2sgw/ike"
)

// generator is one run.
type generator struct {
	cfg   Config
	eps   []*endpoint
	inits []*ike.InitiatorConfig // one per identity, shared by its sessions
	ctr   counters
	spi   atomic.Uint32 // our inbound ESP SPIs

	established atomic.Int64 // sessions up now
	next        atomic.Int64 // index of the next session to start
	failed      atomic.Int64
	inFlight    atomic.Int64
	start       time.Time
}

// Run opens cfg.Sessions sessions, then checks traffic, holds and tears down as cfg asks, and
// reports. Cancelling ctx ends the ramp or the hold early (the teardown still runs). Its error
// is for a run that could not start (a bad Config, a socket that did not open); failed
// handshakes are in the Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &generator{cfg: cfg}
	var seed [4]byte
	rand.Read(seed[:])
	g.spi.Store(binary.BigEndian.Uint32(seed[:])>>2 + 256) // away from 0 … 255 and from wrapping soon
	ikeP, espP := proposals(cfg.Group)
	for _, id := range cfg.Identities {
		g.inits = append(g.inits, &ike.InitiatorConfig{
			Identity: id, IKEProposals: ikeP, ESPProposals: espP, Group: cfg.Group,
			ServerName: cfg.ServerName, Roots: cfg.Roots, AllocateSPI: g.allocateSPI,
		})
	}
	if err := g.open(); err != nil {
		return nil, err
	}
	var readers sync.WaitGroup
	for _, ep := range g.eps {
		readers.Go(func() { ep.read() })
	}
	defer func() {
		for _, ep := range g.eps {
			ep.conn.Close()
		}
		readers.Wait()
	}()

	r := &Report{Gateway: cfg.Gateway.String(), Group: cfg.Group.String(), Sources: len(g.eps), Sessions: cfg.Sessions}
	heapBefore := heapInUse()
	cpuBefore := cpuTime()
	t := g.ramp(ctx, r)
	r.Generator.CPUSeconds = (cpuTime() - cpuBefore).Seconds()
	g.fill(r, t)
	if r.Established > 0 {
		r.Generator.HeapBytesPerSession = (heapInUse() - heapBefore) / int64(r.Established)
	}
	if cfg.Traffic > 0 && ctx.Err() == nil {
		r.Traffic = g.traffic()
	}
	if cfg.Hold > 0 && ctx.Err() == nil {
		r.Hold = g.hold(ctx)
	}
	if cfg.Teardown {
		r.Teardown = g.teardown()
	}
	r.Unknown, r.Dropped = g.ctr.unknown.Load(), g.ctr.dropped.Load()
	return r, nil
}

// open makes the endpoints: one socket per source address.
func (g *generator) open() error {
	srcs := g.cfg.Sources
	if len(srcs) == 0 {
		srcs = []netip.Addr{netip.IPv4Unspecified()}
	}
	gwIKE := netip.AddrPortFrom(g.cfg.Gateway, g.cfg.IKEPort)
	gwNATT := netip.AddrPortFrom(g.cfg.Gateway, g.cfg.NATTPort)
	for _, a := range srcs {
		conn, err := g.cfg.Listen(netip.AddrPortFrom(a, 0))
		if err != nil {
			for _, ep := range g.eps {
				ep.conn.Close()
			}
			g.eps = nil
			return fmt.Errorf("loadgen: source %s: %w (is the address on an interface of this host?)", a, err)
		}
		g.eps = append(g.eps, newEndpoint(conn, gwIKE, gwNATT, &g.ctr, &g.established))
	}
	return nil
}

func (g *generator) allocateSPI() (uint32, error) { return g.spi.Add(1), nil }

// ramp runs the workers until every session was tried, and returns their merged tally.
func (g *generator) ramp(ctx context.Context, r *Report) *tally {
	n := min(g.cfg.Concurrency, len(g.eps)*g.cfg.PerSource)
	r.Concurrency = n
	workers := make([]*worker, n)
	g.start = time.Now()
	stop := g.report(PhaseRamp)
	var wg sync.WaitGroup
	for i := range workers {
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		w := &worker{g: g, ep: g.eps[i%len(g.eps)], timer: timer}
		workers[i] = w
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	stop()
	t := &tally{}
	for _, w := range workers {
		t.merge(&w.t)
	}
	r.RampSeconds = time.Since(g.start).Seconds()
	return t
}

// loop takes the next session until none is left.
func (w *worker) loop(ctx context.Context) {
	g := w.g
	for ctx.Err() == nil {
		i := g.next.Add(1) - 1
		if i >= int64(g.cfg.Sessions) {
			return
		}
		if !g.pace(ctx, i) {
			g.next.Add(-1) // not started after all
			return
		}
		g.inFlight.Add(1)
		o := w.handshake(ctx, g.inits[i%int64(len(g.inits))])
		g.inFlight.Add(-1)
		if !o.ok {
			w.t.fail(o.reason)
			g.failed.Add(1)
		}
	}
}

// pace waits until session i may start under Config.Rate; false if ctx ended first.
func (g *generator) pace(ctx context.Context, i int64) bool {
	if g.cfg.Rate <= 0 {
		return true
	}
	at := g.start.Add(time.Duration(float64(i) / g.cfg.Rate * float64(time.Second)))
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fill puts the ramp's results into r.
func (g *generator) fill(r *Report, t *tally) {
	r.Established = len(t.latencies)
	r.Failed = int(g.failed.Load())
	r.NotStarted = r.Sessions - min(int(g.next.Load()), r.Sessions)
	r.Failures = t.failures
	if r.Failures == nil {
		r.Failures = map[string]int{}
	}
	if r.Established > 0 {
		r.EstablishSeconds = t.lastDone.Sub(g.start).Seconds()
		r.Rate = float64(r.Established) / r.EstablishSeconds
	}
	r.Latency = Summarize(t.latencies)
	r.Cookies, r.InvalidKE, r.Retransmits = t.cookies, t.invalidKE, t.retransmits
}

// report calls Config.Progress once a second for phase until the returned stop is called.
func (g *generator) report(phase Phase) (stop func()) {
	if g.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	began := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				g.cfg.Progress(Progress{
					Phase: phase, Elapsed: time.Since(began), Established: g.established.Load(),
					Failed: g.failed.Load(), InFlight: g.inFlight.Load(), Liveness: g.ctr.liveness.Load(),
				})
			}
		}
	}()
	return func() { close(done); <-finished }
}

// heapInUse returns the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// cpuTime returns the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

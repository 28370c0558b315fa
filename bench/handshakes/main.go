// Command handshakes is the IKEv2 handshake and scale benchmark. bench/handshakes.sh runs it
// as root from the repository root. In one topology of network namespaces (internal/testnet:
// a client host, the gateway host, a VNet host) it measures, with `p2sgw bench ikev2` as the
// load generator on the client host:
//
//   - p2sgw serve's handshake rate and setup latency with ECDSA P-256 certificates and x25519
//     or ECP-256, after a sweep of the generator's concurrency;
//   - strongSwan's charon as the responder on the same host under the same load;
//   - p2sgw serve's memory (VmRSS) at 1,000, 10,000 and 100,000 established sessions;
//   - CPU profiles of p2sgw serve (perf) during a ramp.
//
// It writes bench/out/handshakes.md (a markdown fragment) and bench/out/handshakes.json, and
// keeps its working files (gateway directories, logs, perf data) under bench/out/handshakes/.
// Every process it starts it stops by its process group; every address it adds is inside the
// namespaces, which are deleted at the end.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	out          string
	sessions     int
	reps         int
	sweep        []int
	sweepN       int
	scale        []int
	scaleTimeout time.Duration
	sources      int
	skip         map[string]bool
}

func main() {
	var o options
	var sweep, scale, skip string
	flag.StringVar(&o.out, "out", "bench/out", "directory for handshakes.md, handshakes.json and the working files")
	flag.IntVar(&o.sessions, "sessions", 5000, "sessions per rate run")
	flag.IntVar(&o.reps, "reps", 3, "rate runs per responder and group (the median is reported)")
	flag.StringVar(&sweep, "sweep", "64,128,256,512,1000", "generator concurrencies to try (x25519); the fastest for p2sgw is used for every run")
	flag.IntVar(&o.sweepN, "sweep-sessions", 2000, "sessions per sweep run")
	flag.StringVar(&scale, "scale", "1000,10000,100000", "session counts at which p2sgw serve's memory is measured")
	flag.DurationVar(&o.scaleTimeout, "scale-timeout", 90*time.Minute, "give up the scale run after this long")
	flag.IntVar(&o.sources, "sources", 250, "source addresses of the generator (198.18.2.1 …)")
	render := flag.Bool("render", false, "only write handshakes.md again from handshakes.json (and the perf data it names)")
	flag.StringVar(&skip, "skip", "", "phases to leave out: sweep, tmpfs, swan, profile, scale (comma list)")
	flag.Parse()
	var err error
	if o.sweep, err = ints(sweep); err == nil {
		o.scale, err = ints(scale)
	}
	if err != nil || o.sources < 1 || o.sources > 250 || o.reps < 1 {
		fmt.Fprintln(os.Stderr, "handshakes: bad flags:", err)
		os.Exit(2)
	}
	o.skip = map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		o.skip[strings.TrimSpace(s)] = true
	}
	if *render {
		if err := rerender(o); err != nil {
			fmt.Fprintln(os.Stderr, "handshakes:", err)
			os.Exit(1)
		}
		return
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "handshakes: run as root (sudo bench/handshakes.sh): it builds network namespaces")
		os.Exit(1)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "handshakes:", err)
		os.Exit(1)
	}
}

// run is the whole benchmark; the topology and every process are gone when it returns, also
// when it is interrupted (SIGINT, SIGTERM).
func run(o options) (err error) {
	work := filepath.Join(o.out, "handshakes")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if work, err = filepath.Abs(work); err != nil {
		return err
	}
	t := &benchT{dir: filepath.Join(work, "tmp")}
	raiseNoFile()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(fatal)
				if !ok {
					panic(r)
				}
				done <- errors.New(string(f))
			}
		}()
		newBench(t, o, work).phases()
		done <- nil
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case err = <-done:
	case s := <-sig:
		err = fmt.Errorf("interrupted by %v; results so far are in %s", s, o.out)
	}
	t.cleanup()
	return err
}

// rerender writes handshakes.md from handshakes.json, reading the perf data again.
func rerender(o options) error {
	b, err := os.ReadFile(filepath.Join(o.out, "handshakes.json"))
	if err != nil {
		return err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return err
	}
	for i := range res.Profiles {
		if _, err := os.Stat(res.Profiles[i].Data); err == nil {
			res.Profiles[i].report()
		}
	}
	return os.WriteFile(filepath.Join(o.out, "handshakes.md"), []byte(res.markdown(o)), 0o644)
}

// raiseNoFile raises the open-file limit to its hard limit: the generator opens a socket per
// source, and the limit is inherited by every process started from here.
func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchT lets the benchmark use the test harness (testnet.T) outside a test: cleanups run in
// reverse at the end, and a fatal error unwinds to run as a fatal panic.
type benchT struct {
	dir string

	mu       sync.Mutex // guards the fields below: an interrupt cleans up from another goroutine
	cleanups []func()
	failed   bool
	n        int
}

type fatal string

func (t *benchT) Helper() {}
func (t *benchT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *benchT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *benchT) fail() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}

func (t *benchT) Logf(f string, a ...any) {}
func (t *benchT) Error(a ...any)          { t.fail(); fmt.Fprintln(os.Stderr, a...) }
func (t *benchT) Errorf(f string, a ...any) {
	t.fail()
	fmt.Fprintf(os.Stderr, f+"\n", a...)
}
func (t *benchT) Fatal(a ...any)            { t.fail(); panic(fatal(fmt.Sprint(a...))) }
func (t *benchT) Fatalf(f string, a ...any) { t.fail(); panic(fatal(fmt.Sprintf(f, a...))) }
func (t *benchT) Skip(a ...any)             { panic(fatal(fmt.Sprint(a...))) }

func (t *benchT) TempDir() string {
	t.mu.Lock()
	t.n++
	d := filepath.Join(t.dir, strconv.Itoa(t.n))
	t.mu.Unlock()
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// cleanup runs the cleanups, last first; one registered meanwhile runs too.
func (t *benchT) cleanup() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}

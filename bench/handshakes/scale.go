package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/internal/loadgen"
	"github.com/p2sgw/p2sgw/internal/testnet"
)

// settle is how long a plateau rests before its memory is read: the generator's last
// handshakes finish on the gateway and a garbage collection or two runs.
const settle = 10 * time.Second

// scale opens sessions to one p2sgw serve in steps (to 1,000, then 10,000, then 100,000), each
// step a generator process that then holds its sessions open, and reads the gateway's memory at
// each plateau. It profiles the gateway halfway through the last step, and measures what
// holding the sessions costs it (dead peer detection every 30 s) at the top.
func (b *bench) scale(conc int) {
	fmt.Fprintf(os.Stderr, "handshakes: scale %v, concurrency %d\n", b.o.scale, conc)
	gw := b.startGateway("gw-scale", "")
	pid := gw.proc.PID()
	deadline := time.Now().Add(b.o.scaleTimeout)
	type gen struct {
		proc *testnet.Process
		out  string
	}
	var gens []gen
	defer func() {
		// The generators first, so that they report their hold; then the gateway.
		for _, g := range gens {
			g.proc.Stop()
			var rep loadgen.Report
			if b2, err := os.ReadFile(g.out); err == nil && json.Unmarshal(b2, &rep) == nil {
				b.res.ScaleGenerators = append(b.res.ScaleGenerators, rep)
			}
		}
		gw.proc.Stop()
	}()
	have := 0
	profiled := b.o.skip["profile"]
	for i, target := range b.o.scale {
		n := target - have
		if n <= 0 {
			continue
		}
		args := b.genArgs(gw.dir, "x25519", conc, n, "--hold", "24h", "--teardown=false", "--certs", "1000")
		args = slicesDelete(args, "--quiet") // its progress lines tell when the ramp is over
		out := filepath.Join(b.work, fmt.Sprintf("scale-gen%d.json", i+1))
		errPath := filepath.Join(b.work, fmt.Sprintf("scale-gen%d.log", i+1))
		stdout, err1 := os.Create(out)
		stderr, err2 := os.Create(errPath)
		if err1 != nil || err2 != nil {
			b.t.Fatal(err1, err2)
		}
		cmd := b.tp.Clients[0].Command(context.Background(), b.bin, args...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		p := b.tp.Clients[0].StartCmd(b.t, cmd)
		stdout.Close()
		stderr.Close()
		gens = append(gens, gen{p, out})
		b.res.Commands = append(b.res.Commands, fmt.Sprintf("ip netns exec %s p2sgw %s &", b.tp.Clients[0].Name, strings.Join(args, " ")))
		start := time.Now()
		timedOut := false
		profile := func() {
			if !profiled && i == len(b.o.scale)-1 && b.connections(gw) >= have+n/2 {
				profiled = true
				what := fmt.Sprintf("p2sgw serve, 15 s of the ramp from %d sessions on", b.connections(gw))
				b.res.Profiles = append(b.res.Profiles, b.perf(pid, "scale", what, 15*time.Second))
			}
		}
		for !rampOver(errPath) && !timedOut {
			select {
			case <-p.Exited():
				b.t.Fatalf("generator %d exited during its ramp:\n%s", i+1, readFile(errPath))
			case <-time.After(time.Second):
			}
			profile()
			timedOut = time.Now().After(deadline)
		}
		clientDone := time.Since(start)
		// The gateway registers a session after it answers IKE_AUTH, and may lag behind: the
		// plateau is when it counts them all (or stops counting more for two minutes).
		last, still := -1, time.Now()
		for !timedOut {
			c := b.connections(gw)
			if c >= target {
				break
			}
			if c != last {
				last, still = c, time.Now()
			} else if time.Since(still) > 2*time.Minute {
				break
			}
			profile()
			time.Sleep(time.Second)
			timedOut = time.Now().After(deadline)
		}
		ramp := time.Since(start)
		time.Sleep(settle)
		pt := ScalePoint{Target: target, Sessions: b.connections(gw), RampSeconds: ramp.Seconds(), ClientSeconds: clientDone.Seconds(), TimedOut: timedOut}
		pt.RSS, _ = procStatus(pid, "VmRSS")
		pt.HWM, _ = procStatus(pid, "VmHWM")
		b.goMemory(gw, &pt)
		for _, g := range gens {
			if rss, err := procStatus(g.proc.PID(), "VmRSS"); err == nil {
				pt.GeneratorRSS += rss
			}
		}
		b.res.Scale = append(b.res.Scale, pt)
		b.save()
		fmt.Fprintf(os.Stderr, "handshakes: %d sessions: VmRSS %d MiB\n", pt.Sessions, pt.RSS>>20)
		if timedOut {
			return
		}
		have = target
	}
	// What holding the sessions costs: the gateway's CPU over a minute at the top.
	cpu0, _ := procCPU(pid)
	time.Sleep(time.Minute)
	cpu1, _ := procCPU(pid)
	if len(b.res.Scale) > 0 {
		b.res.Scale[len(b.res.Scale)-1].IdleCores = (cpu1 - cpu0).Seconds() / 60
	}
}

// rampOver reports whether the generator's progress lines in path reached the hold.
func rampOver(path string) bool {
	return strings.Contains(readFile(path), "hold ")
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func slicesDelete(args []string, drop string) []string {
	var out []string
	for _, a := range args {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

// goMemory reads the gateway's Go memory statistics and heap profile at a plateau, over its
// admin socket.
func (b *bench) goMemory(gw *responder, pt *ScalePoint) {
	hc := http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", gw.sock)
	}}}
	get := func(path string) ([]byte, error) {
		resp, err := hc.Get("http://p2sgw" + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	if m, err := get("/metrics"); err == nil {
		for _, l := range strings.Split(string(m), "\n") {
			name, val, _ := strings.Cut(l, " ")
			v, err := strconv.ParseFloat(val, 64)
			if err != nil {
				continue
			}
			switch name {
			case "go_memstats_heap_inuse_bytes":
				pt.HeapInuse = int64(v)
			case "go_memstats_stack_inuse_bytes":
				pt.StackInuse = int64(v)
			case "go_goroutines":
				pt.Goroutines = int(v)
			}
		}
	}
	heap, err := get("/debug/pprof/heap")
	if err != nil {
		pt.HeapTop = "heap profile: " + err.Error()
		return
	}
	pt.HeapFile = filepath.Join(b.work, fmt.Sprintf("heap-%d.pprof", pt.Target))
	if err := os.WriteFile(pt.HeapFile, heap, 0o644); err != nil {
		pt.HeapTop = err.Error()
		return
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=30", "-sample_index=inuse_space", b.bin, pt.HeapFile).CombinedOutput()
	if err != nil {
		pt.HeapTop = fmt.Sprintf("go tool pprof: %v: %s", err, out)
		return
	}
	pt.HeapTop = strings.TrimSpace(string(out))
}

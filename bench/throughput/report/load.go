package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// run is everything one run.sh run left in its directory.
type run struct {
	machine, versions, settings []keyValue
	rows                        []row
	micro                       []benchmark
	microErr                    string   // a failure line from go test, if any
	microLoad                   []string // "./esp: machine busy 104 %, 3 % before"
}

type keyValue struct{ key, value string }

// row is one path measured: its meta file and its samples.
type row struct {
	id, name, label, cipher, status string
	// cells are the throughput samples keyed by direction and streams: "up-1", "down-4".
	cells map[string]*cell
	ping  *pingStats
}

// cell is the runs of one direction and stream count.
type cell struct {
	mbps   []float64
	retr   []float64
	cpu    []map[string]float64 // per run: busy, steal, gw, client, quiet_before
	failed int
}

// pingStats summarises ping's per-packet round-trip times.
type pingStats struct {
	sent, received   int
	median, p10, p90 float64 // milliseconds
	rtts             []float64
}

// benchmark is one `go test -bench` result, the median of its -count runs.
type benchmark struct {
	pkg, name                            string
	runs                                 int
	nsPerOp, mbPerS, bPerOp, allocsPerOp float64
	hasMB                                bool
	// extra are the benchmark's own metrics (b.ReportMetric), "64.3 ns/pkt".
	extra []string
}

func load(dir string) (*run, error) {
	r := &run{}
	var err error
	for _, f := range []struct {
		name string
		dst  *[]keyValue
	}{{"machine.txt", &r.machine}, {"versions.txt", &r.versions}, {"settings.txt", &r.settings}} {
		if *f.dst, err = readKeyValues(filepath.Join(dir, f.name), ": "); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	rowDirs, _ := filepath.Glob(filepath.Join(dir, "rows", "*"))
	slices.Sort(rowDirs)
	for _, d := range rowDirs {
		rw, err := loadRow(d)
		if err != nil {
			return nil, err
		}
		r.rows = append(r.rows, rw)
	}
	if f, err := os.Open(filepath.Join(dir, "micro.txt")); err == nil {
		r.micro, r.microErr, r.microLoad = parseBench(f)
		f.Close()
	}
	return r, nil
}

// readKeyValues reads "key<sep>value" lines; a settings line without sep is kept whole.
func readKeyValues(path, sep string) ([]keyValue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kvs []keyValue
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\n")
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, sep)
		kvs = append(kvs, keyValue{k, v})
	}
	return kvs, nil
}

var sampleName = regexp.MustCompile(`^(up|down)-(\d+)-(\d+)\.json$`)

func loadRow(dir string) (row, error) {
	meta, err := readKeyValues(filepath.Join(dir, "meta"), "=")
	if err != nil {
		return row{}, err
	}
	rw := row{cells: map[string]*cell{}}
	for _, kv := range meta {
		switch kv.key {
		case "id":
			rw.id = kv.value
		case "name":
			rw.name = kv.value
		case "label":
			rw.label = kv.value
		case "cipher":
			rw.cipher = kv.value
		case "status":
			rw.status = kv.value
		}
	}
	if rw.status == "" {
		rw.status = "incomplete: the run stopped in this row"
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return row{}, err
	}
	for _, e := range entries {
		m := sampleName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		key := m[1] + "-" + m[2]
		c := rw.cells[key]
		if c == nil {
			c = &cell{}
			rw.cells[key] = c
		}
		path := filepath.Join(dir, e.Name())
		mbps, retr, err := readIperf(path)
		if err != nil {
			c.failed++
			continue
		}
		c.mbps = append(c.mbps, mbps)
		c.retr = append(c.retr, retr)
		cpu, _ := readKeyValues(strings.TrimSuffix(path, ".json")+".cpu", "=")
		c.cpu = append(c.cpu, numbers(cpu))
	}
	if f, err := os.Open(filepath.Join(dir, "ping.txt")); err == nil {
		rw.ping = parsePing(f)
		f.Close()
	}
	return rw, nil
}

func numbers(kvs []keyValue) map[string]float64 {
	m := map[string]float64{}
	for _, kv := range kvs {
		if v, err := strconv.ParseFloat(kv.value, 64); err == nil {
			m[kv.key] = v
		}
	}
	return m
}

// iperfResult is the part of iperf3's -J output the report uses.
type iperfResult struct {
	Error string `json:"error"`
	End   struct {
		SumSent struct {
			BitsPerSecond float64 `json:"bits_per_second"`
			Retransmits   float64 `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
}

// readIperf returns the receiver's throughput in Mbit/s and the sender's retransmits.
func readIperf(path string) (mbps, retransmits float64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	return parseIperf(b)
}

func parseIperf(b []byte) (mbps, retransmits float64, err error) {
	var res iperfResult
	if err := json.Unmarshal(b, &res); err != nil {
		return 0, 0, fmt.Errorf("iperf3 JSON: %w", err)
	}
	if res.Error != "" {
		return 0, 0, fmt.Errorf("iperf3: %s", res.Error)
	}
	if res.End.SumReceived.BitsPerSecond <= 0 {
		return 0, 0, errors.New("iperf3: no received throughput")
	}
	return res.End.SumReceived.BitsPerSecond / 1e6, res.End.SumSent.Retransmits, nil
}

var (
	pingReply   = regexp.MustCompile(`time=([0-9.]+) ms`)
	pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)
)

// parsePing reads ping's output: one "time=X ms" per reply and the summary line.
func parsePing(r io.Reader) *pingStats {
	p := &pingStats{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if m := pingReply.FindStringSubmatch(line); m != nil {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil {
				p.rtts = append(p.rtts, v)
			}
		}
		if m := pingSummary.FindStringSubmatch(line); m != nil {
			p.sent, _ = strconv.Atoi(m[1])
			p.received, _ = strconv.Atoi(m[2])
		}
	}
	if len(p.rtts) == 0 {
		return nil
	}
	p.median, p.p10, p.p90 = quantile(p.rtts, 0.5), quantile(p.rtts, 0.1), quantile(p.rtts, 0.9)
	return p
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)

// parseBench reads `go test -bench -benchmem` output, possibly with -count > 1, and returns
// each benchmark's median in the order they first appear, the first failure line, and
// run.sh's notes on the machine's load ("# ./esp: machine busy …").
func parseBench(r io.Reader) ([]benchmark, string, []string) {
	type samples struct {
		pkg, name             string
		ns, mb, bytes, allocs []float64
		extra                 map[string][]float64 // by unit
		units                 []string             // extra's keys in order of appearance
	}
	var (
		order   []*samples
		byKey   = map[string]*samples{}
		pkg     string
		failure string
		load    []string
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p
			continue
		}
		if note, ok := strings.CutPrefix(line, "# "); ok && strings.Contains(note, "machine busy") {
			load = append(load, note)
			continue
		}
		if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") {
			if failure == "" {
				failure = line
			}
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := pkg + " " + m[1]
		s := byKey[key]
		if s == nil {
			s = &samples{pkg: pkg, name: m[1]}
			byKey[key] = s
			order = append(order, s)
		}
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "MB/s":
				s.mb = append(s.mb, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			default:
				if s.extra == nil {
					s.extra = map[string][]float64{}
				}
				if _, seen := s.extra[f[i+1]]; !seen {
					s.units = append(s.units, f[i+1])
				}
				s.extra[f[i+1]] = append(s.extra[f[i+1]], v)
			}
		}
	}
	var out []benchmark
	for _, s := range order {
		b := benchmark{
			pkg: s.pkg, name: s.name, runs: len(s.ns),
			nsPerOp: median(s.ns), mbPerS: median(s.mb), bPerOp: median(s.bytes), allocsPerOp: median(s.allocs),
			hasMB: len(s.mb) > 0,
		}
		for _, u := range s.units {
			b.extra = append(b.extra, fmt.Sprintf("%.4g %s", median(s.extra[u]), u))
		}
		out = append(out, b)
	}
	return out, failure, load
}

// median of xs; 0 for none.
func median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile returns the q-quantile of xs by linear interpolation between the closest ranks;
// 0 for none. xs is not modified.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(pos)
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}

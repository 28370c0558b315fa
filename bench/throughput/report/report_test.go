package main

import (
	"math"
	"strings"
	"testing"
)

func TestQuantile(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"none", nil, 0.5, 0},
		{"one", []float64{3}, 0.5, 3},
		{"odd median", []float64{5, 1, 3}, 0.5, 3},
		{"even median", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"min", []float64{4, 1, 3}, 0, 1},
		{"max", []float64{4, 1, 3}, 1, 4},
		{"p10 interpolates", []float64{0, 10}, 0.1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantile(tc.xs, tc.q); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("quantile(%v, %v) = %v, want %v", tc.xs, tc.q, got, tc.want)
			}
		})
	}
}

func TestParseIperf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		json    string
		mbps    float64
		wantErr string
	}{
		{"receiver throughput", `{"end":{"sum_sent":{"bits_per_second":2.1e9,"retransmits":7},"sum_received":{"bits_per_second":2e9}}}`, 2000, ""},
		{"iperf3 error", `{"start":{},"error":"unable to connect to server"}`, 0, "unable to connect"},
		{"no result", `{"end":{}}`, 0, "no received throughput"},
		{"truncated", `{"end":`, 0, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mbps, _, err := parseIperf([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || mbps != tc.mbps {
				t.Fatalf("parseIperf = %v, %v; want %v", mbps, err, tc.mbps)
			}
		})
	}
}

func TestParsePing(t *testing.T) {
	out := `PING 198.19.0.10 (198.19.0.10) 56(84) bytes of data.
64 bytes from 198.19.0.10: icmp_seq=1 ttl=63 time=0.100 ms
64 bytes from 198.19.0.10: icmp_seq=2 ttl=63 time=0.300 ms
64 bytes from 198.19.0.10: icmp_seq=3 ttl=63 time=0.200 ms

--- 198.19.0.10 ping statistics ---
4 packets transmitted, 3 received, 25% packet loss, time 31ms
`
	p := parsePing(strings.NewReader(out))
	if p == nil || p.sent != 4 || p.received != 3 || math.Abs(p.median-0.2) > 1e-9 {
		t.Fatalf("parsePing = %+v", p)
	}
	if parsePing(strings.NewReader("connect: Network is unreachable\n")) != nil {
		t.Fatal("no replies must give no statistics")
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/p2sgw/p2sgw/esp
BenchmarkSeal/1400-2         	  500000	      1000 ns/op	1400.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkSeal/1400-2         	  500000	      3000 ns/op	 466.67 MB/s	       0 B/op	       0 allocs/op
BenchmarkSeal/1400-2         	  500000	      2000 ns/op	 700.00 MB/s	       0 B/op	       0 allocs/op
pkg: github.com/p2sgw/p2sgw/ike
BenchmarkHandshake-2         	    1000	    500000 ns/op	        64.30 ns/pkt	   20000 B/op	     300 allocs/op
PASS
# ./ike: machine busy 104 %, 3 % before
`
	bs, failure, load := parseBench(strings.NewReader(out))
	if failure != "" || len(bs) != 2 {
		t.Fatalf("parseBench = %+v, %q", bs, failure)
	}
	if len(load) != 1 || load[0] != "./ike: machine busy 104 %, 3 % before" {
		t.Errorf("load notes = %q", load)
	}
	if b := bs[0]; b.name != "BenchmarkSeal/1400" || b.runs != 3 || b.nsPerOp != 2000 || !b.hasMB || b.mbPerS != 700 {
		t.Errorf("first = %+v", b)
	}
	if b := bs[1]; b.pkg != "github.com/p2sgw/p2sgw/ike" || b.hasMB || b.allocsPerOp != 300 || len(b.extra) != 1 || b.extra[0] != "64.3 ns/pkt" {
		t.Errorf("second = %+v", b)
	}
}

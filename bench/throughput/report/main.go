// Command report turns the raw output of bench/throughput/run.sh (a directory of iperf3
// JSON, ping logs, CPU samples and `go test -bench` output) into the Markdown tables of
// bench/RESULTS.md: throughput per row with its spread, ratios to wireguard-go and to
// strongSwan libipsec, added latency, the targets of issue 9, and the micro-benchmarks.
//
// It only reads the directory and writes to stdout; it measures nothing.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	dir := flag.String("dir", "", "the output directory of one run.sh run (required)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "report: -dir is required")
		os.Exit(2)
	}
	r, err := load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if err := write(os.Stdout, r); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

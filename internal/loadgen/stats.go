package loadgen

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/p2sgw/p2sgw/ike"
)

// Failure is the kind of reason a handshake did not complete.
type Failure int

// Failures.
const (
	FailTimeout  Failure = iota // no answer to a request after every retransmission
	FailRefused                 // the gateway answered with an error notify
	FailRejected                // we refused the gateway's answer (certificate, AUTH, proposal)
	FailSend                    // the socket would not send
	FailSetup                   // the initiator could not start (our side)
)

var failureNames = [...]string{"timeout", "refused", "rejected", "send", "setup"}

func (f Failure) String() string {
	if f < 0 || int(f) >= len(failureNames) {
		return fmt.Sprintf("Failure(%d)", int(f))
	}
	return failureNames[f]
}

// reason is the key a failure is counted under: its kind, with the exchange that timed out or
// the notify the gateway refused with ("timeout in IKE_AUTH", "refused: AUTHENTICATION_FAILED").
func reason(f Failure, exchange string, err error) string {
	switch f {
	case FailTimeout:
		return "timeout in " + exchange
	case FailRefused:
		var ne *ike.NotifyError
		if errors.As(err, &ne) {
			return "refused: " + ne.Type.String()
		}
	case FailRejected:
		return "rejected in " + exchange
	}
	return f.String()
}

// tally is what one worker counted; workers' tallies are merged into the Report at the end,
// so counting takes no lock.
type tally struct {
	latencies   []time.Duration // of the established handshakes
	failures    map[string]int
	cookies     int // IKE_SA_INIT answered with COOKIE
	invalidKE   int // IKE_SA_INIT answered with INVALID_KE_PAYLOAD
	retransmits int
	lastDone    time.Time // when the last handshake established
}

func (t *tally) fail(key string) {
	if t.failures == nil {
		t.failures = map[string]int{}
	}
	t.failures[key]++
}

func (t *tally) merge(o *tally) {
	t.latencies = append(t.latencies, o.latencies...)
	for k, n := range o.failures {
		if t.failures == nil {
			t.failures = map[string]int{}
		}
		t.failures[k] += n
	}
	t.cookies += o.cookies
	t.invalidKE += o.invalidKE
	t.retransmits += o.retransmits
	if o.lastDone.After(t.lastDone) {
		t.lastDone = o.lastDone
	}
}

// Latency summarises setup latencies, in milliseconds. The zero value means no samples.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Summarize returns the percentiles (nearest rank), maximum and mean of ds. It sorts ds in
// place; an empty ds gives the zero Latency.
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{
		P50:  ms(Percentile(ds, 50)),
		P90:  ms(Percentile(ds, 90)),
		P99:  ms(Percentile(ds, 99)),
		Max:  ms(ds[len(ds)-1]),
		Mean: ms(sum / time.Duration(len(ds))),
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the nearest-rank method:
// the smallest sample that at least p percent of the samples do not exceed. It returns 0 for
// no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9)) // less a hair of float error
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

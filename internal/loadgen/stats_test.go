package loadgen

import (
	"fmt"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/message"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{ms(7)}, 99, ms(7)},
		{"median of two is the lower", []time.Duration{ms(1), ms(2)}, 50, ms(1)},
		{"p50 of 1…100", hundred, 50, ms(50)},
		{"p90 of 1…100", hundred, 90, ms(90)},
		{"p99 of 1…100", hundred, 99, ms(99)},
		{"p100 is the max", hundred, 100, ms(100)},
		{"tiny p is the min", hundred, 0.001, ms(1)},
		{"p29 of 1…100 despite float error", hundred, 29, ms(29)},
		{"p99 of 10 is the max", hundred[:10], 99, ms(10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	if got := Summarize(nil); got != (Latency{}) {
		t.Fatalf("Summarize(nil) = %+v", got)
	}
	ds := []time.Duration{40 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond}
	got := Summarize(ds)
	want := Latency{P50: 20, P90: 40, P99: 40, Max: 40, Mean: 25}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if ds[0] != 10*time.Millisecond {
		t.Errorf("Summarize did not sort in place: %v", ds)
	}
}

func TestTallyMerge(t *testing.T) {
	now := time.Now()
	a := tally{latencies: []time.Duration{1}, cookies: 2, retransmits: 1, lastDone: now}
	a.fail("timeout in IKE_AUTH")
	b := tally{latencies: []time.Duration{2, 3}, invalidKE: 1, lastDone: now.Add(time.Second)}
	b.fail("timeout in IKE_AUTH")
	b.fail("refused: AUTHENTICATION_FAILED")
	var sum tally
	sum.merge(&a)
	sum.merge(&b)
	if len(sum.latencies) != 3 || sum.cookies != 2 || sum.invalidKE != 1 || sum.retransmits != 1 || !sum.lastDone.Equal(now.Add(time.Second)) {
		t.Fatalf("merged: %+v", sum)
	}
	if sum.failures["timeout in IKE_AUTH"] != 2 || sum.failures["refused: AUTHENTICATION_FAILED"] != 1 {
		t.Fatalf("merged failures: %v", sum.failures)
	}
}

func TestReason(t *testing.T) {
	refused := &ike.NotifyError{Type: message.NotifyAuthenticationFailed, Err: ike.ErrRefused}
	for _, tc := range []struct {
		f    Failure
		ex   string
		err  error
		want string
	}{
		{FailTimeout, "IKE_AUTH", nil, "timeout in IKE_AUTH"},
		{FailRefused, "IKE_AUTH", fmt.Errorf("wrapped: %w", refused), "refused: AUTHENTICATION_FAILED"},
		{FailRejected, "IKE_SA_INIT", ike.ErrAuthFailed, "rejected in IKE_SA_INIT"},
		{FailSend, "IKE_SA_INIT", nil, "send"},
		{Failure(42), "", nil, "Failure(42)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := reason(tc.f, tc.ex, tc.err); got != tc.want {
				t.Fatalf("reason = %q, want %q", got, tc.want)
			}
		})
	}
}

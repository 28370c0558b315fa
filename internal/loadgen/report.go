package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Report is what a run measured. Its JSON form is `p2sgw bench ikev2 --json`.
type Report struct {
	Gateway     string `json:"gateway"`
	Group       string `json:"group"`
	Sources     int    `json:"sources"`
	Concurrency int    `json:"concurrency"` // workers: handshakes in flight at most
	Sessions    int    `json:"sessions"`    // asked for
	Established int    `json:"established"`
	Failed      int    `json:"failed"`
	NotStarted  int    `json:"not_started"` // left when the run was cancelled
	// Failures counts the failed handshakes by reason: "timeout in IKE_AUTH",
	// "refused: AUTHENTICATION_FAILED", "rejected in IKE_AUTH" (we refused the answer), …
	Failures map[string]int `json:"failures"`
	// RampSeconds is the ramp's wall time: first IKE_SA_INIT to last handshake finished.
	// EstablishSeconds ends at the last handshake that succeeded instead; Rate is Established
	// over it.
	RampSeconds      float64 `json:"ramp_seconds"`
	EstablishSeconds float64 `json:"establish_seconds"`
	Rate             float64 `json:"handshakes_per_second"`
	// Latency is from the first IKE_SA_INIT sent to the IKE_AUTH answer verified.
	Latency     Latency `json:"setup_latency"`
	Cookies     int     `json:"cookies"`         // IKE_SA_INIT answered with COOKIE
	InvalidKE   int     `json:"invalid_ke"`      // IKE_SA_INIT answered with INVALID_KE_PAYLOAD
	Retransmits int     `json:"retransmissions"` // requests sent again for want of an answer
	// Unknown counts IKE messages for no SA of ours (late answers to failed handshakes, say);
	// Dropped those a busy worker's inbox or an established SA dropped.
	Unknown   int64 `json:"unknown_messages"`
	Dropped   int64 `json:"dropped_messages"`
	Generator Usage `json:"generator"`

	Traffic  *TrafficReport  `json:"traffic,omitempty"`
	Hold     *HoldReport     `json:"hold,omitempty"`
	Teardown *TeardownReport `json:"teardown,omitempty"`
}

// Usage is what the generator itself used during the ramp.
type Usage struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	// HeapBytesPerSession is the live heap the established sessions take, each.
	HeapBytesPerSession int64 `json:"heap_bytes_per_session"`
}

// TrafficReport is the traffic check.
type TrafficReport struct {
	To          string  `json:"to"`
	Sessions    int     `json:"sessions"`
	Sent        int     `json:"sent"`
	Replies     int64   `json:"replies"`
	Answered    int     `json:"sessions_answered"` // sessions that got at least one reply
	SetupErrors int     `json:"setup_errors,omitempty"`
	SendErrors  int     `json:"send_errors,omitempty"`
	Seconds     float64 `json:"seconds"`
}

// HoldReport is the hold.
type HoldReport struct {
	Seconds          float64 `json:"seconds"`
	Start            int64   `json:"sessions_at_start"`
	End              int64   `json:"sessions_at_end"`
	Liveness         int64   `json:"liveness_answered"`
	DeletedByGateway int64   `json:"deleted_by_gateway"`
	IKERekeys        int64   `json:"ike_rekeys,omitempty"`
}

// TeardownReport is the teardown.
type TeardownReport struct {
	Sent         int64   `json:"deletes_sent"`
	Acknowledged int64   `json:"deletes_answered"`
	Seconds      float64 `json:"seconds"`
}

// WriteText writes the report for a reader.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "IKEv2 handshakes to %s (%s, ECDSA P-256 client certificates), %d sources, %d in flight at most\n",
		r.Gateway, r.Group, r.Sources, r.Concurrency)
	fmt.Fprintf(w, "  established  %d of %d in %.2f s: %.1f handshakes/s\n", r.Established, r.Sessions, r.EstablishSeconds, r.Rate)
	l := r.Latency
	fmt.Fprintf(w, "  setup latency  p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (mean %.1f ms)\n", l.P50, l.P90, l.P99, l.Max, l.Mean)
	fmt.Fprintf(w, "  failed  %d%s\n", r.Failed, failureList(r.Failures))
	if r.NotStarted > 0 {
		fmt.Fprintf(w, "  not started  %d (cancelled)\n", r.NotStarted)
	}
	fmt.Fprintf(w, "  cookies %d, INVALID_KE_PAYLOAD %d, retransmissions %d\n", r.Cookies, r.InvalidKE, r.Retransmits)
	fmt.Fprintf(w, "  generator  %.2f CPU-s in the ramp, %d heap bytes per session\n", r.Generator.CPUSeconds, r.Generator.HeapBytesPerSession)
	if t := r.Traffic; t != nil {
		fmt.Fprintf(w, "  traffic  %d echo requests to %s from %d sessions: %d replies, %d sessions answered\n",
			t.Sent, t.To, t.Sessions, t.Replies, t.Answered)
	}
	if h := r.Hold; h != nil {
		fmt.Fprintf(w, "  hold  %.0f s: %d sessions at the start, %d at the end, %d liveness checks answered, %d deleted by the gateway\n",
			h.Seconds, h.Start, h.End, h.Liveness, h.DeletedByGateway)
	}
	if t := r.Teardown; t != nil {
		fmt.Fprintf(w, "  teardown  %d deletes sent, %d answered in %.1f s\n", t.Sent, t.Acknowledged, t.Seconds)
	}
}

// failureList is ": reason n, reason n" in order of count, or "".
func failureList(f map[string]int) string {
	if len(f) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(f))
	slices.SortStableFunc(keys, func(a, b string) int { return f[b] - f[a] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, f[k])
	}
	return ": " + strings.Join(parts, ", ")
}

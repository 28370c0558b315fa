package gateway

import (
	"testing"

	"github.com/p2sgw/p2sgw/radius"
)

// TestTerminateCause: every way a session ends that the gateway words maps to the RFC 2866
// cause a RADIUS administrator expects in the Stop record.
func TestTerminateCause(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   uint32
	}{
		{"deleted by the client", radius.TerminateUserRequest},
		{"the client deleted its CHILD SA", radius.TerminateUserRequest},
		{"dead peer: no answer for 2m0s", radius.TerminateLostCarrier},
		{"session timeout (RADIUS Session-Timeout 1h0m0s)", radius.TerminateSessionTimeout},
		{"disconnected by admin", radius.TerminateAdminReset},
		{"gateway shutting down", radius.TerminateAdminReboot},
		{"IKE SA gone", radius.TerminateNASRequest},
	} {
		if got := terminateCause(tc.reason); got != tc.want {
			t.Errorf("terminateCause(%q) = %d, want %d", tc.reason, got, tc.want)
		}
	}
}

package gateway

import (
	"errors"
	"testing"

	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/session"
)

// TestAdmission: each SKU limit refuses the connection that would pass it, and only that
// protocol's: Azure's IKEv2+OpenVPN pool, SSTP's own cap, a Custom SKU's per-protocol and
// total caps.
func TestAdmission(t *testing.T) {
	vpngw1 := config.SKU{Name: "VpnGw1", MaxIKEv2OpenVPN: 250, MaxSSTP: 128}
	custom := config.SKU{Name: "Custom", MaxConnections: 10, MaxIKEv2: 3, MaxSSTP: 5}
	for _, tc := range []struct {
		name     string
		sku      config.SKU
		protocol string
		live     session.Counts
		refused  bool
	}{
		{"SSTP below its cap", vpngw1, session.SSTP, session.Counts{session.SSTP: 127, session.IKEv2: 250}, false},
		{"SSTP at its cap", vpngw1, session.SSTP, session.Counts{session.SSTP: 128}, true},
		{"IKEv2 in the shared pool", vpngw1, session.IKEv2, session.Counts{session.IKEv2: 200, session.OpenVPN: 49}, false},
		{"IKEv2 when OpenVPN filled the pool", vpngw1, session.IKEv2, session.Counts{session.IKEv2: 200, session.OpenVPN: 50}, true},
		{"Custom IKEv2 cap", custom, session.IKEv2, session.Counts{session.IKEv2: 3}, true},
		{"Custom SSTP below its cap", custom, session.SSTP, session.Counts{session.IKEv2: 3, session.SSTP: 4}, false},
		{"Custom total", custom, session.SSTP, session.Counts{session.IKEv2: 3, session.SSTP: 4, session.OpenVPN: 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := admission(tc.sku, tc.protocol)(tc.live)
			if refused := errors.Is(err, ErrSKULimit); refused != tc.refused {
				t.Fatalf("admission = %v, want refused %v", err, tc.refused)
			}
		})
	}
}

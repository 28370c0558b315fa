package config

import (
	"reflect"
	"testing"
)

func TestLookupSKU(t *testing.T) {
	tests := []struct {
		name             string
		sstp, ikev2ovpn  int
		mbps             int
		ikev2, openvpn   bool
		radius           bool
		limitIKEv2       int
		limitSSTP        int
		limitUnsupported int
	}{
		{name: "Basic", sstp: 128, mbps: 100, limitSSTP: 128},
		{name: "VpnGw1", sstp: 128, ikev2ovpn: 250, mbps: 650, ikev2: true, openvpn: true, radius: true, limitIKEv2: 250, limitSSTP: 128},
		{name: "vpngw2", sstp: 128, ikev2ovpn: 500, mbps: 1250, ikev2: true, openvpn: true, radius: true, limitIKEv2: 500, limitSSTP: 128},
		{name: "VPNGW3", sstp: 128, ikev2ovpn: 1000, mbps: 2500, ikev2: true, openvpn: true, radius: true, limitIKEv2: 1000, limitSSTP: 128},
		{name: "VpnGw4", sstp: 128, ikev2ovpn: 5000, mbps: 5000, ikev2: true, openvpn: true, radius: true, limitIKEv2: 5000, limitSSTP: 128},
		{name: "VpnGw5", sstp: 128, ikev2ovpn: 10000, mbps: 10000, ikev2: true, openvpn: true, radius: true, limitIKEv2: 10000, limitSSTP: 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := LookupSKU(tt.name)
			if !ok {
				t.Fatal("not found")
			}
			if s.MaxSSTP != tt.sstp || s.MaxIKEv2OpenVPN != tt.ikev2ovpn || s.ThroughputMbps != tt.mbps || s.MaxRootCerts != 20 {
				t.Errorf("limits = %+v", s)
			}
			if s.AllowsTunnel("IKEv2") != tt.ikev2 || s.AllowsTunnel(TunnelOpenVPN) != tt.openvpn || !s.AllowsTunnel(TunnelSSTP) {
				t.Errorf("tunnel types = %v", s.TunnelTypes)
			}
			if s.AllowsAuth(AuthRADIUS) != tt.radius || !s.AllowsAuth(AuthCertificate) {
				t.Errorf("auth types = %v", s.AuthTypes)
			}
			if got := s.ConnectionLimit(TunnelIKEv2); got != tt.limitIKEv2 {
				t.Errorf("ConnectionLimit(ikev2) = %d, want %d", got, tt.limitIKEv2)
			}
			if got := s.ConnectionLimit(TunnelSSTP); got != tt.limitSSTP {
				t.Errorf("ConnectionLimit(sstp) = %d, want %d", got, tt.limitSSTP)
			}
			if got := s.ConnectionLimit("l2tp"); got != 0 {
				t.Errorf("ConnectionLimit(l2tp) = %d, want 0", got)
			}
		})
	}
	for _, name := range []string{"Custom", "", "VpnGw6"} {
		if _, ok := LookupSKU(name); ok {
			t.Errorf("LookupSKU(%q) found a fixed SKU", name)
		}
	}
}

func TestLookupSKUReturnsACopy(t *testing.T) {
	s, _ := LookupSKU("VpnGw1")
	s.TunnelTypes[0] = "changed"
	if s2, _ := LookupSKU("VpnGw1"); s2.TunnelTypes[0] != TunnelIKEv2 {
		t.Error("changing a looked-up SKU changed the table")
	}
}

func TestSKUNames(t *testing.T) {
	want := []string{"Basic", "VpnGw1", "VpnGw2", "VpnGw3", "VpnGw4", "VpnGw5", "Custom"}
	if got := SKUNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("SKUNames = %v, want %v", got, want)
	}
}

func TestEffectiveSKU(t *testing.T) {
	c := &Config{SKU: "custom", Limits: &Limits{MaxConnections: 100, MaxSSTPConnections: 30, MaxOpenVPNConnections: 200, MaxMbps: 300}}
	s := c.EffectiveSKU()
	want := SKU{Name: "Custom", MaxOpenVPN: 200, MaxSSTP: 30, MaxConnections: 100, ThroughputMbps: 300,
		TunnelTypes: []string{"ikev2", "sstp", "openvpn"}, AuthTypes: []string{"certificate", "radius"}, MaxRootCerts: 20}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("EffectiveSKU = %+v\nwant %+v", s, want)
	}
	for tunnel, limit := range map[string]int{TunnelIKEv2: 100, TunnelSSTP: 30, TunnelOpenVPN: 100} {
		if got := s.ConnectionLimit(tunnel); got != limit {
			t.Errorf("ConnectionLimit(%s) = %d, want %d", tunnel, got, limit)
		}
	}
	if got := (&Config{SKU: "VpnGw2"}).EffectiveSKU(); got.Name != "VpnGw2" || got.MaxIKEv2OpenVPN != 500 {
		t.Errorf("EffectiveSKU(VpnGw2) = %+v", got)
	}
	if got := (&Config{SKU: "Custom"}).EffectiveSKU(); got.AllowsTunnel(TunnelSSTP) {
		t.Errorf("Custom without limits allows SSTP: %+v", got)
	}
	if got := (&Config{SKU: "Custom", Limits: &Limits{MaxConnections: 1, MaxRootCerts: 5}}).EffectiveSKU(); got.MaxRootCerts != 5 {
		t.Errorf("MaxRootCerts = %d, want 5", got.MaxRootCerts)
	}
}

func TestAdmits(t *testing.T) {
	gw1, _ := LookupSKU("VpnGw1")
	basic, _ := LookupSKU("Basic")
	custom := (&Config{SKU: "Custom", Limits: &Limits{MaxConnections: 10, MaxIKEv2Connections: 6}}).EffectiveSKU()
	type counts = map[string]int
	tests := []struct {
		name   string
		sku    SKU
		tunnel string
		active counts
		want   bool
	}{
		{"first ikev2", gw1, TunnelIKEv2, nil, true},
		{"ikev2 below shared cap", gw1, TunnelIKEv2, counts{"ikev2": 100, "openvpn": 149}, true},
		{"ikev2 at shared cap", gw1, TunnelIKEv2, counts{"ikev2": 100, "openvpn": 150}, false},
		{"openvpn counts with ikev2", gw1, TunnelOpenVPN, counts{"ikev2": 250}, false},
		{"sstp apart from ikev2", gw1, TunnelSSTP, counts{"ikev2": 250, "sstp": 127}, true},
		{"sstp at cap", gw1, "SSTP", counts{"sstp": 128}, false},
		{"basic ikev2", basic, TunnelIKEv2, nil, false},
		{"custom per protocol", custom, TunnelIKEv2, counts{"ikev2": 6}, false},
		{"custom total", custom, TunnelSSTP, counts{"ikev2": 5, "openvpn": 5}, false},
		{"custom below", custom, TunnelSSTP, counts{"ikev2": 5, "openvpn": 4}, true},
		{"unknown tunnel", gw1, "l2tp", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sku.Admits(tt.tunnel, tt.active); got != tt.want {
				t.Errorf("Admits = %v, want %v", got, tt.want)
			}
		})
	}
}

package gateway

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2sgw/p2sgw/api"
)

// TestVPNClientSettings: the package describes the live configuration, and an auth method
// the gateway does not have is refused with what to change.
func TestVPNClientSettings(t *testing.T) {
	cfg := testConfig(t)
	root := mustRoot(t, "VPN server root")
	dir := t.TempDir()
	if err := root.WriteFiles(dir, "server-root"); err != nil {
		t.Fatal(err)
	}
	cfg.ServerRoot = filepath.Join(dir, "server-root.crt")
	g := newTestGateway(t, cfg)
	defer g.Close()
	s, err := g.VPNClientSettings(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth != "certificate" || s.Server != cfg.PublicAddress || strings.Join(s.Routes, ",") != "198.19.0.0/16" || !strings.Contains(s.ServerRootPEM, "BEGIN CERTIFICATE") {
		t.Fatalf("settings %+v", s)
	}
	var ae *api.Error
	if _, err := g.VPNClientSettings(context.Background(), "eap-mschapv2"); !errors.As(err, &ae) || !strings.Contains(ae.Message, "needs radius") {
		t.Fatalf("eap-mschapv2 without radius: %v", err)
	}
	if _, err := g.VPNClientSettings(context.Background(), "psk"); !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("an unknown auth: %v", err)
	}
}

package freeradius

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// TestUsersFile renders the users file: quoted names and strings, reply items on
// continuation lines, and an entry without a password for an EAP-TLS identity.
func TestUsersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	users := []User{
		alice,
		{Name: "carol@example.com", FramedIP: netip.MustParseAddr("100.64.0.9")},
		{Name: "dave", Password: "d"},
	}
	if err := render("users", path, configData{Users: users}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `"alice"	Cleartext-Password := "correct \"horse\" \\ battery"
	Framed-IP-Address = 100.64.0.7,
	Session-Timeout = 3600,
	Class = "p2sgw-class-1",
	Reply-Message = "welcome, alice"

"carol@example.com"
	Framed-IP-Address = 100.64.0.9

"dave"	Cleartext-Password := "d"

`
	if got := string(b[strings.Index(string(b), `"alice"`):]); got != want {
		t.Errorf("users file:\n%s\nwant:\n%s", got, want)
	}
}

func TestOptionsRejected(t *testing.T) {
	ns := &testnet.Namespace{Name: "p2t-test-vnet", Addr: testnet.VNetHostAddr}
	tests := []struct {
		name string
		opts Options
	}{
		{"same ports", Options{AuthPort: 1812, AcctPort: 1812}},
		{"port out of range", Options{AuthPort: 70000}},
		{"IPv6 address", Options{Addr: netip.MustParseAddr("2001:db8::1")}},
		{"user without name", Options{Users: []User{{Password: "x"}}}},
		{"newline in password", Options{Users: []User{{Name: "a", Password: "x\ny"}}}},
		{"expansion in class", Options{Users: []User{{Name: "a", Class: "%{User-Name}"}}}},
		{"variable in secret", Options{Secret: "${confdir}"}},
		{"session timeout under a second", Options{Users: []User{{Name: "a", SessionTimeout: 500 * time.Millisecond}}}},
		{"IPv6 Framed-IP-Address", Options{Users: []User{{Name: "a", FramedIP: netip.MustParseAddr("2001:db8::2")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newServer(ns, tt.opts); err == nil {
				t.Errorf("newServer(%+v) succeeded", tt.opts)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	ns := &testnet.Namespace{Name: "p2t-test-vnet", Addr: testnet.VNetHostAddr}
	s, err := newServer(ns, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.AuthAddr() != "198.19.0.10:1812" || s.AcctAddr() != "198.19.0.10:1813" {
		t.Errorf("addresses %s, %s", s.AuthAddr(), s.AcctAddr())
	}
	if len(s.Secret()) < 16 || s.ServerName() != DefaultServerName || s.CA() == nil {
		t.Errorf("secret %q, server name %q, CA %v", s.Secret(), s.ServerName(), s.CA())
	}
	if got := (Options{}).clients(); len(got) != 1 || got[0] != netip.PrefixFrom(testnet.GatewayVNetAddr, 32) {
		t.Errorf("default clients %v", got)
	}
}

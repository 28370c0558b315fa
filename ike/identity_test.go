package ike

import (
	"net/netip"
	"testing"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/pki"
)

// TestIdentities: the identities native clients send are matched against certificates, and
// the gateway answers with the one the client asked for when its certificate carries it.
func TestIdentities(t *testing.T) {
	root, _ := pki.NewRoot("root", pki.Options{})
	server, err := root.IssueServer([]string{"vpn.example.com"}, []netip.Addr{netip.MustParseAddr("203.0.113.1")}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := root.IssueClient("alice@example.com", pki.Options{})
	ip := netip.MustParseAddr("203.0.113.1").As4()

	match := []struct {
		name string
		t    message.IDType
		data []byte
		cert *pki.Cert
		ok   bool
	}{
		{"Apple: the FQDN", message.IDFQDN, []byte("vpn.example.com"), server, true},
		{"Android: the address it dialled, as an FQDN string", message.IDFQDN, []byte("203.0.113.1"), server, true},
		{"an IPv4 address ID", message.IDIPv4Addr, ip[:], server, true},
		{"another name", message.IDFQDN, []byte("other.example.com"), server, false},
		{"Windows: the subject DN", message.IDDERASN1DN, alice.Cert.RawSubject, alice, true},
		{"strongSwan: the email SAN", message.IDRFC822Addr, []byte("ALICE@example.com"), alice, true},
		{"someone else's email", message.IDRFC822Addr, []byte("bob@example.com"), alice, false},
		{"a DN that is not the subject", message.IDDERASN1DN, server.Cert.RawSubject, alice, false},
		{"Android user name as KEY_ID", message.IDKeyID, []byte("alice"), alice, true},
	}
	for _, tc := range match {
		t.Run(tc.name, func(t *testing.T) {
			err := idMatchesCert(tc.t, tc.data, tc.cert.Cert)
			if (err == nil) != tc.ok {
				t.Fatalf("idMatchesCert = %v, want ok %v", err, tc.ok)
			}
		})
	}

	answers := []struct {
		name  string
		asked message.Payload
		want  *message.IDr
	}{
		{"Windows asks for none: our first DNS name", nil, &message.IDr{IDType: message.IDFQDN, Data: []byte("vpn.example.com")}},
		{"Android's address string is echoed", &message.IDr{IDType: message.IDFQDN, Data: []byte("203.0.113.1")}, &message.IDr{IDType: message.IDFQDN, Data: []byte("203.0.113.1")}},
		{"an ID we do not carry: our own instead", &message.IDr{IDType: message.IDFQDN, Data: []byte("evil.example.com")}, &message.IDr{IDType: message.IDFQDN, Data: []byte("vpn.example.com")}},
	}
	for _, tc := range answers {
		t.Run(tc.name, func(t *testing.T) {
			got := responderID(tc.asked, server.Cert)
			if got.IDType != tc.want.IDType || string(got.Data) != string(tc.want.Data) {
				t.Fatalf("IDr = %v %q, want %v %q", got.IDType, got.Data, tc.want.IDType, tc.want.Data)
			}
		})
	}
}

package strongswan

import (
	"context"
	"encoding/pem"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2sgw/p2sgw/internal/testnet"
	"github.com/p2sgw/p2sgw/pki"
)

// TestClientLoadsConnection starts a charon in a client namespace and loads a certificate
// connection made with our pki: the harness the IKEv2 end-to-end tests stand on.
func TestClientLoadsConnection(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1})
	root, err := pki.NewRoot("P2SRoot", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := root.IssueClient("alice@example.com", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := alice.KeyPEM()
	c := Start(t, tp.Clients[0], filepath.Join(t.TempDir(), "swan"))
	conn := Conn{
		Name: "p2s", Gateway: netip.MustParseAddr("198.18.0.1"), RemoteID: "vpn.example.com",
		CACertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}),
		Auth:      AuthPubkey, LocalID: "alice@example.com", CertPEM: alice.ChainPEM(), KeyPEM: key,
		RemoteTS:  []netip.Prefix{netip.MustParsePrefix("198.19.0.0/16")},
		Proposals: "aes256gcm16-prfsha256-ecp256", ESPProposals: "aes256gcm16",
	}
	if err := c.Load(context.Background(), conn); err != nil {
		t.Fatalf("load: %v\n%s", err, c.Log())
	}
	out, err := c.ListConns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p2s: IKEv2", "198.18.0.1", "alice@example.com", "vpn.example.com", "198.19.0.0/16"} {
		if !strings.Contains(out, want) {
			t.Errorf("list-conns lacks %q:\n%s", want, out)
		}
	}
}

package freeradius

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

var alice = User{
	Name:           "alice",
	Password:       `correct "horse" \ battery`,
	FramedIP:       netip.MustParseAddr("100.64.0.7"),
	SessionTimeout: time.Hour,
	Class:          "p2sgw-class-1",
	ReplyMessage:   "welcome, alice",
}

// TestPAP asks the server for PAP authentications from the gateway's namespace, as the
// gateway will: radclient for the attributes, our own client for the authenticators.
func TestPAP(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{})
	srv := Start(t, tp.VNet, Options{Users: []User{alice, {Name: "bob", Password: "bobs"}}})

	out, err := radclient(tp.Gateway, srv.AuthAddr(), "auth", srv.Secret(),
		fmt.Sprintf("User-Name = %s\nUser-Password = %s\nMessage-Authenticator = 0x00\n", quote(alice.Name), quote(alice.Password)))
	if err != nil {
		t.Fatalf("radclient: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Received Access-Accept",
		"Framed-IP-Address = 100.64.0.7",
		"Session-Timeout = 3600",
		"Class = 0x" + fmt.Sprintf("%x", alice.Class),
		`Reply-Message = "welcome, alice"`,
		"Message-Authenticator = 0x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("radclient's Access-Accept lacks %q:\n%s", want, out)
		}
	}
	out, _ = radclient(tp.Gateway, srv.AuthAddr(), "auth", srv.Secret(),
		"User-Name = \"alice\"\nUser-Password = \"wrong\"\nMessage-Authenticator = 0x00\n")
	for _, want := range []string{"Received Access-Reject", "Message-Authenticator = 0x"} {
		if !strings.Contains(out, want) {
			t.Errorf("radclient's Access-Reject lacks %q:\n%s", want, out)
		}
	}
}

// TestEveryReplyHasMessageAuthenticator checks on the wire that each kind of reply carries a
// valid Message-Authenticator (the gateway drops replies without one: Blast-RADIUS).
func TestEveryReplyHasMessageAuthenticator(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{})
	srv := Start(t, tp.VNet, Options{Users: []User{alice}})
	pap := func(name, pw string) []attr {
		return []attr{{attrUserName, []byte(name)}, {attrUserPassword, []byte(pw)}}
	}
	eapIdentity := []byte{2, 0, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'} // Response/Identity "alice"
	tests := []struct {
		name  string
		code  byte
		attrs []attr
		want  byte
	}{
		{"pap accept", codeAccessRequest, pap(alice.Name, alice.Password), codeAccessAccept},
		{"pap wrong password", codeAccessRequest, pap(alice.Name, "wrong"), codeAccessReject},
		{"pap unknown user", codeAccessRequest, pap("mallory", "x"), codeAccessReject},
		{"eap identity", codeAccessRequest, []attr{{attrUserName, []byte("alice")}, {attrEAPMessage, eapIdentity}}, codeAccessChallenge},
		{"status-server", codeStatusServer, nil, codeAccessAccept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := exchange(tp.Gateway, srv.AuthAddr(), srv.Secret(), tt.code, tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if r.code != tt.want {
				t.Errorf("reply code %d, want %d", r.code, tt.want)
			}
			if !r.hasMessageAuthenticator {
				t.Errorf("reply (code %d) has no Message-Authenticator", r.code)
			}
		})
	}
	t.Run("request without message-authenticator", func(t *testing.T) {
		// require_message_authenticator = yes: FreeRADIUS drops it silently.
		r, err := send(tp.Gateway, srv.AuthAddr(), srv.Secret(), codeAccessRequest, pap(alice.Name, alice.Password), false)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("got reply code %d, error %v; want no reply", r.code, err)
		}
	})
	t.Run("accept attributes", func(t *testing.T) {
		r, err := exchange(tp.Gateway, srv.AuthAddr(), srv.Secret(), codeAccessRequest, pap(alice.Name, alice.Password))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(r.get(attrClass)); got != alice.Class {
			t.Errorf("Class %q, want %q", got, alice.Class)
		}
		if got := string(r.get(attrReplyMessage)); got != alice.ReplyMessage {
			t.Errorf("Reply-Message %q, want %q", got, alice.ReplyMessage)
		}
	})
	t.Run("reject attributes", func(t *testing.T) {
		r, err := exchange(tp.Gateway, srv.AuthAddr(), srv.Secret(), codeAccessRequest, pap(alice.Name, "wrong"))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.attrs {
			if a.typ != attrMessageAuthenticator {
				t.Errorf("Access-Reject carries attribute %d = %q", a.typ, a.value)
			}
		}
	})
}

// TestAccounting sends a session's Start, Interim-Update and Stop and reads them back.
func TestAccounting(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{})
	srv := Start(t, tp.VNet, Options{})
	if recs := srv.AcctRecords(t); len(recs) != 0 {
		t.Fatalf("records before any accounting: %v", recs)
	}
	steps := []struct{ status, in, out string }{
		{"Start", "0", "0"},
		{"Interim-Update", "1500", "3000"},
		{"Stop", "4200", "8400"},
	}
	for _, s := range steps {
		in := fmt.Sprintf("Acct-Status-Type = %s\nAcct-Session-Id = \"sess-42\"\nUser-Name = \"alice\"\n"+
			"Framed-IP-Address = 100.64.0.7\nAcct-Input-Octets = %s\nAcct-Output-Octets = %s\n", s.status, s.in, s.out)
		if out, err := radclient(tp.Gateway, srv.AcctAddr(), "acct", srv.Secret(), in); err != nil || !strings.Contains(out, "Received Accounting-Response") {
			t.Fatalf("radclient %s: %v\n%s", s.status, err, out)
		}
	}
	recs := srv.AcctRecords(t)
	if len(recs) != len(steps) {
		t.Fatalf("%d records, want %d: %v", len(recs), len(steps), recs)
	}
	for i, s := range steps {
		r := recs[i]
		want := Record{
			"Acct-Status-Type":   s.status,
			"Acct-Session-Id":    "sess-42",
			"User-Name":          "alice",
			"Framed-IP-Address":  "100.64.0.7",
			"Acct-Input-Octets":  s.in,
			"Acct-Output-Octets": s.out,
			"NAS-IP-Address":     testnet.GatewayVNetAddr.String(), // added by preprocess: the packet's source
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("record %d: %s = %q, want %q", i, k, r[k], v)
			}
		}
		if _, err := time.Parse(time.ANSIC, r.Header()); err != nil {
			t.Errorf("record %d: header %q: %v", i, r.Header(), err)
		}
	}
}

// TestFailover runs three servers in the VNet namespace at once — two on one address, one
// on an address Start adds — and stops one: the others still answer.
func TestFailover(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{})
	primary := Start(t, tp.VNet, Options{Users: []User{alice}})
	samePorts := Start(t, tp.VNet, Options{Users: []User{alice}, AuthPort: 1814, AcctPort: 1815, CA: primary.CA()})
	otherAddr := Start(t, tp.VNet, Options{Users: []User{alice}, Addr: netip.MustParseAddr("198.19.0.11")})
	servers := map[string]*Server{"primary": primary, "same address": samePorts, "other address": otherAddr}

	ping := func(s *Server) error {
		r, err := exchange(tp.Gateway, s.AuthAddr(), s.Secret(), codeStatusServer, nil)
		if err == nil && r.code != codeAccessAccept {
			err = fmt.Errorf("reply code %d", r.code)
		}
		return err
	}
	for name, s := range servers {
		if err := ping(s); err != nil {
			t.Errorf("%s (%s): %v", name, s.AuthAddr(), err)
		}
	}
	primary.Stop()
	primary.Stop() // idempotent
	if err := ping(primary); err == nil {
		t.Errorf("primary answers after Stop")
	}
	delete(servers, "primary")
	for name, s := range servers {
		if err := ping(s); err != nil {
			t.Errorf("%s (%s) after the primary stopped: %v", name, s.AuthAddr(), err)
		}
	}
}

// radclient runs radclient in ns with the attributes in input, one request, one retry, and
// returns its output (-x: with the attributes sent and received).
func radclient(ns *testnet.Namespace, addr, command, secret, input string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, "radclient", "-x", "-r", "2", "-t", "1", addr, command, secret)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = fmt.Errorf("radclient %s %s: exit %d", addr, command, ee.ExitCode())
	}
	return string(out), err
}

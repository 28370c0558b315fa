package sstpc

import (
	"net/netip"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConsole(t *testing.T) {
	vnet, other := netip.MustParseAddr("198.19.0.10"), netip.MustParseAddr("198.19.0.11")
	opts := Options{Fetch: []string{"http://198.19.0.10/", "http://198.19.0.10/big"}}
	tests := []struct {
		name string
		log  string
		want Result
	}{
		{
			name: "connected",
			log: "boot noise\r\nP2SGW-RETRY sstpc start-up race, attempt 1\r\nP2SGW-ADDR 100.64.0.2\r\nP2SGW-PING 198.19.0.10 ok\r\nP2SGW-PING 198.19.0.11 fail\r\n" +
				"P2SGW-FETCH 0 ok 42 abc123\r\nP2SGW-FETCH 1 err curl: (28) Operation timed out\r\nP2SGW-DONE\r\n",
			want: Result{
				Connected: true, Addr: netip.MustParseAddr("100.64.0.2"), Retries: 1,
				Pings: map[netip.Addr]bool{vnet: true, other: false},
				Fetches: map[string]Fetch{
					opts.Fetch[0]: {Size: 42, SHA256: "abc123"},
					opts.Fetch[1]: {Err: "curl: (28) Operation timed out"},
				},
			},
		},
		{
			name: "refused",
			log:  "sent [MSCHAP-v2 Response id=0x1]\nMS-CHAP authentication failed: E=691\nP2SGW-sstpc-exit 255\nP2SGW-DONE\n",
		},
		{
			name: "garbage",
			log:  "P2SGW-ADDR\nP2SGW-ADDR nonsense\nP2SGW-PING 1.2.3.4\nP2SGW-FETCH 7 ok 1 x\nP2SGW-FETCH 0 ok big x\nP2SGW-FETCH x\nP2SGW-\n",
		},
		{
			name: "fetch without message",
			log:  "P2SGW-FETCH 1 err\n",
			want: Result{Fetches: map[string]Fetch{opts.Fetch[1]: {Err: "curl failed"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Result{Log: tt.log}
			parseConsole(&got, opts)
			tt.want.Log = tt.log
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseConsole =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestOptionsCheck(t *testing.T) {
	server := netip.MustParseAddrPort("198.18.0.1:443")
	tests := []struct {
		name string
		opts Options
		want string // in the error; empty for none
	}{
		{"ok", Options{Server: server, User: "alice"}, ""},
		{"pap", Options{Server: server, User: "alice", Auth: AuthPAP}, ""},
		{"no server", Options{User: "alice"}, "Options.Server"},
		{"ipv6 server", Options{Server: netip.MustParseAddrPort("[2001:db8::1]:443"), User: "alice"}, "Options.Server"},
		{"no user", Options{Server: server}, "Options.User"},
		{"eap", Options{Server: server, User: "alice", Auth: "eap-tls"}, "Options.Auth"},
		{"ipv6 ping", Options{Server: server, User: "alice", Ping: []netip.Addr{netip.MustParseAddr("2001:db8::2")}}, "Options.Ping"},
		{"https", Options{Server: server, User: "alice", Fetch: []string{"https://198.19.0.10/"}}, "Options.Fetch"},
		{"newline", Options{Server: server, User: "alice", Fetch: []string{"http://x/\nrm -rf /"}}, "Options.Fetch"},
		{"no CA file", Options{Server: server, User: "alice", CAFile: "/nonexistent/ca.pem"}, "Options.CAFile"},
		{"negative timeout", Options{Server: server, User: "alice", Timeout: -time.Second}, "Options.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.check()
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// TestShellQuote runs the quoted words through sh: they must come back unchanged.
func TestShellQuote(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"", "plain", "pa$$ 'word'", `back\slash "dq" $(id) ;|&`, "new\nline"} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh printf %s = %q, %v; want %q", shellQuote(s), out, err, s)
		}
	}
}

func TestSSTPCCommand(t *testing.T) {
	opts := Options{Server: netip.MustParseAddrPort("198.18.0.1:443"), User: "alice", Password: "it's"}
	tests := []struct {
		name     string
		opts     func(o *Options)
		want     []string
		wantNone []string
	}{
		{"mschapv2 by default", func(o *Options) {},
			[]string{"--cert-warn", "198.18.0.1:443", "refuse-pap refuse-chap refuse-mschap refuse-eap", `'it'\''s'`},
			[]string{"refuse-mschap-v2", "--ca-cert"}},
		{"pap", func(o *Options) { o.Auth = AuthPAP },
			[]string{"refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap"},
			[]string{"refuse-pap"}},
		{"CA", func(o *Options) { o.CAFile = "/x/ca.pem" },
			[]string{"--ca-cert /run/ca.pem"},
			[]string{"--cert-warn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			tt.opts(&o)
			cmd := sstpcCommand(o)
			for _, w := range append(tt.want, "noauth", "nodetach", "ip-up-script /bin/true") {
				if !strings.Contains(cmd, w) {
					t.Errorf("command lacks %q: %s", w, cmd)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(cmd, w) {
					t.Errorf("command has %q: %s", w, cmd)
				}
			}
		})
	}
}

package ppp

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/eap"
)

// fuzzServer is a server in one of the phases a peer can reach, with what it sends kept.
func fuzzServer(t *testing.T, phase byte) (*Server, *[][]byte, *time.Time) {
	switch phase % 5 {
	case 0: // Establish
		s, sent := started(t, Config{})
		return s, sent, new(time.Time)
	case 1, 2: // Authenticate: MS-CHAPv2 or PAP
		cfg := Config{}
		if phase%5 == 2 {
			cfg.Methods = []Method{MethodPAP}
		}
		s, sent := opened(t, cfg)
		return s, sent, new(time.Time)
	case 3: // Authenticate: EAP, in the conversation
		conv := &scripted{identity: "alice"}
		s, sent := opened(t, Config{Methods: []Method{MethodEAP}, Auth: &testAuth{script: func(string) EAPConversation { return conv }}})
		_, req := lastPacket(t, *sent)
		s.Input(AppendFrame(nil, ProtoEAP, eap.Packet{Code: eap.CodeResponse, Identifier: req.id, Type: eap.TypeIdentity, Data: []byte("alice")}.Bytes()))
		return s, sent, new(time.Time)
	}
	l := newLink(t, Config{Methods: []Method{MethodMSCHAPv2}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{MethodMSCHAPv2}, Pppd: true})
	l.connect()
	l.wantUp()
	return l.srv, &l.fromSrv, &l.now
}

// FuzzInput feeds frames to a server in each phase: it must not panic, and all it sends must
// be well-formed frames no larger than the peer may take.
func FuzzInput(f *testing.F) {
	seeds := []string{
		"c021010100170104 0ffb 0506a1b2c3d4 0702 0802 0d0306",
		"c021 0c02000e 01020304 4d535241",
		"8021 01010010 0206002d0f01 030600000000",
		"c223 0201003f 31" + "00112233445566778899aabbccddeeff" + "0000000000000000" + "00112233445566778899aabbccddeeff0011223344556677" + "00" + "616c696365",
		"c023 0101000f 05616c696365 0477726f6e67",
		"c227 0201000a 01616c696365",
		"8057 01010004",
		"c021 0901000c 01020304 00000000",
		"c021 0501 0004",
		"0021 4500",
	}
	for ph := byte(0); ph < 5; ph++ {
		for _, s := range seeds {
			b, _ := hex.DecodeString(stripSpaces(s))
			f.Add(ph, append([]byte{byte(len(b))}, b...))
		}
	}
	f.Fuzz(func(t *testing.T, phase byte, data []byte) {
		s, sent, now := fuzzServer(t, phase)
		for len(data) > 0 {
			n := min(int(data[0]), len(data)-1)
			frame := data[1 : 1+n]
			data = data[1+n:]
			s.Input(frame)
			if n%7 == 0 {
				*now = now.Add(3 * time.Second)
				s.Tick(*now)
			}
		}
		if _, _, up := s.Up(); up && s.Phase() != PhaseRunning {
			t.Fatal("Up outside the running phase")
		}
		for _, fr := range *sent {
			proto, pl, err := SplitFrame(fr)
			if err != nil {
				t.Fatalf("sent a malformed frame %x", fr)
			}
			if len(pl) > MaxMRU {
				t.Fatalf("sent %d octets", len(pl))
			}
			if proto != ProtoIPv4 {
				if _, err := parsePacket(pl); err != nil {
					t.Fatalf("sent a malformed packet %x: %v", fr, err)
				}
			}
		}
	})
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

// FuzzParseOptions: a Configure packet's options decode without panic and encode back to the
// same octets.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{
		"01040ffb0506a1b2c3d4070208020d0306",
		"0206002d0f01030600000000",
		"", "00", "0101", "0102", "01ff00", "8106c0a80001",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, err := parseOptions(b)
		if err != nil {
			return
		}
		if got := appendOptions(nil, opts); !bytes.Equal(got, b) {
			t.Fatalf("round trip %x -> %x", b, got)
		}
		p, err := parsePacket(appendPacket(nil, ProtoLCP, packet{code: 1, id: 2, data: b})[frameHeader:])
		if err != nil || !bytes.Equal(p.data, b) {
			t.Fatalf("packet round trip: %v", err)
		}
	})
}

package mschapv2

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC2759 is the worked example of RFC 2759 §9.2.
func TestRFC2759(t *testing.T) {
	authCh := unhex(t, "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
	peerCh := unhex(t, "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")
	for _, tc := range []struct{ name, got, want string }{
		{"ChallengeHash", hex.EncodeToString(ChallengeHash(peerCh, authCh, "User")), "d02e4386bce91226"},
		{"PasswordHash", hex.EncodeToString(PasswordHash("clientPass")), "44ebba8d5312b8d611474411f56989ae"},
		{"PasswordHashHash", hex.EncodeToString(md4Sum(PasswordHash("clientPass"))), "41c00c584bd2d91c4017a2a12fa59f3f"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, tc.got, tc.want)
		}
	}
	nt, err := NTResponse(authCh, peerCh, "User", "clientPass")
	if err != nil {
		t.Fatal(err)
	}
	wantNT := unhex(t, "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF")
	if !bytes.Equal(nt, wantNT) {
		t.Errorf("NT-Response = %x, want %x", nt, wantNT)
	}
	resp, err := AuthenticatorResponse(authCh, peerCh, nt, "User", "clientPass")
	if err != nil || resp != "S=407A5589115FD0D6209F510FE9C04566932CDA56" {
		t.Errorf("AuthenticatorResponse = %q, %v", resp, err)
	}
	// A domain prefix is not part of the hashed name.
	if nt2, _ := NTResponse(authCh, peerCh, `CORP\User`, "clientPass"); !bytes.Equal(nt2, wantNT) {
		t.Errorf(`NT-Response for CORP\User = %x, want the one for User`, nt2)
	}
}

// TestRFC3079 is the example of RFC 3079 §3.5.3 (128-bit keys), whose send key is the server's.
func TestRFC3079(t *testing.T) {
	nt := unhex(t, "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
	mk := MasterKey(unhex(t, "41C00C584BD2D91C4017A2A12FA59F3F"), nt)
	if want := unhex(t, "FDECE3717A8C838CB388E527AE3CDD31"); !bytes.Equal(mk, want) {
		t.Fatalf("MasterKey = %x, want %x", mk, want)
	}
	if got, want := StartKey(mk, true), unhex(t, "8B7CDC149B993A1BA118CB153F56DCCB"); !bytes.Equal(got, want) {
		t.Errorf("send start key = %x, want %x", got, want)
	}
	send, recv := Keys("clientPass", nt)
	if !bytes.Equal(send, StartKey(mk, true)) || !bytes.Equal(recv, StartKey(mk, false)) || bytes.Equal(send, recv) {
		t.Errorf("Keys = %x, %x", send, recv)
	}
}

func TestVerify(t *testing.T) {
	authCh := bytes.Repeat([]byte{1}, ChallengeLen)
	peerCh := bytes.Repeat([]byte{2}, ChallengeLen)
	const pw = "pässwörd €𝄞" // non-ASCII, and outside the BMP
	nt, err := NTResponse(authCh, peerCh, `DOM\alice`, pw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(`DOM\alice`, pw, authCh, peerCh, nt)
	if err != nil || len(v.AuthResponse) != AuthResponseLen || len(v.SendKey) != KeyLen || len(v.RecvKey) != KeyLen {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	if _, err := Verify("alice", "other", authCh, peerCh, nt); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := Verify("alice", pw, authCh[:3], peerCh, nt); !errors.Is(err, ErrLength) {
		t.Errorf("short challenge: %v", err)
	}
	if _, err := Verify("alice", pw, authCh, peerCh, nt[:5]); !errors.Is(err, ErrLength) {
		t.Errorf("short response: %v", err)
	}
}

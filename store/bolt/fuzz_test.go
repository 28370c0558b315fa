package bolt

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/p2sgw/p2sgw/store"
)

// Record kinds for the fuzz targets' kind byte.
const (
	kindRoot = iota
	kindRevoked
	kindSession
	kindLease
	numKinds
)

// decodeKind decodes val as stored under key (and, for a lease, under pool) and re-encodes
// what it decoded.
func decodeKind(kind byte, pool, key, val []byte) (reencoded []byte, err error) {
	var rec any
	switch kind % numKinds {
	case kindRoot:
		rec, err = decodeRoot(key, val)
	case kindRevoked:
		rec, err = decodeRevoked(key, val)
	case kindSession:
		rec, err = decodeSession(key, val)
	case kindLease:
		rec, err = decodeLease(pool, key, val)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(rec)
}

// FuzzDecodeRecord feeds arbitrary keys and values to the decoders: they must not panic, must
// report a failure as ErrCorrupt, and what they accept must re-encode to a fixed point.
func FuzzDecodeRecord(f *testing.F) {
	pool := []byte("100.64.0.0/16")
	addr := []byte{100, 64, 0, 7}
	for _, s := range []struct {
		kind           byte
		pool, key, val []byte
	}{
		{kindRoot, nil, []byte("root"), []byte(`{"name":"root","der":"MIIBCgKCAQEA","added_at":"2025-03-01T12:34:56.123456789Z"}`)},
		{kindRoot, nil, []byte("root"), []byte(`{"name":"other"}`)},
		{kindRoot, nil, []byte("root"), []byte(`{"name":"root","der":"!"}`)},
		{kindRevoked, nil, []byte("lost"), []byte(`{"name":"lost","thumbprint":"A94A8FE5CCB19BA61C4C0873D391E987982FBBD3","added_at":"2025-03-01T12:34:56+05:30"}`)},
		{kindRevoked, nil, []byte("lost"), []byte(`null`)},
		{kindSession, nil, []byte("IKEv2_1"), []byte(`{"id":"IKEv2_1","user":"alice","protocol":"IKEv2","public_addr":"[2001:db8::1]:4500","vpn_addr":"100.64.0.7","started_at":"2025-03-01T12:34:56Z"}`)},
		{kindSession, nil, []byte("IKEv2_1"), []byte(`{"id":"IKEv2_1","public_addr":"198.18.0.1"}`)},
		{kindLease, pool, addr, []byte(`{"pool":"100.64.0.0/16","addr":"100.64.0.7","identity":"alice","session_id":"IKEv2_1","node":"gw1","updated_at":"2025-03-01T12:34:56Z"}`)},
		{kindLease, pool, addr, []byte(`{"pool":"100.64.0.9/16","addr":"100.64.0.7"}`)},
		{kindLease, pool, []byte{100, 64, 0}, []byte(`{}`)},
		{kindLease, []byte("100.64.0.1/16"), addr, []byte(`{}`)},
		{kindLease, []byte("2001:db8:64::/64"), netip.MustParseAddr("2001:db8:64::7").AsSlice(), []byte(`{"pool":"2001:db8:64::/64","addr":"2001:db8:64::7"}`)},
		{kindLease, pool, addr, []byte(`{"pool":"100.64.0.0/16","addr":"100.64.0.7","updated_at":"0000-01-01T00:00:00+01:00"}`)},
		{kindSession, nil, []byte("\xff"), []byte(`{"id":"\ufffd"}`)},
	} {
		f.Add(s.kind, s.pool, s.key, s.val)
	}
	f.Fuzz(func(t *testing.T, kind byte, pool, key, val []byte) {
		enc1, err := decodeKind(kind, pool, key, val)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		enc2, err := decodeKind(kind, pool, key, enc1)
		if err != nil {
			t.Fatalf("re-encoded record %s does not decode: %v", enc1, err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", enc1, enc2)
		}
	})
}

// FuzzRecordRoundTrip encodes records built from arbitrary fields as Put does and decodes them
// as a listing does: every field must come back, times to the nanosecond.
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add("root", []byte{0x30, 0x82}, int64(1740832496123456789), []byte{100, 64, 0, 7}, uint16(4500), "IKEv2_1")
	f.Add("ünï\x00code", []byte(nil), int64(0), []byte(netip.MustParseAddr("2001:db8:64::7").AsSlice()), uint16(0), "")
	f.Add("\xff", []byte{0}, int64(-1), []byte{0, 0, 0, 0}, uint16(1), "\xff")
	f.Fuzz(func(t *testing.T, name string, der []byte, nanos int64, ip []byte, port uint16, session string) {
		at := time.Unix(0, nanos)
		addr, ok := netip.AddrFromSlice(ip)
		if store.CheckKey("name", name) != nil || !ok {
			return // Put refuses these before encoding
		}
		if !utf8.ValidString(session) {
			return // JSON stores invalid UTF-8 in a string as U+FFFD
		}
		r := store.RootCert{Name: name, DER: der, AddedAt: at}
		val, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRoot([]byte(name), val)
		if err != nil || got.Name != r.Name || !bytes.Equal(got.DER, r.DER) || !got.AddedAt.Equal(at) {
			t.Fatalf("root %+v came back as %+v, %v", r, got, err)
		}

		pool := netip.PrefixFrom(addr, addr.BitLen()/2).Masked()
		l := store.Lease{Pool: pool, Addr: addr, Identity: name, SessionID: session, UpdatedAt: at}
		if val, err = json.Marshal(l); err != nil {
			t.Fatal(err)
		}
		gl, err := decodeLease(poolKey(pool), addrKey(addr), val)
		if err != nil || !gl.UpdatedAt.Equal(at) {
			t.Fatalf("lease %+v came back as %+v, %v", l, gl, err)
		}
		gl.UpdatedAt, l.UpdatedAt = time.Time{}, time.Time{}
		if gl != l {
			t.Fatalf("lease %+v came back as %+v", l, gl)
		}

		s := store.Session{ID: name, PublicAddr: netip.AddrPortFrom(addr, port), VPNAddr: addr, StartedAt: at}
		if val, err = json.Marshal(s); err != nil {
			t.Fatal(err)
		}
		gs, err := decodeSession([]byte(name), val)
		if err != nil || !gs.StartedAt.Equal(at) {
			t.Fatalf("session %+v came back as %+v, %v", s, gs, err)
		}
		gs.StartedAt, s.StartedAt = time.Time{}, time.Time{}
		if gs != s {
			t.Fatalf("session %+v came back as %+v", s, gs)
		}
	})
}

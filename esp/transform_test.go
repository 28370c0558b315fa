package esp

import (
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestTransformValidate(t *testing.T) {
	tests := []struct {
		name string
		t    Transform
		ok   bool
	}{
		{"gcm-128", Transform{Cipher: AESGCM128}, true},
		{"gcm-256 esn", Transform{Cipher: AESGCM256, ESN: true}, true},
		{"cbc-256 sha256", Transform{Cipher: AESCBC256, Integrity: HMACSHA256}, true},
		{"no cipher", Transform{Integrity: HMACSHA256}, false},
		{"unknown cipher", Transform{Cipher: numCiphers, Integrity: HMACSHA256}, false},
		{"unknown integrity", Transform{Cipher: AESCBC128, Integrity: numIntegrities}, false},
		{"gcm with integrity", Transform{Cipher: AESGCM128, Integrity: HMACSHA1}, false},
		{"cbc without integrity", Transform{Cipher: AESCBC128}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.t.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrTransform)) {
				t.Errorf("Validate(%v) = %v, want ok=%v", tt.t, err, tt.ok)
			}
		})
	}
}

// TestTransformSizes pins the lengths to the RFCs: key material RFC 4106 §8.1 and RFC 3602,
// integrity keys and ICVs RFC 2404 and RFC 4868, IVs RFC 4106 §3.1 and RFC 3602 §3.
func TestTransformSizes(t *testing.T) {
	tests := []struct {
		t                          Transform
		name                       string
		encKey, intKey, hdr, icv   int
		overhead1, overhead1400    int
		maxInner1438, maxInner1472 int
	}{
		{Transform{Cipher: AESGCM128}, "aes-gcm-128", 20, 0, 16, 16, 35, 36, 1402, 1438},
		{Transform{Cipher: AESGCM256}, "aes-gcm-256", 36, 0, 16, 16, 35, 36, 1402, 1438},
		{Transform{Cipher: AESCBC128, Integrity: HMACSHA1}, "aes-cbc-128/hmac-sha1-96", 16, 20, 24, 12, 51, 44, 1390, 1422},
		{Transform{Cipher: AESCBC256, Integrity: HMACSHA256}, "aes-cbc-256/hmac-sha2-256-128", 32, 32, 24, 16, 55, 48, 1390, 1422},
		{Transform{Cipher: AESCBC256, Integrity: HMACSHA384}, "aes-cbc-256/hmac-sha2-384-192", 32, 48, 24, 24, 63, 56, 1374, 1422},
		{Transform{Cipher: AESCBC256, Integrity: HMACSHA512, ESN: true}, "aes-cbc-256/hmac-sha2-512-256/esn", 32, 64, 24, 32, 71, 64, 1374, 1406},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.t
			got := []int{tr.Cipher.KeyLen(), tr.Integrity.KeyLen(), tr.HeaderLen(), tr.ICVLen(),
				tr.Overhead(1), tr.Overhead(1400), tr.MaxInner(1438), tr.MaxInner(1472)}
			want := []int{tt.encKey, tt.intKey, tt.hdr, tt.icv, tt.overhead1, tt.overhead1400, tt.maxInner1438, tt.maxInner1472}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%v: sizes = %v, want %v", tr, got, want)
					break
				}
			}
			if s := tr.String(); s != tt.name {
				t.Errorf("String() = %q, want %q", s, tt.name)
			}
		})
	}
}

// TestMaxInner: the packet MaxInner allows fits, and the next longer ones do not.
func TestMaxInner(t *testing.T) {
	for _, tr := range transforms {
		for room := 0; room < 200; room++ {
			n := tr.MaxInner(room)
			if n > 0 && n+tr.Overhead(n) > room {
				t.Fatalf("%v: MaxInner(%d) = %d, but the ESP packet is %d", tr, room, n, n+tr.Overhead(n))
			}
			for m := n + 1; m < n+cbcAlign+1; m++ {
				if m+tr.Overhead(m) <= room {
					t.Fatalf("%v: MaxInner(%d) = %d, but %d fits too", tr, room, n, m)
				}
			}
		}
	}
}

func TestHeadroomTailroom(t *testing.T) {
	for _, tr := range transforms {
		for n := 0; n < 64; n++ {
			if tr.HeaderLen() > Headroom || tr.TrailerLen(n) > Tailroom {
				t.Fatalf("%v: header %d trailer %d exceed Headroom %d Tailroom %d", tr, tr.HeaderLen(), tr.TrailerLen(n), Headroom, Tailroom)
			}
		}
	}
}

func TestNewErrors(t *testing.T) {
	good := testConfig(Transform{Cipher: AESCBC256, Integrity: HMACSHA256})
	tests := []struct {
		name string
		edit func(c *Config)
		want error
	}{
		{"zero SPI", func(c *Config) { c.SPI = 0 }, ErrSPI},
		{"bad transform", func(c *Config) { c.Transform.Integrity = IntegrityNone }, ErrTransform},
		{"short encryption key", func(c *Config) { c.Keys.Encryption = c.Keys.Encryption[:16] }, ErrKeyLength},
		{"long integrity key", func(c *Config) { c.Keys.Integrity = append(c.Keys.Integrity, 0) }, ErrKeyLength},
		{"gcm key without salt", func(c *Config) {
			c.Transform = Transform{Cipher: AESGCM128}
			c.Keys = Keys{Encryption: make([]byte, 16)}
		}, ErrKeyLength},
		{"gcm with an integrity key", func(c *Config) {
			c.Transform = Transform{Cipher: AESGCM128}
			c.Keys = Keys{Encryption: make([]byte, 20), Integrity: make([]byte, 32)}
		}, ErrKeyLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Keys = Keys{Encryption: append([]byte(nil), good.Keys.Encryption...), Integrity: append([]byte(nil), good.Keys.Integrity...)}
			tt.edit(&c)
			if _, err := NewOutbound(c); !errors.Is(err, tt.want) {
				t.Errorf("NewOutbound: %v, want %v", err, tt.want)
			}
			if _, err := NewInbound(c); !errors.Is(err, tt.want) {
				t.Errorf("NewInbound: %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("random source fails", func(t *testing.T) {
		c := good
		c.Rand = iotest.ErrReader(io.ErrUnexpectedEOF)
		if _, err := NewOutbound(c); !errors.Is(err, ErrRand) {
			t.Errorf("NewOutbound: %v, want ErrRand", err)
		}
		if _, err := NewInbound(c); err != nil {
			t.Errorf("NewInbound reads no randomness, but: %v", err)
		}
	})
}

// TestKeysCopied: the caller may wipe its keys once the SA is built.
func TestKeysCopied(t *testing.T) {
	for _, tr := range []Transform{{Cipher: AESGCM256}, {Cipher: AESCBC128, Integrity: HMACSHA1}} {
		c := testConfig(tr)
		o, err := NewOutbound(c)
		if err != nil {
			t.Fatal(err)
		}
		clear(c.Keys.Encryption)
		clear(c.Keys.Integrity)
		in, err := NewInbound(testConfig(tr))
		if err != nil {
			t.Fatal(err)
		}
		pkt := seal(t, o, ipPacket(newRand(), 60, false))
		if _, _, d := in.Open(pkt); d != DropNone {
			t.Errorf("%v: wiping the keys after NewOutbound broke it: %v", tr, d)
		}
	}
}

func TestStrings(t *testing.T) {
	for d := DropNone; d <= numDrops; d++ {
		if d.String() == "" {
			t.Errorf("Drop(%d) has no name", d)
		}
	}
	if Cipher(200).String() != "cipher(200)" || Integrity(200).String() != "integrity(200)" {
		t.Error("names of invalid algorithms")
	}
}

package transform

import (
	"bytes"
	"errors"
	"testing"
)

// TestPRFVectors: RFC 2202 (HMAC-SHA1) and RFC 4231 test cases 1 and 2, which RFC 4868 §2.7.1
// reuses as PRF-HMAC-SHA-256/384/512 test cases PRF-1 and PRF-2.
func TestPRFVectors(t *testing.T) {
	key1 := bytes.Repeat([]byte{0x0b}, 20)
	for _, tc := range []struct {
		name      string
		id        PRFID
		key, data []byte
		want      string
	}{
		{"SHA1 RFC 2202 1", PRFHMACSHA1, key1, []byte("Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00"},
		{"SHA256 PRF-1", PRFHMACSHA256, key1, []byte("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"SHA256 PRF-2", PRFHMACSHA256, []byte("Jefe"), []byte("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"SHA384 PRF-1", PRFHMACSHA384, key1, []byte("Hi There"), "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"},
		{"SHA384 PRF-2", PRFHMACSHA384, []byte("Jefe"), []byte("what do ya want for nothing?"), "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
		{"SHA512 PRF-1", PRFHMACSHA512, key1, []byte("Hi There"), "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{"SHA512 PRF-2", PRFHMACSHA512, []byte("Jefe"), []byte("what do ya want for nothing?"), "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPRF(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if p.ID() != tc.id || p.Size() != len(unhex(t, tc.want)) {
				t.Errorf("ID %s size %d", p.ID(), p.Size())
			}
			equal(t, "prf", p.Sum(tc.key, tc.data), unhex(t, tc.want))
			// Data given in parts is the concatenation.
			equal(t, "prf in parts", p.Sum(tc.key, tc.data[:3], nil, tc.data[3:]), unhex(t, tc.want))
		})
	}
}

// TestIntegVectors: RFC 4868 §2.7.2 test cases AUTH256-1, AUTH384-1, AUTH512-1 and RFC 2202
// test case 1 truncated to 96 bits (RFC 2404), through the Encrypted payload's ICV code.
func TestIntegVectors(t *testing.T) {
	for _, tc := range []struct {
		id   IntegID
		key  []byte
		want string
	}{
		{IntegHMACSHA196, bytes.Repeat([]byte{0x0b}, 20), "b617318655057264e28bc0b6"},
		{IntegHMACSHA256128, bytes.Repeat([]byte{0x0b}, 32), "198a607eb44bfbc69903a0f1cf2bbdc5"},
		{IntegHMACSHA384192, bytes.Repeat([]byte{0x0b}, 48), "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"},
		{IntegHMACSHA512256, bytes.Repeat([]byte{0x0b}, 64), "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"},
	} {
		t.Run(tc.id.String(), func(t *testing.T) {
			alg := integAlgs[tc.id]
			if alg.keyLen != len(tc.key) {
				t.Errorf("key length %d, want %d", alg.keyLen, len(tc.key))
			}
			p := &cbcProtector{integ: alg, key: tc.key}
			// The ICV input is aad | IV | ciphertext: split "Hi There" across the two.
			equal(t, "ICV", p.icv([]byte("Hi "), []byte("There")), unhex(t, tc.want))
		})
	}
}

func TestPRFPlus(t *testing.T) {
	p, _ := NewPRF(PRFHMACSHA256)
	key, seed := []byte("key"), []byte("seed")
	// T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02)
	t1 := p.Sum(key, seed, []byte{1})
	t2 := p.Sum(key, t1, seed, []byte{2})
	for _, n := range []int{0, 1, 32, 33, 64} {
		got, err := PRFPlus(p, key, seed, n)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "prf+", got, append(append([]byte(nil), t1...), t2...)[:n])
	}
	if _, err := PRFPlus(p, key, seed, 255*32); err != nil {
		t.Errorf("255 blocks: %v", err)
	}
	for _, n := range []int{255*32 + 1, -1} {
		if _, err := PRFPlus(p, key, seed, n); !errors.Is(err, ErrKeyMaterialTooLong) {
			t.Errorf("%d octets: got %v, want ErrKeyMaterialTooLong", n, err)
		}
	}
}

func TestNewPRFUnsupported(t *testing.T) {
	for _, id := range []PRFID{PRFHMACMD5, PRFAES128XCBC, 0, 99} {
		if _, err := NewPRF(id); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v", id, err)
		}
	}
}

package transform

import (
	"fmt"
	"testing"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		v    fmt.Stringer
		want string
	}{
		{ProtocolESP, "ESP"},
		{Protocol(9), "PROTOCOL(9)"},
		{TypeDH, "DH"},
		{TransformType(6), "TRANSFORM(6)"},
		{EncrAESGCM16, "ENCR_AES_GCM_16"},
		{EncrChaCha20Poly1305, "ENCR_CHACHA20_POLY1305"},
		{EncrID(99), "ENCR(99)"},
		{PRFHMACSHA384, "PRF_HMAC_SHA2_384"},
		{IntegHMACSHA256128, "AUTH_HMAC_SHA2_256_128"},
		{IntegNone, "NONE"},
		{DHCurve25519, "CURVE25519"},
		{DHMODP2048, "MODP_2048"},
		{DHGroup(1234), "DH(1234)"},
		{ESNNo, "NO_ESN"},
		{EncrAESCBC.Transform(256), "ENCR_AES_CBC_256"},
		{DHECP384.Transform(), "ECP_384"},
		{Transform{Type: 9, ID: 3}, "TRANSFORM(9):3"},
		{Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA384, DH: DHECP256},
			"IKE:ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_256"},
		{Suite{Protocol: ProtocolESP, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA196, DH: DHMODP2048},
			"ESP:ENCR_AES_CBC_128/AUTH_HMAC_SHA1_96/MODP_2048/NO_ESN"},
		{Proposal{Number: 2, Protocol: ProtocolESP, Transforms: []Transform{EncrAESGCM16.Transform(128), ESNNo.Transform()}},
			"2:ESP[ENCR_AES_GCM_16_128 NO_ESN]"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v: got %q, want %q", tc.v, got, tc.want)
		}
	}
}

package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		in      string
		want    KeyType
		wantErr bool
	}{
		{"ecdsa-p256", KeyECDSAP256, false},
		{"ecdsa-p384", KeyECDSAP384, false},
		{"rsa-2048", KeyRSA2048, false},
		{"rsa-3072", KeyRSA3072, false},
		{"rsa-4096", KeyRSA4096, false},
		{" RSA-2048 ", KeyRSA2048, false},
		{"", "", true},
		{"rsa-1024", "", true},
		{"ed25519", "", true},
		{"ecdsa", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKeyType(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrKeyType) {
					t.Fatalf("ParseKeyType(%q) = %v, %v; want ErrKeyType", tt.in, got, err)
				}
				for _, k := range KeyTypes() {
					if !strings.Contains(err.Error(), string(k)) {
						t.Errorf("error %q does not list %s", err, k)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseKeyType(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestKeyTypesDefaultFirst(t *testing.T) {
	ks := KeyTypes()
	if len(ks) != 5 || ks[0] != DefaultKeyType || DefaultKeyType != KeyECDSAP256 {
		t.Fatalf("KeyTypes() = %v, DefaultKeyType = %v", ks, DefaultKeyType)
	}
	ks[0] = "changed"
	if KeyTypes()[0] != DefaultKeyType {
		t.Fatal("KeyTypes shares its slice with the caller")
	}
}

func TestKeyMatches(t *testing.T) {
	ca := testRoot(t, KeyECDSAP256)
	rsaCA := testRoot(t, KeyRSA2048)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cert *x509.Certificate
		key  crypto.Signer
		want bool
	}{
		{"own ECDSA key", ca.Cert, ca.Key, true},
		{"own RSA key", rsaCA.Cert, rsaCA.Key, true},
		{"other ECDSA key", ca.Cert, other, false},
		{"RSA key for ECDSA cert", ca.Cert, rsaCA.Key, false},
		{"ECDSA key for RSA cert", rsaCA.Cert, ca.Key, false},
		{"nil key", ca.Cert, nil, false},
		{"nil cert", nil, ca.Key, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KeyMatches(tt.cert, tt.key); got != tt.want {
				t.Errorf("KeyMatches = %v, want %v", got, tt.want)
			}
		})
	}
}

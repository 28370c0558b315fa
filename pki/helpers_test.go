package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"sync"
	"testing"
	"time"
)

// testNow is the issuing time of every certificate in these tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// testRoots caches one root per key type: key generation dominates the run time.
var testRoots sync.Map // KeyType -> *CA

func testRoot(t testing.TB, key KeyType) *CA {
	t.Helper()
	if ca, ok := testRoots.Load(key); ok {
		return ca.(*CA)
	}
	ca, err := NewRoot("Test Root "+string(key), Options{Key: key, Now: fixedNow})
	if err != nil {
		t.Fatalf("NewRoot(%s): %v", key, err)
	}
	testRoots.Store(key, ca)
	return ca
}

// checkKeyType fails t unless pub is of key type want.
func checkKeyType(t *testing.T, pub crypto.PublicKey, want KeyType) {
	t.Helper()
	var got KeyType
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			got = KeyECDSAP256
		case elliptic.P384():
			got = KeyECDSAP384
		}
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			got = KeyRSA2048
		case 3072:
			got = KeyRSA3072
		case 4096:
			got = KeyRSA4096
		}
	}
	if got != want {
		t.Errorf("public key is %T (%s), want %s", pub, got, want)
	}
}

// wantSignatureAlgorithm is the algorithm a certificate signed by a key of type k must use.
func wantSignatureAlgorithm(k KeyType) x509.SignatureAlgorithm {
	switch k {
	case KeyECDSAP256:
		return x509.ECDSAWithSHA256
	case KeyECDSAP384:
		return x509.ECDSAWithSHA384
	}
	return x509.SHA256WithRSA
}

// checkSerial fails t unless serial is positive and at most 128 bits.
func checkSerial(t *testing.T, cert *x509.Certificate) {
	t.Helper()
	if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %x: want positive and at most 128 bits", cert.SerialNumber)
	}
}

// criticalExtensions returns the OIDs (dotted) of cert's critical extensions.
func criticalExtensions(cert *x509.Certificate) map[string]bool {
	m := map[string]bool{}
	for _, e := range cert.Extensions {
		if e.Critical {
			m[e.Id.String()] = true
		}
	}
	return m
}

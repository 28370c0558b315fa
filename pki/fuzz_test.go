package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"
)

func FuzzParseCertificate(f *testing.F) {
	ec := testRoot(f, KeyECDSAP256)
	client, err := ec.IssueClient("alice@example.com", Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, der := range [][]byte{ec.Cert.Raw, testRoot(f, KeyRSA2048).Cert.Raw, client.Cert.Raw} {
		f.Add(der)
		f.Add(certPEM(der))
		f.Add([]byte(base64.StdEncoding.EncodeToString(der)))
		f.Add(der[:len(der)/2])
	}
	f.Add(client.ChainPEM())
	f.Add([]byte{})
	f.Add([]byte{0x30})
	f.Add([]byte{0x30, 0x80})
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN"))
	f.Add([]byte("MII="))
	f.Add([]byte("\ufeff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cert, err := ParseCertificate(data)
		if err != nil {
			if cert != nil || !errors.Is(err, ErrNotCertificate) {
				t.Fatalf("ParseCertificate = %v, %v: want nil and ErrNotCertificate", cert, err)
			}
			return
		}
		// Every form of what was parsed parses back to the same certificate.
		for name, form := range map[string][]byte{
			"DER":    cert.Raw,
			"PEM":    certPEM(cert.Raw),
			"base64": []byte(base64.StdEncoding.EncodeToString(cert.Raw)),
		} {
			again, err := ParseCertificate(form)
			if err != nil {
				t.Fatalf("%s of a parsed certificate: %v", name, err)
			}
			if !again.Equal(cert) {
				t.Fatalf("%s of a parsed certificate parses differently", name)
			}
		}
		_ = ThumbprintsOf(cert.Raw)
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, k := range []KeyType{KeyECDSAP256, KeyECDSAP384, KeyRSA2048} {
		key := testRoot(f, k).Key
		keyPEM, err := marshalKeyPEM(key)
		if err != nil {
			f.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(keyPEM)
		f.Add(der)
		f.Add(der[:len(der)/2])
	}
	f.Add(certPEM(testRoot(f, KeyECDSAP256).Cert.Raw))
	f.Add([]byte{})
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParsePrivateKey(data)
		if err != nil {
			if key != nil || !(errors.Is(err, ErrNotPrivateKey) || errors.Is(err, ErrEncryptedKey) || errors.Is(err, ErrUnsupportedKey)) {
				t.Fatalf("ParsePrivateKey = %v, %v: want nil and a pki sentinel", key, err)
			}
			return
		}
		// What was parsed encodes and parses back to the same key.
		keyPEM, err := marshalKeyPEM(key)
		if err != nil {
			t.Fatalf("encode a parsed key: %v", err)
		}
		again, err := ParsePrivateKey(keyPEM)
		if err != nil {
			t.Fatalf("parse an encoded key: %v", err)
		}
		if !again.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Fatal("an encoded key parses to another key")
		}
	})
}

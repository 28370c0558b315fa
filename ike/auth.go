package ike

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1 for AUTH method 1
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"slices"

	"github.com/p2sgw/p2sgw/ike/message"
)

// This file signs and verifies the AUTH payload's signature over the signed octets (RFC 7296
// §2.15) with the methods native clients use: RSA (1, PKCS#1 v1.5 with SHA-1), ECDSA with a
// fixed curve and hash (9, 10, 11; RFC 4754: r‖s) and RFC 7427 digital signatures (14: an
// ASN.1 AlgorithmIdentifier, then the signature; ECDSA in DER).

// AlgorithmIdentifiers for method 14 (RFC 7427 Appendix A), DER-encoded.
var (
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
)

// sigAlg is a signature algorithm usable in AUTH payloads.
type sigAlg struct {
	hash crypto.Hash
	pss  bool // RSASSA-PSS (RSA only)
}

// AuthData is what an AUTH payload carries: its method and data.
type AuthData struct {
	Method message.AuthMethod
	Data   []byte
}

// signAuth signs octets with key, choosing the method the peer understands: RFC 7427 (14)
// when the peer announced SIGNATURE_HASH_ALGORITHMS including SHA-256 (or SHA-384 for
// P-384), else the classic method for the key (1 for RSA, 9/10/11 for ECDSA) — what Windows
// expects.
func signAuth(key crypto.Signer, octets []byte, peerHashes []message.HashAlgorithm, rnd io.Reader) (AuthData, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if slices.Contains(peerHashes, message.HashSHA256) {
			sig, err := key.Sign(rnd, digest(crypto.SHA256, octets), crypto.SHA256)
			if err != nil {
				return AuthData{}, err
			}
			return AuthData{message.AuthDigitalSignature, method14(mustAlgID(oidSHA256WithRSA, true), sig)}, nil
		}
		sig, err := key.Sign(rnd, digest(crypto.SHA1, octets), crypto.SHA1)
		return AuthData{message.AuthRSA, sig}, err
	case *ecdsa.PublicKey:
		h, method, want, oid, err := ecdsaParams(pub.Curve)
		if err != nil {
			return AuthData{}, err
		}
		der, err := key.Sign(rnd, digest(h, octets), h)
		if err != nil {
			return AuthData{}, err
		}
		if slices.Contains(peerHashes, want) {
			return AuthData{message.AuthDigitalSignature, method14(mustAlgID(oid, false), der)}, nil
		}
		raw, err := derToRS(der, pub.Curve)
		return AuthData{method, raw}, err
	default:
		return AuthData{}, fmt.Errorf("ike: no AUTH method for a %T key", pub)
	}
}

// verifyAuth checks an AUTH payload's signature over octets with the peer's public key.
func verifyAuth(a AuthData, pub crypto.PublicKey, octets []byte) error {
	switch a.Method {
	case message.AuthRSA:
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: method RSA but a %s key", ErrAuthMismatch, keyKind(pub))
		}
		if rsa.VerifyPKCS1v15(rk, crypto.SHA1, digest(crypto.SHA1, octets), a.Data) != nil {
			return ErrBadSignature
		}
		return nil
	case message.AuthECDSA256, message.AuthECDSA384, message.AuthECDSA521:
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: method %s but a %s key", ErrAuthMismatch, a.Method, keyKind(pub))
		}
		h, method, _, _, err := ecdsaParams(ek.Curve)
		if err != nil || method != a.Method {
			return fmt.Errorf("%w: method %s with a %s key", ErrAuthMismatch, a.Method, keyKind(pub))
		}
		size := (ek.Curve.Params().BitSize + 7) / 8
		if len(a.Data) != 2*size {
			return ErrBadSignature
		}
		r := new(big.Int).SetBytes(a.Data[:size])
		s := new(big.Int).SetBytes(a.Data[size:])
		if !ecdsa.Verify(ek, digest(h, octets), r, s) {
			return ErrBadSignature
		}
		return nil
	case message.AuthDigitalSignature:
		alg, sig, err := parseMethod14(a.Data)
		if err != nil {
			return err
		}
		return verifyWith(alg, pub, octets, sig)
	}
	return fmt.Errorf("%w: %s", ErrAuthMethodUnsupported, a.Method)
}

func verifyWith(alg sigAlg, pub crypto.PublicKey, octets, sig []byte) error {
	d := digest(alg.hash, octets)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg.pss {
			if rsa.VerifyPSS(k, alg.hash, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) != nil {
				return ErrBadSignature
			}
			return nil
		}
		if rsa.VerifyPKCS1v15(k, alg.hash, d, sig) != nil {
			return ErrBadSignature
		}
		return nil
	case *ecdsa.PublicKey:
		if alg.pss {
			return fmt.Errorf("%w: RSASSA-PSS with an ECDSA key", ErrAuthMismatch)
		}
		if !ecdsa.VerifyASN1(k, d, sig) {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("%w: a %s key", ErrAuthMethodUnsupported, keyKind(pub))
}

// parseMethod14 splits RFC 7427 AUTH data: a one-octet length, the AlgorithmIdentifier, the
// signature. Only SHA-2 algorithms are accepted.
func parseMethod14(data []byte) (sigAlg, []byte, error) {
	if len(data) < 1 || int(data[0])+1 > len(data) {
		return sigAlg{}, nil, fmt.Errorf("%w: truncated RFC 7427 AUTH data", ErrBadSignature)
	}
	der, sig := data[1:1+int(data[0])], data[1+int(data[0]):]
	var ai pkix.AlgorithmIdentifier
	rest, err := asn1.Unmarshal(der, &ai)
	if err != nil || len(rest) != 0 {
		return sigAlg{}, nil, fmt.Errorf("%w: bad AlgorithmIdentifier", ErrBadSignature)
	}
	switch {
	case ai.Algorithm.Equal(oidSHA256WithRSA), ai.Algorithm.Equal(oidECDSAWithSHA256):
		return sigAlg{hash: crypto.SHA256}, sig, nil
	case ai.Algorithm.Equal(oidSHA384WithRSA), ai.Algorithm.Equal(oidECDSAWithSHA384):
		return sigAlg{hash: crypto.SHA384}, sig, nil
	case ai.Algorithm.Equal(oidSHA512WithRSA), ai.Algorithm.Equal(oidECDSAWithSHA512):
		return sigAlg{hash: crypto.SHA512}, sig, nil
	case ai.Algorithm.Equal(oidRSAPSS):
		h, err := pssHash(ai.Parameters.FullBytes)
		return sigAlg{hash: h, pss: true}, sig, err
	}
	return sigAlg{}, nil, fmt.Errorf("%w: signature algorithm %v", ErrAuthMethodUnsupported, ai.Algorithm)
}

// pssParams is RSASSA-PSS-params (RFC 4055) as far as we read it.
type pssParams struct {
	Hash pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
	MGF  pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
	Salt int                      `asn1:"optional,explicit,tag:2,default:20"`
}

func pssHash(params []byte) (crypto.Hash, error) {
	var p pssParams
	if _, err := asn1.Unmarshal(params, &p); err != nil {
		return 0, fmt.Errorf("%w: bad RSASSA-PSS parameters", ErrBadSignature)
	}
	var mgfHash pkix.AlgorithmIdentifier
	if !p.MGF.Algorithm.Equal(oidMGF1) {
		return 0, fmt.Errorf("%w: RSASSA-PSS with a mask function other than MGF1", ErrAuthMethodUnsupported)
	}
	if _, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &mgfHash); err != nil || !mgfHash.Algorithm.Equal(p.Hash.Algorithm) {
		return 0, fmt.Errorf("%w: RSASSA-PSS whose MGF1 hash differs from its hash", ErrAuthMethodUnsupported)
	}
	switch {
	case p.Hash.Algorithm.Equal(oidSHA256):
		return crypto.SHA256, nil
	case p.Hash.Algorithm.Equal(oidSHA384):
		return crypto.SHA384, nil
	case p.Hash.Algorithm.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: RSASSA-PSS with hash %v", ErrAuthMethodUnsupported, p.Hash.Algorithm)
}

func ecdsaParams(c elliptic.Curve) (crypto.Hash, message.AuthMethod, message.HashAlgorithm, asn1.ObjectIdentifier, error) {
	switch c {
	case elliptic.P256():
		return crypto.SHA256, message.AuthECDSA256, message.HashSHA256, oidECDSAWithSHA256, nil
	case elliptic.P384():
		return crypto.SHA384, message.AuthECDSA384, message.HashSHA384, oidECDSAWithSHA384, nil
	case elliptic.P521():
		return crypto.SHA512, message.AuthECDSA521, message.HashSHA512, oidECDSAWithSHA512, nil
	}
	return 0, 0, 0, nil, fmt.Errorf("%w: ECDSA curve %s", ErrAuthMethodUnsupported, c.Params().Name)
}

// mustAlgID returns the DER AlgorithmIdentifier for oid; RSA ones carry NULL parameters.
func mustAlgID(oid asn1.ObjectIdentifier, nullParams bool) []byte {
	ai := pkix.AlgorithmIdentifier{Algorithm: oid}
	if nullParams {
		ai.Parameters = asn1.NullRawValue
	}
	b, err := asn1.Marshal(ai)
	if err != nil {
		panic(err) // constant input
	}
	return b
}

func method14(algID, sig []byte) []byte {
	out := make([]byte, 0, 1+len(algID)+len(sig))
	out = append(out, byte(len(algID)))
	out = append(out, algID...)
	return append(out, sig...)
}

// derToRS converts a DER ECDSA signature to RFC 4754's fixed-length r‖s.
func derToRS(der []byte, c elliptic.Curve) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, err
	}
	size := (c.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

func digest(h crypto.Hash, data []byte) []byte {
	hh := h.New()
	hh.Write(data)
	return hh.Sum(nil)
}

func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", pub)
}

// hashesWeVerify are the hashes we announce in SIGNATURE_HASH_ALGORITHMS.
var hashesWeVerify = []message.HashAlgorithm{message.HashSHA256, message.HashSHA384, message.HashSHA512}

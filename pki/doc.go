// Package pki is the offline certificate tooling behind `p2sgw pki …`: it creates a root CA,
// issues client certificates (with a PKCS#12 file the built-in VPN clients of Windows, macOS
// and iOS import) and gateway server certificates from it, computes thumbprints in Azure's
// form, and parses the certificate and key files that users bring (PEM, DER or the base64
// "public certificate data" that Azure's portal takes).
//
// Every certificate it makes is shaped for the native IKEv2 and SSTP clients: ECDSA or RSA
// keys signed with PKCS#1 v1.5 or ECDSA (never RSA-PSS, which older Windows rejects), EKU
// clientAuth on client certificates, EKU serverAuth plus "IP security IKE intermediate" on
// server certificates, and every name also as a subject alternative name.
//
// It is not a CA service: it keeps no database of issued serials, publishes no CRL and answers
// no OCSP (the gateway revokes by thumbprint, as Azure does), and it does not decide whether a
// presented client certificate is acceptable (that is package certauth). It does no network
// I/O; the only files it touches are the ones its callers name.
package pki

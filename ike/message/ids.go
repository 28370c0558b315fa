package message

import "strconv"

// Numbers from the IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registry. Each type
// names the values a remote-access gateway meets; any other value is kept as its number, and
// its String() prints the number (for example "NOTIFY(40970)").

// ExchangeType is the exchange type in the IKE header (RFC 7296 §3.1).
type ExchangeType uint8

// Exchange types.
const (
	ExchangeIKESAInit     ExchangeType = 34
	ExchangeIKEAuth       ExchangeType = 35
	ExchangeCreateChildSA ExchangeType = 36
	ExchangeInformational ExchangeType = 37
)

var exchangeNames = map[ExchangeType]string{
	ExchangeIKESAInit:     "IKE_SA_INIT",
	ExchangeIKEAuth:       "IKE_AUTH",
	ExchangeCreateChildSA: "CREATE_CHILD_SA",
	ExchangeInformational: "INFORMATIONAL",
}

func (t ExchangeType) String() string { return enumString(exchangeNames, t, "EXCHANGE") }

// PayloadType identifies a payload (RFC 7296 §3.2, RFC 7383 §2.5).
type PayloadType uint8

// Payload types.
const (
	PayloadNone     PayloadType = 0
	PayloadSA       PayloadType = 33
	PayloadKE       PayloadType = 34
	PayloadIDi      PayloadType = 35
	PayloadIDr      PayloadType = 36
	PayloadCert     PayloadType = 37
	PayloadCertReq  PayloadType = 38
	PayloadAuth     PayloadType = 39
	PayloadNonce    PayloadType = 40
	PayloadNotify   PayloadType = 41
	PayloadDelete   PayloadType = 42
	PayloadVendorID PayloadType = 43
	PayloadTSi      PayloadType = 44
	PayloadTSr      PayloadType = 45
	PayloadSK       PayloadType = 46
	PayloadCP       PayloadType = 47
	PayloadEAP      PayloadType = 48
	PayloadSKF      PayloadType = 53
)

// payloadNames are RFC 7296's notation (§3.2), except that Ni/Nr is spelled "Nonce" and the
// one-letter N, D and V keep their letters, as in "IKE_AUTH { IDi, AUTH, N, SA, TSi, TSr }".
var payloadNames = map[PayloadType]string{
	PayloadNone:     "NONE",
	PayloadSA:       "SA",
	PayloadKE:       "KE",
	PayloadIDi:      "IDi",
	PayloadIDr:      "IDr",
	PayloadCert:     "CERT",
	PayloadCertReq:  "CERTREQ",
	PayloadAuth:     "AUTH",
	PayloadNonce:    "Nonce",
	PayloadNotify:   "N",
	PayloadDelete:   "D",
	PayloadVendorID: "V",
	PayloadTSi:      "TSi",
	PayloadTSr:      "TSr",
	PayloadSK:       "SK",
	PayloadCP:       "CP",
	PayloadEAP:      "EAP",
	PayloadSKF:      "SKF",
}

func (t PayloadType) String() string { return enumString(payloadNames, t, "PAYLOAD") }

// known reports whether this package decodes payloads of type t.
func (t PayloadType) known() bool {
	_, ok := payloadNames[t]
	return ok && t != PayloadNone
}

// ProtocolID is the security protocol of a proposal, notify or delete (RFC 7296 §3.3.1). In a
// notify without SPI it is ProtocolNone.
type ProtocolID uint8

// Protocol IDs.
const (
	ProtocolNone ProtocolID = 0
	ProtocolIKE  ProtocolID = 1
	ProtocolAH   ProtocolID = 2
	ProtocolESP  ProtocolID = 3
)

var protocolNames = map[ProtocolID]string{
	ProtocolNone: "NONE",
	ProtocolIKE:  "IKE",
	ProtocolAH:   "AH",
	ProtocolESP:  "ESP",
}

func (p ProtocolID) String() string { return enumString(protocolNames, p, "PROTOCOL") }

// TransformType is the kind of a transform (RFC 7296 §3.3.2). Transform IDs stay uint16 here;
// package ike/transform names them.
type TransformType uint8

// Transform types. RFC 9370 renames type 4 "Key Exchange Method"; it carries DH groups.
const (
	TransformEncr  TransformType = 1
	TransformPRF   TransformType = 2
	TransformInteg TransformType = 3
	TransformDH    TransformType = 4
	TransformESN   TransformType = 5
)

var transformNames = map[TransformType]string{
	TransformEncr:  "ENCR",
	TransformPRF:   "PRF",
	TransformInteg: "INTEG",
	TransformDH:    "DH",
	TransformESN:   "ESN",
}

func (t TransformType) String() string { return enumString(transformNames, t, "TRANSFORM") }

// AttributeType is the type of a transform attribute (RFC 7296 §3.3.5), without the format bit.
type AttributeType uint16

// AttrKeyLength is the Key Length attribute, in bits, sent in TV format.
const AttrKeyLength AttributeType = 14

func (t AttributeType) String() string {
	if t == AttrKeyLength {
		return "KEY_LENGTH"
	}
	return "ATTRIBUTE(" + strconv.Itoa(int(t)) + ")"
}

// AuthMethod is the method of an AUTH payload (RFC 7296 §3.8, RFC 4754, RFC 7427).
type AuthMethod uint8

// Authentication methods.
const (
	AuthRSA              AuthMethod = 1 // RSA Digital Signature (PKCS#1 v1.5, SHA-1)
	AuthPSK              AuthMethod = 2 // Shared Key Message Integrity Code
	AuthDSS              AuthMethod = 3 // DSS Digital Signature
	AuthECDSA256         AuthMethod = 9
	AuthECDSA384         AuthMethod = 10
	AuthECDSA521         AuthMethod = 11
	AuthDigitalSignature AuthMethod = 14 // RFC 7427: ASN.1 AlgorithmIdentifier ‖ signature
)

var authNames = map[AuthMethod]string{
	AuthRSA:              "RSA",
	AuthPSK:              "PSK",
	AuthDSS:              "DSS",
	AuthECDSA256:         "ECDSA256",
	AuthECDSA384:         "ECDSA384",
	AuthECDSA521:         "ECDSA521",
	AuthDigitalSignature: "DIGITAL_SIGNATURE",
}

func (m AuthMethod) String() string { return enumString(authNames, m, "AUTH") }

// IDType is the type of an IDi or IDr payload (RFC 7296 §3.5).
type IDType uint8

// Identification types.
const (
	IDIPv4Addr   IDType = 1
	IDFQDN       IDType = 2
	IDRFC822Addr IDType = 3
	IDIPv6Addr   IDType = 5
	IDDERASN1DN  IDType = 9
	IDDERASN1GN  IDType = 10
	IDKeyID      IDType = 11
)

var idNames = map[IDType]string{
	IDIPv4Addr:   "ID_IPV4_ADDR",
	IDFQDN:       "ID_FQDN",
	IDRFC822Addr: "ID_RFC822_ADDR",
	IDIPv6Addr:   "ID_IPV6_ADDR",
	IDDERASN1DN:  "ID_DER_ASN1_DN",
	IDDERASN1GN:  "ID_DER_ASN1_GN",
	IDKeyID:      "ID_KEY_ID",
}

func (t IDType) String() string { return enumString(idNames, t, "ID") }

// CertEncoding is the encoding of a CERT or CERTREQ payload (RFC 7296 §3.6, RFC 7670).
type CertEncoding uint8

// Certificate encodings.
const (
	CertPKCS7            CertEncoding = 1
	CertPGP              CertEncoding = 2
	CertDNSSignedKey     CertEncoding = 3
	CertX509Signature    CertEncoding = 4
	CertKerberos         CertEncoding = 6
	CertCRL              CertEncoding = 7
	CertARL              CertEncoding = 8
	CertSPKI             CertEncoding = 9
	CertX509Attribute    CertEncoding = 10
	CertRawRSAKey        CertEncoding = 11
	CertHashURLX509      CertEncoding = 12
	CertHashURLX509Chain CertEncoding = 13
	CertRawPublicKey     CertEncoding = 15
)

var certNames = map[CertEncoding]string{
	CertPKCS7:            "PKCS7_WRAPPED_X509",
	CertPGP:              "PGP",
	CertDNSSignedKey:     "DNS_SIGNED_KEY",
	CertX509Signature:    "X509_SIGNATURE",
	CertKerberos:         "KERBEROS_TOKEN",
	CertCRL:              "CRL",
	CertARL:              "ARL",
	CertSPKI:             "SPKI",
	CertX509Attribute:    "X509_ATTRIBUTE",
	CertRawRSAKey:        "RAW_RSA_KEY",
	CertHashURLX509:      "HASH_AND_URL_X509",
	CertHashURLX509Chain: "HASH_AND_URL_X509_BUNDLE",
	CertRawPublicKey:     "RAW_PUBLIC_KEY",
}

func (e CertEncoding) String() string { return enumString(certNames, e, "CERT") }

// CPType is the CFG Type of a CP payload (RFC 7296 §3.15).
type CPType uint8

// Configuration payload types.
const (
	CPRequest CPType = 1
	CPReply   CPType = 2
	CPSet     CPType = 3
	CPAck     CPType = 4
)

var cpNames = map[CPType]string{
	CPRequest: "CFG_REQUEST",
	CPReply:   "CFG_REPLY",
	CPSet:     "CFG_SET",
	CPAck:     "CFG_ACK",
}

func (t CPType) String() string { return enumString(cpNames, t, "CFG") }

// CPAttrType is the type of a configuration attribute (RFC 7296 §3.15.1), without the reserved
// bit. Values not named here, such as the private ones Windows asks for, are kept as numbers.
type CPAttrType uint16

// Configuration attribute types.
const (
	CPInternalIP4Address  CPAttrType = 1
	CPInternalIP4Netmask  CPAttrType = 2
	CPInternalIP4DNS      CPAttrType = 3
	CPInternalIP4NBNS     CPAttrType = 4
	CPInternalIP4DHCP     CPAttrType = 6
	CPApplicationVersion  CPAttrType = 7
	CPInternalIP6Address  CPAttrType = 8
	CPInternalIP6DNS      CPAttrType = 10
	CPInternalIP6DHCP     CPAttrType = 12
	CPInternalIP4Subnet   CPAttrType = 13
	CPSupportedAttributes CPAttrType = 14
	CPInternalIP6Subnet   CPAttrType = 15
	CPInternalDNSDomain   CPAttrType = 25 // RFC 8598
	CPInternalDNSSECTA    CPAttrType = 26 // RFC 8598
	// CPInternalIP4Server and CPInternalIP6Server are Microsoft's private attributes, which
	// Windows requests (strongSwan names them so); the gateway may leave them unanswered.
	CPInternalIP4Server CPAttrType = 23456
	CPInternalIP6Server CPAttrType = 23457
)

var cpAttrNames = map[CPAttrType]string{
	CPInternalIP4Address:  "INTERNAL_IP4_ADDRESS",
	CPInternalIP4Netmask:  "INTERNAL_IP4_NETMASK",
	CPInternalIP4DNS:      "INTERNAL_IP4_DNS",
	CPInternalIP4NBNS:     "INTERNAL_IP4_NBNS",
	CPInternalIP4DHCP:     "INTERNAL_IP4_DHCP",
	CPApplicationVersion:  "APPLICATION_VERSION",
	CPInternalIP6Address:  "INTERNAL_IP6_ADDRESS",
	CPInternalIP6DNS:      "INTERNAL_IP6_DNS",
	CPInternalIP6DHCP:     "INTERNAL_IP6_DHCP",
	CPInternalIP4Subnet:   "INTERNAL_IP4_SUBNET",
	CPSupportedAttributes: "SUPPORTED_ATTRIBUTES",
	CPInternalIP6Subnet:   "INTERNAL_IP6_SUBNET",
	CPInternalDNSDomain:   "INTERNAL_DNS_DOMAIN",
	CPInternalDNSSECTA:    "INTERNAL_DNSSEC_TA",
	CPInternalIP4Server:   "INTERNAL_IP4_SERVER",
	CPInternalIP6Server:   "INTERNAL_IP6_SERVER",
}

func (t CPAttrType) String() string { return enumString(cpAttrNames, t, "CP_ATTRIBUTE") }

// TSType is the type of a traffic selector (RFC 7296 §3.13.1).
type TSType uint8

// Traffic selector types.
const (
	TSIPv4AddrRange TSType = 7
	TSIPv6AddrRange TSType = 8
)

var tsNames = map[TSType]string{
	TSIPv4AddrRange: "TS_IPV4_ADDR_RANGE",
	TSIPv6AddrRange: "TS_IPV6_ADDR_RANGE",
}

func (t TSType) String() string { return enumString(tsNames, t, "TS") }

// HashAlgorithm is a hash in the SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4, RFC 8420).
type HashAlgorithm uint16

// Hash algorithms.
const (
	HashSHA1     HashAlgorithm = 1
	HashSHA256   HashAlgorithm = 2
	HashSHA384   HashAlgorithm = 3
	HashSHA512   HashAlgorithm = 4
	HashIdentity HashAlgorithm = 5 // RFC 8420, for Ed25519/Ed448
)

var hashNames = map[HashAlgorithm]string{
	HashSHA1:     "SHA1",
	HashSHA256:   "SHA2_256",
	HashSHA384:   "SHA2_384",
	HashSHA512:   "SHA2_512",
	HashIdentity: "IDENTITY",
}

func (h HashAlgorithm) String() string { return enumString(hashNames, h, "HASH") }

func enumString[T ~uint8 | ~uint16](names map[T]string, v T, kind string) string {
	if s, ok := names[v]; ok {
		return s
	}
	return kind + "(" + strconv.Itoa(int(v)) + ")"
}

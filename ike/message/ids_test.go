package message

import (
	"fmt"
	"testing"
)

func TestStrings(t *testing.T) {
	cases := []struct {
		v    fmt.Stringer
		want string
	}{
		{ExchangeIKEAuth, "IKE_AUTH"},
		{ExchangeType(43), "EXCHANGE(43)"},
		{PayloadNonce, "Nonce"},
		{PayloadSKF, "SKF"},
		{PayloadType(1), "PAYLOAD(1)"},
		{ProtocolESP, "ESP"},
		{TransformDH, "DH"},
		{TransformType(6), "TRANSFORM(6)"},
		{AttrKeyLength, "KEY_LENGTH"},
		{AttributeType(3), "ATTRIBUTE(3)"},
		{AuthDigitalSignature, "DIGITAL_SIGNATURE"},
		{IDKeyID, "ID_KEY_ID"},
		{CertX509Signature, "X509_SIGNATURE"},
		{NotifyNATDetectionDestinationIP, "NAT_DETECTION_DESTINATION_IP"},
		{NotifySignatureHashAlgorithms, "SIGNATURE_HASH_ALGORITHMS"},
		{NotifyType(40970), "NOTIFY(40970)"},
		{CPRequest, "CFG_REQUEST"},
		{CPInternalIP6Subnet, "INTERNAL_IP6_SUBNET"},
		{CPAttrType(23456), "INTERNAL_IP4_SERVER"},
		{CPAttrType(99), "CP_ATTRIBUTE(99)"},
		{TSIPv6AddrRange, "TS_IPV6_ADDR_RANGE"},
		{HashSHA384, "SHA2_384"},
	}
	for _, tc := range cases {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%T(%v) = %q, want %q", tc.v, tc.v, got, tc.want)
		}
	}
}

func TestNotifyIsError(t *testing.T) {
	for _, tc := range []struct {
		t    NotifyType
		want bool
	}{
		{NotifyUnsupportedCriticalPayload, true},
		{NotifyChildSANotFound, true},
		{16383, true},
		{NotifyInitialContact, false},
		{NotifyCookie, false},
		{NotifySignatureHashAlgorithms, false},
	} {
		if got := tc.t.IsError(); got != tc.want {
			t.Errorf("%v.IsError() = %v", tc.t, got)
		}
	}
	// Every named type below 16384 is one of RFC 7296 §3.10.1's error types 1–44.
	for nt := range notifyNames {
		if nt.IsError() && (nt < 1 || nt > 44) {
			t.Errorf("%v (%d) named as an error type", nt, uint16(nt))
		}
	}
}

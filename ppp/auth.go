package ppp

import (
	"strconv"
)

// Method is an authentication protocol the server offers in LCP.
type Method int

// The methods, offered in the order Config.Methods lists them.
const (
	MethodEAP      Method = iota + 1 // EAP (RFC 3748): EAP-TLS here or whatever a RADIUS server runs
	MethodMSCHAPv2                   // CHAP with MS-CHAPv2 (RFC 2759)
	MethodPAP                        // PAP (RFC 1334): the password in clear, inside SSTP's TLS
)

func (m Method) String() string {
	switch m {
	case MethodEAP:
		return "EAP"
	case MethodMSCHAPv2:
		return "MS-CHAPv2"
	case MethodPAP:
		return "PAP"
	}
	return "Method(" + strconv.Itoa(int(m)) + ")"
}

const chapMSv2 = 0x81 // the CHAP algorithm of MS-CHAPv2

// appendAuthOption appends LCP option 3 for m.
func appendAuthOption(b []byte, m Method) []byte {
	switch m {
	case MethodEAP:
		return appendOption(b, lcpAuth, ProtoEAP>>8, ProtoEAP&0xFF)
	case MethodMSCHAPv2:
		return appendOption(b, lcpAuth, ProtoCHAP>>8, ProtoCHAP&0xFF, chapMSv2)
	case MethodPAP:
		return appendOption(b, lcpAuth, ProtoPAP>>8, ProtoPAP&0xFF)
	}
	return b
}

// authMethod decodes the data of LCP option 3; 0 is a protocol we do not know.
func authMethod(data []byte) Method {
	switch {
	case len(data) == 2 && data[0] == ProtoPAP>>8 && data[1] == ProtoPAP&0xFF:
		return MethodPAP
	case len(data) == 2 && data[0] == ProtoEAP>>8 && data[1] == ProtoEAP&0xFF:
		return MethodEAP
	case len(data) == 3 && data[0] == ProtoCHAP>>8 && data[1] == ProtoCHAP&0xFF && data[2] == chapMSv2:
		return MethodMSCHAPv2
	}
	return 0
}

func (m Method) proto() uint16 {
	switch m {
	case MethodEAP:
		return ProtoEAP
	case MethodMSCHAPv2:
		return ProtoCHAP
	case MethodPAP:
		return ProtoPAP
	}
	return 0
}

// Authenticator checks a user for the server; the gateway implements it with RADIUS or its
// certificate policy. Calls may block (a RADIUS round trip): they are made from the goroutine
// that calls Server.Input. An error is a failure to check (RADIUS unreachable), logged and
// answered like a refusal.
type Authenticator interface {
	// PAP checks a user name and password.
	PAP(user string, password []byte) (Result, error)
	// MSCHAPv2 verifies the peer's response to our 16-octet authChallenge. The user name is as
	// the peer sent it, possibly "DOMAIN\user"; RFC 2759 hashes it without the domain
	// (mschapv2.UserName). On success Result.AuthResponse is the 42-character "S=..." and
	// Result.SendKey and RecvKey are the server's 16-octet MPPE master keys (RFC 3079: send
	// with Magic3, receive with Magic2; from RADIUS, MS-MPPE-Send-Key and MS-MPPE-Recv-Key).
	MSCHAPv2(user string, authChallenge, peerChallenge, ntResponse []byte) (Result, error)
	// EAP starts an EAP conversation for the identity (local EAP-TLS or a RADIUS relay), or
	// returns nil if EAP is not available.
	EAP(identity string) EAPConversation
}

// EAPConversation is one EAP authentication behind the server. If it also has a Close()
// method, the server calls it when the conversation ends or the link goes down; if it has
// SetMaxPacket(int), the server tells it the largest EAP packet the peer takes (its MRU)
// before the first Exchange.
type EAPConversation interface {
	// Exchange takes the peer's EAP packet (its Response/Identity first) and returns the next
	// EAP packet to send: a Request, or Success or Failure with done set; with Success, res
	// has OK set and the MSK. An error ends the conversation as a failure.
	Exchange(packet []byte) (out []byte, done bool, res Result, err error)
}

// Result is the outcome of an authentication.
type Result struct {
	OK               bool
	User             string // the authenticated name
	Message          string // for the log, and the peer (Reply-Message, failure text)
	AuthResponse     string // MS-CHAPv2 "S=<40 hex>"
	SendKey, RecvKey []byte // MS-CHAPv2 server master keys (16 octets) or RADIUS MS-MPPE-Send/Recv-Key
	MSK              []byte // EAP
	Data             any    // opaque to ppp: the gateway's grant (Framed-IP etc.), handed back to Assign
}

// HLAKLen is the length of SSTP's Higher-Layer Authentication Key.
const HLAKLen = 32

// HLAK is the SSTP Higher-Layer Authentication Key for r as the server computes it (MS-SSTP
// §3.2.5.2): with an MSK (EAP), its first 32 octets; with MS-CHAPv2 keys, RecvKey‖SendKey; with
// neither (PAP), zeros; padded with zeros or truncated to 32 octets.
func (r Result) HLAK() []byte {
	k := make([]byte, 0, 2*HLAKLen)
	if len(r.MSK) > 0 {
		k = append(k, r.MSK...)
	} else {
		k = append(append(k, r.RecvKey...), r.SendKey...)
	}
	out := make([]byte, HLAKLen)
	copy(out, k)
	return out
}

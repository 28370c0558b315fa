package radius

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

const eapHeaderLen = 4 // Code, Identifier, Length (RFC 3748 §4)

// buildAccessRequest encodes an Access-Request with Identifier and Request Authenticator r. Its
// first attribute is the Message-Authenticator (the Blast-RADIUS recommendation: no
// attacker-influenced attribute precedes it), computed last over the whole packet.
func buildAccessRequest(r sent, secret []byte, nasID string, req Request, state []byte) ([]byte, error) {
	p := &radius.Packet{Code: radius.CodeAccessRequest, Identifier: r.id, Authenticator: r.auth, Secret: secret}
	p.Add(rfc2869.MessageAuthenticator_Type, make(radius.Attribute, authLen))
	if req.UserName != "" {
		p.Add(rfc2865.UserName_Type, radius.Attribute(req.UserName))
	}
	if len(req.Password) > 0 {
		a, err := radius.NewUserPassword(req.Password, secret, r.auth[:])
		if err != nil {
			return nil, fmt.Errorf("%w: User-Password: %v", ErrRequest, err)
		}
		p.Add(rfc2865.UserPassword_Type, a)
	}
	for _, part := range splitEAP(req.EAPMessage) {
		p.Add(rfc2869.EAPMessage_Type, part)
	}
	if len(req.MSCHAP2Response) > 0 {
		for _, v := range []struct {
			typ byte
			val []byte
		}{{msCHAPChallenge, req.MSCHAPChallenge}, {msCHAP2Response, req.MSCHAP2Response}} {
			a, err := radius.NewVendorSpecific(microsoftVendorID, append([]byte{v.typ, byte(attrHeaderLen + len(v.val))}, v.val...))
			if err != nil {
				return nil, fmt.Errorf("%w: MS-CHAP attribute: %v", ErrRequest, err)
			}
			p.Add(rfc2865.VendorSpecific_Type, a)
		}
	}
	p.Add(rfc2865.NASIdentifier_Type, radius.Attribute(nasID))
	p.Add(rfc2865.NASPortType_Type, radius.NewInteger(orDefault(req.NASPortType, NASPortTypeVirtual)))
	p.Add(rfc2865.ServiceType_Type, radius.NewInteger(orDefault(req.ServiceType, ServiceTypeFramed)))
	if req.CallingStationID != "" {
		p.Add(rfc2865.CallingStationID_Type, radius.Attribute(req.CallingStationID))
	}
	if len(state) > 0 {
		p.Add(rfc2865.State_Type, radius.Attribute(state))
	}
	b, err := p.MarshalBinary() // an Access-Request's Authenticator is sent as it is
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	ma := messageAuthenticator(b, offFirstMA, &r.auth, secret)
	copy(b[offFirstMA:], ma[:])
	return b, nil
}

func orDefault(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

// splitEAP cuts an EAP packet into EAP-Message values of at most 253 octets (RFC 3579 §3.1).
// The values alias eap.
func splitEAP(eap []byte) []radius.Attribute {
	var parts []radius.Attribute
	for len(eap) > 0 {
		n := min(len(eap), maxAttrValue)
		parts = append(parts, radius.Attribute(eap[:n]))
		eap = eap[n:]
	}
	return parts
}

// accessAttrs gathers the attributes of an answer that decodeAccess needs, in order.
type accessAttrs struct {
	eap              []byte
	haveEAP          bool
	state            []byte
	recvKey, sendKey []byte // still encrypted
}

// decodeAccess reads an authentic answer to an Access-Request whose Request Authenticator is
// auth. It returns the Response (without Server) and the State, if any. It never panics; an
// attribute that does not decode is ErrMalformed, since the answer is authentic and the server
// meant something the client cannot tell.
func decodeAccess(b []byte, auth *[authLen]byte, secret []byte) (*Response, []byte, error) {
	if len(b) < headerLen {
		return nil, nil, fmt.Errorf("%w: %d octets", ErrMalformed, len(b))
	}
	attrs, err := radius.ParseAttributes(b[headerLen:])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	resp := &Response{Code: radius.Code(b[0])}
	var a accessAttrs
	for _, avp := range attrs {
		if err := a.add(resp, avp); err != nil {
			return nil, nil, err
		}
	}
	if a.haveEAP {
		if err := checkEAPLength(a.eap); err != nil {
			return nil, nil, err
		}
		resp.EAPMessage = a.eap
	}
	if resp.Code == radius.CodeAccessAccept {
		if resp.MSK, err = decryptMSK(a.recvKey, a.sendKey, auth, secret); err != nil {
			return nil, nil, err
		}
	}
	return resp, a.state, nil
}

// add takes one attribute into resp or a.
func (a *accessAttrs) add(resp *Response, avp *radius.AVP) error {
	v := avp.Attribute
	switch avp.Type {
	case rfc2869.EAPMessage_Type:
		a.eap = append(a.eap, v...)
		a.haveEAP = true
	case rfc2865.State_Type:
		if a.state == nil && len(v) > 0 {
			a.state = bytes.Clone(v)
		}
	case rfc2865.Class_Type:
		resp.Class = append(resp.Class, bytes.Clone(v))
	case rfc2865.ReplyMessage_Type:
		resp.ReplyMessage = append(resp.ReplyMessage, string(v))
	case rfc2865.FramedIPAddress_Type:
		addr, ok := netip.AddrFromSlice(v)
		if !ok || !addr.Is4() {
			return fmt.Errorf("%w: Framed-IP-Address of %d octets", ErrMalformed, len(v))
		}
		if !resp.FramedIP.IsValid() && assignedAddr(addr) {
			resp.FramedIP = addr
		}
	case rfc2865.SessionTimeout_Type:
		if len(v) != 4 {
			return fmt.Errorf("%w: Session-Timeout of %d octets", ErrMalformed, len(v))
		}
		resp.SessionTimeout = time.Duration(binary.BigEndian.Uint32(v)) * time.Second
	case rfc2865.VendorSpecific_Type:
		return a.addVendor(resp, v)
	}
	return nil
}

// assignedAddr reports whether a Framed-IP-Address names an address: 255.255.255.255 ("the
// user may select") and 255.255.255.254 ("the NAS should select", RFC 2865 §5.8) do not, nor
// does 0.0.0.0, which no server means as an assignment.
func assignedAddr(a netip.Addr) bool {
	return a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 254}) &&
		!a.IsUnspecified()
}

// addVendor takes the MS-MPPE keys out of a Vendor-Specific attribute. Other vendors' VSAs
// are skipped unread; a Microsoft VSA must be well formed, since it may carry a key.
func (a *accessAttrs) addVendor(resp *Response, v []byte) error {
	vendor, vsa, err := radius.VendorSpecific(v)
	if err != nil || vendor != microsoftVendorID {
		return nil
	}
	for len(vsa) > 0 {
		if len(vsa) < attrHeaderLen || int(vsa[1]) < attrHeaderLen || int(vsa[1]) > len(vsa) {
			return fmt.Errorf("%w: Microsoft Vendor-Specific attribute", ErrMalformed)
		}
		typ, val := vsa[0], vsa[attrHeaderLen:vsa[1]]
		vsa = vsa[vsa[1]:]
		var dst *[]byte
		switch typ {
		case msCHAP2Success:
			resp.MSCHAP2Success = slices.Clone(val)
			continue
		case msCHAPError:
			resp.MSCHAPError = slices.Clone(val)
			continue
		case msMPPESendKey:
			dst = &a.sendKey
		case msMPPERecvKey:
			dst = &a.recvKey
		default:
			continue
		}
		if *dst != nil {
			return fmt.Errorf("%w: %s twice", ErrMalformed, mppeKeyName(typ))
		}
		*dst = slices.Clone(val)
		if *dst == nil {
			*dst = []byte{} // present but empty: let decryption reject it
		}
	}
	return nil
}

// checkEAPLength checks that joined EAP-Message values are one EAP packet: its Length field
// counts exactly the octets joined.
func checkEAPLength(eap []byte) error {
	if len(eap) < eapHeaderLen {
		return fmt.Errorf("%w: EAP-Message of %d octets", ErrMalformed, len(eap))
	}
	if n := int(binary.BigEndian.Uint16(eap[2:])); n != len(eap) {
		return fmt.Errorf("%w: EAP-Message attributes hold %d octets, the EAP packet says %d", ErrMalformed, len(eap), n)
	}
	return nil
}

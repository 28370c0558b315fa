package ike

import (
	"fmt"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// ESPConfigs returns the configurations of the CHILD SA's inbound and outbound ESP SAs.
func (c *ChildSA) ESPConfigs() (in, out esp.Config, err error) {
	t, err := espTransform(c.Suite)
	if err != nil {
		return in, out, err
	}
	in = esp.Config{SPI: c.InSPI, Transform: t, Keys: espKeys(c.In)}
	out = esp.Config{SPI: c.OutSPI, Transform: t, Keys: espKeys(c.Out)}
	return in, out, nil
}

func espKeys(k transform.DirectionKeys) esp.Keys {
	enc := append(append([]byte(nil), k.Encr...), k.Salt...)
	return esp.Keys{Encryption: enc, Integrity: append([]byte(nil), k.Integ...)}
}

// espTransform maps a negotiated ESP suite to package esp's algorithms.
func espTransform(s transform.Suite) (esp.Transform, error) {
	var t esp.Transform
	switch {
	case s.Encr == transform.EncrAESGCM16 && s.KeyLen == 128:
		t.Cipher = esp.AESGCM128
	case s.Encr == transform.EncrAESGCM16 && s.KeyLen == 256:
		t.Cipher = esp.AESGCM256
	case s.Encr == transform.EncrAESCBC && s.KeyLen == 128:
		t.Cipher = esp.AESCBC128
	case s.Encr == transform.EncrAESCBC && s.KeyLen == 256:
		t.Cipher = esp.AESCBC256
	default:
		return t, fmt.Errorf("%w: ESP %s", ErrUnsupported, s)
	}
	switch s.Integ {
	case transform.IntegNone:
	case transform.IntegHMACSHA196:
		t.Integrity = esp.HMACSHA1
	case transform.IntegHMACSHA256128:
		t.Integrity = esp.HMACSHA256
	case transform.IntegHMACSHA384192:
		t.Integrity = esp.HMACSHA384
	case transform.IntegHMACSHA512256:
		t.Integrity = esp.HMACSHA512
	default:
		return t, fmt.Errorf("%w: ESP %s", ErrUnsupported, s)
	}
	t.ESN = s.ESN == transform.ESNYes
	return t, t.Validate()
}

// ESPSAs builds the CHILD SA's inbound and outbound ESP SAs, for a data plane.
func (c *ChildSA) ESPSAs() (*esp.Inbound, *esp.Outbound, error) {
	inCfg, outCfg, err := c.ESPConfigs()
	if err != nil {
		return nil, nil, err
	}
	in, err := esp.NewInbound(inCfg)
	if err != nil {
		return nil, nil, err
	}
	out, err := esp.NewOutbound(outCfg)
	if err != nil {
		return nil, nil, err
	}
	return in, out, nil
}
